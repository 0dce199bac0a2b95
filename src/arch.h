/* arch.h: the architecture table.
 *
 * Everything that differs between model families sits behind one ArchOps,
 * defined in the family's model file (src/model_mamba1.c, model_mamba2.c,
 * model_gpt2.c, model_llama.c, model_neox.c; Falcon-Mamba is a second entry
 * in model_mamba1.c, Mistral one in model_llama.c) and listed once in
 * src/arch.c.  The loader, the forward pass, the executor (knock.c),
 * feature selection and `kop info` ask the table and never switch on the
 * architecture; the model files depend on this header, not on the executor.
 * Adding a family is one model file plus one line in arch.c (and its
 * config.json reader in config.c).
 *
 * What a family provides:
 *  - loading: bind() looks up every tensor it needs through the loader
 *    (model_load.h) with the shapes the config implies; derive() computes
 *    the tensors the forward passes use in another form than stored;
 *  - the whole-prompt layer (layer), the embedding and the final norm;
 *  - for the executor's cached recomputation (knock.h): what a clean layer
 *    records per position (record_fields), the recomputation of a run's
 *    affected rows through one layer (rows) and, for SSMs, the state at a
 *    position rebuilt from those records (states);
 *  - the hooks causal tracing reads and overwrites (hooks.h): which ones the
 *    family has and their widths; layer() and rows() call rows_hook() at
 *    each of them (resid, after the layer, is applied by the caller);
 *  - SSM features and their decay scores (featsel.h), FLOP counts, and the
 *    lines `kop info` prints.
 *
 * Interventions reach the model code as data (KernKnock, RowRun, HookList),
 * never as special cases. */
#ifndef KOP_ARCH_H
#define KOP_ARCH_H

#include <stdio.h>

#include "hooks.h"
#include "kernels.h"
#include "model.h"

/* The prompts of a forward: prompt i at rows [start[i], start[i + 1]). */
typedef struct Seqs {
    int n;
    const int *start; /* (n + 1) */
} Seqs;

/* What a clean layer records for the executor's row recomputation:
 * buffers owned by the executor, laid out as the family's record_fields
 * say, filled by layer() when a LayerRec is passed. */
typedef struct LayerRec {
    float *xpre;  /* Mamba-1 (T, d_inner) conv input; Mamba-2 (T, conv_dim) */
    float *u;     /* Mamba-1 (T, d_inner) conv+silu;  Mamba-2 (T, conv_dim) [x | B | C] */
    float *dt;    /* Mamba-1 (T, d_inner);            Mamba-2 (T, n_heads) */
    float *bc;    /* Mamba-1 (T, dt_rank + 2 d_state) [dt | B | C] */
    float *z;     /* Mamba-1 (T, d_inner) gate input (in_proj's second half) */
    float *qkv;   /* GPT-2 (T, 3C) */
    float *kv;    /* rotary attention (T, 2 * n_kv_head * head_dim): rotated keys, then values */
} LayerRec;

/* One recorded field: its width per position and where it goes in a LayerRec. */
typedef struct RecField {
    size_t width;
    size_t offset; /* offsetof(LayerRec, field) */
} RecField;
enum { REC_MAX_FIELDS = 5 };

/* Working memory of a forward or a recomputation: a few (rows, width)
 * blocks, and each thread's own work area for the layer's parallel loops
 * (attention scores, scan states).  Grown on demand and kept across calls
 * (scratch_reserve), so the executor allocates it once per thread and run,
 * never per layer. */
typedef struct Scratch {
    float *a, *b, *c, *d;  /* each (rows, width) */
    float *tw;             /* (threads, tw_stride): thread i's work at tw + i * tw_stride */
    size_t tw_stride;
    int rows, width, threads;
} Scratch;

/* Make s hold at least `rows` rows of the family's scratch width and the
 * work areas of `threads` threads for prompts of up to T positions.  A
 * zeroed Scratch is a valid empty one. */
void scratch_reserve(Scratch *s, const Config *c, int rows, int threads, int T);
void scratch_release(Scratch *s);
/* The calling thread's work area (inside a layer's parallel loop). */
float *scratch_thread(const Scratch *s);

/* One run's rows inside a recomputed layer step (knock.c, trace.c). */
typedef struct RowRun {
    int t0, row0;               /* first position recomputed; its row in the batch */
    int rec_row;                /* row of the run's position 0 in the LayerRec passed (runs of several
                                 * base runs share one record block) */
    int knocked;                /* layer is in [lo, hi] */
    const unsigned char *src, *dst, *chan; /* chan: this layer's features or NULL */
    const float *h0;            /* SSM state at t0-1 (NULL when t0 == 0) */
    const float *hs0;           /* sources-only state at t0-1 (NULL: zero) */
    const HookList *hooks;      /* this layer's hook ops on the run's positions, or NULL */
    int from_rec;               /* its rows enter this layer as the base run's did (its first layer,
                                 * taken from the base stream): what the layer computes before the
                                 * SSM is in rec, and rows() may read it there (runs with it set come
                                 * last; the base run's forward multiplied 2..KERN_SGEMM_SAME_ROWS
                                 * rows by each weight, so its records have the bits a GEMM here
                                 * would give them) */
} RowRun;

