#!/usr/bin/env bash
# Cold daemon-side pull + unpack of the big image: `berthctl pull` against berthd vs the stock
# `ctr images pull` against containerd 1.6, alternating, each rep on a fresh daemon with an empty
# root (nothing cached but the page cache; --drop-caches empties that too).
# Needs the local registry of ../shared/peers/make-images.sh.
# Usage: bench/pull.sh [--reps N] [--registry HOST:PORT] [--image REPO:TAG] [--drop-caches]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
REPS=3 REGISTRY=127.0.0.1:5002 IMAGE=bench/big:latest DROP=0
while [ $# -gt 0 ]; do
    case $1 in
        --reps) REPS=$2; shift 2 ;;
        --registry) REGISTRY=$2; shift 2 ;;
        --image) IMAGE=$2; shift 2 ;;
        --drop-caches) DROP=1; shift ;;
        *) echo "usage: $0 [--reps N] [--registry HOST:PORT] [--image REPO:TAG] [--drop-caches]" >&2; exit 2 ;;
    esac
done
REF=$REGISTRY/$IMAGE
curl -sf "http://$REGISTRY/v2/${IMAGE%%:*}/manifests/${IMAGE##*:}" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' >/dev/null ||
    { echo "bench: $REF not in the registry (run ../shared/peers/make-images.sh --registry $REGISTRY)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/berth-pull-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do stop_daemon "$p"; done; rm -rf "$WORK"; }
trap cleanup EXIT
. "$SRC/bench/daemons.sh"

seconds() { # CMD...: wall time of CMD in seconds (3 decimals); the command's output is dropped
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; return 1; }
    t1=$(date +%s%N)
    echo "scale=3; ($t1 - $t0) / 1000000000" | bc
}

cold_pull() { # berth|containerd REP
    local dir=$WORK/$1-$2 t
    # Each rep starts with nothing dirty: otherwise the previous rep's ~640 MB still being written
    # back (or discarded, after its rm -rf) lands in this rep's fsyncs.
    sync
    [ "$DROP" = 1 ] && echo 3 >/proc/sys/vm/drop_caches
    if [ "$1" = berth ]; then
        start_berthd "$dir"
        t=$(seconds "$SRC/build/bin/berthctl" -a "$dir/berth.sock" pull --plain-http "$REF")
    else
        start_containerd "$dir"
        t=$(seconds ctr -a "$dir/containerd.sock" images pull --plain-http "$REF")
    fi
    stop_daemon "$DAEMON_PID"
    # Kept until the end: on ext4 without a journal (this VM's disk) a new inode skips every
    # inode freed in the last 5-30 s, reading each one's dtime, so a rep that follows an
    # rm -rf of the previous rep's ~30k files spent 2/3 of its CPU in find_inode_bit and
    # took 5x as long.
    echo "$t"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

declare -A times=([berth]="" [containerd]="")
for r in $(seq "$REPS"); do
    for d in containerd berth; do
        t=$(cold_pull "$d" "$r")
        echo "rep $r $d ${t}s" >&2
        times[$d]+="$t"$'\n'
    done
done
c=$(printf '%s' "${times[containerd]}" | median)
b=$(printf '%s' "${times[berth]}" | median)
printf 'cold pull+unpack of %s (median of %s)\ncontainerd  %ss\nberth       %ss\nratio       %s\n' \
    "$REF" "$REPS" "$c" "$b" "$(echo "scale=2; $b / $c" | bc)"
