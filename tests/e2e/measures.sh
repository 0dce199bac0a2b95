#!/bin/sh
# measures.sh: what the Mamba Knockout paper's figures need from one run, on
# the demo Mamba-1 model: several metrics in one run give exactly the
# values of separate runs; prob_diff is p' - p; `keep ids` keeps records by
# known_id and, without one, by index; clean.csv describes every prompt
# read; the figure options write their files; mistakes name their place.
. "$KOP_SRCDIR/tests/setup.sh"
M=$KOP_SRCDIR/examples/models/mamba1-facts
D=$KOP_SRCDIR/examples/data
[ -f "$M/config.json" ] || skip "$M absent"

recipe() { # recipe NAME MEASURE [EXTRA]
    cat > "$TMP/$1.kop" <<K
experiment "$1"
prompts counterfact "$D/facts.json"
target attribute
limit 3
sweep k in 0..L-3
block subject -> last in layers[k..k+2]
block relation -> last in layers[k..k+2] label "relation"
measure $2
${3:-}
K
    expect_status 0 "$KOP" run "$TMP/$1.kop" --model "$M" --out "$TMP/$1" --quiet
}

# ---- several metrics = separate runs, value for value
recipe multi "prob_change, hit, prob_diff, kl"
for m in prob_change hit prob_diff kl; do
    recipe "one-$m" "$m"
    # the same rows and summary rows, but for the experiment's name
    grep ",$m\$" "$TMP/multi/summary.csv" | cut -d, -f2- > "$TMP/a"
    tail -n +2 "$TMP/one-$m/summary.csv" | cut -d, -f2- > "$TMP/b"
    [ -s "$TMP/b" ] && cmp -s "$TMP/a" "$TMP/b" || fail "summary of $m differs between one run and several metrics"
    grep ",$m\$" "$TMP/multi/rows.csv" | cut -d, -f2- > "$TMP/a"
    tail -n +2 "$TMP/one-$m/rows.csv" | cut -d, -f2- > "$TMP/b"
    cmp -s "$TMP/a" "$TMP/b" || fail "rows of $m differ between one run and several metrics"
done
[ "$(tail -n +2 "$TMP/multi/rows.csv" | wc -l)" -eq $((4 * $(tail -n +2 "$TMP/one-hit/rows.csv" | wc -l))) ] ||
    fail "rows.csv: one row per metric"
