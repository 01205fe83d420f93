#!/usr/bin/env bash
# A fixed point of the kill -9 campaign, for both runtimes: berthd dies right after it started a
# container's shim, before the shim's Create returned (the test polls the bundle and
# kills the daemon as soon as the shim's address file is in the bundle). After the restart, the shim must either serve a task
# that `ctr task ls` shows (and that can be deleted), or be gone: never a shim with no task.
# Usage: kill_daemon_at_shim_start_test.sh BIN_DIR   (env: ROUNDS=4)
. "$(dirname "$0")/lib.sh"
f_init kill-at-shim-start "$1"
ROUNDS=${ROUNDS:-4}
"$(dirname "$0")/../make-busybox-image.sh" "$F_WORK/busybox.tar" >/dev/null || exit 1
IMAGE=berth.local/busybox:latest
f_start_daemon || exit 1
check "import busybox" fctr images import "$F_WORK/busybox.tar"
HIT=0
for rt in io.containerd.berth.v2 io.containerd.runc.v2; do
    for r in $(seq "$ROUNDS"); do
        id=ss-${rt//./-}-$r t="$rt #$r"
        fctr run -d --runtime "$rt" "$IMAGE" "$id" sleep 100000 >/dev/null 2>&1 &
        cpid=$!
        # the bundle's "address" file appears once the shim started (no fork in this loop: fast)
        addr=$F_STATE/io.containerd.runtime.v2.task/$F_NS/$id/address
        for _ in $(seq 200000); do
            [ -e "$addr" ] && break
            [ -e "/proc/$cpid" ] || break
        done
        state_at_kill=$(kill -0 "$cpid" 2>/dev/null && echo "ctr still waiting" || echo "ctr had returned")
        f_kill9_daemon
        wait "$cpid" 2>/dev/null
        echo "--- $t: killed berthd as the shim announced its address ($state_at_kill)"
        [ "$state_at_kill" = "ctr still waiting" ] && HIT=$((HIT + 1))
        f_start_daemon || exit 1
        s=""
        for _ in $(seq 50); do
            s=$(task_status "$id")
            [ -n "$s" ] || [ -z "$(shim_pid "$id")" ] && break
            sleep 0.1
        done
        if [ -n "$(shim_pid "$id")" ]; then
            check "$t: the shim left running serves a listed task (task: ${s:-none})" test -n "$s"
        else
            ok "$t: no shim left without a task (task: ${s:-none})"
        fi
        if [ -n "$s" ]; then
            [ "$s" = STOPPED ] || fctr task kill -s SIGKILL "$id" >/dev/null 2>&1
            check "$t: task delete" fctr task delete -f "$id"
        fi
        fctr containers ls -q | grep -qx "$id" && check "$t: containers rm" fctr containers rm "$id"
        for _ in $(seq 30); do [ -z "$(shim_pid "$id")" ] && break; sleep 0.1; done
        check "$t: after cleanup no shim of $id" test -z "$(shim_pid "$id")"
        check "$t: after cleanup no mount" test -z "$(f_mounts)"
        p=$(shim_pid "$id"); [ -n "$p" ] && kill -9 $p   # ours: do not leak it into the next round
    done
done
echo "the kill landed before ctr returned in $HIT of $((ROUNDS * 2)) rounds"
f_finish
