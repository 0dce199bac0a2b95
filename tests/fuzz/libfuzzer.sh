#!/bin/sh
# tests/fuzz/libfuzzer.sh SRCDIR BUILDDIR SECONDS FORMAT...: coverage-guided
# fuzzing of the input formats (tests/fuzz/fuzz_formats.c built with
# -DKOP_LIBFUZZER) with clang's libFuzzer, AddressSanitizer and UBSan, all
# of libkop compiled with them; SECONDS per format on one core.  The seeds
# are those of make check's fuzz run (tests/fuzz/seeds.sh); corpora grow in
# BUILDDIR/fuzz/lf-FORMAT/ and crashes land there as crash-* files.
# (target_clones are left out: clang cannot resolve them under the
# sanitizers.)  FUZZ_CFLAGS and FUZZ_LIBS carry the libraries' flags (make fuzz sets them).
set -eu
src=$(cd "${1:?usage: libfuzzer.sh SRCDIR BUILDDIR SECONDS FORMAT...}" && pwd)
build=$(cd "${2:?}" && pwd)
seconds=${3:?}
shift 3
CLANG=${CLANG:-clang}
out=$build/fuzz
mkdir -p "$out"
gen() { if [ -f "$build/grammar/$1" ]; then echo "$build/grammar/$1"; else echo "$src/grammar/$1"; fi; }
sources=$(ls "$src"/src/*.c "$src"/kernels/*.c | grep -v -e '/main\.c$' -e '/cli_[a-z]*\.c$')
# shellcheck disable=SC2086
$CLANG -g -O1 -std=c11 -D_GNU_SOURCE -DKOP_LIBFUZZER -DKOP_NO_CLONES -w \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$build" -I"$build/src" -I"$src/src" -I"$src/kernels" -I"$src/tests/fuzz" -I"$(dirname "$(gen kop.h)")" \
    ${FUZZ_CFLAGS:-} -o "$out/fuzz_formats_lf" "$src/tests/fuzz/fuzz_formats.c" $sources "$(gen kop.c)" "$(gen kop-lex.c)" \
    ${FUZZ_LIBS:-} -lm
KOP_SRCDIR=$src
KOP_SHARED=${KOP_SHARED:-$src/../shared}
SEEDS=$out/seeds
. "$src/tests/fuzz/seeds.sh"
status=0
for f in "$@"; do
    [ "$f" = vocab ] && continue
    list=$(seeds "$f")
    [ -n "$list" ] || continue
    corpus=$out/lf-$f
    mkdir -p "$corpus/corpus" "$corpus/seeds"
    for s in $list; do
        if [ "$f" = recipe ]; then { printf 'D'; cat "$s"; } > "$corpus/seeds/$(basename "$s")"; else cp "$s" "$corpus/seeds/"; fi
    done
    companion=
    case $f in
    safetensors) companion=$(dirname "$(echo "$list" | head -1)")/config.json ;;
    config) companion=$(dirname "$(echo "$list" | head -1)")/model.safetensors ;;
    esac
    if [ "$f" = safetensors ] || [ "$f" = config ]; then
        rm -f "$corpus/seeds/"*; cp "$(echo "$list" | head -1)" "$corpus/seeds/"
    fi
    echo "libfuzzer $f: $(ls "$corpus/seeds" | wc -l) seeds, $seconds s"
    (cd "$corpus" && FUZZ_FORMAT=$f FUZZ_WORKDIR=$corpus/work FUZZ_COMPANION=$companion FUZZ_TOKENIZER=$TOK \
        "$out/fuzz_formats_lf" -max_total_time="$seconds" -max_len=300000 -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 corpus seeds > log 2>&1) || status=1
    grep -E '^stat::number_of_executed_units|^stat::peak_rss' "$corpus/log" | sed "s/^/libfuzzer $f: /"
    ls "$corpus" | grep -E '^(crash|leak|timeout|oom)-' | sed "s|^|libfuzzer $f: finding $corpus/|" || true
done
exit $status
