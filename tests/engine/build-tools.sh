#!/usr/bin/env bash
# Builds, offline (only the Go module proxy is needed), the binaries that the
# end-to-end tests of this Pulumi program run against:
#
#   pulumi, pulumi-language-nodejs, -yaml             the Pulumi engine and its Node.js and YAML hosts
#   pulumi-resource-kubernetes, -random, -command     providers, found on $PATH
#   etcd, kubernetes (kube-apiserver,                 a local control plane and a real node
#     kube-controller-manager, kube-scheduler,        (containerd, runc and the CNI plugins
#     kubelet, kube-proxy, kubectl: one `go build`)   are Debian packages)
#   traefik, local-path-provisioner                   k3s's ingress controller and default
#                                                     StorageClass provisioner
#   seaweedfs (weed)                                  the S3 server that S3 storage is tested
#                                                     against (integration tests and the real node)
#
# Each tool is built from a small wrapper module under tests/engine/tools/
# (the upstream go.mod files use replace directives, so `go install mod@v`
# does not work). The wrapper is copied to a scratch directory first, so the
# repository is never written to. Binaries go to $DR_TOOLS_DIR/bin.
#
# Usage:
#   tests/engine/build-tools.sh [--force] [TOOL...]   build (all by default)
#   tests/engine/build-tools.sh --list                tools and versions
#   tests/engine/build-tools.sh --print-bin           print the bin directory
#   export PATH="$(tests/engine/build-tools.sh --print-bin):$PATH"
#
# Environment:
#   DR_TOOLS_DIR   cache root (default: ~/.cache/distribution-registry-tools)
#   GOMODCACHE, GOCACHE, GOPROXY are used as they are.
#
# A tool is skipped when its binaries exist and its stamp file records the same
# version, wrapper-module contents and Go version. Builds run one at a time;
# the five Kubernetes binaries are one `go build`, so they share compile work.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools_src="$here/tools"
DR_TOOLS_DIR="${DR_TOOLS_DIR:-$HOME/.cache/distribution-registry-tools}"
bin_dir="$DR_TOOLS_DIR/bin"
stamp_dir="$DR_TOOLS_DIR/stamps"
build_root="$DR_TOOLS_DIR/build"
log_dir="$DR_TOOLS_DIR/logs"

# ---------------------------------------------------------------- versions --
# Versions actually built. Where the proxy does not serve the version the npm
# packages ask for, the nearest served one is built and the binary reports
# the npm version (see tests/engine/tools/*/go.mod and the notes below).
PULUMI_VERSION=v3.274.1          # npm @pulumi/pulumi 3.276.0: pkg/sdk v3.276.0 zips are refused (403)
NODEJS_HOST_VERSION=3.274.1      # own host (tools/pulumi/cmd/pulumi-language-nodejs)
COMMAND_VERSION=1.2.1            # own local-only provider (tools/pulumi/cmd/pulumi-resource-command)
RANDOM_VERSION=4.21.2            # bridged terraform-provider-random @ e1092b0cfc07 (2026-08-24)
KUBERNETES_PROVIDER_VERSION=4.34.2   # pulumi-kubernetes provider @ f47bc2d6f199 (2026-01-15), only one served
KUBE_VERSION=v1.37.2             # k8s.io/kubernetes; staging modules at v0.37.2
ETCD_VERSION=v3.7.3              # go.etcd.io/etcd/server/v3
TRAEFIK_VERSION=v3.6.12          # github.com/traefik/traefik/v3; v3.7.x does not build from the proxy
LOCAL_PATH_VERSION=v0.0.30       # github.com/rancher/local-path-provisioner
YAML_HOST_VERSION=v1.25.0        # github.com/pulumi/pulumi-yaml (builds against the pkg/sdk v3.206.0 it asks for)
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6   # github.com/seaweedfs/seaweedfs (weed 4.53), the proxy's only version

ALL_TOOLS=(etcd kubernetes traefik local-path-provisioner
	pulumi pulumi-language-nodejs pulumi-language-yaml pulumi-resource-command
	pulumi-resource-random pulumi-resource-kubernetes seaweedfs)
KUBERNETES_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

tool_version() {
	case "$1" in
	etcd) echo "$ETCD_VERSION" ;;
	kubernetes) echo "$KUBE_VERSION" ;;
	traefik) echo "$TRAEFIK_VERSION" ;;
	local-path-provisioner) echo "$LOCAL_PATH_VERSION" ;;
	pulumi-language-yaml) echo "$YAML_HOST_VERSION" ;;
	pulumi) echo "$PULUMI_VERSION" ;;
	pulumi-language-nodejs) echo "$NODEJS_HOST_VERSION" ;;
	pulumi-resource-command) echo "$COMMAND_VERSION" ;;
	pulumi-resource-random) echo "$RANDOM_VERSION" ;;
	pulumi-resource-kubernetes) echo "$KUBERNETES_PROVIDER_VERSION" ;;
	seaweedfs) echo "$SEAWEEDFS_VERSION" ;;
	*) return 1 ;;
	esac
}

