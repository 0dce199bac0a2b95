#!/bin/sh
# tests/fuzz/run.sh SRCDIR BUILDDIR [SECONDS]: build the libFuzzer harness over
# the .kop front end with clang (AddressSanitizer and UBSan) and run it for
# SECONDS (default 60) on one core.  The seed corpus is every ```kop example
# of grammar/GRAMMAR.md and every recipe of tests/parse/*.test; the corpus the
# fuzzer grows is kept in BUILDDIR/fuzz/corpus, so later runs go on from it.
# Crashes are written to BUILDDIR/fuzz/ as crash-* files; the last lines of
# the output give the number of executions and the corpus size.
#   make fuzz FUZZ_SECONDS=600   (from the build folder)
set -eu
src=${1:?usage: run.sh SRCDIR BUILDDIR [SECONDS]}
build=${2:?usage: run.sh SRCDIR BUILDDIR [SECONDS]}
seconds=${3:-60}
CLANG=${CLANG:-clang}
src=$(cd "$src" && pwd)
build=$(cd "$build" && pwd)
out=$build/fuzz
mkdir -p "$out/corpus" "$out/seeds"

gen() { if [ -f "$build/grammar/$1" ]; then echo "$build/grammar/$1"; else echo "$src/grammar/$1"; fi; }
grammar_dir=$(dirname "$(gen kop.h)")

$CLANG -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$build" -I"$src/src" -I"$grammar_dir" $(pkg-config --cflags json-c) \
    -o "$out/fuzz_parse" "$src/tests/fuzz/fuzz_parse.c" \
    "$(gen kop.c)" "$(gen kop-lex.c)" \
    "$src/src/diag.c" "$src/src/ast.c" "$src/src/check.c" "$src/src/plan.c" "$src/src/hooks.c" \
    "$src/src/util.c" "$src/src/outdir.c" "$src/src/config.c" $(pkg-config --libs json-c) -lm

# Seeds: a first byte choosing 4 layers of mamba1 ('D' = 0x44), then a recipe.
i=0
awk '/^```kop[ \t]*$/ { n++; inside = 1; next } /^```/ { inside = 0; next }
     inside { print > (dir "/example-" n ".kop") }' dir="$out/seeds" "$src/grammar/GRAMMAR.md"
for t in "$src"/tests/parse/*.test; do
    awk '/^%%/ { n++; inside = 1; next } /^--$/ { inside = 0; next } /^$/ { inside = 0; next }
         inside { print > (dir "/" base "-" n ".kop") }' dir="$out/seeds" base="$(basename "$t" .test)" "$t"
done
for f in "$out"/seeds/*.kop; do
    { printf 'D'; cat "$f"; } > "$f.seed"
    rm -f "$f"
    i=$((i + 1))
done
echo "fuzz: $i seeds, running for $seconds s"
cd "$out"
status=0
./fuzz_parse -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 \
    -dict="$src/tests/fuzz/kop.dict" corpus seeds > fuzz.log 2>&1 || status=$?
tail -n 30 fuzz.log
echo "fuzz: corpus $(ls corpus | wc -l) files; full log in $out/fuzz.log; exit status $status"
exit $status
