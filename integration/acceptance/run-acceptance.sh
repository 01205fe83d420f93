#!/usr/bin/env bash
# Runs one script of ../shared/acceptance against build/bin/berthd.
# Exit 77 (ctest: skipped) when not root or when the acceptance folder is absent.
# Usage: run-acceptance.sh SRC_DIR BIN_DIR SCRIPT [ARGS...]
set -u
SRC=$1 BIN=$2 SCRIPT=$3
shift 3
ACC=${BERTH_ACCEPTANCE_DIR:-$SRC/../shared/acceptance}
[ "$(id -u)" = 0 ] || { echo "skip: acceptance scripts need root"; exit 77; }
[ -x "$ACC/$SCRIPT" ] || { echo "skip: $ACC/$SCRIPT not found"; exit 77; }
export BERTHD=$BIN/berthd BERTH_SHIM=$BIN/containerd-shim-berth-v2 BERTH_RUNC=$BIN/berth-runc
export ACC_LOG_DIR=${ACC_LOG_DIR:-$(mktemp -d /tmp/acc-logs.XXXXXX)}
cd "$SRC" && exec "$ACC/$SCRIPT" --daemon berthd "$@"
