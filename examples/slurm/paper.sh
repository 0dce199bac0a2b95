#!/bin/bash
# paper.sh: the Mamba Knockout paper pipeline (pipelines/mamba-knockout-paper.yaml)
# on a Slurm cluster: every model x recipe as a job array of SHARDS shards
# (shards.sbatch), each joined by a merge job (merge.sbatch) into the folder
# the pipeline itself uses, OUT/EXPERIMENT/MODEL; then one last job runs the
# pipeline, which finds every run complete ("nothing to do") and draws the
# joined summaries and figures.
#
#   MODELS=/models KNOWN_1000=/data/known_1000.jsonl OUT=results/paper SHARDS=8 examples/slurm/paper.sh
#
# The models are the pipeline's (MODELS/NAME).  Recipes that filter models
# (features: SSMs only; windows: min_layers) are listed by hand below, as the
# pipeline's archs and min_layers say.  Runs under `keep: correct on all`
# need the pipeline's kept set, which only the pipeline computes: the
# pipeline job runs those itself (flow-to-last and the windows on the
# all-correct set), after the sharded `keep: own` runs.
set -euo pipefail
: "${MODELS:?set MODELS}" "${KNOWN_1000:?set KNOWN_1000}" "${OUT:?set OUT}"
SHARDS=${SHARDS:-8}
here=$(cd "$(dirname "$0")" && pwd)
P=${PIPELINE:-$here/../../pipelines/mamba-knockout-paper.yaml}
R=$(dirname "$P")/paper
deps=""
submit() { # submit RECIPE EXPERIMENT MODEL_NAME: a sharded run and its merge
    local jid out=$OUT/$2/$3
    jid=$(sbatch --parsable --array=0-$((SHARDS - 1)) \
        --export=ALL,RECIPE="$1",MODEL="$MODELS/$3",NAME="$3",OUT="$out",PROMPTS="$KNOWN_1000" "$here/shards.sbatch")
    jid=$(sbatch --parsable --dependency=afterok:"$jid" --export=ALL,OUT="$out" "$here/merge.sbatch")
    deps="$deps:$jid"
}
for m in mamba-130m mamba-370m mamba-790m mamba-1.4b mamba-2.8b falcon-mamba-7b \
         mamba2-130m mamba2-370m mamba2-780m mamba2-1.3b mamba2-2.7b gpt2-medium gpt2-large gpt2-xl; do
    submit "$R/flow-own.kop" flow-own-correct "$m"
    submit "$R/tokens.kop" token-map "$m"
    case $m in gpt2-*) ;; *) submit "$R/features.kop" feature-knockout "$m" ;; esac
done
# the pipeline: the kept-set runs, then every figure
sbatch --dependency=afterok"$deps" --cpus-per-task=64 --time=24:00:00 --output=kop-paper-%j.log \
    --wrap="kop run '$P' --set MODELS='$MODELS' --set KNOWN_1000='$KNOWN_1000' --out '$OUT'"
