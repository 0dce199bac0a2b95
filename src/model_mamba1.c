/* model_mamba1.c: the Mamba-1 block (MambaForCausalLM), following
 * transformers' MambaMixer.slow_forward and mamba.c: the whole-prompt layer,
 * the executor's row recomputation, and the SSM state rebuilt from records.
 *
 * Falcon-Mamba (FalconMambaForCausalLM) is the same block with one addition,
 * a weightless RMSNorm on each of dt, B and C straight after x_proj
 * (Config.bcdt_norm; FalconMambaMixer.slow_forward).  It is a second entry of
 * the architecture table sharing every function here, so its knockouts,
 * features and recomputed rows are Mamba-1's: the records hold the normed
 * B and C, and the states rebuilt from them use the normed B. */
#include "model_mamba1.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "arch.h"
#include "model_load.h"

static const Mamba1Layer *layer_w(const Model *m, int l)
{
    return &((const Mamba1Layer *)m->layers)[l];
}

// ---------------------------------------------------------------------------
// Loading

static void bind(ModelLoader *L, Model *m)
{
    const Config *c = &m->cfg;
    int64_t dm = c->d_model, di = c->d_inner, ds = c->d_state, dr = c->dt_rank;
    Mamba1Layer *ls = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    m->layers = ls;
    loadp_mamba_common(L, m);
    for (int i = 0; i < c->n_layer; i++) {
        Mamba1Layer *l = &ls[i];
        l->norm = loadp_get(L, S1(dm), "backbone.layers.%d.norm.weight", i);
        l->in_proj = loadp_mat(L, S2(2 * di, dm), "backbone.layers.%d.mixer.in_proj.weight", i);
        if (c->proj_bias) l->in_proj_b = loadp_get(L, S1(2 * di), "backbone.layers.%d.mixer.in_proj.bias", i);
        l->conv_w = loadp_get(L, S3(di, 1, c->d_conv), "backbone.layers.%d.mixer.conv1d.weight", i);
        if (c->conv_bias) l->conv_b = loadp_get(L, S1(di), "backbone.layers.%d.mixer.conv1d.bias", i);
        l->x_proj = loadp_mat(L, S2(dr + 2 * ds, di), "backbone.layers.%d.mixer.x_proj.weight", i);
        l->dt_proj_w = loadp_mat(L, S2(di, dr), "backbone.layers.%d.mixer.dt_proj.weight", i);
        l->dt_proj_b = loadp_get(L, S1(di), "backbone.layers.%d.mixer.dt_proj.bias", i);
        l->A_log = loadp_get(L, S2(di, ds), "backbone.layers.%d.mixer.A_log", i);
        l->D = loadp_get(L, S1(di), "backbone.layers.%d.mixer.D", i);
        l->out_proj = loadp_mat(L, S2(dm, di), "backbone.layers.%d.mixer.out_proj.weight", i);
        if (c->proj_bias) l->out_proj_b = loadp_get(L, S1(dm), "backbone.layers.%d.mixer.out_proj.bias", i);
    }
}

static size_t derived_floats(const Config *c)
{
    return (size_t)c->n_layer * c->d_inner * c->d_state;
}

/* A_t (d_state, d_inner) = -exp(A_log) transposed, the scans' layout */
static void derive(Model *m, float *mem)
{
    const Config *c = &m->cfg;
    int di = c->d_inner, N = c->d_state;
    size_t per = (size_t)di * N;
    Mamba1Layer *ls = m->layers;
    for (int l = 0; l < c->n_layer; l++) {
        float *At = mem + per * l;
        const float *A_log = ls[l].A_log;
        for (int e = 0; e < di; e++)
            for (int n = 0; n < N; n++) At[(size_t)n * di + e] = -expf(A_log[(size_t)e * N + n]);
        ls[l].A_t = At;
    }
}

// ---------------------------------------------------------------------------
// The forward pass

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

/* dt, B, C = rms_forward(dt), rms_forward(B), rms_forward(C) over each
 * row of dbc (rows, R + 2N) [dt | B | C], when the config has the norm. */
