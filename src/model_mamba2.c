/* model_mamba2.c: one Mamba-2 block (Mamba2ForCausalLM), following
 * transformers' Mamba2Mixer.torch_forward and mamba_ssm's RMSNormGated
 * (norm after the gate, grouped over d_inner / n_groups channels). */
#include "forward.h"

#include <math.h>

void mamba2_layer(const Model *m, int l, float *x, int T, const KernKnock *ko, Scratch *s)
{
    const Config *c = &m->cfg;
    const Mamba2Layer *w = &m->mamba2[l];
    int C = c->d_model, di = c->d_inner, N = c->d_state, G = c->n_groups;
    int H = c->n_heads, P = c->head_dim, conv_dim = di + 2 * G * N;
    int d_in_proj = 2 * di + 2 * G * N + H;
    float *xn = s->a;    /* (T, C) */
    float *zx = s->b;    /* (T, d_in_proj)  [z | xBC | dt] */
    float *xbc = s->c;   /* (T, conv_dim)  conv + silu: [x | B | C] */
    float *y = s->d;     /* (T, di) */
    float *dt = s->a;    /* (T, H) after softplus (xn dead by then) */

    // hidden_states = self.norm(hidden_states)
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) kern_rmsnorm(xn + (size_t)t * C, x + (size_t)t * C, w->norm, C, c->norm_eps);
    // projected_states = in_proj(hidden_states); gate, xBC, dt = split([di, conv_dim, H])
    kern_linear(zx, d_in_proj, xn, C, w->in_proj, w->in_proj_b, T, C, d_in_proj);
    // xBC = silu(conv1d(xBC))
    #pragma omp parallel for schedule(static)
    for (int e0 = 0; e0 < conv_dim; e0 += 64) {
        int e1 = e0 + 64 < conv_dim ? e0 + 64 : conv_dim;
        kern_conv1d_causal(xbc, conv_dim, zx + di, d_in_proj, w->conv_w, w->conv_b, T, c->d_conv, e0, e1);
        for (int t = 0; t < T; t++)
            for (int e = e0; e < e1; e++) xbc[(size_t)t * conv_dim + e] = kern_silu(xbc[(size_t)t * conv_dim + e]);
    }
    // dt = clamp(softplus(dt + dt_bias), time_step_limit)
    for (int t = 0; t < T; t++)
        for (int h = 0; h < H; h++) {
            float v = kern_softplus(zx[(size_t)t * d_in_proj + di + conv_dim + h] + w->dt_bias[h]);
            if (v < c->dt_limit_lo) v = c->dt_limit_lo;
            if (v > c->dt_limit_hi) v = c->dt_limit_hi;
            dt[(size_t)t * H + h] = v;
        }
    // y = ssd(x, dt, A, B, C) + D * x, per head; head h reads group h / (H / G)
    #pragma omp parallel for schedule(static)
    for (int h = 0; h < H; h++) {
        int g = h / (H / G);
        const KernKnock *kh = ko && (!ko->chan || ko->chan[h]) ? ko : NULL;
        kern_mamba2_scan_head(y + (size_t)h * P, di, xbc + (size_t)h * P, conv_dim, dt + h, H,
                              -expf(w->A_log[h]), xbc + di + (size_t)g * N, xbc + di + (size_t)(G + g) * N,
                              conv_dim, w->D[h], kh, T, P, N);
    }
    // y = norm(y, gate=z): rmsnorm(y * silu(z)) per group of di / G channels
    int gs = di / G;
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) {
        float *yt = y + (size_t)t * di;
        const float *z = zx + (size_t)t * d_in_proj;
        for (int e = 0; e < di; e++) yt[e] *= kern_silu(z[e]);
        for (int g = 0; g < G; g++) kern_rmsnorm(yt + g * gs, yt + g * gs, w->gnorm + g * gs, gs, c->norm_eps);
    }
    // hidden_states = residual + out_proj(y)
    kern_linear(xbc, C, y, di, w->out_proj, w->out_proj_b, T, di, C);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < T * C; i++) x[i] += xbc[i];
}
