#!/bin/sh
# tests/parse/check-usage.sh: `kop check` options and exit statuses
# (0 ok, 1 bad recipe or model, 2 usage or unreadable file).
. "$KOP_SRCDIR/tests/setup.sh"

cd "$TMP"
printf 'prompt ids [1, 2] subject [0]\nblock first -> last in layer k\n' > ok.kop
printf 'prompt ids [1, 2] subject [0]\nblok first -> last in layer k\n' > bad.kop

expect_status 0 "$KOP" check ok.kop
grep -q '^ok.kop: experiment "ok", 1 block\. ' "$TMP/out" || fail "summary: $(cat "$TMP/out")"
[ ! -s "$TMP/err" ] || fail "warnings for a good recipe: $(cat "$TMP/err")"
expect_status 0 "$KOP" check --help
grep -q '^Usage: kop check' "$TMP/out" || fail "--help prints the usage"
expect_status 1 "$KOP" check bad.kop
grep -q "^bad.kop:2:1: error: unknown statement 'blok'" "$TMP/err" || fail "diagnostic: $(cat "$TMP/err")"

expect_status 2 "$KOP" check
expect_status 2 "$KOP" check missing.kop
grep -q 'missing.kop' "$TMP/err" || fail "an unreadable file is named"
expect_status 2 "$KOP" check ok.kop bad.kop
expect_status 2 "$KOP" check ok.kop --frobnicate
expect_status 2 "$KOP" check ok.kop --layers 0
expect_status 2 "$KOP" check ok.kop --layers 3x
expect_status 2 "$KOP" check ok.kop --arch mamba3
expect_status 2 "$KOP" check ok.kop --dump-plan
expect_status 2 "$KOP" check ok.kop --dump-ast --dump-plan
expect_status 2 "$KOP" check ok.kop --model somewhere --layers 3
expect_status 0 "$KOP" check ok.kop --layers 3 --dump-plan
grep -q '^  item 3: k=2 first -> last, layers 2..2, features all$' "$TMP/out" || fail "plan: $(cat "$TMP/out")"

# A model folder without config.json is a bad model (1), not a crash.
mkdir empty-model
expect_status 1 "$KOP" check ok.kop --model empty-model

if [ -n "$SHARED" ] && [ -d "$SHARED/reference/mamba2-tiny" ]; then
    expect_status 0 "$KOP" check ok.kop --model "$SHARED/reference/mamba2-tiny/"
    grep -q 'Plan for mamba2-tiny (mamba2, 3 layers)' "$TMP/out" || fail "model summary: $(cat "$TMP/out")"
fi
echo "check-usage: ok"