static void bcdt_norm(const Config *c, float *dbc, int rows)
{
    if (!c->bcdt_norm) return;
    int R = c->dt_rank, N = c->d_state, nbc = R + 2 * N;
    float eps = c->mixer_rms_eps;
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < rows; t++) {
        float *p = dbc + (size_t)t * nbc;
        kern_rmsnorm(p, p, NULL, R, eps);
        kern_rmsnorm(p + R, p + R, NULL, N, eps);
        kern_rmsnorm(p + R + N, p + R + N, NULL, N, eps);
    }
}

static int scratch_width(const Config *c)
{
    int w = c->d_model;
    if (2 * c->d_inner > w) w = 2 * c->d_inner;
    if (c->dt_rank + 2 * c->d_state > w) w = c->dt_rank + 2 * c->d_state;
    return w;
}

static size_t thread_floats(const Config *c, int T)
{
    (void)T;
    return kern_mamba1_scan_work(c->d_state);
}

/* The scan of rows [t0, t0 + rows) of one prompt or run, channels [e0, e1),
 * over the buffers of a layer step: xz (rows, 2 di) [x | z] (y goes over x),
 * u and dt (rows, di), dbc (rows, R + 2N); gated: y *= silu(z) in the scan. */
static void scan(const Config *c, const Mamba1Layer *w, float *xz, const float *u, const float *dt, const float *dbc,
                 const RowRun *r, int rows, float *work, int e0, int e1, int gated)
{
    int di = c->d_inner, N = c->d_state, R = c->dt_rank, nbc = R + 2 * N;
    KernScan1 a = {.y = xz, .ldy = 2 * di, .z = gated ? xz + di : NULL, .ldz = 2 * di, .u = u, .ldu = di,
                   .dt = dt, .lddt = di, .At = w->A_t, .ldA = di, .B = dbc + R, .C = dbc + R + N, .ldbc = nbc,
                   .D = w->D,
                   .h0 = r->h0, .hs0 = r->hs0, .ldh = di, .knocked = r->knocked, .src = r->src, .dst = r->dst,
                   .chan = r->chan, .t0 = r->t0, .rows = rows, .N = N};
    kern_mamba1_scan_rows(&a, work, e0, e1);
}

/* Hooks between the SSM and the gate need the two apart: the scan left
 * the gate out, y (the x half of xz, R rows) holds the SSM output; apply
 * the ssm hooks, z = silu(z), the gate hooks, then y *= z. */
static int gate_apart(const RowRun *runs, int nruns)
{
    return rows_hooked(runs, nruns, HOOK_SSM) || rows_hooked(runs, nruns, HOOK_GATE);
}

static void gate_hooked(const Config *c, float *xz, const RowRun *runs, int nruns, int R)
{
    int di = c->d_inner;
    rows_hook(runs, nruns, R, HOOK_SSM, xz, 2 * di, di);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) kern_silu_vec(xz + (size_t)t * 2 * di + di, di);
    rows_hook(runs, nruns, R, HOOK_GATE, xz + di, 2 * di, di);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) {
        float *y = xz + (size_t)t * 2 * di;
        for (int e = 0; e < di; e++) y[e] *= y[di + e];
    }
}

