# The node-trust DaemonSet's script: one pod on every node makes that node pull from the registry with no one
# editing it. containerd trusts the registry through <certs dir>/<host[:port]>/hosts.toml (and the CA beside it),
# which it reads at each pull: no restart of containerd or k3s. The hostname resolves through a marked line in the
# node's hosts file. Both are written when the pod starts, checked (and written back) every DR_CHECK_SECONDS, and
# taken away when the pod stops (SIGTERM): a node keeps them only while a pod of the DaemonSet runs on it.
# Nothing it did not write is ever changed: a host directory or a hosts line of someone else's is left alone, and the
# pod is not Ready, its status (the readiness probe's message) saying why and what to do.
#
# Plain POSIX sh and busybox's tools (the registry's image runs it: the official images are Alpine). Every value
# comes from the environment, never from the text of this script:
#   DR_CERTS_DIR, DR_HOSTS_FILE   containerd's certs directory and the node's hosts file as the pod mounts them
#                                 (hostPath; the hosts file is a bind mount, so it is edited in place)
#   DR_NODE_CERTS_DIR, DR_NODE_HOSTS_FILE   the same on the node, for messages
#   DR_REGISTRY    the registry as image references name it (host, or host:port): its host directory's name
#   DR_HOSTNAME, DR_ADDRESS   the hosts line's name and address
#   DR_OWNER       names the stack: the marker "# distribution-registry: <owner>" ends the hosts line and opens
#                  hosts.toml, and tells ours from anyone else's
#   DR_TLS         "ca" (DR_CA_FILE, PEM, is the CA), "skipVerify" (the seed's setup) or "system" (the node's roots)
#   DR_STATE_DIR   a writable directory of the pod's own (status for the readiness probe, temporaries)
#   DR_CHECK_SECONDS   how often the files are checked while the pod runs
#   POD_UID        names this pod in the lock it takes
#
# Every change is made under a lock that all such pods on the node share (a directory in the certs directory).
# The hosts file cannot be replaced by a rename (it is a bind mount): it is rewritten in place once a copy of what
# it held and of what it is to hold is on disk beside the lock; the next start finishes a write a crash cut short.
#
# Usage: nodeTrust.sh run | apply | remove | ready
#   run     apply, check every DR_CHECK_SECONDS, remove on SIGTERM (the DaemonSet's container)
#   apply, remove   once (exit 1 when something was left undone: the status file says what)
#   ready   the readiness probe: exit 0 when the last check left nothing undone, else print why
set -u
umask 022

