#!/usr/bin/env bash
# Starts (or stops) a throw-away Kubernetes control plane on 127.0.0.1 for the
# end-to-end tests: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok, which fakes the nodes and makes their pods Ready.
# Nothing listens on another address and no container runs.
#
# Usage:
#   tests/engine/start-cluster.sh start DIR    start; writes DIR/kubeconfig
#   tests/engine/start-cluster.sh stop DIR     stop exactly the processes started in DIR
#   tests/engine/start-cluster.sh status DIR   show which of them run
#   tests/engine/start-cluster.sh check DIR    create a Deployment, wait until
#                                              its pods are Ready, delete it
#
# DIR holds everything: certificates, etcd data, logs (DIR/logs), pid files
# (DIR/pids) and the admin kubeconfig. Binaries come from
# $DR_TOOLS_BIN, else from `tests/engine/build-tools.sh --print-bin`.
#
# Environment (defaults in brackets):
#   DR_ETCD_PORT [32379]  DR_ETCD_PEER_PORT [32380]  DR_APISERVER_PORT [36443]
#   DR_KWOK_NODES [1]     number of fake nodes (kwok-node-0, ...)
#   DR_START_TIMEOUT [120] seconds to wait for each component
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETCD_PORT="${DR_ETCD_PORT:-32379}"
ETCD_PEER_PORT="${DR_ETCD_PEER_PORT:-32380}"
API_PORT="${DR_APISERVER_PORT:-36443}"
KWOK_NODES="${DR_KWOK_NODES:-1}"
TIMEOUT="${DR_START_TIMEOUT:-120}"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

die() {
	echo "start-cluster: $*" >&2
	exit 1
}
log() { echo "start-cluster: $*"; }

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}

