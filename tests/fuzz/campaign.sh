#!/bin/sh
# tests/fuzz/campaign.sh SRCDIR BUILDDIR [SECONDS] [FORMATS]: long fuzz
# campaigns with kop's own mutator, SECONDS (default 60) per format, each
# format in runs of fresh seeds until its time is up.  Crashing or hanging
# inputs are kept in BUILDDIR/fuzz/crashes/FORMAT-SEED-ITERATION/; the last
# lines give inputs and crashes per format.  Build with ./configure
# --enable-asan --enable-ubsan first to catch memory errors that do not
# crash.  Then, when clang is there, coverage-guided libFuzzer runs of the
# same formats (tests/fuzz/libfuzzer.sh) for SECONDS more each.
#   make fuzz FUZZ_SECONDS=3600
set -eu
src=$(cd "${1:?usage: campaign.sh SRCDIR BUILDDIR [SECONDS] [FORMATS]}" && pwd)
build=$(cd "${2:?usage: campaign.sh SRCDIR BUILDDIR [SECONDS] [FORMATS]}" && pwd)
seconds=${3:-60}
FUZZ=$build/tests/fuzz/fuzz_formats
[ -x "$FUZZ" ] || { echo "campaign: build $FUZZ first (make check builds it)" >&2; exit 2; }
KOP_SRCDIR=$src
KOP_SHARED=${KOP_SHARED:-$src/../shared}
SEEDS=$build/fuzz/seeds
. "$src/tests/fuzz/seeds.sh"
formats=${4:-$FORMATS}
out=$build/fuzz
mkdir -p "$out/crashes"
report=""
for f in $formats; do
    list=$(seeds "$f")
    [ -n "$list" ] || continue
    start=$(date +%s) inputs=0 crashes=0 seed=$(( $(date +%s) % 100000 * 100 ))
    while [ $(( $(date +%s) - start )) -lt "$seconds" ]; do
        left=$(( seconds - ($(date +%s) - start) ))
        seed=$((seed + 1))
        # shellcheck disable=SC2086
        if line=$("$FUZZ" "$f" "$out/work" -n 100000000 -s "$seed" -t "$left" --tokenizer "$TOK" $list 2>"$out/$f.stderr"); then
            n=$(echo "$line" | sed -n 's/^fuzz [a-z]*: \([0-9]*\) inputs.*/\1/p')
            inputs=$((inputs + ${n:-0}))
        else
            it=$(cat "$out/work/$f.iteration" 2>/dev/null || echo 0)
            inputs=$((inputs + it + 1))
            crashes=$((crashes + 1))
            rm -rf "$out/crashes/$f-$seed-$it"
            cp -r "$out/work/$f" "$out/crashes/$f-$seed-$it"
            cp "$out/$f.stderr" "$out/crashes/$f-$seed-$it/stderr"
            echo "campaign: $f crashed at seed $seed, iteration $it: $out/crashes/$f-$seed-$it" >&2
        fi
    done
    report="$report$(printf '%-12s %9d inputs %4d crashes' "$f" "$inputs" "$crashes")
"
done
printf '%s' "$report"
if command -v "${CLANG:-clang}" >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    sh "$src/tests/fuzz/libfuzzer.sh" "$src" "$build" "$seconds" $formats
else
    echo "campaign: no clang, so no libFuzzer runs (apt-get install clang)"
fi
