#!/usr/bin/env bash
# Builds an OCI image archive from the host's /usr/bin/busybox (static), without a registry or
# any image tool: a layer tar, an image config, a manifest and an index, hashed with sha256sum.
# Usage: make-busybox-image.sh OUT.tar [NAME]   (NAME default: berth.local/busybox:latest)
#   ENTRYPOINT='["/bin/sleep","1"]' sets the image's entrypoint (default: none, Cmd /bin/sh).
# Import it with: ctr images import OUT.tar
set -euo pipefail
OUT=${1:?usage: make-busybox-image.sh OUT.tar [NAME]}
NAME=${2:-berth.local/busybox:latest}
BUSYBOX=${BUSYBOX:-/usr/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "need a static busybox at $BUSYBOX (apt-get install busybox-static)" >&2; exit 1; }
W=$(mktemp -d /tmp/berth-img.XXXXXX)
trap 'rm -rf "$W"' EXIT
case $(uname -m) in x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; *) ARCH=$(uname -m) ;; esac

R=$W/rootfs
mkdir -p "$R"/{bin,etc,tmp,proc,sys,dev,root,run}
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
chmod 1777 "$R/tmp"
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
if [ -n "${ENTRYPOINT:-}" ]; then RUN="\"Entrypoint\":$ENTRYPOINT"; else RUN='"Cmd":["/bin/sh"]'; fi
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"berth make-busybox-image.sh"}]}' \
    "$ARCH" "$RUN" "$DIFF_ID" >"$W/config.json"
read -r CONFIG CONFIG_SIZE < <(blob "$W/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$CONFIG" "$CONFIG_SIZE" "$LAYER" "$LAYER_SIZE" >"$W/manifest.json"
read -r MANIFEST MANIFEST_SIZE < <(blob "$W/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
    "$MANIFEST" "$MANIFEST_SIZE" "$NAME" "${NAME##*:}" "$ARCH" >"$W/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$W/oci/oci-layout"
tar -C "$W/oci" -cf "$OUT" oci-layout index.json blobs
echo "$NAME"
