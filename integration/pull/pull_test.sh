#!/usr/bin/env bash
# Daemon-side pulls (berth.services.transfer.v1) from local docker-registry instances:
# plain HTTP pull + ctr run, a second pull that fetches nothing, ctr pull finding the snapshots,
# Basic auth (request credentials, docker config.json), a hosts.toml mirror, the registry
# stopped mid-pull (clear error) and restarted (the pull resumes, digests verified), and
# berthd killed mid-pull (no half-applied snapshot, the next pull completes), and pushes with
# berthctl (to a new repository, mounted blobs, skopeo sees the same digest, a pull of it runs;
# to the htpasswd registry with and without credentials; a missing image is NotFound).
# Usage: pull_test.sh BIN_DIR   (root; exit 77 when tools are missing)
. "$(dirname "$0")/../harness.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
h_init pull "$1"
h_require docker-registry skopeo curl
[ -x "$H_BIN/berth-pull-test" ] || { echo "skip: $H_BIN/berth-pull-test not built"; exit 77; }
export PATH="$H_BIN:$PATH"
PY=/usr/bin/python3
REG_PID=()
stop_registry() { # INDEX
    local p=${REG_PID[$1]:-}
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    REG_PID[$1]=""
}
trap 'for i in "${!REG_PID[@]}"; do stop_registry "$i"; done; h_cleanup' EXIT

# start_registry INDEX PORT [HTPASSWD]: storage under $H_WORK/reg-INDEX, kept across restarts.
start_registry() {
    local i=$1 port=$2 auth=${3:-}
    {
        printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$H_WORK/reg-$i"
        printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
        [ -n "$auth" ] && printf 'auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n' "$auth"
    } >"$H_WORK/reg-$i.yml"
    docker-registry serve "$H_WORK/reg-$i.yml" >>"$H_WORK/reg-$i.log" 2>&1 &
    REG_PID[$i]=$!
    for _ in $(seq 100); do
        case $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/") in 200|401) return 0 ;; esac
        sleep 0.1
    done
    echo "registry $i did not start:"; tail -5 "$H_WORK/reg-$i.log"; return 1
}

