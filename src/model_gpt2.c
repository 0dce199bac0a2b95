/* model_gpt2.c: the GPT-2 block (GPT2LMHeadModel, gelu_new), following
 * minGPT / llm.c: the whole-prompt layer and the executor's row
 * recomputation (keys and values of positions before t0 from the clean run). */
#include "model_gpt2.h"

#include <stddef.h>
#include <string.h>

#include "arch.h"
#include "model_load.h"

static const Gpt2Layer *layer_w(const Model *m, int l)
{
    return &((const Gpt2Layer *)m->layers)[l];
}

// ---------------------------------------------------------------------------
// Loading

/* GPT2LMHeadModel saves "transformer.wte.weight"; GPT2Model saves "wte.weight". */
static void bind(ModelLoader *L, Model *m)
{
    const Config *c = &m->cfg;
    int64_t C = c->d_model, ni = c->n_inner;
    const char *pre = loadp_present(L, "transformer.wte.weight") ? "transformer." : "";
    Gpt2Layer *ls = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    m->layers = ls;
    m->embed = loadp_mat(L, S2(c->vocab_size, C), "%swte.weight", pre);
    m->pos_embed = loadp_get(L, S2(c->n_ctx, C), "%swpe.weight", pre);
    for (int i = 0; i < c->n_layer; i++) {
        Gpt2Layer *l = &ls[i];
        l->ln1_w = loadp_get(L, S1(C), "%sh.%d.ln_1.weight", pre, i);
        l->ln1_b = loadp_get(L, S1(C), "%sh.%d.ln_1.bias", pre, i);
        l->attn_w = loadp_mat(L, S2(C, 3 * C), "%sh.%d.attn.c_attn.weight", pre, i);
        l->attn_b = loadp_get(L, S1(3 * C), "%sh.%d.attn.c_attn.bias", pre, i);
        l->attn_proj_w = loadp_mat(L, S2(C, C), "%sh.%d.attn.c_proj.weight", pre, i);
        l->attn_proj_b = loadp_get(L, S1(C), "%sh.%d.attn.c_proj.bias", pre, i);
        l->ln2_w = loadp_get(L, S1(C), "%sh.%d.ln_2.weight", pre, i);
        l->ln2_b = loadp_get(L, S1(C), "%sh.%d.ln_2.bias", pre, i);
        l->fc_w = loadp_mat(L, S2(C, ni), "%sh.%d.mlp.c_fc.weight", pre, i);
        l->fc_b = loadp_get(L, S1(ni), "%sh.%d.mlp.c_fc.bias", pre, i);
        l->fc_proj_w = loadp_mat(L, S2(ni, C), "%sh.%d.mlp.c_proj.weight", pre, i);
        l->fc_proj_b = loadp_get(L, S1(C), "%sh.%d.mlp.c_proj.bias", pre, i);
    }
    m->norm_f = loadp_get(L, S1(C), "%sln_f.weight", pre);
    m->norm_f_b = loadp_get(L, S1(C), "%sln_f.bias", pre);
}

// ---------------------------------------------------------------------------
// The forward pass

static int scratch_width(const Config *c)
{
    int w = 3 * c->d_model;
    return c->n_inner > w ? c->n_inner : w;
}

/* one row of attention scores per thread */
static size_t thread_floats(const Config *c, int T)
{
    (void)c;
    return (size_t)T;
}

static int max_positions(const Config *c)
{
    return c->n_ctx;
}

/* token (+ add) plus position embedding; positions restart at each prompt */
static void embed(const Model *m, const int *ids, const float *add, const Seqs *sq, float *x)
{
    int C = m->cfg.d_model;
    for (int q = 0; q < sq->n; q++)
        for (int t = sq->start[q]; t < sq->start[q + 1]; t++) {
            const float *p = m->pos_embed + (size_t)(t - sq->start[q]) * C;
            const float *a = add ? add + (size_t)t * C : NULL;
            float *xt = x + (size_t)t * C;
            kern_widen(xt, m->embed, (size_t)ids[t] * C, (size_t)C);
            for (int i = 0; i < C; i++) xt[i] = (a ? xt[i] + a[i] : xt[i]) + p[i];
        }
}

static void layernorm_rows(float *out, const float *x, const float *w, const float *b, int R, int C, float eps)
{
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) kern_layernorm(out + (size_t)t * C, x + (size_t)t * C, w, b, C, eps);
}

/* x += attn_proj(att); x += mlp(ln_2(x)), on R rows; xn, h, o scratch;
 * with the runs' attn and mlp hooks */
