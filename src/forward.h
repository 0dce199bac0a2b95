/* forward.h: the forward pass of a loaded Model (fp32, the whole prompt at once).
 *
 * One entry point for the three architectures.  The request says where to
 * start and what to keep, so the executor can:
 *  - run a clean pass and keep the residual stream entering every layer
 *    (resid_out), then
 *  - restart a knocked run at its first knocked layer from that saved stream
 *    (from_layer + resid_in) instead of recomputing the layers before it,
 *  - insert a knockout in any layer: knock[l] is the edge block of layer l as
 *    data (source and target positions, selected channels), applied inside the
 *    mixer exactly as LANGUAGE.md defines it; NULL entries are clean layers.
 * Logits are computed for the last position only unless all_positions is set
 * (one GEMV against the vocabulary instead of T of them).
 *
 * Threads: the work inside each layer is split over rows, channels or heads
 * with OpenMP, and the projections go through BLIS with the same thread count;
 * every output element is produced by one thread in a fixed order, so results
 * are bit-identical for any OMP_NUM_THREADS. */
#ifndef KOP_FORWARD_H
#define KOP_FORWARD_H

#include "kernels.h"
#include "model.h"

typedef struct ForwardReq {
    const int *ids;               /* (T) token ids, each < vocab_size */
    int T;
    /* n_seq > 1: ids holds n_seq prompts one after another, seq_len[i] tokens
     * each (T their sum), run as one batch: every projection is one GEMM over
     * all their rows, while the convolution, scan, attention and GPT-2's
     * positions restart at each prompt.  Not with knock or from_layer.  The
     * logits are then (n_seq, vocab), each prompt's last position. */
    int n_seq;
    const int *seq_len;
    int from_layer;               /* 0: start from the embeddings */
    const float *resid_in;        /* (T, d_model) residual entering from_layer; needed when from_layer > 0 */
    const KernKnock *const *knock;/* (n_layer) per-layer knockout or NULL; NULL array = clean run */
    float *resid_out;             /* optional (n_layer + 1, T, d_model): entering each layer; [n_layer] = after the last */
    struct LayerRec *rec;         /* optional (n_layer): per-layer records for the executor */
    int all_positions;            /* logits for every position (T, V) instead of the last (V) */
    float *logits;                /* output */
} ForwardReq;

/* Returns 0, or -1 with err set for a request the model cannot serve (token
 * id out of range, a prompt longer than GPT-2's n_ctx, bad from_layer). */
int model_forward(const Model *m, const ForwardReq *req, KopError *err);

/* Number of floating point operations of a clean forward over T tokens with
 * logits for `logit_rows` positions (multiply-add = 2), for benchmarks. */
double model_forward_flops(const Config *c, int T, int logit_rows);

/* --- per-architecture layers (src/model_*.c), used by model_forward -------- */

/* What a clean layer records for the executor's row recomputation (knock.h):
 * buffers allocated by the caller, filled by the layer when rec != NULL. */
typedef struct LayerRec {
    float *xpre;  /* Mamba-1 (T, d_inner) conv input; Mamba-2 (T, conv_dim) */
    float *u;     /* Mamba-1 (T, d_inner) conv+silu;  Mamba-2 (T, conv_dim) [x | B | C] */
    float *dt;    /* Mamba-1 (T, d_inner);            Mamba-2 (T, n_heads) */
    float *bc;    /* Mamba-1 (T, dt_rank + 2 d_state) [dt | B | C] */
    float *qkv;   /* GPT-2 (T, 3C) */
} LayerRec;

/* The prompts of a forward: prompt i at rows [start[i], start[i + 1]). */
typedef struct Seqs {
    int n;
    const int *start; /* (n + 1) */
} Seqs;

typedef struct Scratch Scratch;
void mamba1_layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec);
/* fills mem (n_layer * d_inner * d_state floats) with the layers' A_t */
void mamba1_derive(Model *m, float *mem);
void mamba2_layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec);
void gpt2_layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec);

/* Scratch buffers for one forward: a few (T, width) blocks sized from Config. */
struct Scratch {
    float *a, *b, *c, *d;  /* each (T, scratch_width(cfg)) */
    float *att;            /* GPT-2: (threads, T) attention rows */
    int T, width;
};
Scratch *scratch_new(const Config *c, int T);
void scratch_free(Scratch *s);

#endif
