#!/usr/bin/env bash
# berthd as a process: version/UUID, plugins, bad input, the lock against a second daemon,
# graceful stop leaving no socket or lock behind, UUID kept across restarts.
. "$(dirname "$0")/../harness.sh"
h_init daemon "$1"
h_start_daemon || exit 1

server_field() { hctr version | awk -v f="$1" '/^Server:/ {s=1} s && $1 == f":" {print $2; exit}'; }
check "version: server version" test -n "$(server_field Version)"
check "version: server revision" test -n "$(server_field Revision)"
uuid=$(server_field UUID)
check "version: UUID" grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$uuid"
check "plugins: every plugin is listed with a status" \
    sh -c "hctr() { timeout 30 ctr --address '$H_SOCK' \"\$@\"; }; hctr plugins ls | awk 'NR>1 && \$NF != \"ok\" && \$NF != \"skip\" {exit 1}'"
check "plugins: the metadata plugin is ok" sh -c "ctr --address '$H_SOCK' plugins ls | grep -Eq '^io.containerd.metadata.v1 +rocksdb .* ok *$'"
check "plugins: filter by type" sh -c "ctr --address '$H_SOCK' plugins ls type==io.containerd.grpc.v1 | awk 'NR>1 && \$1 != \"io.containerd.grpc.v1\" {exit 1}'"

# main.cc re-executes berthd once so that the loader binds every library at start; the value
# marks it as berthd's own, which berthd then keeps from the shims and plugins it starts.
check "bind now: berthd re-executed itself with LD_BIND_NOW" \
    sh -c "tr '\\0' '\\n' </proc/$H_PID/environ | grep -qx LD_BIND_NOW=berthd"

check_fails_with "namespaces: bad name -> invalid argument" "invalid argument" hctr namespaces create "bad/name!"
check_fails_with "namespaces: too long -> invalid argument" "invalid argument" hctr namespaces create "$(printf 'a%.0s' $(seq 77))"
check_fails_with "namespaces: oversized label -> invalid argument" "invalid argument" \
    hctr namespaces create biglabel "k=$(head -c 5000 /dev/zero | tr '\0' v)"

check_fails_with "lock: a second berthd on the same socket refuses and names the first" \
    "in use by another berthd \(pid $H_PID" \
    timeout 10 "$H_BIN/berthd" --root "$H_WORK/other-root" --state "$H_WORK/other-state" --address "$H_SOCK"
check_fails_with "lock: a second berthd on the same root refuses" "in use by another berthd" \
    timeout 10 "$H_BIN/berthd" --root "$H_ROOT" --state "$H_WORK/other-state" --address "$H_WORK/other.sock"
check "lock: the first daemon still answers" hctr version

h_stop_daemon; rc=$?
check "stop: SIGTERM stops berthd with status 0" test "$rc" = 0
check "stop: no socket left" test ! -e "$H_SOCK"
check "stop: no socket lock left" test ! -e "$H_SOCK.lock"
check "stop: no root lock left" test ! -e "$H_ROOT/berthd.lock"

h_start_daemon || exit 1
check "restart: same UUID" test "$(server_field UUID)" = "$uuid"
kill -9 "$H_PID"; wait "$H_PID" 2>/dev/null; H_PID=""
# (h_start_daemon runs in this shell, not in check's subshell, so cleanup knows the pid)
if h_start_daemon >/dev/null; then ok "crash: the stale socket is replaced after kill -9"
else fail "crash: the stale socket is replaced after kill -9"; fi

check "config default: parses back" sh -c "'$H_BIN/berthd' config default > '$H_WORK/default.toml' && grep -q 'io.containerd.metadata.v1.rocksdb' '$H_WORK/default.toml'"
printf 'roott = "/x"\n' >"$H_WORK/bad.toml"
check_fails_with "config: an unknown key is named" 'roott' "$H_BIN/berthd" -c "$H_WORK/bad.toml"
h_finish
