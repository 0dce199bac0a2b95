/* model_neox.c: the GPT-NeoX layer (GPTNeoXForCausalLM, Pythia), following
 * transformers' modeling_gpt_neox: LayerNorm with bias, the fused
 * query_key_value projection laid out per head as [q k v], rotary
 * embeddings on the first rotary dims of each head (rope_attn.h), exact
 * GELU, and either residual form:
 *   parallel:   x = x + attn(ln1(x)) + mlp(ln2(x))
 *   sequential: x = x + attn(ln1(x)); x = x + mlp(ln2(x)).
 * The head is embed_out, untied unless the config ties it. */
#include "model_neox.h"

#include <stddef.h>

#include "arch.h"
#include "model_load.h"
#include "rope_attn.h"

static const NeoxLayer *layer_w(const Model *m, int l)
{
    return &((const NeoxLayer *)m->layers)[l];
}

// ---------------------------------------------------------------------------
// Loading

/* Buffers some conversions carry (attention.rotary_emb.inv_freq,
 * attention.masked_bias, attention.bias) are not asked for, so ignored. */
static void bind(ModelLoader *L, Model *m)
{
    const Config *c = &m->cfg;
    int64_t C = c->d_model, I = c->n_inner;
    NeoxLayer *ls = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    m->layers = ls;
    m->embed = loadp_mat(L, S2(c->vocab_size, C), "gpt_neox.embed_in.weight");
    for (int i = 0; i < c->n_layer; i++) {
        NeoxLayer *l = &ls[i];
        l->ln1_w = loadp_get(L, S1(C), "gpt_neox.layers.%d.input_layernorm.weight", i);
        l->ln1_b = loadp_get(L, S1(C), "gpt_neox.layers.%d.input_layernorm.bias", i);
        l->qkv_w = loadp_mat(L, S2(3 * C, C), "gpt_neox.layers.%d.attention.query_key_value.weight", i);
        l->dense_w = loadp_mat(L, S2(C, C), "gpt_neox.layers.%d.attention.dense.weight", i);
        if (c->attn_bias) {
            l->qkv_b = loadp_get(L, S1(3 * C), "gpt_neox.layers.%d.attention.query_key_value.bias", i);
            l->dense_b = loadp_get(L, S1(C), "gpt_neox.layers.%d.attention.dense.bias", i);
        }
        l->ln2_w = loadp_get(L, S1(C), "gpt_neox.layers.%d.post_attention_layernorm.weight", i);
        l->ln2_b = loadp_get(L, S1(C), "gpt_neox.layers.%d.post_attention_layernorm.bias", i);
        l->fc_w = loadp_mat(L, S2(I, C), "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight", i);
        l->fc_b = loadp_get(L, S1(I), "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias", i);
        l->proj_w = loadp_mat(L, S2(C, I), "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight", i);
        l->proj_b = loadp_get(L, S1(C), "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias", i);
    }
    m->norm_f = loadp_get(L, S1(C), "gpt_neox.final_layer_norm.weight");
    m->norm_f_b = loadp_get(L, S1(C), "gpt_neox.final_layer_norm.bias");
    /* the head: embed_out, or the embedding when tied and absent */
    if (loadp_present(L, "embed_out.weight"))
        m->lm_head = loadp_mat(L, S2(c->vocab_size, C), "embed_out.weight");
    else if (c->tie_embeddings)
        m->lm_head = m->embed;
    else
        loadp_fail(L, "%s: no tensor 'embed_out.weight' (config.json says it is not tied to the embedding)",
                   loadp_where(L));
}

// ---------------------------------------------------------------------------
// The forward pass

/* qkv.view(..., NH, 3 * HS): head h's q, k, v at h * 3HS + [0, HS, 2HS) */
static RopeAttn attn_layout(const Model *m)
{
    const Config *c = &m->cfg;
    int NH = c->n_head, HS = c->head_dim;
    return (RopeAttn){.NH = NH, .NKV = NH, .HS = HS, .rot = c->rope_dims, .ld = 3 * c->d_model, .q_off = 0,
                      .k_off = HS, .v_off = 2 * HS, .step = 3 * HS, .window = 0, .inv_freq = m->derived};
}

static int scratch_width(const Config *c)
{
    return 3 * c->d_model > c->n_inner ? 3 * c->d_model : c->n_inner;
}

static size_t thread_floats(const Config *c, int T)
{
    (void)c;
    return (size_t)T;
}

static void layernorm_rows(float *out, const float *x, const float *w, const float *b, int R, int C, float eps)
{
    #pragma omp parallel for schedule(static)
    for (int t = 0; t < R; t++) kern_layernorm(out + (size_t)t * C, x + (size_t)t * C, w, b, C, eps);
}

static void add_rows(float *x, const float *d, size_t n)
{
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) x[i] += d[i];
}

/* The rest of the layer once attention is done, on R rows: the dense
 * projection, the MLP and the residual (either form); xn, h, o scratch;
 * with the runs' attn and mlp hooks. */