/* At a hook point of layer() or rows(): apply each run's ops on hook h to
 * its rows of buf (R rows of ld floats, width of them the hook's value).
 * layer() passes one run {t0 = 0, row0 = 0} covering the whole batch. */
void rows_hook(const RowRun *runs, int nruns, int R, Hook h, float *buf, int ld, int width);
/* Whether any run has an op on hook h in this layer. */
int rows_hooked(const RowRun *runs, int nruns, Hook h);

typedef struct ModelLoader ModelLoader; /* model_load.h */

typedef struct ArchOps {
    Arch arch;
    const char *name;           /* "mamba1": recipes, pipelines, manifests, `kop info` */
    const char *description;    /* "Mamba-1 (MambaForCausalLM)", for messages */

    /* ---- loading */
    const char *layer_prefix;   /* tensors of layer N are named PREFIX "N." ... */
    const char *optional_root;  /* a root some checkpoints put before every name ("transformer."), or NULL */
    void (*bind)(ModelLoader *L, Model *m);
    size_t (*derived_floats)(const Config *c);      /* may be NULL: nothing derived */
    void (*derive)(Model *m, float *mem);

    /* ---- the forward pass */
    int (*scratch_width)(const Config *c);
    size_t (*thread_floats)(const Config *c, int T); /* each thread's work area; NULL: none */
    int (*max_positions)(const Config *c);          /* longest prompt; NULL: no limit */
    const char *context_key;                        /* the config.json key that sets it, for messages */
    /* x (T, C) for the ids of the prompts sq, with add (T, C) (or NULL)
     * added to the token embeddings before anything else (position
     * embeddings) is; NULL: rows of the embedding (+ add) */
    void (*embed)(const Model *m, const int *ids, const float *add, const Seqs *sq, float *x);
    /* x (T, C) in place through layer l; ko (knockout), rec and hk (hook ops
     * on the rows of the batch, hooks.h) may be NULL */
    void (*layer)(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec,
                  const HookList *hk);
    void (*final_norm)(const Model *m, float *out, const float *x); /* one row */
    double (*layer_flops)(const Config *c, int T);  /* one layer over T positions, 2 per multiply-add */

    /* ---- the executor's cached recomputation */
    int (*record_fields)(const Config *c, RecField f[REC_MAX_FIELDS]); /* returns how many */
    /* Recompute rows X (R, C) in place through layer l for the runs given
     * (prompt of T positions; rec: the base runs' records of layer l, run k's
     * position p at row runs[k].rec_row + p), applying each run's hook ops
     * (all but resid, which the caller applies after the layer). */
    void (*rows)(const Model *m, int l, float *X, int R, const RowRun *runs, int nruns, const LayerRec *rec, int T,
                 Scratch *s);
    size_t (*state_floats)(const Config *c);        /* NULL: no SSM state (attention) */
    /* n states h[i] of layer l after scanning the clean records from position
     * 0 through t_end[i], taking inputs only where take[i][t] is set (NULL:
     * everywhere); the layout is the one rows() reads as RowRun.h0/hs0. */
    void (*states)(const Model *m, int l, const LayerRec *rec, int n, const int *t_end,
                   const unsigned char *const *take, float *const *h);

    /* ---- hooks (hooks.h): HOOK_BIT of each the family has, and the width
     * of each (0 for one it lacks) */
    unsigned hooks;
    int (*hook_width)(const Config *c, Hook h);

    /* ---- SSM features (featsel.h); NULL for attention families */
    int (*n_features)(const Config *c);
    void (*feature_scores)(const Model *m, int l, double *scores);

    /* `kop info`: the family's own `key: value` lines */
    void (*print_config)(const Config *c, FILE *f);
} ArchOps;

/* The family of a, or NULL for an Arch that no entry has. */
const ArchOps *arch_ops(Arch a);
/* The family named s ("mamba1", ...), or NULL. */
const ArchOps *arch_by_name(const char *s);
/* Every family's name, in table order, for messages ("did you mean"). */
int arch_names(const char *const **names);
/* The names as a list for messages: "mamba1, mamba2 or gpt2". */
const char *arch_list(void);

/* The hooks of an attention family (GPT-2, Llama, GPT-NeoX): the residual
 * stream and the attention and MLP outputs, each d_model wide. */
#define ARCH_ATTN_HOOKS (HOOK_BIT(HOOK_RESID) | HOOK_BIT(HOOK_ATTN) | HOOK_BIT(HOOK_MLP))
int arch_attn_hook_width(const Config *c, Hook h);

/* Features per layer: 0 for a family without SSM features. */
int model_n_features(const Config *c);

/* The families, defined in their model files. */
extern const ArchOps arch_mamba1, arch_falcon_mamba, arch_mamba2, arch_gpt2, arch_llama, arch_mistral, arch_neox;

#endif
