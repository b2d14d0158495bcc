# The garbage-collection job's first container: it holds the registry read-only while the other container of the
# pod (collectGarbage.sh) runs `registry garbage-collect`, then makes it writable again, whatever happened.
#
# Distribution's garbage collection deletes the blobs of a push whose manifest has not arrived yet, and a replica's
# blob-descriptor cache outlives it (DESIGN.md): so every replica must serve read-only (writes answer 405) before
# it starts, and every replica must restart after it. storage.maintenance.readonly is read at start only: the
# Deployment rolls to pods that have it (REGISTRY_STORAGE_MAINTENANCE_READONLY), the rolling update keeping the
# registry serving, and rolls back to its own template afterwards (the same template, so the same ReplicaSet).
#
# Plain POSIX sh with kubectl (registry.k8s.io/kubectl has dash and coreutils). Every value comes from the
# environment: DR_DEPLOYMENT, DR_CONTAINER, DR_SELECTOR (the registry's pods), DR_TIMEOUT_SECONDS, JOB_NAME and
# POD_NAME (the downward API). /work is shared with the other container: pods (the read-only pods' addresses),
# go or abort (for it), gc.status and gc.result (from it).
set -eu

readonly_label=distribution-registry/read-only
lock_annotation=distribution-registry/garbage-collection
deployment="deployment/$DR_DEPLOYMENT"
work=/work
entered=no
locked=no
entered_at=
left_at=

log() { printf '%s garbage collection: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

# Both patches name only what they add, so the second leaves the template exactly as Pulumi applied it.
enter_patch() {
	printf '{"spec":{"template":{"metadata":{"labels":{"%s":"true"}},"spec":{"containers":[{"name":"%s","env":[{"name":"REGISTRY_STORAGE_MAINTENANCE_READONLY","value":"{\\"enabled\\":true}"}]}]}}}}' \
		"$readonly_label" "$DR_CONTAINER"
}
leave_patch() {
	printf '{"spec":{"template":{"metadata":{"labels":{"%s":null}},"spec":{"containers":[{"name":"%s","env":[{"name":"REGISTRY_STORAGE_MAINTENANCE_READONLY","$patch":"delete"}]}]}}}}' \
		"$readonly_label" "$DR_CONTAINER"
}

# Long waits run in the background: a TERM (the job's deadline) is then handled at once, not when they return.
child=
interruptible() {
	"$@" &
	child=$!
	wait "$child"
}

# The registry serves the given mode: the rollout is done and no pod of the other mode is left, terminating ones
# included (a stopping writable pod may still finish a push).
wait_for_mode() {
	interruptible kubectl rollout status "$deployment" --timeout="${DR_TIMEOUT_SECONDS}s"
	interruptible kubectl wait --for=delete pod -l "$DR_SELECTOR,$readonly_label$1" --timeout="${DR_TIMEOUT_SECONDS}s"
}

annotation_of_deployment() {
	kubectl get "$deployment" -o go-template="{{range \$k, \$v := .metadata.annotations}}{{if eq \$k \"$lock_annotation\"}}{{\$v}}{{end}}{{end}}"
}

# A run that is over (or gone) holds no lock.
job_is_over() {
	state="$(kubectl get job "$1" --ignore-not-found -o go-template='exists {{range .status.conditions}}{{if eq .status "True"}}{{.type}} {{end}}{{end}}')" || return 1
	case "$state" in
	"" | *Complete* | *Failed*) return 0 ;;
	*) return 1 ;;
	esac
}

# One run at a time: two would leave read-only under each other. The lock is an annotation on the Deployment,
# set only if the object did not change since it was read (a concurrent run's write makes ours fail).
take_lock() {
	version="$(kubectl get "$deployment" -o 'jsonpath={.metadata.resourceVersion}')"
	holder="$(annotation_of_deployment)"
	if [ -n "$holder" ] && [ "$holder" != "$JOB_NAME" ] && ! job_is_over "$holder"; then
		log "job $holder is collecting garbage now; this run ($JOB_NAME) does nothing"
		return 1
	fi
	kubectl annotate "$deployment" "$lock_annotation=$JOB_NAME" --overwrite --resource-version="$version" >/dev/null
	locked=yes
}

