#!/usr/bin/env bash
# hot_functions.sh SHIM ADDRESS IMAGE > hot_functions.txt
# Lists the functions of SHIM (a static, unordered build) whose pages a serving shim uses while
# one container is created, started, exec'd into, inspected and killed: the link order that keeps
# them together (CMakeLists.txt). Needs a running berthd at ADDRESS and IMAGE pulled there.
# The shim runs from tmpfs (4 KiB page-cache pages) with BERTH_TEXT_TRACE (core/text_trace.h),
# which maps its text, gives each page its own VMA and clears the accessed bits where it would
# release them; a page counts as used when smaps says "Referenced" (cmake/hot_functions.py).
# The container's init, forked from the shim, marks pages it uses too: the list is a superset,
# never a subset.
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
"${C[@]}" t exec --exec-id hx hot1 /bin/true >/dev/null
"${C[@]}" t ls >/dev/null; "${C[@]}" t metrics hot1 >/dev/null; "${C[@]}" t ps hot1 >/dev/null
"${C[@]}" t kill hot1; sleep 0.5
pid=$(pgrep -f "^$DIR/containerd-shim-berth-v2 .*-id hot1" | head -1)
[ -n "$pid" ] || { echo "no shim found" >&2; exit 1; }
PY=$(dirname "$0")/../../cmake/hot_functions.py
"$PY" pages "$pid" "$DIR/containerd-shim-berth-v2" >"$DIR/pages"
"$PY" functions "$DIR/containerd-shim-berth-v2" "$DIR/pages"
