/* model_mamba2.c: the Mamba-2 block (Mamba2ForCausalLM), following
 * transformers' Mamba2Mixer.torch_forward and mamba_ssm's RMSNormGated (norm
 * after the gate, grouped over d_inner / n_groups channels): the
 * whole-prompt layer, the executor's row recomputation, and the SSM state
 * rebuilt from records. */
#include "model_mamba2.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "arch.h"
#include "fastexp.h"
#include "model_load.h"

static const Mamba2Layer *layer_w(const Model *m, int l)
{
    return &((const Mamba2Layer *)m->layers)[l];
}

typedef struct Dims { int C, di, N, G, H, P, conv_dim, d_in_proj; } Dims;

static Dims dims(const Config *c)
{
    Dims d = {c->d_model, c->d_inner, c->d_state, c->n_groups, c->n_heads, c->head_dim, 0, 0};
    d.conv_dim = d.di + 2 * d.G * d.N;
    d.d_in_proj = 2 * d.di + 2 * d.G * d.N + d.H;
    return d;
}

// ---------------------------------------------------------------------------
// Loading

static void bind(ModelLoader *L, Model *m)
{
    const Config *c = &m->cfg;
    int64_t dm = c->d_model, di = c->d_inner, nh = c->n_heads;
    int64_t conv_dim = di + 2 * (int64_t)c->n_groups * c->d_state, in_rows = di + conv_dim + nh;
    Mamba2Layer *ls = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    m->layers = ls;
    loadp_mamba_common(L, m);
    for (int i = 0; i < c->n_layer; i++) {
        Mamba2Layer *l = &ls[i];
        l->norm = loadp_get(L, S1(dm), "backbone.layers.%d.norm.weight", i);
        l->in_proj = loadp_mat(L, S2(in_rows, dm), "backbone.layers.%d.mixer.in_proj.weight", i);
        if (c->proj_bias) l->in_proj_b = loadp_get(L, S1(in_rows), "backbone.layers.%d.mixer.in_proj.bias", i);
        l->conv_w = loadp_get(L, S3(conv_dim, 1, c->d_conv), "backbone.layers.%d.mixer.conv1d.weight", i);
        if (c->conv_bias) l->conv_b = loadp_get(L, S1(conv_dim), "backbone.layers.%d.mixer.conv1d.bias", i);
        l->dt_bias = loadp_get(L, S1(nh), "backbone.layers.%d.mixer.dt_bias", i);
        l->A_log = loadp_get(L, S1(nh), "backbone.layers.%d.mixer.A_log", i);
        l->D = loadp_get(L, S1(nh), "backbone.layers.%d.mixer.D", i);
        l->gnorm = loadp_get(L, S1(di), "backbone.layers.%d.mixer.norm.weight", i);
        l->out_proj = loadp_mat(L, S2(dm, di), "backbone.layers.%d.mixer.out_proj.weight", i);
        if (c->proj_bias) l->out_proj_b = loadp_get(L, S1(dm), "backbone.layers.%d.mixer.out_proj.bias", i);
    }
}

// ---------------------------------------------------------------------------
// The forward pass

static int scratch_width(const Config *c)
{
    int w = c->d_model, in_proj = 2 * c->d_inner + 2 * c->n_groups * c->d_state + c->n_heads;
    return in_proj > w ? in_proj : w;
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

/* y = rmsnorm(y * silu(z)) per group, then X += out_proj(y), with the
 * runs' ssm, gate and mixer hooks; a gate hook needs silu(z) on its own
 * (in place over z) */
static void gate_out(const Config *c, const Mamba2Layer *w, Dims d, float *X, float *y, float *zx,
                     float *tmp, int R, const RowRun *runs, int nruns)
{
    int gs = d.di / d.G, apart = rows_hooked(runs, nruns, HOOK_GATE);
    rows_hook(runs, nruns, R, HOOK_SSM, y, d.di, d.di);
    if (apart) {
        #pragma omp parallel for schedule(static)
        for (int t = 0; t < R; t++) {
            float *z = zx + (size_t)t * d.d_in_proj;
            for (int e = 0; e < d.di; e++) z[e] = kern_silu(z[e]);
        }
        rows_hook(runs, nruns, R, HOOK_GATE, zx, d.d_in_proj, d.di);
    }
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) {
        float *yt = y + (size_t)t * d.di;
        const float *z = zx + (size_t)t * d.d_in_proj;
        if (apart)
            for (int e = 0; e < d.di; e++) yt[e] *= z[e];
        else
            for (int e = 0; e < d.di; e++) yt[e] *= kern_silu(z[e]);
        for (int g = 0; g < d.G; g++) kern_rmsnorm(yt + g * gs, yt + g * gs, w->gnorm + g * gs, gs, c->norm_eps);
    }
    kern_linear(tmp, d.C, y, d.di, w->out_proj, w->out_proj_b, R, d.di, d.C);
    rows_hook(runs, nruns, R, HOOK_MIXER, tmp, d.C, d.C);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * d.C; i++) X[i] += tmp[i];
}

