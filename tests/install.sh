#!/bin/sh
# install.sh: `make install DESTDIR=...` puts kop, its manual page, the
# pipelines with their recipes, the examples with the demo models, and the
# documents where kop looks for them, and the installed pipelines run from
# there, giving the same results as from the source tree.  Slow (an install
# and two pipeline runs), so it is skipped unless KOP_TEST_INSTALL is set:
#   make check KOP_TEST_INSTALL=1 TESTS=tests/install.sh
. "$KOP_SRCDIR/tests/setup.sh"
[ -n "${KOP_TEST_INSTALL:-}" ] || skip "set KOP_TEST_INSTALL=1 to test make install"
: "${MAKE:=make}"

root=$TMP/root
$MAKE -s -C "$KOP_BUILDDIR" install DESTDIR="$root" >"$TMP/install.log" 2>&1 ||
    { cat "$TMP/install.log" >&2; fail "make install failed"; }
(cd "$root" && find . -type f | sed 's|^\./|/|' | sort) > "$TMP/installed"
cat "$TMP/installed"

# one file named NAME under root, or fail
one() {
    f=$(grep "$1\$" "$TMP/installed") || fail "not installed: $1"
    [ "$(echo "$f" | wc -l)" -eq 1 ] || fail "installed more than once: $1"
    echo "$root$f"
}
kop=$(one /bin/kop)
[ -x "$kop" ] || fail "$kop is not executable"
cmp -s "$(one /man1/kop.1)" "$KOP_SRCDIR/doc/kop.1" || fail "kop.1 differs from doc/kop.1"
docdir=$(dirname "$(one /GRAMMAR.md)")
for f in README.md NEWS ChangeLog; do cmp -s "$docdir/$f" "$KOP_SRCDIR/$f" || fail "$docdir/$f"; done
cmp -s "$docdir/GRAMMAR.md" "$KOP_SRCDIR/grammar/GRAMMAR.md" || fail "GRAMMAR.md differs"

# the data folder kop was built to read is where make install put the data
data=$root$("$kop" --version | sed -n 's/^data: *//p')
[ -f "$data/pipelines/demo.yaml" ] || fail "kop --version's data folder $data holds no pipelines/demo.yaml"
# every pipeline, recipe, example and demo-model file of the source tree
cd "$KOP_SRCDIR"
for f in pipelines/*.yaml pipelines/README.md pipelines/paper/*.kop examples/*.kop examples/README.md \
         examples/data/* examples/models/*/config.json examples/models/*/model.safetensors \
         examples/models/*/tokenizer.json; do
    cmp -s "$f" "$data/$f" || fail "$f: not installed as $data/$f"
done
cd "$TMP"

# the installed pipelines, by name, from a folder that holds none
mkdir work && cd work
export KOP_DATADIR="$data"
expect_status 0 "$kop" check demo.yaml
expect_status 0 "$kop" check mamba-knockout-paper.yaml
expect_status 0 "$kop" run demo.yaml --set LIMIT=3 --out installed -q
grep -q "^# $data/pipelines/demo.yaml as run by kop" installed/pipeline.yaml || fail "pipeline.yaml: $(head -n 1 installed/pipeline.yaml)"
# ... give what the source tree's copy gives
expect_status 0 "$KOP" run "$KOP_SRCDIR/pipelines/demo.yaml" --set LIMIT=3 --out source -q
n=0
for f in $(cd source && find . -name '*.csv' -o -name '*.png' | sort); do
    cmp -s "source/$f" "installed/$f" || fail "$f differs between the source and installed pipeline"
    n=$((n + 1))
done
[ "$n" -gt 30 ] || fail "only $n result files compared"
# an installed example recipe on an installed demo model
expect_status 0 "$kop" run "$data/examples/quickstart.kop" --model "$data/examples/models/mamba1-facts" --out qs -q
[ -s qs/summary.csv ] || fail "the installed quick start wrote no summary"
cd "$TMP"

$MAKE -s -C "$KOP_BUILDDIR" uninstall DESTDIR="$root" >"$TMP/uninstall.log" 2>&1 || fail "make uninstall failed"
left=$(find "$root" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "install: ok ($(wc -l < "$TMP/installed") files)"
