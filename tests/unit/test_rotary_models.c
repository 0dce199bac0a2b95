/* test_rotary_models.c: the rotary attention families on small random
 * checkpoints written here, for what the reference models do not cover:
 *  - Mistral's sliding window on prompts longer than the window: the
 *    executor's cached recomputation (knock.c) equals a full forward per run,
 *    the window changes the logits, and a window as long as the prompt is
 *    exactly Llama;
 *  - GPT-NeoX with use_parallel_residual false (and true), full rotary and no
 *    attention biases; the extra buffers some conversions carry are ignored;
 *  - Llama with grouped-query attention, attention and MLP biases, an untied
 *    head and llama3 rope_scaling;
 *  - the config readers' errors (options kop does not implement, named).
 * Each model's logits are checked against a definitional forward written
 * here in double from transformers' modeling code (the mask, repeat_kv,
 * rotate_half and the llama3 frequencies spelled out);
 * The cached path against the naive one follows test_knock.c: random source
 * and target sets and layer windows, 1 and 2 threads bit-identical. */
#include "safetensors_write.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "expected.h"
#include "knock.h"
#include "model_llama.h"
#include "model_neox.h"
#include "tap.h"

static const char *root;
static uint64_t rng = 0x5eed5eedull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

static int irand(int n)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (int)((rng >> 33) % (uint64_t)n);
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    (void)n;
}

// ---------------------------------------------------------------------------
// Random checkpoints

typedef struct Tensors {
    char name[64][96];
    int64_t shape[64][4];
    int ndim[64];
    const char *dtype[64];  /* "F32" (random values) or "BOOL" (ones) */
    float scale[64];        /* F32: uniform in [-scale, scale); 0 = all ones (norm weights) */
    int n;
} Tensors;

static void add(Tensors *t, float scale, int ndim, int64_t a, int64_t b, const char *fmt, ...) KOP_PRINTF(6, 7);
static void add(Tensors *t, float scale, int ndim, int64_t a, int64_t b, const char *fmt, ...)
{
    int k = t->n++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name[k], sizeof t->name[k], fmt, ap);
    va_end(ap);
    t->ndim[k] = ndim;
    t->shape[k][0] = a;
    t->shape[k][1] = b;
    t->dtype[k] = "F32";
    t->scale[k] = scale;
}

/* DIR/config.json = CONFIG and DIR/model.safetensors with the tensors of T,
 * their values drawn from SEED (the same seed, the same weights). */
static char *write_model(const char *name, const char *config, const Tensors *t, uint64_t seed)
{
    rng = seed;
    char *d = strdup(sw_path("%s/%s", root, name));
    mkdir(d, 0700);
    sw_write_text(sw_path("%s/config.json", d), config);
    size_t hcap = 1 << 16, hn = 0, dn = 0;
    char *h = malloc(hcap);
    size_t total = 0;
    for (int k = 0; k < t->n; k++) {
        size_t n = 1;
        for (int i = 0; i < t->ndim[k]; i++) n *= (size_t)t->shape[k][i];
        total += n * (strcmp(t->dtype[k], "BOOL") ? 4 : 1);
    }
    unsigned char *data = malloc(total + 1);
    hn += (size_t)snprintf(h, hcap, "{");
    for (int k = 0; k < t->n; k++) {
        size_t n = 1, es = strcmp(t->dtype[k], "BOOL") ? 4 : 1;
        for (int i = 0; i < t->ndim[k]; i++) n *= (size_t)t->shape[k][i];
        hn += (size_t)snprintf(h + hn, hcap - hn, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", k ? "," : "", t->name[k],
                               t->dtype[k]);
        for (int i = 0; i < t->ndim[k]; i++)
            hn += (size_t)snprintf(h + hn, hcap - hn, "%s%lld", i ? "," : "", (long long)t->shape[k][i]);
        hn += (size_t)snprintf(h + hn, hcap - hn, "],\"data_offsets\":[%zu,%zu]}", dn, dn + n * es);
        for (size_t i = 0; i < n; i++) {
            if (es == 1) {
                data[dn + i] = 1;
                continue;
            }
            float v = t->scale[k] > 0 ? t->scale[k] * frand() : 1.0f + 0.1f * frand();
            memcpy(data + dn + 4 * i, &v, 4);
        }
        dn += n * es;
    }
    snprintf(h + hn, hcap - hn, "}");
    sw_write_file(sw_path("%s/model.safetensors", d), h, data, dn);
    free(h);
    free(data);
    return d;
}

