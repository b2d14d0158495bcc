#!/usr/bin/env bash
# Installs, where they are missing, the Debian packages the real node and the real parts beside it need: the node
# (containerd, runc, CNI plugins, iptables), the Docker engine the program pushes with, the images' contents
# (busybox-static, docker-registry, redis-server for the scale-out e2e's Redis) and the tools the tests and the demo
# run (skopeo, htpasswd, openssl, curl).
# Used by run-e2e.sh and demo.ts. Needs root when something is missing.
set -euo pipefail
packages=(docker-registry skopeo apache2-utils openssl curl util-linux containerd runc containernetworking-plugins
	iptables iproute2 conntrack docker.io busybox-static file socat redis-server)
missing=()
for p in "${packages[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "install-packages: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
	echo "install-packages: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
