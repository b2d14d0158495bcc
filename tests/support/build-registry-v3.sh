#!/usr/bin/env bash
# Builds Distribution's registry 3.x from the Go module proxy (Debian packages only 2.8), so that the
# integration tests run the rendered config against both major versions. Idempotent; prints the binary's path.
# Usage: tests/support/build-registry-v3.sh   (DR_REGISTRY_V3_DIR overrides the cache directory)
set -euo pipefail
version=v3.1.2
dir="${DR_REGISTRY_V3_DIR:-$HOME/.cache/distribution-registry-v3}"
if [ -x "$dir/registry" ] && [ "$(cat "$dir/version" 2>/dev/null)" = "$version" ]; then
  echo "$dir/registry"
  exit 0
fi
command -v go >/dev/null || { echo "build-registry-v3: go is not installed" >&2; exit 1; }
mkdir -p "$dir"
start=$(date +%s)
GOBIN="$dir" GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" "github.com/distribution/distribution/v3/cmd/registry@$version" >&2
echo "$version" > "$dir/version"
echo "build-registry-v3: built registry $version in $(( $(date +%s) - start )) s" >&2
echo "$dir/registry"
