#!/usr/bin/env bash
# Crash during ingest: stream a large blob into `ctr content ingest`, kill -9 berthd part-way
# (seeded points, 30-60%), restart on the same root and check the ingest is resumable (Status
# shows the ref with an offset > 0), that re-running the same ingest continues from that offset
# (ctr 1.6's content.Copy asks Status and seeks stdin; a restart from 0 is tolerated and
# reported), and that afterwards the blob is byte-exact, every blob hashes to its own name and
# no ingest is left. The last round crashes twice (the second time while resuming).
# Usage: crash_ingest_test.sh BIN_DIR   (env: SEED, CRASH_SIZE_MB=1024, CRASH_ROUNDS=3)
. "$(dirname "$0")/../harness.sh"
h_init crash-ingest "$1"
h_require openssl

SEED=${SEED:-$(( (RANDOM << 15) | RANDOM ))}
SIZE=$(( ${CRASH_SIZE_MB:-1024} * 1024 * 1024 ))
ROUNDS=${CRASH_ROUNDS:-3}
echo "seed $SEED (rerun with SEED=$SEED), size $SIZE bytes, $ROUNDS rounds"
RANDOM=$SEED
CONTENT=$H_ROOT/io.containerd.content.v1.content
STRACE=""
command -v strace >/dev/null && STRACE=strace

h_start_daemon || exit 1

# bytes_of HUMAN: ctr prints go-units HumanSize (decimal, 4 significant digits) -> bytes
bytes_of() {
    awk -v s="$1" 'BEGIN { n = s + 0; u = s; sub(/^[0-9.]+/, "", u)
        m["B"] = 1; m["kB"] = 1e3; m["MB"] = 1e6; m["GB"] = 1e9; m["TB"] = 1e12
        printf "%d\n", n * m[u] }'
}
# active_offset REF: the ref's offset as `ctr content active` shows it, empty if not listed
active_offset() {
    local h
    h=$(hctr content active 2>/dev/null | awk -F'\t' -v r="$1" 'NR > 1 && $1 == r {print $2; exit}')
    [ -n "$h" ] && bytes_of "$h"
}
kill9_daemon() { kill -9 "$H_PID"; wait "$H_PID" 2>/dev/null; H_PID=""; }

# crash_during_ingest REF FILE DIGEST MIN_PCT -> starts the ingest, kills berthd once the ref's
# offset passes a seeded point >= MIN_PCT, leaves the killed offset in KILLED_AT.
crash_during_ingest() {
    local ref=$1 file=$2 dgst=$3 min=$4 pct target off=0 cpid
    pct=$(( min + RANDOM % (61 - min) ))
    target=$(( SIZE / 100 * pct ))
    timeout 600 ctr --address "$H_SOCK" content ingest --expected-digest "$dgst" --expected-size "$SIZE" \
        "$ref" <"$file" >"$H_WORK/ingest-$ref.out" 2>&1 &
    cpid=$!
    while kill -0 "$cpid" 2>/dev/null; do
        off=$(active_offset "$ref")
        [ -n "$off" ] && [ "$off" -ge "$target" ] && break
        sleep 0.02
    done
    kill9_daemon
    KILLED_AT=$off
    wait "$cpid"
    local rc=$?
    echo "  killed berthd at ~$pct% (target $target, Status said $off); ctr exited $rc: $(tail -n1 "$H_WORK/ingest-$ref.out")"
    check "$ref: the ingest was interrupted (ctr failed)" test "$rc" != 0
}

