#!/bin/sh
# make-images.sh: draw the README's figures with `kop render`.
#
#   KOP=path/to/kop doc/images/make-images.sh [FLOW.csv [COMPARE.csv [TOKENS.csv [TOKENS.labels]]]]
#
# FLOW is one model's summary.csv of a flow experiment (heatmap + lines),
# COMPARE a summary.csv holding several models (a pipeline's merged summary),
# TOKENS a tokens[t] x layer summary for one prompt, with its token texts
# one a line.  Each defaults to the stand-in under data/ (made by
# synth-summaries.py) until real results from the reference models replace
# them.  The PNG files are written beside this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
KOP=${KOP:-kop}
flow=${1:-$here/data/flow-mamba-130m.csv}
compare=${2:-$here/data/flow-compare.csv}
tokens=${3:-$here/data/tokens-mamba-130m.csv}
labels=${4:-$here/data/tokens-mamba-130m.labels}

"$KOP" render "$flow" --heatmap "$here/flow-heatmap.png" --lines "$here/flow-lines.png"
"$KOP" render "$compare" --heatmap "$here/compare-heatmap.png" --lines "$here/compare-lines.png"
if [ -f "$labels" ]; then
    "$KOP" render "$tokens" --labels "$labels" --heatmap "$here/tokens-heatmap.png"
else
    "$KOP" render "$tokens" --heatmap "$here/tokens-heatmap.png"
fi
