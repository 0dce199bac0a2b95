/* model_mamba2.c: the Mamba-2 block (Mamba2ForCausalLM), following
 * transformers' Mamba2Mixer.torch_forward and mamba_ssm's RMSNormGated (norm
 * after the gate, grouped over d_inner / n_groups channels): the
 * whole-prompt layer, the executor's row recomputation, and the SSM state
 * rebuilt from records. */
#include "knock.h"
#include "fastexp.h"

#include <math.h>
#include <string.h>

typedef struct Dims { int C, di, N, G, H, P, conv_dim, d_in_proj; } Dims;

static Dims dims(const Config *c)
{
    Dims d = {c->d_model, c->d_inner, c->d_state, c->n_groups, c->n_heads, c->head_dim, 0, 0};
    d.conv_dim = d.di + 2 * d.G * d.N;
    d.d_in_proj = 2 * d.di + 2 * d.G * d.N + d.H;
    return d;
}

static void rmsnorm_rows(float *out, const float *x, const float *w, int R, int C, float eps)
{
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) kern_rmsnorm(out + (size_t)t * C, x + (size_t)t * C, w, C, eps);
}

/* dt = clamp(softplus(dt + dt_bias), time_step_limit), rows of zx */
static void step_sizes(float *dt, const float *zx, const Config *c, const Mamba2Layer *w, Dims d, int R)
{
    for (int t = 0; t < R; t++)
        for (int h = 0; h < d.H; h++) {
            float v = kern_softplus(zx[(size_t)t * d.d_in_proj + d.di + d.conv_dim + h] + w->dt_bias[h]);
            if (v < c->dt_limit_lo) v = c->dt_limit_lo;
            if (v > c->dt_limit_hi) v = c->dt_limit_hi;
            dt[(size_t)t * d.H + h] = v;
        }
}

/* y = rmsnorm(y * silu(z)) per group, then X += out_proj(y) */
static void gate_out(const Config *c, const Mamba2Layer *w, Dims d, float *X, float *y, const float *zx,
                     float *tmp, int R)
{
    int gs = d.di / d.G;
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) {
        float *yt = y + (size_t)t * d.di;
        const float *z = zx + (size_t)t * d.d_in_proj;
        for (int e = 0; e < d.di; e++) yt[e] *= kern_silu(z[e]);
        for (int g = 0; g < d.G; g++) kern_rmsnorm(yt + g * gs, yt + g * gs, w->gnorm + g * gs, gs, c->norm_eps);
    }
    kern_linear(tmp, d.C, y, d.di, w->out_proj, w->out_proj_b, R, d.di, d.C);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * d.C; i++) X[i] += tmp[i];
}

void mamba2_layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec)
{
    const Config *c = &m->cfg;
    const Mamba2Layer *w = &m->mamba2[l];
    Dims d = dims(c);
    int T = sq->start[sq->n];
    float *xn = s->a;    /* (T, C) */
    float *zx = s->b;    /* (T, d_in_proj)  [z | xBC | dt] */
    float *xbc = s->c;   /* (T, conv_dim)  conv + silu: [x | B | C] */
    float *y = s->d;     /* (T, di) */
    float *dt = s->a;    /* (T, H) after softplus (xn dead by then) */

    // hidden_states = self.norm(hidden_states)
    rmsnorm_rows(xn, x, w->norm, T, d.C, c->norm_eps);
    // projected_states = in_proj(hidden_states); gate, xBC, dt = split([di, conv_dim, H])
    kern_linear(zx, d.d_in_proj, xn, d.C, w->in_proj, w->in_proj_b, T, d.C, d.d_in_proj);
    // xBC = silu(conv1d(xBC))
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < d.conv_dim; e0 += 64) {
        int e1 = e0 + 64 < d.conv_dim ? e0 + 64 : d.conv_dim;
        for (int q = 0; q < sq->n; q++) {
            size_t t0 = (size_t)sq->start[q];
            kern_conv1d_causal(xbc + t0 * d.conv_dim, d.conv_dim, zx + t0 * d.d_in_proj + d.di, d.d_in_proj, w->conv_w,
                               w->conv_b, sq->start[q + 1] - sq->start[q], c->d_conv, e0, e1);
        }
        for (int t = 0; t < T; t++) kern_silu_vec(xbc + (size_t)t * d.conv_dim + e0, e1 - e0);
    }
    step_sizes(dt, zx, c, w, d, T);
    if (rec) {
        for (int t = 0; t < T; t++)
            memcpy(rec->xpre + (size_t)t * d.conv_dim, zx + (size_t)t * d.d_in_proj + d.di, sizeof(float) * d.conv_dim);
        memcpy(rec->u, xbc, sizeof(float) * (size_t)T * d.conv_dim);
        memcpy(rec->dt, dt, sizeof(float) * (size_t)T * d.H);
    }
    // y = ssd(x, dt, A, B, C) + D * x, per head; head h reads group h / (H / G)
    #pragma omp parallel for schedule(static)
    for (int h = 0; h < d.H; h++) {
        int g = h / (d.H / d.G);
        const KernKnock *kh = ko && (!ko->chan || ko->chan[h]) ? ko : NULL;
        float a = -expf(w->A_log[h]);
        for (int q = 0; q < sq->n; q++) {
            size_t t0 = (size_t)sq->start[q];
            const float *xq = xbc + t0 * d.conv_dim;
            kern_mamba2_scan_rows(y + t0 * d.di + (size_t)h * d.P, d.di, xq + (size_t)h * d.P, d.conv_dim,
                                  dt + t0 * d.H + h, d.H, a, xq + d.di + (size_t)g * d.N,
                                  xq + d.di + (size_t)(d.G + g) * d.N, d.conv_dim, w->D[h], NULL, NULL, kh != NULL,
                                  kh ? kh->src : NULL, kh ? kh->dst : NULL, 0,
                                  sq->start[q + 1] - sq->start[q], d.P, d.N);
        }
    }
    // y = norm(y, gate=z); hidden_states = residual + out_proj(y)
    gate_out(c, w, d, x, y, zx, xbc, T);
}