# A layout with the busybox layer plus big incompressible uncompressed layers.
make_big_layout() { # DIR NLAYERS MIB
    local dir=$1 n=$2 mib=$3 w=$H_WORK/big-build
    mkdir -p "$w" && tar -C "$w" -xf "$H_WORK/bb.tar"
    local man cfg
    man=$($PY - "$w" "$n" "$mib" <<'PYEOF'
import hashlib, io, json, os, sys, tarfile
w, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(w, "blobs", "sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d
idx = json.load(open(os.path.join(w, "index.json")))
man = json.load(open(os.path.join(blobs, idx["manifests"][0]["digest"][7:])))
cfg = json.load(open(os.path.join(blobs, man["config"]["digest"][7:])))
for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = os.urandom(mib << 20)
        ti = tarfile.TarInfo("data/blob%d" % i); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
    layer = buf.getvalue()
    dg = put(layer)
    man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": dg, "size": len(layer)})
    cfg["rootfs"]["diff_ids"].append(dg)
c = json.dumps(cfg).encode()
man["config"] = {"mediaType": man["config"]["mediaType"], "digest": put(c), "size": len(c)}
m = json.dumps(man).encode()
idx["manifests"][0].update({"digest": put(m), "size": len(m)})
json.dump(idx, open(os.path.join(w, "index.json"), "w"))
print(" ".join(l["digest"] for l in man["layers"]))
PYEOF
    ) || return 1
    mv "$w" "$dir"
    echo "$man"
}

pull() { timeout 300 berth-pull-test --address "$H_SOCK" "$@"; }
snapshot_count() { hctr -n "$1" snapshots ls | awk 'NR>1 && $NF=="Committed"' | wc -l; }

# --- images and registries --------------------------------------------------------------
"$HERE/../make-busybox-image.sh" "$H_WORK/bb.tar" >/dev/null || exit 1
mkdir -p "$H_WORK/bb" && tar -C "$H_WORK/bb" -xf "$H_WORK/bb.tar"
P0=$(h_free_port)
start_registry 0 "$P0" || exit 1
R0=127.0.0.1:$P0
skopeo copy -q --dest-tls-verify=false "oci:$H_WORK/bb:latest" "docker://$R0/test/busybox:latest" ||
    { echo "skopeo push failed"; exit 1; }

mkdir -p "$H_WORK/certs.d/mirror.invalid"
printf 'server = "http://127.0.0.1:1"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$R0" \
    >"$H_WORK/certs.d/mirror.invalid/hosts.toml"
cat >"$H_WORK/berthd.toml" <<TOML
version = 1
[plugins."io.containerd.transfer.v1.berth"]
  config_path = "$H_WORK/certs.d"
  max_concurrent_downloads = 3
  max_attempts = 2
  low_speed_seconds = 5
TOML
export DOCKER_CONFIG=$H_WORK/docker
h_start_daemon -c "$H_WORK/berthd.toml" || exit 1

# --- plain HTTP pull, run, no-op repull, ctr pull -----------------------------------------
IMG=$R0/test/busybox:latest
check "pull: plain HTTP from a local registry" pull --plain-http "$IMG"
check "pull: the image record exists" sh -c "ctr -a '$H_SOCK' images ls -q | grep -qx '$IMG'"
check "pull: the layer is unpacked as a committed snapshot" test "$(snapshot_count default)" = 1
check "pull: the pull lease is gone" test -z "$(hctr leases ls -q)"
check "pull: manifest carries gc.ref.content labels" sh -c "ctr -a '$H_SOCK' content ls | grep -q 'containerd.io/gc.ref.content.config='"
check "pull: config carries gc.ref.snapshot.overlayfs" sh -c "ctr -a '$H_SOCK' content ls | grep -q 'containerd.io/gc.ref.snapshot.overlayfs=sha256:'"
check "run: ctr run of the pulled image" \
    timeout 60 ctr -a "$H_SOCK" run --rm --runtime io.containerd.berth.v2 "$IMG" pull-run /bin/true
check "repull: succeeds" sh -c "timeout 300 berth-pull-test --address '$H_SOCK' --plain-http '$IMG' >'$H_WORK/repull.out' 2>&1"
check "repull: downloads nothing" sh -c "! grep -q ' downloading ' '$H_WORK/repull.out' && grep -q ' exists ' '$H_WORK/repull.out'"
check "ctr pull: finds content and snapshots already there" \
    timeout 60 ctr -a "$H_SOCK" images pull --plain-http "$IMG"
check "ctr pull: no new snapshot" test "$(snapshot_count default)" = 1
# --- berthctl's progress: redrawn in place on a terminal, plain lines otherwise ------------
bctl_pull() { echo "berthctl --address '$H_SOCK' --namespace $1 pull --plain-http '$IMG'"; }
has() { grep -q -- "$2" "$1"; }      # FILE PATTERN
lacks() { ! grep -q -- "$2" "$1"; }  # FILE PATTERN
check "berthctl pull: on a terminal (script(1))" \
    sh -c "timeout 120 script -qec \"$(bctl_pull tty)\" /dev/null </dev/null >'$H_WORK/tty.out' 2>&1"
check "berthctl pull: the terminal output moves the cursor up to redraw" has "$H_WORK/tty.out" $'\x1b\\[[0-9]*A'
check "berthctl pull: ...and clears each line it redraws" has "$H_WORK/tty.out" $'\r\x1b\\[2K'
check "berthctl pull: without a terminal" sh -c "timeout 120 $(bctl_pull plain) >'$H_WORK/plain.out' 2>&1"
check "berthctl pull: plain output has no escape sequences or carriage returns" \
    lacks "$H_WORK/plain.out" $'[\x1b\r]'
check "berthctl pull: plain output is one line per state change" \
    sh -c "grep -q ': done' '$H_WORK/plain.out' && grep -q '^pulled ' '$H_WORK/plain.out'"
check_fails_with "pull: unknown tag is not found" "NotFound|not found|code 5|: 5:" pull --plain-http "$R0/test/busybox:nope"
check_fails_with "pull: bad reference is invalid" "invalid reference" pull "Bad/Ref"

# --- an image index: the platform's manifest is chosen ------------------------------------
make_index_layout() { # DIR: bb's image plus a fake arm64 one behind an OCI index
    cp -r "$H_WORK/bb" "$1"
    $PY - "$1" <<'PYEOF'
import hashlib, json, os, sys
w = sys.argv[1]; blobs = os.path.join(w, "blobs", "sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest(); open(os.path.join(blobs, d), "wb").write(b); return "sha256:" + d
def get(d): return json.load(open(os.path.join(blobs, d[7:])))
top = json.load(open(os.path.join(w, "index.json")))
amd = top["manifests"][0]
man = get(amd["digest"]); cfg = get(man["config"]["digest"])
cfg["architecture"] = "arm64"; c = json.dumps(cfg).encode()
man["config"] = dict(man["config"], digest=put(c), size=len(c)); m = json.dumps(man).encode()
arm = {"mediaType": amd["mediaType"], "digest": put(m), "size": len(m), "platform": {"os": "linux", "architecture": "arm64"}}
amd = {k: amd[k] for k in ("mediaType", "digest", "size", "platform")}
idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [arm, amd]}).encode()
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put(idx), "size": len(idx),
           "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, open(os.path.join(w, "index.json"), "w"))
print(arm["digest"], amd["digest"])
PYEOF
}
read -r ARM_MAN AMD_MAN < <(make_index_layout "$H_WORK/multi")
skopeo copy -q --all --dest-tls-verify=false "oci:$H_WORK/multi:latest" "docker://$R0/test/multi:latest" ||
    { echo "skopeo push (index) failed"; exit 1; }
