/* trace.h: causal tracing of one prompt (TRACING.md; Meng et al. 2022,
 * Sharma et al. 2024), the engine without the language.
 *
 * A TracePrompt holds, for one prompt of T tokens:
 *  - the clean run: its last-position logits and, per hook asked for, the
 *    hook's values at every layer and position (the sources of restores);
 *  - N corrupted runs (TraceCorruption): the prompt with Gaussian noise on
 *    the input embeddings at chosen positions (noise.h, one run per sample
 *    s = 0..N-1), or another id sequence of the same length (a swapped
 *    subject, N = 1).  They run as one batched forward that keeps what
 *    restored runs start from: the residual stream entering every layer and
 *    the per-layer records of the executor (knock.h: conv inputs, SSM
 *    inputs, keys and values), plus, per hook asked for, the hook values
 *    (the sources of freezes).
 * Hooks captured at creation are the ones named there; a later run that
 * needs another is served by capturing it then (one more clean or
 * corrupted forward).
 *
 * A TraceRun is one intervention, applied to each corrupted run:
 *  - restore HOOK at positions in layers: those values are set to the clean
 *    run's;
 *  - freeze HOOK at positions in layers (optional): those values are held at
 *    the ones the same corrupted run had without any restore (path
 *    blocking).  At a value both name, the freeze wins.
 * p_restored is the mean over the N corrupted runs of the target's
 * probability at the last position; p_corrupt the same without the run.
 *
 * trace_restore is the efficient path (TRACING.md "Cost"): a restored run
 * whose first restored position is i and first restored layer l equals its
 * corrupted run before layer l and before position i (a restore of resid at
 * l replaces the stream after layer l, so computing starts at l + 1), so
 * only rows i..T-1 are recomputed, from layer l on, starting from the
 * corrupted run's residual stream, with its SSM states at i-1 rebuilt from
 * its records and its conv inputs, keys and values before i read from
 * them; only the last row gets logits.  The rows of all runs and samples go
 * through each layer together (ArchOps.rows: one GEMM per projection; the
 * layer loop is rowexec.h's, shared with the knockout engine), in chunks of
 * at most a row budget to bound memory.  trace_restore_naive is
 * the definitional path: every run of every sample is a full model_forward
 * with its hook ops; tests hold the two equal.
 *
 * Positions and layers are masks: pos (T), layers (n_layer). */
#ifndef KOP_TRACE_H
#define KOP_TRACE_H

#include <stdint.h>

#include "forward.h"

typedef struct TraceCorruption {
    int samples;               /* N >= 1 corrupted runs */
    const int *ids;            /* (T) the corrupted runs' ids (a swapped subject); NULL: the prompt's */
    double sigma;              /* noise standard deviation (absolute); 0: no noise */
    uint64_t seed;             /* TRACING.md's seed S */
    uint64_t prompt;           /* p: the prompt's index in the recipe's joined list, before filters */
    const unsigned char *pos;  /* (T) noised positions; NULL: none */
} TraceCorruption;

typedef struct TraceSite {
    Hook hook;
    const unsigned char *pos;    /* (T); NULL: no site (a run without freeze) */
    const unsigned char *layers; /* (n_layer) */
} TraceSite;

typedef struct TraceRun {
    TraceSite restore;         /* set to the clean run's values */
    TraceSite freeze;          /* held at the corrupted run's values; freeze.pos NULL: none */
} TraceRun;

typedef struct TracePrompt TracePrompt;

/* Run the clean forward and the corrupted ones of ids[0..T).  restore_hooks
 * and freeze_hooks (HOOK_BIT masks) name the hooks to capture now in the
 * clean and in the corrupted runs.  NULL with err set on failure (a token
 * outside the vocabulary, a prompt too long, a hook the model lacks, bad
 * corruption parameters). */
TracePrompt *trace_prompt_new(const Model *m, const int *ids, int T, const TraceCorruption *cor,
                              unsigned restore_hooks, unsigned freeze_hooks, KopError *err);
void trace_prompt_free(TracePrompt *tp);

int trace_samples(const TracePrompt *tp);
const float *trace_clean_logits(const TracePrompt *tp);   /* (V) last position */
const float *trace_corrupt_logits(const TracePrompt *tp); /* (N, V) last position of each corrupted run */
double trace_p_clean(const TracePrompt *tp, int target);
double trace_p_corrupt(const TracePrompt *tp, int target); /* mean over the N runs */

/* What trace_restore gives back, each part optional: p_restored[k], the
 * mean over the samples of the target's probability in run k; logits
 * (n, N, V), run k sample s at (k * N + s) * V; and each(ctx, k, s,
 * logits (V)) called once for every run and sample (in no particular order
 * across runs, samples of a run in order; the logits valid during the
 * call), for metrics that need the whole distribution without keeping
 * n * N of them. */
typedef struct TraceOut {
    int target;                 /* the measured token, for p_restored */
    double *p_restored;         /* (n) or NULL */
    float *logits;              /* (n, N, V) or NULL */
    void (*each)(void *ctx, int run, int sample, const float *logits);
    void *ctx;
} TraceOut;

/* The n runs (TraceOut above).  A run whose restore names no position or
 * no layer is the corrupted run.  Returns 0, or -1 with err set (a hook
 * the model lacks, a target outside the vocabulary). */
int trace_restore(TracePrompt *tp, const TraceRun *runs, int n, const TraceOut *out, KopError *err);
/* The same, every run of every sample recomputed in full (definitional). */
int trace_restore_naive(TracePrompt *tp, const TraceRun *runs, int n, const TraceOut *out, KopError *err);

/* Rows per chunk of trace_restore (default TRACE_ROW_BUDGET); tests make it
 * small to cover the chunking. */
enum { TRACE_ROW_BUDGET = 2048 };
void trace_set_row_budget(TracePrompt *tp, int rows);

/* Floating point operations of trace_restore on these runs (2 per
 * multiply-add; one row through one layer counted as a T = 1 layer), for
 * benchmarks. */
double trace_flops(const TracePrompt *tp, const TraceRun *runs, int n);

#endif
