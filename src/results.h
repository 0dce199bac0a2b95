/* results.h: what a run measured, in memory.
 *
 * The executor (exec.h) fills Results; the writers (results_csv.c) turn them
 * into rows.csv and summary.csv, and the renderer draws the recipe's figures
 * from the summary rows in memory (results_summary), so nothing is read back
 * from disk but by `kop render`.
 *
 *  - one PromptResult per prompt read, in list order up to where the run
 *    stopped: measured (with one Measure per plan item x sweep point) or
 *    skipped with its reason;
 *  - one Acc per plan item x t x metric, the running statistics of the
 *    metric over the measured prompts, sorted by item, t, then metric (in
 *    the order `measure` names them) at the end of the run.
 *
 * The column lists of rows.csv and summary.csv are defined once, in
 * results_csv.c. */
#ifndef KOP_RESULTS_H
#define KOP_RESULTS_H

#include <stdio.h>

#include "plan.h"
#include "stats.h"
#include "summary_csv.h"

typedef struct Measure {   /* one metric of one intervened run of a prompt (a knockout, a restore) */
    int item, t;           /* plan item (PlanItem or RestoreItem); t = -1 when the item does not sweep t,
                              the Role (trace_roles.h) with `aggregate t by role` */
    int metric;            /* index into the recipe's metrics */
    double p_after, value; /* the target's probability after the intervention; the metric */
} Measure;

typedef struct PromptResult {
    int index;             /* in the run's joined prompt list */
    int mine;              /* measured here; 0: another shard's prompt, only decided (whether it
                              counts toward `limit`), never written */
    int used;              /* 0: skipped, reason says why */
    char reason[1100];
    int T, target;
    double p_clean;        /* the target's probability in the clean run */
    double p_base;         /* ... in the run the interventions start from: the clean run (knockout), the
                              corrupted runs' mean (tracing) */
    /* the clean forward, for clean.csv (clean 0: the prompt never got one) */
    int clean;
    long id;               /* the record's known_id / case_id, else index */
    int top1, answer;      /* answer: the record's answer token, -1 if none */
    double p_answer;       /* the clean probability of the answer (else of the target) */
    int rank_answer;       /* its rank among the clean logits, 1 = top */
    char **labels;         /* in memory only: the prompt's token texts when a block sweeps t */
    int n_labels;
    double flops;          /* of the knocked runs (cached path), when asked for */
    Measure *m;
    int n_m;
} PromptResult;

typedef struct Acc {       /* one summary row: item x t x metric */
    int item, t, metric;
    Stat s;
} Acc;

typedef struct Results {
    const Recipe *recipe;  /* borrowed */
    const char *experiment, *model; /* names written in every row (borrowed) */
    PromptResult *prompts; /* (n_prompts) */
    int n_prompts, cap_prompts;
    Acc *acc;              /* (n_acc) */
    int n_acc, cap_acc;
    int n_used;            /* measured here */
    int n_counted;         /* measured by any shard: what `limit` counts */
    long n_runs;
    double flops, seconds; /* of the prompt loop */
    char **t_labels;       /* token texts of the first measured prompt, for tokens[t] rows; may be NULL */
    int n_t_labels;
} Results;

/* What the outputs say of plan item i, whichever the experiment's kind
 * (a knockout's PlanItem, a trace's RestoreItem). */
typedef struct ItemView {
    const char *label;     /* the statement as written */
    int k;                 /* the sweep value, or -1 */
    int layer_lo, layer_hi;/* its layers; lo > hi: none */
    double depth;          /* its window's first layer before clipping, in % of the layers (`x depth`) */
} ItemView;
ItemView results_item(const Recipe *r, int i);

void results_init(Results *r, const Recipe *recipe, const char *experiment, const char *model);
/* Take a finished prompt (its Measure array moves into r); a measured one
 * of this shard adds to the accumulators. */
void results_add(Results *r, PromptResult *p);
/* Sort the accumulators (item, then t): the summary's row order. */
void results_finish(Results *r);
void results_free(Results *r);

/* The summary rows as summary_read would give them back from summary.csv
 * (strings owned by out; free with summary_free). */
void results_summary(const Results *r, Summary *out);

/* `output heatmap "F" per prompt` (results_prompts.c): one panel per
 * measured prompt and block sweeping t and k (at most 64), written to
 * path.  0 or -1 with err. */
int render_per_prompt(const char *path, const Results *res, Metric metric, const FigureOpts *fig, KopError *err);

/* ---- writers (results_csv.c) */
void results_rows_header(FILE *f);
/* The rows of one prompt (nothing for a skipped one). */
void results_rows_write(FILE *f, const Results *r, const PromptResult *p);
/* clean.csv: one row per prompt read (kept or not): its place and id, text
 * (texts[i] for prompts[i]; NULL for an ids record), the target (the
 * record's answer, else the clean top-1 the run measures) and its clean
 * probability and rank, the clean top-1, whether it is correct (empty
 * without an answer), whether the run kept it, and why not.  decode gives a
 * token's text (owned by the caller afterwards; NULL: none).  Atomic. */
int results_clean_write(const char *path, const Results *r, const char *const *texts,
                        char *(*decode)(void *ctx, int id), void *ctx, KopError *err);

/* summary.csv from summary rows (results_summary's, or several runs'
 * joined), written atomically.  0 or -1 with err. */
int summary_write(const char *path, const Summary *s, KopError *err);

#endif
