#!/bin/sh
# demo-flow.sh: the quick start's experiment (examples/quickstart.kop) on the
# demo Mamba-1 model shows what the Mamba Knockout paper reports for real
# models -- the README's picture says so, and this keeps it true:
#  - blocking subject -> last in a window of middle layers removes most of
#    the answer's probability (mean prob_change <= -0.5 somewhere, and the
#    strongest window is not at either end of the stack);
#  - blocking first -> last changes it by less than 0.05 in every window;
#  - the context-dependent SSM channels carry more of it than the
#    context-independent ones (the paper's feature knockout).
# Skipped until tools/train-demo/ has made the demo model.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/mamba1-facts
[ -f "$M/config.json" ] || skip "$M absent (made by tools/train-demo/train_demo.py)"

"$KOP" run "$E/quickstart.kop" --model "$M" --out "$TMP/qs" --quiet >/dev/null 2>"$TMP/log" ||
    { cat "$TMP/log" >&2; fail "kop run examples/quickstart.kop"; }
S=$TMP/qs/summary.csv
L=$(sed -n 's/.*"num_hidden_layers": *\([0-9]*\).*/\1/p' "$M/config.json")

summary_per_k "$S" "block subject -> last in layers[k-1..k+1]" >"$TMP/subject"
summary_per_k "$S" "block first -> last in layers[k-1..k+1]" >"$TMP/first"
summary_per_k "$S" "block subject -> last in layers[k-1..k+1] features ctx_dep" >"$TMP/dep"
summary_per_k "$S" "block subject -> last in layers[k-1..k+1] features ctx_indep" >"$TMP/indep"
for f in subject first dep indep; do
    [ "$(wc -l <"$TMP/$f")" = "$L" ] || fail "$f: expected $L sweep points in $S"
done

set -- $(min_of "$TMP/subject")
k=$1 subj=$2
awk -v v="$subj" 'BEGIN { exit !(v <= -0.5) }' || fail "subject -> last: strongest mean prob_change $subj (k=$k), expected <= -0.5"
[ "$k" -gt 0 ] && [ "$k" -lt $((L - 1)) ] || fail "subject -> last: strongest at k=$k, an end of the $L layers"
awk '{ if ($2 < -0.05 || $2 > 0.05) { print "k=" $1 ": " $2; bad = 1 } } END { exit bad }' "$TMP/first" >"$TMP/bad" ||
    fail "first -> last moves the answer: $(cat "$TMP/bad")"
dep=$(min_of "$TMP/dep" | cut -d' ' -f2)
indep=$(min_of "$TMP/indep" | cut -d' ' -f2)
awk -v d="$dep" -v i="$indep" 'BEGIN { exit !(d < i) }' ||
    fail "ctx_dep channels (strongest $dep) should matter more than ctx_indep ($indep)"
echo "subject -> last strongest at k=$k: $subj; ctx_dep $dep, ctx_indep $indep"
exit 0
