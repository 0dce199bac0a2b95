/* knock.h: many knocked runs of one prompt, computed from the clean run.
 *
 * A knocked run blocks edges (target i <- source j, j <= i) in the layers
 * [lo, hi] (on selected features, for SSMs).  By causality it differs from the
 * clean run only at positions >= t0, its first target position, and only from
 * layer lo on.  So:
 *  - one clean forward records, per layer, what later rows need from earlier
 *    ones: Mamba's pre-conv inputs, conv outputs, step sizes and B/C rows (from
 *    which the SSM state at t0-1 is rebuilt), GPT-2's keys and values;
 *  - every run starts at its layer lo from the clean residual stream and
 *    recomputes just its rows t0..T-1 (one row for a `-> last` statement);
 *  - all runs of a prompt go through each layer together: their rows are
 *    stacked so every projection is one GEMM, not one GEMV per run (the
 *    layer loop is rowexec.h's, shared with the tracing engine, trace.h);
 *  - the blocked contribution is removed exactly with a second, sources-only
 *    state: h' = h - h^S, where h^S is the SSM state driven by the source
 *    inputs only (LANGUAGE.md "What a knockout does"); positions before t0 are
 *    clean in every run, so h^S at t0-1 is built once per layer and source set
 *    from the clean records (all of a layer's states in one pass);
 *  - runs that differ only in their last knocked layer (a sweep's windows
 *    clipped at layer 0) are one run up to that layer: the one with the
 *    lower hi takes the other's rows there and goes on alone, and one that
 *    reaches the last layer too is a duplicate that takes its logits.
 * The result equals model_forward with the same per-layer knockouts (tests
 * check both against ../shared/reference); only summation order differs. */
#ifndef KOP_KNOCK_H
#define KOP_KNOCK_H

#include "forward.h"

typedef struct KnockRun {
    int lo, hi;                /* knocked layers [lo, hi]; lo > hi: a no-op (clean logits) */
    const unsigned char *src;  /* (T) source positions */
    const unsigned char *dst;  /* (T) target positions */
    const unsigned char *chan; /* (n_layer, n_features) selected features, or NULL = all */
} KnockRun;

typedef struct PromptRun PromptRun;

/* Run the clean forward of ids[0..T) and keep the records.  clean_logits
 * (vocab) receives the last position's logits.  NULL + err on failure. */
PromptRun *prompt_run_new(const Model *m, const int *ids, int T, float *clean_logits, KopError *err);

/* The same for n prompts (ids[q], T[q] tokens) in one batched forward: a
 * short prompt alone multiplies every weight matrix by a few rows, so
 * batching them is what keeps the clean passes efficient.  out[q] (free each
 * with prompt_run_free, in any order); clean_logits (n, vocab) or NULL.
 * scratch: the calling thread's working memory, borrowed by the runs and
 * reused from prompt to prompt (NULL: each run its own).
 * Returns 0, or -1 with err set and every out[q] NULL. */
int prompt_runs_new(const Model *m, int n, const int *const *ids, const int *T, float *clean_logits, PromptRun **out,
                    Scratch *scratch, KopError *err);
void prompt_run_free(PromptRun *p);

/* (vocab) the prompt's clean last-position logits, valid until the free. */
const float *prompt_run_clean_logits(const PromptRun *p);

/* logits (n, vocab): the last position's logits of each knocked run. */
int prompt_run_knock(PromptRun *p, const KnockRun *runs, int n, float *logits, KopError *err);

/* The same without copying a vocabulary row more than it must: buf (n,
 * vocab) receives the logits the runs compute, and row[k] points at run k's
 * (in buf, or the clean logits when the run changes nothing; runs that are
 * the same run share a row).  For a sweep of a few hundred runs the copies
 * are tens of megabytes a prompt. */
int prompt_run_knock_rows(PromptRun *p, const KnockRun *runs, int n, float *buf, const float **row, KopError *err);

/* The same, one run at a time, through model_forward with the full prompt:
 * the slow path, for tests and for benchmarking the speedup. */
int prompt_run_knock_naive(PromptRun *p, const KnockRun *runs, int n, float *logits, KopError *err);

/* Floating point operations the cached path spends on these runs of a
 * prompt of T tokens (projections, scans, attention, logits; 2 per
 * multiply-add), for benchmarks. */
double knock_flops(const Config *c, int T, const KnockRun *runs, int n);

/* The record layout, shared with trace.c: floats recorded per position and
 * layer; and the LayerRec of layer l for rows [r0, ...) of a record block
 * of `rows` rows per layer (each field a (rows, width) block, one after
 * another). */
size_t knockp_record_width(const Config *c);
void knockp_layer_views(const Config *c, float *mem, int rows, int l, int r0, LayerRec *r);

#endif
