/* model_llama.c: the Llama decoder layer (LlamaForCausalLM, following
 * transformers' modeling_llama and llama2.c), and Mistral
 * (MistralForCausalLM), the same layer with a sliding attention window:
 * RMSNorm, rotary grouped-query attention (rope_attn.h), SwiGLU MLP.  Two
 * table entries over one implementation; they differ only in their config
 * (config.c: Mistral's sliding_window, Llama's optional biases). */
#include "model_llama.h"

#include <stddef.h>

#include "arch.h"
#include "model_load.h"
#include "rope_attn.h"

static const LlamaLayer *layer_w(const Model *m, int l)
{
    return &((const LlamaLayer *)m->layers)[l];
}

// ---------------------------------------------------------------------------
// Loading

static void bind(ModelLoader *L, Model *m)
{
    const Config *c = &m->cfg;
    int64_t C = c->d_model, Q = (int64_t)c->n_head * c->head_dim, KV = (int64_t)c->n_kv_head * c->head_dim;
    int64_t I = c->n_inner;
    LlamaLayer *ls = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    m->layers = ls;
    m->embed = loadp_mat(L, S2(c->vocab_size, C), "model.embed_tokens.weight");
    for (int i = 0; i < c->n_layer; i++) {
        LlamaLayer *l = &ls[i];
        l->attn_norm = loadp_get(L, S1(C), "model.layers.%d.input_layernorm.weight", i);
        l->wq = loadp_mat(L, S2(Q, C), "model.layers.%d.self_attn.q_proj.weight", i);
        l->wk = loadp_mat(L, S2(KV, C), "model.layers.%d.self_attn.k_proj.weight", i);
        l->wv = loadp_mat(L, S2(KV, C), "model.layers.%d.self_attn.v_proj.weight", i);
        l->wo = loadp_mat(L, S2(C, Q), "model.layers.%d.self_attn.o_proj.weight", i);
        if (c->attn_bias) {
            l->bq = loadp_get(L, S1(Q), "model.layers.%d.self_attn.q_proj.bias", i);
            l->bk = loadp_get(L, S1(KV), "model.layers.%d.self_attn.k_proj.bias", i);
            l->bv = loadp_get(L, S1(KV), "model.layers.%d.self_attn.v_proj.bias", i);
            l->bo = loadp_get(L, S1(C), "model.layers.%d.self_attn.o_proj.bias", i);
        }
        l->mlp_norm = loadp_get(L, S1(C), "model.layers.%d.post_attention_layernorm.weight", i);
        l->w_gate = loadp_mat(L, S2(I, C), "model.layers.%d.mlp.gate_proj.weight", i);
        l->w_up = loadp_mat(L, S2(I, C), "model.layers.%d.mlp.up_proj.weight", i);
        l->w_down = loadp_mat(L, S2(C, I), "model.layers.%d.mlp.down_proj.weight", i);
        if (c->mlp_bias) {
            l->b_gate = loadp_get(L, S1(I), "model.layers.%d.mlp.gate_proj.bias", i);
            l->b_up = loadp_get(L, S1(I), "model.layers.%d.mlp.up_proj.bias", i);
            l->b_down = loadp_get(L, S1(C), "model.layers.%d.mlp.down_proj.bias", i);
        }
    }
    m->norm_f = loadp_get(L, S1(C), "model.norm.weight");
}

// ---------------------------------------------------------------------------
// The forward pass

/* A projected row: [q heads | k heads | v heads]. */
static RopeAttn attn_layout(const Model *m)
{
    const Config *c = &m->cfg;
    int NH = c->n_head, NKV = c->n_kv_head, HS = c->head_dim;
    return (RopeAttn){.NH = NH, .NKV = NKV, .HS = HS, .rot = c->rope_dims, .ld = (NH + 2 * NKV) * HS, .q_off = 0,
                      .k_off = NH * HS, .v_off = (NH + NKV) * HS, .step = HS, .window = c->sliding_window,
                      .inv_freq = m->derived};
}

static int scratch_width(const Config *c)
{
    int w = (c->n_head + 2 * c->n_kv_head) * c->head_dim; /* the projected rows; also >= n_head * head_dim */
    if (c->d_model > w) w = c->d_model;
    if (2 * c->n_inner > w) w = 2 * c->n_inner;
    return w;
}

