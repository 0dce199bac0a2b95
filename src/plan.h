/* plan.h: a compiled recipe, and the flat plan of work the executor runs.
 *
 * A recipe is a knockout (`block` statements) or a causal trace (one
 * `corrupt` and `restore` statements); the two do not mix.
 *
 * A recipe is compiled in two steps.  src/check.c resolves every name of the
 * syntax tree and fills a Recipe: the prompt sources, the measurement, the
 * outputs, and one Block per `block` statement (or one Restore per `restore`
 * statement, and the Corruption) with its token groups lowered to GroupExpr
 * trees and its layers kept as expressions over k and L.  That needs no
 * model, only (optionally) its architecture.  plan_build() then takes the
 * model's layer count L, evaluates the sweep of k and every statement's
 * layers, clips them to [0, L-1], and lays out the plan: a flat array of
 * PlanItems (knockout) or RestoreItems (tracing), one per statement and value
 * of k, in statement order.
 *
 * The plan does not depend on the prompts.  What does is left symbolic and
 * is resolved per prompt by the executor:
 *  - token groups: plan_eval_group() turns a GroupExpr into a set of
 *    positions given the prompt's length and subject span (and t);
 *  - the token sweep: an item whose block uses t runs once per value of t
 *    in plan_t_range() for that prompt's length;
 *  - feature selections: features_select() (src/featsel.h) picks the
 *    channels (Mamba-1) or heads (Mamba-2) from their decay scores.
 * Each (prompt, item[, t]) is one knocked forward pass; each prompt also has
 * one clean pass.  An item whose layers are empty after clipping is kept (so
 * outputs have a row for every sweep point) but costs nothing and changes
 * nothing: its measurement equals the clean one.
 *
 * Causal tracing: each prompt has one clean pass and Corruption.samples
 * corrupted passes (noise: sample s = 0..samples-1, src/trace_noise.h; swap:
 * one pass on the partner-substituted ids, src/trace_swap.h); each
 * (prompt, RestoreItem[, t], sample) is one restored pass, and its
 * probability is averaged over the samples.  A RestoreItem without restored
 * layers is kept, costs nothing, and measures the corrupted run.  With
 * `aggregate t by role` the rows of a t sweep are averaged per prompt by
 * token role (src/trace_roles.h) before they are summarised.
 *
 * Ownership: a Recipe and everything it points to live in the KopArena it
 * was compiled into (the same as the syntax tree) and are freed with it. */
#ifndef KOP_PLAN_H
#define KOP_PLAN_H

#include <stdio.h>
#include <stdint.h>
#include "ast.h"
#include "featsel.h"
#include "hooks.h"
#include "model.h"
#include "render.h"

typedef enum {
#define KOP_EXPR_OP(name, arity, spelling) EXPR_##name,
#include "plan_ops.def"
#undef KOP_EXPR_OP
    EXPR_N_OPS
} ExprOp;

typedef enum {
#define KOP_GROUP(name, spelling) GROUP_##name,
#include "plan_ops.def"
#undef KOP_GROUP
    GROUP_N_KINDS
} GroupKind;

typedef enum {
#define KOP_METRIC(name, spelling) METRIC_##name,
#include "plan_ops.def"
#undef KOP_METRIC
    METRIC_N
} Metric;

typedef enum {
#define KOP_OUTPUT(name, spelling, png) OUTPUT_##name,
#include "plan_ops.def"
#undef KOP_OUTPUT
    OUTPUT_N
} OutputKind;

typedef enum {
#define KOP_PROMPTS(name, spelling) PROMPTS_##name,
#include "plan_ops.def"
#undef KOP_PROMPTS
    PROMPTS_N
} PromptKind;

typedef enum {
#define KOP_TARGET(name, spelling) TARGET_##name,
#include "plan_ops.def"
#undef KOP_TARGET
    TARGET_N
} TargetMode;

/* Spellings indexed by the enums above, for resolving names, messages and
 * dumps (NULL for kinds that are not written as a name). */
extern const char *const plan_group_names[GROUP_N_KINDS];
extern const char *const plan_metric_names[METRIC_N];
extern const char *const plan_output_names[OUTPUT_N];
extern const char *const plan_prompts_names[PROMPTS_N];
extern const char *const plan_target_names[TARGET_N];

const char *plan_metric_name(Metric m);
int plan_output_is_png(OutputKind o);

// ---- expressions and groups ---------------------------------------------------

/* An integer expression over k, t and L.  Arithmetic is on 64-bit integers
 * with overflow checked; division rounds toward negative infinity. */
typedef struct PlanExpr PlanExpr;
struct PlanExpr {
    ExprOp op;
    long value;             /* EXPR_NUM */
    const PlanExpr *a, *b;  /* operands (arity) */
    KopLoc loc;             /* in the recipe, for messages */
};