enum { C = 16, L = 3, V = 40, I = 24 };

/* Llama / Mistral: 4 query heads of 4 dims over 2 key/value heads. */
static void llama_tensors(Tensors *t, int bias, int untied)
{
    t->n = 0;
    add(t, 0.5f, 2, V, C, "model.embed_tokens.weight");
    for (int l = 0; l < L; l++) {
        add(t, 0, 1, C, 0, "model.layers.%d.input_layernorm.weight", l);
        add(t, 0.4f, 2, 16, C, "model.layers.%d.self_attn.q_proj.weight", l);
        add(t, 0.4f, 2, 8, C, "model.layers.%d.self_attn.k_proj.weight", l);
        add(t, 0.4f, 2, 8, C, "model.layers.%d.self_attn.v_proj.weight", l);
        add(t, 0.3f, 2, C, 16, "model.layers.%d.self_attn.o_proj.weight", l);
        add(t, 0, 1, C, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        add(t, 0.3f, 2, I, C, "model.layers.%d.mlp.gate_proj.weight", l);
        add(t, 0.3f, 2, I, C, "model.layers.%d.mlp.up_proj.weight", l);
        add(t, 0.3f, 2, C, I, "model.layers.%d.mlp.down_proj.weight", l);
        if (bias) {
            add(t, 0.1f, 1, 16, 0, "model.layers.%d.self_attn.q_proj.bias", l);
            add(t, 0.1f, 1, 8, 0, "model.layers.%d.self_attn.k_proj.bias", l);
            add(t, 0.1f, 1, 8, 0, "model.layers.%d.self_attn.v_proj.bias", l);
            add(t, 0.1f, 1, C, 0, "model.layers.%d.self_attn.o_proj.bias", l);
            add(t, 0.1f, 1, I, 0, "model.layers.%d.mlp.gate_proj.bias", l);
            add(t, 0.1f, 1, I, 0, "model.layers.%d.mlp.up_proj.bias", l);
            add(t, 0.1f, 1, C, 0, "model.layers.%d.mlp.down_proj.bias", l);
        }
    }
    add(t, 0, 1, C, 0, "model.norm.weight");
    if (untied) add(t, 0.5f, 2, V, C, "lm_head.weight");
}

/* GPT-NeoX: 4 heads of 4 dims; the buffers of older conversions. */
static void neox_tensors(Tensors *t, int bias, int buffers, int embed_out)
{
    t->n = 0;
    add(t, 0.5f, 2, V, C, "gpt_neox.embed_in.weight");
    for (int l = 0; l < L; l++) {
        add(t, 0, 1, C, 0, "gpt_neox.layers.%d.input_layernorm.weight", l);
        add(t, 0.1f, 1, C, 0, "gpt_neox.layers.%d.input_layernorm.bias", l);
        add(t, 0, 1, C, 0, "gpt_neox.layers.%d.post_attention_layernorm.weight", l);
        add(t, 0.1f, 1, C, 0, "gpt_neox.layers.%d.post_attention_layernorm.bias", l);
        add(t, 0.4f, 2, 3 * C, C, "gpt_neox.layers.%d.attention.query_key_value.weight", l);
        add(t, 0.3f, 2, C, C, "gpt_neox.layers.%d.attention.dense.weight", l);
        if (bias) {
            add(t, 0.1f, 1, 3 * C, 0, "gpt_neox.layers.%d.attention.query_key_value.bias", l);
            add(t, 0.1f, 1, C, 0, "gpt_neox.layers.%d.attention.dense.bias", l);
        }
        add(t, 0.3f, 2, I, C, "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight", l);
        add(t, 0.1f, 1, I, 0, "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias", l);
        add(t, 0.3f, 2, C, I, "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight", l);
        add(t, 0.1f, 1, C, 0, "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias", l);
        if (buffers) {
            add(t, 0.5f, 1, 2, 0, "gpt_neox.layers.%d.attention.rotary_emb.inv_freq", l);
            add(t, 0.5f, 0, 0, 0, "gpt_neox.layers.%d.attention.masked_bias", l);
            add(t, 0, 2, 64, 64, "gpt_neox.layers.%d.attention.bias", l);
            t->dtype[t->n - 1] = "BOOL";
        }
    }
    add(t, 0, 1, C, 0, "gpt_neox.final_layer_norm.weight");
    add(t, 0.1f, 1, C, 0, "gpt_neox.final_layer_norm.bias");
    if (embed_out) add(t, 0.5f, 2, V, C, "embed_out.weight");
}

static int load(Model *m, const char *d, const char *what)
{
    KopError err = {0};
    if (ok(model_load(m, d, &err) == 0, "%s: loads", what)) return 1;
    diag("  %s", err.msg);
    return 0;
}

// ---------------------------------------------------------------------------
// The cached path against the naive one

/* N random runs on a random prompt of T tokens: cached = naive within 2e-4,
 * 1 and 2 threads bit-identical; returns how far the runs move the logits. */
static double cached_equals_naive(const Model *m, const char *what, int T)
{
    enum { N = 20, TMAX = 24 };
    int ids[TMAX];
    for (int t = 0; t < T; t++) ids[t] = irand(V);
    KnockRun runs[N];
    unsigned char src[N][TMAX], dst[N][TMAX];
    for (int k = 0; k < N; k++) {
        for (int t = 0; t < T; t++) { src[k][t] = irand(3) == 0; dst[k][t] = 0; }
        int kind = k % 4; /* -> last, -> a middle token, -> a range, -> first tokens */
        if (kind == 0) dst[k][T - 1] = 1;
        if (kind == 1) dst[k][T / 2 + irand(T / 2)] = 1;
        if (kind == 2) for (int t = 2 + irand(4); t < T; t += 2) dst[k][t] = 1;
        if (kind == 3) dst[k][irand(4)] = 1;
        int lo = irand(L), hi = lo + irand(L - lo);
        runs[k] = (KnockRun){lo, hi, src[k], dst[k], NULL};
    }
    KopError err = {0};
    float *fast1 = malloc(sizeof(float) * V * N), *fast2 = malloc(sizeof(float) * V * N);
    float *slow = malloc(sizeof(float) * V * N), *clean = malloc(sizeof(float) * V);
    set_threads(1);
    PromptRun *p = prompt_run_new(m, ids, T, NULL, &err);
    prompt_run_knock(p, runs, N, fast1, &err);
    prompt_run_free(p);
    set_threads(2);
    p = prompt_run_new(m, ids, T, clean, &err);
    prompt_run_knock(p, runs, N, fast2, &err);
    prompt_run_knock_naive(p, runs, N, slow, &err);
    prompt_run_free(p);
    double d = ref_max_diff(fast2, slow, (size_t)V * N), moved = 0;
    for (int k = 0; k < N; k++) moved = fmax(moved, ref_max_diff(fast2 + (size_t)k * V, clean, V));
    ok(d < 2e-4, "%s: %d random knocked runs on %d tokens, cached recomputation = one full forward each (max diff %.3g)",
       what, N, T, d);
    ok(memcmp(fast1, fast2, sizeof(float) * V * N) == 0, "%s: cached runs bit-identical with 1 and 2 threads", what);
    ok(moved > 1e-3, "%s: the knockouts move the logits (by up to %.3g)", what, moved);
    free(fast1); free(fast2); free(slow); free(clean);
    return moved;
}

/* Logits of every position of ids[0..T). */
static float *all_logits(const Model *m, const int *ids, int T)
{
    float *out = malloc(sizeof(float) * (size_t)T * V);
    KopError err = {0};
    ForwardReq req = {.ids = ids, .T = T, .all_positions = 1, .logits = out};
    if (model_forward(m, &req, &err) < 0) diag("forward: %s", err.msg);
    return out;
}

// ---------------------------------------------------------------------------
// A definitional forward, in double, straight from transformers' modeling
// code: every position and head in plain loops, the mask written out, the
// frequencies computed from the config (not kern_rope_freqs).

/* one element of a weight matrix, whatever its stored dtype */
static double wat(KernMat W, size_t i)
{
    float v;
    kern_widen(&v, W, i, 1);
    return v;
}

static void def_linear(double *out, const double *x, KernMat W, const float *b, int N, int K)
{
    for (int n = 0; n < N; n++) {
        double s = b ? b[n] : 0.0;
        for (int k = 0; k < K; k++) s += wat(W, (size_t)n * K + k) * x[k];
        out[n] = s;
    }
}

static void def_norm(double *out, const double *x, const float *w, const float *b, int C, double eps, int rms)
{
    double mean = 0, var = 0;
    if (!rms) {
        for (int i = 0; i < C; i++) mean += x[i];
        mean /= C;
    }
    for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
    double r = 1 / sqrt(var / C + eps);
    for (int i = 0; i < C; i++) out[i] = (x[i] - mean) * r * w[i] + (b ? b[i] : 0.0);
}

/* _compute_default_rope_parameters, then _compute_llama3_parameters */
static double def_freq(const Config *c, int i)
{
    double f = pow(c->rope_theta, -2.0 * i / c->rope_dims);
    if (c->rope_factor <= 0) return f;
    double wl = 2 * M_PI / f, lo = c->rope_orig_ctx / c->rope_low_freq, hi = c->rope_orig_ctx / c->rope_high_freq;
    if (wl > lo) return f / c->rope_factor;
    if (wl < hi) return f;
    double sm = (c->rope_orig_ctx / wl - c->rope_low_freq) / (c->rope_high_freq - c->rope_low_freq);
    return (1 - sm) * f / c->rope_factor + sm * f;
}

/* q * cos + rotate_half(q) * sin on the first rope_dims dims of one head */
static void def_rope(double *x, const Config *c, int pos)
{
    int half = c->rope_dims / 2;
    double y[64];
    for (int d = 0; d < c->rope_dims; d++) {
        double a = pos * def_freq(c, d % half), rot = d < half ? -x[d + half] : x[d - half];
        y[d] = x[d] * cos(a) + rot * sin(a);
    }
    memcpy(x, y, sizeof(double) * c->rope_dims);
}

/* The last position's logits (V) of ids[0..T), T <= 24, for llama, mistral and gpt_neox. */
static void def_forward(const Model *m, const int *ids, int T, double *logits)
{
    const Config *c = &m->cfg;
    int Cd = c->d_model, NH = c->n_head, NKV = c->n_kv_head, HS = c->head_dim, In = c->n_inner;
    int neox = c->arch == ARCH_NEOX, W = c->sliding_window;
    enum { TM = 24, WM = 256 };
    static double x[TM][WM], xn[TM][WM], q[TM][WM], k[TM][WM], v[TM][WM], att[TM][WM], o[WM], h[WM], g[WM];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < Cd; i++) x[t][i] = wat(m->embed, (size_t)ids[t] * Cd + i);
    for (int l = 0; l < c->n_layer; l++) {
        const LlamaLayer *lw = neox ? NULL : &((const LlamaLayer *)m->layers)[l];
        const NeoxLayer *nw = neox ? &((const NeoxLayer *)m->layers)[l] : NULL;
        for (int t = 0; t < T; t++) {
            if (neox) {
                def_norm(xn[t], x[t], nw->ln1_w, nw->ln1_b, Cd, c->norm_eps, 0);
                double qkv[3 * WM];
                def_linear(qkv, xn[t], nw->qkv_w, nw->qkv_b, 3 * Cd, Cd);
                // qkv.view(..., NH, 3 * HS).chunk(3, dim=-1)
                for (int hh = 0; hh < NH; hh++)
                    for (int d = 0; d < HS; d++) {
                        q[t][hh * HS + d] = qkv[hh * 3 * HS + d];
                        k[t][hh * HS + d] = qkv[hh * 3 * HS + HS + d];
                        v[t][hh * HS + d] = qkv[hh * 3 * HS + 2 * HS + d];
                    }
            } else {
                def_norm(xn[t], x[t], lw->attn_norm, NULL, Cd, c->norm_eps, 1);
                def_linear(q[t], xn[t], lw->wq, lw->bq, NH * HS, Cd);
                def_linear(k[t], xn[t], lw->wk, lw->bk, NKV * HS, Cd);
                def_linear(v[t], xn[t], lw->wv, lw->bv, NKV * HS, Cd);
            }
            for (int hh = 0; hh < NH; hh++) def_rope(q[t] + hh * HS, c, t);
            for (int gg = 0; gg < NKV; gg++) def_rope(k[t] + gg * HS, c, t);
        }
        for (int t = 0; t < T; t++)
            for (int hh = 0; hh < NH; hh++) {
                int gg = hh / (NH / NKV); /* repeat_kv */
                double sc[TM], mx = -INFINITY, sum = 0;
                for (int j = 0; j <= t; j++) {
                    sc[j] = -INFINITY;
                    if (W > 0 && j <= t - W) continue; /* kv_idx > q_idx - sliding_window */
                    double s = 0;
                    for (int d = 0; d < HS; d++) s += q[t][hh * HS + d] * k[j][gg * HS + d];
                    sc[j] = s / sqrt((double)HS);
                    mx = fmax(mx, sc[j]);
                }
                for (int j = 0; j <= t; j++) sum += sc[j] == -INFINITY ? 0 : exp(sc[j] - mx);
                for (int d = 0; d < HS; d++) {
                    double a = 0;
                    for (int j = 0; j <= t; j++)
                        if (sc[j] != -INFINITY) a += exp(sc[j] - mx) / sum * v[j][gg * HS + d];
                    att[t][hh * HS + d] = a;
                }
            }
        for (int t = 0; t < T; t++) {
            if (neox) {
                def_linear(o, att[t], nw->dense_w, nw->dense_b, Cd, Cd);
                double in[WM];
                if (!c->parallel_residual)
                    for (int i = 0; i < Cd; i++) x[t][i] += o[i];
                def_norm(in, x[t], nw->ln2_w, nw->ln2_b, Cd, c->norm_eps, 0);
                def_linear(h, in, nw->fc_w, nw->fc_b, In, Cd);
                for (int i = 0; i < In; i++) h[i] = 0.5 * h[i] * (1 + erf(h[i] / sqrt(2.0)));
                def_linear(g, h, nw->proj_w, nw->proj_b, Cd, In);
                for (int i = 0; i < Cd; i++) x[t][i] += g[i] + (c->parallel_residual ? o[i] : 0);
            } else {
                def_linear(o, att[t], lw->wo, lw->bo, Cd, NH * HS);
                for (int i = 0; i < Cd; i++) x[t][i] += o[i];
                double in[WM], up[WM];
                def_norm(in, x[t], lw->mlp_norm, NULL, Cd, c->norm_eps, 1);
                def_linear(g, in, lw->w_gate, lw->b_gate, In, Cd);
                def_linear(up, in, lw->w_up, lw->b_up, In, Cd);
                for (int i = 0; i < In; i++) h[i] = g[i] / (1 + exp(-g[i])) * up[i];
                def_linear(o, h, lw->w_down, lw->b_down, Cd, In);
                for (int i = 0; i < Cd; i++) x[t][i] += o[i];
            }
        }
    }
    double fin[WM];
    def_norm(fin, x[T - 1], m->norm_f, m->norm_f_b, Cd, c->norm_eps, !neox);
    def_linear(logits, fin, m->lm_head, NULL, c->vocab_size, Cd);
}