check "index: pull picks this machine's manifest" pull --namespace multi --plain-http "$R0/test/multi:latest"
check "index: the index record is the image target" \
    sh -c "ctr -a '$H_SOCK' -n multi images ls | grep -q 'application/vnd.oci.image.index.v1+json'"
check "index: gc.ref.content.m.0 names the chosen manifest" \
    sh -c "ctr -a '$H_SOCK' -n multi content ls | grep -q 'containerd.io/gc.ref.content.m.0=$AMD_MAN'"
check "index: the other platform's manifest is not fetched" \
    sh -c "! ctr -a '$H_SOCK' -n multi content ls | grep -q '^$ARM_MAN'"
check "index: --platform linux/arm64 picks the other manifest" \
    sh -c "timeout 60 berth-pull-test --address '$H_SOCK' --namespace arm --no-unpack --platform linux/arm64 --plain-http '$R0/test/multi:latest' && ctr -a '$H_SOCK' -n arm content ls | grep -q '^$ARM_MAN'"
check "index: run from the index image" \
    timeout 60 ctr -a "$H_SOCK" -n multi run --rm --runtime io.containerd.berth.v2 "$R0/test/multi:latest" idx-run /bin/true

# --- import / export ------------------------------------------------------------------------
check "export: OCI layout tar of the pulled image" \
    timeout 120 berth-pull-test --address "$H_SOCK" export "$H_WORK/export.tar" "$IMG"
check "export: the tar holds index.json, oci-layout and the blobs" \
    sh -c "tar tf '$H_WORK/export.tar' | grep -qx index.json && tar tf '$H_WORK/export.tar' | grep -qx oci-layout && test \$(tar tf '$H_WORK/export.tar' | grep -c '^blobs/sha256/') = 3"
check "export: the stock ctr imports it" \
    sh -c "timeout 60 ctr -a '$H_SOCK' -n ctrimp images import '$H_WORK/export.tar' && ctr -a '$H_SOCK' -n ctrimp images ls -q | grep -qx '$IMG'"
check "import: our export back, unpacked, runs" \
    sh -c "timeout 120 berth-pull-test --address '$H_SOCK' --namespace imp import --unpack '$H_WORK/export.tar' >/dev/null &&
           timeout 60 ctr -a '$H_SOCK' -n imp run --rm --runtime io.containerd.berth.v2 '$IMG' imp-run /bin/true"
check "import: digests preserved" \
    sh -c "test \"\$(ctr -a '$H_SOCK' -n imp images ls | awk 'NR>1 {print \$3}')\" = \"\$(ctr -a '$H_SOCK' images ls | awk -v i='$IMG' '\$1==i {print \$3}')\""
