#!/usr/bin/env bash
# Builds a pause-like OCI image archive (what containerd's sandbox_image is) from the host's
# static busybox, without a registry or image tool: entrypoint `sleep 2147483647` (the infra
# container only has to hold the pod's namespaces; as PID 1 it ignores SIGTERM and is stopped
# with SIGKILL, like the real pause under containerd).
# Usage: make-pause-image.sh OUT.tar [NAME]   (NAME default: berth.local/pause:3.9)
# Import it with `ctr images import OUT.tar`, or push it with
# `skopeo copy --dest-tls-verify=false oci-archive:OUT.tar docker://HOST/NAME`.
set -euo pipefail
OUT=${1:?usage: make-pause-image.sh OUT.tar [NAME]}
ENTRYPOINT='["/bin/sleep","2147483647"]' \
    exec "$(dirname "$0")/../make-busybox-image.sh" "$OUT" "${2:-berth.local/pause:3.9}"