static void layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec,
                  const HookList *hk)
{
    const Config *c = &m->cfg;
    const Mamba1Layer *w = layer_w(m, l);
    int C = c->d_model, di = c->d_inner, N = c->d_state, R = c->dt_rank, T = sq->start[sq->n];
    int nbc = R + 2 * N;
    float *xn = s->a;   /* (T, C) normed input */
    float *xz = s->b;   /* (T, 2*di)  [x | z] */
    float *u = s->c;    /* (T, di) conv + silu */
    float *dbc = s->d;  /* (T, R + 2N)  [dt | B | C] */
    float *dt = s->a;   /* (T, di) after softplus (xn is dead by then) */
    float *y = s->b;    /* (T, ld 2*di) scan output over the x half of xz, dead once u is computed */
    RowRun whole = {.hooks = hk}; /* hook positions are the rows of the batch */
    int apart = gate_apart(&whole, 1);

    // hidden_states = self.norm(hidden_states)
    rmsnorm_rows(xn, x, w->norm, T, C, c->norm_eps);
    // projected_states = self.in_proj(hidden_states); x, z = chunk(2)
    kern_linear(xz, 2 * di, xn, C, w->in_proj, w->in_proj_b, T, C, 2 * di);
    rows_hook(&whole, 1, T, HOOK_IN, xz, 2 * di, di);
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
    rows_hook(&whole, 1, T, HOOK_CONV, u, di, di);
    // ssm_parameters = x_proj(x); dt, B, C = split([R, N, N])
    kern_linear(dbc, nbc, u, di, w->x_proj, NULL, T, di, nbc);
    bcdt_norm(c, dbc, T); /* Falcon-Mamba only; rec->bc gets the normed B and C */
    // dt = softplus(dt_proj(dt))
    kern_linear(dt, di, dbc, nbc, w->dt_proj_w, w->dt_proj_b, T, R, di);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) kern_softplus_vec(dt + (size_t)t * di, di);
    if (rec) {
        for (int t = 0; t < T; t++) {
            memcpy(rec->xpre + (size_t)t * di, xz + (size_t)t * 2 * di, sizeof(float) * di);
            memcpy(rec->z + (size_t)t * di, xz + (size_t)t * 2 * di + di, sizeof(float) * di);
        }
        memcpy(rec->u, u, sizeof(float) * (size_t)T * di);
        memcpy(rec->dt, dt, sizeof(float) * (size_t)T * di);
        memcpy(rec->bc, dbc, sizeof(float) * (size_t)T * nbc);
    }
    // y = selective_scan(u, dt, A, B, C, D); y = y * silu(z)
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 16) {
        int e1 = e0 + 16 < di ? e0 + 16 : di;
        float *work = scratch_thread(s);
        for (int q = 0; q < sq->n; q++) {
            size_t t0 = (size_t)sq->start[q];
            RowRun r = {.knocked = ko != NULL, .src = ko ? ko->src : NULL, .dst = ko ? ko->dst : NULL,
                        .chan = ko ? ko->chan : NULL};
            scan(c, w, y + t0 * 2 * di, u + t0 * di, dt + t0 * di, dbc + t0 * nbc, &r,
                 sq->start[q + 1] - sq->start[q], work, e0, e1, !apart);
        }
    }
    if (apart) gate_hooked(c, xz, &whole, 1, T);
    // hidden_states = residual + out_proj(y)
    kern_linear(u, C, y, 2 * di, w->out_proj, w->out_proj_b, T, di, C);
    rows_hook(&whole, 1, T, HOOK_MIXER, u, C, C);
    add_rows(x, u, (size_t)T * C);
}

static void final_norm(const Model *m, float *out, const float *x)
{
    kern_rmsnorm(out, x, m->norm_f, m->cfg.d_model, m->cfg.norm_eps);
}

static double layer_flops(const Config *c, int T)
{
    double C = c->d_model, di = c->d_inner, N = c->d_state, R = c->dt_rank, t = T;
    return 2 * t * (C * 2 * di + di * (R + 2 * N) + R * di + di * C) /* projections */
           + t * di * (2 * c->d_conv + 6 * N)                        /* conv + scan */
           + (c->bcdt_norm ? 3 * t * (R + 2 * N) : 0);               /* Falcon-Mamba's dt/B/C norm */
}

// ---------------------------------------------------------------------------
// The executor's recomputation

static int record_fields(const Config *c, RecField f[REC_MAX_FIELDS])
{
    size_t di = (size_t)c->d_inner;
    f[0] = (RecField){di, offsetof(LayerRec, xpre)};
    f[1] = (RecField){di, offsetof(LayerRec, u)};
    f[2] = (RecField){di, offsetof(LayerRec, dt)};
    f[3] = (RecField){(size_t)c->dt_rank + 2 * (size_t)c->d_state, offsetof(LayerRec, bc)};
    f[4] = (RecField){di, offsetof(LayerRec, z)};
    return 5;
}

static size_t state_floats(const Config *c)
{
    return (size_t)c->d_inner * c->d_state;
}

/* (d_state, d_inner), transposed so the row recompute runs over contiguous
 * channels; all n states in one pass that shares the decays */
static void states(const Model *m, int l, const LayerRec *rec, int n, const int *t_end,
                   const unsigned char *const *take, float *const *h)
{
    const Config *c = &m->cfg;
    int di = c->d_inner, N = c->d_state, R = c->dt_rank, nbc = R + 2 * N;
    const float *At = layer_w(m, l)->A_t;
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 64)
        kern_mamba1_states(h, t_end, take, n, di, rec->u, di, rec->dt, di, At, di, rec->bc + R, nbc, N, e0,
                           e0 + 64 < di ? e0 + 64 : di);
}

