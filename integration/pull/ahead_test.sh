#!/usr/bin/env bash
# Unpack ahead (io.containerd.internal.v1.unpack-ahead) under the stock `ctr images pull`:
# the layers are extracted while ctr fetches them and Diff.Apply moves them into place (the
# daemon logs it), and every snapshot's tree - owners, modes, xattrs, whiteouts as 0/0 char
# devices, the opaque xattr, hardlinks, implied directories - equals the one a daemon with
# the feature off unpacks. Staged trees are never snapshots, go with their blob, and are
# cleared at start.
# Usage: ahead_test.sh BIN_DIR   (root; exit 77 when tools are missing)
. "$(dirname "$0")/../harness.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
h_init ahead "$1"
h_require docker-registry skopeo curl
PY=/usr/bin/python3
REG=""
trap '[ -n "$REG" ] && kill "$REG" 2>/dev/null; h_cleanup' EXIT
PORT=$(h_free_port)
printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$H_WORK/reg" "$PORT" >"$H_WORK/reg.yml"
docker-registry serve "$H_WORK/reg.yml" >"$H_WORK/reg.log" 2>&1 &
REG=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
read -r -a LAYERS < <($PY "$HERE/make_layered_layout.py" "$H_WORK/layout") || exit 1
IMG=127.0.0.1:$PORT/test/layered:latest
skopeo copy -q --dest-tls-verify=false "oci:$H_WORK/layout:latest" "docker://$IMG" ||
    { echo "skopeo push failed"; exit 1; }

# use ROOT: point the harness at a daemon root of its own
use_root() { H_ROOT=$H_WORK/$1 H_STATE=$H_WORK/state-$1 H_SOCK=$H_WORK/$1.sock; }
snap_dirs() { ls -d "$H_ROOT"/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs | sort -t/ -k"$(echo "$H_ROOT" | tr -cd / | wc -c)" -V; }
trees() { $PY "$HERE/tree_manifest.py" --dir-mtimes $(snap_dirs); }
STAGE() { echo "$H_ROOT/io.containerd.internal.v1.unpack-ahead/stage"; }
applied_count() { grep -c 'applied from its staged tree' "$H_WORK/berthd.log"; }
committed() { hctr -n "$1" snapshots ls | awk 'NR>1 && $NF=="Committed"' | wc -l; }
snapshots_total() { hctr -n "$1" snapshots ls | awk 'NR>1' | wc -l; }
stage_entries() { find "$(STAGE)" -mindepth 1 -maxdepth 1 | wc -l; }
wait_for() { # SECONDS CMD... : until CMD succeeds
    local n=$(($1 * 10)); shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
    return 1
}

# --- the reference: a normal Apply of every layer --------------------------------------
use_root off
printf 'version = 1\n[plugins."io.containerd.internal.v1.unpack-ahead"]\n  enabled = false\n' \
    >"$H_WORK/off.toml"
h_start_daemon -c "$H_WORK/off.toml" || exit 1
check "off: ctr images pull" hctr images pull --plain-http "$IMG"
check "off: 3 committed snapshots" test "$(committed default)" = 3
trees >"$H_WORK/off.txt"
check "off: no staged apply" test "$(applied_count)" = 0
check "off: the tree has the whiteout as a 0/0 char device" grep -q '^data/deleteme 0o20000 0 0 0 dev 0,0' "$H_WORK/off.txt"
h_stop_daemon
mv "$H_WORK/berthd.log" "$H_WORK/berthd-off.log"

# --- unpack ahead (the default) --------------------------------------------------------
use_root on
h_start_daemon || exit 1
check "on: ctr images pull" hctr images pull --plain-http "$IMG"
check "on: every layer came from its staged tree" test "$(applied_count)" = 3
check "on: 3 committed snapshots and nothing else" test "$(snapshots_total default)" = 3
trees >"$H_WORK/on.txt"
check "on: every snapshot tree equals the normal apply's" diff -u "$H_WORK/off.txt" "$H_WORK/on.txt"
check "on: the staged trees were consumed" test "$(stage_entries)" = 0
check "on: a second pull reuses the snapshots" hctr images pull --plain-http "$IMG"
check "on: ...and stages nothing" test "$(applied_count)" = 3 -a "$(stage_entries)" = 0

# --- lifecycle: fetch without unpack stages, delete drops, restart clears -----------------
check "fetch: ctr content fetch in a new namespace" hctr -n fetch content fetch --plain-http "$IMG"
check "fetch: the layers get staged" wait_for 60 sh -c "[ \$(find '$(STAGE)' -mindepth 1 -maxdepth 1 | wc -l) = 3 ]"
check "fetch: staged trees are not snapshots" test "$(snapshots_total fetch)" = 0
for l in "${LAYERS[@]}"; do hctr -n fetch content rm "$l" >/dev/null; done
check "fetch: deleting the blobs removes their staged trees" \
    wait_for 30 sh -c "[ \$(find '$(STAGE)' -mindepth 1 -maxdepth 1 | wc -l) = 0 ]"
check "restart: fetch again" hctr -n fetch2 content fetch --plain-http "$IMG"
wait_for 60 sh -c "[ \$(find '$(STAGE)' -mindepth 1 -maxdepth 1 | wc -l) = 3 ]"
kill -KILL "$H_PID"; wait "$H_PID" 2>/dev/null; H_PID=""
mkdir -p "$(STAGE)/leftover/x"
h_start_daemon || exit 1
check "restart: leftovers of a killed daemon are cleared at start" test "$(stage_entries)" = 0
mkdir -p "$H_WORK/mnt"
check "restart: the pulled image still mounts" hctr images mount "$IMG" "$H_WORK/mnt"
check "restart: merged view hides the whiteout and keeps the opaque dir's new content only" \
    sh -c "[ ! -e '$H_WORK/mnt/data/deleteme' ] && [ \"\$(ls '$H_WORK/mnt/data/replaced')\" = new1 ]"
hctr images unmount "$H_WORK/mnt" >/dev/null 2>&1
h_finish
