/* checkpoint_shapes.c: see checkpoint_shapes.h.  The config.json texts follow
 * the hub's files key by key (state-spaces/mamba-2.8b-hf, tiiuae/falcon-mamba-7b,
 * openai-community/gpt2-xl; for Mamba-2, what transformers' Mamba2Config
 * writes for state-spaces/mamba2-2.7b's dimensions). */
#include "checkpoint_shapes.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const CkptShape shapes[] = {
    /* name              family              C     L   V      di    N    R    H   P   G  nh  ctx  version */
    {"mamba-130m",       CKPT_MAMBA,         768,  24, 50280, 1536, 16,  48,  0,  0,  0, 0,  0,    "4.39.0.dev0"},
    {"mamba-2.8b",       CKPT_MAMBA,         2560, 64, 50280, 5120, 16,  160, 0,  0,  0, 0,  0,    "4.39.0.dev0"},
    {"falcon-mamba-7b",  CKPT_FALCON_MAMBA,  4096, 64, 65024, 8192, 16,  256, 0,  0,  0, 0,  0,    "4.43.0.dev0"},
    {"mamba2-130m",      CKPT_MAMBA2,        768,  24, 50288, 1536, 128, 0,   24, 64, 1, 0,  0,    "4.44.0.dev0"},
    {"mamba2-2.7b",      CKPT_MAMBA2,        2560, 64, 50288, 5120, 128, 0,   80, 64, 1, 0,  0,    "4.44.0.dev0"},
    {"gpt2",             CKPT_GPT2,          768,  12, 50257, 0,    0,   0,   0,  0,  0, 12, 1024, "4.26.0.dev0"},
    {"gpt2-medium",      CKPT_GPT2,          1024, 24, 50257, 0,    0,   0,   0,  0,  0, 16, 1024, "4.26.0.dev0"},
    {"gpt2-xl",          CKPT_GPT2,          1600, 48, 50257, 0,    0,   0,   0,  0,  0, 25, 1024, "4.26.0.dev0"},
    /* for tests: every tensor of the family, a few kilobytes each */
    {"mamba-tiny",        CKPT_MAMBA,        64,   3,  512,   128,  8,   4,   0,  0,  0, 0,  0,    "4.39.0.dev0"},
    {"falcon-mamba-tiny", CKPT_FALCON_MAMBA, 64,   3,  512,   128,  8,   4,   0,  0,  0, 0,  0,    "4.43.0.dev0"},
    {"mamba2-tiny",       CKPT_MAMBA2,       64,   3,  512,   128,  16,  0,   4,  32, 1, 0,  0,    "4.44.0.dev0"},
    {"gpt2-tiny",         CKPT_GPT2,         64,   3,  512,   0,    0,   0,   0,  0,  0, 4,  64,   "4.26.0.dev0"},
};

const CkptShape *ckpt_shape(const char *name)
{
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        if (!strcmp(shapes[i].name, name)) return &shapes[i];
    return NULL;
}

const char *ckpt_shape_names(void)
{
    static char buf[512];
    size_t k = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes && k < sizeof buf; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? ", " : "", shapes[i].name);
    return buf;
}

// ---------------------------------------------------------------------------
// config.json

