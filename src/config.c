/* config.c: config.json -> Config (json-c), for the architectures of
 * model.h: the Mamba families in both the Hugging Face and the original
 * mamba_ssm layouts, GPT-2, and the rotary attention families Llama,
 * Mistral and GPT-NeoX.
 *
 * Keys a real config always carries (width, depth, vocabulary) are required;
 * the others default to the value the writing library uses, so a hand-written
 * config means what it would mean to transformers or mamba_ssm.  Options that
 * change the computation in ways kop does not implement (a LayerNorm Mamba, a
 * gate applied after the norm, another GPT-2 activation) are rejected by name
 * rather than ignored (another rope_scaling type, another activation).  Every dimension is bounded so that the sizes derived
 * from it (2*d_inner, the Mamba-2 in_proj rows, 3*C) fit in an int. */
#include "model.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

/* Bound on every dimension and on every size derived from them. */
#define DIM_MAX (1 << 24)
#define REQUIRED INT_MIN

/* Read and parse the JSON file PATH (shared with model_load.c, which reads
 * model.safetensors.index.json).  A missing file is a bad model (status 1);
 * other I/O failures are status 2.  Returns a new reference or NULL. */
json_object *loadp_read_json(const char *path, KopError *err)
{
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT) {
        kop_fail(err, KOP_EXIT_DATA, "%s: no such file", path);
        return NULL;
    }
    size_t len;
    char *text = kop_read_file(path, &len, err);
    if (!text) return NULL;
    struct json_tokener *tok = json_tokener_new();
    json_object *root = json_tokener_parse_ex(tok, text, (int)(len > INT_MAX ? INT_MAX : len));
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (root && end < len && text[end] && strchr(" \t\r\n", text[end])) end++;
    if (!root || end != len) {
        /* Count lines so the message points at the place in the file. */
        size_t line = 1;
        for (size_t i = 0; i < end && i < len; i++) line += text[i] == '\n';
        kop_fail(err, KOP_EXIT_DATA, "%s:%zu: not valid JSON (%s)", path, line,
                 root ? "text after the value"
                 : jerr == json_tokener_continue ? "the file ends inside a value" : json_tokener_error_desc(jerr));
        json_object_put(root);
        root = NULL;
    }
    free(text);
    return root;
}

// ---------------------------------------------------------------------------
// Typed access to keys, each failing with a message naming file and key

typedef struct {
    const char *path;    /* DIR/config.json */
    KopError *err;
    int failed;          /* sticky: the first error is the one reported */
} Reader;