log() { printf '%s node trust: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# What keeps the pod from being Ready, one sentence a line.
problems=
problem() {
	log "$1"
	problems="$problems$1
"
}

set_status() {
	printf '%s\n' "$1" >"$DR_STATE_DIR/status.new" && mv -f "$DR_STATE_DIR/status.new" "$DR_STATE_DIR/status"
}

fail() {
	log "$1"
	[ -z "${DR_STATE_DIR:-}" ] || set_status "$1" 2>/dev/null
	exit 2
}

required() {
	[ -n "$2" ] || fail "$1 is not set: the DaemonSet's template sets it"
}

check_inputs() {
	required DR_CERTS_DIR "${DR_CERTS_DIR:-}"
	required DR_HOSTS_FILE "${DR_HOSTS_FILE:-}"
	required DR_REGISTRY "${DR_REGISTRY:-}"
	required DR_HOSTNAME "${DR_HOSTNAME:-}"
	required DR_ADDRESS "${DR_ADDRESS:-}"
	required DR_OWNER "${DR_OWNER:-}"
	required DR_TLS "${DR_TLS:-}"
	required DR_STATE_DIR "${DR_STATE_DIR:-}"
	required POD_UID "${POD_UID:-}"
	DR_NODE_CERTS_DIR="${DR_NODE_CERTS_DIR:-$DR_CERTS_DIR}"
	DR_NODE_HOSTS_FILE="${DR_NODE_HOSTS_FILE:-$DR_HOSTS_FILE}"
	DR_CHECK_SECONDS="${DR_CHECK_SECONDS:-30}"
	case "$DR_OWNER" in *[![:print:]]*) fail "DR_OWNER has a line break or a control character: give one line" ;; esac
	case "$DR_HOSTNAME" in "" | *[!A-Za-z0-9.-]*) fail "DR_HOSTNAME \"$DR_HOSTNAME\" is not a DNS name" ;; esac
	case "$DR_REGISTRY" in "" | *[!A-Za-z0-9.:-]*) fail "DR_REGISTRY \"$DR_REGISTRY\" is not host or host:port" ;; esac
	case "$DR_ADDRESS" in "" | *[!0-9A-Za-z.:%_-]*) fail "DR_ADDRESS \"$DR_ADDRESS\" is not an IP address" ;; esac
	case "$POD_UID" in *[!A-Za-z0-9-]*) fail "POD_UID \"$POD_UID\" is not a pod's uid" ;; esac
	case "$DR_CHECK_SECONDS" in "" | *[!0-9]*) fail "DR_CHECK_SECONDS \"$DR_CHECK_SECONDS\" is not a number of seconds" ;; esac
	case "$DR_TLS" in
	ca) [ -r "${DR_CA_FILE:-}" ] || fail "DR_TLS is ca but DR_CA_FILE \"${DR_CA_FILE:-}\" cannot be read" ;;
	skipVerify | system) ;;
	*) fail "DR_TLS \"$DR_TLS\" is not ca, skipVerify or system" ;;
	esac
	[ -d "$DR_CERTS_DIR" ] || fail "$DR_NODE_CERTS_DIR is not a directory (nodeTrust.certsDir)"
	[ -f "$DR_HOSTS_FILE" ] || fail "$DR_NODE_HOSTS_FILE is not a file (nodeTrust.hostsFile)"

	marker="# distribution-registry: $DR_OWNER"
	line="$DR_ADDRESS $DR_HOSTNAME $marker"
	lock="$DR_CERTS_DIR/.distribution-registry.lock"
	journal="$DR_CERTS_DIR/.distribution-registry-hosts.journal"
	host_dir="$DR_CERTS_DIR/$DR_REGISTRY"
	node_host_dir="$DR_NODE_CERTS_DIR/$DR_REGISTRY"
	# A host directory appears complete (renamed from new_dir) and goes at once (renamed to old_dir): a crash leaves
	# one of these hidden names, which containerd never reads and the next start clears.
	new_dir="$DR_CERTS_DIR/.distribution-registry-new.$DR_REGISTRY"
	old_dir="$DR_CERTS_DIR/.distribution-registry-old.$DR_REGISTRY"
	work="$DR_STATE_DIR/work"
	mkdir -p "$work" || fail "cannot make $work"
}

# --- the lock ------------------------------------------------------------------------------------------------------

lock_wait_seconds=30
removing=no
# An edit takes milliseconds: a lock this old was left by a pod that is gone.
stale_seconds=60

