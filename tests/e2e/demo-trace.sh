#!/bin/sh
# demo-trace.sh: ROME's causal trace of the residual stream, averaged by token
# role, on the demo Mamba-1 model shows where the demo's facts are recalled --
# the README's "Causal tracing" section says so, and this keeps it true.  The
# subject is corrupted with noise of 3 std, one residual state (role x layer)
# is restored at a time, and prob_diff = p_restored - p_corrupt is averaged
# over the first 20 facts the model knows (doc/images/demo-trace.kop, the
# recipe of the README's figure).  On the L = 8 layers:
#  - the last token carries the answer in the late layers (every k >= L-2 at
#    least 0.5; 0.81 measured) and nothing in the early ones (every k < L/2 at
#    most 0.05; 0.0014 measured); the strongest cell of the map is there;
#  - the subject's tokens carry it in the early and middle layers: their
#    strongest cell lies at k < L/2 and is at least 0.1 (subject.middle, k = 3:
#    0.20 measured), their mean over k < L/2 is at least 0.05 (0.09), and
#    from k = L-2 on they carry nothing (|value| <= 0.01);
#  - the tokens between the subject and the last one carry nothing at any
#    layer (|value| <= 0.02; 0.001 measured): the subject reaches the answer
#    only through its own positions and the last token's;
#  - the context before the subject was not corrupted, so restoring it
#    changes nothing (|value| <= 1e-6).
# Skipped until tools/train-demo/ has made the demo model.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/mamba1-facts
[ -f "$M/config.json" ] || skip "$M absent (made by tools/train-demo/train_demo.py)"
[ -f "$E/data/facts.json" ] || skip "$E/data/facts.json absent (made by tools/train-demo/train_demo.py)"

# the recipe of the README's figure (limit 20, noise 3 std, 5 samples)
R=$KOP_SRCDIR/doc/images/demo-trace.kop
grep -q '^aggregate t by role$' "$R" || fail "$R should aggregate by role"
"$KOP" run "$R" --model "$M" --out "$TMP/out" --quiet >/dev/null 2>"$TMP/log" ||
    { cat "$TMP/log" >&2; fail "kop run of the residual trace"; }
S=$TMP/out/summary.csv
L=$(sed -n 's/.*"num_hidden_layers": *\([0-9]*\).*/\1/p' "$M/config.json")
[ "$L" -ge 4 ] || fail "expected at least 4 layers in $M, got '$L'"

# "role k mean" lines; the role is the summary's t (0 context ... 6 last)
awk -F, 'NR > 1 && $10 == "prob_diff" { print $5, $4, $7 }' "$S" >"$TMP/cells"
[ "$(cut -d' ' -f1 "$TMP/cells" | sort -u | tr -d '\n')" = 0123456 ] || fail "expected the 7 roles as t in $S"
[ "$(wc -l <"$TMP/cells")" = $((7 * L)) ] || fail "expected 7 roles x $L layers in $S"
grep -q ',6,20,' "$S" || fail "the last token's rows should average 20 facts"

# check NAME AWK-CONDITION-ON-(role,k,v)-THAT-MUST-HOLD
check() {
    awk -v L="$L" -v name="$1" '{ role = $1; k = $2; v = $3 } '"$2"' { print name ": role " role ", k=" k ": " v; bad = 1 }
        END { exit bad }' "$TMP/cells" >"$TMP/bad" || fail "$(cat "$TMP/bad")"
}
check "last, late layers, below 0.5" 'role == 6 && k >= L - 2 && v < 0.5'
check "last, early layers, above 0.05" 'role == 6 && k < L / 2 && v > 0.05'
check "subject, last layers, moves the answer" 'role >= 1 && role <= 3 && k >= L - 2 && (v > 0.01 || v < -0.01)'
check "after the subject, moves the answer" '(role == 4 || role == 5) && (v > 0.02 || v < -0.02)'
check "context, not corrupted, moves the answer" 'role == 0 && (v > 1e-6 || v < -1e-6)'

set -- $(sort -k3,3gr "$TMP/cells" | head -n 1)
[ "$1" = 6 ] && [ "$2" -ge $((L / 2)) ] || fail "the strongest cell is role $1, k=$2 ($3), not the last token in a late layer"
top="last, k=$2: $3"
set -- $(awk '$1 >= 1 && $1 <= 3' "$TMP/cells" | sort -k3,3gr | head -n 1)
[ "$2" -lt $((L / 2)) ] || fail "the subject's strongest cell is at k=$2 ($3), not in the early or middle layers"
awk -v v="$3" 'BEGIN { exit !(v >= 0.1) }' || fail "the subject's strongest cell (role $1, k=$2) is only $3"
subj="role $1, k=$2: $3"
mean=$(awk -v L="$L" '$1 >= 1 && $1 <= 3 && $2 < L / 2 { s += $3; n++ } END { printf "%.4f", s / n }' "$TMP/cells")
awk -v v="$mean" 'BEGIN { exit !(v >= 0.05) }' || fail "the subject's mean over the early and middle layers is only $mean"
echo "strongest: $top; subject's strongest $subj, its early/middle mean $mean"
exit 0
