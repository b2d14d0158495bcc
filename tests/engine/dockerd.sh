#!/usr/bin/env bash
# Runs Debian's Docker engine (docker.io) for the end-to-end test: its own data-root, exec-root and socket under
# STATE, in a private mount namespace where /etc/hosts and /etc/docker are the test's copies, so the daemon.json
# the program edits is the one this daemon reads and the hosts line the program writes is what it resolves.
# No bridge, no iptables rules and no IP forwarding (dockerd turns it on by default): it only pulls and pushes.
#
# Usage:
#   tests/engine/dockerd.sh start STATE HOSTS_FILE DOCKER_ETC_DIR   start; the socket is STATE/docker.sock
#   tests/engine/dockerd.sh restart STATE                           the program's dockerRestartCommand
#   tests/engine/dockerd.sh stop STATE
set -euo pipefail

die() {
	echo "dockerd.sh: $*" >&2
	exit 1
}

[[ $# -ge 2 ]] || die "usage: $0 start STATE HOSTS_FILE DOCKER_ETC_DIR | restart STATE | stop STATE"
action="$1"
state="$2"

pid_of() {
	local pid
	pid="$(cat "$state/dockerd.pid" 2>/dev/null)" || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == /usr/sbin/dockerd ]] || return 1
	echo "$pid"
}

start() {
	local hosts etc deadline
	read -r hosts etc <"$state/args"
	pid_of >/dev/null && die "dockerd already runs for $state"
	mkdir -p "$state/data" "$state/exec"
	# setsid: the daemon outlives whoever started it (the test, or the program's restart command).
	setsid unshare --mount --propagation private -- sh -c \
		'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/docker && exec /usr/sbin/dockerd \
			--data-root "$3/data" --exec-root "$3/exec" -H "unix://$3/docker.sock" --pidfile "$3/dockerd.pid" \
			--config-file /etc/docker/daemon.json --iptables=false --ip6tables=false --bridge=none \
			--ip-forward=false --ip-masq=false' \
		sh "$hosts" "$etc" "$state" >>"$state/dockerd.log" 2>&1 </dev/null &
	deadline=$(($(date +%s) + 60))
	until /usr/bin/docker -H "unix://$state/docker.sock" version >/dev/null 2>&1; do
		(($(date +%s) < deadline)) || die "dockerd did not answer within 60 s; log: $state/dockerd.log"
		sleep 0.2
	done
}

stop() {
	local pid waited=0
	pid="$(pid_of)" || return 0
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null && ((waited < 200)); do
		sleep 0.1
		waited=$((waited + 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
}

case "$action" in
start)
	[[ $# -eq 4 ]] || die "usage: $0 start STATE HOSTS_FILE DOCKER_ETC_DIR"
	mkdir -p "$state"
	echo "$3 $4" >"$state/args"
	start
	;;
restart)
	stop
	start
	echo "dockerd.sh: restarted the test's dockerd (pid $(pid_of))"
	;;
stop) stop ;;
*) die "unknown action $action" ;;
esac
