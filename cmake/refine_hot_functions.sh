#!/usr/bin/env bash
# refine_hot_functions.sh BUILD_DIR TARGET ROUNDS TRACE_SCRIPT [ARGS...] > hot_functions.txt
# A trace (cmd/*/hot_functions.sh) sees pages, not functions: it lists every function on a page
# the process used, and a page holds a dozen small functions of which maybe one ran. Linked
# first, those bystanders dilute the hot pages again. Each round here relinks TARGET with the
# surviving candidates in a new random order and traces it again: a function that runs is on a
# used page every time, a bystander rarely more than once. The output keeps the first trace's
# order (its phases) for the functions that were on a used page in every round, then adds what
# three traces of that order find outside it (code that runs only sometimes, such as a lock's
# contended path): left where the link put it, each such page costs a fault-around window.
# TRACE_SCRIPT is called as TRACE_SCRIPT BINARY ARGS... and prints function names.
set -euo pipefail
BUILD=$1 TARGET=$2 ROUNDS=$3
shift 3
DIR=$(mktemp -d /dev/shm/berth-refine.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
LINK=$(ninja -C "$BUILD" -t commands "$TARGET" | tail -n 1)
case $LINK in *--symbol-ordering-file=*) ;; *) echo "$TARGET is not linked with an order" >&2; exit 1 ;; esac
relink() {  # ORDER_FILE OUTPUT
  local cmd
  cmd=$(sed -E "s#--symbol-ordering-file=[^ ]+#--symbol-ordering-file=$1#; s# -o [^ ]+# -o $2#" <<<"$LINK")
  (cd "$BUILD" && eval "$cmd")
}
: >"$DIR/order"
relink "$DIR/order" "$DIR/bin"
"$@" "$DIR/bin" >"$DIR/candidates"
echo "round 0: $(wc -l <"$DIR/candidates") functions" >&2
for round in $(seq "$ROUNDS"); do
  shuf "$DIR/candidates" >"$DIR/order"
  relink "$DIR/order" "$DIR/bin"
  "$@" "$DIR/bin" | sort -u >"$DIR/seen"
  awk 'NR == FNR { seen[$0] = 1; next } seen[$0]' "$DIR/seen" "$DIR/candidates" >"$DIR/kept"
  mv "$DIR/kept" "$DIR/candidates"
  echo "round $round: $(wc -l <"$DIR/candidates") functions" >&2
done
sort -u "$DIR/candidates" >"$DIR/sorted"
relink "$DIR/candidates" "$DIR/bin"
for _ in 1 2 3; do "$@" "$DIR/bin"; done |
  awk 'NR == FNR { kept[$0] = 1; next } !kept[$0] && !seen[$0]++' "$DIR/sorted" - >"$DIR/missed"
echo "missed by the rounds: $(wc -l <"$DIR/missed") functions" >&2
cat "$DIR/candidates" "$DIR/missed"
