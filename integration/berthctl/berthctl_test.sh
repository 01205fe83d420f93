#!/usr/bin/env bash
# End-to-end checks of berthctl against a real berthd on private directories: import, run
# (output, exit codes, -e, -v, --read-only, -t), -d + ps + exec + kill + rm, images
# ls/tag/rm, --format json. Usage: berthctl_test.sh BIN_DIR. Exit 77 = skipped (not root).
set -uo pipefail
BIN=$(cd "${1:?usage: berthctl_test.sh BIN_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: berthctl integration needs root"; exit 77; }
for tool in jq script; do
    command -v $tool >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
WORK=$(mktemp -d /tmp/berthctl-it.XXXXXX)
export BERTH_ADDRESS=$WORK/berth.sock
export BERTH_NAMESPACE=bctl-$$
export PATH="$BIN:$PATH"  # berthd finds its shim beside itself
B="$BIN/berthctl"
"$BIN/berthd" --root "$WORK/root" --state "$WORK/state" --address "$BERTH_ADDRESS" \
    >"$WORK/berthd.log" 2>&1 &
PID=$!
cleanup() {
    for c in $("$B" ps -a -q 2>/dev/null); do "$B" rm -f "$c" >/dev/null 2>&1; done
    kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
    rmdir /sys/fs/cgroup/*/"$BERTH_NAMESPACE" 2>/dev/null  # the namespace's parent cgroups, if empty
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do "$B" version >/dev/null 2>&1 && break; sleep 0.1; done

FAILS=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; FAILS=$((FAILS + 1)); }
check() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want [$2] got [$3]"; fi
}

IMAGE=$("$HERE/../make-busybox-image.sh" "$WORK/busybox.tar")
"$B" images import "$WORK/busybox.tar" >"$WORK/import.out" 2>&1
check "images import" 0 $?
grep -q "imported $IMAGE" "$WORK/import.out" && pass "import names the image" || fail "import output: $(cat "$WORK/import.out")"

for RT in io.containerd.runc.v2 io.containerd.berth.v2; do
    out=$("$B" run --rm --runtime $RT "$IMAGE" echo hi 2>&1); rc=$?
    check "run --rm echo hi ($RT)" "hi/0" "$out/$rc"
    "$B" run --rm --runtime $RT "$IMAGE" sh -c 'exit 3' >/dev/null 2>&1
    check "exit code propagates ($RT)" 3 $?
done

out=$("$B" run --rm -e FOO=bar -e X=1 "$IMAGE" sh -c 'echo $FOO$X' 2>&1)
check "run -e" "bar1" "$out"

mkdir -p "$WORK/vol" && echo from-host >"$WORK/vol/f"
out=$("$B" run --rm -v "$WORK/vol:/data" "$IMAGE" sh -c 'cat /data/f; echo w >/data/g' 2>&1)
check "run -v reads" "from-host" "$out"
check "run -v writes" "w" "$(cat "$WORK/vol/g" 2>/dev/null)"
"$B" run --rm -v "$WORK/vol:/data:ro" "$IMAGE" sh -c 'echo x >/data/h' >/dev/null 2>&1
[ $? -ne 0 ] && [ ! -e "$WORK/vol/h" ] && pass "run -v :ro" || fail "run -v :ro allowed a write"

"$B" run --rm --read-only "$IMAGE" touch /x >/dev/null 2>&1
[ $? -ne 0 ] && pass "run --read-only" || fail "run --read-only allowed a write"
out=$("$B" run --rm "$IMAGE" touch /x 2>&1); rc=$?
check "writable rootfs by default" 0 $rc
[ $rc = 0 ] || echo "  output: $out"

out=$(script -qec "$B run --rm -t $IMAGE tty" /dev/null 2>&1 | tr -d '\r')
[[ "$out" =~ ^/dev/pts/[0-9]+$ ]] && pass "run -t gives a terminal" || fail "run -t: [$out]"

id=$("$B" run -d --name bg --log-file "$WORK/bg.log" "$IMAGE" sh -c 'echo started; sleep 300')
check "run -d prints the id" "bg" "$id"
"$B" ps | grep -q "^bg .*running" && pass "ps shows it running" || fail "ps: $("$B" ps)"
check "ps --format json" "running" "$("$B" ps --format json | jq -r '.[] | select(.id=="bg") | .status')"
out=$("$B" exec bg sh -c 'echo in-exec; exit 5' 2>&1); rc=$?
check "exec output + exit code" "in-exec/5" "$out/$rc"
check "exec -i" "piped" "$(echo piped | "$B" exec -i bg cat 2>&1)"
out=$(script -qec "$B exec -t bg tty" /dev/null 2>&1 | tr -d '\r')
[[ "$out" =~ ^/dev/pts/[0-9]+$ ]] && pass "exec -t gives a terminal" || fail "exec -t: [$out]"
for _ in $(seq 50); do grep -q started "$WORK/bg.log" 2>/dev/null && break; sleep 0.1; done
check "logs" "started" "$("$B" logs bg)"
"$B" rm bg >/dev/null 2>&1
check "rm refuses a running container" 1 $?
"$B" kill -s KILL bg >/dev/null
for _ in $(seq 50); do "$B" ps -a | grep -q "^bg .*exited" && break; sleep 0.1; done
"$B" ps -a | grep -q "^bg .*exited (137)" && pass "kill -s KILL" || fail "after kill: $("$B" ps -a)"
"$B" rm bg >/dev/null
check "rm" 0 $?
check "rm removed the snapshot" "" "$("$B" snapshots ls --format json | jq -r '.[] | select(.key=="bg") | .key')"
"$B" run -d --name bg2 "$IMAGE" sleep 300 >/dev/null && "$B" rm -f bg2 >/dev/null
check "rm -f a running container" "" "$("$B" ps -a -q)"

"$B" images tag "$IMAGE" berth.local/other:v1 >/dev/null
check "images tag" 0 $?
check "images ls --format json" "berth.local/busybox:latest berth.local/other:v1" \
    "$("$B" images ls --format json | jq -r '[.[].name] | sort | join(" ")')"
check "tagged image runs" "ok" "$("$B" run --rm berth.local/other:v1 echo ok 2>&1)"
"$B" images rm berth.local/other:v1 >/dev/null
check "images rm" "berth.local/busybox:latest" "$("$B" images ls --format json | jq -r '.[].name')"
"$B" images inspect "$IMAGE" | jq -e '.[0].chain_id | startswith("sha256:")' >/dev/null
check "images inspect" 0 $?

"$B" run --rm berth.local/missing:latest true >/dev/null 2>"$WORK/err"
rc=$?
check "missing image exits 1" 1 $rc
grep -q "^berthctl: .*not found" "$WORK/err" && pass "error line shape" || fail "error: $(cat "$WORK/err")"
"$B" run >/dev/null 2>&1
check "usage error exits 2" 2 $?
"$B" --address "$WORK/nope.sock" version >/dev/null 2>&1
check "unreachable daemon exits 1" 1 $?

# Pulls need the daemon-side transfer service (another part of the same issue).
"$B" pull --plain-http 127.0.0.1:1/none:latest >"$WORK/pull.out" 2>&1
if grep -q "not implemented by this berthd" "$WORK/pull.out"; then
    echo "SKIP pull: this berthd has no transfer service yet (plugins/transfer)"
else
    # The service exists: an unreachable registry must fail clearly, with exit code 1.
    grep -q "^berthctl: pull 127.0.0.1:1/none:latest: " "$WORK/pull.out" \
        && pass "pull from an unreachable registry fails clearly" \
        || fail "pull: $(cat "$WORK/pull.out")"
    echo "SKIP pull from a local registry: not scripted yet"
fi

# Push (daemon-side, integration/pull pushes to real registries): a missing image is NotFound.
"$B" push --plain-http berth.local/missing:latest 127.0.0.1:1/none:latest >"$WORK/push.out" 2>&1
rc=$?
if grep -q "not implemented by this berthd" "$WORK/push.out"; then
    echo "SKIP push: this berthd has no push"
else
    check "push of a missing image exits 1" 1 $rc
    grep -q '^berthctl: push berth.local/missing:latest: .*not found' "$WORK/push.out" \
        && pass "push of a missing image fails clearly" || fail "push: $(cat "$WORK/push.out")"
fi

# Every create and import held its objects under a temporary lease and released it afterwards
# (a failed daemon-side pull keeps its own lease on purpose, for the retry to resume).
check "no berthctl leases left behind" 0 \
    "$(ctr -a "$BERTH_ADDRESS" -n "$BERTH_NAMESPACE" leases ls -q | grep -c '^berthctl-')"

if [ $FAILS -ne 0 ]; then
    echo "$FAILS check(s) failed; berthd log:"; tail -30 "$WORK/berthd.log"
    exit 1
fi
echo "all berthctl checks passed"
