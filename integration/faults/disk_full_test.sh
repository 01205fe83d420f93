#!/usr/bin/env bash
# Disk full: berthd with its --root on a small tmpfs that the test mounts (and unmounts).
#  1. ingest of a blob bigger than the whole filesystem: a clear "no space" error, nothing
#     committed, the daemon keeps serving; the partial ingest is deleted (stock ctr 1.6 has no
#     Abort verb: with the daemon stopped, as an admin would) and an ingest then succeeds.
#  2. ingest that fails because a filler file takes the space: after the filler is removed the
#     same ingest resumes and completes, without a restart.
#  3. image import whose unpack does not fit: a clear error, no image that claims to be unpacked,
#     no half snapshot; after images rm + GC the space is back and an import + run succeed.
# Usage: disk_full_test.sh BIN_DIR   (env: DISK_MB=64)
. "$(dirname "$0")/lib.sh"
f_init disk-full "$1"
command -v openssl >/dev/null || { echo "skip: openssl not installed"; exit 77; }
DISK_MB=${DISK_MB:-64}
NOSPACE='[Nn]o space left on device|ENOSPC|RESOURCE_EXHAUSTED'
CONTENT=$F_ROOT/io.containerd.content.v1.content

mkdir -p "$F_ROOT"
mount -t tmpfs -o "size=${DISK_MB}m" berth-disk-full "$F_ROOT" || { echo "cannot mount tmpfs"; exit 1; }
F_MOUNTS+=("$F_ROOT")
f_start_daemon || exit 1
echo "root on a ${DISK_MB} MiB tmpfs: $(df -h --output=used,avail "$F_ROOT" | tail -n 1)"

free_mib() { df -m --output=avail "$F_ROOT" | tail -n 1 | tr -d ' '; }
listed() { fctr content ls -q 2>/dev/null | grep -qx "$1"; }
serves() {
    check "$1: the daemon still serves (version, content ls, images ls, namespaces ls)" \
        sh -c "timeout 30 ctr -a '$F_SOCK' version >/dev/null && timeout 30 ctr -a '$F_SOCK' -n '$F_NS' content ls >/dev/null &&
               timeout 30 ctr -a '$F_SOCK' -n '$F_NS' images ls >/dev/null && timeout 30 ctr -a '$F_SOCK' namespaces ls >/dev/null"
    check "$1: berthd is alive" kill -0 "$F_PID"
}
# ingest REF FILE: ctr content ingest with the expected digest and size
ingest() {
    local d
    d=sha256:$(sha256sum "$2" | cut -d' ' -f1)
    timeout 120 ctr -a "$F_SOCK" -n "$F_NS" content ingest --expected-digest "$d" \
        --expected-size "$(stat -c %s "$2")" "$1" <"$2"
}

