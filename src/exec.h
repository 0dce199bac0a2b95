/* exec.h: the executor: a compiled recipe run on one model, prompts in,
 * Results (results.h) out.  It knows nothing of files: the driver (run.h)
 * reads the recipe, model, tokenizer and prompts, and writes what the
 * executor returns.
 *
 * For each prompt, in order: tokenize it and find its subject tokens; one
 * clean forward pass (keeping the records knock.h needs); the target token
 * (the clean top-1, or the first token of the record's answer with
 * `target attribute`); `keep correct` and `limit`; then every plan item at
 * every sweep point as one batch of knocked runs (knock.h), and the metric
 * of each against the clean run.
 *
 * Threads: with several prompts, prompt groups run in parallel (one per
 * thread, BLIS single-threaded inside); with one, the threads work inside
 * each layer.  Either way every number is computed in the same order, so
 * results are bit-identical for any thread count. */
#ifndef KOP_EXEC_H
#define KOP_EXEC_H

#include "featsel.h"
#include "model.h"
#include "plan.h"
#include "prompts.h"
#include "results.h"
#include "tokenizer.h"

/* The prompts of every source of a recipe, in order. */
typedef struct PromptList {
    PromptSet **sets;
    int n_sets;
    const Prompt **v;      /* (n) into the sets */
    int n;
} PromptList;

typedef struct ExecInput {
    const Recipe *recipe;
    const Model *model;
    const Tokenizer *tok;  /* NULL: prompts given as ids only */
    const PromptList *prompts;
} ExecInput;

typedef struct ExecOptions {
    int threads;           /* the count threads_set() put in force */
    int naive;             /* one full forward per knocked run: no cache, no batching (benchmarks) */
    int want_flops;        /* count the knocked runs' FLOPs (costs a second planning of the runs) */
    long limit;            /* > 0: at most this many prompts (and at most the recipe's own limit) */
    int quiet;             /* no progress on stderr */
    long max_tokens;       /* longer prompts are skipped (the driver's cap, prompt_cap.h) */
    int start;             /* first prompt to run (a multiple of EXEC_GROUP): res holds the ones before */
    /* Shards: the prompts run in groups of EXEC_GROUP list positions, and
     * group g is measured by shard g % n_shards; the others' prompts are
     * only decided (tokenized, clean forward, target, keep), so that every
     * shard cuts `limit` at the same prompt.  n_shards 0 or 1: all. */
    int shard, n_shards;
    /* A pipeline's `keep: correct on all`: only prompts whose list position
     * i has keep[i] set (n_keep of them) are measured; NULL: every prompt.
     * The others still get their clean forward (clean.csv). */
    const unsigned char *keep;
    int n_keep;
    /* Called after each chunk of prompts with the new PromptResults
     * [from, to) of res, in list order (the driver appends them to rows.csv). */
    void (*on_prompts)(void *ctx, const Results *res, int from, int to);
    void *ctx;
} ExecOptions;

/* Prompts that share one batched clean forward; resumes and shards start at
 * multiples of it, so every prompt is computed in the same batch as in a
 * run from the start. */
enum { EXEC_GROUP = 4 };

/* Run; res must have been results_init'ed.  0, or -1 with err. */
int exec_recipe(const ExecInput *in, const ExecOptions *o, Results *res, KopError *err);

#endif
