#!/bin/sh
# render.sh: `kop render` from the command line -- usage errors exit 2, bad
# summaries exit 1 naming FILE:LINE, unwritable outputs exit 2 naming the
# path, and a good run writes PNG files of the size it reports.  (The pixels
# are checked by tests/unit/test_render_cli, which decodes them.)
. "$KOP_SRCDIR/tests/setup.sh"

cat >"$TMP/summary.csv" <<'CSV'
experiment,model,statement,k,t,n,mean,stderr,ci95
flow,mamba-130m,"block subject -> last in layers[k-4..k+4]",0,,672,-0.10,0.01,0.02
flow,mamba-130m,"block subject -> last in layers[k-4..k+4]",1,,672,-0.40,0.02,0.04
flow,mamba-130m,"block first -> last in layers[k-4..k+4]",0,,672,0.00,0.01,0.02
flow,mamba-130m,"block first -> last in layers[k-4..k+4]",1,,672,0.01,0.01,0.02
CSV

# PNG width and height from the IHDR chunk (bytes 17-24, big-endian).
png_size() {
    od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%d x %d\n", $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8 }'
}
is_png() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1 is not a PNG"
}

"$KOP" --help | grep -q '^  render ' || fail "kop --help does not list render"

# usage errors: exit 2
expect_status 2 "$KOP" render
expect_status 2 "$KOP" render "$TMP/summary.csv"
grep -q "nothing to draw" "$TMP/err" || fail "no outputs: wrong message: $(cat "$TMP/err")"
expect_status 2 "$KOP" render "$TMP/summary.csv" --heatmap
grep -q -- "--heatmap needs a value" "$TMP/err" || fail "missing value: wrong message"
expect_status 2 "$KOP" render "$TMP/summary.csv" --bogus x.png
expect_status 2 "$KOP" render "$TMP/summary.csv" "$TMP/other.csv" --lines "$TMP/x.png"

# a missing summary: system error naming the path
expect_status 2 "$KOP" render "$TMP/nope.csv" --heatmap "$TMP/x.png"
grep -q "$TMP/nope.csv" "$TMP/err" || fail "missing file not named: $(cat "$TMP/err")"

# a bad summary: data error with FILE:LINE
printf 'experiment,model,statement,k,t,n,mean,stderr,ci95\nflow,m,s,0,,5,abc,0.1,0.1\n' >"$TMP/bad.csv"
expect_status 1 "$KOP" render "$TMP/bad.csv" --heatmap "$TMP/x.png"
grep -q "bad.csv:2: column 'mean': expected a number, got 'abc'" "$TMP/err" || fail "bad number: $(cat "$TMP/err")"
[ ! -e "$TMP/x.png" ] || fail "a failed render left x.png"

# an unwritable output: exit 2 naming the path, nothing left behind
expect_status 2 "$KOP" render "$TMP/summary.csv" --heatmap "$TMP/no/such/dir/h.png"
grep -q "$TMP/no/such/dir/h.png" "$TMP/err" || fail "unwritable path not named: $(cat "$TMP/err")"

# a good run, given the folder: both figures, sizes as reported
expect_status 0 "$KOP" render "$TMP" --heatmap "$TMP/h.png" --lines="$TMP/l.png"
is_png "$TMP/h.png"
is_png "$TMP/l.png"
grep -q "^$TMP/h.png: heatmap, $(png_size "$TMP/h.png") pixels\$" "$TMP/out" || fail "heatmap size not reported: $(cat "$TMP/out")"
grep -q "^$TMP/l.png: line plot, $(png_size "$TMP/l.png") pixels\$" "$TMP/out" || fail "line plot size not reported"
[ "$(ls "$TMP" | grep -c tmp)" = 0 ] || fail "temporary files left: $(ls "$TMP")"
exit 0