/* 0 and *out set, or -1 on division by zero or overflow. */
int plan_expr_eval(const PlanExpr *e, long k, long t, long L, long *out);
int plan_expr_uses(const PlanExpr *e, ExprOp var);
/* Infix, with only the parentheses it needs. */
void plan_expr_print(FILE *f, const PlanExpr *e);

/* A set of token positions of one prompt.  GROUP_TOKENS covers positions
 * lo..hi (hi == NULL: just lo) clipped to the prompt; an index that does not
 * involve t and is negative counts from the end (-1 is the last token), one
 * that involves t is a plain position, and positions outside the prompt are
 * dropped. */
typedef struct GroupExpr GroupExpr;
struct GroupExpr {
    GroupKind kind;
    const GroupExpr *a, *b;       /* GROUP_UNION, GROUP_DIFF */
    const PlanExpr *lo, *hi;      /* GROUP_TOKENS */
};

/* Fill mask[0..n_tokens-1] with 1 for the positions in G, 0 elsewhere, for a
 * prompt of n_tokens tokens whose subject covers subj_first..subj_last
 * (inclusive), at token-sweep value t (ignored unless G uses t).  Returns the
 * number of positions, or -1 when the prompt or subject span is invalid or
 * an index cannot be computed (division by zero, overflow). */
int plan_eval_group(const GroupExpr *g, int n_tokens, int subj_first, int subj_last, int t,
                    unsigned char *mask);
int plan_group_uses_t(const GroupExpr *g);
void plan_group_print(FILE *f, const GroupExpr *g);

// ---- features -----------------------------------------------------------------

/* Which features (SSM channels or heads) a block knocks out; the executor
 * hands kind and frac to features_select() (src/featsel.h).  ctx_dep and
 * ctx_indep arrive here lowered to ALL_EXCEPT_FAST / ALL_EXCEPT_SLOW 1/3.
 * When F was written as a ratio, num/den hold it exactly (den 0 for a
 * decimal), so floor(n * F) can be computed without rounding. */
typedef struct FeatureSel {
    FeatKind kind;
    double frac;   /* F; 1 for FEAT_ALL */
    long num, den;
} FeatureSel;

void plan_feature_print(FILE *f, const FeatureSel *sel);

// ---- the recipe -----------------------------------------------------------------

typedef struct PromptSource {
    PromptKind kind;
    KopLoc loc;
    const char *path;            /* COUNTERFACT, JSONL: as written */
    const char *resolved;        /* ... relative to the recipe's folder */
    const char *text, *subject;  /* TEXT */
    const char *target;          /* TEXT: NULL when not given */
    int *ids, n_ids;             /* IDS */
    int subj_first, subj_last;   /* IDS: token positions, inclusive */
    long target_id;              /* IDS: -1 when not given */
} PromptSource;

typedef struct Output {
    OutputKind kind;
    const char *path;            /* relative to the run's output folder */
    KopLoc loc;
    FigureOpts fig;
} Output;

/* One `block` statement. */
typedef struct Block {
    int index;                   /* 1-based, among the blocks, as written */
    const char *label;           /* its `label "TEXT"`, else its source text, for outputs */
    const GroupExpr *src, *dst;
    const PlanExpr *lo, *hi;     /* layers lo..hi; both NULL: every layer */
    KopLoc layers_loc;
    FeatureSel feat;
    int uses_k, uses_t;
} Block;

/* One intervention at one sweep point. */
typedef struct PlanItem {
    const Block *block;
    int k;                       /* the layer-sweep value, or -1 when not swept */
    int layer_lo, layer_hi;      /* inclusive, within [0, L-1]; lo > hi: empty */
} PlanItem;

// ---- causal tracing -------------------------------------------------------------

typedef enum { CORRUPT_NONE, CORRUPT_NOISE, CORRUPT_SWAP } CorruptKind;

/* The `corrupt` statement: how the corrupted runs differ from the clean one. */
typedef struct Corruption {
    CorruptKind kind;            /* CORRUPT_NONE: a knockout recipe */
    const GroupExpr *group;      /* noise: the positions noised (never uses t: evaluate it
                                    with plan_eval_group(..., t = -1, ...)); swap: the subject */
    double sigma;                /* noise: the standard deviation, or F when sigma_is_std */
    int sigma_is_std;            /* `noise F std`: sigma = F * trace_embed_std() over the
                                    group's positions of every prompt read */
    int samples;                 /* corrupted runs per prompt: noise N (default 10), swap 1 */
    uint64_t seed;               /* noise (default 1); 0 for swap */
    const char *label;           /* its source text */
    KopLoc loc;
} Corruption;

