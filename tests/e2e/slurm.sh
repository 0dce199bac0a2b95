#!/bin/sh
# slurm.sh: examples/slurm/ as Slurm would run it, without Slurm: the three
# tasks of a job array of shards.sbatch (SLURM_ARRAY_TASK_* set as sbatch
# sets them), then merge.sbatch, give the bytes of one run.
. "$KOP_SRCDIR/tests/setup.sh"
E=$KOP_SRCDIR/examples
M=$E/models/mamba1-facts
[ -f "$M/config.json" ] || skip "$M absent"
S=$KOP_SRCDIR/examples/slurm
mkdir "$TMP/bin" && ln -s "$KOP" "$TMP/bin/kop"
"$KOP" run "$E/flow.kop" --model "$M" --prompts "$E/data/facts.json" --name m1 --out "$TMP/one" --quiet >/dev/null
for i in 0 1 2; do
    PATH=$TMP/bin:$PATH SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=1 \
        RECIPE=$E/flow.kop MODEL=$M NAME=m1 OUT=$TMP/run PROMPTS=$E/data/facts.json \
        bash "$S/shards.sbatch" >/dev/null || fail "task $i of shards.sbatch"
done
PATH=$TMP/bin:$PATH OUT=$TMP/run bash "$S/merge.sbatch" >/dev/null || fail "merge.sbatch"
for f in rows.csv summary.csv flow.png flow-lines.png; do
    cmp -s "$TMP/one/$f" "$TMP/run/$f" || fail "$f of the job array differs from one run's"
done
bash -n "$S/paper.sh" || fail "paper.sh does not parse"
exit 0
