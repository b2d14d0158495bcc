#!/usr/bin/env bash
# npm run test:e2e: installs the Debian packages of the real node, builds the engine's tools and the node's images
# when they are not cached yet (tests/engine/build-tools.sh and images/build-images.sh; slow the first time),
# then runs the end-to-end tests.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

# One real-node run at a time on a machine: the cluster's ports, addresses, bridge and iptables chains are fixed.
exec 8>/tmp/distribution-registry-real-node.lock
if ! flock -n 8; then
	echo "run-e2e: another real-node run holds /tmp/distribution-registry-real-node.lock; waiting for it"
	flock 8
fi

"$here/install-packages.sh"
"$here/build-tools.sh"
"$here/images/build-images.sh"
exec npx jest -c jest.e2e.config.js "$@"
