/* forward.c: embeddings, the layer loop, final norm and logits (see forward.h). */
#include "forward.h"

#include <string.h>

#include "threads.h"

/* rows of the embedding (+ add), for families without positions of their own */
static void embed_rows(const Model *m, const int *ids, const float *add, const Seqs *sq, float *x)
{
    int C = m->cfg.d_model;
    for (int t = 0; t < sq->start[sq->n]; t++) {
        float *xt = x + (size_t)t * C;
        kern_widen(xt, m->embed, (size_t)ids[t] * C, (size_t)C);
        if (add)
            for (int i = 0; i < C; i++) xt[i] += add[(size_t)t * C + i];
    }
}

int model_forward(const Model *m, const ForwardReq *req, KopError *err)
{
    const Config *c = &m->cfg;
    const ArchOps *ops = arch_ops(c->arch);
    int T = req->T, C = c->d_model, L = c->n_layer, n = req->n_seq > 1 ? req->n_seq : 1;
    if (T <= 0) return kop_fail(err, KOP_EXIT_USAGE, "empty prompt");
    if (req->from_layer < 0 || req->from_layer > L || (req->from_layer > 0 && !req->resid_in))
        return kop_fail(err, KOP_EXIT_INTERNAL, "forward: bad start layer %d", req->from_layer);
    if (n > 1 && (req->knock || req->from_layer || req->all_positions))
        return kop_fail(err, KOP_EXIT_INTERNAL, "forward: a batch of prompts runs clean, from the embeddings, last positions");
    int *start = kop_xmalloc(sizeof(int) * (size_t)(n + 1));
    start[0] = 0;
    for (int q = 0; q < n; q++) start[q + 1] = start[q] + (n > 1 ? req->seq_len[q] : T);
    Seqs sq = {n, start};
    int status = 0;
    for (int q = 0; q < n && !status; q++) {
        int Tq = start[q + 1] - start[q];
        if (Tq <= 0) status = kop_fail(err, KOP_EXIT_USAGE, "empty prompt");
        else if (ops->max_positions && Tq > ops->max_positions(c))
            status = kop_fail(err, KOP_EXIT_DATA, "%s: prompt of %d tokens is longer than the model's context (%s %d)",
                              m->dir, Tq, ops->context_key, ops->max_positions(c));
    }
    if (!status && start[n] != T) status = kop_fail(err, KOP_EXIT_INTERNAL, "forward: prompt lengths do not add up to T");
    if (status) {
        free(start);
        return status;
    }
    if (req->from_layer == 0)
        for (int t = 0; t < T; t++)
            if (req->ids[t] < 0 || req->ids[t] >= c->vocab_size) {
                free(start);
                return kop_fail(err, KOP_EXIT_USAGE, "token id %d at position %d is outside the vocabulary (0..%d) of %s",
                                req->ids[t], t, c->vocab_size - 1, m->dir);
            }

    float *x = kop_xmalloc((size_t)T * C * sizeof(float)); /* (T, C) the residual stream */
    if (req->from_layer == 0) (ops->embed ? ops->embed : embed_rows)(m, req->ids, req->embed_add, &sq, x);
    else memcpy(x, req->resid_in, (size_t)T * C * sizeof(float));

    Scratch own = {0}, *s = req->scratch ? req->scratch : &own;
    scratch_reserve(s, c, T, req->threads > 0 ? req->threads : threads_team(), T);
    for (int l = req->from_layer; l < L; l++) {
        if (req->resid_out) memcpy(req->resid_out + (size_t)l * T * C, x, (size_t)T * C * sizeof(float));
        const KernKnock *ko = req->knock ? req->knock[l] : NULL;
        LayerRec *rec = req->rec ? &req->rec[l] : NULL;
        const HookList *hk = req->hooks ? &req->hooks[l] : NULL;
        ops->layer(m, l, x, &sq, ko, s, rec, hk);
        hook_apply(hk, HOOK_RESID, x, C, 0, T, C);
    }
    if (req->resid_out) memcpy(req->resid_out + (size_t)L * T * C, x, (size_t)T * C * sizeof(float));

    /* final norm and the vocabulary projection, for the rows asked for:
     * every position, or each prompt's last */
    int rows = req->all_positions ? T : n;
    float *h = s->a;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        int t = req->all_positions ? r : start[r + 1] - 1;
        ops->final_norm(m, h + (size_t)r * C, x + (size_t)t * C);
    }
    kern_linear(req->logits, c->vocab_size, h, C, m->lm_head, NULL, rows, C, c->vocab_size);

    if (s == &own) scratch_release(&own);
    free(x);
    free(start);
    return 0;
}

double model_forward_flops(const Config *c, int T, int logit_rows)
{
    return arch_ops(c->arch)->layer_flops(c, T) * c->n_layer + 2.0 * logit_rows * c->d_model * c->vocab_size;
}
