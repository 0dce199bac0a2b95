/* forward.c: embeddings, the layer loop, final norm and logits (see forward.h). */
#include "forward.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int scratch_width(const Config *c)
{
    int w = c->d_model;
    switch (c->arch) {
    case ARCH_MAMBA1:
        if (2 * c->d_inner > w) w = 2 * c->d_inner;
        if (c->dt_rank + 2 * c->d_state > w) w = c->dt_rank + 2 * c->d_state;
        break;
    case ARCH_MAMBA2: {
        int in_proj = 2 * c->d_inner + 2 * c->n_groups * c->d_state + c->n_heads;
        if (in_proj > w) w = in_proj;
        break;
    }
    case ARCH_GPT2:
        if (3 * c->d_model > w) w = 3 * c->d_model;
        if (c->n_inner > w) w = c->n_inner;
        break;
    }
    return w;
}

Scratch *scratch_new(const Config *c, int T)
{
    Scratch *s = kop_xcalloc(1, sizeof *s);
    s->T = T;
    s->width = scratch_width(c);
    size_t n = (size_t)T * s->width;
    s->a = kop_xmalloc(n * sizeof(float));
    s->b = kop_xmalloc(n * sizeof(float));
    s->c = kop_xmalloc(n * sizeof(float));
    s->d = kop_xmalloc(n * sizeof(float));
    if (c->arch == ARCH_GPT2) s->att = kop_xmalloc((size_t)max_threads() * T * sizeof(float));
    return s;
}

void model_derive(Model *m)
{
    const Config *c = &m->cfg;
    size_t head = (size_t)c->vocab_size * c->d_model;
    size_t at = c->arch == ARCH_MAMBA1 ? (size_t)c->n_layer * c->d_inner * c->d_state : 0;
    free(m->derived);
    m->derived = kop_xmalloc(sizeof(float) * (head + at));
    kern_transpose(m->derived, m->lm_head, c->vocab_size, c->d_model);
    m->lm_head_t = m->derived;
    if (at) mamba1_derive(m, m->derived + head);
}

void scratch_free(Scratch *s)
{
    if (!s) return;
    free(s->a); free(s->b); free(s->c); free(s->d); free(s->att);
    free(s);
}

static void embed(const Model *m, const int *ids, const Seqs *sq, float *x)
{
    const Config *c = &m->cfg;
    int C = c->d_model;
    for (int q = 0; q < sq->n; q++)
    for (int t = sq->start[q]; t < sq->start[q + 1]; t++) {
        const float *e = m->embed + (size_t)ids[t] * C;
        if (c->arch == ARCH_GPT2) {
            const float *p = m->pos_embed + (size_t)(t - sq->start[q]) * C;
            for (int i = 0; i < C; i++) x[(size_t)t * C + i] = e[i] + p[i];
        } else {
            memcpy(x + (size_t)t * C, e, C * sizeof(float));
        }
    }
}

static void final_norm(const Model *m, float *out, const float *x)
{
    const Config *c = &m->cfg;
    if (c->arch == ARCH_GPT2) kern_layernorm(out, x, m->norm_f, m->norm_f_b, c->d_model, c->norm_eps);
    else kern_rmsnorm(out, x, m->norm_f, c->d_model, c->norm_eps);
}

int model_forward(const Model *m, const ForwardReq *req, KopError *err)
{
    const Config *c = &m->cfg;
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
        else if (c->arch == ARCH_GPT2 && Tq > c->n_ctx)
            status = kop_fail(err, KOP_EXIT_DATA, "%s: prompt of %d tokens is longer than the model's context (n_positions %d)",
                              m->dir, Tq, c->n_ctx);
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

    /* BLIS's thread count is process-wide: set it only outside parallel
     * regions (inside one, the executor runs prompts in parallel and has set
     * BLIS to one thread) */
#ifdef _OPENMP
    if (!omp_in_parallel())
#endif
        kern_set_blas_threads(max_threads());
    float *x = kop_xmalloc((size_t)T * C * sizeof(float)); /* (T, C) the residual stream */
    if (req->from_layer == 0) embed(m, req->ids, &sq, x);
    else memcpy(x, req->resid_in, (size_t)T * C * sizeof(float));

    Scratch *s = scratch_new(c, T);
    for (int l = req->from_layer; l < L; l++) {
        if (req->resid_out) memcpy(req->resid_out + (size_t)l * T * C, x, (size_t)T * C * sizeof(float));
        const KernKnock *ko = req->knock ? req->knock[l] : NULL;
        LayerRec *rec = req->rec ? &req->rec[l] : NULL;
        switch (c->arch) {
        case ARCH_MAMBA1: mamba1_layer(m, l, x, &sq, ko, s, rec); break;
        case ARCH_MAMBA2: mamba2_layer(m, l, x, &sq, ko, s, rec); break;
        case ARCH_GPT2: gpt2_layer(m, l, x, &sq, ko, s, rec); break;
        }
    }
    if (req->resid_out) memcpy(req->resid_out + (size_t)L * T * C, x, (size_t)T * C * sizeof(float));

    /* final norm and the vocabulary projection, for the rows asked for:
     * every position, or each prompt's last */
    int rows = req->all_positions ? T : n;
    float *h = s->a;
    #pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        int t = req->all_positions ? r : start[r + 1] - 1;
        final_norm(m, h + (size_t)r * C, x + (size_t)t * C);
    }
    kern_linear_kn(req->logits, c->vocab_size, h, C, m->lm_head_t, NULL, rows, C, c->vocab_size);

    scratch_free(s);
    free(x);
    free(start);
    return 0;
}

double model_forward_flops(const Config *c, int T, int logit_rows)
{
    double C = c->d_model, f = 0, t = T;
    switch (c->arch) {
    case ARCH_MAMBA1: {
        double di = c->d_inner, N = c->d_state, R = c->dt_rank;
        f = 2 * t * (C * 2 * di + di * (R + 2 * N) + R * di + di * C) /* projections */
            + t * di * (2 * c->d_conv + 6 * N);                        /* conv + scan */
        break;
    }
    case ARCH_MAMBA2: {
        double di = c->d_inner, N = c->d_state, G = c->n_groups;
        double in_proj = 2 * di + 2 * G * N + c->n_heads, conv = di + 2 * G * N;
        f = 2 * t * (C * in_proj + di * C) + t * conv * 2 * c->d_conv + t * di * 4 * N;
        break;
    }
    case ARCH_GPT2: {
        double I = c->n_inner;
        f = 2 * t * (C * 3 * C + C * C + 2 * C * I) + 2 * 2 * C * t * (t + 1) / 2;
        break;
    }
    }
    return f * c->n_layer + 2.0 * logit_rows * C * c->vocab_size;
}
