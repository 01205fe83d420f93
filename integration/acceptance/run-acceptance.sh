#!/usr/bin/env bash
# Runs one script of ../shared/acceptance against build/bin/berthd.
# Exit 77 (ctest: skipped) when not root or when the acceptance folder is absent.
# On failure the daemon's log tail is printed (CI keeps nothing else), then the work dir goes.
# Usage: run-acceptance.sh SRC_DIR BIN_DIR SCRIPT [ARGS...]
set -u
SRC=$1 BIN=$2 SCRIPT=$3
shift 3
ACC=${BERTH_ACCEPTANCE_DIR:-$SRC/../shared/acceptance}
[ "$(id -u)" = 0 ] || { echo "skip: acceptance scripts need root"; exit 77; }
[ -x "$ACC/$SCRIPT" ] || { echo "skip: $ACC/$SCRIPT not found"; exit 77; }
# 04-run's tty checks run `script -qec "timeout ... ctr run -t ..."`. script(1) starts $SHELL, or
# dash when SHELL is unset (as under CI); dash forks timeout instead of exec-ing it, timeout moves
# into its own process group, and ctr's tcsetattr on the pty from that background group stops it
# with SIGTTOU - a 60 s hang with any daemon. bash execs the single command, keeping ctr in the
# terminal's foreground group.
export SHELL=/bin/bash
export BERTHD=$BIN/berthd BERTH_SHIM=$BIN/containerd-shim-berth-v2 BERTH_RUNC=$BIN/berth-runc
out=$(mktemp /tmp/acc-out.XXXXXX)
cd "$SRC" && ACC_KEEP=1 "$ACC/$SCRIPT" --daemon berthd "$@" | tee "$out"
rc=${PIPESTATUS[0]}
work=$(sed -n 's/^# [^ ]*: daemon=[^ ]* work=\([^ ]*\) .*/\1/p' "$out" | head -n 1)
rm -f "$out"
if [ -n "$work" ] && [ -d "$work" ]; then
    if [ "$rc" -ne 0 ] && [ -f "$work/daemon.log" ]; then
        echo "---- daemon.log warnings and errors ($work)"
        grep -E '^[^ ]+ +(warn|error|critical) ' "$work/daemon.log" | tail -n 80 | cut -c1-300
        echo "---- daemon.log tail"
        tail -n 60 "$work/daemon.log" | cut -c1-300
    fi
    if ! grep -q " $work" /proc/self/mountinfo; then rm -rf --one-file-system "$work"; fi
fi
exit "$rc"
