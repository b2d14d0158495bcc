#!/usr/bin/env bash
# Compiles, from the Go module proxy, the test binary of Distribution's own S3 storage driver
# (github.com/distribution/distribution/v3/registry/storage/driver/s3-aws, the release build-registry-v3.sh builds),
# so that tests/integration/s3DriverSuite.test.ts can run upstream's driver tests against the S3 server the
# project tests on. The wrapper module tests/support/s3-driver-suite is copied to a scratch directory first, so the
# repository is never written to. Beside the binary, <binary>.cases lists the cases of the driver suite
# (testsuites.DriverSuite's Test methods, read from the module's source), so that each can run on its own.
# Idempotent (a stamp records version, wrapper and Go); prints the binary's path.
# Usage: tests/support/build-s3-driver-suite.sh   (DR_REGISTRY_V3_DIR overrides the cache directory)
set -euo pipefail
version=v3.1.2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wrapper="$here/s3-driver-suite"
dir="${DR_REGISTRY_V3_DIR:-$HOME/.cache/distribution-registry-v3}"
out="$dir/s3-driver-suite.test"
command -v go >/dev/null || {
	echo "build-s3-driver-suite: go is not installed" >&2
	exit 1
}
stamp="version=$version
go=$(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)
wrapper=$(cd "$wrapper" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
	LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ -x "$out" ] && [ -s "$out.cases" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi
grep -q "github.com/distribution/distribution/v3 $version\$" "$wrapper/go.mod" || {
	echo "build-s3-driver-suite: $wrapper/go.mod does not require distribution $version" >&2
	exit 1
}
mkdir -p "$dir"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/dr-s3-driver-suite.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
cp -R "$wrapper/." "$scratch"
chmod -R u+w "$scratch"
start=$(date +%s)
(cd "$scratch" && GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod" nice -n 5 go test -c -trimpath -ldflags "-s -w" \
	-o "$out.tmp" github.com/distribution/distribution/v3/registry/storage/driver/s3-aws) >&2
src="$(cd "$scratch" && go list -m -f '{{.Dir}}' github.com/distribution/distribution/v3)"
sed -n 's/^func (suite \*DriverSuite) \(Test[A-Za-z0-9_]*\)().*/\1/p' "$src/registry/storage/driver/testsuites/testsuites.go" \
	>"$out.cases.tmp"
[ -s "$out.cases.tmp" ] || {
	echo "build-s3-driver-suite: found no DriverSuite cases in $src" >&2
	exit 1
}
mv -f "$out.tmp" "$out"
mv -f "$out.cases.tmp" "$out.cases"
printf '%s\n' "$stamp" >"$out.stamp"
echo "build-s3-driver-suite: built the s3-aws driver tests of distribution $version in $(($(date +%s) - start)) s" >&2
echo "$out"