take_lock() {
	waited=0
	rm -rf "$lock.stale.$POD_UID"
	until mkdir "$lock" 2>/dev/null; do
		if [ ! -d "$DR_CERTS_DIR" ] || [ ! -w "$DR_CERTS_DIR" ]; then
			problem "cannot make the lock $DR_NODE_CERTS_DIR/.distribution-registry.lock (is $DR_NODE_CERTS_DIR there, and writable?): nothing changed this time"
			return 1
		fi
		holder="$(cat "$lock/holder" 2>/dev/null)" || holder=
		since="$(stat -c %Y "$lock" 2>/dev/null)" || since=
		# This pod's own lock (a container of it was killed holding it), or a stale one: exactly one taker wins the
		# rename and removes it, then takes the lock as anyone would.
		if [ -n "$since" ] && { [ "$holder" = "$POD_UID" ] || [ $(($(date +%s) - since)) -ge "$stale_seconds" ]; }; then
			if mv -T "$lock" "$lock.stale.$POD_UID" 2>/dev/null; then
				rm -rf "$lock.stale.$POD_UID"
				log "took over the lock $DR_NODE_CERTS_DIR/.distribution-registry.lock left by ${holder:-a pod that named none}"
				continue
			fi
		fi
		# A pod told to stop while it waits to write gives that up: its grace period is for taking things away.
		if [ -n "${stopping:-}" ] && [ "$removing" = no ]; then
			return 1
		fi
		if [ "$waited" -ge "$lock_wait_seconds" ]; then
			problem "the lock $DR_NODE_CERTS_DIR/.distribution-registry.lock is held by pod ${holder:-(unnamed)} since $waited s: nothing changed this time"
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	printf '%s\n' "$POD_UID" >"$lock/holder"
}

release_lock() {
	if [ "$(cat "$lock/holder" 2>/dev/null)" = "$POD_UID" ]; then
		rm -rf "$lock"
	fi
}

# --- the hosts file ------------------------------------------------------------------------------------------------

size_of() {
	size=$(wc -c <"$1") || return 1
	echo $((size))
}

# An empty file counts as one that ends with a newline: a line appended to it needs none before it.
ends_with_newline() { [ ! -s "$1" ] || [ -z "$(tail -c 1 "$1")" ]; }

# The hosts file with our line added (or put in place of an older one of ours) or removed, every other byte kept. A
# line added to a file with no final newline goes after a newline and gets none, so removing it gives the file back.
edited_hosts() {
	if ends_with_newline "$2"; then ends=1; else ends=0; fi
	DR_MODE="$1" DR_MARKER="$marker" DR_LINE="$line" DR_ENDS="$ends" awk '
		function ours(l, m) { sub(/\r$/, "", l); return length(l) >= length(m) && substr(l, length(l) - length(m) + 1) == m }
		BEGIN { m = ENVIRON["DR_MARKER"]; add = ENVIRON["DR_MODE"] == "add"; n = 0; placed = 0 }
		{
			if (!ours($0, m)) { out[++n] = $0 }
			else if (add && !placed) { out[++n] = ENVIRON["DR_LINE"]; placed = 1 }
		}
		END {
			ends = ENVIRON["DR_ENDS"] == "1"
			for (i = 1; i <= n; i++) printf "%s%s", out[i], (i < n || ends ? "\n" : "")
			if (add && !placed) {
				if (n == 0 || ends) printf "%s\n", ENVIRON["DR_LINE"]; else printf "\n%s", ENVIRON["DR_LINE"]
			}
		}' "$2"
}

