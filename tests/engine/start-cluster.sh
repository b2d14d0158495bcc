#!/usr/bin/env bash
# Starts (or stops) a throw-away single-node Kubernetes cluster on this machine for the end-to-end tests,
# shaped like k3s: etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1; a real node
# (containerd + runc + the CNI bridge plugin from Debian, kubelet, kube-proxy in iptables mode); Traefik v3 as
# the ingress controller (IngressClass "traefik", the default, TLS on its websecure entry points); and
# local-path-provisioner behind the default StorageClass "local-path". No image is pulled: the images of
# tests/engine/images/build-images.sh are imported into containerd.
#
# Network rule: traffic stays on this machine. Traefik listens only on the loopback ingress addresses; pods
# get 10.244.0.0/24 on the bridge cni0 and no default route, and reach the API server through the Service
# "kubernetes" (a socat on the bridge's address passes it on to the loopback listener); the Service and pod ranges
# get `unreachable` routes while the cluster runs, so a missing rule fails here instead of sending packets out of
# the machine.
# `stop` puts back every iptables rule (saved at start), route, sysctl, bridge, cgroup and netns file it made.
#
# Usage:
#   tests/engine/start-cluster.sh start DIR    start; writes DIR/kubeconfig
#   tests/engine/start-cluster.sh stop DIR     stop what was started in DIR and undo its changes
#   tests/engine/start-cluster.sh status DIR   show which components run
#
# The node (containerd and kubelet) runs in a private mount namespace in which /etc/hosts is DIR/node-hosts,
# a copy of /etc/hosts: append a line there (in place: it is bind-mounted) to make a registry name resolve
# for image pulls. containerd reads registry host configuration from DIR/containerd/certs.d/<host>/hosts.toml.
# containerd's socket is DIR/containerd/containerd.sock (`ctr -a` it). Binaries come from $DR_TOOLS_BIN, else
# from `tests/engine/build-tools.sh --print-bin`; images from `tests/engine/images/build-images.sh --print-dir`.
#
# Environment (defaults in brackets):
#   DR_ETCD_PORT [32379]  DR_ETCD_PEER_PORT [32380]  DR_APISERVER_PORT [36443]  DR_KUBELET_PORT [30250]
#   DR_TRAEFIK_ADDRESSES ["127.0.0.2 127.0.0.3"]  loopback addresses Traefik serves HTTP (80) and HTTPS (443) on
#   DR_TRAEFIK_PING_PORT [38080]  DR_START_TIMEOUT [120] seconds to wait for each component
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETCD_PORT="${DR_ETCD_PORT:-32379}"
ETCD_PEER_PORT="${DR_ETCD_PEER_PORT:-32380}"
API_PORT="${DR_APISERVER_PORT:-36443}"
KUBELET_PORT="${DR_KUBELET_PORT:-30250}"
read -r -a TRAEFIK_ADDRESSES <<<"${DR_TRAEFIK_ADDRESSES:-127.0.0.2 127.0.0.3}"
TRAEFIK_PING_PORT="${DR_TRAEFIK_PING_PORT:-38080}"
KUBE_PROXY_HEALTH_PORT=$((KUBELET_PORT + 6))
KUBE_PROXY_METRICS_PORT=$((KUBELET_PORT + 7))
TIMEOUT="${DR_START_TIMEOUT:-120}"
NODE=dr-node
# Kernel settings that the bridge plugin, the kubelet (its kernel tunables) and kube-proxy may change.
SYSCTLS=(net/ipv4/ip_forward vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
	kernel/keys/root_maxkeys kernel/keys/root_maxbytes net/ipv4/conf/all/route_localnet)
POD_CIDR=10.244.0.0/24
POD_RANGE=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
COMPONENTS=(etcd kube-apiserver apiserver-proxy kube-controller-manager kube-scheduler containerd kubelet kube-proxy traefik
	local-path-provisioner)
# The pods' gateway on the bridge: where pods reach the host, and the API server through its proxy.
BRIDGE_ADDRESS=10.244.0.1

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
UNDO="$DIR/undo"
KUBECONFIG_FILE="$DIR/kubeconfig"
CONTAINERD_SOCK="$DIR/containerd/containerd.sock"
BIN="${DR_TOOLS_BIN:-$("$here/build-tools.sh" --print-bin)}"
[[ -d "$BIN" ]] || die "tools directory $BIN does not exist; run tests/engine/build-tools.sh"
BIN="$(cd "$BIN" && pwd -P)"
IMAGES="$("$here/images/build-images.sh" --print-dir)"
API="https://127.0.0.1:$API_PORT"