static void write_mamba(FILE *f, const CkptShape *s, int L, const char *dt)
{
    int falcon = s->family == CKPT_FALCON_MAMBA;
    fprintf(f, "{\n  \"architectures\": [\n    \"%s\"\n  ],\n", falcon ? "FalconMambaForCausalLM" : "MambaForCausalLM");
    fprintf(f, "  \"bos_token_id\": 0,\n  \"conv_kernel\": 4,\n  \"eos_token_id\": %d,\n", falcon ? 11 : 0);
    /* falcon-mamba-7b says expand 16 beside intermediate_size 8192 = 2 * 4096 */
    fprintf(f, "  \"expand\": %d,\n", falcon ? 16 : 2);
    if (!falcon) fprintf(f, "  \"fused_add_norm\": true,\n");
    fprintf(f, "  \"hidden_act\": \"silu\",\n  \"hidden_size\": %d,\n  \"initializer_range\": 0.1,\n"
               "  \"intermediate_size\": %d,\n  \"layer_norm_epsilon\": 1e-05,\n",
            s->d_model, s->d_inner);
    if (falcon) fprintf(f, "  \"mixer_rms_eps\": 1e-06,\n");
    fprintf(f, "  \"model_type\": \"%s\",\n", falcon ? "falcon_mamba" : "mamba");
    if (!falcon) fprintf(f, "  \"n_layer\": %d,\n", L);
    fprintf(f, "  \"num_hidden_layers\": %d,\n  \"pad_token_id\": %d,\n", L, falcon ? 11 : 0);
    if (!falcon) fprintf(f, "  \"pad_vocab_size_multiple\": 8,\n");
    fprintf(f, "  \"rescale_prenorm_residual\": false,\n  \"residual_in_fp32\": true,\n");
    if (!falcon) fprintf(f, "  \"rms_norm\": true,\n");
    fprintf(f, "  \"state_size\": %d,\n", s->d_state);
    if (falcon) fprintf(f, "  \"tie_word_embeddings\": false,\n");
    fprintf(f, "  \"time_step_floor\": 0.0001,\n  \"time_step_init_scheme\": \"random\",\n  \"time_step_max\": 0.1,\n"
               "  \"time_step_min\": 0.001,\n  \"time_step_rank\": %d,\n  \"time_step_scale\": 1.0,\n"
               "  \"torch_dtype\": \"%s\",\n  \"transformers_version\": \"%s\",\n  \"use_bias\": false,\n",
            s->dt_rank, dt, s->version);
    if (falcon) fprintf(f, "  \"use_mambapy\": false,\n");
    fprintf(f, "  \"use_cache\": true,\n  \"use_conv_bias\": true,\n  \"vocab_size\": %d\n}\n", s->vocab);
}

static void write_mamba2(FILE *f, const CkptShape *s, int L, const char *dt)
{
    fprintf(f, "{\n  \"architectures\": [\n    \"Mamba2ForCausalLM\"\n  ],\n  \"bos_token_id\": 0,\n"
               "  \"chunk_size\": 256,\n  \"conv_kernel\": 4,\n  \"eos_token_id\": 0,\n  \"expand\": 2,\n"
               "  \"head_dim\": %d,\n  \"hidden_act\": \"silu\",\n  \"hidden_size\": %d,\n"
               "  \"initializer_range\": 0.1,\n  \"layer_norm_epsilon\": 1e-05,\n  \"model_type\": \"mamba2\",\n"
               "  \"n_groups\": %d,\n  \"norm_before_gate\": false,\n  \"num_heads\": %d,\n"
               "  \"num_hidden_layers\": %d,\n  \"pad_token_id\": 0,\n  \"rescale_prenorm_residual\": false,\n"
               "  \"residual_in_fp32\": true,\n  \"rms_norm\": true,\n  \"state_size\": %d,\n"
               "  \"tie_word_embeddings\": true,\n  \"time_step_floor\": 0.0001,\n"
               "  \"time_step_limit\": [\n    0.0,\n    Infinity\n  ],\n  \"time_step_max\": 0.1,\n"
               "  \"time_step_min\": 0.001,\n  \"time_step_rank\": %d,\n  \"torch_dtype\": \"%s\",\n"
               "  \"transformers_version\": \"%s\",\n  \"use_bias\": false,\n  \"use_cache\": true,\n"
               "  \"use_conv_bias\": true,\n  \"vocab_size\": %d\n}\n",
            s->head_dim, s->d_model, s->n_groups, s->n_heads, L, s->d_state, (s->d_model + 15) / 16, dt, s->version,
            s->vocab);
}

static void write_gpt2(FILE *f, const CkptShape *s, int L, const char *dt)
{
    fprintf(f, "{\n  \"activation_function\": \"gelu_new\",\n  \"architectures\": [\n    \"GPT2LMHeadModel\"\n  ],\n"
               "  \"attn_pdrop\": 0.1,\n  \"bos_token_id\": 50256,\n  \"embd_pdrop\": 0.1,\n  \"eos_token_id\": 50256,\n"
               "  \"initializer_range\": 0.02,\n  \"layer_norm_epsilon\": 1e-05,\n  \"model_type\": \"gpt2\",\n"
               "  \"n_ctx\": %d,\n  \"n_embd\": %d,\n  \"n_head\": %d,\n  \"n_layer\": %d,\n  \"n_positions\": %d,\n"
               "  \"output_past\": true,\n  \"resid_pdrop\": 0.1,\n  \"summary_activation\": null,\n"
               "  \"summary_first_dropout\": 0.1,\n  \"summary_proj_to_labels\": true,\n"
               "  \"summary_type\": \"cls_index\",\n  \"summary_use_proj\": true,\n"
               "  \"task_specific_params\": {\n    \"text-generation\": {\n      \"do_sample\": true,\n"
               "      \"max_length\": 50\n    }\n  },\n  \"torch_dtype\": \"%s\",\n"
               "  \"transformers_version\": \"%s\",\n  \"vocab_size\": %d\n}\n",
            s->n_ctx, s->d_model, s->n_head, L, s->n_ctx, dt, s->version, s->vocab);
}

