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
 *    mixer exactly as LANGUAGE.md defines it; NULL entries are clean layers;
 *  - capture or overwrite hook values (hooks.h) in any layer, and add noise
 *    to the input embeddings (causal tracing, trace.h).
 * Logits are computed for the last position only unless all_positions is set
 * (one GEMV against the vocabulary instead of T of them).
 *
 * Threads: the work inside each layer is split over rows, channels or heads
 * with OpenMP, and the projections go through BLIS (threads.h sets both
 * counts); every output element is produced by one thread in a fixed order,
 * so results are bit-identical for any thread count. */
#ifndef KOP_FORWARD_H
#define KOP_FORWARD_H

#include "arch.h"

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
    const float *embed_add;       /* optional (T, d_model): added to the token embeddings (before GPT-2's
                                   * position embedding): a corrupted run's noise (trace.h) */
    const HookList *hooks;        /* optional (n_layer): each layer's hook ops (hooks.h) on the rows of the
                                   * forward, resid included (applied after the layer) */
    int all_positions;            /* logits for every position (T, V) instead of the last (V) */
    float *logits;                /* output */
    int threads;                  /* the team size of the layers' parallel loops here; 0: threads_team() */
    Scratch *scratch;             /* the caller's working memory, reused across calls; NULL: own */
} ForwardReq;

/* Returns 0, or -1 with err set for a request the model cannot serve (token
 * id out of range, a prompt longer than GPT-2's n_ctx, bad from_layer). */
int model_forward(const Model *m, const ForwardReq *req, KopError *err);

/* Number of floating point operations of a clean forward over T tokens with
 * logits for `logit_rows` positions (multiply-add = 2), for benchmarks. */
double model_forward_flops(const Config *c, int T, int logit_rows);

#endif
