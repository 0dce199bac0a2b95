#!/bin/sh
# tests/parse/run-golden.sh: the golden tests of the .kop front end, in jq's
# style.  Each tests/parse/*.test file holds cases separated by blank lines;
# lines starting with '#' between cases are comments.  A case is
#
#     %%MODE [ARGS...]
#     recipe lines
#     --
#     expected lines
#
# and runs `kop check [flags] ARGS test.kop` in a scratch folder:
#     %%AST       --dump-ast: exit 0, stdout is the expected text
#     %%PLAN      --dump-plan: exit 0, stdout is the expected text
#     %%SUMMARY   exit 0, stdout is the expected text
#     %%WARN      exit 0, stderr (the warnings) is the expected text
#     %%FAIL      exit 1, stderr (the diagnostics) is the expected text
#     %%EXAMPLE N MODE [ARGS...]   the recipe is the N-th ```kop block of
#                 grammar/GRAMMAR.md (no recipe lines); every block must have
#                 exactly one such case, so the reference cannot drift.
# In the first three, a line `--stderr` may end the expected stdout and
# start the expected warnings; without it stderr must be empty.
# Prompt files are not checked unless ARGS hold --files; the scratch folder
# has an empty prompts.jsonl for cases that need an existing file.  @SHARED@
# in ARGS is the shared folder; when it has no reference/ such cases are
# skipped.
. "$KOP_SRCDIR/tests/setup.sh"

grammar=$KOP_SRCDIR/grammar/GRAMMAR.md
work=$TMP/work
mkdir -p "$work"
: > "$work/prompts.jsonl"
n_pass=0 n_fail=0 n_skip=0 n_error_cases=0 examples_seen=

# The N-th ```kop block of GRAMMAR.md.
example() {
    awk -v want="$1" '/^```kop[ \t]*$/ { n++; inside = 1; next }
                      /^```/ { inside = 0; next }
                      inside && n == want' "$grammar"
}

# compare WANT GOT WHAT: diff, saying WHAT differs.
compare() {
    diff -u "$1" "$2" > "$work/diff" && return 0
    echo "$3 are not as expected:"
    cat "$work/diff"
    return 1
}

# Run the case whose header is $1 (recipe in test.kop, expectation in expected).
run_case() {
    where=$2
    set -- $1
    mode=${1#%%}
    shift
    if [ "$mode" = EXAMPLE ]; then
        examples_seen="$examples_seen $1."
        example "$1" > "$work/test.kop"
        mode=$2
        shift 2
    fi
    files=--no-files args=
    for a in "$@"; do
        case $a in
        --files) files= ;;
        *@SHARED@*)
            if [ -z "$SHARED" ] || [ ! -d "$SHARED/reference" ]; then
                n_skip=$((n_skip + 1))
                return
            fi
            args="$args $(printf '%s' "$a" | sed "s|@SHARED@|$SHARED|g")" ;;
        *) args="$args $a" ;;
        esac
    done
    case $mode in
    AST) flag=--dump-ast want=0 stream=out ;;
    PLAN) flag=--dump-plan want=0 stream=out ;;
    SUMMARY) flag= want=0 stream=out ;;
    WARN) flag= want=0 stream=err ;;
    FAIL) flag= want=1 stream=err n_error_cases=$((n_error_cases + 1)) ;;
    *) echo "$where: unknown mode '$mode'"; n_fail=$((n_fail + 1)); return ;;
    esac
    set +e
    (cd "$work" && "$KOP" check $flag $files $args test.kop > out 2> err)
    got=$?
    set -e
    ok=1
    if [ "$got" != "$want" ]; then
        echo "$where: exit status $got, expected $want"
        ok=0
    fi
    if [ "$stream" = out ]; then
        sed '/^--stderr$/,$d' "$work/expected" > "$work/expected.out"
        sed '1,/^--stderr$/d' "$work/expected" > "$work/expected.err"
        compare "$work/expected.err" "$work/err" "$where: diagnostics" || ok=0
        compare "$work/expected.out" "$work/out" "$where: the results" || ok=0
    else
        compare "$work/expected" "$work/err" "$where: diagnostics" || ok=0
    fi
    if [ $ok = 1 ]; then n_pass=$((n_pass + 1)); else n_fail=$((n_fail + 1)); fi
}

for t in "$KOP_SRCDIR"/tests/parse/*.test; do
    name=${t#"$KOP_SRCDIR"/}
    lineno=0 state=idle header= start=0
    # A trailing blank line closes the last case.
    { cat "$t"; echo; } | {
    while IFS= read -r line; do
        lineno=$((lineno + 1))
        case $state in
        idle)
            case $line in
            '' | '#'*) ;;
            %%*) header=$line start=$lineno state=recipe
                 : > "$work/test.kop"; : > "$work/expected" ;;
            *) echo "$name:$lineno: expected a %% case header"; n_fail=$((n_fail + 1)) ;;
            esac ;;
        recipe)
            if [ "$line" = -- ]; then state=expected
            elif [ -z "$line" ]; then
                echo "$name:$start: case has no '--' line"; n_fail=$((n_fail + 1)); state=idle
            else printf '%s\n' "$line" >> "$work/test.kop"; fi ;;
        expected)
            if [ -z "$line" ]; then run_case "$header" "$name:$start"; state=idle
            else printf '%s\n' "$line" >> "$work/expected"; fi ;;
        esac
    done
    echo "$n_pass $n_fail $n_skip $n_error_cases $examples_seen" > "$work/counts.$(basename "$t")"
    }
done

# Totals over the files (each was read in a subshell of its pipeline).
total_pass=0 total_fail=0 total_skip=0 total_errors=0 seen=
for c in "$work"/counts.*; do
    read -r p f s e rest < "$c"
    total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
    total_skip=$((total_skip + s)) total_errors=$((total_errors + e))
    seen="$seen $rest"
done

# Every example of the reference has exactly one case.
n_examples=$(grep -c '^```kop[ \t]*$' "$grammar" || true)
i=1
while [ "$i" -le "$n_examples" ]; do
    count=$(printf '%s\n' $seen | grep -c "^$i\\.\$" || true)
    if [ "$count" != 1 ]; then
        echo "GRAMMAR.md example $i has $count golden cases (expected 1)"
        total_fail=$((total_fail + 1))
    fi
    i=$((i + 1))
done

echo "golden: $total_pass passed, $total_fail failed, $total_skip skipped;" \
     "$total_errors error cases; $n_examples examples from GRAMMAR.md"
[ "$total_fail" = 0 ] || exit 1