void ckpt_write_config(FILE *f, const CkptShape *s, int n_layer, const char *torch_dtype)
{
    if (s->family == CKPT_MAMBA2) write_mamba2(f, s, n_layer, torch_dtype);
    else if (s->family == CKPT_GPT2) write_gpt2(f, s, n_layer, torch_dtype);
    else write_mamba(f, s, n_layer, torch_dtype);
}

// ---------------------------------------------------------------------------
// Tensors

typedef struct { CkptTensor *v; int n, cap; } List;

static void add(List *l, CkptInit init, float value, int ndim, const int64_t *shape, const char *fmt, ...)
    KOP_PRINTF(6, 7);

static void add(List *l, CkptInit init, float value, int ndim, const int64_t *shape, const char *fmt, ...)
{
    if (l->n == l->cap) l->v = kop_xrealloc(l->v, sizeof *l->v * (size_t)(l->cap = l->cap ? 2 * l->cap : 64));
    CkptTensor *t = &l->v[l->n++];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof *shape * (size_t)ndim);
    t->init = init;
    t->value = value;
}

#define D1(a) 1, (const int64_t[]){(a)}
#define D2(a, b) 2, (const int64_t[]){(a), (b)}
#define D3(a, b, c) 3, (const int64_t[]){(a), (b), (c)}

/* MambaForCausalLM / FalconMambaForCausalLM: a block's norm, then its mixer's
 * own parameters (A_log, D) before its submodules'. */
static void mamba1_tensors(List *l, const CkptShape *s, int L)
{
    int64_t C = s->d_model, di = s->d_inner, N = s->d_state, R = s->dt_rank, V = s->vocab;
    float out_std = 0.02f / sqrtf(2.0f * (float)L);
    add(l, INIT_UNIFORM, 0.02f, D2(V, C), "backbone.embeddings.weight");
    for (int i = 0; i < L; i++) {
        const char *p = "backbone.layers";
        add(l, INIT_CONST, 1.0f, D1(C), "%s.%d.norm.weight", p, i);
        add(l, INIT_A_LOG_S, (float)N, D2(di, N), "%s.%d.mixer.A_log", p, i);
        add(l, INIT_CONST, 1.0f, D1(di), "%s.%d.mixer.D", p, i);
        add(l, INIT_UNIFORM, 0.3f, D3(di, 1, 4), "%s.%d.mixer.conv1d.weight", p, i);
        add(l, INIT_UNIFORM, 0.02f, D1(di), "%s.%d.mixer.conv1d.bias", p, i);
        add(l, INIT_UNIFORM, 0.02f, D2(2 * di, C), "%s.%d.mixer.in_proj.weight", p, i);
        add(l, INIT_UNIFORM, 0.02f, D2(R + 2 * N, di), "%s.%d.mixer.x_proj.weight", p, i);
        add(l, INIT_UNIFORM, 0.1f, D2(di, R), "%s.%d.mixer.dt_proj.weight", p, i);
        add(l, INIT_DT_BIAS, 0.0f, D1(di), "%s.%d.mixer.dt_proj.bias", p, i);
        add(l, INIT_UNIFORM, out_std, D2(C, di), "%s.%d.mixer.out_proj.weight", p, i);
    }
    add(l, INIT_CONST, 1.0f, D1(C), "backbone.norm_f.weight");
    /* tied (absent) in Mamba; Falcon-Mamba stores its own head */
    if (s->family == CKPT_FALCON_MAMBA) add(l, INIT_UNIFORM, 0.02f, D2(V, C), "lm_head.weight");
}

/* Mamba2ForCausalLM: the mixer's dt_bias, A_log and D, then conv1d, in_proj,
 * the gated norm and out_proj; the head tied to the embedding (absent). */
