/* exec.h: `kop run`: a compiled recipe run on one model.
 *
 * For each prompt, in order: tokenize it and find its subject tokens; one
 * clean forward pass (keeping the records knock.h needs); the target token
 * (the clean top-1, or the first token of the record's answer with
 * `target attribute`); `keep correct` and `limit`; then every plan item at
 * every sweep point as one batch of knocked runs (knock.h), and the metric
 * of each against the clean run.
 *
 * Outputs, in the output folder (default results/EXPERIMENT/MODEL/):
 *   rows.csv      one row per prompt x statement x sweep point, appended as
 *                 each prompt finishes:
 *                 experiment,model,statement,k,t,layer_lo,layer_hi,prompt,
 *                 target_id,p_clean,p_knocked,value
 *   summary.csv   per statement x sweep point: n, mean, stderr, ci95
 *                 (Student-t), metric -- written when the run completes
 *   manifest.yaml recipe text, model, config.json checksum, kop version and
 *                 configure options, threads, prompts used and skipped with
 *                 reasons, timings; `status: running` until the run
 *                 completes, then `status: complete`
 *   and each `output` of the recipe (csv: a copy of the summary; heatmap,
 *   lines: PNG figures).
 * summary.csv, manifest.yaml and figures are written under a temporary name
 * and renamed, so a file under its final name is always whole.
 *
 * Threads: with several prompts, prompts run in parallel (one per thread,
 * BLIS single-threaded inside); with one, the threads work inside each layer.
 * Either way every number is computed in the same order, so results are
 * bit-identical for any thread count. */
#ifndef KOP_EXEC_H
#define KOP_EXEC_H

#include "model.h"
#include "util.h"

typedef struct RunOptions {
    const char *recipe_path;
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
} RunOptions;

typedef struct RunStats {
    int prompts;               /* measured */
    long runs;                 /* knocked runs computed */
    double seconds;            /* the prompt loop only: no loading, no outputs */
    double knock_flops;        /* floating point operations of the knocked runs (cached path) */
} RunStats;

/* Runs the recipe; recipe errors are printed (file:line:col) on stderr and
 * reported as err (status 1).  0 on success. */
int exec_run(const RunOptions *o, KopError *err);

/* Write s as one CSV field (RFC 4180 quoting when needed). */
void csv_field(FILE *f, const char *s);

#endif
