#!/usr/bin/env bash
# Builds OpenTofu's CLI from the Go module proxy (Debian packages neither OpenTofu nor Terraform), so that the
# Terraform-outputs test runs a real `tofu init/apply/output -json`. Idempotent; prints the binary's path.
# The wrapper module tests/support/tools/tofu copies OpenTofu's replace directive (`go install ...@v` refuses a
# module with one); it is copied to a scratch directory, so the repository is never written to.
# Cold: about 9 min of CPU (user + sys) and ~1.5 GB of module cache; measured in the note of issue 21.
# Usage: tests/support/build-tofu.sh   (DR_TOFU_DIR overrides the cache directory)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version=v1.12.6
dir="${DR_TOFU_DIR:-$HOME/.cache/distribution-registry-tofu}"
stamp="$version $(cat "$here/tools/tofu/go.mod" "$here/tools/tofu/go.sum" | sha256sum | cut -c1-16) $(go env GOVERSION 2>/dev/null || echo none)"
if [ -x "$dir/tofu" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$dir/tofu"
  exit 0
fi
command -v go >/dev/null || { echo "build-tofu: go is not installed" >&2; exit 1; }
mkdir -p "$dir"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp "$here/tools/tofu/go.mod" "$here/tools/tofu/go.sum" "$here/tools/tofu/tools.go" "$scratch/"
start=$(date +%s)
# dev=no: the version a release reports (v1.12.6, not v1.12.6-dev).
(cd "$scratch" && GOFLAGS=-mod=mod go build -trimpath \
  -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
  -o "$dir/tofu.tmp" github.com/opentofu/opentofu/cmd/tofu) >&2
mv "$dir/tofu.tmp" "$dir/tofu"
echo "$stamp" > "$dir/stamp"
echo "build-tofu: built tofu $version in $(( $(date +%s) - start )) s" >&2
echo "$dir/tofu"
