#!/usr/bin/env bash
# Builds, from what this machine has, the container images the real-node end-to-end test runs, so that no
# image is ever pulled from the internet. Each is a one-layer docker-archive tar (`docker save` format), which
# `ctr images import`, `docker load` and skopeo's `docker-archive:` all read. Names say what the image holds:
#
#   localhost/pause:dr-e2e                  the pod sandbox (images/pause, static Go, no cgo)
#   localhost/distribution/registry:<2.x>   Debian's /usr/bin/docker-registry (Distribution 2.8.2) + its libc
#   localhost/distribution/registry:<3.x>   registry 3.x from the Go module proxy (tests/support/build-registry-v3.sh)
#                                           Both carry busybox's sh, du, wget and nc, as the official images (Alpine)
#                                           do: the garbage-collection job and the node-trust DaemonSet script them.
#   localhost/kubectl:<version>             kubectl of the tools' Kubernetes build (+ its libc) with busybox's sh: the shell and
#                                           kubectl that registry.k8s.io/kubectl (Debian with dash) gives
#   localhost/busybox:<version>             Debian's busybox-static: local-path-provisioner's helper pods
#   localhost/e2e-hello:<version>           the same busybox with its own config: the image the e2e pushes and then
#                                           runs in the cluster. It must not be busybox's image ID: the kubelet ties
#                                           an image pulled with credentials to its ID, and would then pull (and fail)
#                                           for a helper pod that uses the preloaded busybox without them.
#   localhost/seaweedfs:<version>           SeaweedFS's weed (build-tools.sh seaweedfs) and its libc: the S3 server the
#                                           scale-out e2e runs in the cluster (weed mini)
#   localhost/redis:<version>               Debian's redis-server and its libraries: the Redis the replicas share
#
# The versions in the names are the ones the binaries report. Each image is <name>.tar in the output directory,
# and <name>.reference holds its reference (name registry-2, registry-3, pause, busybox, e2e-hello, kubectl,
# seaweedfs, redis).
# Usage: tests/engine/images/build-images.sh [--print-dir]      (DR_TOOLS_DIR as in build-tools.sh)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DR_TOOLS_DIR="${DR_TOOLS_DIR:-$HOME/.cache/distribution-registry-tools}"
out_dir="$DR_TOOLS_DIR/images"
if [[ "${1:-}" == "--print-dir" ]]; then
	echo "$out_dir"
	exit 0
fi

die() {
	echo "build-images: $*" >&2
	exit 1
}

# copy_with_libs BINARY ROOTFS TARGET: the binary at TARGET inside ROOTFS, with the shared libraries it loads.
copy_with_libs() {
	local binary="$1" rootfs="$2" target="$3" lib
	install -D -m 0755 "$binary" "$rootfs$target"
	for lib in $(ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' || true); do
		install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
	done
}

# make_image REFERENCE ROOTFS CONFIG_JSON OUT_TAR: a docker-archive with ROOTFS as its only layer.
# The layer is written reproducibly (sorted, mtime 0, uid/gid 0), so the same inputs give the same digest.
make_image() {
	local reference="$1" rootfs="$2" config="$3" out="$4" work layer_sha config_sha
	work="$(mktemp -d)"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
	layer_sha="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
	mkdir "$work/$layer_sha"
	mv "$work/layer.tar" "$work/$layer_sha/layer.tar"
	printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"tests/engine/images/build-images.sh"}]}' \
		"$config" "$layer_sha" >"$work/config.json"
	config_sha="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
	mv "$work/config.json" "$work/$config_sha.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config_sha" "$reference" "$layer_sha" >"$work/manifest.json"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" manifest.json "$config_sha.json" "$layer_sha"
	mv -f "$out.tmp" "$out"
	rm -rf "$work"
}

build() {
	local name="$1" reference="$2" config="$3" fill="$4" rootfs
	rootfs="$(mktemp -d)"
	"$fill" "$rootfs"
	make_image "$reference" "$rootfs" "$config" "$out_dir/$name.tar"
	echo "$reference" >"$out_dir/$name.reference"
	rm -rf "$rootfs"
	echo "build-images: $reference -> $out_dir/$name.tar ($(du -h "$out_dir/$name.tar" | cut -f1))"
}

fill_pause() { install -D -m 0755 "$pause_binary" "$1/pause"; }
# busybox_applets ROOTFS APPLET...: /bin/busybox and a link per applet.
busybox_applets() {
	local rootfs="$1" applet
	shift
	install -D -m 0755 /bin/busybox "$rootfs/bin/busybox"
	for applet in "$@"; do ln -s busybox "$rootfs/bin/$applet"; done
}
# The applets a script of the component may use in the registry's and kubectl's images (POSIX sh and its tools; the
# official images' busybox has them all). The node-trust script compares (cmp), rewrites in place (truncate) and
# removes only empty directories (rmdir); tests/integration/nodeTrust.test.ts runs it with these applets only.
script_applets=(sh cat echo sleep date du grep sed awk tr cut head tail wc sort test mkdir rm mv cp ls printf env
	wget nc base64 expr seq kill touch find stat sync true false mktemp xargs id timeout
	cmp truncate rmdir)