# The binaries a tool's build leaves in $bin_dir.
tool_binaries() {
	case "$1" in
	kubernetes) echo "${KUBERNETES_BINARIES[@]}" ;;
	seaweedfs) echo weed ;;
	*) echo "$1" ;;
	esac
}

tool_module() {
	case "$1" in
	etcd) echo etcd ;;
	kubernetes | traefik | local-path-provisioner | pulumi-language-yaml | seaweedfs) echo "$1" ;;
	pulumi | pulumi-language-nodejs | pulumi-resource-command) echo pulumi ;;
	pulumi-resource-random) echo pulumi-resource-random ;;
	pulumi-resource-kubernetes) echo pulumi-resource-kubernetes ;;
	*) return 1 ;;
	esac
}

# ------------------------------------------------------------------ helpers --
die() {
	echo "build-tools: $*" >&2
	exit 1
}

# Copies a wrapper module to a fresh scratch directory and prints its path.
scratch() {
	local mod="$1" dst="$build_root/$1"
	rm -rf "$dst"
	mkdir -p "$build_root"
	cp -R "$tools_src/$mod" "$dst"
	chmod -R u+w "$dst"
	echo "$dst"
}

# go build with the common flags; $1 = output file, $2 = extra -ldflags,
# remaining = go build arguments (package path).
gobuild() {
	local out="$1" ldextra="$2"
	shift 2
	nice -n 5 go build -trimpath -ldflags "-s -w $ldextra" -o "$out" "$@"
}

kube_ldflags() {
	local v="$KUBE_VERSION" major minor flags="" pkg
	major="${v#v}"
	major="${major%%.*}"
	minor="${v#v*.}"
	minor="${minor%%.*}"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	echo "$flags"
}

# build_<tool> DIR OUT: builds the tool from the scratch module DIR into the
# directory OUT (one file per name that tool_binaries lists).
# They run where `set -e` does not apply, so every step is checked explicitly.
build_etcd() { cd "$1" && gobuild "$2/etcd" "" go.etcd.io/etcd/server/v3; }
build_kubernetes() {
	local b pkgs=()
	for b in "${KUBERNETES_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
	# One build of several main packages writes each binary into the -o directory.
	cd "$1" && gobuild "$2/" "$(kube_ldflags)" "${pkgs[@]}"
}
build_traefik() {
	cd "$1" && gobuild "$2/traefik" "-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
		github.com/traefik/traefik/v3/cmd/traefik
}
build_pulumi-language-yaml() {
	cd "$1" && gobuild "$2/pulumi-language-yaml" "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=$YAML_HOST_VERSION" \
		github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}
build_local-path-provisioner() { cd "$1" && gobuild "$2/local-path-provisioner" "" github.com/rancher/local-path-provisioner; }
build_seaweedfs() {
	cd "$1" && gobuild "$2/weed" "-X github.com/seaweedfs/seaweedfs/weed/util/version.COMMIT=${SEAWEEDFS_VERSION##*-}" \
		github.com/seaweedfs/seaweedfs/weed
}
build_pulumi() {
	cd "$1" && gobuild "$2/pulumi" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
		github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}
build_pulumi-language-nodejs() {
	cd "$1" && gobuild "$2/pulumi-language-nodejs" "-X main.version=$NODEJS_HOST_VERSION" ./cmd/pulumi-language-nodejs
}
build_pulumi-resource-command() {
	cd "$1" && gobuild "$2/pulumi-resource-command" "-X main.version=$COMMAND_VERSION" ./cmd/pulumi-resource-command
}
build_pulumi-resource-random() {
	local dir="$1" out="$2" vflag
	vflag="-X github.com/terraform-providers/terraform-provider-random/pulumiwrapper/info.Version=$RANDOM_VERSION"
	cd "$dir" || return 1
	echo "+ building pulumi-tfgen-random"
	gobuild "$dir/pulumi-tfgen-random" "$vflag" ./cmd/pulumi-tfgen-random || return 1
	echo "+ generating schema.json and bridge-metadata.json"
	"$dir/pulumi-tfgen-random" schema --out "$dir/cmd/pulumi-resource-random" --skip-docs --skip-examples ||
		return 1
	test -s cmd/pulumi-resource-random/schema.json && test -s cmd/pulumi-resource-random/bridge-metadata.json ||
		return 1
	echo "+ building pulumi-resource-random"
	gobuild "$out/pulumi-resource-random" "$vflag" ./cmd/pulumi-resource-random
}
build_pulumi-resource-kubernetes() {
	cd "$1" || return 1
	echo "+ generating schema-embed.json and terraform-mapping-embed.json"
	go run ./gen -version "$KUBERNETES_PROVIDER_VERSION" -out . || return 1
	echo "+ building pulumi-resource-kubernetes"
	gobuild "$2/pulumi-resource-kubernetes" "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION" .
}

