#!/usr/bin/env bash
# Ingest throughput: a SIZE_MB blob streamed through berthd by the stock `ctr content ingest`
# (stdin from a page-cached file), next to `sha256sum` of the same file. Alternates the two,
# REPS times (env, default 3), prints every run, the best of each in MiB/s and the ratio
# ingest/sha256sum (goal >= 0.8). Starts its own berthd in a temp root, stops it by PID.
# Usage: bench/ingest.sh [BERTHD] [SIZE_MB]     (env: REPS=3, TMPDIR=/var/tmp)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BERTHD=${1:-$SRC/build/bin/berthd}
SIZE_MB=${2:-1024}
REPS=${REPS:-3}
[ -x "$BERTHD" ] || { echo "bench: $BERTHD is not executable" >&2; exit 2; }
command -v ctr >/dev/null || { echo "bench: stock ctr not installed" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/berth-bench-ingest.XXXXXX")
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
SOCK=$WORK/berth.sock
BLOBS=$WORK/root/io.containerd.content.v1.content/blobs/sha256

"$BERTHD" --root "$WORK/root" --state "$WORK/state" --address "$SOCK" >"$WORK/berthd.log" 2>&1 &
PID=$!
for _ in $(seq 300); do ctr -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
ctr -a "$SOCK" version >/dev/null 2>&1 || { echo "bench: berthd did not start" >&2; tail "$WORK/berthd.log" >&2; exit 1; }

FILE=$WORK/blob
SIZE=$((SIZE_MB * 1024 * 1024))
openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null |
    head -c "$SIZE" >"$FILE" || true # openssl dies of SIGPIPE once head has enough
[ "$(stat -c %s "$FILE")" = "$SIZE" ] || { echo "bench: could not generate $FILE" >&2; exit 1; }
cat "$FILE" >/dev/null # page-cache it: both sides read from memory
DIGEST=sha256:$(sha256sum "$FILE" | cut -d' ' -f1)

now() { date +%s.%N; }
mibs() { awk -v s="$SIZE" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", s / 1048576 / (b - a) }'; }
best() { tr ' ' '\n' | sort -g | tail -n1; }

echo "ingest bench: $SIZE_MB MiB, $REPS reps, berthd $BERTHD, load $(cut -d' ' -f1-3 /proc/loadavg)"
sha=() ing=()
for rep in $(seq "$REPS"); do
    t0=$(now); sha256sum "$FILE" >/dev/null; t1=$(now)
    sha+=("$(mibs "$t0" "$t1")")

    t0=$(now)
    ctr -a "$SOCK" content ingest --expected-digest "$DIGEST" --expected-size "$SIZE" "bench-$rep" <"$FILE"
    t1=$(now)
    ing+=("$(mibs "$t0" "$t1")")
    echo "rep $rep: sha256sum ${sha[-1]} MiB/s, ctr content ingest ${ing[-1]} MiB/s"

    # Drop the blob so the next rep writes it again (deletion schedules the collector).
    ctr -a "$SOCK" content rm "$DIGEST" >/dev/null
    for _ in $(seq 100); do [ -e "$BLOBS/${DIGEST#sha256:}" ] || break; sleep 0.1; done
    [ ! -e "$BLOBS/${DIGEST#sha256:}" ] || echo "  (blob not collected yet; next rep still writes and hashes it)"
done
bs=$(best <<<"${sha[*]}") bi=$(best <<<"${ing[*]}")
ratio=$(awk -v a="$bi" -v b="$bs" 'BEGIN { printf "%.2f", a / b }')
echo "best: sha256sum $bs MiB/s, ctr content ingest $bi MiB/s, ratio $ratio (goal >= 0.8)"