static void attn_out_mlp(const Config *c, const Gpt2Layer *w, float *x, const float *att,
                         float *xn, float *h, float *o, int R, const RowRun *runs, int nruns)
{
    int C = c->d_model, I = c->n_inner;
    kern_linear_kn(o, C, att, C, w->attn_proj_w, w->attn_proj_b, R, C, C);
    rows_hook(runs, nruns, R, HOOK_ATTN, o, C, C);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * C; i++) x[i] += o[i];
    // x = x + mlp(ln_2(x)),  mlp = c_proj(gelu_new(c_fc(.)))
    layernorm_rows(xn, x, w->ln2_w, w->ln2_b, R, C, c->norm_eps);
    kern_linear_kn(h, I, xn, C, w->fc_w, w->fc_b, R, C, I);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * I; i++) h[i] = kern_gelu_new(h[i]);
    kern_linear_kn(o, C, h, I, w->fc_proj_w, w->fc_proj_b, R, I, C);
    rows_hook(runs, nruns, R, HOOK_MLP, o, C, C);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * C; i++) x[i] += o[i];
}

static void layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec,
                  const HookList *hk)
{
    const Config *c = &m->cfg;
    const Gpt2Layer *w = layer_w(m, l);
    int C = c->d_model, NH = c->n_head, HS = C / NH, T = sq->start[sq->n];
    RowRun whole = {.hooks = hk}; /* hook positions are the rows of the batch */
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
                            3 * C, NULL, NULL, 0, Tq, ko, scratch_thread(s), 0, Tq, HS);
    }
    attn_out_mlp(c, w, x, att, xn, s->b, s->d, T, &whole, 1);
}

static void final_norm(const Model *m, float *out, const float *x)
{
    kern_layernorm(out, x, m->norm_f, m->norm_f_b, m->cfg.d_model, m->cfg.norm_eps);
}

static double layer_flops(const Config *c, int T)
{
    double C = c->d_model, I = c->n_inner, t = T;
    return 2 * t * (C * 3 * C + C * C + 2 * C * I) + 2 * 2 * C * t * (t + 1) / 2;
}

// ---------------------------------------------------------------------------
// The executor's recomputation

static int record_fields(const Config *c, RecField f[REC_MAX_FIELDS])
{
    f[0] = (RecField){3 * (size_t)c->d_model, offsetof(LayerRec, qkv)};
    return 1;
}

static void rows(const Model *m, int l, float *X, int Rw, const RowRun *runs, int nruns, const LayerRec *rec, int T,
                 Scratch *s)
{
    const Config *c = &m->cfg;
    const Gpt2Layer *w = layer_w(m, l);
    int C = c->d_model, NH = c->n_head, HS = C / NH;
    float *xn = s->a;   /* (Rw, C) */
    float *qkv = s->b;  /* (Rw, 3C); the MLP's hidden rows once attention is done */
    float *att = s->c;  /* (Rw, C) */
    float *o = s->d;    /* (Rw, C) */

    layernorm_rows(xn, X, w->ln1_w, w->ln1_b, Rw, C, c->norm_eps);
    kern_linear_kn(qkv, 3 * C, xn, C, w->attn_w, w->attn_b, Rw, C, 3 * C);
    /* every (run, head): rows t0..T-1 attend to clean keys before t0 and
     * to the run's own recomputed keys from t0 on */
    #pragma omp parallel for schedule(static)
    for (int job = 0; job < nruns * NH; job++) {
        const RowRun *r = &runs[job / NH];
        size_t off = (size_t)(job % NH) * HS;
        KernKnock ko = {r->src, r->dst, NULL};
        const float *mine = qkv + (size_t)r->row0 * 3 * C, *base = rec->qkv + (size_t)r->rec_row * 3 * C;
        kern_attention_head(att + (size_t)r->row0 * C + off, C, mine + off, 3 * C,
                            base + C + off, base + 2 * C + off, 3 * C,
                            mine + C + off, mine + 2 * C + off, 3 * C, r->t0,
                            r->knocked ? &ko : NULL, scratch_thread(s), r->t0, T, HS);
    }
    attn_out_mlp(c, w, X, att, xn, qkv, o, Rw, runs, nruns);
}

static void print_config(const Config *c, FILE *f)
{
    fprintf(f, "n_head: %d\nhead_dim: %d\nn_ctx: %d\nn_inner: %d\n", c->n_head, c->d_model / c->n_head, c->n_ctx,
            c->n_inner);
}

const ArchOps arch_gpt2 = {
    .arch = ARCH_GPT2,
    .name = "gpt2",
    .description = "GPT-2",
    .layer_prefix = "h.",
    .optional_root = "transformer.",
    .bind = bind,
    .scratch_width = scratch_width,
    .thread_floats = thread_floats,
    .max_positions = max_positions,
    .context_key = "n_positions",
    .embed = embed,
    .layer = layer,
    .final_norm = final_norm,
    .layer_flops = layer_flops,
    .record_fields = record_fields,
    .rows = rows,
    .hooks = ARCH_ATTN_HOOKS,
    .hook_width = arch_attn_hook_width,
    .print_config = print_config,
};