# The first line not ours that maps the hostname to another address ("<number>: <line>"): it would win over ours.
conflicting_line() {
	DR_MARKER="$marker" awk '
		function ours(l, m) { return length(l) >= length(m) && substr(l, length(l) - length(m) + 1) == m }
		BEGIN { m = ENVIRON["DR_MARKER"]; h = tolower(ENVIRON["DR_HOSTNAME"]); a = tolower(ENVIRON["DR_ADDRESS"]) }
		{
			l = $0
			sub(/\r$/, "", l)
			if (ours(l, m)) next
			shown = l
			sub(/#.*/, "", l)
			k = split(l, f)
			for (i = 2; i <= k; i++) if (tolower(f[i]) == h && tolower(f[1]) != a) { printf "%d (\"%s\")", NR, shown; exit }
		}' "$DR_HOSTS_FILE"
}

# The node replaced its hosts file (a rename over it) since this container started: this mount holds the old one.
hosts_replaced() { [ "$(stat -c %h "$DR_HOSTS_FILE")" = 0 ]; }

# Overwrites the hosts file from its first byte, then cuts it to length: it is never empty, and rename cannot
# replace a bind-mounted file.
rewrite_in_place() {
	cat "$1" 1<>"$DR_HOSTS_FILE" && truncate -s "$(size_of "$1")" "$DR_HOSTS_FILE" && sync "$DR_HOSTS_FILE"
}

# Writes the hosts file ($1: what it is to hold). The copy (before and after) is on disk before the first byte
# changes, and goes once the write is done.
write_hosts() {
	cmp -s "$1" "$DR_HOSTS_FILE" && return 0
	rm -rf "$journal.new"
	if ! {
		mkdir "$journal.new" &&
			cat "$DR_HOSTS_FILE" >"$journal.new/before" &&
			cat "$1" >"$journal.new/after" &&
			sync "$journal.new/before" "$journal.new/after" &&
			mv -T "$journal.new" "$journal" &&
			sync "$DR_CERTS_DIR"
	}; then
		rm -rf "$journal.new"
		problem "could not keep a copy of $DR_NODE_HOSTS_FILE in $DR_NODE_CERTS_DIR before writing it: it was not changed"
		return 1
	fi
	if ! rewrite_in_place "$journal/after"; then
		problem "could not write $DR_NODE_HOSTS_FILE; the next start finishes the write from its copy in $DR_NODE_CERTS_DIR/.distribution-registry-hosts.journal"
		return 1
	fi
	rm -rf "$journal"
}

# How many first bytes two files share: cmp names the first byte that differs ("differ: char N" in busybox, "byte N"
# in GNU), or says on stderr that one file ended first (then the shorter one is the other's start).
common_prefix() {
	if differ="$(cmp "$1" "$2" 2>/dev/null)"; then
		size_of "$1"
		return
	fi
	case "$differ" in
	*" differ: "*)
		n="$(printf '%s\n' "$differ" | sed -n 's/.* differ: [a-z]* \([0-9][0-9]*\),.*/\1/p')"
		[ -n "$n" ] || return 1
		echo $((n - 1))
		;;
	*)
		a=$(size_of "$1")
		b=$(size_of "$2")
		if [ "$a" -le "$b" ]; then echo "$a"; else echo "$b"; fi
		;;
	esac
}

# Whether $3 is what an in-place write of $2 over $1 leaves when cut short: some first bytes of $2, then the rest
# of $1 (or, past $1's end, just the first bytes of $2).
cut_short() {
	cmp -s "$1" "$3" && return 0
	before=$(size_of "$1")
	after=$(size_of "$2")
	current=$(size_of "$3")
	shared=$(common_prefix "$2" "$3") || return 1
	if [ "$shared" -eq "$current" ] && [ "$current" -ge "$before" ] && [ "$current" -le "$after" ]; then
		return 0
	fi
	[ "$current" -eq "$before" ] || return 1
	tail -c +"$((shared + 1))" "$3" >"$work/tail.current"
	tail -c +"$((shared + 1))" "$1" >"$work/tail.before"
	cmp -s "$work/tail.current" "$work/tail.before"
}

# A write of the hosts file that a crash cut short is finished from its copy; a copy whose write never began goes.
recover_hosts() {
	rm -rf "$journal.new"
	[ -d "$journal" ] || return 0
	if cmp -s "$DR_HOSTS_FILE" "$journal/after"; then
		:
	elif cut_short "$journal/before" "$journal/after" "$DR_HOSTS_FILE"; then
		if ! rewrite_in_place "$journal/after"; then
			problem "could not finish a write of $DR_NODE_HOSTS_FILE cut short by a crash (its copy: $DR_NODE_CERTS_DIR/.distribution-registry-hosts.journal)"
			return 1
		fi
		log "finished a write of $DR_NODE_HOSTS_FILE that a crash cut short, from its copy"
	else
		log "$DR_NODE_HOSTS_FILE changed after a write of ours was cut short by a crash: left as it is now"
	fi
	rm -rf "$journal"
}

