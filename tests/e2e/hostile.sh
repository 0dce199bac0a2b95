#!/bin/sh
# hostile.sh: the hostile inputs of issue 16, each made here, each with the
# behaviour a user should meet: no crash, no hang, nothing written outside
# the output folder, nothing stale shown as new, and a clear error naming
# the file with a non-zero exit.  (The lock is tested in test_outdir.)
. "$KOP_SRCDIR/tests/setup.sh"
need_shared reference/mamba1-tiny
M="$SHARED/reference/mamba1-tiny"
FACTS="$KOP_SRCDIR/examples/models/mamba1-facts"
GPT2="$KOP_SRCDIR/examples/models/gpt2-facts"
cd "$TMP"

# utf8 FILE: fails unless FILE is valid UTF-8 (iconv refuses anything else)
utf8() { iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 || fail "$1 is not valid UTF-8"; }
# T: a time limit, so a hang fails the test instead of stalling make check
T="timeout 120"

ids='prompt ids [3, 17, 42, 5, 9, 33] subject [1..2]'

# --- 1. text that is not UTF-8 reaches the manifest and the CSV files -------------------
printf '# caf\377\nexperiment "u"\n%s\nblock subject -> last in layer 0\n' "$ids" > ff.kop
expect_status 0 $T "$KOP" run ff.kop --model "$M" --out ff --quiet
utf8 ff/manifest.yaml
grep -q 'caf\\xFF' ff/manifest.yaml || fail "the byte 0xFF is not written as \\xFF in the manifest"
grep -qx 'status: complete' ff/manifest.yaml || fail "ff: manifest not complete"
ls ff | grep -q 'tmp' && fail "ff: a temporary file was left"

cp -r "$M" "$(printf 'model\376')"
expect_status 0 $T "$KOP" run ff.kop --model "$(printf 'model\376')" --out fe --quiet
for f in fe/manifest.yaml fe/rows.csv fe/summary.csv; do utf8 "$f"; done
grep -q '^u,model\\xFE,' fe/rows.csv || fail "the model name is not escaped in rows.csv"

# a skip reason quoting a 2-byte script, cut at 200 bytes
{
    printf '[{"prompt": "a'
    i=0; while [ $i -lt 150 ]; do printf '\321\217'; i=$((i + 1)); done
    printf '", "subject": "Zzz", "attribute": "x"},\n'
    printf ' {"prompt": "Mas Zoukrei speaks", "subject": "Mas Zoukrei", "attribute": "x"}]\n'
} > cyr.json
printf 'prompts counterfact "cyr.json"\nblock subject -> last in layer 0\n' > cyr.kop
expect_status 0 $T "$KOP" run cyr.kop --model "$FACTS" --out cyr --quiet
utf8 cyr/manifest.yaml
grep -q 'subject "Zzz" not found' cyr/manifest.yaml || fail "the skipped record is not in the manifest"

# --- 2. a heatmap whose token row label is only whitespace ------------------------------
cat > ws.kop <<'K'
prompt "  Mas Zoukrei speaks" subject "Mas Zoukrei"
block tokens[t] -> last in layer 1
block all -> last in layer 1
output heatmap "h.png"
K
expect_status 0 $T "$KOP" run ws.kop --model "$FACTS" --out ws --quiet
printf '\211PNG' | cmp -s -n 4 - ws/h.png || fail "ws/h.png is not a PNG"

# --- 3. outputs named like the run's own files ---------------------------------------------
for name in rows.csv summary.csv manifest.yaml . sub/ .lock x.png.tmp; do
    printf '%s\nblock subject -> last in layer 0\noutput csv "%s"\n' "$ids" "$name" > out.kop
    expect_status 1 "$KOP" check out.kop
    grep -q "out.kop:3:12: error: the output file name '$name'" "$TMP/err" || fail "output '$name' not refused at its place"
    expect_status 1 "$KOP" run out.kop --model "$M" --out o3 --quiet
done
[ -e o3/rows.csv ] && fail "a refused recipe still wrote rows"