/* The model's last-position logits against def_forward on a random prompt. */
static void matches_definition(const Model *m, const char *what, int T)
{
    int ids[24];
    for (int t = 0; t < T; t++) ids[t] = irand(V);
    double want[V];
    def_forward(m, ids, T, want);
    float got[V];
    KopError err = {0};
    ForwardReq req = {.ids = ids, .T = T, .logits = got};
    model_forward(m, &req, &err);
    double d = 0;
    for (int i = 0; i < V; i++) d = fmax(d, fabs(got[i] - want[i]));
    ok(d < 1e-4, "%s: logits of %d tokens = the definitional forward in double (max diff %.2g)", what, T, d);
}

// ---------------------------------------------------------------------------
// The families

#define LLAMA_KEYS "\"hidden_size\": 16, \"num_hidden_layers\": 3, \"num_attention_heads\": 4, " \
                   "\"num_key_value_heads\": 2, \"intermediate_size\": 24, \"vocab_size\": 40, \"rms_norm_eps\": 1e-5"

static void test_mistral_window(void)
{
    Tensors *t = calloc(1, sizeof *t);
    llama_tensors(t, 0, 0);
    char *win = write_model("mistral-w3", "{\"model_type\": \"mistral\", " LLAMA_KEYS ", \"sliding_window\": 3, "
                            "\"tie_word_embeddings\": true}", t, 11);
    /* the same weights without a window, and as Llama */
    char *nowin = write_model("mistral-none", "{\"model_type\": \"mistral\", " LLAMA_KEYS ", \"sliding_window\": null, "
                              "\"tie_word_embeddings\": true}", t, 11);
    char *llama = write_model("llama-same", "{\"model_type\": \"llama\", " LLAMA_KEYS ", \"tie_word_embeddings\": true}", t, 11);
    char *wide = write_model("mistral-w64", "{\"model_type\": \"mistral\", " LLAMA_KEYS ", \"sliding_window\": 64, "
                             "\"tie_word_embeddings\": true}", t, 11);
    Model mw, mn, ml, m64;
    if (load(&mw, win, "mistral, sliding_window 3") && load(&mn, nowin, "mistral, sliding_window null")
        && load(&ml, llama, "llama, the same weights") && load(&m64, wide, "mistral, sliding_window 64")) {
        is_int(mw.cfg.sliding_window, 3, "mistral: sliding_window read");
        is_int(mn.cfg.sliding_window, 0, "mistral: sliding_window null = no window");
        int ids[14];
        for (int t2 = 0; t2 < 14; t2++) ids[t2] = irand(V);
        float *a = all_logits(&mw, ids, 14), *b = all_logits(&mn, ids, 14), *c = all_logits(&ml, ids, 14);
        float *d = all_logits(&m64, ids, 14);
        ok(ref_max_diff(a, b, 3 * V) == 0, "mistral: the first 3 positions do not see past the window");
        ok(ref_max_diff(a + 3 * V, b + 3 * V, 11 * V) > 1e-3, "mistral: later positions do (the window changes them)");
        ok(ref_max_diff(b, c, 14 * V) == 0 && ref_max_diff(d, c, 14 * V) == 0,
           "mistral: without a window, or with one longer than the prompt, exactly Llama");
        /* a deeper check of the window: 3 layers of window 3 reach back 6
         * positions, so position 13's logits do not depend on token 0..6 */
        int ids2[14];
        memcpy(ids2, ids, sizeof ids);
        for (int t2 = 0; t2 < 7; t2++) ids2[t2] = (ids[t2] + 1) % V;
        float *e = all_logits(&mw, ids2, 14);
        ok(ref_max_diff(a + 13 * V, e + 13 * V, V) == 0 && ref_max_diff(a + 7 * V, e + 7 * V, V) > 1e-4,
           "mistral: position 13 ignores tokens 0..6 (3 layers x window 3) while position 7 sees token 5");
        free(a); free(b); free(c); free(d); free(e);
        matches_definition(&mw, "mistral window 3", 17);
        cached_equals_naive(&mw, "mistral window 3", 17);
        cached_equals_naive(&mn, "mistral no window", 9);
        model_free(&mw); model_free(&mn); model_free(&ml); model_free(&m64);
    }
    free(win); free(nowin); free(llama); free(wide); free(t);
}