[[ $# -eq 2 ]] || usage 2
action="$1"
mkdir -p "$2"
DIR="$(cd "$2" && pwd)"
PKI="$DIR/pki"
LOGS="$DIR/logs"
PIDS="$DIR/pids"
KUBECONFIG_FILE="$DIR/kubeconfig"
BIN="${DR_TOOLS_BIN:-$("$here/build-tools.sh" --print-bin)}"
[[ -d "$BIN" ]] || die "tools directory $BIN does not exist; run tests/engine/build-tools.sh"
BIN="$(cd "$BIN" && pwd -P)"
TOOLS_DIR="$(dirname "$BIN")"
API="https://127.0.0.1:$API_PORT"

# ------------------------------------------------------------------ helpers --
# A pid file is trusted only if that process still runs our binary.
pid_of() {
	local name="$1" pid exe
	[[ -f "$PIDS/$name.pid" ]] || return 1
	pid="$(cat "$PIDS/$name.pid")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
	exe="${exe% (deleted)}"
	[[ "$exe" == "$BIN/$name" ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR" || return 1
	echo "$pid"
}

# Whether the process launched for a component still exists. Unlike pid_of, it does not ask for our binary:
# right after launch the child may still be the shell that is about to exec it, and under load that moment
# is long enough to be mistaken for an exit.
alive() {
	local pid
	pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" && [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# kapi METHOD PATH [JSON]: authenticated call to the API server.
kapi() {
	local method="$1" path="$2"
	shift 2
	curl -sS --fail-with-body --max-time 20 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
		-X "$method" -H 'Content-Type: application/json' -H 'Accept: application/json' "$@" "$API$path"
}

# wait_for DESCRIPTION COMPONENT COMMAND...: polls COMMAND until it succeeds.
wait_for() {
	local what="$1" comp="$2" deadline
	shift 2
	deadline=$(($(date +%s) + TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		if [[ -n "$comp" ]] && ! alive "$comp"; then
			tail -n 30 "$LOGS/$comp.log" >&2 || true
			die "$comp exited while waiting for $what; log: $LOGS/$comp.log"
		fi
		if (($(date +%s) > deadline)); then
			[[ -z "$comp" ]] || tail -n 30 "$LOGS/$comp.log" >&2 || true
			die "timed out after ${TIMEOUT}s waiting for $what"
		fi
		sleep 1
	done
}

launch() {
	local name="$1"
	shift
	[[ -x "$BIN/$name" ]] || die "$BIN/$name is missing; run tests/engine/build-tools.sh"
	if pid_of "$name" >/dev/null; then
		die "$name already runs for $DIR (pid $(pid_of "$name")); run: $0 stop $DIR"
	fi
	nohup "$BIN/$name" "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$PIDS/$name.pid"
	log "$name started (pid $!, log $LOGS/$name.log)"
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

gen_pki() {
	[[ -s "$PKI/admin.crt" ]] && return 0
	command -v openssl >/dev/null || die "openssl is needed"
	mkdir -p "$PKI"
	(
		cd "$PKI"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
			-subj "/CN=distribution-registry-test-ca" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		sign() { # name subject extensions
			openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
			printf '%b' "$3" >"$1.ext"
			openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
				-out "$1.crt" -extfile "$1.ext" 2>/dev/null
			rm -f "$1.csr" "$1.ext"
		}
		sign apiserver "/CN=kube-apiserver" \
			"subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
		sign admin "/O=system:masters/CN=admin" \
			"extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
		# Service-account token signing key pair.
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
		openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
		chmod 600 ./*.key
	)
	log "certificates and service-account key written to $PKI"
}

write_kubeconfig() {
	local b64="base64 -w0"
	cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: dr-test
  cluster:
    server: $API
    certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
- name: dr-test-admin
  user:
    client-certificate-data: $($b64 <"$PKI/admin.crt")
    client-key-data: $($b64 <"$PKI/admin.key")
contexts:
- name: dr-test
  context:
    cluster: dr-test
    user: dr-test-admin
    namespace: default
current-context: dr-test
EOF
	chmod 600 "$KUBECONFIG_FILE.tmp"
	mv -f "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

node_json() {
	cat <<EOF
{"apiVersion":"v1","kind":"Node",
 "metadata":{"name":"$1",
  "annotations":{"node.alpha.kubernetes.io/ttl":"0","kwok.x-k8s.io/node":"fake"},
  "labels":{"kubernetes.io/arch":"amd64","kubernetes.io/os":"linux","kubernetes.io/hostname":"$1",
            "kubernetes.io/role":"agent","node-role.kubernetes.io/agent":"","type":"kwok"}},
 "spec":{},
 "status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110","ephemeral-storage":"100Gi"},
           "capacity":{"cpu":"32","memory":"256Gi","pods":"110","ephemeral-storage":"100Gi"},
           "nodeInfo":{"architecture":"amd64","operatingSystem":"linux","kubeletVersion":"fake","kubeProxyVersion":"fake"},
           "phase":"Running"}}
EOF
}

node_ready() {
	kapi GET "/api/v1/nodes/$1" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
}

# ------------------------------------------------------------------ actions --
do_start() {
	local p name
	command -v curl >/dev/null || die "curl is needed"
	for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT"; do
		port_free "$p" || die "127.0.0.1:$p is in use (set DR_ETCD_PORT/DR_ETCD_PEER_PORT/DR_APISERVER_PORT)"
	done
	[[ -s "$TOOLS_DIR/share/kwok/stages.yaml" ]] ||
		die "$TOOLS_DIR/share/kwok/stages.yaml is missing; run tests/engine/build-tools.sh kwok"
	mkdir -p "$LOGS" "$PIDS"
	mkdir -p -m 700 "$DIR/etcd"
	gen_pki
	write_kubeconfig

	launch etcd --name dr-test --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "dr-test=http://127.0.0.1:$ETCD_PEER_PORT" \
		--unsafe-no-fsync --log-level warn
	wait_for "etcd health" etcd sh -c "curl -fsS http://127.0.0.1:$ETCD_PORT/health | grep -q '\"health\":\"true\"'"

	launch kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
		--cert-dir "$PKI" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-cluster-ip-range 10.96.0.0/16 \
		--authorization-mode Node,RBAC --allow-privileged=true \
		--endpoint-reconciler-type none \
		--profiling=false --v=1
	wait_for "kube-apiserver /readyz" kube-apiserver kapi GET /readyz

	launch kube-controller-manager --kubeconfig "$KUBECONFIG_FILE" \
		--authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
		--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
		--service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--use-service-account-credentials=false \
		--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
		--service-cluster-ip-range 10.96.0.0/16 --profiling=false --v=1

	launch kube-scheduler --kubeconfig "$KUBECONFIG_FILE" \
		--authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
		--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --profiling=false --v=1

	launch kwok --kubeconfig "$KUBECONFIG_FILE" --config "$TOOLS_DIR/share/kwok/stages.yaml" \
		--manage-all-nodes=false \
		--manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
		--disregard-status-with-annotation-selector kwok.x-k8s.io/status=custom \
		--cidr 10.0.0.1/24 --node-ip 10.0.0.1

	for ((i = 0; i < KWOK_NODES; i++)); do
		name="kwok-node-$i"
		kapi GET "/api/v1/nodes/$name" >/dev/null 2>&1 || kapi POST /api/v1/nodes --data "$(node_json "$name")" >/dev/null
		wait_for "node $name Ready" kwok node_ready "$name"
	done
	# The controller manager creates the default service account; pods need it.
	wait_for "service account default/default" kube-controller-manager \
		kapi GET /api/v1/namespaces/default/serviceaccounts/default
	pid_of kube-scheduler >/dev/null || die "kube-scheduler exited; log: $LOGS/kube-scheduler.log"
	log "cluster ready: export KUBECONFIG=$KUBECONFIG_FILE  (API $API)"
}

do_stop() {
	local i name pid waited
	for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
		name="${COMPONENTS[$i]}"
		if pid="$(pid_of "$name")"; then
			kill -TERM "$pid" 2>/dev/null || true
			waited=0
			while kill -0 "$pid" 2>/dev/null && ((waited < 150)); do
				sleep 0.1
				waited=$((waited + 1))
			done
			if kill -0 "$pid" 2>/dev/null; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
			log "$name stopped (pid $pid)"
		fi
		rm -f "$PIDS/$name.pid"
	done
}

do_status() {
	local name pid rc=0
	for name in "${COMPONENTS[@]}"; do
		if pid="$(pid_of "$name")"; then
			echo "$name running (pid $pid)"
		else
			echo "$name not running"
			rc=1
		fi
	done
	return $rc
}

# Creates a Deployment with 2 replicas and waits until both pods are Ready.
do_check() {
	local ns="dr-cluster-check" deadline ready=""
	kapi POST /api/v1/namespaces --data "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" >/dev/null
	kapi POST "/apis/apps/v1/namespaces/$ns/deployments" --data '{
 "apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"check"},
 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"check"}},
  "template":{"metadata":{"labels":{"app":"check"}},
   "spec":{"containers":[{"name":"c","image":"registry:2","ports":[{"containerPort":5000}],
     "readinessProbe":{"httpGet":{"path":"/","port":5000}}}]}}}}' >/dev/null
	deadline=$(($(date +%s) + TIMEOUT))
	while (($(date +%s) <= deadline)); do
		ready="$(kapi GET "/apis/apps/v1/namespaces/$ns/deployments/check" | tr -d ' \n' |
			grep -o '"readyReplicas":[0-9]*' | cut -d: -f2 || true)"
		[[ "$ready" == 2 ]] && break
		sleep 1
	done
	kapi GET "/api/v1/namespaces/$ns/pods" | tr -d ' \n' | grep -o '"nodeName":"[^"]*"\|"podIP":"[^"]*"\|"phase":"[^"]*"' | sort | uniq -c
	kapi DELETE "/api/v1/namespaces/$ns" >/dev/null
	[[ "$ready" == 2 ]] || die "check failed: deployment $ns/check has readyReplicas=${ready:-0}, want 2"
	log "check passed: deployment with 2 replicas became Ready"
}

case "$action" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
check) do_check ;;
-h | --help) usage 0 ;;
*) usage 2 ;;
esac
