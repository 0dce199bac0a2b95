#!/bin/sh
# run-threads.sh: `kop run` writes the same rows, bit for bit, with 1 and 2
# threads.  Prompts share a clean forward in groups of four and the groups
# are fixed by the prompts' places in the list, not by the threads; 10
# prompts make groups of 4, 4 and 2, and `limit 9` stops inside the third.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/mamba1-facts
[ -f "$M/config.json" ] || skip "$M absent (made by tools/train-demo/train_demo.py)"
L=$(sed -n 's/.*"num_hidden_layers": *\([0-9]*\).*/\1/p' "$M/config.json")

for limit in 10 9; do
    cat >"$TMP/t.kop" <<K
experiment "threads"
prompts counterfact "$E/data/facts.json"
limit $limit
block subject -> last in layers[k-1..k+1]
block first -> last in layers[k-1..k+1] features ctx_dep
measure prob_change
K
    for n in 1 2; do
        "$KOP" run "$TMP/t.kop" --model "$M" --out "$TMP/t$n" --threads $n --quiet >/dev/null 2>"$TMP/log" ||
            { cat "$TMP/log" >&2; fail "kop run --threads $n (limit $limit)"; }
    done
    rows=$(($(wc -l <"$TMP/t1/rows.csv") - 1))
    [ "$rows" = $((limit * 2 * L)) ] || fail "limit $limit: $rows rows, expected $((limit * 2 * L))"
    cmp "$TMP/t1/rows.csv" "$TMP/t2/rows.csv" || fail "limit $limit: rows.csv differs between 1 and 2 threads"
    cmp "$TMP/t1/summary.csv" "$TMP/t2/summary.csv" || fail "limit $limit: summary.csv differs between 1 and 2 threads"
done
exit 0
