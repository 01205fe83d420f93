# shellcheck shell=bash
# Integration harness: a berthd in a temp root driven by the stock ctr, with ok/FAIL checks.
#   . integration/harness.sh; h_init NAME BIN_DIR; h_start_daemon; check ...; h_finish
set -u -o pipefail
H_PID="" H_WORK=""
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# h_require TOOL... : skip the test (exit 77) when a tool it drives is not installed
h_require() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
    done
}

h_init() {
    H_NAME=$1 H_BIN=$2
    [ "$(id -u)" = 0 ] || { echo "skip: $H_NAME needs root"; exit 77; }
    h_require ctr
    H_WORK=$(mktemp -d "/tmp/berth-it-$H_NAME.XXXXXX")
    H_SOCK=$H_WORK/berth.sock H_ROOT=$H_WORK/root H_STATE=$H_WORK/state
    trap h_cleanup EXIT
}

h_cleanup() {
    [ -n "$H_PID" ] && kill "$H_PID" 2>/dev/null && wait "$H_PID" 2>/dev/null
    [ -n "$H_WORK" ] && rm -rf "$H_WORK"
}

# h_start_daemon [EXTRA ARGS] : start berthd and wait until ctr version answers
h_start_daemon() {
    "$H_BIN/berthd" --root "$H_ROOT" --state "$H_STATE" --address "$H_SOCK" --log-level debug "$@" \
        >>"$H_WORK/berthd.log" 2>&1 &
    H_PID=$!
    local i
    for i in $(seq 300); do
        hctr version >/dev/null 2>&1 && return 0
        kill -0 "$H_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "berthd did not start:"; tail -n 20 "$H_WORK/berthd.log"
    return 1
}

h_stop_daemon() {
    kill -TERM "$H_PID" 2>/dev/null
    wait "$H_PID"
    local rc=$?
    H_PID=""
    return $rc
}

hctr() { timeout 30 ctr --address "$H_SOCK" "$@"; }

# h_free_port: a 127.0.0.1 TCP port that binds right now, drawn at random from 10000-19999:
# below the kernel's ephemeral range (32768-60999), so no outgoing connection of a test running
# beside this one (ctest -j) takes it before our server listens, and apart from the acceptance
# scripts' 20000-49999. A server restarted on the same port is therefore not raced either.
h_free_port() {
    /usr/bin/python3 -c '
import random, socket
while True:
    p = random.randint(10000, 19999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break'
}

h_finish() {
    echo "$CHECKS_PASSED passed, $CHECKS_FAILED failed"
    [ "$CHECKS_FAILED" -eq 0 ]
}
