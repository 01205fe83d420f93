#!/usr/bin/env bash
# The main job: berthd with its embedded defaults (scratch root/state/socket, no config file),
# an image made locally from /usr/bin/busybox (no registry, no network), and a container run
# from it with the stock ctr.  Usage: demo.sh BIN_DIR
set -euo pipefail
BIN=$(cd "${1:?usage: demo.sh BIN_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
SOCK=$WORK/berth.sock
# berthd finds containerd-shim-berth-v2 beside itself; ctr's default runtime is runc's shim.
export PATH="$BIN:$PATH"
"$BIN/berthd" --root "$WORK/root" --state "$WORK/state" --address "$SOCK" >"$WORK/berthd.log" 2>&1 &
PID=$!
cleanup() {
    ctr -a "$SOCK" tasks kill -s SIGKILL demo >/dev/null 2>&1 || true
    kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do ctr -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
IMAGE=$("$HERE/make-busybox-image.sh" "$WORK/busybox.tar")
set -x
ctr -a "$SOCK" version
ctr -a "$SOCK" plugins ls
ctr -a "$SOCK" images import "$WORK/busybox.tar"
ctr -a "$SOCK" images ls
ctr -a "$SOCK" run --rm --runtime io.containerd.berth.v2 "$IMAGE" demo sh -c 'echo "hello from a Berth container: $(uname -n), pid $$"'
