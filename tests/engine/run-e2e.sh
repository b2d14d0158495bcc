#!/usr/bin/env bash
# npm run test:e2e: builds the engine's tools from Go modules when they are not cached yet
# (tests/engine/build-tools.sh; slow the first time), then runs the end-to-end test.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."

# etcd-server, curl and the real parts the test runs beside the engine.
packages=(docker-registry skopeo apache2-utils openssl curl util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/build-tools.sh"
exec npx jest -c jest.e2e.config.js "$@"