# The stamp records everything that changes the binary.
stamp_of() {
	local tool="$1" mod
	mod="$(tool_module "$tool")"
	{
		echo "tool=$tool"
		echo "version=$(tool_version "$tool")"
		echo "go=$(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"
		echo "wrapper=$(cd "$tools_src/$mod" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
	}
}

fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

summary=()
build_one() {
	local tool="$1" version mod stamp_file want dir log start end rc=0 b out present=1
	version="$(tool_version "$tool")"
	mod="$(tool_module "$tool")"
	stamp_file="$stamp_dir/$tool.stamp"
	want="$(stamp_of "$tool")"
	start=$(date +%s)
	for b in $(tool_binaries "$tool"); do
		[[ -x "$bin_dir/$b" ]] || present=0
	done
	if [[ $force -eq 0 && $present -eq 1 && -f "$stamp_file" ]] && [[ "$(cat "$stamp_file")" == "$want" ]]; then
		end=$(date +%s)
		echo "[$tool] $version: up to date, skipped ($(fmt_secs $((end - start))))"
		summary+=("$(printf '%-28s %-10s %-8s %s' "$tool" "$version" skipped "$(fmt_secs $((end - start)))")")
		return 0
	fi
	echo "[$tool] $version: building (module tests/engine/tools/$mod, log $log_dir/$tool.log)"
	log="$log_dir/$tool.log"
	dir="$(scratch "$mod")"
	out="$bin_dir/.$tool.tmp"
	rm -rf "$out" && mkdir -p "$out"
	("build_$tool" "$dir" "$out") >"$log" 2>&1 || rc=$?
	end=$(date +%s)
	for b in $(tool_binaries "$tool"); do
		if [[ $rc -eq 0 && ! -s "$out/$b" ]]; then
			echo "build-tools: $tool's build left no $b" >>"$log"
			rc=1
		fi
	done
	if [[ $rc -ne 0 ]]; then
		rm -rf "$out"
		echo "---- last lines of $log ----" >&2
		tail -n 40 "$log" >&2 || true
		echo "----" >&2
		die "FAILED to build $tool $version (exit $rc after $(fmt_secs $((end - start)))); full log: $log"
	fi
	for b in $(tool_binaries "$tool"); do
		mv -f "$out/$b" "$bin_dir/$b"
	done
	rm -rf "$out"
	printf '%s\n' "$want" >"$stamp_file"
	rm -rf "$dir"
	echo "[$tool] $version: built $(tool_binaries "$tool") in $(fmt_secs $((end - start)))"
	summary+=("$(printf '%-28s %-10s %-8s %s' "$tool" "$version" built "$(fmt_secs $((end - start)))")")
}

# -------------------------------------------------------------------- main --
force=0
selected=()
for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	--print-bin)
		echo "$bin_dir"
		exit 0
		;;
	--list)
		for t in "${ALL_TOOLS[@]}"; do printf '%-28s %s\n' "$t" "$(tool_version "$t")"; done
		exit 0
		;;
	-h | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) die "unknown option $arg (try --help)" ;;
	*)
		tool_version "$arg" >/dev/null || die "unknown tool '$arg'; known: ${ALL_TOOLS[*]}"
		selected+=("$arg")
		;;
	esac
done
[[ ${#selected[@]} -gt 0 ]] || selected=("${ALL_TOOLS[@]}")

command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is needed)"
gov="$(go env GOVERSION)"
case "$gov" in
go1.2[6-9]* | go1.[3-9][0-9]*) ;;
*) die "Go >= 1.26 is needed, found $gov" ;;
esac
# Wrapper go.sum files are complete; -mod=mod only lets the scratch copy add
# what a different Go version may want.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"

mkdir -p "$bin_dir" "$stamp_dir" "$build_root" "$log_dir"
# One run at a time per DR_TOOLS_DIR (runs share the scratch directories).
exec 9>"$DR_TOOLS_DIR/.lock"
if ! flock -n 9; then
	echo "build-tools: another run holds $DR_TOOLS_DIR/.lock; waiting for it"
	flock 9
fi
echo "build-tools: $gov, DR_TOOLS_DIR=$DR_TOOLS_DIR, GOMODCACHE=$(go env GOMODCACHE), GOCACHE=$(go env GOCACHE)"
total_start=$(date +%s)
for t in "${selected[@]}"; do
	build_one "$t"
done
total_end=$(date +%s)

{
	echo "# written by tests/engine/build-tools.sh"
	for t in "${ALL_TOOLS[@]}"; do
		if [[ -f "$stamp_dir/$t.stamp" ]]; then printf '%s %s\n' "$t" "$(tool_version "$t")"; fi
	done
} >"$DR_TOOLS_DIR/versions.txt"

echo
echo "build-tools: summary (bin: $bin_dir)"
printf '%-28s %-10s %-8s %s\n' TOOL VERSION ACTION TIME
printf '%s\n' "${summary[@]}"
echo "build-tools: total $(fmt_secs $((total_end - total_start)))"