static int fail(Reader *r, const char *fmt, ...) KOP_PRINTF(2, 3);
static int fail(Reader *r, const char *fmt, ...)
{
    if (!r->failed && r->err) {
        char what[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        kop_fail(r->err, KOP_EXIT_DATA, "%s: %s", r->path, what);
    }
    r->failed = 1;
    return 0;
}

/* KEY of OBJ, or NULL when absent or null (JSON null means "use the default"). */
static json_object *key(json_object *obj, const char *k)
{
    json_object *v = NULL;
    if (!obj || !json_object_object_get_ex(obj, k, &v)) return NULL;
    return v;
}

/* A dimension: an integer in [1, DIM_MAX]; DEF when absent (REQUIRED: error). */
static int dim(Reader *r, json_object *obj, const char *k, int def)
{
    json_object *v = key(obj, k);
    if (!v) {
        if (def == REQUIRED) return fail(r, "missing key '%s'", k);
        return def;
    }
    int64_t x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
    if (x < 1 || x > DIM_MAX) return fail(r, "'%s' must be an integer in [1, %d]", k, DIM_MAX);
    return (int)x;
}

/* A size computed from other keys (a default, or d_inner), bounded like dim(). */
static int derived(Reader *r, int64_t v, const char *what)
{
    if (r->failed) return 0;
    if (v < 1 || v > DIM_MAX) return fail(r, "%s = %lld is outside [1, %d]", what, (long long)v, DIM_MAX);
    return (int)v;
}

static int flag(Reader *r, json_object *obj, const char *k, int def)
{
    json_object *v = key(obj, k);
    if (!v) return def;
    if (!json_object_is_type(v, json_type_boolean)) return fail(r, "'%s' must be true or false", k);
    return json_object_get_boolean(v);
}

static double number(Reader *r, json_object *v, const char *k)
{
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return fail(r, "'%s' must be a number", k);
    return json_object_get_double(v);
}

/* A norm's eps: a number in (0, 1); DEF when absent. */
static float eps_or(Reader *r, json_object *obj, const char *k, float def)
{
    json_object *v = key(obj, k);
    if (!v) return def;
    double x = number(r, v, k);
    if (!(x > 0 && x < 1)) fail(r, "'%s' must be a number in (0, 1)", k);
    return (float)x;
}

static float eps(Reader *r, json_object *obj, const char *k)
{
    return eps_or(r, obj, k, 1e-5f);
}

/* A finite number > 0, or DEF when absent (REQUIRED: error). */
static float positive(Reader *r, json_object *obj, const char *k, double def)
{
    json_object *v = key(obj, k);
    if (!v) {
        if (def == REQUIRED) return fail(r, "missing key '%s'", k);
        return (float)def;
    }
    double x = number(r, v, k);
    if (!(x > 0 && isfinite(x) && x < 1e30)) return fail(r, "'%s' must be a positive number", k);
    return (float)x;
}

/* A string key, or DEF when absent. */
static const char *string(Reader *r, json_object *obj, const char *k, const char *def)
{
    json_object *v = key(obj, k);
    if (!v) return def;
    if (!json_object_is_type(v, json_type_string)) {
        fail(r, "'%s' must be a string", k);
        return def;
    }
    return json_object_get_string(v);
}

/* Mamba-1 dt_rank: an integer or "auto" = ceil(d_model / 16). */
static int dt_rank(Reader *r, json_object *obj, const char *k, int d_model)
{
    json_object *v = key(obj, k);
    if (!v || (json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), "auto")))
        return (d_model + 15) / 16;
    if (json_object_is_type(v, json_type_string)) return fail(r, "'%s' must be an integer or \"auto\"", k);
    return dim(r, obj, k, REQUIRED);
}

/* time_step_limit / dt_limit: [lo, hi] with 0 <= lo <= hi (hi may be
 * Infinity, which json-c parses); default (0, inf). */
static void dt_limit(Reader *r, json_object *obj, const char *k, Config *c)
{
    json_object *v = key(obj, k);
    c->dt_limit_lo = 0.0f;
    c->dt_limit_hi = INFINITY;
    if (!v) return;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2) {
        fail(r, "'%s' must be a list of two numbers", k);
        return;
    }
    double lo = number(r, json_object_array_get_idx(v, 0), k);
    double hi = number(r, json_object_array_get_idx(v, 1), k);
    if (!(lo >= 0 && isfinite(lo) && hi >= lo)) fail(r, "'%s' must be [lo, hi] with 0 <= lo <= hi", k);
    c->dt_limit_lo = (float)lo;
    c->dt_limit_hi = (float)hi;
}

/* The gated RMSNorm of Mamba-2 multiplies by silu(z) before normalising in
 * both transformers and mamba_ssm's defaults; the other order is not built. */
static void require_gate_before_norm(Reader *r, json_object *obj, const char *k)
{
    if (flag(r, obj, k, 0)) fail(r, "'%s' is true; kop supports only false (the gate applied before the norm)", k);
}

// ---------------------------------------------------------------------------
// The layouts

/* Keys MambaConfig and Mamba2Config share (they differ in the tie default). */
static void mamba_hf_common(Reader *r, json_object *o, Config *c, int tie_default)
{
    c->d_model = dim(r, o, "hidden_size", REQUIRED);
    c->n_layer = dim(r, o, "num_hidden_layers", REQUIRED);
    c->vocab_size = dim(r, o, "vocab_size", REQUIRED);
    c->d_conv = dim(r, o, "conv_kernel", 4);
    c->proj_bias = flag(r, o, "use_bias", 0);
    c->conv_bias = flag(r, o, "use_conv_bias", 1);
    c->norm_eps = eps(r, o, "layer_norm_epsilon");
    c->tie_embeddings = flag(r, o, "tie_word_embeddings", tie_default);
}

