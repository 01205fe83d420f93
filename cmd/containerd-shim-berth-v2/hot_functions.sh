#!/usr/bin/env bash
# hot_functions.sh SHIM ADDRESS IMAGE > hot_functions.txt
# Lists the functions of SHIM whose pages a shim uses, phase by phase, in the link order that
# keeps each phase's together (CMakeLists.txt): first what it runs while it serves a running
# container (its RSS for the container's life), then what creating and starting the task ran,
# then what exec, metrics, ps and kill add. Needs a running berthd at ADDRESS and IMAGE pulled
# there (namespace "hot").
# The shim runs from tmpfs (4 KiB page-cache pages) with BERTH_TEXT_TRACE (core/text_trace.h),
# which gives each page of its text a VMA of its own, unmapped, where it would release them (at
# the end of start-up, and once the task has started: shim-v2/shim/text_pages.h), saving first
# what create and start used to the bundle's text-trace.1.smaps; a page counts as used when its
# VMA is resident again ("Rss" in smaps, cmake/hot_functions.py). Start-up's own code is not
# told apart (it ran before the split).
# Code that runs in the shim's forked helpers (forked.h) or in the container's init maps pages
# in their page tables, not the shim's: it is left out, as it should be.
set -euo pipefail
SHIM=$1 ADDRESS=$2 IMAGE=$3
DIR=$(mktemp -d /dev/shm/berth-hot.XXXXXX)
trap 'set +e; ctr -a "$ADDRESS" -n hot t rm -f hot1 >/dev/null 2>&1; ctr -a "$ADDRESS" -n hot c rm hot1 >/dev/null 2>&1; rm -rf "$DIR"' EXIT
cp "$SHIM" "$DIR/containerd-shim-berth-v2"
C=(ctr -a "$ADDRESS" -n hot)
"${C[@]}" images pull --plain-http "$IMAGE" >/dev/null 2>&1 || true
# The daemon passes its environment to the shims it starts: set it for that daemon, or run
# this with a daemon started under BERTH_TEXT_TRACE=1.
"${C[@]}" run -d --runtime "$DIR/containerd-shim-berth-v2" "$IMAGE" hot1 sleep 3600 >/dev/null
sleep 2
# Listing tasks asks every shim for its State: monitoring does that all the time (as does the
# benchmark just before it reads the shim's RSS), so it belongs to the steady state.
"${C[@]}" t ls >/dev/null
pid=$(pgrep -f "^$DIR/containerd-shim-berth-v2 .*-id hot1" | head -1)
[ -n "$pid" ] || { echo "no shim found" >&2; exit 1; }
PY=$(dirname "$0")/../../cmake/hot_functions.py
bundle=/proc/$pid/cwd
"$PY" pages "$pid" "$DIR/containerd-shim-berth-v2" >"$DIR/pages.serving"
"$PY" pages "$bundle/text-trace.1.smaps" "$DIR/containerd-shim-berth-v2" >"$DIR/pages.create"
"${C[@]}" t exec --exec-id hx hot1 /bin/true >/dev/null
"${C[@]}" t metrics hot1 >/dev/null; "${C[@]}" t ps hot1 >/dev/null
"${C[@]}" t kill hot1; sleep 0.5
"$PY" pages "$pid" "$DIR/containerd-shim-berth-v2" >"$DIR/pages.more"
: >"$DIR/seen"
for phase in serving create more; do
  "$PY" functions "$DIR/containerd-shim-berth-v2" "$DIR/pages.$phase" "$DIR/seen"
  cat "$DIR/pages.$phase" >>"$DIR/seen"
done
