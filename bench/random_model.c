/* random_model.c: see random_model.h.  Weights are small Gaussians-ish
 * (uniform, std 0.02) with norms at 1 and Mamba's usual A and dt
 * initialisation, so activations stay finite through all layers. */
#include "random_model.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"
#include "model_gpt2.h"
#include "model_llama.h"
#include "model_mamba1.h"
#include "model_mamba2.h"

typedef struct { float **blocks; int n, cap; unsigned long long s; } Alloc;

static float *block(Alloc *a, size_t n)
{
    if (a->n == a->cap) a->blocks = kop_xrealloc(a->blocks, sizeof(float *) * (size_t)(a->cap = a->cap ? 2 * a->cap : 64));
    return a->blocks[a->n++] = kop_xmalloc(n * sizeof(float));
}

static float urand(Alloc *a)
{
    a->s ^= a->s << 13; a->s ^= a->s >> 7; a->s ^= a->s << 17;
    return (float)((a->s >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

static const float *rnd(Alloc *a, size_t n, float std)
{
    float *p = block(a, n);
    for (size_t i = 0; i < n; i++) p[i] = urand(a) * std * 1.7320508f;
    return p;
}

/* a weight matrix: fp32, as a checkpoint stored in F32 gives it */
static KernMat rndm(Alloc *a, size_t n, float std)
{
    return kern_mat_f32(rnd(a, n, std));
}

static const float *cst(Alloc *a, size_t n, float v)
{
    float *p = block(a, n);
    for (size_t i = 0; i < n; i++) p[i] = v;
    return p;
}

int random_model(Model *m, const char *shape, unsigned seed)
{
    memset(m, 0, sizeof *m);
    Config *c = &m->cfg;
    c->norm_eps = 1e-5f;
    c->tie_embeddings = 1;
    if (!strcmp(shape, "mamba-130m")) {
        *c = (Config){.arch = ARCH_MAMBA1, .d_model = 768, .n_layer = 24, .vocab_size = 50280, .norm_eps = 1e-5f,
                      .tie_embeddings = 1, .d_inner = 1536, .d_state = 16, .d_conv = 4, .conv_bias = 1, .dt_rank = 48};
    } else if (!strcmp(shape, "mamba2-130m")) {
        *c = (Config){.arch = ARCH_MAMBA2, .d_model = 768, .n_layer = 24, .vocab_size = 50288, .norm_eps = 1e-5f,
                      .tie_embeddings = 1, .d_inner = 1536, .d_state = 128, .d_conv = 4, .conv_bias = 1,
                      .n_heads = 24, .head_dim = 64, .n_groups = 1, .chunk_size = 256,
                      .dt_limit_lo = 0.0f, .dt_limit_hi = INFINITY};
    } else if (!strcmp(shape, "gpt2") || !strcmp(shape, "gpt2-medium")) {
        int med = !strcmp(shape, "gpt2-medium");
        *c = (Config){.arch = ARCH_GPT2, .d_model = med ? 1024 : 768, .n_layer = med ? 24 : 12, .vocab_size = 50257,
                      .norm_eps = 1e-5f, .tie_embeddings = 1, .n_head = med ? 16 : 12, .n_ctx = 1024,
                      .n_inner = med ? 4096 : 3072};
    } else if (!strcmp(shape, "llama-3.2-1b")) {
        /* meta-llama/Llama-3.2-1B's config.json */
        *c = (Config){.arch = ARCH_LLAMA, .d_model = 2048, .n_layer = 16, .vocab_size = 128256, .norm_eps = 1e-5f,
                      .tie_embeddings = 1, .n_head = 32, .n_kv_head = 8, .head_dim = 64, .rope_dims = 64,
                      .n_inner = 8192, .rope_theta = 500000.0f, .rope_factor = 32.0f, .rope_low_freq = 1.0f,
                      .rope_high_freq = 4.0f, .rope_orig_ctx = 8192.0f};
    } else {
        return -1;
    }
    Alloc *a = kop_xcalloc(1, sizeof *a);
    a->s = 0x9E3779B97F4A7C15ull ^ seed;
    m->priv = a;
    m->dir = kop_xstrdup(shape);
    snprintf(m->weight_dtype, sizeof m->weight_dtype, "F32");
    int C = c->d_model, L = c->n_layer, V = c->vocab_size;
    m->embed = rndm(a, (size_t)V * C, 0.02f);
    m->lm_head = m->embed;
    m->norm_f = cst(a, C, 1.0f);
    if (c->arch == ARCH_MAMBA1) {
        int di = c->d_inner, N = c->d_state, R = c->dt_rank;
        Mamba1Layer *ls = kop_xcalloc((size_t)L, sizeof *ls);
        m->layers = ls;
        for (int l = 0; l < L; l++) {
            Mamba1Layer *w = &ls[l];
            w->norm = cst(a, C, 1.0f);
            w->in_proj = rndm(a, (size_t)2 * di * C, 0.02f);
            w->conv_w = rnd(a, (size_t)di * c->d_conv, 0.3f);
            w->conv_b = rnd(a, di, 0.02f);
            w->x_proj = rndm(a, (size_t)(R + 2 * N) * di, 0.02f);
            w->dt_proj_w = rndm(a, (size_t)di * R, 0.1f);
            float *b = block(a, di), *Al = block(a, (size_t)di * N);
            for (int e = 0; e < di; e++) {
                float dt = expf(logf(0.001f) + (urand(a) + 1) / 2 * (logf(0.1f) - logf(0.001f)));
                b[e] = dt + logf(-expm1f(-dt)); /* inverse softplus */
                for (int n = 0; n < N; n++) Al[(size_t)e * N + n] = logf((float)(n + 1));
            }
            w->dt_proj_b = b;
            w->A_log = Al;
            w->D = cst(a, di, 1.0f);
            w->out_proj = rndm(a, (size_t)C * di, 0.02f / sqrtf(2.0f * L));
        }
    } else if (c->arch == ARCH_MAMBA2) {
        int di = c->d_inner, N = c->d_state, G = c->n_groups, H = c->n_heads, conv = di + 2 * G * N;
        Mamba2Layer *ls = kop_xcalloc((size_t)L, sizeof *ls);
        m->layers = ls;
        for (int l = 0; l < L; l++) {
            Mamba2Layer *w = &ls[l];
            w->norm = cst(a, C, 1.0f);
            w->in_proj = rndm(a, (size_t)(2 * di + 2 * G * N + H) * C, 0.02f);
            w->conv_w = rnd(a, (size_t)conv * c->d_conv, 0.3f);
            w->conv_b = rnd(a, conv, 0.02f);
            float *b = block(a, H), *Al = block(a, H);
            for (int h = 0; h < H; h++) {
                float dt = expf(logf(0.001f) + (urand(a) + 1) / 2 * (logf(0.1f) - logf(0.001f)));
                b[h] = dt + logf(-expm1f(-dt));
                Al[h] = logf(1.0f + 15.0f * (urand(a) + 1) / 2);
            }
            w->dt_bias = b;
            w->A_log = Al;
            w->D = cst(a, H, 1.0f);
            w->gnorm = cst(a, di, 1.0f);
            w->out_proj = rndm(a, (size_t)C * di, 0.02f / sqrtf(2.0f * L));
        }
    } else if (c->arch == ARCH_LLAMA) {
        int I = c->n_inner, Q = c->n_head * c->head_dim, KV = c->n_kv_head * c->head_dim;
        LlamaLayer *ls = kop_xcalloc((size_t)L, sizeof *ls);
        m->layers = ls;
        for (int l = 0; l < L; l++) {
            LlamaLayer *w = &ls[l];
            w->attn_norm = w->mlp_norm = cst(a, C, 1.0f);
            w->wq = rndm(a, (size_t)Q * C, 0.02f);
            w->wk = rndm(a, (size_t)KV * C, 0.02f);
            w->wv = rndm(a, (size_t)KV * C, 0.02f);
            w->wo = rndm(a, (size_t)C * Q, 0.02f / sqrtf(2.0f * L));
            w->w_gate = rndm(a, (size_t)I * C, 0.02f);
            w->w_up = rndm(a, (size_t)I * C, 0.02f);
            w->w_down = rndm(a, (size_t)C * I, 0.02f / sqrtf(2.0f * L));
        }
    } else {
        int I = c->n_inner;
        m->pos_embed = rnd(a, (size_t)c->n_ctx * C, 0.01f);
        m->norm_f_b = cst(a, C, 0.0f);
        Gpt2Layer *ls = kop_xcalloc((size_t)L, sizeof *ls);
        m->layers = ls;
        for (int l = 0; l < L; l++) {
            Gpt2Layer *w = &ls[l];
            w->ln1_w = w->ln2_w = cst(a, C, 1.0f);
            w->ln1_b = w->ln2_b = cst(a, C, 0.0f);
            w->attn_w = rndm(a, (size_t)C * 3 * C, 0.02f);
            w->attn_b = cst(a, 3 * C, 0.0f);
            w->attn_proj_w = rndm(a, (size_t)C * C, 0.02f / sqrtf(2.0f * L));
            w->attn_proj_b = cst(a, C, 0.0f);
            w->fc_w = rndm(a, (size_t)C * I, 0.02f);
            w->fc_b = cst(a, I, 0.0f);
            w->fc_proj_w = rndm(a, (size_t)I * C, 0.02f / sqrtf(2.0f * L));
            w->fc_proj_b = cst(a, C, 0.0f);
        }
    }
    model_derive(m);
    return 0;
}

void random_model_free(Model *m)
{
    Alloc *a = m->priv;
    if (a) {
        for (int i = 0; i < a->n; i++) free(a->blocks[i]);
        free(a->blocks);
        free(a);
    }
    model_release(m);
}

int bench_parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        while (*s && *s != ',') s++;
        if (*s == ',') s++;
    }
    return n;
}

void bench_set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    kern_set_blas_threads(n);
}