/* one row of attention scores per thread */
static size_t thread_floats(const Config *c, int T)
{
    (void)c;
    return (size_t)T;
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

/* qkv (R, ld) = [q_proj(xn) | k_proj(xn) | v_proj(xn)] */
static void project(const Config *c, const LlamaLayer *w, const RopeAttn *a, float *qkv, const float *xn, int R)
{
    int C = c->d_model, Q = a->NH * a->HS, KV = a->NKV * a->HS;
    kern_linear(qkv + a->q_off, a->ld, xn, C, w->wq, w->bq, R, C, Q);
    kern_linear(qkv + a->k_off, a->ld, xn, C, w->wk, w->bk, R, C, KV);
    kern_linear(qkv + a->v_off, a->ld, xn, C, w->wv, w->bv, R, C, KV);
}

/* x += o_proj(att); x += mlp(post_attention_layernorm(x)) on R rows;
 * xn, gu, o scratch; with the runs' attn and mlp hooks */
static void attn_out_mlp(const Config *c, const LlamaLayer *w, float *x, const float *att, float *xn, float *gu,
                         float *o, int R, const RowRun *runs, int nruns)
{
    int C = c->d_model, I = c->n_inner, Q = c->n_head * c->head_dim;
    kern_linear(o, C, att, Q, w->wo, w->bo, R, Q, C);
    rows_hook(runs, nruns, R, HOOK_ATTN, o, C, C);
    add_rows(x, o, (size_t)R * C);
    // down_proj(act_fn(gate_proj(x)) * up_proj(x))
    rmsnorm_rows(xn, x, w->mlp_norm, R, C, c->norm_eps);
    kern_linear(gu, 2 * I, xn, C, w->w_gate, w->b_gate, R, C, I);
    kern_linear(gu + I, 2 * I, xn, C, w->w_up, w->b_up, R, C, I);
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) {
        float *g = gu + (size_t)t * 2 * I;
        kern_silu_vec(g, I);
        for (int i = 0; i < I; i++) g[i] *= g[I + i];
    }
    kern_linear(o, C, gu, 2 * I, w->w_down, w->b_down, R, I, C);
    rows_hook(runs, nruns, R, HOOK_MLP, o, C, C);
    add_rows(x, o, (size_t)R * C);
}

static void layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec,
                  const HookList *hk)
{
    RowRun whole = {.hooks = hk}; /* hook positions are the rows of the batch */
    const Config *c = &m->cfg;
    const LlamaLayer *w = layer_w(m, l);
    RopeAttn a = attn_layout(m);
    int T = sq->start[sq->n];
    float *xn = s->a;   /* (T, C) */
    float *qkv = s->b;  /* (T, ld); the MLP's [gate | up] rows once attention is done */
    float *att = s->c;  /* (T, NH*HS) heads side by side */

    // x = x + self_attn(input_layernorm(x))
    rmsnorm_rows(xn, x, w->attn_norm, T, c->d_model, c->norm_eps);
    project(c, w, &a, qkv, xn, T);
    rope_attn_prompt(&a, att, qkv, sq, ko, rec ? rec->kv : NULL, s);
    attn_out_mlp(c, w, x, att, xn, qkv, s->d, T, &whole, 1);
}

static void final_norm(const Model *m, float *out, const float *x)
{
    kern_rmsnorm(out, x, m->norm_f, m->cfg.d_model, m->cfg.norm_eps);
}

static double layer_flops(const Config *c, int T)
{
    double C = c->d_model, I = c->n_inner, Q = (double)c->n_head * c->head_dim, KV = (double)c->n_kv_head * c->head_dim;
    return 2.0 * T * (C * (Q + 2 * KV) + Q * C + 3 * C * I) + rope_attn_flops(c, T);
}

// ---------------------------------------------------------------------------
// The executor's recomputation

static void rows(const Model *m, int l, float *X, int R, const RowRun *runs, int nruns, const LayerRec *rec, int T,
                 Scratch *s)
{
    const Config *c = &m->cfg;
    const LlamaLayer *w = layer_w(m, l);
    RopeAttn a = attn_layout(m);
    float *xn = s->a, *qkv = s->b, *att = s->c;

    rmsnorm_rows(xn, X, w->attn_norm, R, c->d_model, c->norm_eps);
    project(c, w, &a, qkv, xn, R);
    rope_attn_rows(&a, att, qkv, runs, nruns, rec->kv, T, s);
    attn_out_mlp(c, w, X, att, xn, qkv, s->d, R, runs, nruns);
}

static void print_config(const Config *c, FILE *f)
{
    fprintf(f, "n_head: %d\nn_kv_head: %d\nhead_dim: %d\nintermediate_size: %d\nrope_theta: %g\n", c->n_head,
            c->n_kv_head, c->head_dim, c->n_inner, c->rope_theta);
    rope_attn_print_scaling(c, f);
    if (c->arch == ARCH_MISTRAL) {
        if (c->sliding_window) fprintf(f, "sliding_window: %d\n", c->sliding_window);
        else fprintf(f, "sliding_window: none\n");
    } else {
        fprintf(f, "attention_bias: %s\nmlp_bias: %s\n", c->attn_bias ? "true" : "false", c->mlp_bias ? "true" : "false");
    }
}

#define LLAMA_OPS                            \
    .layer_prefix = "model.layers.",         \
    .bind = bind,                            \
    .derived_floats = rope_attn_freq_floats,        \
    .derive = rope_attn_derive,                        \
    .scratch_width = scratch_width,          \
    .thread_floats = thread_floats,          \
    .layer = layer,                          \
    .final_norm = final_norm,                \
    .layer_flops = layer_flops,              \
    .record_fields = rope_attn_record_fields,          \
    .rows = rows,                            \
    .print_config = print_config,            \
    .hooks = ARCH_ATTN_HOOKS, \
    .hook_width = arch_attn_hook_width

const ArchOps arch_llama = {
    .arch = ARCH_LLAMA,
    .name = "llama",
    .description = "Llama (LlamaForCausalLM)",
    LLAMA_OPS,
};

const ArchOps arch_mistral = {
    .arch = ARCH_MISTRAL,
    .name = "mistral",
    .description = "Mistral (MistralForCausalLM)",
    LLAMA_OPS,
};
