/* model_gpt2.c: the GPT-2 block (GPT2LMHeadModel, gelu_new), following
 * minGPT / llm.c: the whole-prompt layer and the executor's row
 * recomputation (keys and values of positions before t0 from the clean run). */
#include "knock.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int n_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static void layernorm_rows(float *out, const float *x, const float *w, const float *b, int R, int C, float eps)
{
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) kern_layernorm(out + (size_t)t * C, x + (size_t)t * C, w, b, C, eps);
}

/* x += attn_proj(att); x += mlp(ln_2(x)), on R rows; xn, h, o scratch */
static void attn_out_mlp(const Config *c, const Gpt2Layer *w, float *x, const float *att,
                         float *xn, float *h, float *o, int R)
{
    int C = c->d_model, I = c->n_inner;
    kern_linear_kn(o, C, att, C, w->attn_proj_w, w->attn_proj_b, R, C, C);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * C; i++) x[i] += o[i];
    // x = x + mlp(ln_2(x)),  mlp = c_proj(gelu_new(c_fc(.)))
    layernorm_rows(xn, x, w->ln2_w, w->ln2_b, R, C, c->norm_eps);
    kern_linear_kn(h, I, xn, C, w->fc_w, w->fc_b, R, C, I);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * I; i++) h[i] = kern_gelu_new(h[i]);
    kern_linear_kn(o, C, h, I, w->fc_proj_w, w->fc_proj_b, R, I, C);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * C; i++) x[i] += o[i];
}

void gpt2_layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec)
{
    const Config *c = &m->cfg;
    const Gpt2Layer *w = &m->gpt2[l];
    int C = c->d_model, NH = c->n_head, HS = C / NH, T = sq->start[sq->n];
    float *xn = s->a;   /* (T, C) */
    float *qkv = s->b;  /* (T, 3C) */
    float *att = s->c;  /* (T, C) heads side by side */

    // x = x + attn(ln_1(x))
    layernorm_rows(xn, x, w->ln1_w, w->ln1_b, T, C, c->norm_eps);
    kern_linear_kn(qkv, 3 * C, xn, C, w->attn_w, w->attn_b, T, C, 3 * C);
    if (rec) memcpy(rec->qkv, qkv, sizeof(float) * (size_t)T * 3 * C);
    #pragma omp parallel for schedule(static)
    for (int job = 0; job < NH * sq->n; job++) {
        int q = job / NH, Tq = sq->start[q + 1] - sq->start[q];
        size_t off = (size_t)(job % NH) * HS;
        const float *qq = qkv + (size_t)sq->start[q] * 3 * C;
        kern_attention_head(att + (size_t)sq->start[q] * C + off, C, qq + off, 3 * C, qq + C + off, qq + 2 * C + off,
                            3 * C, NULL, NULL, 0, Tq, ko, s->att + (size_t)thread_id() * T, 0, Tq, HS);
    }
    attn_out_mlp(c, w, x, att, xn, s->b, s->d, T);
}

void gpt2_rows(const Model *m, int l, float *X, int Rw, const RowRun *runs, int nruns,
               const LayerRec *rec, int T)
{
    const Config *c = &m->cfg;
    const Gpt2Layer *w = &m->gpt2[l];
    int C = c->d_model, NH = c->n_head, HS = C / NH, I = c->n_inner;
    float *xn = kop_xmalloc(sizeof(float) * (size_t)Rw * C);
    float *qkv = kop_xmalloc(sizeof(float) * (size_t)Rw * 3 * C);
    float *att = kop_xmalloc(sizeof(float) * (size_t)Rw * C);
    float *h = kop_xmalloc(sizeof(float) * (size_t)Rw * (I > 3 * C ? I : 3 * C));
    float *o = kop_xmalloc(sizeof(float) * (size_t)Rw * C);
    float *scores = kop_xmalloc(sizeof(float) * (size_t)n_threads() * T);

    layernorm_rows(xn, X, w->ln1_w, w->ln1_b, Rw, C, c->norm_eps);
    kern_linear_kn(qkv, 3 * C, xn, C, w->attn_w, w->attn_b, Rw, C, 3 * C);
    /* every (run, head): rows t0..T-1 attend to clean keys before t0 and
     * to the run's own recomputed keys from t0 on */
    #pragma omp parallel for schedule(static)
    for (int job = 0; job < nruns * NH; job++) {
        const RowRun *r = &runs[job / NH];
        size_t off = (size_t)(job % NH) * HS;
        KernKnock ko = {r->src, r->dst, NULL};
        const float *mine = qkv + (size_t)r->row0 * 3 * C;
        kern_attention_head(att + (size_t)r->row0 * C + off, C, mine + off, 3 * C,
                            rec->qkv + C + off, rec->qkv + 2 * C + off, 3 * C,
                            mine + C + off, mine + 2 * C + off, 3 * C, r->t0,
                            r->knocked ? &ko : NULL, scores + (size_t)thread_id() * T, r->t0, T, HS);
    }
    attn_out_mlp(c, w, X, att, xn, h, o, Rw);
    free(xn); free(qkv); free(att); free(h); free(o); free(scores);
}
