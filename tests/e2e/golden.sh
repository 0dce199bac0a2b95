#!/bin/sh
# golden.sh: the demo runs give the same bytes as when tests/e2e/golden.sha256
# was recorded: rows.csv, summary.csv and every figure of examples/*.kop on
# the demo Mamba-1 model and of pipelines/demo.yaml (LIMIT=10) on the four
# demo models.  A refactoring must keep them; a change that is meant to
# alter results records new sums with `golden.sh --record` and says why in
# the ChangeLog.  The sums hold for the x86-64-v3 kernels (AVX2 with FMA),
# the ones this project's machines run; elsewhere the last bits of a value
# may differ, so the test is skipped there.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
SUMS=$KOP_SRCDIR/tests/e2e/golden.sha256
for m in mamba1 mamba2 gpt2 llama; do
    [ -f "$E/models/$m-facts/config.json" ] || skip "$E/models/$m-facts absent"
done
if [ "${1:-}" != --record ]; then
    grep -q '\bfma\b' /proc/cpuinfo 2>/dev/null && grep -q '\bavx2\b' /proc/cpuinfo || skip "no AVX2+FMA: other kernels"
fi

O=$TMP/golden
for f in "$E"/*.kop; do
    name=$(basename "$f" .kop)
    "$KOP" run "$f" --model "$E/models/mamba1-facts" --out "$O/examples/$name" --quiet >/dev/null 2>"$TMP/err" ||
        { cat "$TMP/err" >&2; fail "kop run $f"; }
done
"$KOP" run "$KOP_SRCDIR/pipelines/demo.yaml" --set LIMIT=10 --out "$O/demo" --quiet >/dev/null 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; fail "kop run pipelines/demo.yaml"; }

(cd "$O" && find . -type f \( -name rows.csv -o -name summary.csv -o -name '*.png' \) | LC_ALL=C sort |
    xargs sha256sum) >"$TMP/sums"
if [ "${1:-}" = --record ]; then
    cp "$TMP/sums" "$SUMS"
    echo "recorded $(wc -l <"$SUMS") sums in $SUMS"
    exit 0
fi
[ "$(wc -l <"$TMP/sums")" -gt 20 ] || fail "only $(wc -l <"$TMP/sums") files written"
diff "$SUMS" "$TMP/sums" >"$TMP/diff" || { cat "$TMP/diff" >&2; fail "demo outputs differ from $SUMS"; }
exit 0
