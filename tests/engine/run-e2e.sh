#!/usr/bin/env bash
# npm run test:e2e: installs the Debian packages of the real node, builds the engine's tools and the node's images
# when they are not cached yet (tests/engine/build-tools.sh and images/build-images.sh; slow the first time),
# then runs the end-to-end tests.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

"$here/install-packages.sh"
"$here/build-tools.sh"
"$here/images/build-images.sh"
exec npx jest -c jest.e2e.config.js "$@"
