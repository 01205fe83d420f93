# Sourced by the bench runners: start berthd and containerd 1.6 in scratch roots under $WORK.
# Each start_* sets the PID in DAEMON_PID and appends it to the pids array the caller kills.
# containerd runs without its CRI plugin, as a plain ctr-driven daemon like berthd.

start_berthd() { # DIR: root, state and berth.sock under DIR
    local dir=$1
    mkdir -p "$dir"
    "$SRC/build/bin/berthd" --root "$dir/berth-root" --state "$dir/berth-state" \
        --address "$dir/berth.sock" >"$dir/berthd.log" 2>&1 &
    DAEMON_PID=$!
    pids+=("$DAEMON_PID")
    wait_socket "$dir/berth.sock"
}

start_containerd() { # DIR: root, state and containerd.sock under DIR
    local dir=$1
    mkdir -p "$dir"
    cat >"$dir/containerd.toml" <<TOML
version = 2
root = "$dir/ctd-root"
state = "$dir/ctd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
TOML
    containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 &
    DAEMON_PID=$!
    pids+=("$DAEMON_PID")
    wait_socket "$dir/containerd.sock"
}

wait_socket() {
    for _ in $(seq 100); do ctr -a "$1" version >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "bench: no daemon answers on $1" >&2
    return 1
}

stop_daemon() { # PID
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}
