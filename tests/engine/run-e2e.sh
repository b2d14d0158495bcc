#!/usr/bin/env bash
# npm run test:e2e: installs the Debian packages of the real node, builds the engine's tools and the node's images
# when they are not cached yet (tests/engine/build-tools.sh and images/build-images.sh; slow the first time),
# then runs the end-to-end tests.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

# The node (containerd, runc, CNI plugins, iptables), the Docker engine the program pushes with, the images'
# contents (busybox-static, docker-registry) and the real parts the test runs beside the engine.
packages=(docker-registry skopeo apache2-utils openssl curl util-linux containerd runc containernetworking-plugins
  iptables iproute2 conntrack docker.io busybox-static file)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/build-tools.sh"
"$here/images/build-images.sh"
exec npx jest -c jest.e2e.config.js "$@"