# prob_diff is p_knocked - p_clean, and prob_change that over p_clean
awk -F, 'NR > 1 && $13 == "prob_diff" { d = $11 - $10 - $12; if (d > 1e-7 || d < -1e-7) bad++ }
         NR > 1 && $13 == "prob_change" { d = ($11 - $10) / $10 - $12; if (d > 1e-6 || d < -1e-6) bad++ }
         END { exit bad > 0 }' "$TMP/multi/rows.csv" || fail "prob_diff or prob_change is not p' - p, (p' - p) / p"
grep -q '^multi,mamba1-facts,relation,0,' "$TMP/multi/summary.csv" || fail "a label names its statement's rows"

# ---- keep ids by known_id: records whose known_id is not their index
cat > "$TMP/ids.json" <<'J'
[{"known_id": 40, "subject": "Mas Zoukrei", "attribute": "Ambrese", "prompt": "As the story goes, Mas Zoukrei of the northern valleys speaks"},
 {"known_id": 7, "subject": "Mas Zoukrei", "attribute": "viola", "prompt": "As the story goes, Mas Zoukrei, when the winter comes, plays"},
 {"known_id": 2, "subject": "Mas Zoukrei", "attribute": "diving", "prompt": "Everyone agrees that Mas Zoukrei by all accounts practises"}]
J
cat > "$TMP/byid.kop" <<K
prompts counterfact "$TMP/ids.json"
keep ids [7, 40]
block subject -> last in layers[k..k]
measure prob
K
expect_status 0 "$KOP" run "$TMP/byid.kop" --model "$M" --out "$TMP/byid" --quiet
[ "$(tail -n +2 "$TMP/byid/rows.csv" | cut -d, -f8 | sort -u | tr '\n' ' ')" = "0 1 " ] ||
    fail "keep ids [7, 40] keeps the records with known_id 40 and 7 (places 0 and 1)"
[ "$(tail -n +2 "$TMP/byid/clean.csv" | cut -d, -f2 | tr '\n' ' ')" = "40 7 " ] || fail "clean.csv ids are the known_ids, read until both are found"

# ---- keep ids by index (records without an id), from a file
printf '# two of them\n4\n\n1\n' > "$TMP/keep.txt"
cat > "$TMP/byindex.kop" <<K
prompts jsonl "$D/facts-ids.jsonl"
keep ids "$TMP/keep.txt"
limit 5
block subject -> last in layers[k..k]
measure prob
K
expect_status 0 "$KOP" run "$TMP/byindex.kop" --model "$M" --out "$TMP/byindex" --quiet
[ "$(tail -n +2 "$TMP/byindex/rows.csv" | cut -d, -f8 | sort -u | tr '\n' ' ')" = "1 4 " ] ||
    fail "keep ids by index keeps places 1 and 4"
printf '4\nfour\n' > "$TMP/bad.txt"
sed "s|$TMP/keep.txt|$TMP/bad.txt|" "$TMP/byindex.kop" > "$TMP/badids.kop"
expect_status 1 "$KOP" check "$TMP/badids.kop"
grep -q "badids.kop:2:10: error: $TMP/bad.txt:2: expected one id" "$TMP/err" || { cat "$TMP/err"; fail "a bad ids file names its line"; }

# ---- clean.csv: every prompt read, the answer's rank and correctness
recipe clean "prob" "keep correct"
# quoted fields (texts, reasons) hold commas: one word each, for awk
sed 's/"[^"]*"/Q/g' "$TMP/clean/clean.csv" > "$TMP/clean.txt"
C=$TMP/clean.txt
head -n 1 "$TMP/clean/clean.csv" | grep -qx 'prompt,id,text,target_id,target,top1_id,top1,p_target,rank,correct,kept,reason' || fail "clean.csv header"
awk -F, 'NR > 1 && $1 != NR - 2 { exit 1 }' "$C" || fail "clean.csv: one row per prompt read, in order"
# correct iff top-1 = target and rank 1; kept = correct under keep correct (the first three correct ones)
awk -F, 'NR > 1 { c = ($4 == $6); if ($10 != c || (c && $9 != 1) || (!c && $9 == 1)) exit 1 }' "$C" ||
    fail "clean.csv: correct is top-1 = target, rank 1"
[ "$(awk -F, 'NR > 1 && $11 == 1' "$C" | wc -l)" -eq 3 ] || fail "clean.csv: the three prompts kept"
# p_target of a kept prompt is rows.csv's p_clean
p=$(awk -F, 'NR > 1 && $11 == 1 { print $8; exit }' "$C")
q=$(sed -n 2p "$TMP/clean/rows.csv" | cut -d, -f10)
[ "$p" = "$q" ] || fail "clean.csv p_target $p is not rows.csv's p_clean $q"

# ---- figures: one per metric, unless an output names one; per prompt
cat >> "$TMP/multi.kop" <<'K'
sweep t in 0..-1
block tokens[t] -> last in layers[k..k+2]
output lines "l.png" x depth band ci95 ylim -100..20
output lines "hit.png" metric hit band none
output heatmap "pp.png" per prompt metric prob_diff colors rdylgn clim -0.3..0.3
K
expect_status 0 "$KOP" run "$TMP/multi.kop" --model "$M" --out "$TMP/fig" --quiet
for f in l-prob_change.png l-hit.png l-prob_diff.png l-kl.png hit.png pp.png; do
    [ -s "$TMP/fig/$f" ] || fail "no $f"
done
[ ! -e "$TMP/fig/hit-hit.png" ] || fail "an output naming its metric is one figure"

# ---- a killed run of several metrics resumes to the same bytes (journal
# lines carry each value's metric and each prompt's clean facts)
sed 's/^limit 3$/limit 9/' "$TMP/multi.kop" > "$TMP/resume.kop"
expect_status 0 "$KOP" run "$TMP/resume.kop" --model "$M" --out "$TMP/whole" --quiet
mkdir -p "$TMP/cut"
cp "$TMP/whole/rows.csv" "$TMP/whole/manifest.yaml" "$TMP/cut/"
# the journal up to the end of prompt 3 (one whole group of four), then half a prompt
n=$(grep -n '^E 3 ' "$TMP/whole/journal.txt" | cut -d: -f1)
head -n $((n + 3)) "$TMP/whole/journal.txt" > "$TMP/cut/journal.txt"
expect_status 0 "$KOP" run "$TMP/resume.kop" --model "$M" --out "$TMP/cut"
grep -q "resumed after 4 prompts" "$TMP/out" || { cat "$TMP/out"; fail "the run resumes after its first group"; }
for f in rows.csv summary.csv clean.csv l-hit.png pp.png; do
    cmp -s "$TMP/whole/$f" "$TMP/cut/$f" || fail "resumed $f differs"
done
expect_status 0 "$KOP" run "$TMP/resume.kop" --model "$M" --out "$TMP/cut"
grep -q "nothing to do" "$TMP/out" || fail "a complete run has nothing to do"

# ---- mistakes in options, with their place
cat > "$TMP/bad.kop" <<K
prompt "a b c" subject "b"
sweep k in 0..1
block subject -> last in layer k
measure prob, hit, prob
output lines "a.png" ylim 3..1 metric kl
output heatmap "b.png" band ci95 colrs rdylgn
output csv "c.csv" x depth
output heatmap "d.png" per prompt
K
expect_status 1 "$KOP" check "$TMP/bad.kop" --no-files
for want in "bad.kop:4:20: error: 'prob' is already measured" \
            "bad.kop:5:27: error: the range is empty" \
            "bad.kop:5:1: error: 'kl' is not measured" \
            "bad.kop:6:24: error: 'band' is an option of line plots" \
            "bad.kop:6:34: error: unknown output option 'colrs' (did you mean 'colors'?)" \
            "bad.kop:7:20: error: 'x' is an option of a figure" \
            "bad.kop:8:1: error: 'per prompt' draws each prompt's tokens down and k across"; do
    grep -qF "$want" "$TMP/err" || { cat "$TMP/err" >&2; fail "expected: $want"; }
done
exit 0
