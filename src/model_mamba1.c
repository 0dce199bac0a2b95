/* model_mamba1.c: the Mamba-1 block (MambaForCausalLM), following
 * transformers' MambaMixer.slow_forward and mamba.c: the whole-prompt layer,
 * the executor's row recomputation, and the SSM state rebuilt from records. */
#include "knock.h"
#include "fastexp.h"

#include <math.h>
#include <string.h>

void mamba1_derive(Model *m, float *mem)
{
    const Config *c = &m->cfg;
    int di = c->d_inner, N = c->d_state;
    size_t per = (size_t)di * N;
    for (int l = 0; l < c->n_layer; l++) {
        float *At = mem + per * l;
        const float *A_log = m->mamba1[l].A_log;
        for (int e = 0; e < di; e++)
            for (int n = 0; n < N; n++) At[(size_t)n * di + e] = -expf(A_log[(size_t)e * N + n]);
        m->mamba1[l].A_t = At;
    }
}

static void rmsnorm_rows(float *out, const float *x, const float *w, int R, int C, float eps)
{
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) kern_rmsnorm(out + (size_t)t * C, x + (size_t)t * C, w, C, eps);
}

static void add_rows(float *x, const float *d, size_t n)
{
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) x[i] += d[i];
}

void mamba1_layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec)
{
    const Config *c = &m->cfg;
    const Mamba1Layer *w = &m->mamba1[l];
    int C = c->d_model, di = c->d_inner, N = c->d_state, R = c->dt_rank, T = sq->start[sq->n];
    int nbc = R + 2 * N;
    float *xn = s->a;   /* (T, C) normed input */
    float *xz = s->b;   /* (T, 2*di)  [x | z] */
    float *u = s->c;    /* (T, di) conv + silu */
    float *dbc = s->d;  /* (T, R + 2N)  [dt | B | C] */
    float *dt = s->a;   /* (T, di) after softplus (xn is dead by then) */
    float *y = s->b;    /* (T, ld 2*di) scan output over the x half of xz, dead once u is computed */

    // hidden_states = self.norm(hidden_states)
    rmsnorm_rows(xn, x, w->norm, T, C, c->norm_eps);
    // projected_states = self.in_proj(hidden_states); x, z = chunk(2)
    kern_linear(xz, 2 * di, xn, C, w->in_proj, w->in_proj_b, T, C, 2 * di);
    // x = silu(conv1d(x)[..., :T])
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 64) {
        int e1 = e0 + 64 < di ? e0 + 64 : di;
        for (int q = 0; q < sq->n; q++) {
            size_t t0 = (size_t)sq->start[q];
            kern_conv1d_causal(u + t0 * di, di, xz + t0 * 2 * di, 2 * di, w->conv_w, w->conv_b,
                               sq->start[q + 1] - sq->start[q], c->d_conv, e0, e1);
        }
        for (int t = 0; t < T; t++) kern_silu_vec(u + (size_t)t * di + e0, e1 - e0);
    }
    // ssm_parameters = x_proj(x); dt, B, C = split([R, N, N])
    kern_linear(dbc, nbc, u, di, w->x_proj, NULL, T, di, nbc);
    // dt = softplus(dt_proj(dt))
    kern_linear(dt, di, dbc, nbc, w->dt_proj_w, w->dt_proj_b, T, R, di);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) kern_softplus_vec(dt + (size_t)t * di, di);
    if (rec) {
        for (int t = 0; t < T; t++) memcpy(rec->xpre + (size_t)t * di, xz + (size_t)t * 2 * di, sizeof(float) * di);
        memcpy(rec->u, u, sizeof(float) * (size_t)T * di);
        memcpy(rec->dt, dt, sizeof(float) * (size_t)T * di);
        memcpy(rec->bc, dbc, sizeof(float) * (size_t)T * nbc);
    }
    // y = selective_scan(u, dt, A, B, C, D); y = y * silu(z)
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 16) {
        int e1 = e0 + 16 < di ? e0 + 16 : di;
        for (int q = 0; q < sq->n; q++) {
            size_t t0 = (size_t)sq->start[q];
            kern_mamba1_scan_rows(y + t0 * 2 * di, 2 * di, xz + t0 * 2 * di + di, 2 * di, u + t0 * di, di,
                                  dt + t0 * di, di, w->A_t, di, dbc + t0 * nbc + R, dbc + t0 * nbc + R + N, nbc, w->D,
                                  NULL, NULL, di, ko != NULL, ko ? ko->src : NULL, ko ? ko->dst : NULL,
                                  ko ? ko->chan : NULL, 0, sq->start[q + 1] - sq->start[q], N, e0, e1);
        }
    }
    // hidden_states = residual + out_proj(y)
    kern_linear(u, C, y, 2 * di, w->out_proj, w->out_proj_b, T, di, C);
    add_rows(x, u, (size_t)T * C);
}