registry_dirs() { mkdir -p "$1/etc/docker/registry" "$1/etc/distribution" "$1/var/lib/registry" "$1/auth" "$1/tmp"; }
fill_registry_2() {
	copy_with_libs /usr/bin/docker-registry "$1" /bin/registry && registry_dirs "$1" && busybox_applets "$1" "${script_applets[@]}"
}
fill_registry_3() {
	copy_with_libs "$registry_3_binary" "$1" /bin/registry && registry_dirs "$1" && busybox_applets "$1" "${script_applets[@]}"
}
fill_kubectl() { copy_with_libs "$kubectl_binary" "$1" /bin/kubectl && busybox_applets "$1" "${script_applets[@]}" && mkdir -p "$1/tmp"; }
fill_busybox() {
	busybox_applets "$1" sh mkdir rm ls cat echo sleep rmdir
	mkdir -p "$1/tmp"
}
# The scale-out e2e's S3 server and Redis: the binaries with their libraries, and the directories their pods mount.
fill_seaweedfs() { copy_with_libs "$weed_binary" "$1" /bin/weed && mkdir -p "$1/data" "$1/tmp" "$1/etc/seaweedfs"; }
# Debian's redis-server is a link to redis-check-rdb, which acts by the name it is run as: it is copied as redis-server.
fill_redis() { copy_with_libs /usr/bin/redis-server "$1" /bin/redis-server && mkdir -p "$1/data" "$1/tmp" "$1/etc/redis"; }

command -v go >/dev/null || die "go is needed"
[[ -x /usr/bin/docker-registry ]] || die "/usr/bin/docker-registry is missing: apt-get install docker-registry"
[[ -x /bin/busybox && "$(file -L /bin/busybox)" == *"statically linked"* ]] ||
	die "/bin/busybox is missing or not static: apt-get install busybox-static"
mkdir -p "$out_dir"

pause_binary="$out_dir/pause-binary"
(cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$pause_binary" .)
registry_3_binary="$("$here/../../support/build-registry-v3.sh")"
kubectl_binary="$("$here/../build-tools.sh" --print-bin)/kubectl"
[[ -x "$kubectl_binary" ]] || die "$kubectl_binary is missing: run tests/engine/build-tools.sh kubernetes"
weed_binary="$("$here/../build-tools.sh" --print-bin)/weed"
[[ -x "$weed_binary" ]] || die "$weed_binary is missing: run tests/engine/build-tools.sh seaweedfs"
[[ -x /usr/bin/redis-server ]] || die "/usr/bin/redis-server is missing: apt-get install redis-server"
# "docker-registry github.com/docker/distribution 2.8.2+ds1", "registry github.com/distribution/distribution/v3 v3.1.2+unknown"
# sed reads all its input: a `| head` under pipefail fails the pipeline with SIGPIPE when the writer is not done.
version_of() { "$@" --version 2>&1 | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | sed -n 1p; }
registry_2_version="$(version_of /usr/bin/docker-registry)"
registry_3_version="$(version_of "$registry_3_binary")"
busybox_version="$(/bin/busybox 2>&1 | sed -n '1s/.* v\([0-9][0-9.]*\).*/\1/p')"
kubectl_version="$("$kubectl_binary" version --client 2>/dev/null | sed -n 's/^Client Version: v//p')"
# "version 30GB 4.53 7506e5f91cd6 linux amd64", "Redis server v=7.0.15 sha=..."
weed_version="$("$weed_binary" version 2>&1 | sed -n 's/^version [^ ]* \([0-9][0-9.]*\) .*/\1/p' | sed -n 1p)"
redis_version="$(/usr/bin/redis-server --version | sed -n 's/.* v=\([0-9][0-9.]*\) .*/\1/p')"
[[ -n "$registry_2_version" && -n "$registry_3_version" && -n "$busybox_version" && -n "$kubectl_version" &&
	-n "$weed_version" && -n "$redis_version" ]] ||
	die "cannot read the binaries' versions"

registry_config() {
	printf '{"Entrypoint":["/bin/registry","serve"],"Cmd":["%s"],"Env":["PATH=/bin","OTEL_TRACES_EXPORTER=none"],"ExposedPorts":{"5000/tcp":{}},"Volumes":{"/var/lib/registry":{}}}' "$1"
}
rm -f "$out_dir"/*.tar "$out_dir"/*.reference
build pause localhost/pause:dr-e2e '{"Entrypoint":["/pause"]}' fill_pause
build registry-2 "localhost/distribution/registry:$registry_2_version" "$(registry_config /etc/docker/registry/config.yml)" fill_registry_2
build registry-3 "localhost/distribution/registry:$registry_3_version" "$(registry_config /etc/distribution/config.yml)" fill_registry_3
build kubectl "localhost/kubectl:$kubectl_version" '{"Entrypoint":["/bin/kubectl"],"Env":["PATH=/bin"]}' fill_kubectl
build busybox "localhost/busybox:$busybox_version" '{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]}' fill_busybox
build seaweedfs "localhost/seaweedfs:$weed_version" '{"Entrypoint":["/bin/weed"],"Env":["PATH=/bin","HOME=/tmp","TMPDIR=/tmp"]}' fill_seaweedfs
build redis "localhost/redis:$redis_version" '{"Entrypoint":["/bin/redis-server"],"Env":["PATH=/bin"]}' fill_redis
build e2e-hello "localhost/e2e-hello:$busybox_version" \
	'{"Cmd":["/bin/sleep","3600"],"Env":["PATH=/bin"],"Labels":{"org.opencontainers.image.description":"distribution-registry e2e image"}}' fill_busybox