/* MambaConfig, and FalconMambaConfig's keys it shares.  Both set
 * intermediate_size = expand * hidden_size and then let a stored
 * intermediate_size overwrite it, so a stored one wins over expand, and
 * expand need not agree: tiiuae/falcon-mamba-7b says expand 16 beside
 * intermediate_size 8192 = 2 * 4096, and its weights are 8192 wide.
 * Keys that steer only training or initialisation (use_mambapy,
 * rescale_prenorm_residual, time_step_scale/min/max/floor/init_scheme,
 * initializer_range) are ignored, as transformers' inference ignores them;
 * so is residual_in_fp32, since kop keeps the whole forward in fp32. */
static void mamba1_hf(Reader *r, json_object *o, Config *c)
{
    c->arch = ARCH_MAMBA1;
    mamba_hf_common(r, o, c, 1);
    c->d_state = dim(r, o, "state_size", 16);
    int expand = dim(r, o, "expand", 2);
    if (key(o, "intermediate_size")) c->d_inner = dim(r, o, "intermediate_size", REQUIRED);
    else c->d_inner = derived(r, (int64_t)expand * c->d_model, "expand * hidden_size");
    c->dt_rank = dt_rank(r, o, "time_step_rank", c->d_model);
    /* the conv's and the gate's activation (ACT2FN[hidden_act]) */
    const char *act = string(r, o, "hidden_act", "silu");
    if (strcmp(act, "silu")) fail(r, "hidden_act '%s' is not supported (kop implements silu)", act);
}

/* FalconMambaConfig: Mamba-1's keys plus mixer_rms_eps, the eps of the
 * weightless RMSNorm on dt, B and C (default 1e-6 as in transformers).
 * use_falcon_mambapy and use_associative_scan choose between equal
 * implementations of the scan and are ignored. */
static void falcon_mamba_hf(Reader *r, json_object *o, Config *c)
{
    mamba1_hf(r, o, c);
    c->arch = ARCH_FALCON_MAMBA;
    c->bcdt_norm = 1;
    c->mixer_rms_eps = eps_or(r, o, "mixer_rms_eps", 1e-6f);
}

static void mamba2_hf(Reader *r, json_object *o, Config *c)
{
    c->arch = ARCH_MAMBA2;
    mamba_hf_common(r, o, c, 0);
    c->n_heads = dim(r, o, "num_heads", 128);
    c->head_dim = dim(r, o, "head_dim", 64);
    c->d_state = dim(r, o, "state_size", 128);
    c->n_groups = dim(r, o, "n_groups", 8);
    c->chunk_size = dim(r, o, "chunk_size", 256);
    int expand = dim(r, o, "expand", 2);
    c->d_inner = derived(r, (int64_t)c->n_heads * c->head_dim, "num_heads * head_dim");
    if (!r->failed && (int64_t)c->n_heads * c->head_dim != (int64_t)expand * c->d_model)
        fail(r, "num_heads * head_dim = %lld but expand * hidden_size = %lld; they must be equal",
             (long long)c->n_heads * c->head_dim, (long long)expand * c->d_model);
    dt_limit(r, o, "time_step_limit", c);
    require_gate_before_norm(r, o, "norm_before_gate");
}

/* mamba_ssm's MambaConfig: {d_model, n_layer, vocab_size, ssm_cfg, rms_norm,
 * pad_vocab_size_multiple, tie_embeddings, ...}; Mamba() and Mamba2()
 * defaults for what ssm_cfg leaves out. */