make_docker_save() { # OUT.tar: a docker-save archive of the busybox image (uncompressed layer)
    local d=$H_WORK/dsave
    mkdir -p "$d/layer0"
    $PY - "$H_WORK/bb" "$d" <<'PYEOF'
import gzip, hashlib, json, os, sys
src, d = sys.argv[1], sys.argv[2]; blobs = os.path.join(src, "blobs", "sha256")
def get(x): return open(os.path.join(blobs, x[7:]), "rb").read()
man = json.loads(get(json.load(open(os.path.join(src, "index.json")))["manifests"][0]["digest"]))
cfg = get(man["config"]["digest"])
open(os.path.join(d, man["config"]["digest"][7:] + ".json"), "wb").write(cfg)
open(os.path.join(d, "layer0", "layer.tar"), "wb").write(gzip.decompress(get(man["layers"][0]["digest"])))
json.dump([{"Config": man["config"]["digest"][7:] + ".json", "RepoTags": ["berth.local/docker-save:v1"],
            "Layers": ["layer0/layer.tar"]}], open(os.path.join(d, "manifest.json"), "w"))
PYEOF
    tar -C "$d" -cf "$1" manifest.json layer0 "$(cd "$d" && ls *.json | grep -v manifest.json)"
}
make_docker_save "$H_WORK/docker-save.tar"
check "import: a docker save archive, unpacked, runs" \
    sh -c "timeout 120 berth-pull-test --address '$H_SOCK' --namespace dsave import --unpack '$H_WORK/docker-save.tar' >/dev/null &&
           timeout 60 ctr -a '$H_SOCK' -n dsave run --rm --runtime io.containerd.berth.v2 berth.local/docker-save:v1 ds-run /bin/true"
mkdir -p "$H_WORK/bad" && tar -C "$H_WORK/bad" -xf "$H_WORK/export.tar"
# A blob the store does not have yet, whose bytes do not match its name (blobs already in the
# store are not read again, as in containerd).
printf 'not these bytes' >"$H_WORK/bad/blobs/sha256/$(printf 'other bytes' | sha256sum | cut -d' ' -f1)"
tar -C "$H_WORK/bad" -cf "$H_WORK/bad.tar" .
check_fails_with "import: a corrupted blob is refused" "digest mismatch" \
    timeout 120 berth-pull-test --address "$H_SOCK" --namespace bad import "$H_WORK/bad.tar"

# --- hosts.toml mirror -------------------------------------------------------------------
check "mirror: hosts.toml sends the pull to the mirror" pull --namespace mirror mirror.invalid/test/busybox:latest
check "mirror: the image is unpacked" test "$(snapshot_count mirror)" = 1

# --- Basic auth --------------------------------------------------------------------------
HASH=$($PY -W ignore -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))' s3cret 2>/dev/null)
if [[ "$HASH" != \$2* ]]; then
    echo "skip: no bcrypt hasher (htpasswd -B or python3 crypt with blowfish) for the auth cases"
else
    echo "berth:$HASH" >"$H_WORK/htpasswd"
    P1=$(h_free_port)
    start_registry 1 "$P1" "$H_WORK/htpasswd" || exit 1
    R1=127.0.0.1:$P1
    skopeo copy -q --dest-tls-verify=false --dest-creds berth:s3cret "oci:$H_WORK/bb:latest" \
        "docker://$R1/auth/busybox:latest" || { echo "skopeo push (auth) failed"; exit 1; }
    check_fails_with "auth: no credentials -> unauthenticated" "requires authentication|Unauthenticated|: 16:" \
        pull --namespace auth --plain-http "$R1/auth/busybox:latest"
    check_fails_with "auth: wrong password -> unauthenticated" "16|401|authentication" \
        pull --namespace auth --plain-http --user berth:wrong "$R1/auth/busybox:latest"
    check "auth: Basic credentials in the request" \
        pull --namespace auth --plain-http --user berth:s3cret "$R1/auth/busybox:latest"
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$R1" "$(printf berth:s3cret | base64)" >"$DOCKER_CONFIG/config.json"
    check "auth: credentials from docker config.json" \
        pull --namespace auth2 --plain-http "$R1/auth/busybox:latest"
fi