static void layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec,
                  const HookList *hk)
{
    const Config *c = &m->cfg;
    const Mamba2Layer *w = layer_w(m, l);
    Dims d = dims(c);
    int T = sq->start[sq->n];
    float *xn = s->a;    /* (T, C) */
    float *zx = s->b;    /* (T, d_in_proj)  [z | xBC | dt] */
    float *xbc = s->c;   /* (T, conv_dim)  conv + silu: [x | B | C] */
    float *y = s->d;     /* (T, di) */
    float *dt = s->a;    /* (T, H) after softplus (xn dead by then) */
    RowRun whole = {.hooks = hk}; /* hook positions are the rows of the batch */

    // hidden_states = self.norm(hidden_states)
    rmsnorm_rows(xn, x, w->norm, T, d.C, c->norm_eps);
    // projected_states = in_proj(hidden_states); gate, xBC, dt = split([di, conv_dim, H])
    kern_linear(zx, d.d_in_proj, xn, d.C, w->in_proj, w->in_proj_b, T, d.C, d.d_in_proj);
    rows_hook(&whole, 1, T, HOOK_IN, zx + d.di, d.d_in_proj, d.conv_dim);
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
    rows_hook(&whole, 1, T, HOOK_CONV, xbc, d.conv_dim, d.conv_dim);
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
    gate_out(c, w, d, x, y, zx, xbc, T, &whole, 1);
}

static void final_norm(const Model *m, float *out, const float *x)
{
    kern_rmsnorm(out, x, m->norm_f, m->cfg.d_model, m->cfg.norm_eps);
}

static double layer_flops(const Config *c, int T)
{
    double C = c->d_model, di = c->d_inner, N = c->d_state, G = c->n_groups, t = T;
    double in_proj = 2 * di + 2 * G * N + c->n_heads, conv = di + 2 * G * N;
    return 2 * t * (C * in_proj + di * C) + t * conv * 2 * c->d_conv + t * di * 4 * N;
}

// ---------------------------------------------------------------------------
// The executor's recomputation

static int record_fields(const Config *c, RecField f[REC_MAX_FIELDS])
{
    size_t conv_dim = (size_t)c->d_inner + 2 * (size_t)c->n_groups * c->d_state;
    f[0] = (RecField){conv_dim, offsetof(LayerRec, xpre)};
    f[1] = (RecField){conv_dim, offsetof(LayerRec, u)};
    f[2] = (RecField){(size_t)c->n_heads, offsetof(LayerRec, dt)};
    return 3;
}

static size_t state_floats(const Config *c)
{
    return (size_t)c->n_heads * c->head_dim * c->d_state;
}

/* One state (n_heads, head_dim, d_state) after positions 0..t_end. */
static void state(const Model *m, int l, const LayerRec *rec, int t_end, const unsigned char *take, float *hout)
{
    const Config *c = &m->cfg;
    const Mamba2Layer *w = layer_w(m, l);
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
            kern_mamba2_state_step(hout + (size_t)h * d.P * d.N, dA, dt, row + (size_t)h * d.P, b, d.P, d.N);
        }
    }
}

static void states(const Model *m, int l, const LayerRec *rec, int n, const int *t_end,
                   const unsigned char *const *take, float *const *h)
{
    for (int i = 0; i < n; i++) state(m, l, rec, t_end[i], take[i], h[i]);
}

