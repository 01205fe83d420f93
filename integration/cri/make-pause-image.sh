#!/usr/bin/env bash
# Builds a pause-like OCI image archive (what containerd's sandbox_image is) from the host's
# static busybox, without a registry or image tool: /bin/busybox with a `sleep` link, entrypoint
# `sleep 2147483647` (the infra container only has to hold the pod's namespaces; as PID 1 it
# ignores SIGTERM and is stopped with SIGKILL, like the real pause under containerd).
# Usage: make-pause-image.sh OUT.tar [NAME]   (NAME default: berth.local/pause:3.9)
# Import it with `ctr images import OUT.tar`, or push it with
# `skopeo copy --dest-tls-verify=false oci-archive:OUT.tar docker://HOST/NAME`.
set -euo pipefail
OUT=${1:?usage: make-pause-image.sh OUT.tar [NAME]}
NAME=${2:-berth.local/pause:3.9}
BUSYBOX=${BUSYBOX:-/usr/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "need a static busybox at $BUSYBOX (apt-get install busybox-static)" >&2; exit 1; }
W=$(mktemp -d /tmp/berth-pause.XXXXXX)
trap 'rm -rf "$W"' EXIT
case $(uname -m) in x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; *) ARCH=$(uname -m) ;; esac

R=$W/rootfs
mkdir -p "$R"/{bin,etc,proc,sys,dev}
cp "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sleep"
ln -s busybox "$R/bin/sh"
printf 'root:x:0:0:root:/:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$R" -cf "$W/layer.tar" .
gzip -n -c "$W/layer.tar" >"$W/layer.tar.gz"

mkdir -p "$W/oci/blobs/sha256"
blob() { # FILE -> prints "digest size", stores the blob
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    cp "$1" "$W/oci/blobs/sha256/$d"
    echo "sha256:$d $s"
}
DIFF_ID=sha256:$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
read -r LAYER LAYER_SIZE < <(blob "$W/layer.tar.gz")
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Entrypoint":["/bin/sleep","2147483647"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"berth make-pause-image.sh"}]}' \
    "$ARCH" "$DIFF_ID" >"$W/config.json"
read -r CONFIG CONFIG_SIZE < <(blob "$W/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$CONFIG" "$CONFIG_SIZE" "$LAYER" "$LAYER_SIZE" >"$W/manifest.json"
read -r MANIFEST MANIFEST_SIZE < <(blob "$W/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
    "$MANIFEST" "$MANIFEST_SIZE" "$NAME" "${NAME##*:}" "$ARCH" >"$W/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$W/oci/oci-layout"
tar -C "$W/oci" -cf "$OUT" oci-layout index.json blobs
echo "$NAME"