# --- 5. size caps: inputs and prompt length ------------------------------------------------
expect_status 1 $T "$KOP" check /dev/zero
grep -q '/dev/zero: larger than 8 MiB, the most kop reads for a recipe' "$TMP/err" || fail "kop check /dev/zero: no size error"
expect_status 1 $T "$KOP" render /dev/zero --heatmap z.png
grep -q '/dev/zero: larger than' "$TMP/err" || fail "kop render /dev/zero: no size error"
printf 'models:\n  - {name: m, dir: %s}\nrecipes: [/dev/zero]\n' "$M" > zero.yaml
expect_status 1 $T "$KOP" check zero.yaml
grep -q 'zero.yaml:3:11: error: cannot read this recipe: /dev/zero: larger than 8 MiB' "$TMP/err" || fail "a pipeline's /dev/zero recipe: no size error"

printf 'prompt ids [1, 2, 3] subject [0..0]\nprompt ids [1, 2, 3, 4, 5, 6, 7, 8] subject [0..0]\nblock subject -> last in layer 0\n' > len.kop
expect_status 0 "$KOP" run len.kop --model "$M" --out len --max-tokens 5 --quiet
grep -q '8 tokens, more than the 5 a prompt may have' len/manifest.yaml || fail "a long prompt is not skipped with its reason"
grep -q 'max_tokens: 5' len/manifest.yaml || fail "the manifest does not record the cap"
expect_status 2 "$KOP" run len.kop --model "$M" --out len --max-tokens 0
expect_status 0 "$KOP" check len.kop --model "$GPT2"
grep -q 'prompts: at most 64 tokens (the model' "$TMP/out" || fail "kop check --model does not print GPT-2's context as the cap"
expect_status 0 "$KOP" check len.kop --model "$M"
grep -q 'prompts: at most [0-9]* tokens by default (about [0-9.]* KiB of memory per token' "$TMP/out" \
    || fail "kop check --model does not print the memory estimate"

# --- 6. an earlier run's files do not pass for the new run's ----------------------------
printf '%s\nblock subject -> last in layers[k..k]\noutput heatmap "a.png"\noutput csv "sub/c.csv"\n' "$ids" > a.kop
expect_status 0 "$KOP" run a.kop --model "$M" --out st --quiet
[ -s st/a.png ] && [ -s st/sub/c.csv ] || fail "run a did not write its outputs"
: > st/keep.png
: > st/summary.csv.tmp
: > st/a.png.tmp4242-0
: > st/rows.csv.tmp
# a re-run whose every prompt is skipped: the old summary and figures must be gone
expect_status 1 "$KOP" run a.kop --model "$M" --out st --quiet --max-tokens 1
for f in summary.csv a.png sub/c.csv summary.csv.tmp a.png.tmp4242-0 rows.csv.tmp; do
    [ -e "st/$f" ] && fail "st/$f of the earlier run is still there"
done
[ -e st/keep.png ] || fail "a file kop did not write was removed"
grep -qx 'status: running' st/manifest.yaml || fail "the failed re-run's manifest does not say it is not complete"
# a different recipe: the first one's outputs go
printf '%s\nblock subject -> last in layer 0\n' "$ids" > b.kop
expect_status 0 "$KOP" run a.kop --model "$M" --out st2 --quiet
expect_status 0 "$KOP" run b.kop --model "$M" --out st2 --quiet
[ -e st2/a.png ] || [ -e st2/sub/c.csv ] && fail "outputs of the earlier recipe were kept"
grep -q '^b,' st2/summary.csv || fail "st2: not the new summary"

# a pipeline: its figures and combined summaries of an earlier run go too, and
# pipeline.yaml says whether it completed; a --set value that is not UTF-8
printf 'experiment "pr"\n%s\nblock subject -> last in layers[k..k]\n' "$ids" > pr.kop
cat > pa.yaml <<Y
models: [{name: m, dir: $M}]
recipes: [pr.kop]
figures: [{recipe: pr, lines: "\${FIG}", title: "\${TITLE}"}]
Y
expect_status 0 "$KOP" run pa.yaml --out pst --set FIG=a.png --set "TITLE=$(printf 'caf\377')" --quiet
[ -s pst/a.png ] && [ -s pst/pr/summary.csv ] || fail "the pipeline did not write its figure and summary"
utf8 pst/pipeline.yaml
sed -n 4p pst/pipeline.yaml | grep -qx '# status: complete' || fail "pipeline.yaml does not say complete"
expect_status 0 "$KOP" run pa.yaml --out pst --set FIG=b.png --set TITLE=t --quiet
[ -e pst/a.png ] && fail "the earlier pipeline run's figure is still there"
[ -s pst/b.png ] || fail "the pipeline did not write b.png"