static void mamba_ssm(Reader *r, json_object *o, Config *c)
{
    c->d_model = dim(r, o, "d_model", REQUIRED);
    c->n_layer = dim(r, o, "n_layer", REQUIRED);
    int vocab = dim(r, o, "vocab_size", REQUIRED);
    int pad = dim(r, o, "pad_vocab_size_multiple", 8);
    /* mamba_ssm rounds the embedding up to a multiple of pad. */
    c->vocab_size = r->failed ? 0 : derived(r, ((int64_t)vocab + pad - 1) / pad * pad, "the padded vocab_size");
    c->vocab_padding = r->failed ? 0 : c->vocab_size - vocab;
    c->norm_eps = eps(r, o, "norm_epsilon");
    c->tie_embeddings = flag(r, o, "tie_embeddings", 1);
    if (!flag(r, o, "rms_norm", 1)) fail(r, "'rms_norm' is false; kop supports only RMSNorm Mamba models");
    json_object *di = key(o, "d_intermediate"), *attn = key(o, "attn_layer_idx");
    if (di && (!json_object_is_type(di, json_type_int) || json_object_get_int64(di) != 0))
        fail(r, "'d_intermediate' is not 0; Mamba models with MLP blocks are not supported");
    if (attn && (!json_object_is_type(attn, json_type_array) || json_object_array_length(attn) != 0))
        fail(r, "'attn_layer_idx' is not empty; hybrid attention models are not supported");

    json_object *s = key(o, "ssm_cfg");
    if (s && !json_object_is_type(s, json_type_object)) {
        fail(r, "'ssm_cfg' must be an object");
        s = NULL;
    }
    const char *layer = string(r, s, "layer", "Mamba1");
    int expand = dim(r, s, "expand", 2);
    c->d_inner = derived(r, (int64_t)expand * c->d_model, "expand * d_model");
    c->d_conv = dim(r, s, "d_conv", 4);
    c->conv_bias = flag(r, s, "conv_bias", 1);
    c->proj_bias = flag(r, s, "bias", 0);
    if (!strcmp(layer, "Mamba1")) {
        c->arch = ARCH_MAMBA1;
        c->d_state = dim(r, s, "d_state", 16);
        c->dt_rank = dt_rank(r, s, "dt_rank", c->d_model);
    } else if (!strcmp(layer, "Mamba2")) {
        c->arch = ARCH_MAMBA2;
        c->d_state = dim(r, s, "d_state", 128);
        c->head_dim = dim(r, s, "headdim", 64);
        c->n_groups = dim(r, s, "ngroups", 1);
        c->chunk_size = dim(r, s, "chunk_size", 256);
        dt_limit(r, s, "dt_limit", c);
        require_gate_before_norm(r, s, "norm_before_gate");
        if (!flag(r, s, "rmsnorm", 1)) fail(r, "ssm_cfg 'rmsnorm' is false; kop supports only the gated RMSNorm");
        if (flag(r, s, "D_has_hdim", 0)) fail(r, "ssm_cfg 'D_has_hdim' is true; kop supports only one D per head");
        json_object *d_ssm = key(s, "d_ssm");
        if (d_ssm && (!json_object_is_type(d_ssm, json_type_int) || json_object_get_int64(d_ssm) != c->d_inner))
            fail(r, "ssm_cfg 'd_ssm' differs from expand * d_model; partial-SSM blocks are not supported");
        if (!r->failed && c->d_inner % c->head_dim)
            fail(r, "expand * d_model = %d is not a multiple of ssm_cfg headdim %d", c->d_inner, c->head_dim);
        c->n_heads = r->failed ? 1 : c->d_inner / c->head_dim;
    } else {
        fail(r, "ssm_cfg layer '%s' is not one kop reads (Mamba1, Mamba2)", layer);
    }
}

