#!/bin/sh
# run.sh: `kop run` as a user meets it: the files a run writes, and every
# mistake reported with its place and the documented exit status.
. "$KOP_SRCDIR/tests/setup.sh"
need_shared reference/mamba1-tiny
M="$SHARED/reference/mamba1-tiny"

cat > "$TMP/ok.kop" <<'K'
experiment "e2e"
prompt ids [3, 17, 42, 5, 9, 33, 1, 60, 12, 7, 28, 44] subject [2..4]
prompt ids [11, 2, 2, 50, 31, 8, 19] subject [1..3]
block subject -> last in layers[k..k]
block last -> last in layers[k-1..k+1] features ctx_dep
output heatmap "fig/h.png"
output lines "l.png"
output csv "s.csv"
K
expect_status 0 "$KOP" run "$TMP/ok.kop" --model "$M" --out "$TMP/res" --quiet
for f in rows.csv summary.csv manifest.yaml fig/h.png l.png s.csv; do
    [ -s "$TMP/res/$f" ] || fail "kop run did not write $f"
done
head -n 1 "$TMP/res/rows.csv" | grep -qx 'experiment,model,statement,k,t,layer_lo,layer_hi,prompt,target_id,p_clean,p_base,p_after,value,metric' \
    || fail "rows.csv header"
[ "$(wc -l < "$TMP/res/rows.csv")" -eq $((1 + 2 * 2 * 3)) ] || fail "rows.csv: expected 12 rows (2 prompts x 2 statements x 3 k)"
head -n 1 "$TMP/res/summary.csv" | grep -qx 'experiment,model,statement,k,t,n,mean,stderr,ci95,metric' || fail "summary.csv header"
[ "$(wc -l < "$TMP/res/summary.csv")" -eq 7 ] || fail "summary.csv: expected 6 rows"
cmp -s "$TMP/res/summary.csv" "$TMP/res/s.csv" || fail "output csv is not the summary"
grep -qx 'status: complete' "$TMP/res/manifest.yaml" || fail "manifest not complete"
grep -q 'config_sha256: [0-9a-f]\{64\}' "$TMP/res/manifest.yaml" || fail "manifest lacks the config checksum"
printf '\211PNG' | cmp -s -n 4 - "$TMP/res/l.png" || fail "l.png is not a PNG"
ls "$TMP/res" | grep -q '\.tmp' && fail "a temporary file was left behind"

# a recipe error: file:line:col, exit 1, nothing run
printf 'experiment "bad"\nprompt ids [1, 2, 3] subject [1..1]\nblock subjet -> last in layers[0..1]\n' > "$TMP/bad.kop"
expect_status 1 "$KOP" run "$TMP/bad.kop" --model "$M" --out "$TMP/bad"
grep -q "bad.kop:3:7: error: unknown token group 'subjet'" "$TMP/err" || fail "recipe error not reported at its place"
[ ! -e "$TMP/bad/rows.csv" ] || fail "a failed recipe still wrote rows"

# text prompts need a tokenizer; the reference models have none
printf 'prompt "The capital of France is" subject "France"\nblock subject -> last in layers[0..1]\n' > "$TMP/text.kop"
expect_status 1 "$KOP" run "$TMP/text.kop" --model "$M" --out "$TMP/text"
grep -q "needs a tokenizer" "$TMP/err" || fail "missing tokenizer not explained"

# a model folder that is not there
expect_status 1 "$KOP" run "$TMP/ok.kop" --model "$TMP/no-such-model" --out "$TMP/x"
grep -q "no-such-model" "$TMP/err" || fail "missing model not named"

# usage errors exit 2
expect_status 2 "$KOP" run "$TMP/ok.kop"
expect_status 2 "$KOP" run "$TMP/ok.kop" --model "$M" --threads 0
expect_status 2 "$KOP" run "$TMP/ok.kop" --model "$M" --frobnicate

# an output folder that cannot be made
expect_status 2 "$KOP" run "$TMP/ok.kop" --model "$M" --out "$TMP/res/rows.csv/sub" --quiet
grep -q "rows.csv" "$TMP/err" || fail "unwritable output folder not named"
exit 0