void mamba2_state(const Model *m, int l, const LayerRec *rec, int t_end, const unsigned char *take, float *hout)
{
    const Config *c = &m->cfg;
    const Mamba2Layer *w = &m->mamba2[l];
    Dims d = dims(c);
    int t_start = 0;
    if (take)
        while (t_start <= t_end && !take[t_start]) t_start++;
    memset(hout, 0, sizeof(float) * (size_t)d.H * d.P * d.N);
    #pragma omp parallel for schedule(static)
    for (int h = 0; h < d.H; h++) {
        int g = h / (d.H / d.G);
        float a = -expf(w->A_log[h]);
        for (int t = t_start; t <= t_end; t++) {
            if (take && !take[t]) {
                float dt = rec->dt[(size_t)t * d.H + h], dA;
                kern_exp_scaled(&dA, &a, dt, 1);
                float *hh = hout + (size_t)h * d.P * d.N;
                for (int i = 0; i < d.P * d.N; i++) hh[i] *= dA;
                continue;
            }
            const float *row = rec->u + (size_t)t * d.conv_dim;
            const float *b = row + d.di + (size_t)g * d.N;
            float dt = rec->dt[(size_t)t * d.H + h], dA;
            kern_exp_scaled(&dA, &a, dt, 1);
            for (int p = 0; p < d.P; p++) {
                float *hp = hout + ((size_t)h * d.P + p) * d.N, dx = dt * row[(size_t)h * d.P + p];
                for (int n = 0; n < d.N; n++) hp[n] = dA * hp[n] + dx * b[n];
            }
        }
    }
}

void mamba2_rows(const Model *m, int l, float *X, int Rw, const RowRun *runs, int nruns,
                 const LayerRec *rec, int T)
{
    const Config *c = &m->cfg;
    const Mamba2Layer *w = &m->mamba2[l];
    Dims d = dims(c);
    int K = c->d_conv;
    float *xn = kop_xmalloc(sizeof(float) * (size_t)Rw * d.C);
    float *zx = kop_xmalloc(sizeof(float) * (size_t)Rw * d.d_in_proj);
    float *xbc = kop_xmalloc(sizeof(float) * (size_t)Rw * d.conv_dim);
    float *dt = kop_xmalloc(sizeof(float) * (size_t)Rw * d.H);
    float *y = kop_xmalloc(sizeof(float) * (size_t)Rw * d.di);

    rmsnorm_rows(xn, X, w->norm, Rw, d.C, c->norm_eps);
    kern_linear(zx, d.d_in_proj, xn, d.C, w->in_proj, w->in_proj_b, Rw, d.C, d.d_in_proj);
    /* conv: the window reaches back before t0 into the clean pre-conv inputs */
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < nruns; k++) {
        const RowRun *r = &runs[k];
        int rows = (k + 1 < nruns ? runs[k + 1].row0 : Rw) - r->row0;
        kern_conv1d_silu_rows(xbc + (size_t)r->row0 * d.conv_dim, d.conv_dim, rec->xpre, d.conv_dim,
                              zx + (size_t)r->row0 * d.d_in_proj + d.di, d.d_in_proj, r->t0, w->conv_w, w->conv_b,
                              r->t0, rows, K, d.conv_dim);
    }
    step_sizes(dt, zx, c, w, d, Rw);
    #pragma omp parallel for schedule(static)
    for (int h = 0; h < d.H; h++) {
        int g = h / (d.H / d.G);
        float a = -expf(w->A_log[h]);
        size_t hoff = (size_t)h * d.P * d.N;
        for (int k = 0; k < nruns; k++) {
            const RowRun *r = &runs[k];
            int rows = (k + 1 < nruns ? runs[k + 1].row0 : Rw) - r->row0;
            const float *xr = xbc + (size_t)r->row0 * d.conv_dim;
            kern_mamba2_scan_rows(y + (size_t)r->row0 * d.di + (size_t)h * d.P, d.di, xr + (size_t)h * d.P, d.conv_dim,
                                  dt + (size_t)r->row0 * d.H + h, d.H, a, xr + d.di + (size_t)g * d.N,
                                  xr + d.di + (size_t)(d.G + g) * d.N, d.conv_dim, w->D[h],
                                  r->h0 ? r->h0 + hoff : NULL, r->hs0 ? r->hs0 + hoff : NULL,
                                  r->knocked && (!r->chan || r->chan[h]), r->src, r->dst, r->t0, rows, d.P, d.N);
        }
    }
    gate_out(c, w, d, X, y, zx, xbc, Rw);
    free(xn); free(zx); free(xbc); free(dt); free(y);
}
