#!/bin/sh
# examples.sh: every examples/*.kop, checked and run as a user would, on the
# demo Mamba-1 model (skipped until tools/train-demo/ has made it): each run
# completes, measures as many facts as its limit asks, writes one summary row
# per plan item, keeps its values in the metric's range, and writes the
# outputs it names (PNG files that are PNG).
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/mamba1-facts
[ -f "$M/config.json" ] || skip "$M absent (made by tools/train-demo/train_demo.py)"
[ -f "$E/data/facts.json" ] || skip "$E/data/facts.json absent (made by tools/train-demo/train_demo.py)"

n=0
for f in "$E"/*.kop; do
    name=$(basename "$f" .kop)
    out=$TMP/$name
    "$KOP" check "$f" --model "$M" >"$TMP/check" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "kop check $f"; }
    "$KOP" run "$f" --model "$M" --out "$out" --quiet >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "kop run $f"; }
    grep -q '^status: complete' "$out/manifest.yaml" || fail "$name: the run did not complete"

    # as many facts as the limit asks (the demo model knows at least 95 % of 1920)
    limit=$(sed -n 's/^limit \([0-9]*\).*/\1/p' "$f")
    grep -q "^ *measured: ${limit:?$f has no limit}\$" "$out/manifest.yaml" || fail "$name: not $limit facts measured"

    # causal traces use Mamba's hooks: they check on the other Mamba demo too;
    # their summary has a row per restore x k x role, prob_diff within [-1, 1]
    if grep -q '^corrupt ' "$f"; then
        "$KOP" check "$f" --model "$E/models/mamba2-facts" >/dev/null 2>"$TMP/err" ||
            { cat "$TMP/err" >&2; fail "kop check $f on mamba2-facts"; }
        awk -F, 'NR > 1 && ($(NF - 3) < -1 || $(NF - 3) > 1 || $(NF - 3) != $(NF - 3) + 0) { bad = 1 } END { exit bad }' \
            "$out/summary.csv" || fail "$name: prob_diff out of range"
        n=$((n + 1))
        continue
    fi

    # one summary row per plan item (per position too for tokens[t] sweeps)
    items=$(sed -n 's/.* \([0-9]*\) items\..*/\1/p' "$TMP/check")
    rows=$(($(wc -l <"$out/summary.csv") - 1))
    if grep -q 'tokens\[t\]' "$f"; then
        [ $((rows % items)) = 0 ] && [ "$rows" -gt "$items" ] || fail "$name: $rows rows for $items items x positions"
    else
        [ "$rows" = "$items" ] || fail "$name: $rows summary rows, $items plan items"
    fi

    # values in range: prob_change >= -1, prob in [0, 1], and never NaN
    awk -F, -v name="$name" 'NR > 1 {
        m = $(NF - 3); metric = $NF
        if (m != m + 0 || (metric == "prob_change" && m < -1) || (metric == "prob" && (m < 0 || m > 1))) {
            print name ": mean " m " out of range for " metric; bad = 1 }
    } END { exit bad }' "$out/summary.csv" || fail "$name: values out of range"

    for o in $(sed -n 's/^output [a-z]* "\([^"]*\)".*/\1/p' "$f"); do
        [ -s "$out/$o" ] || fail "$name: no $o"
        case $o in *.png)
            [ "$(od -An -tx1 -N8 "$out/$o" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$name: $o is not a PNG";;
        esac
    done
    n=$((n + 1))
done
[ "$n" -ge 4 ] || fail "expected the four examples of the paper's experiments, found $n"
exit 0
