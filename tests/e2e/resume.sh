#!/bin/sh
# resume.sh: a run killed at any point and started again with the same
# command resumes and ends with the bytes of a run never interrupted; a
# complete run has nothing to do; --restart starts over; shards joined by
# kop merge give the bytes of one run; merge refuses what is not the shards
# of one complete run.  Kills are placed with KOP_TEST_KILL (run.c).
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/mamba1-facts
[ -f "$M/config.json" ] || skip "$M absent"

same() { # same DIR1 DIR2: rows.csv, summary.csv and figures identical
    for f in rows.csv summary.csv $(cd "$1" && ls *.png 2>/dev/null); do
        cmp -s "$1/$f" "$2/$f" || fail "$2/$f differs from $1/$f"
    done
}

R=$E/windows.kop
"$KOP" run "$R" --model "$M" --out "$TMP/whole" --quiet >/dev/null

# killed after 0 prompts, inside a group (5), on a group's end (8), and
# between a prompt's rows and its journal line (13.5)
for at in 0 5 8 13.5 57; do
    out=$TMP/k$at
    set +e
    KOP_TEST_KILL=$at "$KOP" run "$R" --model "$M" --out "$out" --quiet >/dev/null 2>&1
    st=$?
    set -e
    [ $st = 137 ] || fail "the run to be killed at $at exited $st"
    grep -q '^status: running' "$out/manifest.yaml" || fail "killed at $at: the manifest does not say running"
    [ ! -e "$out/summary.csv" ] || fail "killed at $at: a summary.csv is there"
    "$KOP" run "$R" --model "$M" --out "$out" --quiet >"$TMP/log" || fail "resuming after $at"
    same "$TMP/whole" "$out"
    grep -q '^status: complete' "$out/manifest.yaml" || fail "resumed after $at: not complete"
    want=$(awk -v a="$at" 'BEGIN { n = int(a); print n - n % 4 }')
    grep -q "^  resumed: $want\$" "$out/manifest.yaml" || fail "after a kill at $at: not $want prompts resumed"
done

# complete: nothing to do, and the files stay as they are
"$KOP" run "$R" --model "$M" --out "$TMP/whole" >"$TMP/log"
grep -q 'nothing to do' "$TMP/log" || fail "a complete run ran again: $(cat "$TMP/log")"
# --restart computes it all again
"$KOP" run "$R" --model "$M" --out "$TMP/whole" --restart >"$TMP/log"
grep -q '100 prompts measured' "$TMP/log" || fail "--restart: $(cat "$TMP/log")"
grep -q '^  resumed: 0$' "$TMP/whole/manifest.yaml" || fail "--restart resumed"

# another command into the same folder starts over
"$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/k8" --quiet >/dev/null
grep -q '^  resumed: 0$' "$TMP/k8/manifest.yaml" || fail "another recipe resumed a folder's run"

# shards: 3 of them, each killed once on the way, merged = one run
for R in "$E/flow.kop" "$E/tokens.kop"; do
    name=$(basename "$R" .kop)
    "$KOP" run "$R" --model "$M" --out "$TMP/$name" --quiet >/dev/null
    for i in 0 1 2; do
        set +e
        KOP_TEST_KILL=6 "$KOP" run "$R" --model "$M" --out "$TMP/$name-s$i" --shard $i/3 --quiet >/dev/null 2>&1
        set -e
        SLURM_ARRAY_TASK_ID=$((i + 5)) SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=3 \
            "$KOP" run "$R" --model "$M" --out "$TMP/$name-s$i" --quiet >/dev/null
        grep -q "^shard: $i of 3\$" "$TMP/$name-s$i/manifest.yaml" || fail "$name: shard $i from SLURM_ARRAY_TASK_ID"
    done
    "$KOP" merge "$TMP/$name-m" "$TMP/$name-s2" "$TMP/$name-s0" "$TMP/$name-s1" >/dev/null
    same "$TMP/$name" "$TMP/$name-m"
    # the merged folder is the run in one piece: its command has nothing to do there
    "$KOP" run "$R" --model "$M" --out "$TMP/$name-m" >"$TMP/log"
    grep -q 'nothing to do' "$TMP/log" || fail "$name: the merged folder is not a complete run: $(cat "$TMP/log")"
done

# merge refuses a missing, repeated or unfinished shard, and mixed runs
expect_status 1 "$KOP" merge "$TMP/bad" "$TMP/flow-s0" "$TMP/flow-s1"
grep -q 'shard 0 of 3, but 2 folders were given' "$TMP/err" || fail "missing shard: $(cat "$TMP/err")"
expect_status 1 "$KOP" merge "$TMP/bad" "$TMP/flow-s0" "$TMP/flow-s0" "$TMP/flow-s1"
grep -q 'shard 0 is given twice' "$TMP/err" || fail "repeated shard: $(cat "$TMP/err")"
expect_status 1 "$KOP" merge "$TMP/bad" "$TMP/flow-s0" "$TMP/tokens-s1" "$TMP/flow-s2"
grep -q 'shards of different runs' "$TMP/err" || fail "mixed runs: $(cat "$TMP/err")"
set +e
KOP_TEST_KILL=2 "$KOP" run "$E/flow.kop" --model "$M" --out "$TMP/half" --shard 1/3 --quiet >/dev/null 2>&1
set -e
expect_status 1 "$KOP" merge "$TMP/bad" "$TMP/flow-s0" "$TMP/half" "$TMP/flow-s2"
grep -q 'has not completed' "$TMP/err" || fail "unfinished shard: $(cat "$TMP/err")"
expect_status 2 "$KOP" run "$E/flow.kop" --model "$M" --shard 3/3

# a pipeline killed in its first run and started again: every run resumes or
# has nothing to do, and its files are those of a pipeline never interrupted
cat >"$TMP/p.yaml" <<EOF
name: resumed
models:
  - {name: m1, dir: $M, arch: mamba1}
recipes:
  - $E/windows.kop
  - $E/flow.kop
figures:
  - {recipe: window-sizes, lines: w.png}
EOF
"$KOP" run "$TMP/p.yaml" --out "$TMP/pw" --quiet >/dev/null
for at in 3 9; do
    set +e
    KOP_TEST_KILL=$at "$KOP" run "$TMP/p.yaml" --out "$TMP/pk$at" --quiet >/dev/null 2>&1
    st=$?
    set -e
    [ $st = 137 ] || fail "the pipeline to be killed at $at exited $st"
    grep -q '^# status: running' "$TMP/pk$at/pipeline.yaml" || fail "killed pipeline at $at: its status is not running"
    "$KOP" run "$TMP/p.yaml" --out "$TMP/pk$at" --quiet >/dev/null || fail "resuming the pipeline after $at"
    grep -q '^# status: complete' "$TMP/pk$at/pipeline.yaml" || fail "resumed pipeline: not complete"
    for x in window-sizes/m1 flow-to-last/m1; do same "$TMP/pw/$x" "$TMP/pk$at/$x"; done
    cmp -s "$TMP/pw/w.png" "$TMP/pk$at/w.png" || fail "resumed pipeline: its figure differs"
    cmp -s "$TMP/pw/window-sizes/summary.csv" "$TMP/pk$at/window-sizes/summary.csv" || fail "resumed pipeline: its joined summary"
done
exit 0
