# shellcheck shell=bash
# Shared helpers of the fault and load tests: one berthd in a private temp dir, driven by the
# stock ctr in a namespace of its own (shims keep per-namespace state under /run, so names must
# not collide with other test runs), ok/FAIL checks, and a teardown that undoes only what the
# test started: its daemon (by PID), shims and container processes of that daemon, mounts under
# its temp dir, the temp dir itself.
#   . integration/faults/lib.sh; f_init NAME BIN_DIR; f_start_daemon; check ...; f_finish
set -u -o pipefail
F_PID="" F_WORK="" F_MOUNTS=() F_T0=$SECONDS
. "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"

f_init() {
    F_NAME=$1 F_BIN=$(cd "$2" && pwd)
    [ "$(id -u)" = 0 ] || { echo "skip: $F_NAME needs root"; exit 77; }
    command -v ctr >/dev/null || { echo "skip: stock ctr not installed"; exit 77; }
    [ -x "$F_BIN/berthd" ] || { echo "no berthd in $F_BIN"; exit 1; }
    export PATH="$F_BIN:$PATH"   # berthd finds containerd-shim-berth-v2 on PATH
    F_WORK=$(mktemp -d "/tmp/berth-$F_NAME.XXXXXX")
    F_SOCK=$F_WORK/berth.sock F_ROOT=$F_WORK/root F_STATE=$F_WORK/state F_LOG=$F_WORK/berthd.log
    F_NS=${F_NS:-f$$x$RANDOM}
    trap f_cleanup EXIT
    trap 'exit 130' INT TERM
}

# f_start_daemon [EXTRA ARGS]: start berthd and wait until ctr version answers
f_start_daemon() {
    echo "=== berthd start $(date +%T.%N)" >>"$F_LOG"
    "$F_BIN/berthd" --root "$F_ROOT" --state "$F_STATE" --address "$F_SOCK" --log-level debug "$@" \
        >>"$F_LOG" 2>&1 </dev/null &
    F_PID=$!
    local i
    for i in $(seq 300); do
        fctr version >/dev/null 2>&1 && return 0
        kill -0 "$F_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "berthd did not start:"; tail -n 20 "$F_LOG"
    return 1
}

f_kill9_daemon() { [ -n "$F_PID" ] && kill -9 "$F_PID" 2>/dev/null; wait "$F_PID" 2>/dev/null; F_PID=""; }
f_stop_daemon() {
    [ -n "$F_PID" ] || return 0
    kill -TERM "$F_PID" 2>/dev/null
    local i
    for i in $(seq 150); do kill -0 "$F_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$F_PID" 2>/dev/null && { echo "berthd ignored TERM for 15 s"; kill -9 "$F_PID"; }
    wait "$F_PID"; local rc=$?
    F_PID=""
    # a crash says why in the last lines of the log (an assertion, a fatal error)
    [ "$rc" = 0 ] || { echo "berthd exited with $rc; the end of its log:"; tail -n 8 "$F_LOG" | sed 's/^/    /'; }
    return $rc
}

fctr() { timeout "${FCTR_TIMEOUT:-30}" ctr --address "$F_SOCK" -n "$F_NS" "$@"; }

# shim_pids: shims (of either runtime) started for this test's daemon (their command line names
# our socket). Not the berth shim's children that have not exec'd yet: the container's init is
# forked from the shim and keeps its command line until it execs (long enough on a loaded machine
# for `run -d` to have returned), but it runs in the container's pid namespace, or under the shim.
shim_pids() {
    local f cmd p ppid self_ns cands=()
    # one grep over every command line: forking per process is seconds on a loaded machine
    for f in $(grep -lsaF -- "$F_SOCK" /proc/[0-9]*/cmdline); do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
        case $cmd in *containerd-shim*"-address $F_SOCK "*) f=${f#/proc/}; cands+=("${f%/cmdline}") ;; esac
    done
    self_ns=$(readlink /proc/self/ns/pid)
    for p in "${cands[@]}"; do
        [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$self_ns" ] || continue
        ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
        case " ${cands[*]} " in *" $ppid "*) continue ;; esac
        echo "$p"
    done
}
# shim_pid ID: the shim of container ID
shim_pid() {
    local p cmd
    for p in $(shim_pids); do
        cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
        case $cmd in *" -id $1 "*) echo "$p" ;; esac
    done
}
# mounts_under DIR: mountpoints at or below DIR
mounts_under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo; }
# f_mounts: mounts the daemon or its shims made under our dirs (not the test's own)
f_mounts() {
    local m o
    for m in $(mounts_under "$F_WORK"); do
        for o in "${F_MOUNTS[@]}"; do [ "$m" = "$o" ] && continue 2; done
        echo "$m"
    done
}

# task_status ID: RUNNING / STOPPED / CREATED ... or empty when there is no task
task_status() { fctr task ls 2>/dev/null | awk -v id="$1" 'NR > 1 && $1 == id { print $3 }'; }
task_pid() { fctr task ls 2>/dev/null | awk -v id="$1" 'NR > 1 && $1 == id { print $2 }'; }