static void gpt2(Reader *r, json_object *o, Config *c)
{
    c->arch = ARCH_GPT2;
    c->d_model = dim(r, o, "n_embd", REQUIRED);
    c->n_layer = dim(r, o, "n_layer", REQUIRED);
    c->n_head = dim(r, o, "n_head", REQUIRED);
    c->vocab_size = dim(r, o, "vocab_size", REQUIRED);
    c->n_ctx = dim(r, o, "n_positions", 1024);
    c->n_inner = dim(r, o, "n_inner", derived(r, (int64_t)4 * c->d_model, "4 * n_embd"));
    c->norm_eps = eps(r, o, "layer_norm_epsilon");
    c->tie_embeddings = flag(r, o, "tie_word_embeddings", 1);
    const char *act = string(r, o, "activation_function", "gelu_new");
    if (strcmp(act, "gelu_new"))
        fail(r, "activation_function '%s' is not supported (kop implements gelu_new)", act);
    if (!flag(r, o, "scale_attn_weights", 1))
        fail(r, "'scale_attn_weights' is false; kop always scales attention by 1/sqrt(head size)");
    if (flag(r, o, "scale_attn_by_inverse_layer_idx", 0))
        fail(r, "'scale_attn_by_inverse_layer_idx' is true; kop does not implement it");
    if (!r->failed && c->d_model % c->n_head)
        fail(r, "n_embd %d is not a multiple of n_head %d", c->d_model, c->n_head);
}

/* rope_scaling (transformers 4.x) or rope_parameters (which also holds
 * rope_theta): absent, null or type "default" mean plain RoPE; "llama3"
 * (Llama-3.1/3.2) rescales the frequencies (kernels.h); other types (linear,
 * dynamic, yarn, longrope) are not implemented and rejected by name. */
static void rope_scaling(Reader *r, json_object *o, Config *c)
{
    const char *name = "rope_scaling";
    json_object *rs = key(o, name);
    if (!rs && key(o, "rope_parameters")) {
        name = "rope_parameters";
        rs = key(o, name);
        if (json_object_is_type(rs, json_type_object) && key(rs, "rope_theta"))
            c->rope_theta = positive(r, rs, "rope_theta", REQUIRED);
    }
    if (!rs) return;
    if (!json_object_is_type(rs, json_type_object)) {
        fail(r, "'%s' must be an object or null", name);
        return;
    }
    const char *type = string(r, rs, "rope_type", string(r, rs, "type", "default"));
    if (!strcmp(type, "default")) return;
    if (strcmp(type, "llama3")) {
        fail(r, "%s type '%s' is not supported (kop implements llama3 and the default)", name, type);
        return;
    }
    c->rope_factor = positive(r, rs, "factor", REQUIRED);
    c->rope_low_freq = positive(r, rs, "low_freq_factor", REQUIRED);
    c->rope_high_freq = positive(r, rs, "high_freq_factor", REQUIRED);
    c->rope_orig_ctx = positive(r, rs, "original_max_position_embeddings", REQUIRED);
    if (!r->failed && !(c->rope_high_freq > c->rope_low_freq))
        fail(r, "%s: high_freq_factor %g must be above low_freq_factor %g", name, c->rope_high_freq, c->rope_low_freq);
}

/* Mistral's sliding_window: absent means MistralConfig's 4096, null none. */
static int sliding_window(Reader *r, json_object *o)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, "sliding_window", &v)) return 4096;
    return v ? dim(r, o, "sliding_window", REQUIRED) : 0;
}

/* LlamaConfig and MistralConfig (the same model but for Mistral's sliding
 * window and its defaults; MistralAttention has no biases). */