release_lock() {
	if [ "$locked" = yes ] && [ "$(annotation_of_deployment)" = "$JOB_NAME" ]; then
		kubectl annotate "$deployment" "$lock_annotation-" >/dev/null
	fi
}

# A kubectl step that must happen (leaving read-only): tried again while the API server or the rollout fails.
retry() {
	tries=0
	until "$@"; do
		tries=$((tries + 1))
		if [ "$tries" -ge 5 ]; then
			return 1
		fi
		sleep 5
	done
}

gc_container_exit_code() {
	kubectl get pod "$POD_NAME" -o \
		'jsonpath={.status.containerStatuses[?(@.name=="garbage-collect")].state.terminated.exitCode}' 2>/dev/null || true
}

result_value() { sed -n "s/^$1=//p" "$work/gc.result" 2>/dev/null | head -n 1; }

report() {
	gc_status="$(cat "$work/gc.status" 2>/dev/null || echo none)"
	readonly_seconds=0
	if [ -n "$entered_at" ] && [ -n "$left_at" ]; then readonly_seconds=$((left_at - entered_at)); fi
	blobs="$(result_value blobs)"
	manifests="$(result_value manifests)"
	freed="$(result_value bytesFreed)"
	gc_seconds="$(result_value seconds)"
	log "garbage-collect exit ${gc_status}: ${blobs:-0} blobs and ${manifests:-0} manifests deleted, ${freed:-unknown} bytes freed, in ${gc_seconds:-0} s; the registry was read-only for ${readonly_seconds} s"
	# The pod's status (kubectl describe, .status.containerStatuses[].state.terminated.message) keeps the figures.
	printf '{"garbageCollectStatus":"%s","blobsDeleted":%s,"manifestsDeleted":%s,"bytesFreed":%s,"garbageCollectSeconds":%s,"readOnlySeconds":%s}\n' \
		"$gc_status" "${blobs:-0}" "${manifests:-0}" "${freed:-null}" "${gc_seconds:-0}" "$readonly_seconds" \
		>/dev/termination-log 2>/dev/null || true
}

finish() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; fi
	[ -e "$work/go" ] || touch "$work/abort"
	if [ "$entered" = yes ]; then
		log "leaving read-only: every replica restarts writable, with an empty blob-descriptor cache"
		if retry kubectl patch "$deployment" --type=strategic -p "$(leave_patch)" >/dev/null && retry wait_for_mode "=true"; then
			left_at="$(date +%s)"
			log "the registry is writable again"
		else
			log "FAILED to make the registry writable again: run this job again, or: kubectl -n <namespace> patch $deployment --type=strategic -p '$(leave_patch)'"
			rc=1
		fi
	fi
	release_lock || true
	report
	exit "$rc"
}

trap finish EXIT
trap 'exit 143' INT TERM

take_lock
log "entering read-only: every replica restarts with storage.maintenance.readonly"
entered_at="$(date +%s)"
entered=yes
kubectl patch "$deployment" --type=strategic -p "$(enter_patch)" >/dev/null
wait_for_mode "!=true"
kubectl get pods -l "$DR_SELECTOR" -o 'jsonpath={range .items[*]}{.status.podIP}{"\n"}{end}' >"$work/pods"
log "every replica serves read-only ($(wc -l <"$work/pods") pods): collecting garbage"
touch "$work/go"
until [ -e "$work/gc.status" ]; do
	if [ -n "$(gc_container_exit_code)" ]; then
		break
	fi
	interruptible sleep 2
done
gc_status="$(cat "$work/gc.status" 2>/dev/null || echo "$(gc_container_exit_code)")"
[ "$gc_status" = 0 ]
