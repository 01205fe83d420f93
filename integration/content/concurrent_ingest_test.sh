#!/usr/bin/env bash
# Concurrent ingests through the stock ctr: 200 distinct small blobs at once (each labelled
# containerd.io/gc.root right after, as the acceptance scripts do), then 200 ingests of ONE
# blob under 200 distinct refs plus 20 under one shared ref, all at once. Every ingest succeeds
# or fails with a clear code (Unavailable/locked, AlreadyExists); afterwards the store holds
# exactly the 201 digests, each byte-exact, every blob hashes to its name, no ingest is left,
# and the same holds after a restart.
# Usage: concurrent_ingest_test.sh BIN_DIR   (env: CONC_N=200, CONC_P=200 parallel processes)
. "$(dirname "$0")/../harness.sh"
h_init concurrent-ingest "$1"
N=${CONC_N:-200}
P=${CONC_P:-200}
CONTENT=$H_ROOT/io.containerd.content.v1.content
h_start_daemon || exit 1

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
mkdir -p "$H_WORK/blobs" "$H_WORK/res"
: >"$H_WORK/expected"
for i in $(seq "$N"); do
    f=$H_WORK/blobs/$i
    head -c $(( 1024 + (i * 331) % 65536 )) /dev/urandom >"$f"
    echo "sha256:$(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f" >>"$H_WORK/expected"
done
same=$H_WORK/blobs/same
head -c $(( 4 * 1024 * 1024 + 123 )) /dev/urandom >"$same"
same_d=sha256:$(sha256sum "$same" | cut -d' ' -f1) same_n=$(stat -c %s "$same")
echo "$same_d $same_n $same" >>"$H_WORK/expected"

# job SOCK RESFILE DIGEST SIZE FILE REF [label]: one ingest, result "rc<TAB>output" in RESFILE
cat >"$H_WORK/job.sh" <<'EOF'
#!/usr/bin/env bash
sock=$1 res=$2 d=$3 n=$4 f=$5 ref=$6
out=$(timeout 120 ctr --address "$sock" content ingest --expected-digest "$d" --expected-size "$n" "$ref" <"$f" 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ "${7:-}" = label ]; then
    out+=$(timeout 60 ctr --address "$sock" content label "$d" containerd.io/gc.root=1 2>&1 >/dev/null)
    rc=$?
fi
printf '%s\t%s\n' "$rc" "$(tr '\n' ' ' <<<"$out")" >"$res"
EOF
chmod +x "$H_WORK/job.sh"

# --- 200 distinct blobs at once ---
t0=$(date +%s.%N)
head -n "$N" "$H_WORK/expected" | awk -v s="$H_SOCK" -v r="$H_WORK/res" \
    '{ n++; print s, r "/distinct-" n, $1, $2, $3, "distinct-" n, "label" }' |
    xargs -P "$P" -n 7 "$H_WORK/job.sh"
echo "distinct: $N ingests+labels in $(elapsed "$t0") s"
nok=$(cat "$H_WORK"/res/distinct-* | awk -F'\t' '$1 == 0' | wc -l)
check "distinct: all $N ingests + gc.root labels succeed ($nok)" \
    sh -c "test $nok = $N || grep -hv '^0	' '$H_WORK'/res/distinct-* | head -n 5"

# --- one blob, 200 distinct refs + 20 sharing one ref, at once ---
t0=$(date +%s.%N)
{
    for i in $(seq "$N"); do echo "$H_SOCK $H_WORK/res/same-$i $same_d $same_n $same same-$i"; done
    for i in $(seq 20); do echo "$H_SOCK $H_WORK/res/shared-$i $same_d $same_n $same shared-ref"; done
} | shuf | xargs -P "$P" -n 6 "$H_WORK/job.sh"
echo "same blob: $((N + 20)) ingests in $(elapsed "$t0") s"
cat "$H_WORK"/res/same-* "$H_WORK"/res/shared-* | awk -F'\t' '{print ($1 == 0 ? "ok" : $2)}' |
    sed -E 's/ctr: //' | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/  /'
nsame=$(cat "$H_WORK"/res/same-* "$H_WORK"/res/shared-* | wc -l)
cat "$H_WORK"/res/same-* "$H_WORK"/res/shared-* |
    awk -F'\t' '$1 != 0' | grep -Eiv 'unavailable|locked|already exists' >"$H_WORK/unclear"
check "same blob: all $nsame ingests finished" test "$nsame" = $((N + 20))
check "same blob: each succeeds or fails with Unavailable/locked or AlreadyExists" \
    sh -c "test ! -s '$H_WORK/unclear' || { head -n 5 '$H_WORK/unclear'; exit 1; }"
nsame_ok=$(cat "$H_WORK"/res/same-* "$H_WORK"/res/shared-* | awk -F'\t' '$1 == 0' | wc -l)
echo "  $nsame_ok of $nsame succeeded"
check "same blob: at least one ingest succeeds" test "$nsame_ok" -ge 1
check "same blob: label gc.root" hctr content label "$same_d" containerd.io/gc.root=1

# --- the store is consistent ---
check_consistent() {
    local tag=$1
    hctr content ls | awk 'NR > 1 {print $1}' | sort >"$H_WORK/listed"
    cut -d' ' -f1 "$H_WORK/expected" | sort >"$H_WORK/want"
    check "$tag: content ls lists exactly the $((N + 1)) digests" \
        sh -c "diff '$H_WORK/want' '$H_WORK/listed' | head -n 10; cmp -s '$H_WORK/want' '$H_WORK/listed'"
    local bad=0 d n f
    while read -r d n f; do
        if ! timeout 30 ctr --address "$H_SOCK" content get "$d" | cmp -s - "$f"; then
            echo "  content get $d differs from $f"; bad=$((bad + 1))
        fi
    done <"$H_WORK/expected"
    check "$tag: every content get is byte-exact" test "$bad" = 0
    bad=0
    for f in "$CONTENT"/blobs/sha256/*; do
        [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || { echo "  bad blob $f"; bad=1; }
    done
    check "$tag: every blob hashes to its own name" test "$bad" = 0
    check "$tag: exactly $((N + 1)) files in blobs/sha256" \
        test "$(ls -A "$CONTENT/blobs/sha256" | wc -l)" = $((N + 1))
    check "$tag: ctr content active lists nothing" test "$(hctr content active | awk 'NR > 1' | wc -l)" = 0
    check "$tag: no ingest directory left" test -z "$(ls -A "$CONTENT/ingest" 2>/dev/null)"
}
check_consistent "after"

# A deletion schedules garbage collection: the labelled blobs must all survive it.
extra=$H_WORK/blobs/extra
head -c 5000 /dev/urandom >"$extra"
extra_d=sha256:$(sha256sum "$extra" | cut -d' ' -f1)
check "gc: ingest an unlabelled blob" hctr content ingest --expected-digest "$extra_d" --expected-size 5000 extra <"$extra"
check "gc: delete it" hctr content rm "$extra_d"
for _ in $(seq 50); do [ -e "$CONTENT/blobs/sha256/${extra_d#sha256:}" ] || break; sleep 0.2; done
check "gc: the deleted blob's file is collected" test ! -e "$CONTENT/blobs/sha256/${extra_d#sha256:}"

h_stop_daemon
h_start_daemon || exit 1
check_consistent "restart"
h_finish