static void llama(Reader *r, json_object *o, Config *c, int mistral)
{
    c->arch = mistral ? ARCH_MISTRAL : ARCH_LLAMA;
    c->d_model = dim(r, o, "hidden_size", REQUIRED);
    c->n_layer = dim(r, o, "num_hidden_layers", REQUIRED);
    c->n_head = dim(r, o, "num_attention_heads", REQUIRED);
    c->vocab_size = dim(r, o, "vocab_size", REQUIRED);
    if (r->failed) return;
    c->n_inner = dim(r, o, "intermediate_size", mistral ? 14336 : 11008);
    c->n_kv_head = dim(r, o, "num_key_value_heads", c->n_head);
    /* LlamaConfig: head_dim = hidden_size // num_attention_heads unless given */
    c->head_dim = dim(r, o, "head_dim", c->d_model / c->n_head > 0 ? c->d_model / c->n_head : REQUIRED);
    c->rope_dims = c->head_dim;
    c->norm_eps = eps_or(r, o, "rms_norm_eps", 1e-6f);
    c->rope_theta = positive(r, o, "rope_theta", 10000.0);
    rope_scaling(r, o, c);
    c->tie_embeddings = flag(r, o, "tie_word_embeddings", 0);
    if (mistral) c->sliding_window = sliding_window(r, o);
    else {
        c->attn_bias = flag(r, o, "attention_bias", 0);
        c->mlp_bias = flag(r, o, "mlp_bias", 0);
    }
    const char *act = string(r, o, "hidden_act", "silu");
    if (strcmp(act, "silu")) fail(r, "hidden_act '%s' is not supported (kop implements silu)", act);
    if (!r->failed && c->n_head % c->n_kv_head)
        fail(r, "num_attention_heads %d is not a multiple of num_key_value_heads %d", c->n_head, c->n_kv_head);
    if (!r->failed && c->head_dim % 2) fail(r, "head_dim %d is odd; rotary embeddings rotate pairs of dims", c->head_dim);
}

/* GPTNeoXConfig (Pythia).  rotary_pct and rotary_emb_base are the classic
 * names; later transformers call them partial_rotary_factor and rope_theta. */
static void gpt_neox(Reader *r, json_object *o, Config *c)
{
    c->arch = ARCH_NEOX;
    c->d_model = dim(r, o, "hidden_size", REQUIRED);
    c->n_layer = dim(r, o, "num_hidden_layers", REQUIRED);
    c->n_head = dim(r, o, "num_attention_heads", REQUIRED);
    c->vocab_size = dim(r, o, "vocab_size", REQUIRED);
    if (r->failed) return;
    if (c->d_model % c->n_head) {
        fail(r, "hidden_size %d is not a multiple of num_attention_heads %d", c->d_model, c->n_head);
        return;
    }
    c->n_inner = dim(r, o, "intermediate_size", 24576);
    c->n_kv_head = c->n_head;
    c->head_dim = c->d_model / c->n_head;
    const char *pct_key = !key(o, "rotary_pct") && key(o, "partial_rotary_factor") ? "partial_rotary_factor" : "rotary_pct";
    json_object *pv = key(o, pct_key);
    double pct = pv ? number(r, pv, pct_key) : 0.25;
    if (!(pct >= 0 && pct <= 1)) fail(r, "'%s' must be a number in [0, 1]", pct_key);
    // self.rotary_ndims = int(self.head_size * config.rotary_pct)
    c->rope_dims = r->failed ? 0 : (int)(c->head_dim * pct);
    if (!r->failed && c->rope_dims % 2)
        fail(r, "%s %g of head size %d gives %d rotary dims, an odd number; rotary embeddings rotate pairs",
             pct_key, pct, c->head_dim, c->rope_dims);
    const char *base_key = !key(o, "rotary_emb_base") && key(o, "rope_theta") ? "rope_theta" : "rotary_emb_base";
    c->rope_theta = positive(r, o, base_key, 10000.0);
    rope_scaling(r, o, c);
    c->norm_eps = eps_or(r, o, "layer_norm_eps", 1e-5f);
    c->parallel_residual = flag(r, o, "use_parallel_residual", 1);
    c->attn_bias = flag(r, o, "attention_bias", 1);
    c->tie_embeddings = flag(r, o, "tie_word_embeddings", 0);
    const char *act = string(r, o, "hidden_act", "gelu");
    if (strcmp(act, "gelu")) fail(r, "hidden_act '%s' is not supported (kop implements gelu, the exact erf form)", act);
}

