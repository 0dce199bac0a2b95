#!/bin/sh
# make-images.sh: the README's figures, from real kop runs: the quick start
# on the demo Mamba-1 model (examples/models/mamba1-facts), and on the
# reference checkpoints (../shared/reference) a flow heatmap and line plot on
# Mamba-1, the same flow compared across Mamba-1, Mamba-2 and GPT-2, and a
# token x layer map; and a causal trace by token role on the three demo
# models.
#
#   KOP=path/to/kop [KOP_SHARED=../shared] doc/images/make-images.sh
#
# The PNG files are written beside this script; the runs go to a temporary
# folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
KOP=${KOP:-kop}
shared=${KOP_SHARED:-$here/../../../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$KOP" run "$here/../../examples/quickstart.kop" --model "$here/../../examples/models/mamba1-facts" --out "$tmp/demo" \
    --quiet >/dev/null
cp "$tmp/demo/flow.png" "$here/quickstart-heatmap.png"
cp "$tmp/demo/flow-lines.png" "$here/quickstart-lines.png"

for m in mamba1-tiny mamba2-tiny gpt2-tiny; do
    "$KOP" run "$here/reference-flow.kop" --model "$shared/reference/$m" --out "$tmp/$m" --quiet >/dev/null
done
"$KOP" render "$tmp/mamba1-tiny/summary.csv" --heatmap "$here/flow-heatmap.png" --lines "$here/flow-lines.png"

# a comparison figure is drawn from one summary holding several models
{ cat "$tmp/mamba1-tiny/summary.csv"; tail -n +2 "$tmp/mamba2-tiny/summary.csv"; tail -n +2 "$tmp/gpt2-tiny/summary.csv"; } \
    > "$tmp/compare.csv"
"$KOP" render "$tmp/compare.csv" --heatmap "$here/compare-heatmap.png" --lines "$here/compare-lines.png"

"$KOP" run "$here/reference-tokens.kop" --model "$shared/reference/mamba1-tiny" --out "$tmp/tokens" --quiet >/dev/null
"$KOP" render "$tmp/tokens/summary.csv" --heatmap "$here/tokens-heatmap.png"

# the paper's kinds of figure from the demo pipeline (pipelines/demo.yaml,
# demo/*.kop): window sizes (lines by recipe, panels by statement, relative
# depth, 95 % bands) and per-prompt heatmaps
"$KOP" run "$here/../../pipelines/demo.yaml" --out "$tmp/pipeline" --quiet >/dev/null
cp "$tmp/pipeline/window-sizes-mamba1.png" "$here/paper-window-sizes.png"
cp "$tmp/pipeline/heatmaps/mamba1-facts/heatmaps.png" "$here/paper-per-prompt.png"
# causal tracing on the demo models: the residual stream by token role,
# one panel per model (the role names label the rows)
for m in mamba1-facts mamba2-facts gpt2-facts; do
    "$KOP" run "$here/demo-trace.kop" --model "$here/../../examples/models/$m" --out "$tmp/trace-$m" --quiet >/dev/null
done
{ cat "$tmp/trace-mamba1-facts/summary.csv"; tail -n +2 "$tmp/trace-mamba2-facts/summary.csv"
  tail -n +2 "$tmp/trace-gpt2-facts/summary.csv"; } > "$tmp/trace.csv"
printf '%s\n' context subject.first subject.middle subject.last after.first after last > "$tmp/roles.txt"
"$KOP" render "$tmp/trace.csv" --labels="$tmp/roles.txt" --heatmap "$here/trace-roles.png"