static void test_llama_options(void)
{
    Tensors *t = calloc(1, sizeof *t);
    llama_tensors(t, 1, 1);
    char *d = write_model("llama-bias", "{\"model_type\": \"llama\", " LLAMA_KEYS ", \"attention_bias\": true, "
                          "\"mlp_bias\": true, \"rope_theta\": 500000.0, \"rope_scaling\": {\"rope_type\": \"llama3\", "
                          "\"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                          "\"original_max_position_embeddings\": 8}}", t, 11);
    Model m;
    if (load(&m, d, "llama with biases, an untied head and llama3 rope_scaling")) {
        ok(m.lm_head.data != m.embed.data && m.cfg.rope_factor == 32.0f && m.cfg.rope_orig_ctx == 8.0f && m.cfg.attn_bias
               && m.cfg.mlp_bias,
           "llama: untied head, biases and rope_scaling read");
        matches_definition(&m, "llama biased GQA, llama3 scaling", 13);
        cached_equals_naive(&m, "llama biased GQA", 13);
        model_free(&m);
    }
    free(d);
    /* an untied config without lm_head names the tensor */
    llama_tensors(t, 0, 0);
    d = write_model("llama-nohead", "{\"model_type\": \"llama\", " LLAMA_KEYS "}", t, 11);
    KopError err = {0};
    ok(model_load(&m, d, &err) < 0 && strstr(err.msg, "no tensor 'lm_head.weight'"),
       "llama: an untied model without lm_head.weight is an error naming it");
    free(d);
    free(t);
}