apply_hosts() {
	conflict="$(conflicting_line)"
	if [ -n "$conflict" ]; then
		problem "$DR_NODE_HOSTS_FILE line $conflict maps $DR_HOSTNAME to another address than $DR_ADDRESS: left alone, and no line of ours added (it would lose). Remove that line, or make it $DR_ADDRESS"
		return 1
	fi
	edited_hosts add "$DR_HOSTS_FILE" >"$work/hosts" || {
		problem "could not read $DR_NODE_HOSTS_FILE"
		return 1
	}
	if ! cmp -s "$work/hosts" "$DR_HOSTS_FILE"; then
		write_hosts "$work/hosts" && log "$DR_NODE_HOSTS_FILE: $line"
	fi
}

remove_hosts() {
	if hosts_replaced; then
		problem "cannot take our line out of $DR_NODE_HOSTS_FILE: the node replaced that file since this container started. Remove the line ending with \"$marker\" by hand"
		return 1
	fi
	edited_hosts remove "$DR_HOSTS_FILE" >"$work/hosts" || {
		problem "could not read $DR_NODE_HOSTS_FILE"
		return 1
	}
	if ! cmp -s "$work/hosts" "$DR_HOSTS_FILE"; then
		write_hosts "$work/hosts" && log "$DR_NODE_HOSTS_FILE: our line removed"
	fi
}

# --- containerd's host directory -----------------------------------------------------------------------------------

is_ours() { [ ! -L "$1" ] && [ -f "$1/hosts.toml" ] && [ "$(head -n 1 "$1/hosts.toml")" = "$marker" ]; }

# Whether a directory holds nothing but the files this script writes there.
holds_only_ours() {
	[ -z "$(ls -A "$1" | grep -v -x -e hosts.toml -e ca.crt -e .hosts.toml.distribution-registry -e .ca.crt.distribution-registry)" ]
}

remove_our_files() {
	rm -f "$1/hosts.toml" "$1/ca.crt" "$1/.hosts.toml.distribution-registry" "$1/.ca.crt.distribution-registry"
}

# A directory a crash left under one of our hidden names: removed when it holds only what we write.
clear_leftover() {
	[ -d "$1" ] || return 0
	if holds_only_ours "$1"; then
		remove_our_files "$1" && rmdir "$1"
	else
		log "left $1 alone: it holds files this script does not write"
	fi
}

render_host_files() {
	rm -rf "$work/host" && mkdir "$work/host" || return 1
	{
		printf '%s\n' "$marker"
		printf '# Written by the node-trust DaemonSet of that stack; removed with it.\n'
		printf 'server = "https://%s"\n\n' "$DR_REGISTRY"
		printf '[host."https://%s"]\n' "$DR_REGISTRY"
		printf '  capabilities = ["pull", "resolve"]\n'
		case "$DR_TLS" in
		ca) printf '  ca = "ca.crt"\n' ;;
		skipVerify) printf '  skip_verify = true\n' ;;
		esac
	} >"$work/host/hosts.toml" || return 1
	[ "$DR_TLS" != ca ] || cp "$DR_CA_FILE" "$work/host/ca.crt"
}

# One file of our host directory, replaced by a rename: containerd never reads half of it.
replace_host_file() {
	cmp -s "$work/host/$1" "$host_dir/$1" && return 0
	if cp "$work/host/$1" "$host_dir/.$1.distribution-registry" && mv -f "$host_dir/.$1.distribution-registry" "$host_dir/$1"; then
		log "updated $node_host_dir/$1"
	else
		problem "could not update $node_host_dir/$1"
		return 1
	fi
}

