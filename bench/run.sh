#!/usr/bin/env bash
# Side-by-side benchmark: berthd and containerd 1.6 in scratch roots, driven by the shared
# peer harness (../shared/peers/bench-ctr.sh), then one table of Berth/containerd ratios.
# containerd runs containers through runc's shim; Berth through its own shim unless
# BERTH_RUNTIME says otherwise. Usage: bench/run.sh [bench-ctr.sh args...]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${BERTH_PEERS_DIR:-$SRC/../shared/peers}
[ -x "$PEERS/bench-ctr.sh" ] || { echo "bench: $PEERS/bench-ctr.sh not found" >&2; exit 2; }
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
. "$SRC/bench/daemons.sh"
start_berthd "$WORK"
start_containerd "$WORK"
RESULTS=${BERTH_BENCH_RESULTS:-$SRC/bench/results}
mkdir -p "$RESULTS"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
declare -A runtime=([containerd]=io.containerd.runc.v2 [berth]=${BERTH_RUNTIME:-io.containerd.berth.v2})
for s in containerd berth; do
    echo "== $s (${runtime[$s]})" >&2
    "$PEERS/bench-ctr.sh" --address "$WORK/$s.sock" --runtime "${runtime[$s]}" "$@" \
        >"$RESULTS/$stamp-$s.jsonl" || echo "bench against $s failed" >&2
done
# name, containerd median, berth median, ratio (lower is better for every metric but MB/s)
jq -rs 'group_by(.name)[] | select(length == 2) | (map(select(.d == "containerd"))[0]) as $c
        | (map(select(.d == "berth"))[0]) as $b
        | [$c.name, $c.unit, $c.median, $b.median,
           (if $c.median > 0 then ($b.median / $c.median * 100 | round / 100) else "-" end)]
        | @tsv' \
    <(jq -c '. + {d: "containerd"}' "$RESULTS/$stamp-containerd.jsonl") \
    <(jq -c '. + {d: "berth"}' "$RESULTS/$stamp-berth.jsonl") |
    (printf 'metric\tunit\tcontainerd\tberth\tratio\n'; cat) | column -t | tee "$RESULTS/$stamp-ratios.txt"
