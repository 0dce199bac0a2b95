#!/bin/sh
# pipeline.sh: `kop run PIPELINE.yaml` over the three reference models with
# recipes of token-id prompts: the output tree, every run's results equal to
# the same recipe run alone, the comparison summary and figures, --set
# winning over the environment, the prompts and limit overrides, errors
# reported at FILE:LINE:COL before anything runs, usage errors, and `kop
# check` of the paper pipeline without its models.
. "$KOP_SRCDIR/tests/setup.sh"
need_shared reference

# PNG checks: the signature, and the width and height from the IHDR chunk.
is_png() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1 is not a PNG"
    [ "$(od -An -c -j12 -N4 "$1" | tr -d ' \n')" = "IHDR" ] || fail "$1 has no IHDR chunk first"
    size=$(od -An -tu1 -j16 -N8 "$1" | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8 }')
    set -- $size
    [ "$1" -ge 200 ] && [ "$1" -le 2000 ] && [ "$2" -ge 150 ] && [ "$2" -le 3000 ] || fail "odd PNG size $1 x $2"
}

cat >"$TMP/ids.kop" <<'EOF'
experiment "ids"
prompt ids [3, 17, 42, 5, 9, 11] subject [1..2]
prompt ids [7, 8, 9, 10, 11] subject [2..3]
prompt ids [1, 2, 3, 4, 5, 6, 7] subject [3]
block subject -> last in layer k
block last -> last in layers[k..k+1]
output lines "ids-lines.png"
EOF
cat >"$TMP/feat.kop" <<'EOF'
experiment "feat"
prompt ids [3, 17, 42, 5, 9, 11] subject [1..2]
block subject -> last in layer k features ctx_dep
EOF
cat >"$TMP/p.yaml" <<'EOF'
name: e2e
output: ${OUT:-never-used}
threads: 2
models:
  - {name: m1, dir: "${REF}/mamba1-tiny", arch: mamba1, layers: 3}
  - {name: m2, dir: "${REF}/mamba2-tiny"}
  - {name: g,  dir: "${REF}/gpt2-tiny", arch: gpt2}
recipes:
  - ids.kop
  - {file: feat.kop, archs: [mamba1, mamba2]}
figures:
  - {recipe: ids, statement: "block subject -> last in layer k", lines: subject.png}
  - {recipe: ids, heatmap: maps/ids.png}
  - {recipe: [ids, feat], models: [m2], lines: m2.png}
EOF

# --- a run: --set wins over the environment ------------------------------------
OUT="$TMP/env-out" "$KOP" run "$TMP/p.yaml" --set OUT="$TMP/res" --set REF="$SHARED/reference" --quiet \
    >"$TMP/log" 2>"$TMP/stderr" || { cat "$TMP/stderr" >&2; fail "kop run p.yaml failed"; }
[ ! -e "$TMP/env-out" ] || fail "the environment's OUT won over --set"
O=$TMP/res
for m in m1 m2 g; do
    for f in rows.csv summary.csv manifest.yaml ids-lines.png; do
        [ -s "$O/ids/$m/$f" ] || fail "missing $O/ids/$m/$f"
    done
    grep -q '^status: complete' "$O/ids/$m/manifest.yaml" || fail "ids/$m did not complete"
    # 3 prompts x (3 + 3 plan items) rows, and a header
    [ "$(wc -l <"$O/ids/$m/rows.csv")" = 19 ] || fail "ids/$m/rows.csv: $(wc -l <"$O/ids/$m/rows.csv") lines, not 19"
    [ "$(wc -l <"$O/ids/$m/summary.csv")" = 7 ] || fail "ids/$m/summary.csv: not 7 lines"
    grep -q "^ids,$m,block subject -> last in layer k,0,,3," "$O/ids/$m/summary.csv" ||
        fail "ids/$m/summary.csv: no row for k = 0 labelled with the model's pipeline name"
done
[ -s "$O/feat/m1/summary.csv" ] && [ -s "$O/feat/m2/summary.csv" ] || fail "feat did not run on the Mamba models"
[ ! -e "$O/feat/g" ] || fail "feat ran on GPT-2 despite archs: [mamba1, mamba2]"
[ "$(grep -c ' on ' "$TMP/log")" = 5 ] || fail "expected 5 runs in the log: $(cat "$TMP/log")"

