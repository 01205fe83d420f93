#!/usr/bin/env bash
# OCI runtimes side by side: `<runtime> run` of a bundle whose process is /bin/true (busybox,
# no terminal, runc's default spec), for berth-runc, runc and crun in one hyperfine run; then
# the ratio berth-runc / crun (goal <= 0.9).
# crun 1.8 refuses hybrid cgroups (a cgroup2 mount beside v1 controllers, as on the build
# machines): every runtime runs in one private mount namespace where the cgroup2 mount is
# unmounted, so all three see the same v1 hierarchy. Runtimes not installed are left out.
# Usage: bench/runc.sh [RUNS]     (env: BERTH_RUNC=build/bin/berth-runc)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-50}
BERTH_RUNC=${BERTH_RUNC:-$SRC/build/bin/berth-runc}
BUSYBOX=${BUSYBOX:-/usr/bin/busybox}
[ -x "$BERTH_RUNC" ] || { echo "bench: $BERTH_RUNC is not executable" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "bench: hyperfine not installed" >&2; exit 2; }
command -v runc >/dev/null || { echo "bench: runc not installed (it writes the spec)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/berth-bench-runc.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bundle/rootfs/bin"
cp "$BUSYBOX" "$WORK/bundle/rootfs/bin/busybox"
ln -s busybox "$WORK/bundle/rootfs/bin/true"
(cd "$WORK/bundle" && runc spec)
jq '.process.terminal = false | .process.args = ["/bin/true"]' "$WORK/bundle/config.json" \
    >"$WORK/config.json" && mv "$WORK/config.json" "$WORK/bundle/config.json"

# One container id per runtime, each with its own state root; `run` removes it on exit.
cmds=("$BERTH_RUNC --root $WORK/state-berth run -b $WORK/bundle bench")
names=(berth-runc)
for r in runc crun; do
    command -v "$r" >/dev/null || continue
    cmds+=("$r --root $WORK/state-$r run -b $WORK/bundle bench")
    names+=("$r")
done

RESULTS=${BERTH_BENCH_RESULTS:-$SRC/bench/results}
mkdir -p "$RESULTS"
out=$RESULTS/$(date -u +%Y%m%dT%H%M%SZ)-runc.json
echo "runc bench: ${names[*]}, $RUNS runs each, load $(cut -d' ' -f1-3 /proc/loadavg)"
unshare -m --propagation private bash -c '
    if mountpoint -q /sys/fs/cgroup/unified && [ -d /sys/fs/cgroup/memory ]; then
        umount /sys/fs/cgroup/unified
    fi
    out=$1; runs=$2; shift 2
    hyperfine -N --warmup 5 --runs "$runs" --export-json "$out" "$@"' _ "$out" "$RUNS" "${cmds[@]}"

jq -r --argjson n "$(printf '%s\n' "${names[@]}" | jq -R . | jq -s .)" '
    [.results | to_entries[] | {name: $n[.key], ms: (.value.median * 1000)}] as $r
    | ($r[] | "\(.name): median \(.ms * 10 | round / 10) ms"),
      (($r | map(select(.name == "crun"))[0]) as $c | ($r[0]) as $b
       | if $c then "ratio berth-runc / crun: \($b.ms / $c.ms * 100 | round / 100) (goal <= 0.9)"
         else "crun not installed: no ratio" end)' "$out"