#define NEOX_KEYS "\"hidden_size\": 16, \"num_hidden_layers\": 3, \"num_attention_heads\": 4, " \
                  "\"intermediate_size\": 24, \"vocab_size\": 40"

static void test_neox(void)
{
    Tensors *t = calloc(1, sizeof *t);
    neox_tensors(t, 1, 1, 1);
    char *seq = write_model("neox-seq", "{\"model_type\": \"gpt_neox\", " NEOX_KEYS ", \"use_parallel_residual\": false, "
                            "\"rotary_pct\": 0.5}", t, 11);
    char *par = write_model("neox-par", "{\"model_type\": \"gpt_neox\", " NEOX_KEYS ", \"rotary_pct\": 0.5}", t, 11);
    Model ms, mp;
    if (load(&ms, seq, "gpt_neox, sequential residual, with inv_freq, masked_bias and bias buffers")
        && load(&mp, par, "gpt_neox, parallel residual")) {
        ok(!ms.cfg.parallel_residual && mp.cfg.parallel_residual && ms.cfg.rope_dims == 2,
           "gpt_neox: use_parallel_residual read (default true); rotary_pct 0.5 of 4 dims = 2");
        int ids[8] = {3, 1, 4, 1, 5, 9, 2, 6};
        float *a = all_logits(&ms, ids, 8), *b = all_logits(&mp, ids, 8);
        ok(ref_max_diff(a, b, 8 * V) > 1e-3, "gpt_neox: the two residual forms differ");
        free(a); free(b);
        matches_definition(&ms, "gpt_neox sequential", 11);
        matches_definition(&mp, "gpt_neox parallel", 11);
        cached_equals_naive(&ms, "gpt_neox sequential", 11);
        cached_equals_naive(&mp, "gpt_neox parallel", 11);
        model_free(&ms); model_free(&mp);
    }
    free(seq); free(par);
    /* full rotary, no attention biases, tied head absent from the file */
    neox_tensors(t, 0, 0, 0);
    char *d = write_model("neox-tied", "{\"model_type\": \"gpt_neox\", " NEOX_KEYS ", \"rotary_pct\": 1.0, "
                          "\"attention_bias\": false, \"tie_word_embeddings\": true}", t, 11);
    Model m;
    if (load(&m, d, "gpt_neox, full rotary, no attention bias, tied")) {
        ok(m.lm_head.data == m.embed.data && m.cfg.rope_dims == 4, "gpt_neox: tied head is the embedding; rotary_pct 1 = every dim");
        matches_definition(&m, "gpt_neox full rotary", 10);
        cached_equals_naive(&m, "gpt_neox full rotary", 10);
        model_free(&m);
    }
    free(d);
    d = write_model("neox-nohead", "{\"model_type\": \"gpt_neox\", " NEOX_KEYS ", \"rotary_pct\": 0.5, \"attention_bias\": false}", t, 11);
    KopError err = {0};
    ok(model_load(&m, d, &err) < 0 && strstr(err.msg, "no tensor 'embed_out.weight'"),
       "gpt_neox: an untied model without embed_out.weight is an error naming it");
    free(d);
    free(t);
}

