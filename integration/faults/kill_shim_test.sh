#!/usr/bin/env bash
# kill -9 of the shim of a running container, for both runtimes (io.containerd.berth.v2 and
# io.containerd.runc.v2): the task is reported exited (STOPPED in `ctr task ls`, or gone) and
# /tasks/exit is published for it (seen by a `ctr events` subscriber), the container's process
# does not outlive its shim, `ctr task delete` + `ctr containers rm` clean up, and no mount or
# shim is left. Usage: kill_shim_test.sh BIN_DIR
. "$(dirname "$0")/lib.sh"
f_init kill-shim "$1"

"$(dirname "$0")/../make-busybox-image.sh" "$F_WORK/busybox.tar" >/dev/null || exit 1
IMAGE=berth.local/busybox:latest
f_start_daemon || exit 1
check "import busybox" fctr images import "$F_WORK/busybox.tar"

ctr --address "$F_SOCK" events >"$F_WORK/events.txt" 2>&1 &
EVENTS_PID=$!
F_EXTRA_PIDS=$EVENTS_PID
sleep 0.3

# wait_exited ID: until the task is STOPPED or gone (10 s)
wait_exited() {
    local i s
    for i in $(seq 100); do
        s=$(task_status "$1")
        [ "$s" = STOPPED ] || [ -z "$s" ] && { echo "${s:-gone}"; return 0; }
        sleep 0.1
    done
    echo "$s"
    return 1
}

for rt in io.containerd.berth.v2 io.containerd.runc.v2; do
    id=ks-${rt//./-}
    echo "--- $rt"
    check "$rt: run -d" fctr run -d --runtime "$rt" "$IMAGE" "$id" sleep 100000
    spid=$(shim_pid "$id") cpid=$(task_pid "$id")
    check "$rt: found the shim ($spid) and the task pid ($cpid)" test -n "$spid" -a -n "$cpid"
    [ -n "$spid" ] || continue
    kill -9 "$spid"
    state=$(wait_exited "$id")
    check "$rt: the task is reported exited after kill -9 of its shim (state: $state)" \
        test "$state" = STOPPED -o "$state" = gone
    exit_seen=0
    for _ in $(seq 50); do
        grep -E "/tasks/exit" "$F_WORK/events.txt" | grep -q "\"$id\"\|$id" && { exit_seen=1; break; }
        sleep 0.1
    done
    check "$rt: /tasks/exit published for $id" test "$exit_seen" = 1
    grep -E "/tasks/exit" "$F_WORK/events.txt" | grep "$id" | head -n 1 | cut -c1-300 | sed 's/^/  event: /'
    alive=0
    for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$cpid" 2>/dev/null && alive=1
    check "$rt: the container process $cpid did not outlive its shim" test "$alive" = 0
    [ "$alive" = 1 ] && kill -9 "$cpid"
    if [ -n "$(task_status "$id")" ]; then
        check "$rt: ctr task delete" fctr task delete "$id"
    else
        ok "$rt: task already deleted by the daemon"
    fi
    check "$rt: the task is gone" test -z "$(task_status "$id")"
    check "$rt: ctr containers rm" fctr containers rm "$id"
    check "$rt: snapshot $id removed" sh -c "! timeout 30 ctr -a '$F_SOCK' -n '$F_NS' snapshots ls | awk '{print \$1}' | grep -qx '$id'"
    check "$rt: no shim left" test -z "$(shim_pids)"
    check "$rt: no mount left" test -z "$(f_mounts)"
    check "$rt: the daemon still serves" fctr version
    # and the runtime is usable again for the same id
    check "$rt: run --rm of the same id afterwards" fctr run --rm --runtime "$rt" "$IMAGE" "$id" true
done

kill "$EVENTS_PID" 2>/dev/null; wait "$EVENTS_PID" 2>/dev/null; F_EXTRA_PIDS=""
check "berthd log has no crash" sh -c "! grep -qiE 'segmentation|abort|terminate called|sanitizer' '$F_LOG'"
f_stop_daemon; rc=$?
check "berthd stops cleanly on TERM (rc $rc)" test "$rc" = 0
check "no shim left after stop" test -z "$(shim_pids)"
check "no mount left after stop" test -z "$(f_mounts)"
f_finish