static void mamba2_tensors(List *l, const CkptShape *s, int L)
{
    int64_t C = s->d_model, H = s->n_heads, di = H * s->head_dim, GN = (int64_t)s->n_groups * s->d_state;
    int64_t V = s->vocab, conv = di + 2 * GN;
    float out_std = 0.02f / sqrtf(2.0f * (float)L);
    add(l, INIT_UNIFORM, 0.02f, D2(V, C), "backbone.embeddings.weight");
    for (int i = 0; i < L; i++) {
        const char *p = "backbone.layers";
        add(l, INIT_CONST, 1.0f, D1(C), "%s.%d.norm.weight", p, i);
        add(l, INIT_DT_BIAS, 0.0f, D1(H), "%s.%d.mixer.dt_bias", p, i);
        add(l, INIT_A_LOG_H, 0.0f, D1(H), "%s.%d.mixer.A_log", p, i);
        add(l, INIT_CONST, 1.0f, D1(H), "%s.%d.mixer.D", p, i);
        add(l, INIT_UNIFORM, 0.3f, D3(conv, 1, 4), "%s.%d.mixer.conv1d.weight", p, i);
        add(l, INIT_UNIFORM, 0.02f, D1(conv), "%s.%d.mixer.conv1d.bias", p, i);
        add(l, INIT_UNIFORM, 0.02f, D2(2 * di + 2 * GN + H, C), "%s.%d.mixer.in_proj.weight", p, i);
        add(l, INIT_CONST, 1.0f, D1(di), "%s.%d.mixer.norm.weight", p, i);
        add(l, INIT_UNIFORM, out_std, D2(C, di), "%s.%d.mixer.out_proj.weight", p, i);
    }
    add(l, INIT_CONST, 1.0f, D1(C), "backbone.norm_f.weight");
}

/* GPT2LMHeadModel as the hub's model.safetensors stores it: no "transformer."
 * prefix, Conv1D weights [in, out], the head tied (absent). */
static void gpt2_tensors(List *l, const CkptShape *s, int L)
{
    int64_t C = s->d_model, I = 4 * C;
    float out_std = 0.02f / sqrtf(2.0f * (float)L);
    add(l, INIT_UNIFORM, 0.02f, D2(s->vocab, C), "wte.weight");
    add(l, INIT_UNIFORM, 0.01f, D2(s->n_ctx, C), "wpe.weight");
    for (int i = 0; i < L; i++) {
        add(l, INIT_CONST, 1.0f, D1(C), "h.%d.ln_1.weight", i);
        add(l, INIT_CONST, 0.0f, D1(C), "h.%d.ln_1.bias", i);
        add(l, INIT_UNIFORM, 0.02f, D2(C, 3 * C), "h.%d.attn.c_attn.weight", i);
        add(l, INIT_CONST, 0.0f, D1(3 * C), "h.%d.attn.c_attn.bias", i);
        add(l, INIT_UNIFORM, out_std, D2(C, C), "h.%d.attn.c_proj.weight", i);
        add(l, INIT_CONST, 0.0f, D1(C), "h.%d.attn.c_proj.bias", i);
        add(l, INIT_CONST, 1.0f, D1(C), "h.%d.ln_2.weight", i);
        add(l, INIT_CONST, 0.0f, D1(C), "h.%d.ln_2.bias", i);
        add(l, INIT_UNIFORM, 0.02f, D2(C, I), "h.%d.mlp.c_fc.weight", i);
        add(l, INIT_CONST, 0.0f, D1(I), "h.%d.mlp.c_fc.bias", i);
        add(l, INIT_UNIFORM, out_std, D2(I, C), "h.%d.mlp.c_proj.weight", i);
        add(l, INIT_CONST, 0.0f, D1(C), "h.%d.mlp.c_proj.bias", i);
    }
    add(l, INIT_CONST, 1.0f, D1(C), "ln_f.weight");
    add(l, INIT_CONST, 0.0f, D1(C), "ln_f.bias");
}

CkptTensor *ckpt_tensors(const CkptShape *s, int n_layer, int *n)
{
    List l = {0};
    if (s->family == CKPT_MAMBA2) mamba2_tensors(&l, s, n_layer);
    else if (s->family == CKPT_GPT2) gpt2_tensors(&l, s, n_layer);
    else mamba1_tensors(&l, s, n_layer);
    *n = l.n;
    return l.v;
}