static void rows(const Model *m, int l, float *X, int Rw, const RowRun *runs, int nruns, const LayerRec *rec, int T,
                 Scratch *s)
{
    const Config *c = &m->cfg;
    const Mamba2Layer *w = layer_w(m, l);
    Dims d = dims(c);
    int K = c->d_conv;
    (void)T;
    float *xn = s->a;   /* (Rw, C) */
    float *zx = s->b;   /* (Rw, d_in_proj) */
    float *xbc = s->c;  /* (Rw, conv_dim) */
    float *y = s->d;    /* (Rw, di) */
    float *dt = s->a;   /* (Rw, H): xn is dead by then */

    rmsnorm_rows(xn, X, w->norm, Rw, d.C, c->norm_eps);
    kern_linear(zx, d.d_in_proj, xn, d.C, w->in_proj, w->in_proj_b, Rw, d.C, d.d_in_proj);
    rows_hook(runs, nruns, Rw, HOOK_IN, zx + d.di, d.d_in_proj, d.conv_dim);
    /* conv: the window reaches back before t0 into the clean pre-conv inputs */
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < nruns; k++) {
        const RowRun *r = &runs[k];
        int rows = (k + 1 < nruns ? runs[k + 1].row0 : Rw) - r->row0;
        kern_conv1d_silu_rows(xbc + (size_t)r->row0 * d.conv_dim, d.conv_dim,
                              rec->xpre + (size_t)r->rec_row * d.conv_dim, d.conv_dim,
                              zx + (size_t)r->row0 * d.d_in_proj + d.di, d.d_in_proj, r->t0, w->conv_w, w->conv_b,
                              r->t0, rows, K, d.conv_dim);
    }
    rows_hook(runs, nruns, Rw, HOOK_CONV, xbc, d.conv_dim, d.conv_dim);
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
    gate_out(c, w, d, X, y, zx, xbc, Rw, runs, nruns);
}

// ---------------------------------------------------------------------------
// Features and `kop info`

static int n_features(const Config *c)
{
    return c->n_heads;
}

/* exp(-exp(A_log[h])) per head (featsel.h) */
static void feature_scores(const Model *m, int l, double *scores)
{
    const float *A_log = layer_w(m, l)->A_log;
    for (int h = 0; h < m->cfg.n_heads; h++) scores[h] = exp(-exp((double)A_log[h]));
}

static int hook_width(const Config *c, Hook h)
{
    switch (h) {
    case HOOK_RESID: case HOOK_MIXER: return c->d_model;
    case HOOK_IN: case HOOK_CONV: return c->d_inner + 2 * c->n_groups * c->d_state;
    case HOOK_SSM: case HOOK_GATE: return c->d_inner;
    default: return 0;
    }
}

static void print_config(const Config *c, FILE *f)
{
    fprintf(f, "d_inner: %d\nd_state: %d\nd_conv: %d\nn_heads: %d\nhead_dim: %d\nn_groups: %d\nchunk_size: %d\n",
            c->d_inner, c->d_state, c->d_conv, c->n_heads, c->head_dim, c->n_groups, c->chunk_size);
    fprintf(f, "dt_limit: %g %g\n", c->dt_limit_lo, c->dt_limit_hi);
    fprintf(f, "conv_bias: %s\nproj_bias: %s\n", c->conv_bias ? "yes" : "no", c->proj_bias ? "yes" : "no");
}

const ArchOps arch_mamba2 = {
    .arch = ARCH_MAMBA2,
    .name = "mamba2",
    .description = "Mamba-2",
    .layer_prefix = "backbone.layers.",
    .bind = bind,
    .scratch_width = scratch_width,
    .layer = layer,
    .final_norm = final_norm,
    .layer_flops = layer_flops,
    .record_fields = record_fields,
    .rows = rows,
    .state_floats = state_floats,
    .states = states,
    .hooks = HOOK_BIT(HOOK_RESID) | HOOK_BIT(HOOK_IN) | HOOK_BIT(HOOK_CONV) | HOOK_BIT(HOOK_SSM) | HOOK_BIT(HOOK_GATE) |
             HOOK_BIT(HOOK_MIXER),
    .hook_width = hook_width,
    .n_features = n_features,
    .feature_scores = feature_scores,
    .print_config = print_config,
};