# resume_ingest REF FILE DIGEST: re-run the same ingest to completion; checks where ctr resumed
resume_ingest() {
    local ref=$1 file=$2 dgst=$3 data_size status_off resumed
    data_size=$(stat -c %s "$CONTENT"/ingest/*/data 2>/dev/null | head -n1)
    status_off=$(active_offset "$ref")
    echo "  after restart: Status offset ~${status_off:-none}, data file ${data_size:-none} bytes"
    check "$ref: after restart Status lists the ref with an offset > 0" test "${status_off:-0}" -gt 0
    # ctr shows 4 significant digits: Status and the data file agree to 0.1%
    check "$ref: the Status offset is the size of the ingest's data" \
        test $(( ${status_off:-0} - ${data_size:-0} )) -le $(( ${data_size:-0} / 1000 + 1000 )) -a \
             $(( ${data_size:-0} - ${status_off:-0} )) -le $(( ${data_size:-0} / 1000 + 1000 ))
    check "$ref: the ingest is not complete" test "${data_size:-0}" -lt "$SIZE"
    local cmd=(timeout 600 ctr --address "$H_SOCK" content ingest --expected-digest "$dgst"
               --expected-size "$SIZE" "$ref")
    # a second resume of the same ref must not read the first one's trace before strace truncates it
    rm -f "$H_WORK/lseek-$ref.txt"
    [ -n "$STRACE" ] && cmd=(strace -f --seccomp-bpf -qq -e trace=lseek -o "$H_WORK/lseek-$ref.txt" "${cmd[@]}")
    "${cmd[@]}" <"$file" >"$H_WORK/resume-$ref.out" 2>&1 &
    RESUME_PID=$!
    if [ -n "$STRACE" ]; then
        # wait until ctr has either seeked stdin or started sending from 0
        local i t0=$SECONDS
        for i in $(seq 1200); do
            grep -q 'lseek(0,' "$H_WORK/lseek-$ref.txt" 2>/dev/null && break
            kill -0 "$RESUME_PID" 2>/dev/null || break
            sleep 0.05
        done
        resumed=$(sed -n 's/.*lseek(0, \([0-9]*\), SEEK_SET).*/\1/p' "$H_WORK/lseek-$ref.txt" | head -n1)
        if [ -n "$resumed" ]; then
            echo "  ctr resumed at offset $resumed after $((SECONDS - t0)) s"
            check "$ref: ctr resumed exactly at the restored offset ($data_size)" test "$resumed" = "$data_size"
        else
            echo "  ctr did not seek within $((SECONDS - t0)) s: restarted from 0 (accepted)"
            echo "  (ctr $(kill -0 "$RESUME_PID" 2>/dev/null && echo running || echo exited); Status now:" \
                "$(active_offset "$ref"); strace: $(head -c 300 "$H_WORK/lseek-$ref.txt"))"
            grep -iE "$ref|ingest|writer" "$H_WORK/berthd.log" | tail -n 5 | sed 's/^/  log: /'
        fi
    fi
}

finish_resume() {
    local ref=$1
    wait "$RESUME_PID"
    local rc=$?
    check "$ref: the re-run ingest completes" sh -c "test $rc = 0 || { cat '$H_WORK/resume-$ref.out'; exit 1; }"
}

check_store_consistent() {
    local tag=$1 bad=0 f h
    for f in "$CONTENT"/blobs/sha256/*; do
        [ -e "$f" ] || continue
        h=$(sha256sum "$f" | cut -d' ' -f1)
        [ "$h" = "$(basename "$f")" ] || { echo "  blob $(basename "$f") hashes to $h"; bad=1; }
    done
    check "$tag: every blob hashes to its own name" test "$bad" = 0
    check "$tag: no blob temp files" sh -c "! ls -A '$CONTENT/blobs/sha256' | grep -v '^[0-9a-f]\{64\}\$'"
    check "$tag: ctr content active lists nothing" \
        sh -c "test \"\$(timeout 30 ctr --address '$H_SOCK' content active | awk 'NR > 1' | wc -l)\" = 0"
    check "$tag: no ingest directory left" sh -c "test -z \"\$(ls -A '$CONTENT/ingest' 2>/dev/null)\""
}

for round in $(seq "$ROUNDS"); do
    ref=crash-$round
    file=$H_WORK/blob-$round
    key=$(printf '%s-%s' "$SEED" "$round" | sha256sum | cut -c1-32)
    openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000 -in /dev/zero \
        2>/dev/null | head -c "$SIZE" >"$file"
    dgst=sha256:$(sha256sum "$file" | cut -d' ' -f1)
    echo "round $round: $ref $dgst"

    crash_during_ingest "$ref" "$file" "$dgst" 30
    h_start_daemon || exit 1
    if [ "$round" = "$ROUNDS" ]; then
        # crash again while resuming, beyond the first point
        resume_ingest "$ref" "$file" "$dgst"
        first=$KILLED_AT
        while kill -0 "$RESUME_PID" 2>/dev/null; do
            off=$(active_offset "$ref")
            [ -n "$off" ] && [ "$off" -ge $(( first + (SIZE - first) / 3 )) ] && break
            sleep 0.02
        done
        KILLED_AT=${off:-0}
        kill9_daemon
        wait "$RESUME_PID"
        echo "  killed berthd again at ~$KILLED_AT while resuming"
        h_start_daemon || exit 1
    fi
    resume_ingest "$ref" "$file" "$dgst"
    finish_resume "$ref"
    check "$ref: ctr content label gc.root" hctr content label "$dgst" containerd.io/gc.root=1
    check "$ref: content get is byte-exact" \
        sh -c "test \"\$(timeout 600 ctr --address '$H_SOCK' content get '$dgst' | sha256sum | cut -d' ' -f1)\" = '${dgst#sha256:}'"
    check "$ref: content ls lists the blob" \
        sh -c "timeout 30 ctr --address '$H_SOCK' content ls | grep -q '^$dgst'"
    check_store_consistent "$ref"
    rm -f "$file"
done

# And once more across a clean restart: nothing resurrected, every blob still listed.
h_stop_daemon
h_start_daemon || exit 1
check "restart: $ROUNDS blobs listed" \
    sh -c "test \"\$(timeout 30 ctr --address '$H_SOCK' content ls | awk 'NR > 1' | wc -l)\" = $ROUNDS"
check_store_consistent "restart"
echo "seed $SEED"
h_finish