# each run is the recipe run alone, to the bit
"$KOP" run "$TMP/ids.kop" --model "$SHARED/reference/mamba2-tiny" --name m2 --out "$TMP/alone" --quiet >/dev/null
cmp "$TMP/alone/summary.csv" "$O/ids/m2/summary.csv" || fail "the pipeline's ids/m2 differs from a run of ids.kop alone"
cmp "$TMP/alone/rows.csv" "$O/ids/m2/rows.csv" || fail "the pipeline's ids/m2 rows differ from a run alone"

# the comparison summary: every model's, in pipeline order, one header
{ cat "$O/ids/m1/summary.csv"; tail -n +2 "$O/ids/m2/summary.csv"; tail -n +2 "$O/ids/g/summary.csv"; } >"$TMP/cat.csv"
cmp "$TMP/cat.csv" "$O/ids/summary.csv" || fail "ids/summary.csv is not the models' summaries joined"
"$KOP" render "$O/ids/summary.csv" --lines "$TMP/rerender.png" >/dev/null || fail "kop render of the comparison summary"

for f in subject.png maps/ids.png m2.png; do
    is_png "$O/$f"
    grep -q "^figure $O/$f\$" "$TMP/log" || fail "$f not reported in the log"
done
cmp -s "$O/subject.png" "$O/m2.png" && fail "two different figures are identical"

# the record of the run
head -1 "$O/pipeline.yaml" | grep -q "p.yaml as run by kop" || fail "pipeline.yaml: no header"
grep -q "^#   --set OUT=$O\$" "$O/pipeline.yaml" || fail "pipeline.yaml does not record --set"
sed -n 4p "$O/pipeline.yaml" | grep -qx "# status: complete" || fail "pipeline.yaml: the pipeline's status is not complete"
tail -n +5 "$O/pipeline.yaml" | cmp - "$TMP/p.yaml" || fail "pipeline.yaml does not hold the file as run"

# --- prompts replace the recipes' own; limit caps every run -------------------------
printf '%s\n' '{"ids": [5, 6, 7, 8], "subject": [1, 2]}' '{"ids": [9, 10, 11, 12, 13], "subject": [2, 2]}' \
    '{"ids": [1, 2, 3], "subject": [1, 1]}' >"$TMP/more.jsonl"
sed 's/^experiment "ids"/experiment "one"\nlimit 1/' "$TMP/ids.kop" >"$TMP/one.kop"
cat >"$TMP/q.yaml" <<EOF
prompts: more.jsonl
limit: 2
models: [{name: g, dir: "$SHARED/reference/gpt2-tiny"}]
recipes: [ids.kop, one.kop]
EOF
"$KOP" run "$TMP/q.yaml" --out "$TMP/q" --quiet >/dev/null 2>"$TMP/stderr" || { cat "$TMP/stderr" >&2; fail "q.yaml failed"; }
[ "$(wc -l <"$TMP/q/ids/g/rows.csv")" = 13 ] || fail "prompts + limit 2: expected 2 x 6 rows"
[ "$(cut -d, -f8 "$TMP/q/ids/g/rows.csv" | sort -u | tr '\n' ' ')" = "0 1 prompt " ] || fail "not prompts 0 and 1 of more.jsonl"
[ "$(wc -l <"$TMP/q/one/g/rows.csv")" = 7 ] || fail "a recipe's own smaller limit (1) should stay"

# --- errors: at the pipeline's FILE:LINE:COL, and nothing runs ----------------------
cat >"$TMP/bad.yaml" <<EOF
models:
  - {name: m1, dir: "$SHARED/reference/mamba1-tiny", layers: 4}
  - {name: gone, dir: $TMP/no-such-model}
recipes: [ids.kop, feat.kop]
EOF
expect_status 1 "$KOP" run "$TMP/bad.yaml" --out "$TMP/bad-out"
grep -q "^$TMP/bad.yaml:2:.*: error: '.*mamba1-tiny' has 3 layers, not 4\$" "$TMP/err" || fail "layers mismatch: $(cat "$TMP/err")"
grep -q "^$TMP/bad.yaml:3:23: error: model folder '$TMP/no-such-model' not found" "$TMP/err" ||
    fail "missing model folder not reported at its place: $(cat "$TMP/err")"
