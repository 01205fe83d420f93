#!/usr/bin/env bash
# The main job: berthd with its embedded defaults (scratch root/state/socket, no config file),
# driven by the stock ctr.  Usage: demo.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: demo.sh BIN_DIR}
WORK=$(mktemp -d /tmp/berth-demo.XXXXXX)
SOCK=$WORK/berth.sock
"$BIN/berthd" --root "$WORK/root" --state "$WORK/state" --address "$SOCK" >"$WORK/berthd.log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 100); do ctr -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
set -x
ctr -a "$SOCK" version
ctr -a "$SOCK" plugins ls
ctr -a "$SOCK" namespaces ls
