#!/usr/bin/env bash
# CRI side by side: berthd and containerd 1.6 (Debian's, CRI plugin on, runc shim) in scratch
# roots on the same machine in the same run, driven through the CRI v1 gRPC API by
# berth-cri-bench (integration/cri/cri_bench.cc; there is no crictl in Debian 12).
#   (a) RunPodSandbox + CreateContainer + StartContainer of `sleep` from bench/busybox: median of
#       REPS per round, ROUNDS rounds alternating the daemons;
#   (b) density: PODS pods of one container started (PARALLEL at a time), then daemon + shim
#       memory (PSS and RSS from /proc/<pid>/smaps_rollup) with them running.
# Both daemons pull 127.0.0.1:5002/bench/{busybox,pause} through CRI PullImage first (plain http
# via a hosts.toml config_path); the pause image is built from busybox-static and pushed by
# this script. Pods use a private CNI bridge per daemon (bin_dir /usr/lib/cni, no gateway, no
# masquerade); CRI_HOSTNET=1 runs host-network pods instead.
# Usage: bench/cri.sh     env: REPS=10 ROUNDS=2 PODS=50 PARALLEL=1 BERTH_BUILD=build
#                              BERTH_SANDBOX_MODE=pauseless|podsandbox
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BERTH_BUILD:-$SRC/build}
REPS=${REPS:-10} ROUNDS=${ROUNDS:-2} PODS=${PODS:-50} PARALLEL=${PARALLEL:-1}
REG=${CRI_REGISTRY:-127.0.0.1:5002}
BUSYBOX=$REG/bench/busybox:latest PAUSE=$REG/bench/pause:3.9
CLIENT=$BUILD/bin/berth-cri-bench
for b in "$CLIENT" "$BUILD/bin/berthd"; do [ -x "$b" ] || { echo "bench: $b not built" >&2; exit 2; }; done
curl -sf "http://$REG/v2/bench/busybox/tags/list" >/dev/null ||
    { echo "bench: no bench/busybox on $REG (../shared/peers/make-images.sh)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/berth-cri-bench.XXXXXX)
pids=()
cleanup() {
    set +e  # every step runs even when one fails
    for s in berth containerd; do
        [ -S "$WORK/$s.sock" ] && "$CLIENT" -a "$WORK/$s.sock" cleanup >/dev/null 2>&1
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for br in berthbench0 ctdbench0; do ip link del "$br" 2>/dev/null; done
    umount -R "$WORK" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# The pause image (containerd's sandbox_image) from busybox-static, pushed once.
if ! curl -sf "http://$REG/v2/bench/pause/tags/list" | grep -q '"3.9"'; then
    bash "$SRC/integration/cri/make-pause-image.sh" "$WORK/pause.tar" >/dev/null
    skopeo copy -q --dest-tls-verify=false "oci-archive:$WORK/pause.tar" "docker://$PAUSE"
fi

mkdir -p "$WORK/certs.d/$REG"
printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG" "$REG" \
    >"$WORK/certs.d/$REG/hosts.toml"
net_conf() { # DIR BRIDGE SUBNET
    mkdir -p "$1"
    cat >"$1/10-bench.conflist" <<JSON
{"cniVersion":"1.0.0","name":"$2","plugins":[{"type":"bridge","bridge":"$2","isGateway":false,
 "ipMasq":false,"ipam":{"type":"host-local","ranges":[[{"subnet":"$3"}]],"dataDir":"$WORK/ipam-$2"}}]}
JSON
}
net_conf "$WORK/berth-net.d" berthbench0 10.233.91.0/24
net_conf "$WORK/ctd-net.d" ctdbench0 10.233.92.0/24
cri_section() { # NETDIR
    cat <<TOML
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$1"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$WORK/certs.d"
TOML
}

{
    echo "version = 2"; cri_section "$WORK/berth-net.d"
    # BERTH_SANDBOX_MODE=podsandbox: Berth with a pause container per pod, as containerd does.
    printf '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]\n'
    printf '    runtime_type = "io.containerd.berth.v2"\n    sandbox_mode = "%s"\n' "${BERTH_SANDBOX_MODE:-pauseless}"
} >"$WORK/berth.toml"
"$BUILD/bin/berthd" --root "$WORK/berth-root" --state "$WORK/berth-state" \
    --address "$WORK/berth.sock" -c "$WORK/berth.toml" >"$WORK/berthd.log" 2>&1 &
pids+=($!); declare -A dpid=([berth]=$!)
cat >"$WORK/containerd.toml" <<TOML
version = 2
root = "$WORK/ctd-root"
state = "$WORK/ctd-state"
[grpc]
  address = "$WORK/containerd.sock"
[ttrpc]
  address = "$WORK/containerd.sock.ttrpc"
$(cri_section "$WORK/ctd-net.d")
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
TOML
containerd --config "$WORK/containerd.toml" >"$WORK/containerd.log" 2>&1 &
pids+=($!); dpid[containerd]=$!

for s in berth containerd; do
    for _ in $(seq 200); do [ -S "$WORK/$s.sock" ] && "$CLIENT" -a "$WORK/$s.sock" cleanup >/dev/null 2>&1 && break; sleep 0.1; done
    "$CLIENT" -a "$WORK/$s.sock" pull "$BUSYBOX" "$PAUSE" ||
        { echo "bench: pull into $s failed; log:" >&2; tail -20 "$WORK/$s"*.log >&2; exit 1; }
done
net=(); [ "${CRI_HOSTNET:-0}" = 1 ] && net=(--hostnet)

RESULTS=${BERTH_BENCH_RESULTS:-$SRC/bench/results}
mkdir -p "$RESULTS"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$RESULTS/$stamp-cri.jsonl
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$ROUNDS"); do
    for s in containerd berth; do
        echo "== latency round $r: $s" >&2
        "$CLIENT" -a "$WORK/$s.sock" latency --image "$BUSYBOX" --reps "$REPS" --logs "$WORK/logs-$s" "${net[@]}" |
            jq -c --arg d "$s" '. + {d: $d}' >>"$out"
    done
done

mem() { # DAEMON-PID SOCKET -> "daemon_pss shims_pss total_rss shims" (MB) of the daemon and
        # the shims serving it (their command line names the socket)
    local p dpss=0 spss=0 rss=0 n=0 a b
    for p in "$1" $(pgrep -f -- "$2" | grep -vx "$1"); do
        read -r a b < <(awk '/^Pss:/{p=$2} /^Rss:/{r=$2} END{print p+0, r+0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo "0 0")
        rss=$((rss + b))
        if [ "$p" = "$1" ]; then dpss=$a; else spss=$((spss + a)); n=$((n + 1)); fi
    done
    echo "$((dpss / 1024)) $((spss / 1024)) $((rss / 1024)) $n"
}
for s in containerd berth; do
    echo "== density: $s ($PODS pods, $PARALLEL at a time)" >&2
    "$CLIENT" -a "$WORK/$s.sock" density --image "$BUSYBOX" --pods "$PODS" --parallel "$PARALLEL" \
        --logs "$WORK/logs-$s" "${net[@]}" | jq -c --arg d "$s" '. + {d: $d}' >>"$out"
    sleep 2
    read -r dpss spss rss shims < <(mem "${dpid[$s]}" "$WORK/$s.sock")
    echo "$s: daemon PSS ${dpss} MB, $shims shims PSS ${spss} MB, RSS total ${rss} MB" >&2
    for m in "daemon_pss $dpss" "shims_pss $spss" "pss $((dpss + spss))" "rss $rss"; do
        printf '{"name":"cri_density_mem_%s","unit":"MB","median":%s,"d":"%s","shims":%s}\n' ${m% *} ${m#* } "$s" "$shims" >>"$out"
    done
    "$CLIENT" -a "$WORK/$s.sock" cleanup >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Samples of all rounds pooled per metric and daemon; ratio = berth / containerd (goal <= 0.5).
jq -rs 'def med: sort | if length == 0 then 0 elif length % 2 == 1 then .[length/2|floor]
                       else (.[length/2 - 1] + .[length/2]) / 2 end;
        group_by(.name)[] | (map(select(.d == "containerd"))) as $c | (map(select(.d == "berth"))) as $b
        | select(($c | length) > 0 and ($b | length) > 0)
        | ([$c[] | (.samples // [.median])[]] | med) as $cm | ([$b[] | (.samples // [.median])[]] | med) as $bm
        | [$c[0].name, $c[0].unit, ($cm * 10 | round / 10), ($bm * 10 | round / 10),
           (if $cm > 0 then ($bm / $cm * 100 | round / 100) else "-" end)] | @tsv' "$out" |
    (printf 'metric\tunit\tcontainerd\tberth\tratio\n'; cat) | column -t | tee "$RESULTS/$stamp-cri-ratios.txt"
net_desc=$([ "${CRI_HOSTNET:-0}" = 1 ] && echo "host network" || echo "CNI bridge (per-daemon, no gateway)")
echo "berth sandbox_mode=${BERTH_SANDBOX_MODE:-pauseless}; reps=$REPS x rounds=$ROUNDS, pods=$PODS parallel=$PARALLEL, network: $net_desc; load before: $load_before, after: $load_after; $(nproc) cpus" |
    tee -a "$RESULTS/$stamp-cri-ratios.txt"