static void attn_out_mlp(const Config *c, const NeoxLayer *w, float *x, const float *att, float *xn, float *h,
                         float *o, int R, const RowRun *runs, int nruns)
{
    int C = c->d_model, I = c->n_inner;
    kern_linear(o, C, att, C, w->dense_w, w->dense_b, R, C, C);
    rows_hook(runs, nruns, R, HOOK_ATTN, o, C, C);
    if (c->parallel_residual) {
        // mlp_output = mlp(post_attention_layernorm(hidden_states)); x = mlp_output + attn_output + x
        layernorm_rows(xn, x, w->ln2_w, w->ln2_b, R, C, c->norm_eps);
        add_rows(x, o, (size_t)R * C);
    } else {
        // attn_output = attn_output + x; mlp_output = mlp(post_attention_layernorm(attn_output))
        add_rows(x, o, (size_t)R * C);
        layernorm_rows(xn, x, w->ln2_w, w->ln2_b, R, C, c->norm_eps);
    }
    // dense_4h_to_h(gelu(dense_h_to_4h(.)))
    kern_linear(h, I, xn, C, w->fc_w, w->fc_b, R, C, I);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)R * I; i++) h[i] = kern_gelu(h[i]);
    kern_linear(o, C, h, I, w->proj_w, w->proj_b, R, I, C);
    rows_hook(runs, nruns, R, HOOK_MLP, o, C, C);
    add_rows(x, o, (size_t)R * C);
}

static void layer(const Model *m, int l, float *x, const Seqs *sq, const KernKnock *ko, Scratch *s, LayerRec *rec,
                  const HookList *hk)
{
    RowRun whole = {.hooks = hk}; /* hook positions are the rows of the batch */
    const Config *c = &m->cfg;
    const NeoxLayer *w = layer_w(m, l);
    RopeAttn a = attn_layout(m);
    int C = c->d_model, T = sq->start[sq->n];
    float *xn = s->a;   /* (T, C) */
    float *qkv = s->b;  /* (T, 3C); the MLP's hidden rows once attention is done */
    float *att = s->c;  /* (T, C) heads side by side */

    // attention(input_layernorm(x))
    layernorm_rows(xn, x, w->ln1_w, w->ln1_b, T, C, c->norm_eps);
    kern_linear(qkv, 3 * C, xn, C, w->qkv_w, w->qkv_b, T, C, 3 * C);
    rope_attn_prompt(&a, att, qkv, sq, ko, rec ? rec->kv : NULL, s);
    attn_out_mlp(c, w, x, att, xn, qkv, s->d, T, &whole, 1);
}

static void final_norm(const Model *m, float *out, const float *x)
{
    kern_layernorm(out, x, m->norm_f, m->norm_f_b, m->cfg.d_model, m->cfg.norm_eps);
}

static double layer_flops(const Config *c, int T)
{
    double C = c->d_model, I = c->n_inner;
    return 2.0 * T * (3 * C * C + C * C + 2 * C * I) + rope_attn_flops(c, T);
}

// ---------------------------------------------------------------------------
// The executor's recomputation

static void rows(const Model *m, int l, float *X, int R, const RowRun *runs, int nruns, const LayerRec *rec, int T,
                 Scratch *s)
{
    const Config *c = &m->cfg;
    const NeoxLayer *w = layer_w(m, l);
    RopeAttn a = attn_layout(m);
    int C = c->d_model;
    float *xn = s->a, *qkv = s->b, *att = s->c;

    layernorm_rows(xn, X, w->ln1_w, w->ln1_b, R, C, c->norm_eps);
    kern_linear(qkv, 3 * C, xn, C, w->qkv_w, w->qkv_b, R, C, 3 * C);
    rope_attn_rows(&a, att, qkv, runs, nruns, rec->kv, T, s);
    attn_out_mlp(c, w, X, att, xn, qkv, s->d, R, runs, nruns);
}

static void print_config(const Config *c, FILE *f)
{
    fprintf(f, "n_head: %d\nhead_dim: %d\nintermediate_size: %d\nrotary_dims: %d\nrope_theta: %g\n", c->n_head,
            c->head_dim, c->n_inner, c->rope_dims, c->rope_theta);
    rope_attn_print_scaling(c, f);
    fprintf(f, "parallel_residual: %s\nattention_bias: %s\n", c->parallel_residual ? "true" : "false",
            c->attn_bias ? "true" : "false");
}

const ArchOps arch_neox = {
    .arch = ARCH_NEOX,
    .name = "gpt_neox",
    .description = "GPT-NeoX (GPTNeoXForCausalLM)",
    .layer_prefix = "gpt_neox.layers.",
    .bind = bind,
    .derived_floats = rope_attn_freq_floats,
    .derive = rope_attn_derive,
    .scratch_width = scratch_width,
    .thread_floats = thread_floats,
    .layer = layer,
    .final_norm = final_norm,
    .layer_flops = layer_flops,
    .record_fields = rope_attn_record_fields,
    .rows = rows,
    .print_config = print_config,
    .hooks = ARCH_ATTN_HOOKS,
    .hook_width = arch_attn_hook_width,
};