# f_remove_all: delete every task and container of our namespace (best effort)
f_remove_all() {
    local id
    for id in $(FCTR_TIMEOUT=10 fctr task ls -q 2>/dev/null); do
        FCTR_TIMEOUT=10 fctr task kill -a -s SIGKILL "$id" >/dev/null 2>&1
        FCTR_TIMEOUT=15 fctr task delete -f "$id" >/dev/null 2>&1
    done
    for id in $(FCTR_TIMEOUT=10 fctr containers ls -q 2>/dev/null); do
        FCTR_TIMEOUT=15 fctr containers rm "$id" >/dev/null 2>&1
    done
}

f_cleanup() {
    local rc=$? p m
    trap - EXIT INT TERM
    [ -n "$F_WORK" ] && [ -d "$F_WORK" ] || exit "$rc"
    [ -n "$F_PID" ] && kill -0 "$F_PID" 2>/dev/null && f_remove_all
    [ -n "${F_EXTRA_PIDS:-}" ] && kill $F_EXTRA_PIDS 2>/dev/null
    f_stop_daemon >/dev/null 2>&1
    for p in $(shim_pids); do
        echo "# cleanup: killing leftover shim $p"
        kill -9 "$p" 2>/dev/null
    done
    sleep 0.2
    # The executor leaves each namespace's parent cgroup (as runc does); this run's namespace is
    # its own, so its empty directories go (rmdir never removes a non-empty one).
    rmdir /sys/fs/cgroup/*/"$F_NS" /sys/fs/cgroup/"$F_NS" 2>/dev/null
    for m in $(mounts_under "$F_WORK" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
    if [ "${F_KEEP:-0}" = 1 ] || { [ "$rc" != 0 ] && [ "${F_KEEP_ON_FAIL:-0}" = 1 ]; }; then
        echo "# kept $F_WORK"
    elif [ -z "$(mounts_under "$F_WORK")" ]; then
        rm -rf --one-file-system "$F_WORK"
    else
        echo "# mounts remain under $F_WORK; not removing it"
    fi
    exit "$rc"
}

# f_make_image OUT.tar NAME ROOTFS_DIR: an OCI archive (one gzip layer) of ROOTFS_DIR, as
# integration/make-busybox-image.sh builds it; sets IMG_LAYER_SIZE
f_make_image() {
    local out=$1 name=$2 r=$3 w arch
    w=$(mktemp -d "$F_WORK/img.XXXXXX")
    case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
    tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$r" -cf "$w/layer.tar" .
    gzip -1 -n -c "$w/layer.tar" >"$w/layer.tar.gz"
    mkdir -p "$w/oci/blobs/sha256"
    _blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$w/oci/blobs/sha256/$d"
              echo "sha256:$d $(stat -c %s "$w/oci/blobs/sha256/$d")"; }
    local diff_id layer lsize cfg csize man msize
    diff_id=sha256:$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
    rm -f "$w/layer.tar"
    read -r layer lsize < <(_blob "$w/layer.tar.gz")
    IMG_LAYER_SIZE=$lsize
    printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
        "$arch" "$diff_id" >"$w/config.json"
    read -r cfg csize < <(_blob "$w/config.json")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
        "$cfg" "$csize" "$layer" "$lsize" >"$w/manifest.json"
    read -r man msize < <(_blob "$w/manifest.json")
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
        "$man" "$msize" "$name" "${name##*:}" "$arch" >"$w/oci/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$w/oci/oci-layout"
    tar -C "$w/oci" -cf "$out" oci-layout index.json blobs
    rm -rf "$w"
}

# random_file PATH MIB SEED: incompressible, reproducible bytes
random_file() {
    local key
    key=$(printf '%s' "$3" | sha256sum | cut -c1-32)
    openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000 -in /dev/zero \
        2>/dev/null | head -c "$(($2 * 1024 * 1024))" >"$1"
}

# blobs_hash_ok: every blob under the content store hashes to its name (prints the bad ones)
blobs_hash_ok() {
    local f h bad=0
    for f in "$F_ROOT"/io.containerd.content.v1.content/blobs/sha256/*; do
        [ -e "$f" ] || continue
        h=$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1)
        [ -z "$h" ] && [ ! -e "$f" ] && continue  # collected meanwhile by a background GC
        [ "$h" = "$(basename "$f")" ] || { echo "blob $(basename "$f") hashes to $h"; bad=1; }
    done
    return $bad
}

# images_not_complete: images that `ctr images check` does not report complete
images_not_complete() {
    local out
    out=$(fctr images check 2>/dev/null) || { echo "ctr images check failed"; return; }
    awk 'NR > 1 && $4 != "complete" { print }' <<<"$out"
}

# rss_kib PID
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

f_finish() {
    echo "$F_NAME: $CHECKS_PASSED passed, $CHECKS_FAILED failed ($((SECONDS - F_T0)) s)"
    [ "$CHECKS_FAILED" -eq 0 ]
}
