/* model_mamba1.c: one Mamba-1 block (MambaForCausalLM), following
 * transformers' MambaMixer.slow_forward and mamba.c. */
#include "forward.h"

#include <math.h>

void mamba1_layer(const Model *m, int l, float *x, int T, const KernKnock *ko, Scratch *s)
{
    const Config *c = &m->cfg;
    const Mamba1Layer *w = &m->mamba1[l];
    int C = c->d_model, di = c->d_inner, N = c->d_state, R = c->dt_rank;
    int nbc = R + 2 * N;
    float *xn = s->a;   /* (T, C) normed input */
    float *xz = s->b;   /* (T, 2*di)  [x | z] */
    float *u = s->c;    /* (T, di) conv + silu */
    float *dbc = s->d;  /* (T, R + 2N)  [dt | B | C] */
    float *dt = s->a;   /* (T, di) after softplus (xn is dead by then) */
    float *y = s->b;    /* (T, ld 2*di) scan output over the x half of xz, dead once u is computed */

    // hidden_states = self.norm(hidden_states)
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) kern_rmsnorm(xn + (size_t)t * C, x + (size_t)t * C, w->norm, C, c->norm_eps);
    // projected_states = self.in_proj(hidden_states); x, z = chunk(2)
    kern_linear(xz, 2 * di, xn, C, w->in_proj, w->in_proj_b, T, C, 2 * di);
    // x = silu(conv1d(x)[..., :T])
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 64) {
        int e1 = e0 + 64 < di ? e0 + 64 : di;
        kern_conv1d_causal(u, di, xz, 2 * di, w->conv_w, w->conv_b, T, c->d_conv, e0, e1);
        for (int t = 0; t < T; t++)
            for (int e = e0; e < e1; e++) u[(size_t)t * di + e] = kern_silu(u[(size_t)t * di + e]);
    }
    // ssm_parameters = x_proj(x); dt, B, C = split([R, N, N])
    kern_linear(dbc, nbc, u, di, w->x_proj, NULL, T, di, nbc);
    // dt = softplus(dt_proj(dt))
    kern_linear(dt, di, dbc, nbc, w->dt_proj_w, w->dt_proj_b, T, R, di);
    // A = -exp(A_log)
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < di * N; i++) s->A[i] = -expf(w->A_log[i]);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < T * di; i++) dt[i] = kern_softplus(dt[i]);
    // y = selective_scan(u, dt, A, B, C, D); y = y * silu(z)
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < di; e0 += 16) {
        int e1 = e0 + 16 < di ? e0 + 16 : di;
        kern_mamba1_scan(y, 2 * di, u, di, dt, di, s->A, dbc + R, dbc + R + N, nbc, w->D, ko, T, N, e0, e1);
        for (int t = 0; t < T; t++)
            for (int e = e0; e < e1; e++)
                y[(size_t)t * 2 * di + e] *= kern_silu(xz[(size_t)t * 2 * di + di + e]);
    }
    // hidden_states = residual + out_proj(y)
    kern_linear(u, C, y, 2 * di, w->out_proj, w->out_proj_b, T, di, C);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < T * C; i++) x[i] += u[i];
}