void mamba1_states(const Model *m, int l, const LayerRec *rec, int n, const int *t_end,
                   const unsigned char *const *take, float *const *h)
{
    const Config *c = &m->cfg;
    int di = c->d_inner, N = c->d_state, R = c->dt_rank, nbc = R + 2 * N;
    const float *At = m->mamba1[l].A_t;
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 64)
        kern_mamba1_states(h, t_end, take, n, di, rec->u, di, rec->dt, di, At, di, rec->bc + R, nbc, N, e0,
                           e0 + 64 < di ? e0 + 64 : di);
}

void mamba1_rows(const Model *m, int l, float *X, int Rw, const RowRun *runs, int nruns,
                 const LayerRec *rec, int T)
{
    const Config *c = &m->cfg;
    const Mamba1Layer *w = &m->mamba1[l];
    int C = c->d_model, di = c->d_inner, N = c->d_state, R = c->dt_rank, K = c->d_conv, nbc = R + 2 * N;
    float *xn = kop_xmalloc(sizeof(float) * (size_t)Rw * C);
    float *xz = kop_xmalloc(sizeof(float) * (size_t)Rw * 2 * di);
    float *u = kop_xmalloc(sizeof(float) * (size_t)Rw * di);
    float *dbc = kop_xmalloc(sizeof(float) * (size_t)Rw * nbc);
    float *dt = kop_xmalloc(sizeof(float) * (size_t)Rw * di);
    const float *At = w->A_t;

    rmsnorm_rows(xn, X, w->norm, Rw, C, c->norm_eps);
    kern_linear(xz, 2 * di, xn, C, w->in_proj, w->in_proj_b, Rw, C, 2 * di);
    /* conv: the window reaches back before t0 into the clean pre-conv inputs */
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < nruns; k++) {
        const RowRun *r = &runs[k];
        int rows = (k + 1 < nruns ? runs[k + 1].row0 : Rw) - r->row0;
        kern_conv1d_silu_rows(u + (size_t)r->row0 * di, di, rec->xpre, di, xz + (size_t)r->row0 * 2 * di, 2 * di, r->t0,
                              w->conv_w, w->conv_b, r->t0, rows, K, di);
    }
    kern_linear(dbc, nbc, u, di, w->x_proj, NULL, Rw, di, nbc);
    kern_linear(dt, di, dbc, nbc, w->dt_proj_w, w->dt_proj_b, Rw, R, di);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < Rw; t++) kern_softplus_vec(dt + (size_t)t * di, di);

    /* scan from the clean state at t0-1; y over the x half of xz */
    float *y = xz;
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 16) {
        int e1 = e0 + 16 < di ? e0 + 16 : di;
        for (int k = 0; k < nruns; k++) {
            const RowRun *r = &runs[k];
            int rows = (k + 1 < nruns ? runs[k + 1].row0 : Rw) - r->row0;
            size_t o = (size_t)r->row0;
            kern_mamba1_scan_rows(y + o * 2 * di, 2 * di, xz + o * 2 * di + di, 2 * di, u + o * di, di, dt + o * di, di,
                                  At, di, dbc + o * nbc + R, dbc + o * nbc + R + N, nbc, w->D, r->h0, r->hs0, di,
                                  r->knocked, r->src, r->dst, r->chan, r->t0, rows, N, e0, e1);
        }
    }
    kern_linear(u, C, y, 2 * di, w->out_proj, w->out_proj_b, Rw, di, C);
    add_rows(X, u, (size_t)Rw * C);
    free(xn); free(xz); free(u); free(dbc); free(dt);
}