/* Sizes the forward passes derive must fit in an int, too. */
static void check_derived(Reader *r, const Config *c)
{
    int64_t big = 0;
    const char *what = "";
    if (c->arch == ARCH_MAMBA1 || c->arch == ARCH_FALCON_MAMBA) {
        big = 2 * (int64_t)c->d_inner;
        what = "2 * d_inner";
        if ((int64_t)c->dt_rank + 2 * (int64_t)c->d_state > big) {
            big = (int64_t)c->dt_rank + 2 * (int64_t)c->d_state;
            what = "dt_rank + 2 * d_state";
        }
    } else if (c->arch == ARCH_MAMBA2) {
        big = 2 * (int64_t)c->d_inner + 2 * (int64_t)c->n_groups * c->d_state + c->n_heads;
        what = "the in_proj rows";
        if (c->n_heads % c->n_groups)
            fail(r, "the %d heads do not divide into %d groups", c->n_heads, c->n_groups);
    } else if (c->arch == ARCH_GPT2) {
        big = 3 * (int64_t)c->d_model;
        what = "3 * n_embd";
    } else {
        big = ((int64_t)c->n_head + 2 * (int64_t)c->n_kv_head) * c->head_dim;
        what = "the query, key and value widths";
        if (3 * (int64_t)c->d_model > big) big = 3 * (int64_t)c->d_model, what = "3 * hidden_size";
        if (2 * (int64_t)c->n_inner > big) big = 2 * (int64_t)c->n_inner, what = "2 * intermediate_size";
    }
    if (big > DIM_MAX) fail(r, "%s = %lld is above kop's limit of %d", what, (long long)big, DIM_MAX);
}

int config_load(Config *cfg, const char *dir, KopError *err)
{
    memset(cfg, 0, sizeof *cfg);
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno == ENOENT) return kop_fail(err, KOP_EXIT_DATA, "%s: no such model directory", dir);
        return kop_fail_errno(err, "%s: cannot read", dir);
    }
    if (!S_ISDIR(st.st_mode))
        return kop_fail(err, KOP_EXIT_DATA, "%s: not a directory (a model is a directory holding config.json)", dir);

    char *path = kop_path_join(dir, "config.json");
    Reader r = {path, err, 0};
    json_object *root = loadp_read_json(path, err);
    if (!root) r.failed = 1;
    else if (!json_object_is_type(root, json_type_object)) fail(&r, "expected a JSON object");
    else {
        json_object *mt = key(root, "model_type");
        const char *type = string(&r, root, "model_type", NULL);
        if (!mt && key(root, "d_model") && key(root, "n_layer")) mamba_ssm(&r, root, cfg);
        else if (!type) fail(&r, "no model_type (kop reads mamba, falcon_mamba, mamba2, gpt2, llama, mistral, gpt_neox and mamba_ssm configs)");
        else if (!strcmp(type, "mamba")) mamba1_hf(&r, root, cfg);
        else if (!strcmp(type, "falcon_mamba")) falcon_mamba_hf(&r, root, cfg);
        else if (!strcmp(type, "mamba2")) mamba2_hf(&r, root, cfg);
        else if (!strcmp(type, "gpt2")) gpt2(&r, root, cfg);
        else if (!strcmp(type, "llama")) llama(&r, root, cfg, 0);
        else if (!strcmp(type, "mistral")) llama(&r, root, cfg, 1);
        else if (!strcmp(type, "gpt_neox")) gpt_neox(&r, root, cfg);
        else fail(&r, "unknown model_type '%s' (kop reads mamba, falcon_mamba, mamba2, gpt2, llama, mistral, gpt_neox)", type);
        /* quantized weights (bitsandbytes, GPTQ, ...) are tensors of another
         * kind, which kop does not read; say so before the tensors do */
        if (!r.failed && key(root, "quantization_config"))
            fail(&r, "'quantization_config' is present: the weights are quantized, and kop reads only unquantized "
                     "F32, F16 and BF16 checkpoints");
        if (!r.failed) check_derived(&r, cfg);
    }
    json_object_put(root);
    free(path);
    if (r.failed) {
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    return 0;
}
