#!/bin/sh
# bench/paper-table.sh [SHAPE:DTYPE ...]: the bench table at the papers'
# scale in one command.  For each SHAPE:DTYPE (default: the list below), one
# after the other: bench/checkpoint writes the random-weight model under
# $KOP_CKPT (default /tmp/kop-ckpt), bench/scale measures it, and the folder
# is deleted, so the disk holds one checkpoint at a time (15 GB at most).
# Run from the build directory after `make bench`.  Environment:
#   KOP_CKPT     where the checkpoints go (never inside the repository)
#   PROMPTS      prompts per measurement (default 8: two groups of four)
#   THREADS      thread counts (default 1,2)
#   KOP_BUILDDIR the build directory (default .)
# The rows go to stdout as one Markdown table; each shape's full output
# (sgemm peak of its run included) to $KOP_CKPT/scale-SHAPE-DTYPE.log.
set -eu
B=${KOP_BUILDDIR:-.}
CKPT=${KOP_CKPT:-/tmp/kop-ckpt}
PROMPTS=${PROMPTS:-8}
THREADS=${THREADS:-1,2}
for p in "$B/bench/checkpoint" "$B/bench/scale" "$B/kop"; do
    [ -x "$p" ] || { echo "paper-table: $p not built (make bench in the build directory)" >&2; exit 2; }
done
[ $# -gt 0 ] || set -- mamba-130m:f32 mamba-130m:bf16 mamba2-130m:f32 gpt2-xl:f32 gpt2-xl:bf16 \
    mamba-2.8b:f32 mamba-2.8b:bf16 mamba2-2.7b:f32 mamba2-2.7b:bf16 falcon-mamba-7b:bf16
for sd in "$@"; do # every name checked before an hour of measuring
    "$B/bench/checkpoint" "${sd%%:*}" "$CKPT/x" --dtype "${sd#*:}" --dry-run > /dev/null \
        || { echo "paper-table: '$sd' is not SHAPE:DTYPE (dtype f32, bf16 or f16)" >&2; exit 2; }
done
mkdir -p "$CKPT"
echo "| shape | dtype | threads | s/prompt | GFLOP/s | % sgemm peak | load s | peak RSS GB | kop info s | kop info RSS GB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
status=0
for sd in "$@"; do
    shape=${sd%%:*} dtype=${sd#*:}
    dir="$CKPT/$shape-$dtype"
    log="$CKPT/scale-$shape-$dtype.log"
    rm -rf "$dir"
    if "$B/bench/checkpoint" "$shape" "$dir" --dtype "$dtype" > "$log" 2>&1 \
        && "$B/bench/scale" --kop "$B/kop" --threads "$THREADS" --prompts "$PROMPTS" "$dir" >> "$log" 2>&1; then
        grep '^| [a-z]' "$log" | grep -v '^| shape ' || true
    else
        echo "paper-table: $shape $dtype failed; see $log" >&2
        status=1
    fi
    rm -rf "$dir"
done
exit $status
