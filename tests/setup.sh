# tests/setup.sh: sourced by every shell test (jq's tests/setup).  Gives
# $KOP (the binary), $SHARED (../shared), a temporary $TMP removed on exit,
# and helpers.  Exit 77 means skipped (Automake), 1 failed.
set -eu
export LC_ALL=C
: "${KOP:?KOP not set: run through make check}"
SHARED=${KOP_SHARED:-}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kop-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need_shared() { [ -n "$SHARED" ] && [ -d "$SHARED/$1" ] || skip "$SHARED/$1 absent"; }

# expect_status WANT CMD...: run CMD, fail unless it exits with WANT.
expect_status() {
    want=$1; shift
    set +e
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" = "$want" ] || { cat "$TMP/err" >&2; fail "'$*' exited $got, expected $want"; }
}

# summary_per_k SUMMARY STATEMENT: "k mean" lines of STATEMENT's sweep in a
# summary.csv; min_of FILE: the line of such a file with the smallest mean.
summary_per_k() {
    awk -F, -v st="$2" 'NR > 1 && $3 == st { print $4, $7 }' "$1"
}
min_of() { sort -k2,2g "$1" | head -n 1; }