/* The first of the trailing runs whose layer inputs can be read from the
 * records (RowRun.from_rec), or nruns; none when the records' bits could
 * differ from what this step's GEMMs give (one row: gemv; too many: BLIS's
 * other path) or a hook acts before the SSM. */
static int first_from_rec(const RowRun *runs, int nruns, int Rw)
{
    if (Rw < 2 || Rw > KERN_SGEMM_SAME_ROWS || rows_hooked(runs, nruns, HOOK_IN) ||
        rows_hooked(runs, nruns, HOOK_CONV))
        return nruns;
    int k = nruns;
    while (k > 0 && runs[k - 1].from_rec) k--;
    return k;
}

/* rows [r0, r1) of a run's block (rows from row0) from the records of
 * its positions, width w of ld each */
static void from_rec(float *dst, int ld, const float *rec, int w, const RowRun *r, int r0, int r1)
{
    for (int q = r0; q < r1; q++)
        memcpy(dst + (size_t)q * ld, rec + ((size_t)r->rec_row + r->t0 + (q - r->row0)) * w, sizeof(float) * w);
}

static void rows(const Model *m, int l, float *X, int Rw, const RowRun *runs, int nruns, const LayerRec *rec, int T,
                 Scratch *s)
{
    const Config *c = &m->cfg;
    const Mamba1Layer *w = layer_w(m, l);
    int C = c->d_model, di = c->d_inner, N = c->d_state, R = c->dt_rank, K = c->d_conv, nbc = R + 2 * N;
    (void)T;
    float *xn = s->a;   /* (Rw, C) */
    float *xz = s->b;   /* (Rw, 2 di) */
    float *u = s->c;    /* (Rw, di) */
    float *dbc = s->d;  /* (Rw, R + 2N) */
    float *dt = s->a;   /* (Rw, di): xn is dead by then */
    int apart = gate_apart(runs, nruns);
    /* Runs at their first layer, entering it as the clean run did, find
     * everything up to the SSM in the records: the GEMMs stop before their
     * rows, at Rg (at least 2 rows, or none: one row would be gemv, whose
     * sums differ; a row computed anyway is overwritten with the same bits). */
    int kr = first_from_rec(runs, nruns, Rw), Rg = kr < nruns ? runs[kr].row0 : Rw;
    if (kr < nruns && Rg == 1) Rg = 2;

    rmsnorm_rows(xn, X, w->norm, Rg, C, c->norm_eps);
    kern_linear(xz, 2 * di, xn, C, w->in_proj, w->in_proj_b, Rg, C, 2 * di);
    for (int k = kr; k < nruns; k++) {
        int r1 = k + 1 < nruns ? runs[k + 1].row0 : Rw;
        from_rec(xz, 2 * di, rec->xpre, di, &runs[k], runs[k].row0, r1);
        from_rec(xz + di, 2 * di, rec->z, di, &runs[k], runs[k].row0, r1);
        from_rec(u, di, rec->u, di, &runs[k], runs[k].row0, r1);
    }
    rows_hook(runs, nruns, Rw, HOOK_IN, xz, 2 * di, di);
    /* conv: the window reaches back before t0 into the clean pre-conv inputs */
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < kr; k++) {
        const RowRun *r = &runs[k];
        int n = (k + 1 < nruns ? runs[k + 1].row0 : Rw) - r->row0;
        kern_conv1d_silu_rows(u + (size_t)r->row0 * di, di, rec->xpre + (size_t)r->rec_row * di, di,
                              xz + (size_t)r->row0 * 2 * di, 2 * di, r->t0, w->conv_w, w->conv_b, r->t0, n, K, di);
    }
    rows_hook(runs, nruns, Rw, HOOK_CONV, u, di, di);
    kern_linear(dbc, nbc, u, di, w->x_proj, NULL, Rg, di, nbc);
    bcdt_norm(c, dbc, Rg);
    for (int k = kr; k < nruns; k++) /* the records hold the normed dt, B, C */
        from_rec(dbc, nbc, rec->bc, nbc, &runs[k], runs[k].row0, k + 1 < nruns ? runs[k + 1].row0 : Rw);
    kern_linear(dt, di, dbc, nbc, w->dt_proj_w, w->dt_proj_b, Rg, R, di);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < Rg; t++) kern_softplus_vec(dt + (size_t)t * di, di);
    for (int k = kr; k < nruns; k++)
        from_rec(dt, di, rec->dt, di, &runs[k], runs[k].row0, k + 1 < nruns ? runs[k + 1].row0 : Rw);

    /* scan from the clean state at t0-1; y over the x half of xz */
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 16) {
        int e1 = e0 + 16 < di ? e0 + 16 : di;
        float *work = scratch_thread(s);
        for (int k = 0; k < nruns; k++) {
            const RowRun *r = &runs[k];
            size_t o = (size_t)r->row0;
            scan(c, w, xz + o * 2 * di, u + o * di, dt + o * di, dbc + o * nbc, r,
                 (k + 1 < nruns ? runs[k + 1].row0 : Rw) - r->row0, work, e0, e1, !apart);
        }
    }
    if (apart) gate_hooked(c, xz, runs, nruns, Rw);
    kern_linear(u, C, xz, 2 * di, w->out_proj, w->out_proj_b, Rw, di, C);
    rows_hook(runs, nruns, Rw, HOOK_MIXER, u, C, C);
    add_rows(X, u, (size_t)Rw * C);
}

