#!/usr/bin/env bash
# Runs every fuzz target of a BERTH_FUZZ build for SECONDS each, on a scratch copy of its seed
# corpus (new inputs are not written back into the repository). Exit 1 when any target crashed;
# the crashing input is left in the work directory and named in the output.
# Usage: fuzz/run.sh BUILD_DIR [SECONDS]
set -u
BUILD=${1:?usage: run.sh BUILD_DIR [SECONDS]}
SECS=${2:-30}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/berth-fuzz.XXXXXX)
failed=()
for bin in "$BUILD"/fuzz/*_fuzz; do
    name=$(basename "$bin" _fuzz)
    mkdir -p "$WORK/$name/corpus" "$WORK/$name/artifacts"
    cp -r "$HERE/corpus/$name/." "$WORK/$name/corpus/" 2>/dev/null
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
        -artifact_prefix="$WORK/$name/artifacts/" "$WORK/$name/corpus" >"$WORK/$name/log" 2>&1
    rc=$?
    stats=$(grep -E "^#[0-9]+.*(DONE|pulse)" "$WORK/$name/log" | tail -n 1)
    echo "$name: rc=$rc corpus=$(ls "$WORK/$name/corpus" | wc -l) ${stats}"
    if [ $rc -ne 0 ]; then
        failed+=("$name")
        tail -n 40 "$WORK/$name/log"
        ls "$WORK/$name/artifacts"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]} (inputs under $WORK)"
    exit 1
fi
rm -rf "$WORK"
echo "fuzz: all targets ran ${SECS}s without a crash"
