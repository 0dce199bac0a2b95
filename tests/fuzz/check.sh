#!/bin/sh
# tests/fuzz/check.sh: a short, seeded fuzz run of every input format kop
# reads (tests/fuzz/fuzz_formats.c, kop's own mutator), part of make check:
# the same inputs on every machine, a few seconds per format.  A crash or a
# hang fails the test and names the input left behind.  `make fuzz` runs
# long campaigns (tests/fuzz/campaign.sh).
. "$KOP_SRCDIR/tests/setup.sh"
FUZZ=$KOP_BUILDDIR/tests/fuzz/fuzz_formats
[ -x "$FUZZ" ] || skip "$FUZZ not built"
SEEDS=$TMP/seeds
. "$KOP_SRCDIR/tests/fuzz/seeds.sh"
: "${FUZZ_ITERATIONS:=150}"
for f in $FORMATS; do
    list=$(seeds "$f")
    [ -n "$list" ] || { echo "fuzz $f: no seeds here, skipped"; continue; }
    # shellcheck disable=SC2086
    if ! "$FUZZ" "$f" "$TMP/work" -n "$FUZZ_ITERATIONS" -s 16 -t 20 --tokenizer "$TOK" $list; then
        it=$(cat "$TMP/work/$f.iteration" 2>/dev/null || echo '?')
        mkdir -p "$KOP_BUILDDIR/tests/fuzz/crashes"
        cp -r "$TMP/work/$f" "$KOP_BUILDDIR/tests/fuzz/crashes/$f-16-$it"
        fail "fuzz $f: crash or hang at iteration $it (seed 16); input kept in tests/fuzz/crashes/$f-16-$it"
    fi
done
exit 0
