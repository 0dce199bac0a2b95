/* run.h: `kop run RECIPE --model DIR`, the driver around the executor.
 *
 * Reads the recipe and compiles it once (or takes the pipeline's compiled
 * Recipe), loads the model (or borrows the pipeline's), the tokenizer and
 * the prompts, makes the output folder, hands everything to the executor
 * (exec.h) and writes what it returns:
 *
 *   rows.csv      one row per prompt x statement x sweep point, appended as
 *                 prompts finish (results_csv.c has the columns)
 *   summary.csv   per statement x sweep point: n, mean, stderr, ci95
 *                 (Student-t), metric -- written when the run completes
 *   manifest.yaml recipe text, model, config.json checksum, kop version and
 *                 configure options, threads, prompts used and skipped with
 *                 reasons, timings; `status: running` until the run
 *                 completes, then `status: complete`
 *   and each `output` of the recipe (csv: the summary; heatmap, lines: PNG
 *   figures drawn from the summary in memory).
 * summary.csv, manifest.yaml and figures are written under a temporary name
 * and renamed, so a file under its final name is always whole. */
#ifndef KOP_RUN_H
#define KOP_RUN_H

#include <stdio.h>

#include "model.h"
#include "plan.h"
#include "results.h"
#include "summary_csv.h"
#include "util.h"

typedef struct RunOptions {
    const char *recipe_path;
    const Recipe *recipe;      /* compiled for this model already (pipelines), borrowed; NULL: compile recipe_path */
    const char *model_dir;
    const char *model_label;   /* NULL: the model folder's name */
    const char *out_dir;       /* NULL: results/EXPERIMENT/MODEL */
    int threads;               /* 0: OpenMP's default */
    int quiet;                 /* no progress on stderr */
    FILE *log;                 /* where the closing summary goes (stdout), or NULL */
    const Model *model;        /* already loaded (borrowed): model_dir is then only a label */
    const char *tokenizer;     /* tokenizer file or folder; NULL: the model folder */
    int naive;                 /* one full forward per knocked run: no cache, no batching (benchmarks) */
    const char *prompts;       /* a prompts file used instead of the recipe's prompt sources
                                  (pipelines: `prompts:`); NULL: the recipe's own */
    long limit;                /* > 0: at most this many prompts, fewer if the recipe's
                                  own `limit` says so (pipelines: `limit:`); 0: none */
    long max_tokens;           /* > 0: longer prompts are skipped; 0: prompt_cap_default() */
    struct RunStats *stats;    /* filled when not NULL */
    Summary *summary;          /* when not NULL, receives the run's summary rows (pipelines' figures) */
    int restart;               /* start over even if the output folder holds this run, whole or in part */
    int shard, n_shards;       /* compute shard `shard` of n_shards (exec.h); n_shards 0 or 1: all */
    const unsigned char *keep; /* pipelines' `keep: correct on all` (exec.h), n_keep list positions;
                                  the kept prompts' ids go into the manifest */
    int n_keep;
    const char *keep_note;     /* why those are kept, for the manifest */
} RunOptions;

typedef struct RunStats {
    int prompts;               /* measured */
    long runs;                 /* knocked runs computed */
    double seconds;            /* the prompt loop only: no loading, no outputs */
    double knock_flops;        /* floating point operations of the knocked runs (cached path) */
} RunStats;

/* Runs the recipe; recipe errors are printed (file:line:col) on stderr and
 * reported as err (status 1).  0 on success.
 *
 * Resuming: OUT/journal.txt (journal.h) records every finished prompt
 * exactly.  Started again with the same command (same recipe text, model,
 * prompts, limit and shard: the journal's key), a run that was killed cuts
 * rows.csv and the journal back to its last whole group of prompts and
 * computes only the rest; its outputs are then byte-identical to a run
 * never interrupted.  A complete one has nothing to do and says so.
 * restart, or a different command, starts over.
 *
 * Under MPI (ranks.h: kop built --with-mpi, started by mpirun or srun),
 * every rank calls this alike: rank r measures shard r of N, sends each
 * chunk's prompts to rank 0 as journal text, and rank 0 joins them and
 * writes the folder exactly as one process does (the manifest adds
 * `ranks: N`); an error on any rank is every rank's, reported by rank 0. */
int run_recipe(const RunOptions *o, KopError *err);

/* The clean forward of every prompt of prompts_path on model m (the
 * tokenizer from tokenizer, else model_dir): res gets one PromptResult per
 * prompt with its id, clean top-1, answer and whether it was read at all
 * (clean); *texts the prompts' texts (NULL for ids records; free each and
 * the array).  For `keep: correct on all`.  0 or -1 with err. */
int run_clean(const Model *m, const char *model_dir, const char *tokenizer, const char *prompts_path, int threads,
              int quiet, Results *res, char ***texts, KopError *err);

/* summary.csv and the recipe's outputs (figures drawn from the summary in
 * memory) of finished Results, into out_dir.  0 or -1 with err. */
int run_outputs(const Recipe *r, const Results *res, const char *out_dir, KopError *err);

#endif