grep -q "^kop: error: $TMP/bad.yaml: 2 errors\$" "$TMP/err" || fail "no error count: $(cat "$TMP/err")"
[ ! -e "$TMP/bad-out" ] || fail "something ran despite the errors"

printf 'models: [m]\nrecipes: [ids.kop]\nfigures:\n  - {recipe: ids, lines: a.png, colour: red}\n' >"$TMP/typo.yaml"
expect_status 1 "$KOP" check "$TMP/typo.yaml"
grep -q "^$TMP/typo.yaml:4:33: error: unknown key 'colour' in a figure" "$TMP/err" || fail "typo: $(cat "$TMP/err")"

# features on GPT-2: the recipe's own diagnostic, then the pipeline's
printf 'models: [{name: g, dir: %s}]\nrecipes: [feat.kop]\n' "$SHARED/reference/gpt2-tiny" >"$TMP/gf.yaml"
expect_status 1 "$KOP" run "$TMP/gf.yaml" --out "$TMP/gf"
grep -q "feat.kop:3:34: error: 'features' selects SSM channels, but g is a transformer" "$TMP/err" || fail "gf: $(cat "$TMP/err")"
grep -q "gf.yaml:2:11: error: this recipe does not compile for model 'g' (gpt2, 3 layers; see above)" "$TMP/err" ||
    fail "gf: $(cat "$TMP/err")"

# --- usage errors: exit 2 ------------------------------------------------------------------
expect_status 2 "$KOP" run "$TMP/p.yaml" --model "$SHARED/reference/gpt2-tiny"
expect_status 2 "$KOP" run "$TMP/ids.kop" --model "$SHARED/reference/gpt2-tiny" --set A=1
expect_status 2 "$KOP" run "$TMP/p.yaml" --set 'NO EQUALS'
expect_status 2 "$KOP" check "$TMP/p.yaml" --model x
expect_status 2 "$KOP" run "$TMP/none.yaml"

# --- the paper's appendix (Llama, Mistral) checks without its models ---------------------
A=$KOP_SRCDIR/pipelines/mamba-knockout-appendix.yaml
env -u MODELS -u KNOWN_1000 "$KOP" check "$A" >"$TMP/out.txt" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "kop check $A"; }
head -1 "$TMP/out.txt" | grep -q "^pipeline mamba-knockout-appendix: 5 models x 8 recipes = 40 runs, 6 figures\$" ||
    fail "appendix pipeline summary: $(head -1 "$TMP/out.txt")"
grep -q "mistral-7b-v0.3 mistral  32 layers" "$TMP/out.txt" || fail "appendix: Mistral-7B v0.3 as a 32-layer mistral"

# --- the paper's pipeline checks without its models or prompts ---------------------------
P=$KOP_SRCDIR/pipelines/mamba-knockout-paper.yaml
env -u MODELS -u KNOWN_1000 "$KOP" check "$P" >"$TMP/out.txt" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "kop check $P"; }
head -1 "$TMP/out.txt" | grep -q "^pipeline mamba-knockout-paper: 14 models x 10 recipes = 137 runs, 18 figures\$" ||
    fail "paper pipeline summary: $(head -1 "$TMP/out.txt")"
grep -q "gpt2-xl .*: 9 recipes, not feature-knockout\$" "$TMP/out.txt" || fail "GPT-2 models should skip feature-knockout"
# ... and without the archs filter, features on GPT-2 are caught
cp -R "$KOP_SRCDIR/pipelines/paper" "$TMP/paper"
sed 's/{file: paper\/features.kop, archs: \[mamba1, falcon_mamba, mamba2\]}/paper\/features.kop/' "$P" >"$TMP/noarchs.yaml"
expect_status 1 "$KOP" check "$TMP/noarchs.yaml"
[ "$(grep -c "error: this recipe does not compile for model 'gpt2-" "$TMP/err")" = 3 ] ||
    fail "expected the three GPT-2 models named: $(cat "$TMP/err")"
exit 0
