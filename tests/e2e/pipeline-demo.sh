#!/bin/sh
# pipeline-demo.sh: pipelines/demo.yaml -- every example on the four demo
# models (skipped until tools/train-demo/ has made them): `kop check` passes,
# and a run with LIMIT=10 writes every model x recipe but feature knockout
# on GPT-2 and Llama (an SSM-only experiment, kept off by `archs:`), joins each experiment's summaries, and draws every figure.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
for m in mamba1 mamba2 gpt2 llama; do
    [ -f "$E/models/$m-facts/config.json" ] || skip "$E/models/$m-facts absent (made by tools/train-demo/train_demo.py)"
done
[ -f "$E/data/facts.json" ] || skip "$E/data/facts.json absent (made by tools/train-demo/train_demo.py)"
P=$KOP_SRCDIR/pipelines/demo.yaml

"$KOP" check "$P" >"$TMP/check" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "kop check $P"; }
grep -q "^pipeline demo: 4 models x 8 recipes = 30 runs, 7 figures\$" "$TMP/check" || fail "check: $(head -1 "$TMP/check")"

O=$TMP/demo
"$KOP" run "$P" --set LIMIT=10 --out "$O" --quiet >"$TMP/log" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "kop run $P"; }
for x in flow-to-last feature-knockout window-sizes token-map; do
    for m in mamba1-facts mamba2-facts gpt2-facts llama-facts; do
        if [ $x = feature-knockout ] && { [ $m = gpt2-facts ] || [ $m = llama-facts ]; }; then
            [ ! -e "$O/$x/$m" ] || fail "feature knockout ran on $m"
            continue
        fi
        grep -q '^status: complete' "$O/$x/$m/manifest.yaml" || fail "$x on $m did not complete"
        want=10
        [ $x = token-map ] && want=1   # the recipe's own limit 1 stays under LIMIT=10
        grep -q "^ *measured: $want\$" "$O/$x/$m/manifest.yaml" || fail "$x on $m: not $want facts measured"
    done
    rows=0
    for s in "$O/$x"/*/summary.csv; do rows=$((rows + $(wc -l <"$s") - 1)); done
    [ "$(($(wc -l <"$O/$x/summary.csv") - 1))" = "$rows" ] || fail "$x/summary.csv does not hold every model's rows"
done
# the paper's kinds of figure: window sizes (two metrics a run), per-prompt heatmaps of ids 0, 7, 12
for m in mamba1-facts mamba2-facts gpt2-facts llama-facts; do
    [ "$(tail -n +2 "$O/heatmaps/$m/rows.csv" | cut -d, -f8 | sort -un | tr '\n' ' ')" = "0 7 12 " ] ||
        fail "heatmaps on $m: not the facts of ids 0, 7 and 12"
    [ "$(od -An -tx1 -N8 "$O/heatmaps/$m/heatmaps.png" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "no heatmaps.png on $m"
    [ "$(cut -d, -f10 "$O/window-3/$m/summary.csv" | sort -u | tr '\n' ' ')" = "hit metric prob_change " ] ||
        fail "window-3 on $m: both metrics in its summary"
done
for f in flow-compare.png flow-subject-compare.png features-compare.png windows-compare.png tokens-compare.png \
         window-sizes-mamba1.png window-3-hit-compare.png; do
    [ "$(od -An -tx1 -N8 "$O/$f" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$f missing or not a PNG"
done
exit 0