# --- 7. symbolic links in the output folder ---------------------------------------------------
mkdir -p sl outside
echo precious > outside/rows.csv
ln -s "$TMP/outside/rows.csv" sl/rows.csv
expect_status 1 "$KOP" run b.kop --model "$M" --out sl --quiet
grep -q 'rows.csv is a symbolic link' "$TMP/err" || fail "a rows.csv link is not refused"
[ "$(cat outside/rows.csv)" = precious ] || fail "kop wrote through a rows.csv link"
rm sl/rows.csv
echo precious > outside/manifest.yaml
rm -f sl/manifest.yaml
ln -s "$TMP/outside/manifest.yaml" sl/manifest.yaml
expect_status 0 "$KOP" run b.kop --model "$M" --out sl --quiet
[ "$(cat outside/manifest.yaml)" = precious ] || fail "kop wrote through a manifest.yaml link"
[ -L sl/manifest.yaml ] && fail "the manifest link was not replaced by the manifest"
mkdir -p sl2 outside/sub
ln -s "$TMP/outside/sub" sl2/sub
printf '%s\nblock subject -> last in layer 0\noutput csv "sub/x.csv"\n' "$ids" > sub.kop
expect_status 1 "$KOP" run sub.kop --model "$M" --out sl2 --quiet
grep -q 'sl2/sub is a symbolic link' "$TMP/err" || fail "a linked subfolder is not refused"
[ -e outside/sub/x.csv ] && fail "kop wrote through a linked subfolder"

# --- 8. names that would leave results/ ----------------------------------------------------------
mkdir -p names && cd names
printf 'experiment ".."\n%s\nblock subject -> last in layer 0\n' "$ids" > dots.kop
expect_status 1 "$KOP" check dots.kop
grep -q "dots.kop:1:12: error: the experiment name becomes a folder of results/" "$TMP/err" || fail "experiment '..' not refused"
expect_status 1 "$KOP" run dots.kop --model "$M" --quiet
expect_status 2 "$KOP" run ../b.kop --model "$M" --name ../../x --quiet
grep -q -- "--name takes one folder name" "$TMP/err" || fail "--name ../../x not refused"
expect_status 2 "$KOP" run ../b.kop --model "$M" --name '' --quiet
expect_status 2 "$KOP" run ../b.kop --model "$M" --name . --quiet
[ -z "$(ls)" ] || [ "$(ls)" = dots.kop ] || fail "a refused name still made folders: $(ls)"
cd "$TMP"

# --- 9. deeply nested pipeline YAML -----------------------------------------------------------
{ printf 'models: '; i=0; while [ $i -lt 2000 ]; do printf '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['; i=$((i + 1)); done; echo; } > deep.yaml
expect_status 1 timeout 20 "$KOP" check deep.yaml
grep -q 'deep.yaml:1:72: error: lists and mappings nested more than 64 deep' "$TMP/err" || fail "deep nesting not refused at its place"
awk 'length > 120 { bad = 1 } END { exit bad }' "$TMP/err" || fail "an error quotes more than a window of a long line"

# --- 10. NaN weights -------------------------------------------------------------------------
cp -r "$M" nan
size=$(wc -c < nan/model.safetensors)
printf '\377\377\377\377\377\377\377\377' | dd of=nan/model.safetensors bs=1 seek=$((size - 8)) conv=notrunc 2>/dev/null
expect_status 1 "$KOP" logits nan --ids 1,2,3
grep -q 'nan: the logits are not finite' "$TMP/err" || fail "kop logits does not report non-finite logits"
expect_status 1 "$KOP" run b.kop --model nan --out nanout --quiet
grep -q 'the clean logits are not finite' nanout/manifest.yaml || fail "the skip reason is not the non-finite logits"
exit 0
