/* model_gpt2.c: one GPT-2 block (GPT2LMHeadModel, gelu_new), following
 * minGPT / llm.c. */
#include "forward.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void gpt2_layer(const Model *m, int l, float *x, int T, const KernKnock *ko, Scratch *s)
{
    const Config *c = &m->cfg;
    const Gpt2Layer *w = &m->gpt2[l];
    int C = c->d_model, NH = c->n_head, HS = C / NH, I = c->n_inner;
    float *xn = s->a;   /* (T, C) */
    float *qkv = s->b;  /* (T, 3C) */
    float *att = s->c;  /* (T, C) heads side by side */
    float *h = s->b;    /* (T, I) MLP hidden (qkv dead by then) */
    float *o = s->d;    /* (T, C) */

    // x = x + attn(ln_1(x))
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++)
        kern_layernorm(xn + (size_t)t * C, x + (size_t)t * C, w->ln1_w, w->ln1_b, C, c->norm_eps);
    kern_linear_kn(qkv, 3 * C, xn, C, w->attn_w, w->attn_b, T, C, 3 * C);
    #pragma omp parallel for schedule(static)
    for (int hd = 0; hd < NH; hd++) {
#ifdef _OPENMP
        float *row = s->att + (size_t)omp_get_thread_num() * T;
#else
        float *row = s->att;
#endif
        kern_attention_head(att + (size_t)hd * HS, C, qkv + (size_t)hd * HS, qkv + C + (size_t)hd * HS,
                            qkv + 2 * C + (size_t)hd * HS, 3 * C, ko, row, T, HS);
    }
    kern_linear_kn(o, C, att, C, w->attn_proj_w, w->attn_proj_b, T, C, C);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < T * C; i++) x[i] += o[i];

    // x = x + mlp(ln_2(x)),  mlp = c_proj(gelu_new(c_fc(.)))
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++)
        kern_layernorm(xn + (size_t)t * C, x + (size_t)t * C, w->ln2_w, w->ln2_b, C, c->norm_eps);
    kern_linear_kn(h, I, xn, C, w->fc_w, w->fc_b, T, C, I);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < T * I; i++) h[i] = kern_gelu_new(h[i]);
    kern_linear_kn(o, C, h, I, w->fc_proj_w, w->fc_proj_b, T, I, C);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < T * C; i++) x[i] += o[i];
}