// ---------------------------------------------------------------------------
// Config errors

static void config_error(const char *config, const char *want, const char *what)
{
    static int k;
    char *d = strdup(sw_path("%s/config%d", root, k++));
    mkdir(d, 0700);
    sw_write_text(sw_path("%s/config.json", d), config);
    Config c;
    KopError err = {0};
    int rc = config_load(&c, d, &err);
    ok(rc == -1 && err.status == KOP_EXIT_DATA && strstr(err.msg, "config.json") && strstr(err.msg, want),
       "config: rejects %s", what);
    if (rc == 0 || !strstr(err.msg, want)) diag("  message: %s", err.msg);
    free(d);
}

static Config config_ok(const char *config, const char *what)
{
    static int k;
    char *d = strdup(sw_path("%s/good%d", root, k++));
    mkdir(d, 0700);
    sw_write_text(sw_path("%s/config.json", d), config);
    Config c;
    KopError err = {0};
    if (!ok(config_load(&c, d, &err) == 0, "config: reads %s", what)) diag("  %s", err.msg);
    free(d);
    return c;
}

static void test_configs(void)
{
    config_error("{\"model_type\": \"llama\", " LLAMA_KEYS ", \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4}}",
                 "rope_scaling type 'yarn' is not supported", "a yarn rope_scaling");
    config_error("{\"model_type\": \"llama\", " LLAMA_KEYS ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}}",
                 "missing key 'low_freq_factor'", "a llama3 rope_scaling without low_freq_factor");
    config_error("{\"model_type\": \"llama\", " LLAMA_KEYS ", \"hidden_act\": \"gelu\"}", "hidden_act 'gelu'",
                 "a Llama with another activation");
    config_error("{\"model_type\": \"mistral\", \"hidden_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
                 "\"num_key_value_heads\": 3, \"vocab_size\": 40}",
                 "num_attention_heads 4 is not a multiple of num_key_value_heads 3", "heads that do not group");
    config_error("{\"model_type\": \"mistral\", " LLAMA_KEYS ", \"sliding_window\": 0}", "'sliding_window' must be",
                 "a zero sliding_window");
    config_error("{\"model_type\": \"llama\", \"hidden_size\": 16, \"num_hidden_layers\": 1, \"vocab_size\": 40}",
                 "missing key 'num_attention_heads'", "a Llama without heads");
    config_error("{\"model_type\": \"gpt_neox\", " NEOX_KEYS ", \"rotary_pct\": 0.5, \"hidden_act\": \"gelu_new\"}", "hidden_act 'gelu_new'",
                 "a GPT-NeoX with the tanh GELU");
    config_error("{\"model_type\": \"gpt_neox\", " NEOX_KEYS ", \"rotary_pct\": 0.25}", "an odd number",
                 "a rotary_pct giving odd rotary dims");
    config_error("{\"model_type\": \"gpt_neox\", \"hidden_size\": 18, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, "
                 "\"vocab_size\": 40}", "hidden_size 18 is not a multiple of num_attention_heads 4", "NeoX heads that do not divide");
    config_error("{\"model_type\": \"bert\", \"hidden_size\": 8}", "unknown model_type 'bert'", "an unknown model_type");

    /* defaults as transformers has them */
    Config c = config_ok("{\"model_type\": \"mistral\", \"hidden_size\": 64, \"num_hidden_layers\": 2, "
                         "\"num_attention_heads\": 8, \"vocab_size\": 100}", "a minimal Mistral config");
    ok(c.arch == ARCH_MISTRAL && c.n_kv_head == 8 && c.head_dim == 8 && c.n_inner == 14336 && c.sliding_window == 4096
           && c.rope_theta == 10000.0f && fabsf(c.norm_eps - 1e-6f) < 1e-12f && !c.tie_embeddings && c.rope_factor == 0,
       "mistral defaults: kv heads = heads, head_dim = hidden / heads, intermediate 14336, window 4096, eps 1e-6, untied");
    c = config_ok("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, "
                  "\"num_key_value_heads\": 2, \"head_dim\": 16, \"vocab_size\": 100, \"tie_word_embeddings\": true, "
                  "\"rope_scaling\": {\"rope_type\": \"default\"}}", "a Llama config with head_dim");
    ok(c.arch == ARCH_LLAMA && c.head_dim == 16 && c.rope_dims == 16 && c.n_inner == 11008 && c.sliding_window == 0
           && c.tie_embeddings && c.rope_factor == 0,
       "llama: head_dim given (not hidden / heads), intermediate 11008 by default, rope type default = no scaling");
    c = config_ok("{\"model_type\": \"gpt_neox\", \"hidden_size\": 64, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                  "\"vocab_size\": 100, \"rotary_emb_base\": 10000}", "a minimal GPT-NeoX config");
    ok(c.arch == ARCH_NEOX && c.head_dim == 16 && c.rope_dims == 4 && c.parallel_residual && c.attn_bias
           && !c.tie_embeddings && c.n_inner == 24576,
       "gpt_neox defaults: rotary_pct 0.25 (4 of 16 dims), parallel residual, biases, untied, intermediate 24576");
    c = config_ok("{\"model_type\": \"llama\", " LLAMA_KEYS ", \"rope_parameters\": {\"rope_type\": \"llama3\", "
                  "\"rope_theta\": 500000.0, \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                  "\"original_max_position_embeddings\": 8192}}", "a Llama config with rope_parameters");
    ok(c.rope_theta == 500000.0f && c.rope_factor == 32.0f && c.rope_orig_ctx == 8192.0f,
       "llama: rope_parameters (newer transformers) give rope_theta and the llama3 scaling");
}

int main(void)
{
    char *r = sw_tmpdir();
    root = r;
    test_mistral_window();
    test_llama_options();
    test_neox();
    test_configs();
    sw_rmtree(r);
    free(r);
    return done_testing();
}