# The binary a component runs: ours from $BIN, or Debian's.
binary_of() {
	case "$1" in
	containerd) echo /usr/bin/containerd ;;
	apiserver-proxy) echo /usr/bin/socat ;;
	*) echo "$BIN/$1" ;;
	esac
}

# ------------------------------------------------------------------ helpers --
# A pid file is trusted only if that process still runs the component's binary with DIR in its arguments.
pid_of() {
	local name="$1" pid exe
	[[ -f "$PIDS/$name.pid" ]] || return 1
	pid="$(cat "$PIDS/$name.pid")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
	exe="${exe% (deleted)}"
	[[ "$exe" == "$(binary_of "$name")" ]] || return 1
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$DIR"* ]] || return 1
	echo "$pid"
}

# Whether the process launched for a component still exists. Unlike pid_of, it does not ask for the binary:
# right after launch the child may still be the shell (or unshare, nsenter) that is about to exec it.
alive() {
	local pid
	pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" && [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# kapi METHOD PATH [curl args]: authenticated call to the API server.
kapi() {
	local method="$1" path="$2"
	shift 2
	curl -sS --fail-with-body --max-time 20 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
		-X "$method" -H 'Content-Type: application/json' -H 'Accept: application/json' "$@" "$API$path"
}

# apply PATH JSON: creates the object unless it exists.
apply() {
	local path="$1" json="$2" name
	[[ "$json" =~ \"name\":\"([^\"]*)\" ]] || die "no name in $json"
	name="${BASH_REMATCH[1]}"
	kapi GET "$path/$name" >/dev/null 2>&1 || kapi POST "$path" --data "$json" >/dev/null
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
		sleep 0.5
	done
}

# launch NAME COMMAND...: runs COMMAND (which ends by exec'ing NAME's binary) in the background.
launch() {
	local name="$1"
	shift
	[[ -x "$(binary_of "$name")" ]] || die "$(binary_of "$name") is missing; run tests/engine/build-tools.sh"
	if pid_of "$name" >/dev/null; then
		die "$name already runs for $DIR (pid $(pid_of "$name")); run: $0 stop $DIR"
	fi
	nohup "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$PIDS/$name.pid"
	log "$name started (pid $!, log $LOGS/$name.log)"
}

port_free() {
	! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
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
		# The node authorizer lets a kubelet act for the node its certificate names.
		sign kubelet-client "/O=system:nodes/CN=system:node:$NODE" \
			"extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
		sign kubelet-server "/CN=$NODE" \
			"subjectAltName=IP:127.0.0.1,DNS:$NODE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
		# Service-account token signing key pair.
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
		openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
		chmod 600 ./*.key
	)
	log "certificates and service-account key written to $PKI"
}

# write_kubeconfig FILE CERT_NAME: a kubeconfig for the client certificate PKI/CERT_NAME.crt.
write_kubeconfig() {
	local file="$1" cert="$2" b64="base64 -w0"
	cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: dr-test
  cluster:
    server: $API
    certificate-authority-data: $($b64 <"$PKI/ca.crt")
users:
- name: dr-test-$cert
  user:
    client-certificate-data: $($b64 <"$PKI/$cert.crt")
    client-key-data: $($b64 <"$PKI/$cert.key")
contexts:
- name: dr-test
  context:
    cluster: dr-test
    user: dr-test-$cert
    namespace: default
current-context: dr-test
EOF
	chmod 600 "$file.tmp"
	mv -f "$file.tmp" "$file"
}

node_ready() {
	# No `| grep -q` under pipefail: grep would stop reading at the match and fail the pipeline with SIGPIPE.
	[[ "$(kapi GET "/api/v1/nodes/$NODE" | tr -d ' \n')" == *'"type":"Ready","status":"True"'* ]]
}

# --------------------------------------------------------- host changes --
# Everything start changes outside DIR is recorded in DIR/undo first, so stop can put it back even after a
# failed start.
save_host_state() {
	mkdir -p "$UNDO"
	[[ -f "$UNDO/iptables" ]] && return 0
	ip6tables-save >"$UNDO/ip6tables" 2>/dev/null || : >"$UNDO/ip6tables"
	iptables-save >"$UNDO/iptables.tmp" && mv "$UNDO/iptables.tmp" "$UNDO/iptables"
	local k
	for k in "${SYSCTLS[@]}"; do
		[[ ! -f "/proc/sys/$k" ]] || echo "$k $(cat "/proc/sys/$k")" >>"$UNDO/sysctl"
	done
	ls /var/run/netns 2>/dev/null >"$UNDO/netns" || : >"$UNDO/netns"
	[[ -e /var/lib/cni ]] || touch "$UNDO/remove-var-lib-cni"
	[[ -e /var/run/netns ]] || touch "$UNDO/remove-var-run-netns"
	local c
	for c in /sys/fs/cgroup/*/; do
		[[ -e "$c/kubepods" ]] || echo "$c/kubepods" >>"$UNDO/cgroups"
	done
}

setup_network() {
	ip route replace unreachable "$SERVICE_CIDR"
	ip route replace unreachable "$POD_RANGE"
	# dockerd, where it runs, sets the FORWARD policy to DROP; pod <-> pod through a ClusterIP needs these.
	iptables -I FORWARD -i cni0 -j ACCEPT
	iptables -I FORWARD -o cni0 -j ACCEPT
	mkdir -p "$DIR/cni/net.d" "$DIR/cni/ipam"
	# The bridge exists before the first pod (the bridge plugin takes it as it is), so that the API server's proxy
	# can listen on its address from the start.
	ip link add cni0 type bridge 2>/dev/null || true
	ip addr replace "$BRIDGE_ADDRESS/24" dev cni0
	ip link set cni0 up
	# The bridge has the gateway address so the host (Traefik, the kubelet's probes) reaches pods, but pods get
	# no default route: only the pod and Service ranges, both of which end on this machine.
	cat >"$DIR/cni/net.d/10-dr-bridge.conflist" <<EOF
{"cniVersion":"1.0.0","name":"dr-pods","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,
 "isDefaultGateway":false,"ipMasq":false,"hairpinMode":true,
 "ipam":{"type":"host-local","dataDir":"$DIR/cni/ipam","ranges":[[{"subnet":"$POD_CIDR","gateway":"$BRIDGE_ADDRESS"}]],
  "routes":[{"dst":"$POD_RANGE"},{"dst":"$SERVICE_CIDR"}]}}]}
EOF
}

# restore_rules iptables|ip6tables SAVED: every table back to the saved rules. A table absent from the save (nft
# creates tables on first use) is emptied: its chains flushed and deleted, the built-in policies ACCEPT.
restore_rules() {
	local cmd="$1" saved="$2" t c
	for t in $("$cmd-save" 2>/dev/null | sed -n 's/^\*//p'); do
		"$cmd" -t "$t" -F 2>/dev/null || continue
		"$cmd" -t "$t" -X 2>/dev/null || true
		if ! grep -qx "\*$t" "$saved" 2>/dev/null; then
			for c in $("$cmd" -t "$t" -S 2>/dev/null | awk '$1 == "-P" { print $2 }'); do
				"$cmd" -t "$t" -P "$c" ACCEPT 2>/dev/null || true
			done
		fi
	done
	[[ ! -s "$saved" ]] || "$cmd-restore" <"$saved"
}

restore_host_state() {
	[[ -d "$UNDO" ]] || return 0
	if [[ -f "$UNDO/iptables" ]]; then
		restore_rules iptables "$UNDO/iptables"
		restore_rules ip6tables "$UNDO/ip6tables"
	fi
	ip route del unreachable "$SERVICE_CIDR" 2>/dev/null || true
	ip route del unreachable "$POD_RANGE" 2>/dev/null || true
	ip link del cni0 2>/dev/null || true
	local f c k v
	if [[ -f "$UNDO/sysctl" ]]; then
		while read -r k v; do
			[[ "$(cat "/proc/sys/$k")" == "$v" ]] || echo "$v" >"/proc/sys/$k" || true
		done <"$UNDO/sysctl"
	fi
	if [[ -f "$UNDO/netns" ]]; then
		for f in /var/run/netns/cni-*; do
			[[ -e "$f" ]] || continue
			grep -qxF "$(basename "$f")" "$UNDO/netns" || { umount "$f" 2>/dev/null || true; rm -f "$f"; }
		done
	fi
	[[ ! -f "$UNDO/remove-var-run-netns" ]] || rmdir /var/run/netns 2>/dev/null || true
	[[ ! -f "$UNDO/remove-var-lib-cni" ]] || rm -rf /var/lib/cni
	if [[ -f "$UNDO/cgroups" ]]; then
		while read -r c; do
			[[ -d "$c" ]] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		done <"$UNDO/cgroups"
	fi
	rm -rf "$UNDO"
}

# ------------------------------------------------------------------ start --
start_control_plane() {
	launch etcd "$BIN/etcd" --name dr-test --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "dr-test=http://127.0.0.1:$ETCD_PEER_PORT" \
		--unsafe-no-fsync --log-level warn
	wait_for "etcd health" etcd sh -c "curl -fsS http://127.0.0.1:$ETCD_PORT/health | grep -q '\"health\":\"true\"'"

	# The API server reaches the kubelet (logs, exec) by the node's name: resolve it to loopback in its own
	# /etc/hosts, so no lookup of it leaves the machine.
	{ cat /etc/hosts && echo "127.0.0.1 $NODE"; } >"$DIR/control-plane-hosts"
	launch kube-apiserver unshare --mount --propagation private -- sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' \
		sh "$DIR/control-plane-hosts" "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address "$BRIDGE_ADDRESS" --secure-port "$API_PORT" \
		--cert-dir "$PKI" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" \
		--kubelet-client-certificate "$PKI/admin.crt" --kubelet-client-key "$PKI/admin.key" \
		--kubelet-certificate-authority "$PKI/ca.crt" \
		--kubelet-preferred-address-types Hostname \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-cluster-ip-range "$SERVICE_CIDR" \
		--authorization-mode Node,RBAC --allow-privileged=true \
		--profiling=false --v=1
	wait_for "kube-apiserver /readyz" kube-apiserver kapi GET /readyz
	# Pods reach the API server as in any cluster, through the Service "kubernetes" (10.96.0.1:443): its endpoint is
	# the advertised address, the bridge's, where this proxy passes the connections on to the loopback listener
	# (a pod cannot reach the host's loopback). Nothing listens outside the machine.
	launch apiserver-proxy /usr/bin/socat -lf "$LOGS/apiserver-proxy.socat.log" \
		"TCP-LISTEN:$API_PORT,bind=$BRIDGE_ADDRESS,fork,reuseaddr" "TCP:127.0.0.1:$API_PORT"

	launch kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
		--authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
		--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
		--service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--use-service-account-credentials=false \
		--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
		--service-cluster-ip-range "$SERVICE_CIDR" --profiling=false --v=1

	launch kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" \
		--authentication-kubeconfig "$KUBECONFIG_FILE" --authorization-kubeconfig "$KUBECONFIG_FILE" \
		--bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --profiling=false --v=1
}

start_node() {
	local image public
	mkdir -p "$DIR/kubelet" "$DIR/pod-logs" "$DIR/local-path"
	cp /etc/hosts "$DIR/node-hosts"
	# The public registries are asked at a closed loopback port: an image the node lacks (registry:2.8.3, say) fails
	# here, at once, instead of sending a lookup or a request out of the machine. containerd 1.6 has no _default
	# directory, and takes `server` alone for docker.io as registry-1.docker.io: the [host] section is what counts.
	for public in docker.io registry.k8s.io quay.io ghcr.io gcr.io; do
		mkdir -p "$DIR/containerd/certs.d/$public"
		printf 'server = "https://127.0.0.1:1"\n[host."https://127.0.0.1:1"]\n  capabilities = ["pull", "resolve"]\n' \
			>"$DIR/containerd/certs.d/$public/hosts.toml"
	done
	cat >"$DIR/containerd/config.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:dr-e2e"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails with "can't get final child's PID".
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$DIR/containerd/certs.d"
EOF
	# containerd and the kubelet share a private mount namespace: the pod volumes the kubelet mounts are seen by
	# runc, /etc/hosts is the node's own copy, and every mount they make disappears with them.
	launch containerd unshare --mount --propagation private -- sh -c \
		'mount --bind "$1" /etc/hosts && exec /usr/bin/containerd --config "$2"' sh "$DIR/node-hosts" "$DIR/containerd/config.toml"
	wait_for "containerd" containerd ctr -a "$CONTAINERD_SOCK" version
	for image in "$IMAGES"/*.tar; do
		ctr -a "$CONTAINERD_SOCK" -n k8s.io images import --no-unpack=false "$image" >>"$LOGS/images.log" 2>&1 ||
			die "importing $image into containerd failed; log: $LOGS/images.log"
	done
	log "images imported: $(cd "$IMAGES" && echo *.tar)"

	write_kubeconfig "$DIR/kubelet.kubeconfig" kubelet-client
	cat >"$DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzPort: 0
tlsCertFile: $PKI/kubelet-server.crt
tlsPrivateKeyFile: $PKI/kubelet-server.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podLogsDir: $DIR/pod-logs
volumePluginDir: $DIR/kubelet/volume-plugins
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
EOF
	wait_for "containerd's pid" containerd pid_of containerd
	launch kubelet nsenter --mount="/proc/$(pid_of containerd)/ns/mnt" -- "$BIN/kubelet" \
		--config "$DIR/kubelet-config.yaml" --kubeconfig "$DIR/kubelet.kubeconfig" \
		--root-dir "$DIR/kubelet" --cert-dir "$DIR/kubelet/pki" --hostname-override "$NODE" --v=1
	wait_for "node $NODE Ready" kubelet node_ready

	cat >"$DIR/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $KUBECONFIG_FILE}
mode: iptables
hostnameOverride: $NODE
clusterCIDR: $POD_RANGE
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTH_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
nodePortAddresses: ["127.0.0.1/32"]
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
EOF
	launch kube-proxy "$BIN/kube-proxy" --config "$DIR/kube-proxy-config.yaml" --v=1
}

# Traefik with what k3s's chart gives: IngressClass "traefik" as the default class, TLS on websecure, the
# Ingress status set to the address it serves.
start_ingress() {
	local a i=0 args=()
	apply /apis/networking.k8s.io/v1/ingressclasses '{"apiVersion":"networking.k8s.io/v1","kind":"IngressClass",
 "metadata":{"name":"traefik","annotations":{"ingressclass.kubernetes.io/is-default-class":"true"}},
 "spec":{"controller":"traefik.io/ingress-controller"}}'
	for a in "${TRAEFIK_ADDRESSES[@]}"; do
		port_free "$a" 443 && port_free "$a" 80 || die "$a:443 or $a:80 is in use (set DR_TRAEFIK_ADDRESSES)"
		args+=("--entryPoints.web$i.address=$a:80" "--entryPoints.websecure$i.address=$a:443"
			"--entryPoints.websecure$i.http.tls=true")
		i=$((i + 1))
	done
	launch traefik env KUBECONFIG="$KUBECONFIG_FILE" "$BIN/traefik" "${args[@]}" \
		"--entryPoints.traefik.address=127.0.0.1:$TRAEFIK_PING_PORT" --ping=true \
		--providers.kubernetesingress=true \
		"--providers.kubernetesingress.ingressendpoint.ip=${TRAEFIK_ADDRESSES[0]}" \
		--global.checknewversion=false --global.sendanonymoususage=false --log.level=INFO \
		"--accesslog=true" "--accesslog.filepath=$LOGS/traefik-access.log"
}

# local-path-provisioner as k3s runs it, but on the host: its helper pods (busybox) make and remove the
# volume directories under DIR/local-path.
start_storage() {
	local busybox
	busybox="$(cat "$IMAGES/busybox.reference")"
	apply /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"local-path-storage"}}'
	apply /api/v1/namespaces/local-path-storage/configmaps "$(
		cat <<EOF
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"local-path-config","namespace":"local-path-storage"},
 "data":{"config.json":"{\"nodePathMap\":[{\"node\":\"DEFAULT_PATH_FOR_NON_LISTED_NODES\",\"paths\":[\"$DIR/local-path\"]}]}",
  "setup":"#!/bin/sh\nset -eu\nmkdir -m 0777 -p \"\$VOL_DIR\"\n",
  "teardown":"#!/bin/sh\nset -eu\nrm -rf \"\$VOL_DIR\"\n",
  "helperPod.yaml":"apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper-pod\nspec:\n  containers:\n  - name: helper-pod\n    image: $busybox\n    imagePullPolicy: IfNotPresent\n"}}
EOF
	)"
	apply /apis/storage.k8s.io/v1/storageclasses '{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass",
 "metadata":{"name":"local-path","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},
 "provisioner":"rancher.io/local-path","volumeBindingMode":"WaitForFirstConsumer","reclaimPolicy":"Delete"}'
	wait_for "service account local-path-storage/default" kube-controller-manager \
		kapi GET /api/v1/namespaces/local-path-storage/serviceaccounts/default
	launch local-path-provisioner "$BIN/local-path-provisioner" start --kubeconfig "$KUBECONFIG_FILE" \
		--namespace local-path-storage --configmap-name local-path-config --helper-image "$busybox" \
		--service-account-name default --provisioner-name rancher.io/local-path
}

do_start() {
	local p
	[[ $(id -u) -eq 0 ]] || die "needs root (containerd, kubelet, iptables, ports 80/443)"
	for p in curl openssl iptables-save ip unshare nsenter ctr runc /usr/lib/cni/bridge socat; do
		command -v "$p" >/dev/null || die "$p is needed (apt-get install containerd runc containernetworking-plugins iptables iproute2 curl openssl socat)"
	done
	for p in pause registry-2 registry-3 busybox e2e-hello kubectl seaweedfs redis; do
		[[ -s "$IMAGES/$p.tar" ]] || die "$IMAGES/$p.tar is missing; run tests/engine/images/build-images.sh"
	done
	for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KUBELET_PORT" "$TRAEFIK_PING_PORT" "$KUBE_PROXY_HEALTH_PORT" \
		"$KUBE_PROXY_METRICS_PORT"; do
		port_free 127.0.0.1 "$p" || die "127.0.0.1:$p is in use (see the DR_*_PORT variables)"
	done
	mkdir -p "$LOGS" "$PIDS"
	mkdir -p -m 700 "$DIR/etcd"
	gen_pki
	write_kubeconfig "$KUBECONFIG_FILE" admin
	save_host_state
	setup_network

	start_control_plane
	start_node
	start_ingress
	start_storage
	# The controller manager creates the default service account; pods need it.
	wait_for "service account default/default" kube-controller-manager \
		kapi GET /api/v1/namespaces/default/serviceaccounts/default
	wait_for "Traefik's ping" traefik curl -fsS "http://127.0.0.1:$TRAEFIK_PING_PORT/ping"
	for p in kube-scheduler kube-proxy local-path-provisioner; do
		alive "$p" || die "$p exited; log: $LOGS/$p.log"
	done
	log "cluster ready: export KUBECONFIG=$KUBECONFIG_FILE  (API $API, ingress ${TRAEFIK_ADDRESSES[*]})"
}

# ------------------------------------------------------------------- stop --
stop_process() {
	local name="$1" pid waited=0
	pid="$(pid_of "$name")" || { rm -f "$PIDS/$name.pid"; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && ((waited < 100)); do
		sleep 0.1
		waited=$((waited + 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$PIDS/$name.pid"
	log "$name stopped (pid $pid)"
}

# The pods' processes outlive containerd (their shims are re-parented): kill them through containerd while it
# runs, then whatever shim of this containerd is left.
stop_pods() {
	local task pid
	if pid_of containerd >/dev/null; then
		for task in $(ctr -a "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$CONTAINERD_SOCK" -n k8s.io tasks kill -a -s SIGKILL "$task" >/dev/null 2>&1 || true
		done
		sleep 1
		for task in $(ctr -a "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
			ctr -a "$CONTAINERD_SOCK" -n k8s.io tasks delete -f "$task" >/dev/null 2>&1 || true
		done
	fi
	for pid in $(pgrep -f "containerd-shim.*-address $CONTAINERD_SOCK" || true); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

do_stop() {
	local i name
	for name in local-path-provisioner traefik kube-proxy kubelet; do stop_process "$name"; done
	stop_pods
	for name in containerd kube-scheduler kube-controller-manager apiserver-proxy kube-apiserver etcd; do
		stop_process "$name"
	done
	# Pod processes are gone; what they left in the host's cgroups, netns files and network goes too.
	for i in 1 2 3 4 5; do
		pgrep -f "containerd-shim.*-address $CONTAINERD_SOCK" >/dev/null || break
		sleep 1
	done
	restore_host_state
	# containerd's snapshots are overlay mounts in the node's namespace, gone with it; its files are ours.
	chmod -R u+w "$DIR/containerd" 2>/dev/null || true
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

case "$action" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
-h | --help) usage 0 ;;
*) usage 2 ;;
esac