// ---------------------------------------------------------------------------
// Features and `kop info`

static int n_features(const Config *c)
{
    return c->d_inner;
}

/* sum_n exp(-exp(A_log[e,n])) per channel (featsel.h) */
static void feature_scores(const Model *m, int l, double *scores)
{
    const Config *c = &m->cfg;
    const float *A_log = layer_w(m, l)->A_log;
    for (int e = 0; e < c->d_inner; e++) {
        double s = 0;
        for (int n = 0; n < c->d_state; n++) s += exp(-exp((double)A_log[(size_t)e * c->d_state + n]));
        scores[e] = s;
    }
}

static int hook_width(const Config *c, Hook h)
{
    switch (h) {
    case HOOK_RESID: case HOOK_MIXER: return c->d_model;
    case HOOK_IN: case HOOK_CONV: case HOOK_SSM: case HOOK_GATE: return c->d_inner;
    default: return 0;
    }
}

static void print_config(const Config *c, FILE *f)
{
    fprintf(f, "d_inner: %d\nd_state: %d\nd_conv: %d\ndt_rank: %d\n", c->d_inner, c->d_state, c->d_conv, c->dt_rank);
    fprintf(f, "conv_bias: %s\nproj_bias: %s\n", c->conv_bias ? "yes" : "no", c->proj_bias ? "yes" : "no");
    if (c->bcdt_norm) fprintf(f, "mixer_rms_eps: %g\n", c->mixer_rms_eps);
}

/* Everything but the names: Falcon-Mamba runs exactly this code (its
 * difference is data, Config.bcdt_norm), so an operation added here reaches
 * both entries. */
#define MAMBA1_FAMILY_OPS                                                                                            \
    .layer_prefix = "backbone.layers.", .bind = bind, .derived_floats = derived_floats, .derive = derive,           \
    .scratch_width = scratch_width, .thread_floats = thread_floats, .layer = layer, .final_norm = final_norm,       \
    .layer_flops = layer_flops, .record_fields = record_fields, .rows = rows, .state_floats = state_floats,         \
    .states = states, .n_features = n_features, .feature_scores = feature_scores, .print_config = print_config,   \
    .hooks = HOOK_BIT(HOOK_RESID) | HOOK_BIT(HOOK_IN) | HOOK_BIT(HOOK_CONV) | HOOK_BIT(HOOK_SSM) |                 \
             HOOK_BIT(HOOK_GATE) | HOOK_BIT(HOOK_MIXER),                                                            \
    .hook_width = hook_width

const ArchOps arch_mamba1 = {
    .arch = ARCH_MAMBA1,
    .name = "mamba1",
    .description = "Mamba-1",
    MAMBA1_FAMILY_OPS,
};

const ArchOps arch_falcon_mamba = {
    .arch = ARCH_FALCON_MAMBA,
    .name = "falcon_mamba",
    .description = "Falcon-Mamba",
    MAMBA1_FAMILY_OPS,
};
