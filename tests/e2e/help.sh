#!/bin/sh
# help.sh: GNU conventions of the kop command.  `kop --help` lists every
# command of src/commands.def; `kop COMMAND --help` (and `kop help COMMAND`)
# prints a usage to stdout and exits 0 for each of them, and names every
# option that command's source declares -- each of which the parser accepts;
# unknown options exit 2 pointing at the command's --help; `kop --version`
# starts with "kop VERSION" (configure.ac's).  Only src/main.c reads argv.
. "$KOP_SRCDIR/tests/setup.sh"

commands=$(sed -n 's/^KOP_COMMAND(\([a-z]*\))$/\1/p' "$KOP_SRCDIR/src/commands.def")
[ -n "$commands" ] || fail "no commands found in src/commands.def"

expect_status 0 "$KOP" --help
[ ! -s "$TMP/err" ] || fail "kop --help wrote to stderr"
grep -q '^Usage: kop COMMAND' "$TMP/out" || fail "kop --help: no Usage line"
listed=$(sed -n '/^Commands:$/,/^$/s/^  \([a-z]*\) .*/\1/p' "$TMP/out")
[ "$(echo $listed)" = "$(echo $commands)" ] || fail "kop --help lists '$(echo $listed)', commands.def has '$(echo $commands)'"
for c in $commands; do
    # options the source declares: the entries of its CliOption table
    opts=$(sed -n 's/^ *\[OPT_[A-Z_]*\] = {"\([a-z-]*\)".*/\1/p' "$KOP_SRCDIR/src/cli_$c.c")
    expect_status 0 "$KOP" "$c" --help
    [ ! -s "$TMP/err" ] || fail "kop $c --help wrote to stderr"
    grep -q "^Usage: kop $c " "$TMP/out" || grep -qx "Usage: kop $c DIR" "$TMP/out" || fail "kop $c --help: no Usage line"
    grep -q '^  -h, --help ' "$TMP/out" || fail "kop $c --help does not list --help"
    grep -q "^Full documentation: 'man kop'" "$TMP/out" || fail "kop $c --help: no pointer to the manual"
    cp "$TMP/out" "$TMP/help-$c"
    expect_status 0 "$KOP" help "$c"
    cmp -s "$TMP/out" "$TMP/help-$c" || fail "kop help $c differs from kop $c --help"
    for o in $opts; do
        line=$(grep -E "^  (-., )? *--$o(=| |$)" "$TMP/help-$c") || fail "kop $c --help does not list --$o"
        # the parser accepts it: with its value when the help shows one
        case $line in
        *"--$o="*) expect_status 0 "$KOP" "$c" "--$o" x --help; expect_status 0 "$KOP" "$c" "--$o=x" --help ;;
        *) expect_status 0 "$KOP" "$c" "--$o" --help ;;
        esac
    done
    # every option the help lists is one the source declares (or --help)
    for o in $(sed -n 's/^  \(-., \)\{0,1\} *--\([a-z-]*\).*/\2/p' "$TMP/help-$c"); do
        [ "$o" = help ] || echo "$opts" | grep -qx -- "$o" || fail "kop $c --help lists --$o, which cli_$c.c does not declare"
    done
    expect_status 2 "$KOP" "$c" --no-such-option
    grep -q "^kop $c: unknown option '--no-such-option'" "$TMP/err" || fail "kop $c: unknown option: $(cat "$TMP/err")"
    grep -q "^Try 'kop $c --help' for more information\.$" "$TMP/err" || fail "kop $c: no pointer to --help"
done
[ -n "$(sed -n 's/^ *\[OPT_[A-Z_]*\] = {"\([a-z-]*\)".*/\1/p' "$KOP_SRCDIR/src/cli_run.c")" ] || fail "no options found in cli_run.c"

# values: both spellings, and a missing one
expect_status 2 "$KOP" run --model
grep -q -- "--model needs a value (DIR)" "$TMP/err" || fail "missing value: $(cat "$TMP/err")"
expect_status 2 "$KOP" run --quiet=yes x.kop
grep -q -- "--quiet takes no value" "$TMP/err" || fail "flag with a value: $(cat "$TMP/err")"
expect_status 2 "$KOP" check --layers=0 x.kop
grep -q -- "--layers: expected a layer count" "$TMP/err" || fail "--layers=0: $(cat "$TMP/err")"
# after "--" everything is an operand
expect_status 2 "$KOP" check -- --help
grep -q -- "--help: cannot open" "$TMP/err" || fail "-- does not end the options: $(cat "$TMP/err")"

expect_status 2 "$KOP" frobnicate
grep -q "^kop: unknown command 'frobnicate'" "$TMP/err" || fail "unknown command: $(cat "$TMP/err")"
expect_status 2 "$KOP"
expect_status 2 "$KOP" help frobnicate

expect_status 0 "$KOP" --version
version=$(sed -n 's/^AC_INIT(\[kop\], \[\([^]]*\)\].*/\1/p' "$KOP_SRCDIR/configure.ac")
[ "$(head -n 1 "$TMP/out")" = "kop $version" ] || fail "--version: first line '$(head -n 1 "$TMP/out")', expected 'kop $version'"
expect_status 0 "$KOP" -V
[ "$(head -n 1 "$TMP/out")" = "kop $version" ] || fail "-V"

# main.c is the only file that reads argv
readers=$(grep -l 'argv' "$KOP_SRCDIR"/src/*.c | sed 's|.*/||')
[ "$readers" = main.c ] || fail "argv read outside main.c: $readers"
echo "help: ok"
