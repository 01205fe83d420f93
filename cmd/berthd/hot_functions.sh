#!/usr/bin/env bash
# hot_functions.sh BERTHD > hot_functions.txt
# Lists the functions of BERTHD (a build linked without the order) that a serving daemon runs,
# in the order the link should place them (CMakeLists.txt): first what one client connection
# and a Version call use - every client pays for those pages, and they are what an idle daemon
# keeps resident - then what a working session adds: an image import, listing every kind of
# object, a container run to completion, a detached one with an exec, events.
# berthd runs from tmpfs (4 KiB page-cache pages) under BERTH_TEXT_TRACE (core/text_trace.h):
# where start-up would release its text, each page gets a VMA of its own, unmapped; a page
# counts as used when its VMA is resident again ("Rss" in smaps, cmake/hot_functions.py).
set -euo pipefail
BERTHD=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PY=$HERE/../../cmake/hot_functions.py
DIR=$(mktemp -d /dev/shm/berthd-hot.XXXXXX)
pid=
cleanup() {
  set +e
  if [ -n "$pid" ]; then
    "${C[@]}" t rm -f hot-d >/dev/null 2>&1
    kill "$pid" && wait "$pid"
  fi 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
cp "$BERTHD" "$DIR/berthd"
C=(ctr -a "$DIR/berth.sock" -n hot)
BERTH_TEXT_TRACE=1 "$DIR/berthd" --root "$DIR/root" --state "$DIR/state" \
  --address "$DIR/berth.sock" >"$DIR/log" 2>&1 &
pid=$!
for _ in $(seq 100); do "${C[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
# A second connection, then a pause: what RocksDB's and gRPC's idle threads run counts too.
"${C[@]}" version >/dev/null; sleep 2; "${C[@]}" version >/dev/null
"$PY" pages "$pid" "$DIR/berthd" >"$DIR/idle"

image=$("$HERE/../../integration/make-busybox-image.sh" "$DIR/busybox.tar")
"${C[@]}" images import "$DIR/busybox.tar" >/dev/null
timeout 20 "${C[@]}" events >/dev/null 2>&1 &
events=$!
"${C[@]}" images ls >/dev/null; "${C[@]}" images check >/dev/null
"${C[@]}" run --rm "$image" hot-rm /bin/true
"${C[@]}" run -d "$image" hot-d sleep 60 >/dev/null
"${C[@]}" t exec --exec-id hx hot-d /bin/true
"${C[@]}" t ls >/dev/null; "${C[@]}" t ps hot-d >/dev/null; "${C[@]}" t metrics hot-d >/dev/null
"${C[@]}" c ls >/dev/null; "${C[@]}" c info hot-d >/dev/null
"${C[@]}" snapshots ls >/dev/null; "${C[@]}" content ls >/dev/null; "${C[@]}" leases ls >/dev/null
"${C[@]}" namespaces ls >/dev/null; "${C[@]}" plugins ls >/dev/null
"${C[@]}" t kill -s SIGKILL hot-d; sleep 0.5
"${C[@]}" t rm hot-d >/dev/null; "${C[@]}" c rm hot-d
kill "$events" 2>/dev/null || true
"$PY" pages "$pid" "$DIR/berthd" >"$DIR/working"

"$PY" functions "$DIR/berthd" "$DIR/idle"
echo "hot_functions: $(wc -l <"$DIR/idle") pages at idle, $(wc -l <"$DIR/working") working" >&2
"$PY" functions "$DIR/berthd" "$DIR/working" "$DIR/idle"