echo "--- 1: a blob bigger than the filesystem"
random_file "$F_WORK/huge" $((DISK_MB + 16)) huge
HUGE=sha256:$(sha256sum "$F_WORK/huge" | cut -d' ' -f1)
check_fails_with "1: the ingest fails naming no space" "$NOSPACE" ingest huge "$F_WORK/huge"
check "1: the blob is not committed content" sh -c "! timeout 30 ctr -a '$F_SOCK' -n '$F_NS' content ls -q | grep -qx $HUGE"
check "1: no blob file of that digest" test ! -e "$CONTENT/blobs/sha256/${HUGE#sha256:}"
check "1: every blob hashes to its name" blobs_hash_ok
serves 1
fctr namespaces create "$F_NS-full" >/dev/null 2>&1 && nsw=ok || nsw=failed
echo "  (a metadata write while the disk is full: $nsw; free $(free_mib) MiB)"
check "1: the partial ingest is listed as active" sh -c "timeout 30 ctr -a '$F_SOCK' -n '$F_NS' content active | grep -q '^huge'"
f_stop_daemon; rc=$?
check "1: berthd stops cleanly with a full disk (rc $rc)" test "$rc" = 0
rm -rf "$CONTENT"/ingest/*
echo "  deleted the partial ingest: free $(free_mib) MiB"
f_start_daemon; rc=$?
check "1: berthd restarts" test "$rc" = 0
[ "$rc" = 0 ] || exit 1
check "1: the deleted ingest is no longer active" sh -c "! timeout 30 ctr -a '$F_SOCK' -n '$F_NS' content active | grep -q '^huge'"
random_file "$F_WORK/small" 8 small
SMALL=sha256:$(sha256sum "$F_WORK/small" | cut -d' ' -f1)
check "1: an 8 MiB ingest then succeeds" ingest small "$F_WORK/small"
check "1: ...and is listed" listed "$SMALL"
check "1: every blob hashes to its name" blobs_hash_ok
check "1: content rm" fctr content rm "$SMALL"
rm -f "$F_WORK/huge" "$F_WORK/small"

echo "--- 2: space taken by a filler, then freed"
fill=$(( $(free_mib) - 16 ))
head -c "$((fill << 20))" /dev/zero >"$F_ROOT/filler"
random_file "$F_WORK/mid" 32 mid
MID=sha256:$(sha256sum "$F_WORK/mid" | cut -d' ' -f1)
echo "  filler ${fill} MiB, free $(free_mib) MiB, blob 32 MiB"
check_fails_with "2: the ingest fails naming no space" "$NOSPACE" ingest mid "$F_WORK/mid"
check "2: the blob is not committed content" sh -c "! timeout 30 ctr -a '$F_SOCK' -n '$F_NS' content ls -q | grep -qx $MID"
serves 2
rm -f "$F_ROOT/filler"
check "2: after the filler is removed the same ingest completes" ingest mid "$F_WORK/mid"
check "2: ...and is listed" listed "$MID"
check "2: no ingest left" test -z "$(fctr content active | awk 'NR > 1')"
check "2: every blob hashes to its name" blobs_hash_ok
check "2: content rm" fctr content rm "$MID"
rm -f "$F_WORK/mid"

echo "--- 3: an image whose unpack does not fit"
mkdir -p "$F_WORK/bigroot/bin"
cp /usr/bin/busybox "$F_WORK/bigroot/bin/busybox"
random_file "$F_WORK/bigroot/data.bin" $((DISK_MB * 5 / 8)) bigimage
f_make_image "$F_WORK/big.tar" berth.local/big:latest "$F_WORK/bigroot"
rm -rf "$F_WORK/bigroot"
echo "  layer $((IMG_LAYER_SIZE >> 20)) MiB compressed, about as much unpacked; free $(free_mib) MiB"
check_fails_with "3: the import fails naming no space" "$NOSPACE" \
    timeout 120 ctr -a "$F_SOCK" -n "$F_NS" images import "$F_WORK/big.tar"
serves 3
check "3: images check: no image incomplete" test -z "$(images_not_complete)"
check "3: no image claims to be unpacked" sh -c "! timeout 30 ctr -a '$F_SOCK' -n '$F_NS' images check | awk 'NR > 1 && \$NF == \"true\"' | grep -q ."
check "3: every blob hashes to its name" blobs_hash_ok
for l in $(fctr leases ls -q); do check "3: leases rm --sync $l" fctr leases rm --sync "$l"; done
check "3: no snapshot left (no half layer committed)" test -z "$(fctr snapshots ls | awk 'NR > 1')"
if fctr images ls -q | grep -q .; then check "3: images rm --sync" fctr images rm --sync berth.local/big:latest; fi
l=$(fctr leases create | awk '{ print $NF }'); fctr leases rm --sync "$l" >/dev/null
echo "  after images rm + GC: free $(free_mib) MiB"
check "3: the space is back (free >= $((DISK_MB * 3 / 4)) MiB)" test "$(free_mib)" -ge $((DISK_MB * 3 / 4))
check "3: no blob left" test -z "$(fctr content ls -q)"
"$(dirname "$0")/../make-busybox-image.sh" "$F_WORK/busybox.tar" >/dev/null || exit 1
check "3: importing busybox then succeeds" fctr images import "$F_WORK/busybox.tar"
check "3: busybox complete and unpacked" \
    sh -c "timeout 30 ctr -a '$F_SOCK' -n '$F_NS' images check | awk 'NR > 1 && \$4 == \"complete\" && \$NF == \"true\"' | grep -q busybox"
check "3: ctr run --rm on it" fctr run --rm --runtime io.containerd.berth.v2 berth.local/busybox:latest df-run true
check "3: images rm --sync" fctr images rm --sync berth.local/busybox:latest

check "berthd log has no crash" sh -c "! grep -qiE 'segmentation|terminate called|sanitizer|core dumped' '$F_LOG'"
f_stop_daemon; rc=$?
check "berthd stops cleanly on TERM (rc $rc)" test "$rc" = 0
check "no shim left" test -z "$(shim_pids)"
check "no mount left but the test's tmpfs" test -z "$(f_mounts)"
umount "$F_ROOT" && F_MOUNTS=()
f_finish