# --- registry stopped mid-pull, then restarted: the pull resumes ---------------------------
# push_big NAME: a fresh big image (new random bytes) at $R0/test/NAME; sets LAYERS.
push_big() {
    rm -rf "$H_WORK/$1"
    make_big_layout "$H_WORK/$1" 3 96 >/dev/null || { echo "cannot build the big image"; return 1; }
    skopeo copy -q --dest-tls-verify=false "oci:$H_WORK/$1:latest" "docker://$R0/test/$1:latest" || return 1
    # skopeo gzips uncompressed layers on the way: take the digests the registry serves.
    LAYERS=$(curl -s -H "Accept: application/vnd.oci.image.manifest.v1+json" \
        "http://$R0/v2/test/$1/manifests/latest" |
        $PY -c 'import json,sys; print(" ".join(l["digest"] for l in json.load(sys.stdin)["layers"]))')
    BIG=$R0/test/$1:latest
}
push_big big || exit 1
# mid_pull NS ACTION: start a pull, run ACTION once a big layer's ingest has bytes, wait for it.
mid_pull() {
    local ns=$1 action=$2 biglayer
    biglayer=$(awk '{print $2}' <<<"$LAYERS")
    pull --namespace "$ns" --plain-http --max-downloads 3 "$BIG" >"$H_WORK/mid-$ns.out" 2>&1 &
    local cpid=$!
    ACTED=0
    for _ in $(seq 600); do
        if hctr -n "$ns" content active 2>/dev/null | grep -q "layer-$biglayer"; then
            $action; ACTED=1; break
        fi
        kill -0 $cpid 2>/dev/null || break
        sleep 0.02
    done
    wait $cpid
    local rc=$?
    return $rc
}
kill_registry() { stop_registry 0; }
t0=$(date +%s.%N)
mid_pull stop kill_registry; rc=$?
t1=$(date +%s.%N)
check "registry stop: the registry was stopped mid-pull" test "$ACTED" = 1
check "registry stop: the pull fails" test "$rc" != 0
check "registry stop: the error says the registry is unavailable" \
    grep -Eq "14: .*(Connection refused|connect|no progress|Couldn't)" "$H_WORK/mid-stop.out"
echo "   (failed after $(echo "$t1 - $t0" | bc) s: $(grep 'pull failed' "$H_WORK/mid-stop.out" | cut -c1-200))"
check "registry stop: partial ingests are kept for resumption" \
    sh -c "ctr -a '$H_SOCK' -n stop content active | grep -q layer-"
check "registry stop: no snapshot of an unverified layer" \
    sh -c "test \$(ctr -a '$H_SOCK' -n stop snapshots ls | awk 'NR>1 && \$NF==\"Committed\"' | wc -l) -le 1"
stop_registry 0  # (a no-op when it was stopped above; never two on one port)
start_registry 0 "$P0" || exit 1
t0=$(date +%s.%N)
check "registry restart: the pull completes" sh -c "timeout 300 berth-pull-test --address '$H_SOCK' --namespace stop --plain-http '$BIG' >'$H_WORK/resume.out' 2>&1"
t1=$(date +%s.%N)
echo "   (resumed pull took $(echo "$t1 - $t0" | bc) s)"
check "registry restart: a layer resumed from a non-zero offset" \
    grep -Eq "^layer-sha256:[0-9a-f]+ downloading [1-9][0-9]*/" "$H_WORK/resume.out"
verify_blobs() { # NS
    local d
    for d in $LAYERS; do
        [ "$(ctr -a "$H_SOCK" -n "$1" content get "$d" | sha256sum | cut -d' ' -f1)" = "${d#sha256:}" ] || { echo "bad $d"; return 1; }
    done
}
check "registry restart: every layer blob verifies" verify_blobs stop
check "registry restart: all four layers unpacked" test "$(snapshot_count stop)" = 4
check "registry restart: ctr run of the big image" \
    timeout 120 ctr -a "$H_SOCK" -n stop run --rm --runtime io.containerd.berth.v2 "$BIG" big-run /bin/sh -c 'test -s /data/blob2'

# --- berthd killed mid-pull ----------------------------------------------------------------
push_big big2 || exit 1  # new blobs: content already on disk is shared across namespaces
kill_daemon() { kill -9 "$H_PID"; wait "$H_PID" 2>/dev/null; H_PID=""; }
mid_pull crash kill_daemon
check "crash: berthd was killed mid-pull" test "$ACTED" = 1
[ -n "$H_PID" ] && h_stop_daemon  # (only when the pull ended first: keep one daemon, one pid)
if h_start_daemon -c "$H_WORK/berthd.toml" >/dev/null; then ok "crash: berthd restarts after kill -9 mid-pull"
else fail "crash: berthd restarts after kill -9 mid-pull"; fi
check "crash: no half-applied snapshot was committed" \
    sh -c "test \$(ctr -a '$H_SOCK' -n crash snapshots ls | awk 'NR>1 && \$NF==\"Committed\"' | wc -l) -le 2"
t0=$(date +%s.%N)
check "crash: the next pull completes" pull --namespace crash --plain-http --quiet "$BIG"
t1=$(date +%s.%N)
echo "   (pull after the crash took $(echo "$t1 - $t0" | bc) s)"
check "crash: every layer blob verifies" verify_blobs crash
check "crash: all four layers unpacked" test "$(snapshot_count crash)" = 4
push_big big3 || exit 1
t0=$(date +%s.%N)
check "cold pull of the big image (4 layers, ~289 MiB)" pull --namespace cold --plain-http --quiet "$BIG"
t1=$(date +%s.%N)
echo "   (cold pull + unpack took $(echo "$t1 - $t0" | bc) s)"