double bench_sgemm_gflops(int threads)
{
    int n = 1024;
    size_t bytes = sizeof(float) * (size_t)n * n;
    /* kop_xmalloc, as the model's buffers: aligned like them */
    float *A = memset(kop_xmalloc(bytes), 0, bytes), *B = memset(kop_xmalloc(bytes), 0, bytes);
    float *C = memset(kop_xmalloc(bytes), 0, bytes);
    bench_set_threads(threads);
    kern_sgemm(0, 0, n, n, n, A, n, B, n, 0.0f, C, n); /* warm-up */
    int reps = 0;
    double t0 = kop_now(), t;
    do {
        kern_sgemm(0, 0, n, n, n, A, n, B, n, 0.0f, C, n);
        reps++;
    } while ((t = kop_now() - t0) < 1.0);
    free(A); free(B); free(C);
    return 2.0 * n * n * (double)n * reps / t / 1e9;
}

void bench_sweep_statements(FILE *f, int features)
{
    const char *groups[] = {"subject", "relation", "last", "first"};
    for (int i = 0; i < 4; i++) fprintf(f, "block %s -> last in layers[k-4..k+4]\n", groups[i]);
    if (features)
        fprintf(f, "block subject -> last in layers[k-4..k+4] features ctx_dep\n"
                   "block subject -> last in layers[k-4..k+4] features ctx_indep\n");
    fprintf(f, "measure prob_change\n");
}
