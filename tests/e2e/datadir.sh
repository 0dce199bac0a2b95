#!/bin/sh
# datadir.sh: `kop run NAME.yaml` and `kop check NAME.yaml` take a pipeline
# that is not in the current folder from the installed ones
# ($KOP_DATADIR/pipelines, here the source tree, laid out as make install
# lays out $(pkgdatadir)); a file in the current folder, or a path with a
# folder, is never replaced by an installed one.  (tests/install.sh checks a
# real install.)
. "$KOP_SRCDIR/tests/setup.sh"

cd "$TMP"
export KOP_DATADIR="$KOP_SRCDIR"
expect_status 0 "$KOP" check demo.yaml
expect_status 0 "$KOP" check mamba-knockout-paper.yaml
expect_status 0 "$KOP" run demo.yaml --set LIMIT=1 --out r -q
grep -q "^# $KOP_SRCDIR/pipelines/demo.yaml as run by kop" r/pipeline.yaml || fail "ran $(head -n 1 r/pipeline.yaml)"
[ -s r/flow-to-last/mamba1-facts/summary.csv ] || fail "the installed demo wrote no summary"

# the current folder's file wins, even a broken one
printf 'models: [\n' > demo.yaml
expect_status 1 "$KOP" check demo.yaml
grep -q '^demo.yaml:' "$TMP/err" || fail "the local demo.yaml was not the one read: $(cat "$TMP/err")"
rm demo.yaml

# a path with a folder, or a name that is not installed, is not looked up
expect_status 2 "$KOP" check sub/demo.yaml
grep -q 'sub/demo.yaml: cannot open' "$TMP/err" || fail "sub/demo.yaml: $(cat "$TMP/err")"
expect_status 2 "$KOP" run nope.yaml
grep -q 'nope.yaml: cannot open' "$TMP/err" || fail "nope.yaml: $(cat "$TMP/err")"
expect_status 2 env KOP_DATADIR="$TMP/nowhere" "$KOP" check demo.yaml
echo "datadir: ok"
