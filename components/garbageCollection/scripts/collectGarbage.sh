# The garbage-collection job's second container, in the registry's own image with the registry's storage, config
# and secrets: once the first container (readOnlyWindow.sh) has every replica read-only, it checks that each one
# refuses a write (405), runs `registry garbage-collect` with the same config, and reports what it freed.
#
# Plain POSIX sh (the official images are Alpine: busybox's sh, du, nc). Every value comes from the environment:
# DR_CONFIG (the config file), DR_DATA_DIR (the filesystem storage's root, unset for object storage), DR_PORT,
# DR_DELETE_UNTAGGED ("true" or unset), DR_PROBE_AUTH (base64 "user:password" of the pull account, kept off every
# command line: printf is the shell's own); with a Redis cache, DR_REDIS_ADDRESS (host:port), DR_REDIS_DB and the
# registry's own REGISTRY_REDIS_PASSWORD (a YAML scalar, as the registry reads it). /work is shared with the first
# container.
set -u

work=/work
log() { printf '%s garbage collection: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
finish() {
	printf '%s\n' "$1" >"$work/gc.status"
	exit "$1"
}

until [ -e "$work/go" ] || [ -e "$work/abort" ]; do sleep 1; done
if [ ! -e "$work/go" ]; then
	log "the registry was not made read-only: nothing collected"
	exit 0
fi

# A blob upload start is a write: a read-only registry answers 405 after authenticating the request.
for address in $(cat "$work/pods"); do
	status="$(printf 'POST /v2/distribution-registry-gc/blobs/uploads/ HTTP/1.0\r\nHost: %s\r\nAuthorization: Basic %s\r\nContent-Length: 0\r\n\r\n' \
		"$address" "$DR_PROBE_AUTH" | nc -w 10 "$address" "$DR_PORT" 2>/dev/null | head -n 1 | cut -d ' ' -f 2)"
	if [ "$status" != 405 ]; then
		log "the replica at $address answered ${status:-nothing} to a write, not 405 (read-only): nothing collected"
		finish 3
	fi
done
log "every replica refuses writes (405)"

# The password as the registry reads it from its environment (YAML): "double-quoted" (JSON's escapes \\ and \"),
# 'single-quoted' ('' for '), or plain. Anything else stops the flush, which then asks for it by hand.
redis_password() {
	value="${REGISTRY_REDIS_PASSWORD:-}"
	case "$value" in
	\"*\")
		inner="${value#\"}"
		inner="${inner%\"}"
		rest="$(printf '%s' "$inner" | sed 's/\\\\//g; s/\\"//g')"
		case "$rest" in *\\*) return 1 ;; esac
		printf '%s' "$inner" | awk '{ for (i = 1; i <= length($0); i++) { c = substr($0, i, 1); if (c == "\\") c = substr($0, ++i, 1); printf "%s", c } }'
		;;
	\'*\')
		inner="${value#\'}"
		inner="${inner%\'}"
		printf '%s' "$inner" | sed "s/''/'/g"
		;;
	*) printf '%s' "$value" ;;
	esac
}

# A RESP command (binary-safe: each argument with its length in bytes), built by the shell's own printf.
resp() {
	printf '*%s\r\n' "$#"
	for argument in "$@"; do
		printf '$%s\r\n%s\r\n' "$(printf '%s' "$argument" | wc -c | tr -d ' ')" "$argument"
	done
}

# The blob-descriptor cache outlives the collection in Redis (a replica's restart empties only its own memory): a
# re-push would then skip the uploads of blobs it still lists. Emptied here, before the registry takes writes again.
flush_redis() {
	host="${DR_REDIS_ADDRESS%:*}"
	port="${DR_REDIS_ADDRESS##*:}"
	host="${host#[}"
	host="${host%]}"
	expected=2
	if ! password="$(redis_password)"; then
		log "the Redis password is not a YAML scalar this script reads: FLUSHDB of database $DR_REDIS_DB by hand now (redis-cli -n $DR_REDIS_DB FLUSHDB)"
		return 1
	fi
	replies="$({
		if [ -n "$password" ]; then resp AUTH "$password"; fi
		resp SELECT "$DR_REDIS_DB"
		resp FLUSHDB
		resp QUIT
	} | nc -w 10 "$host" "$port" 2>&1)"
	[ -z "$password" ] || expected=3
	if [ "$(printf '%s\n' "$replies" | grep -c '^+OK')" -lt "$((expected + 1))" ]; then
		log "emptying the Redis cache at $DR_REDIS_ADDRESS failed ($(printf '%s' "$replies" | grep '^-' | head -n 1)): FLUSHDB of database $DR_REDIS_DB by hand before pushing again"
		return 1
	fi
	log "emptied the blob-descriptor cache in Redis (database $DR_REDIS_DB at $DR_REDIS_ADDRESS)"
}

bytes_used() { du -sk "$DR_DATA_DIR" | cut -f 1; }
[ -z "${DR_DATA_DIR:-}" ] || before="$(bytes_used)"
started="$(date +%s)"
if [ "${DR_DELETE_UNTAGGED:-}" = true ]; then
	registry garbage-collect --delete-untagged "$DR_CONFIG" >"$work/gc.log" 2>&1
else
	registry garbage-collect "$DR_CONFIG" >"$work/gc.log" 2>&1
fi
rc=$?
seconds=$(($(date +%s) - started))
grep -v '^blob eligible for deletion\|^[^ ]*: marking' "$work/gc.log" | tail -n 20
# "N blobs marked, M blobs and K manifests eligible for deletion", the summary both major versions print.
summary="$(grep 'blobs marked' "$work/gc.log" | tail -n 1)"
blobs="$(printf '%s\n' "$summary" | sed -n 's/.* marked, \([0-9]*\) blobs and \([0-9]*\) manifests.*/\1/p')"
manifests="$(printf '%s\n' "$summary" | sed -n 's/.* marked, \([0-9]*\) blobs and \([0-9]*\) manifests.*/\2/p')"
{
	echo "blobs=${blobs:-0}"
	echo "manifests=${manifests:-0}"
	echo "seconds=$seconds"
	if [ -n "${DR_DATA_DIR:-}" ]; then echo "bytesFreed=$(((before - $(bytes_used)) * 1024))"; fi
} >"$work/gc.result"
if [ "$rc" -ne 0 ]; then
	log "registry garbage-collect failed (exit $rc)"
fi
# Whether it succeeded or not, the collection may have deleted blobs: the cache must not remember them.
if [ -n "${DR_REDIS_ADDRESS:-}" ] && ! flush_redis && [ "$rc" -eq 0 ]; then
	rc=4
fi
finish "$rc"
