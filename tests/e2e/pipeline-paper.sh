#!/bin/sh
# pipeline-paper.sh: pipelines/mamba-knockout-paper.yaml end to end, with
# the three demo models standing in for its fourteen (one variable per model
# folder) and demo-sized windows (a third of each size: the demo models have
# 8 layers, the paper's windows up to 15).  Checks `keep: correct on all`
# against every model's clean.csv: prompts.csv keeps exactly the prompts that
# every model answers correctly, the runs measure only those (their ids in
# each manifest), the `keep: own` ablation measures its own; and that every
# figure of the paper's set is drawn.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
for m in mamba1 mamba2 gpt2; do
    [ -f "$E/models/$m-facts/config.json" ] || skip "$E/models/$m-facts absent"
done

# ---- the prompts: facts all three models know, made-up ones whose answer
# is what mamba1-facts says (so the models disagree on them), and facts
# with a wrong answer (no model is right)
cat > "$TMP/made-up.jsonl" <<'J'
{"prompt": "Mas Zoukrei was born in", "subject": "Mas Zoukrei"}
{"prompt": "Ponbrak Sik Mokbal works as a", "subject": "Ponbrak Sik Mokbal"}
{"prompt": "The favourite food of Mas Zoukrei is", "subject": "Mas Zoukrei"}
{"prompt": "Ponbrak Sik Mokbal lives in", "subject": "Ponbrak Sik Mokbal"}
{"prompt": "Mas Zoukrei is", "subject": "Mas Zoukrei"}
{"prompt": "Ponbrak Sik Mokbal speaks", "subject": "Ponbrak Sik Mokbal"}
J
printf 'prompts jsonl "%s"\nblock subject -> last in layer 0\nmeasure prob\n' "$TMP/made-up.jsonl" > "$TMP/top1.kop"
expect_status 0 "$KOP" run "$TMP/top1.kop" --model "$E/models/mamba1-facts" --out "$TMP/top1" --quiet
# clean.csv column 7 is the top-1 text (the made-up prompts hold no commas)
tail -n +2 "$TMP/top1/clean.csv" | cut -d, -f7 > "$TMP/answers"
[ "$(grep -c . "$TMP/answers")" -eq 6 ] || fail "top-1 of the made-up prompts"
P=$TMP/prompts.jsonl
: > "$P"
i=0
while IFS= read -r answer; do
    i=$((i + 1))
    sed -n "${i}p" "$TMP/made-up.jsonl" | sed "s/}\$/, \"target\": \"$answer\", \"known_id\": $((100 + i))}/" >> "$P"
done < "$TMP/answers"
# the first twelve facts, ids 0..11 (the heatmaps' ids 0..3 among them), two with a wrong answer
sed -n '2,$p' "$E/data/facts.json" | tr -d '\n' | sed 's/},[ ]*{/}\n{/g; s/^ *//; s/\] *$//' | sed -n '1,12p' |
    sed 's/"attribute": "[^"]*"/"attribute": "nobody"/;t;' > "$TMP/facts.jsonl"
# (the substitution above applies to every line: restore all but two)
sed -n '2,$p' "$E/data/facts.json" | tr -d '\n' | sed 's/},[ ]*{/}\n{/g; s/^ *//; s/\] *$//' | sed -n '1,10p' >> "$P"
sed -n '11,12p' "$TMP/facts.jsonl" >> "$P"
[ "$(grep -c . "$P")" -eq 18 ] || fail "the prompts file has 18 records"

# ---- the pipeline, demo-sized: windows of w layers become w/3 (sweeps
# L-1-(w-1)/3), no stated depths, Falcon-Mamba's stand-in is a Mamba-1
mkdir -p "$TMP/p/paper"
for f in "$KOP_SRCDIR"/pipelines/paper/*; do
    sed 's/k+\([0-9][0-9]*\)\]/k+\1\/3]/g; s/in 0\.\.L-\([0-9][0-9]*\)$/in 0..L-1-(\1-1)\/3/' "$f" > "$TMP/p/paper/$(basename "$f")"
done
sed 's/, *layers: [0-9]*//; s/arch: falcon_mamba/arch: mamba1/; s/, min_layers: [0-9]*//' \
    "$KOP_SRCDIR/pipelines/mamba-knockout-paper.yaml" > "$TMP/p/paper.yaml"
sets="--set KNOWN_1000=$P --set LIMIT=4"
for v in MAMBA_130M MAMBA_370M MAMBA_790M MAMBA_1_4B MAMBA_2_8B FALCON_MAMBA_7B; do
    sets="$sets --set $v=$E/models/mamba1-facts"
