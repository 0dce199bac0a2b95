#!/bin/sh
# man.sh: doc/kop.1 describes the kop that was built: a section for every
# command `kop --help` lists, every option each `kop COMMAND --help` lists,
# every exit status, every environment variable the sources read, the
# version of configure.ac, and the sections a manual page should have.  With
# groff installed, the page also formats without a warning.
. "$KOP_SRCDIR/tests/setup.sh"

page=$KOP_SRCDIR/doc/kop.1
[ -f "$page" ] || fail "no $page"
# the roff source with its escapes for '-' undone, to grep as plain text
sed 's/\\-/-/g' "$page" > "$TMP/page"

for s in NAME SYNOPSIS DESCRIPTION COMMANDS '"EXIT STATUS"' ENVIRONMENT FILES EXAMPLES '"SEE ALSO"'; do
    grep -qx ".SH $s" "$TMP/page" || fail "kop.1 has no section $s"
done

"$KOP" --help > "$TMP/help"
commands=$(sed -n '/^Commands:$/,/^$/s/^  \([a-z]*\) .*/\1/p' "$TMP/help")
[ -n "$commands" ] || fail "kop --help lists no commands"
for c in $commands; do
    grep -q "^\.SS \"kop $c " "$TMP/page" || fail "kop.1 has no section for kop $c"
    grep -q "^\.B kop $c$" "$TMP/page" || fail "kop.1's synopsis lacks kop $c"
    for o in $("$KOP" "$c" --help | sed -n 's/^  \(-., \)\{0,1\} *--\([a-z-]*\).*/\2/p'); do
        grep -q -- "--$o\\b" "$TMP/page" || fail "kop.1 does not mention kop $c --$o"
    done
done

# exit statuses: the ones kop --help lists, each with its own entry
for st in $(sed -n '/^Exit status:$/,/^$/s/^  \([0-9]\)  .*/\1/p' "$TMP/help"); do
    sed -n '/^\.SH "EXIT STATUS"$/,/^\.SH /p' "$TMP/page" | grep -qx ".B $st" || fail "kop.1 lacks exit status $st"
done

# environment variables the sources read by name
for v in OMP_NUM_THREADS $(grep -oh 'getenv("[A-Z_]*")' "$KOP_SRCDIR"/src/*.c | sed 's/getenv("\(.*\)")/\1/' | sort -u); do
    sed -n '/^\.SH ENVIRONMENT$/,/^\.SH /p' "$TMP/page" | grep -qx ".B $v" || fail "kop.1's ENVIRONMENT lacks $v"
done

version=$(sed -n 's/^AC_INIT(\[kop\], \[\([^]]*\)\].*/\1/p' "$KOP_SRCDIR/configure.ac")
grep -q "^\.TH KOP 1 \"[0-9-]*\" \"kop $version\"" "$TMP/page" || fail "kop.1's .TH does not say kop $version"

if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww -z "$page" 2>"$TMP/warn" || fail "groff failed on kop.1"
    [ ! -s "$TMP/warn" ] || fail "groff warns about kop.1: $(cat "$TMP/warn")"
fi
echo "man: ok"