apply_certs() {
	render_host_files || {
		problem "could not render hosts.toml in $work"
		return 1
	}
	if [ ! -e "$host_dir" ] && [ ! -L "$host_dir" ]; then
		if mkdir "$new_dir" && cp "$work/host/"* "$new_dir/" && sync "$new_dir/"* "$new_dir" && mv -T "$new_dir" "$host_dir"; then
			log "wrote $node_host_dir ($(ls "$host_dir" | tr '\n' ' '| sed 's/ $//'))"
		else
			clear_leftover "$new_dir"
			problem "could not write $node_host_dir"
			return 1
		fi
	elif is_ours "$host_dir"; then
		# The CA before the hosts.toml that names it; the hosts.toml that no longer names it before the CA goes.
		if [ "$DR_TLS" = ca ]; then
			replace_host_file ca.crt || return 1
		fi
		replace_host_file hosts.toml || return 1
		if [ "$DR_TLS" != ca ] && [ -e "$host_dir/ca.crt" ]; then
			rm -f "$host_dir/ca.crt" && log "removed $node_host_dir/ca.crt"
		fi
	else
		problem "$node_host_dir was not written by this stack (its hosts.toml does not begin with \"$marker\"): left alone, and containerd follows it for $DR_REGISTRY. Remove it (on k3s, with the registries.yaml entry that writes it), or turn nodeTrust off"
		return 1
	fi
}

remove_certs() {
	if [ ! -e "$host_dir" ] || ! is_ours "$host_dir"; then
		return 0
	fi
	if ! holds_only_ours "$host_dir"; then
		remove_our_files "$host_dir"
		problem "removed our files from $node_host_dir but kept the directory: it holds files this script did not write"
		return 1
	fi
	# Renamed away first: containerd stops using it at once, and a crash leaves a name the next start clears.
	if mv -T "$host_dir" "$old_dir"; then
		clear_leftover "$old_dir"
		log "removed $node_host_dir"
	else
		problem "could not remove $node_host_dir"
		return 1
	fi
}

# --- the actions ---------------------------------------------------------------------------------------------------

recover() {
	recover_hosts
	clear_leftover "$new_dir"
	clear_leftover "$old_dir"
}

report() {
	if [ -z "$problems" ]; then
		set_status ready
	else
		set_status "$(printf '%s' "$problems")"
	fi
}

apply_all() {
	problems=
	if take_lock; then
		recover
		apply_certs
		if hosts_replaced; then
			problem "$DR_NODE_HOSTS_FILE was replaced on the node since this container started: restart the pod"
		else
			apply_hosts
		fi
		release_lock
	fi
	report
	[ -z "$problems" ]
}

remove_all() {
	problems=
	removing=yes
	if take_lock; then
		recover
		remove_certs
		remove_hosts
		release_lock
	fi
	report
	[ -z "$problems" ]
}

run_pod() {
	stopping=
	sleeper=
	trap 'stopping=yes' TERM INT
	log "starting: $DR_REGISTRY at $DR_ADDRESS, TLS $DR_TLS, in $DR_NODE_CERTS_DIR and $DR_NODE_HOSTS_FILE"
	while [ -z "$stopping" ]; do
		if hosts_replaced; then
			# Only a new container mounts the file the node has now.
			log "$DR_NODE_HOSTS_FILE was replaced on the node since this container started: exiting, to be restarted on it"
			exit 3
		fi
		apply_all
		[ -z "$stopping" ] || break
		sleep "$DR_CHECK_SECONDS" &
		sleeper=$!
		# A TERM ends the wait at once.
		wait "$sleeper"
	done
	[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null
	log "stopping: removing what this stack wrote on the node"
	if remove_all; then
		log "stopped: the node is as it was"
		exit 0
	fi
	exit 1
}

action="${1:-}"
if [ "$action" = ready ]; then
	status="$(cat "${DR_STATE_DIR:-/tmp}/status" 2>/dev/null)" || status="starting: no check has finished yet"
	printf '%s\n' "$status"
	[ "$status" = ready ]
	exit
fi
check_inputs
case "$action" in
run) run_pod ;;
apply) apply_all ;;
remove) remove_all ;;
*) fail "unknown action \"$action\": use run, apply, remove or ready" ;;
esac