/* Where a restore or freeze acts: one hook, at a token group, in layers. */
typedef struct HookSite {
    Hook hook;
    const GroupExpr *at;
    const PlanExpr *lo, *hi;     /* layers lo..hi; both NULL: every layer */
    KopLoc layers_loc;
} HookSite;

/* One `restore` statement.  In each corrupted run (same sample s), the
 * restore site's hook vectors are set to the clean run's and the freeze
 * site's are held at the values of run s without restores; where both name
 * the same hook, layer and position, the freeze wins. */
typedef struct Restore {
    int index;                   /* 1-based, among the restores, as written */
    const char *label;           /* its source text, for outputs */
    HookSite restore;            /* set to the clean run's values */
    int has_freeze;
    HookSite freeze;             /* held at the same corrupted run's values (has_freeze) */
    int uses_k, uses_t;          /* over both sites */
} Restore;

/* One restore at one sweep point. */
typedef struct RestoreItem {
    const Restore *restore;
    int k;                       /* the layer-sweep value, or -1 when not swept */
    int layer_lo, layer_hi;      /* restored layers, inclusive, within [0, L-1]; lo > hi: empty */
    int freeze_lo, freeze_hi;    /* frozen layers, likewise; lo > hi: none (or no freeze) */
} RestoreItem;

typedef struct Recipe {
    const char *experiment;
    const char *path;            /* the recipe file */
    PromptSource *prompts;
    int n_prompts;
    int keep_correct;
    long limit;                  /* -1: every prompt */
    TargetMode target;
    Metric metric;               /* the first of metrics */
    Metric metrics[METRIC_N];    /* `measure M1, M2, ...`, as written, no repeats */
    int n_metrics;
    /* `keep ids`: a record's id (known_id / case_id, else its index in the
     * joined list) must be one of these; n_keep_ids -1: no such filter */
    long *keep_ids;
    int n_keep_ids;
    const char *keep_ids_path;   /* `keep ids "FILE"`, resolved; NULL for a list */
    Output *outputs;
    int n_outputs;
    Block *blocks;
    int n_blocks;
    Corruption corrupt;          /* kind CORRUPT_NONE for a knockout */
    Restore *restores;
    int n_restores;
    int aggregate_roles;         /* `aggregate t by role` */
    int uses_k, uses_t;          /* some statement's layers use k, some statement's tokens t */
    /* `sweep k in lo..hi step step` (NULL: 0..L-1 step 1) */
    const PlanExpr *k_lo, *k_hi, *k_step;
    KopLoc k_loc;
    /* `sweep t in lo..hi step step`: positions, negative from the end */
    long t_lo, t_hi, t_step;
    Arch arch;                   /* CheckOptions.arch: 0 when unknown */
    /* filled by plan_build() */
    int n_layers;                /* 0 until built */
    int k_first, k_last, k_stride, n_k; /* the k values (n_k 0 if no block uses k) */
    PlanItem *items;             /* knockout */
    int n_items;
    RestoreItem *restore_items;  /* tracing */
    int n_restore_items;
} Recipe;

/* 1 for a causal-tracing recipe (it has a `corrupt`). */
int plan_is_trace(const Recipe *r);

/* Evaluate the recipe's layers for a model of n_layers layers.  Reports
 * through D: errors (an empty k sweep, division by zero) and, once per
 * block, restore or freeze, a warning when its layers are empty after
 * clipping.  Returns 0, or
 * -1 after errors. */
int plan_build(Recipe *r, int n_layers, Diag *d, KopArena *ar);

/* The values of t for a prompt of n_tokens tokens: *first, then every
 * *stride up to *last; returns their count (0: none). */
int plan_t_range(const Recipe *r, int n_tokens, int *first, int *last, int *stride);

/* Intervened forward passes per prompt: *fixed for the items that do not
 * sweep t, plus *per_t for each value of t of the prompt (knockout: one per
 * item; tracing: one per item and corrupted sample).  Empty items cost none. */
void plan_passes_per_prompt(const Recipe *r, long *fixed, long *per_t);
/* The passes per prompt every item starts from besides the clean one: the
 * corrupted runs of a trace (Corruption.samples), 0 for a knockout. */
int plan_base_passes(const Recipe *r);
/* Total forward passes, clean ones included, for n_prompts prompts of
 * prompt_len tokens. */
long long plan_forward_passes(const Recipe *r, long n_prompts, int prompt_len);

/* Figure options that differ from the defaults, each with a leading space,
 * as an `output` writes them. */
void plan_figure_opts_print(FILE *f, const FigureOpts *o);

/* The whole plan, one line per fact and per item (kop check --dump-plan). */
void plan_dump(FILE *f, const Recipe *r);
/* One paragraph for people (kop check). */
void plan_summary(FILE *f, const Recipe *r, const char *model_name);

#endif