# --- push: berthctl push to a new repository, to the htpasswd registry, of a missing image ---
bctl() { timeout 300 berthctl --address "$H_SOCK" "$@"; }
manifest_digest() { # REF [SKOPEO ARGS...]: the digest the registry serves for REF
    local ref=$1; shift
    skopeo inspect --tls-verify=false "$@" "docker://$ref" | $PY -c 'import json,sys; print(json.load(sys.stdin)["Digest"])'
}
PUSHED=$R0/test/pushed:v1
LOCAL_DIGEST=$(ctr -a "$H_SOCK" images ls | awk -v i="$IMG" '$1==i {print $3}')
check "push: berthctl push of the pulled image to a new repository (plain HTTP)" \
    sh -c "timeout 300 berthctl --address '$H_SOCK' push --plain-http '$IMG' '$PUSHED' >'$H_WORK/push.out' 2>&1"
check "push: one progress line per blob, and the manifest" \
    sh -c "grep -Eq '^layer-sha256:[0-9a-f]+: (done|mounted)' '$H_WORK/push.out' &&
           grep -Eq '^config-sha256:[0-9a-f]+: (done|mounted)' '$H_WORK/push.out' &&
           grep -Eq '^manifest-sha256:[0-9a-f]+: done' '$H_WORK/push.out' &&
           grep -q '^pushed $PUSHED $LOCAL_DIGEST' '$H_WORK/push.out'"
check "push: blobs of the same registry are mounted from their source repository" \
    grep -Eq '^layer-sha256:[0-9a-f]+: mounted' "$H_WORK/push.out"
check "push: skopeo inspect shows the same manifest digest" \
    test "$(manifest_digest "$PUSHED")" = "$LOCAL_DIGEST"
check "push: a second push finds every blob there" \
    sh -c "timeout 300 berthctl --address '$H_SOCK' push --plain-http '$IMG' '$PUSHED' >'$H_WORK/push2.out' 2>&1 &&
           grep -Eq '^layer-sha256:[0-9a-f]+: exists' '$H_WORK/push2.out' && ! grep -Eq '^(layer|config)-.*: uploading' '$H_WORK/push2.out'"
check "push: a pull of the pushed repository into a new namespace runs" \
    sh -c "timeout 300 berth-pull-test --address '$H_SOCK' --namespace pushed --plain-http '$PUSHED' >/dev/null &&
           timeout 60 ctr -a '$H_SOCK' -n pushed run --rm --runtime io.containerd.berth.v2 '$PUSHED' push-run /bin/true"
check_fails_with "push: an image that does not exist is NotFound" 'image "berth.local/no-such:v1": not found' \
    bctl push --plain-http berth.local/no-such:v1 "$R0/test/none:v1"
check_fails_with "push: a remote that is no reference is refused" "invalid reference" \
    bctl push --plain-http "$IMG" "Bad/Ref"
if [ -n "${R1:-}" ]; then
    # The daemon reads DOCKER_CONFIG's config.json (written by the auth checks): hide it.
    mv "$DOCKER_CONFIG/config.json" "$DOCKER_CONFIG/config.json.off" 2>/dev/null
    check_fails_with "push auth: without credentials fails clearly" "requires authentication" \
        bctl push --plain-http "$IMG" "$R1/auth/pushed:v1"
    check_fails_with "push auth: a wrong password fails" "authentication|401|unauthorized" \
        bctl push --plain-http -u berth:wrong "$IMG" "$R1/auth/pushed:v1"
    check "push auth: Basic credentials in the request (blobs uploaded)" \
        sh -c "timeout 300 berthctl --address '$H_SOCK' push --plain-http -u berth:s3cret '$IMG' '$R1/auth/pushed:v1' >'$H_WORK/push-auth.out' 2>&1 &&
               grep -Eq '^layer-sha256:[0-9a-f]+: done' '$H_WORK/push-auth.out'"
    check "push auth: the registry serves the same manifest digest" \
        test "$(manifest_digest "$R1/auth/pushed:v1" --creds berth:s3cret)" = "$LOCAL_DIGEST"
    mv "$DOCKER_CONFIG/config.json.off" "$DOCKER_CONFIG/config.json" 2>/dev/null
else
    echo "skip: push to the htpasswd registry (no bcrypt hasher)"
fi
h_finish