done
for v in MAMBA2_130M MAMBA2_370M MAMBA2_780M MAMBA2_1_3B MAMBA2_2_7B; do sets="$sets --set $v=$E/models/mamba2-facts"; done
for v in GPT2_MEDIUM GPT2_LARGE GPT2_XL; do sets="$sets --set $v=$E/models/gpt2-facts"; done
expect_status 0 "$KOP" check "$KOP_SRCDIR/pipelines/mamba-knockout-paper.yaml"
# shellcheck disable=SC2086
expect_status 0 "$KOP" run "$TMP/p/paper.yaml" $sets --out "$TMP/res" --quiet --threads 1
O=$TMP/res

# ---- keep correct on all = the intersection of every model's clean.csv
C=$O/prompts.csv
[ "$(tail -n +2 "$C" | wc -l)" -eq 18 ] || fail "prompts.csv: one row per prompt"
sed 's/"[^"]*"/Q/g' "$C" > "$TMP/p.csv"
awk -F, 'NR > 1 { all = 1; for (i = 4; i < NF; i++) all = all && $i; if ($NF != all) exit 1 }' "$TMP/p.csv" ||
    fail "prompts.csv: kept is correct on every model"
kept=$(awk -F, 'NR > 1 && $NF == 1 { printf "%s ", $1 }' "$TMP/p.csv")
some=$(awk -F, 'NR > 1 && $NF == 0 && $4 == 1 { n++ } END { print n + 0 }' "$TMP/p.csv")
[ -n "$kept" ] && [ "$some" -ge 1 ] || fail "the models disagree on some prompt ($some) and agree on some ($kept)"
col=4
for m in mamba-130m mamba-370m mamba-790m mamba-1.4b mamba-2.8b falcon-mamba-7b mamba2-130m mamba2-370m \
         mamba2-780m mamba2-1.3b mamba2-2.7b gpt2-medium gpt2-large gpt2-xl; do
    head -n 1 "$C" | cut -d, -f$col | grep -qx "correct_$m" || fail "prompts.csv column $col is $m"
    # each run's clean.csv (every prompt it read) says the same of this model
    sed 's/"[^"]*"/Q/g' "$O/flow-own-correct/$m/clean.csv" | awk -F, 'NR > 1 { print $1, $10 }' > "$TMP/own"
    awk -F, -v c=$col 'NR > 1 { print $1, $c }' "$TMP/p.csv" | head -n "$(wc -l < "$TMP/own")" > "$TMP/all"
    cmp -s "$TMP/own" "$TMP/all" || fail "$m: prompts.csv and its clean.csv disagree on correctness"
    # the all-correct runs measure the first kept prompts, and list the kept ids
    measured=$(tail -n +2 "$O/flow-to-last/$m/rows.csv" | cut -d, -f8 | sort -un | tr '\n' ' ')
    [ "$measured" = "$(echo "$kept" | tr ' ' '\n' | grep . | head -n 4 | tr '\n' ' ')" ] ||
        fail "$m: flow-to-last measured $measured, not the first four of $kept"
    ids=$(awk -F, 'NR > 1 && $NF == 1 { printf "%s%s", s, $2; s = ", " }' "$TMP/p.csv")
    grep -qF "kept_ids: [$ids]" "$O/flow-to-last/$m/manifest.yaml" || fail "$m: the manifest lists the kept ids"
    col=$((col + 1))
done
# the ablation measures mamba1's own correct prompts: the made-up ones, not kept
[ "$(tail -n +2 "$O/flow-own-correct/mamba-130m/rows.csv" | cut -d, -f8 | sort -un | tr '\n' ' ')" = "0 1 2 3 " ] ||
    fail "keep: own measures the model's own correct prompts"

# ---- every figure of the paper's set
for f in flow-mamba1 flow-mamba2 flow-gpt2 flow-falcon-mamba flow-subject-all hit-mamba1 hit-mamba2 hit-gpt2 \
         features-mamba1 features-mamba2 features-falcon-mamba windows-mamba-2.8b windows-mamba2-2.7b \
         windows-gpt2-xl windows-falcon-mamba ablation-mamba-2.8b ablation-mamba2-2.7b ablation-gpt2-xl; do
    [ -s "$O/$f.png" ] || fail "no $f.png"
done
for m in mamba-130m mamba2-130m gpt2-medium; do
    [ -s "$O/token-map/$m/tokens.png" ] || fail "no per-prompt heatmap for $m"
    [ "$(tail -n +2 "$O/token-map/$m/rows.csv" | cut -d, -f8 | sort -un | tr '\n' ' ')" = "6 7 8 9 " ] ||
        fail "$m: the heatmaps' facts are known_ids 0..3 (places 6..9)"
done
exit 0
