#!/usr/bin/env bash
# Side-by-side benchmark: berthd and containerd 1.6 in scratch roots, driven by the shared
# peer harness (../shared/peers/bench-ctr.sh). Usage: bench/run.sh [bench-ctr.sh args...]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${BERTH_PEERS_DIR:-$SRC/../shared/peers}
[ -x "$PEERS/bench-ctr.sh" ] || { echo "bench: $PEERS/bench-ctr.sh not found" >&2; exit 2; }
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
"$SRC/build/bin/berthd" --root "$WORK/berth-root" --state "$WORK/berth-state" \
    --address "$WORK/berth.sock" >"$WORK/berthd.log" 2>&1 &
pids+=($!)
cat >"$WORK/containerd.toml" <<TOML
version = 2
root = "$WORK/ctd-root"
state = "$WORK/ctd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$WORK/containerd.sock"
[ttrpc]
  address = "$WORK/containerd.sock.ttrpc"
TOML
containerd --config "$WORK/containerd.toml" >"$WORK/containerd.log" 2>&1 &
pids+=($!)
for s in berth containerd; do
    for _ in $(seq 100); do ctr -a "$WORK/$s.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
done
for s in containerd berth; do
    echo "== $s"
    "$PEERS/bench-ctr.sh" --address "$WORK/$s.sock" "$@" || echo "bench against $s failed"
done
