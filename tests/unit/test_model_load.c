/* test_model_load.c: model_load and config_load on the reference checkpoints
 * (values compared with bytes read independently at the header's offsets)
 * and on synthetic models written here: F16 Mamba-1, a sharded BF16 Mamba-2
 * in the mamba_ssm layout, a GPT-2 with the "transformer." prefix, and one
 * broken model per error the loader must report. */
#include "safetensors_write.h"

#include <math.h>
#include <sys/stat.h>

#include "forward.h"
#include "model.h"
#include "model_gpt2.h"
#include "model_mamba1.h"
#include "model_mamba2.h"
#include "tap.h"

/* a loaded model's layer table, as its family lays it out */
#define M1(m) ((Mamba1Layer *)(m).layers)
#define M2(m) ((Mamba2Layer *)(m).layers)
#define G2(m) ((Gpt2Layer *)(m).layers)

static const char *root;   /* the mkdtemp directory */

/* TAP "ok N # SKIP" for assertions that cannot run here. */
static void skip_one(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

/* A fresh subdirectory of root (caller frees). */
static char *new_case(const char *name)
{
    char *d = strdup(sw_path("%s/%s", root, name));
    mkdir(d, 0700);
    return d;
}

static void write_model(const char *d, const char *config, const SwList *l)
{
    if (config) sw_write_text(sw_path("%s/config.json", d), config);
    sw_write_list(sw_path("%s/model.safetensors", d), l, 0, l->n);
}

/* Every element of tensor NAME in L equals P's. */
static int values_match_mat(const SwList *l, const char *name, KernMat w)
{
    int k = sw_find(l, name);
    if (k < 0 || !w.data) return 0;
    size_t n = sw_numel(&l->t[k]);
    for (size_t i = 0; i < n; i++) {
        float v;
        kern_widen(&v, w, i, 1);
        if (v != sw_value(k, i)) return 0;
    }
    return 1;
}

static int values_match_f32(const SwList *l, const char *name, const float *p)
{
    return values_match_mat(l, name, kern_mat_f32(p));
}

/* a weight matrix (as stored) or a small tensor (fp32) */
#define values_match(l, name, p) \
    _Generic((p), KernMat: values_match_mat, default: values_match_f32)(l, name, p)

static size_t list_params(const SwList *l)
{
    size_t n = 0;
    for (int i = 0; i < l->n; i++)
        if (!l->t[i].skip && strstr(l->t[i].name, ".attn.bias") == NULL) n += sw_numel(&l->t[i]);
    return n;
}

/* model_load(D) must succeed; WHAT describes the model. */
static int load_ok(Model *m, const char *d, const char *what)
{
    KopError err = {0};
    if (ok(model_load(m, d, &err) == 0, "loads %s", what)) return 1;
    diag("  %s", err.msg);
    return 0;
}

/* model_load(D) must fail with status 1, a message containing FILE and WANT,
 * and leave the Model zeroed. */
static void expect_load_error(const char *d, const char *file, const char *want, const char *what)
{
    Model m;
    KopError err = {0};
    int rc = model_load(&m, d, &err);
    ok(rc == -1 && err.status == KOP_EXIT_DATA && strstr(err.msg, file) && strstr(err.msg, want), "rejects %s", what);
    if (rc == 0) model_free(&m);
    else if (!strstr(err.msg, want) || !strstr(err.msg, file)) diag("  message: %s", err.msg);
    ok(m.priv == NULL && m.dir == NULL && M1(m) == NULL, "  and leaves the Model freed");
}

static void expect_config_error(const char *config, const char *want, const char *what)
{
    static int k;
    char *d = new_case(sw_path("config%d", k++));
    sw_write_text(sw_path("%s/config.json", d), config);
    Config c;
    KopError err = {0};
    int rc = config_load(&c, d, &err);
    ok(rc == -1 && err.status == KOP_EXIT_DATA && strstr(err.msg, "config.json") && strstr(err.msg, want),
       "config: rejects %s", what);
    if (rc == 0 || !strstr(err.msg, want)) diag("  message: %s", err.msg);
    free(d);
}

// ---------------------------------------------------------------------------
// Reference checkpoints

/* Element I of F32 tensor NAME in PATH, found by searching the header text
 * and read with fread: independent of src/safetensors.c. */
static float ref_float(const char *path, const char *name, size_t i)
{
    FILE *f = fopen(path, "rb");
    unsigned char len[8];
    float v = NAN;
    if (!f || fread(len, 1, 8, f) != 8) goto out;
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--) hlen = hlen << 8 | len[k];
    char *h = calloc(1, hlen + 1);
    char key[256];
    snprintf(key, sizeof key, "\"%s\"", name);
    char *at = fread(h, 1, hlen, f) == hlen ? strstr(h, key) : NULL;
    at = at ? strstr(at, "\"data_offsets\"") : NULL;
    at = at ? strchr(at, '[') : NULL;
    if (at && fseek(f, (long)(8 + hlen + strtoull(at + 1, NULL, 10) + 4 * i), SEEK_SET) == 0) {
        if (fread(&v, 4, 1, f) != 1) v = NAN;
    }
    free(h);
out:
    if (f) fclose(f);
    return v;
}

/* The loaded weight P[I] is the float stored for NAME[I] in PATH. */
static void same_bytes_f32(const char *path, const char *name, const float *p, size_t i)
{
    is_float(p[i], ref_float(path, name, i), 0, "%s[%zu] is the file's float", name, i);
}

static void same_bytes_mat(const char *path, const char *name, KernMat w, size_t i)
{
    ok(w.dtype == KERN_F32, "%s is F32 in memory, as in the file", name);
    same_bytes_f32(path, name, w.data, i);
}

#define same_bytes(path, name, p, i) \
    _Generic((p), KernMat: same_bytes_mat, default: same_bytes_f32)(path, name, p, i)

static int load_reference(Model *m, const char *name)
{
    const char *shared = getenv("KOP_SHARED");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/reference/%s", shared ? shared : "", name);
    struct stat st;
    if (!shared || !*shared || stat(dir, &st) < 0) {
        skip_one(sw_path("%s absent (KOP_SHARED)", dir));
        return -1;
    }
    return load_ok(m, dir, sw_path("reference %s", name)) ? 0 : -1;
}

static void test_ref_mamba1(void)
{
    Model m;
    if (load_reference(&m, "mamba1-tiny") < 0) return;
    const Config *c = &m.cfg;
    const char *st = sw_path("%s/model.safetensors", m.dir);
    ok(c->arch == ARCH_MAMBA1 && c->d_model == 32 && c->n_layer == 3 && c->vocab_size == 64, "mamba1: 32 wide, 3 layers, vocab 64");
    ok(c->d_inner == 64 && c->d_state == 8 && c->d_conv == 4 && c->dt_rank == 4 && c->conv_bias && !c->proj_bias,
       "mamba1: d_inner 64, d_state 8, d_conv 4, dt_rank 4, conv bias only");
    is_float(c->norm_eps, 1e-5, 1e-12, "mamba1: eps 1e-5");
    ok(m.lm_head.data == m.embed.data && M1(m)[1].in_proj_b == NULL, "mamba1: head tied, no in_proj bias");
    is_int((long)m.n_params, 28096, "mamba1: 28096 parameters");
    is_str(m.weight_dtype, "F32", "mamba1: F32");
    same_bytes(st, "backbone.embeddings.weight", m.embed, 33);
    same_bytes(st, "backbone.layers.1.mixer.A_log", M1(m)[1].A_log, 77);
    same_bytes(st, "backbone.layers.2.mixer.conv1d.weight", M1(m)[2].conv_w, 255);
    same_bytes(st, "backbone.layers.0.mixer.x_proj.weight", M1(m)[0].x_proj, 100);
    same_bytes(st, "backbone.norm_f.weight", m.norm_f, 31);
    model_free(&m);
}

/* Falcon-Mamba: expand 16 in the config, weights 64 = intermediate_size wide */
static void test_ref_falcon_mamba(void)
{
    Model m;
    if (load_reference(&m, "falcon-mamba-tiny") < 0) return;
    const Config *c = &m.cfg;
    const char *st = sw_path("%s/model.safetensors", m.dir);
    ok(c->arch == ARCH_FALCON_MAMBA && c->bcdt_norm && c->d_model == 32 && c->n_layer == 3 && c->vocab_size == 64,
       "falcon_mamba: 32 wide, 3 layers, vocab 64, dt/B/C norm on");
    ok(c->d_inner == 64 && c->d_state == 8 && c->dt_rank == 4,
       "falcon_mamba: d_inner is intermediate_size 64, not expand 16 * 32 (got %d)", c->d_inner);
    is_float(c->mixer_rms_eps, 1e-6, 1e-13, "falcon_mamba: mixer_rms_eps 1e-6");
    is_float(c->norm_eps, 1e-5, 1e-12, "falcon_mamba: layer_norm_epsilon 1e-5");
    ok(m.lm_head.data != m.embed.data && !c->tie_embeddings, "falcon_mamba: lm_head untied");
    is_int((long)m.n_params, 28096 + 64 * 32, "falcon_mamba: Mamba-1's parameters plus the untied head");
    same_bytes(st, "lm_head.weight", m.lm_head, 1000);
    same_bytes(st, "backbone.layers.2.mixer.x_proj.weight", M1(m)[2].x_proj, 1279);
    model_free(&m);
}

/* config.json TEXT in a new folder must load; *c filled. */
static int config_ok(const char *text, Config *c, const char *what)
{
    static int k;
    char *d = new_case(sw_path("config-ok%d", k++));
    sw_write_text(sw_path("%s/config.json", d), text);
    KopError err = {0};
    int rc = config_load(c, d, &err);
    if (!ok(rc == 0, "config: reads %s", what)) diag("  message: %s", err.msg);
    free(d);
    return rc == 0;
}

static void test_ref_mamba2(void)
{
    Model m;
    if (load_reference(&m, "mamba2-tiny") < 0) return;
    const Config *c = &m.cfg;
    const char *st = sw_path("%s/model.safetensors", m.dir);
    ok(c->arch == ARCH_MAMBA2 && c->d_model == 32 && c->n_layer == 3 && c->vocab_size == 64, "mamba2: 32 wide, 3 layers, vocab 64");
    ok(c->n_heads == 8 && c->head_dim == 8 && c->d_inner == 64 && c->d_state == 16 && c->n_groups == 1
           && c->d_conv == 4 && c->chunk_size == 8, "mamba2: 8 heads of 8, d_state 16, 1 group, chunk 8");
    ok(c->dt_limit_lo == 0 && isinf(c->dt_limit_hi), "mamba2: time_step_limit [0, Infinity]");
    ok(m.lm_head.data != m.embed.data, "mamba2: separate lm_head");
    is_int((long)m.n_params, 28200, "mamba2: 28200 parameters");
    same_bytes(st, "backbone.layers.0.mixer.in_proj.weight", M2(m)[0].in_proj, 100);
    same_bytes(st, "backbone.layers.2.mixer.D", M2(m)[2].D, 7);
    same_bytes(st, "backbone.layers.1.mixer.norm.weight", M2(m)[1].gnorm, 63);
    same_bytes(st, "lm_head.weight", m.lm_head, 2047);
    model_free(&m);
}

static void test_ref_gpt2(void)
{
    Model m;
    if (load_reference(&m, "gpt2-tiny") < 0) return;
    const Config *c = &m.cfg;
    const char *st = sw_path("%s/model.safetensors", m.dir);
    ok(c->arch == ARCH_GPT2 && c->d_model == 32 && c->n_layer == 3 && c->vocab_size == 64 && c->n_head == 4
           && c->n_ctx == 64 && c->n_inner == 128, "gpt2: 32 wide, 4 heads, 3 layers, vocab 64, n_ctx 64, n_inner 128");
    ok(m.lm_head.data == m.embed.data && m.pos_embed && m.norm_f_b, "gpt2: head tied, wpe and ln_f bias present");
    is_int((long)m.n_params, 42272, "gpt2: 42272 parameters");
    same_bytes(st, "wpe.weight", m.pos_embed, 40);
    same_bytes(st, "h.1.attn.c_attn.weight", G2(m)[1].attn_w, 1000);
    same_bytes(st, "h.2.mlp.c_proj.bias", G2(m)[2].fc_proj_b, 5);
    same_bytes(st, "ln_f.bias", m.norm_f_b, 0);
    model_free(&m);
}

/* L's model written to a new case NAME with every F32, F16 and BF16 tensor
 * in DTYPE instead (the values are exact in all three), config copied from
 * FROM; the dtypes are restored after. */
static char *rewrite_as(SwList *l, const char *from, const char *name, const char *dtype)
{
    char saved[512][8];
    for (int i = 0; i < l->n; i++) {
        memcpy(saved[i], l->t[i].dtype, sizeof saved[i]);
        if (!strcmp(saved[i], "F32") || !strcmp(saved[i], "F16") || !strcmp(saved[i], "BF16"))
            snprintf(l->t[i].dtype, sizeof l->t[i].dtype, "%s", dtype);
    }
    char *d = new_case(name), text[4096];
    FILE *f = fopen(sw_path("%s/config.json", from), "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    write_model(d, text, l);
    for (int i = 0; i < l->n; i++) memcpy(l->t[i].dtype, saved[i], sizeof saved[i]);
    return d;
}

/* Weights kept as stored: the logits of every position of M (F16 or BF16
 * matrices, widened as the products use them) equal those of the same
 * values loaded from an F32 file. */
static void same_logits_as_f32(const Model *m, SwList *l, const char *what)
{
    char *d = rewrite_as(l, m->dir, sw_path("%s-as-f32", what), "F32");
    Model w;
    if (!load_ok(&w, d, sw_path("%s written in F32", what))) {
        free(d);
        return;
    }
    enum { T = 5 };
    int V = m->cfg.vocab_size, ids[T];
    for (int t = 0; t < T; t++) ids[t] = (3 * t + 1) % V;
    float *a = malloc(sizeof(float) * T * V), *b = malloc(sizeof(float) * T * V);
    KopError err = {0};
    ForwardReq ra = {.ids = ids, .T = T, .all_positions = 1, .logits = a}, rb = ra;
    rb.logits = b;
    int ran = model_forward(m, &ra, &err) == 0 && model_forward(&w, &rb, &err) == 0;
    double d_max = 0;
    for (int i = 0; ran && i < T * V; i++)
        if (!(fabs((double)a[i] - b[i]) <= d_max)) d_max = fabs((double)a[i] - b[i]);
    ok(ran && d_max <= 1e-6, "  %s: logits of every position = the same values loaded from F32 (max diff %.2g)", what,
       d_max);
    free(a); free(b);
    model_free(&w);
    free(d);
}


// ---------------------------------------------------------------------------
// Synthetic Mamba-1 (HF layout): d_model 4, 2 layers, vocab 10, d_state 2,
// d_conv 3, d_inner 8, dt_rank "auto" = 1, with in/out projection biases.

#define M1_CONFIG_WITH(extra) \
    "{\"model_type\": \"mamba\", \"hidden_size\": 4, \"num_hidden_layers\": 2, \"vocab_size\": 10," \
    " \"state_size\": 2, \"conv_kernel\": 3, \"expand\": 2, \"intermediate_size\": 8," \
    " \"time_step_rank\": \"auto\", \"use_bias\": true, \"use_conv_bias\": true," \
    " \"layer_norm_epsilon\": 1e-6" extra "}"
#define M1_CONFIG M1_CONFIG_WITH("")

static void mamba1_list(SwList *l, const char *dt)
{
    const int dm = 4, V = 10, ds = 2, dc = 3, di = 8, dr = 1;
    l->n = 0;
    sw_add(l, dt, SW2(V, dm), "backbone.embeddings.weight");
    for (int i = 0; i < 2; i++) {
        sw_add(l, dt, SW1(dm), "backbone.layers.%d.norm.weight", i);
        sw_add(l, dt, SW2(2 * di, dm), "backbone.layers.%d.mixer.in_proj.weight", i);
        sw_add(l, dt, SW1(2 * di), "backbone.layers.%d.mixer.in_proj.bias", i);
        sw_add(l, dt, SW3(di, 1, dc), "backbone.layers.%d.mixer.conv1d.weight", i);
        sw_add(l, dt, SW1(di), "backbone.layers.%d.mixer.conv1d.bias", i);
        sw_add(l, dt, SW2(dr + 2 * ds, di), "backbone.layers.%d.mixer.x_proj.weight", i);
        sw_add(l, dt, SW2(di, dr), "backbone.layers.%d.mixer.dt_proj.weight", i);
        sw_add(l, dt, SW1(di), "backbone.layers.%d.mixer.dt_proj.bias", i);
        sw_add(l, dt, SW2(di, ds), "backbone.layers.%d.mixer.A_log", i);
        sw_add(l, dt, SW1(di), "backbone.layers.%d.mixer.D", i);
        sw_add(l, dt, SW2(dm, di), "backbone.layers.%d.mixer.out_proj.weight", i);
        sw_add(l, dt, SW1(dm), "backbone.layers.%d.mixer.out_proj.bias", i);
    }
    sw_add(l, dt, SW1(dm), "backbone.norm_f.weight");
}

static void test_mamba1_f16(SwList *l)
{
    mamba1_list(l, "F16");
    char *d = new_case("m1-f16");
    write_model(d, M1_CONFIG, l);
    Model m;
    if (!load_ok(&m, d, "a synthetic F16 Mamba-1")) {
        free(d);
        return;
    }
    const Config *c = &m.cfg;
    ok(c->d_inner == 8 && c->dt_rank == 1 && c->proj_bias && c->tie_embeddings, "  dt_rank auto = ceil(4/16) = 1, biases on, tied by default");
    is_float(c->norm_eps, 1e-6, 1e-12, "  eps from layer_norm_epsilon");
    is_str(m.weight_dtype, "F16", "  weight dtype F16");
    is_int((long)m.n_params, (long)list_params(l), "  parameter count = stored elements (tied head once)");
    ok(m.lm_head.data == m.embed.data, "  absent lm_head uses the embedding");
    int all = values_match(l, "backbone.embeddings.weight", m.embed)
              && values_match(l, "backbone.norm_f.weight", m.norm_f);
    for (int i = 0; i < 2; i++) {
        const Mamba1Layer *y = &M1(m)[i];
#define V(p, what) all &= values_match(l, sw_path("backbone.layers.%d." what, i), p)
        V(y->norm, "norm.weight"); V(y->in_proj, "mixer.in_proj.weight"); V(y->in_proj_b, "mixer.in_proj.bias");
        V(y->conv_w, "mixer.conv1d.weight"); V(y->conv_b, "mixer.conv1d.bias"); V(y->x_proj, "mixer.x_proj.weight");
        V(y->dt_proj_w, "mixer.dt_proj.weight"); V(y->dt_proj_b, "mixer.dt_proj.bias"); V(y->A_log, "mixer.A_log");
        V(y->D, "mixer.D"); V(y->out_proj, "mixer.out_proj.weight"); V(y->out_proj_b, "mixer.out_proj.bias");
#undef V
    }
    ok(all, "  every F16 weight converts to the value written");
    ok(M1(m)[1].in_proj.dtype == KERN_F16 && M1(m)[1].out_proj.dtype == KERN_F16 && m.embed.dtype == KERN_F16,
       "  weight matrices stay F16 in memory");
    size_t mats = 0;
    for (int i = 0; i < l->n; i++)
        if (strstr(l->t[i].name, "proj.weight") || strstr(l->t[i].name, "embeddings")) mats += sw_numel(&l->t[i]);
    is_int((long)m.bytes_copied, (long)(4 * (list_params(l) - mats)), "  converted copies: the small tensors only, as fp32");
    is_int((long)m.bytes_mapped, (long)(2 * mats), "  in place: the matrices, two bytes an element");
    same_logits_as_f32(&m, l, "m1-f16");
    model_free(&m);
    ok(m.priv == NULL && M1(m) == NULL, "model_free leaves the Model zeroed");
    free(d);
}

// ---------------------------------------------------------------------------
// Synthetic Mamba-2 in the mamba_ssm layout, BF16, in two shards: d_model 4,
// 2 layers, vocab 10 padded to 16, headdim 4 (2 heads), d_state 2, 1 group.

#define M2_SSM_CONFIG \
    "{\"d_model\": 4, \"n_layer\": 2, \"vocab_size\": 10, \"pad_vocab_size_multiple\": 8," \
    " \"ssm_cfg\": {\"layer\": \"Mamba2\", \"d_state\": 2, \"d_conv\": 3, \"expand\": 2, \"headdim\": 4," \
    " \"ngroups\": 1, \"chunk_size\": 16}, \"d_intermediate\": 0, \"attn_layer_idx\": []," \
    " \"rms_norm\": true, \"residual_in_fp32\": true, \"fused_add_norm\": true, \"tie_embeddings\": true}"

/* Returns the index of the first tensor of shard 2. */
static int mamba2_list(SwList *l, const char *dt)
{
    const int dm = 4, V = 16, di = 8, nh = 2, conv_dim = 8 + 2 * 2, dc = 3;
    int split = 0;
    l->n = 0;
    sw_add(l, dt, SW2(V, dm), "backbone.embedding.weight");
    for (int i = 0; i < 2; i++) {
        if (i == 1) split = l->n;
        sw_add(l, dt, SW1(dm), "backbone.layers.%d.norm.weight", i);
        sw_add(l, dt, SW2(di + conv_dim + nh, dm), "backbone.layers.%d.mixer.in_proj.weight", i);
        sw_add(l, dt, SW3(conv_dim, 1, dc), "backbone.layers.%d.mixer.conv1d.weight", i);
        sw_add(l, dt, SW1(conv_dim), "backbone.layers.%d.mixer.conv1d.bias", i);
        sw_add(l, dt, SW1(nh), "backbone.layers.%d.mixer.dt_bias", i);
        sw_add(l, dt, SW1(nh), "backbone.layers.%d.mixer.A_log", i);
        sw_add(l, dt, SW1(nh), "backbone.layers.%d.mixer.D", i);
        sw_add(l, dt, SW1(di), "backbone.layers.%d.mixer.norm.weight", i);
        sw_add(l, dt, SW2(dm, di), "backbone.layers.%d.mixer.out_proj.weight", i);
    }
    sw_add(l, dt, SW1(dm), "backbone.norm_f.weight");
    return split;
}

/* The index maps every tensor of L (skipped ones too) to its shard. */
static void write_sharded(const char *d, const SwList *l, int split, int write_second)
{
    const char *s1 = "model-00001-of-00002.safetensors", *s2 = "model-00002-of-00002.safetensors";
    sw_write_text(sw_path("%s/config.json", d), M2_SSM_CONFIG);
    sw_write_list(sw_path("%s/%s", d, s1), l, 0, split);
    if (write_second) sw_write_list(sw_path("%s/%s", d, s2), l, split, l->n);
    size_t cap = 1 << 16, n = 0;
    char *ix = malloc(cap);
    n += (size_t)snprintf(ix, cap, "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
    for (int i = 0; i < l->n; i++)
        n += (size_t)snprintf(ix + n, cap - n, "%s\"%s\": \"%s\"", i ? ", " : "", l->t[i].name, i < split ? s1 : s2);
    snprintf(ix + n, cap - n, "}}");
    sw_write_text(sw_path("%s/model.safetensors.index.json", d), ix);
    free(ix);
}

static void test_mamba2_sharded(SwList *l)
{
    int split = mamba2_list(l, "BF16");
    char *d = new_case("m2-sharded");
    write_sharded(d, l, split, 1);
    Model m;
    if (!load_ok(&m, d, "a sharded BF16 Mamba-2 in the mamba_ssm layout")) {
        free(d);
        return;
    }
    const Config *c = &m.cfg;
    ok(c->arch == ARCH_MAMBA2 && c->vocab_size == 16 && c->n_heads == 2 && c->head_dim == 4 && c->d_inner == 8
           && c->n_groups == 1 && c->d_state == 2 && c->chunk_size == 16, "  vocab 10 padded to 16, 2 heads of 4");
    ok(c->dt_limit_lo == 0 && isinf(c->dt_limit_hi) && c->conv_bias && !c->proj_bias, "  mamba_ssm defaults: dt_limit (0, inf), conv bias, no bias");
    is_str(m.weight_dtype, "BF16", "  weight dtype BF16");
    is_int((long)m.n_params, (long)list_params(l), "  parameter count");
    ok(m.lm_head.data == m.embed.data && values_match(l, "backbone.embedding.weight", m.embed), "  backbone.embedding (shard 1), tied head");
    ok(values_match(l, "backbone.layers.1.mixer.in_proj.weight", M2(m)[1].in_proj)
           && values_match(l, "backbone.layers.1.mixer.norm.weight", M2(m)[1].gnorm)
           && values_match(l, "backbone.layers.0.mixer.dt_bias", M2(m)[0].dt_bias)
           && values_match(l, "backbone.norm_f.weight", m.norm_f), "  BF16 values from both shards");
    same_logits_as_f32(&m, l, "m2-bf16");
    model_free(&m);
    free(d);

    d = new_case("m2-missing-shard");
    write_sharded(d, l, split, 0);
    expect_load_error(d, "model-00002-of-00002.safetensors", "no such file", "an index naming a missing shard");
    free(d);

    d = new_case("m2-shard-lacks");
    l->t[split + 3].skip = 1;
    write_sharded(d, l, split, 1);
    l->t[split + 3].skip = 0;
    expect_load_error(d, "model-00002-of-00002.safetensors", "'backbone.layers.1.mixer.conv1d.bias' is not in",
                      "a tensor missing from the shard its index names");
    free(d);

    d = new_case("m2-traversal");
    write_sharded(d, l, split, 1);
    sw_write_text(sw_path("%s/model.safetensors.index.json", d),
                  "{\"weight_map\": {\"backbone.norm_f.weight\": \"../model.safetensors\"}}");
    expect_load_error(d, "index.json", "not a file name in the model directory", "a shard path outside the directory");
    free(d);
}

// ---------------------------------------------------------------------------
// Synthetic GPT-2 with "transformer." names, attention-mask buffers and a
// stored lm_head: C 8, 2 heads, 2 layers, vocab 12, n_positions 6.

static void test_gpt2_prefixed(SwList *l)
{
    const int C = 8, V = 12, T = 6, I = 32;
    l->n = 0;
    sw_add(l, "F32", SW2(V, C), "transformer.wte.weight");
    sw_add(l, "F32", SW2(T, C), "transformer.wpe.weight");
    for (int i = 0; i < 2; i++) {
        const char *h = sw_path("transformer.h.%d", i);
        char p[64];
        snprintf(p, sizeof p, "%s", h);
        sw_add(l, "F32", SW1(C), "%s.ln_1.weight", p);
        sw_add(l, "F32", SW1(C), "%s.ln_1.bias", p);
        sw_add(l, "F32", (int)4, (const int64_t[]){1, 1, T, T}, "%s.attn.bias", p);
        sw_add(l, "F32", SW2(C, 3 * C), "%s.attn.c_attn.weight", p);
        sw_add(l, "F32", SW1(3 * C), "%s.attn.c_attn.bias", p);
        sw_add(l, "F32", SW2(C, C), "%s.attn.c_proj.weight", p);
        sw_add(l, "F32", SW1(C), "%s.attn.c_proj.bias", p);
        sw_add(l, "F32", SW1(C), "%s.ln_2.weight", p);
        sw_add(l, "F32", SW1(C), "%s.ln_2.bias", p);
        sw_add(l, "F32", SW2(C, I), "%s.mlp.c_fc.weight", p);
        sw_add(l, "F32", SW1(I), "%s.mlp.c_fc.bias", p);
        sw_add(l, "F32", SW2(I, C), "%s.mlp.c_proj.weight", p);
        sw_add(l, "F32", SW1(C), "%s.mlp.c_proj.bias", p);
    }
    sw_add(l, "F32", SW1(C), "transformer.ln_f.weight");
    sw_add(l, "F32", SW1(C), "transformer.ln_f.bias");
    sw_add(l, "F32", SW2(V, C), "lm_head.weight");
    char *d = new_case("gpt2-prefixed");
    write_model(d, "{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_head\": 2, \"n_layer\": 2, \"n_positions\": 6,"
                   " \"vocab_size\": 12, \"n_inner\": null, \"activation_function\": \"gelu_new\","
                   " \"tie_word_embeddings\": true}", l);
    Model m;
    if (!load_ok(&m, d, "a GPT-2 with transformer. names and attn.bias buffers")) {
        free(d);
        return;
    }
    ok(m.cfg.n_inner == 32 && m.cfg.n_ctx == 6 && m.cfg.n_head == 2, "  n_inner null = 4 * n_embd");
    is_int((long)m.n_params, (long)list_params(l), "  parameter count (buffers not counted)");
    ok(m.lm_head.data != m.embed.data && values_match(l, "lm_head.weight", m.lm_head), "  a stored lm_head is used though tied");
    ok(values_match(l, "transformer.wpe.weight", m.pos_embed) && values_match(l, "transformer.h.1.mlp.c_fc.weight", G2(m)[1].fc_w)
           && values_match(l, "transformer.ln_f.bias", m.norm_f_b), "  F32 values in place");
    model_free(&m);
    free(d);

    /* the Conv1D layout kept in BF16 */
    char *d_f32 = new_case("gpt2-prefixed");
    d = rewrite_as(l, d_f32, "gpt2-bf16", "BF16");
    free(d_f32);
    if (load_ok(&m, d, "the same GPT-2 in BF16")) {
        ok(G2(m)[1].fc_w.dtype == KERN_BF16 && m.lm_head.dtype == KERN_BF16, "  its matrices stay BF16");
        same_logits_as_f32(&m, l, "gpt2-bf16");
        model_free(&m);
    }
    free(d);

    d = new_case("gpt2-relu");
    write_model(d, "{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_head\": 2, \"n_layer\": 2, \"n_positions\": 6,"
                   " \"vocab_size\": 12, \"activation_function\": \"relu\"}", l);
    expect_load_error(d, "config.json", "activation_function 'relu' is not supported", "a GPT-2 with relu");
    free(d);
}

// ---------------------------------------------------------------------------
// Broken models

static void test_broken(SwList *l)
{
    char *d;
    mamba1_list(l, "F32");

    d = new_case("missing-tensor");
    l->t[sw_find(l, "backbone.layers.1.mixer.D")].skip = 1;
    write_model(d, M1_CONFIG, l);
    l->t[sw_find(l, "backbone.layers.1.mixer.D")].skip = 0;
    expect_load_error(d, "model.safetensors", "no tensor 'backbone.layers.1.mixer.D'", "a missing tensor");
    free(d);

    d = new_case("bad-shape");
    SwTensor *t = &l->t[sw_find(l, "backbone.layers.0.mixer.A_log")];
    t->shape[1] = 3;
    write_model(d, M1_CONFIG, l);
    t->shape[1] = 2;
    expect_load_error(d, "model.safetensors", "'backbone.layers.0.mixer.A_log' has shape [8, 3] but config.json implies [8, 2]",
                      "a shape that does not match the config");
    free(d);

    d = new_case("bad-vocab");
    write_model(d, "{\"model_type\": \"mamba\", \"hidden_size\": 4, \"num_hidden_layers\": 2, \"vocab_size\": 11,"
                   " \"state_size\": 2, \"conv_kernel\": 3, \"use_bias\": true}", l);
    expect_load_error(d, "model.safetensors", "has shape [10, 4] but config.json implies [11, 4]",
                      "an embedding whose rows differ from vocab_size");
    free(d);

    d = new_case("i64");
    strcpy(l->t[sw_find(l, "backbone.layers.0.mixer.D")].dtype, "I64");
    write_model(d, M1_CONFIG, l);
    strcpy(l->t[sw_find(l, "backbone.layers.0.mixer.D")].dtype, "F32");
    expect_load_error(d, "model.safetensors", "'backbone.layers.0.mixer.D' has dtype I64", "an I64 weight");
    free(d);

    d = new_case("extra-layer");
    write_model(d, "{\"model_type\": \"mamba\", \"hidden_size\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 10,"
                   " \"state_size\": 2, \"conv_kernel\": 3, \"use_bias\": true}", l);
    expect_load_error(d, "model.safetensors", "belongs to layer 1 but config.json has 1 layers", "weights for more layers than the config");
    free(d);

    d = new_case("untied");
    write_model(d, M1_CONFIG_WITH(", \"tie_word_embeddings\": false"), l);
    expect_load_error(d, "model.safetensors", "no tensor 'lm_head.weight'", "an untied model without lm_head");
    free(d);

    d = new_case("no-config");
    write_model(d, NULL, l);
    expect_load_error(d, "config.json", "no such file", "a missing config.json");
    free(d);

    d = new_case("bert");
    write_model(d, "{\"model_type\": \"bert\", \"hidden_size\": 4}", l);
    expect_load_error(d, "config.json", "unknown model_type 'bert'", "an unknown model_type");
    free(d);

    d = new_case("no-weights");
    sw_write_text(sw_path("%s/config.json", d), M1_CONFIG);
    expect_load_error(d, d, "no model.safetensors, pytorch_model.bin or their .index.json shard indexes", "a directory without weights");
    free(d);

    d = new_case("truncated");
    write_model(d, M1_CONFIG, l);
    const char *p = sw_path("%s/model.safetensors", d);
    struct stat st;
    stat(p, &st);
    ok(truncate(p, st.st_size - 8) == 0, "cut the last 8 bytes of model.safetensors");
    expect_load_error(d, "model.safetensors", "run past the data section", "a truncated model.safetensors");
    free(d);

    expect_load_error(sw_path("%s/does-not-exist", root), "does-not-exist", "no such model directory", "a missing directory");
    expect_load_error(sw_path("%s/truncated/config.json", root), "config.json", "not a directory", "a file given as the directory");
}

static void test_configs(void)
{
    expect_config_error("{\"model_type\": \"mamba\", ", "not valid JSON", "a config that is not JSON");
    expect_config_error("[1]", "expected a JSON object", "a config that is a list");
    expect_config_error("{\"model_type\": \"mamba\", \"num_hidden_layers\": 2, \"vocab_size\": 10}",
                        "missing key 'hidden_size'", "a Mamba config without hidden_size");
    expect_config_error("{\"model_type\": \"mamba\", \"hidden_size\": 0, \"num_hidden_layers\": 2, \"vocab_size\": 10}",
                        "'hidden_size' must be an integer", "hidden_size 0");
    expect_config_error("{\"model_type\": \"mamba\", \"hidden_size\": 4, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"time_step_rank\": \"big\"}", "'time_step_rank' must be an integer or \"auto\"",
                        "a bad time_step_rank");
    expect_config_error("{\"model_type\": \"mamba2\", \"hidden_size\": 32, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"num_heads\": 8, \"head_dim\": 8, \"n_groups\": 1, \"norm_before_gate\": true}",
                        "'norm_before_gate' is true", "Mamba-2 with norm_before_gate true");
    expect_config_error("{\"model_type\": \"mamba2\", \"hidden_size\": 32, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"num_heads\": 8, \"head_dim\": 4, \"n_groups\": 1}",
                        "num_heads * head_dim = 32 but expand * hidden_size = 64", "Mamba-2 heads that do not cover d_inner");
    expect_config_error("{\"model_type\": \"mamba2\", \"hidden_size\": 32, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"num_heads\": 8, \"head_dim\": 8, \"n_groups\": 3}",
                        "do not divide into 3 groups", "Mamba-2 heads not divisible by groups");
    expect_config_error("{\"model_type\": \"mamba2\", \"hidden_size\": 32, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"num_heads\": 8, \"head_dim\": 8, \"n_groups\": 1, \"time_step_limit\": [1.0, 0.5]}",
                        "'time_step_limit' must be [lo, hi]", "a reversed time_step_limit");
    expect_config_error("{\"d_model\": 8, \"n_layer\": 2, \"vocab_size\": 10, \"ssm_cfg\": {\"layer\": \"Mamba3\"}}",
                        "ssm_cfg layer 'Mamba3'", "an unknown mamba_ssm layer");
    expect_config_error("{\"d_model\": 8, \"n_layer\": 2, \"vocab_size\": 10, \"d_intermediate\": 32}",
                        "MLP blocks are not supported", "a mamba_ssm model with MLPs");
    expect_config_error("{\"d_model\": 8, \"n_layer\": 2, \"vocab_size\": 10, \"rms_norm\": false}",
                        "'rms_norm' is false", "a LayerNorm Mamba");
    expect_config_error("{\"model_type\": \"gpt2\", \"n_embd\": 10, \"n_head\": 4, \"n_layer\": 2, \"vocab_size\": 10}",
                        "n_embd 10 is not a multiple of n_head 4", "GPT-2 heads that do not divide n_embd");
    expect_config_error("{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_head\": 4, \"n_layer\": 2, \"vocab_size\": 10,"
                        " \"scale_attn_by_inverse_layer_idx\": true}", "scale_attn_by_inverse_layer_idx",
                        "GPT-2 with inverse-layer attention scaling");
    expect_config_error("{\"hidden_size\": 8}", "no model_type", "a config without model_type");
    expect_config_error("{\"model_type\": \"mamba\", \"hidden_size\": 16777217, \"num_hidden_layers\": 1, \"vocab_size\": 10}",
                        "must be an integer in [1, 16777216]", "an absurd hidden_size");

    /* Falcon-Mamba: transformers' defaults for what the config leaves out
     * (FalconMambaConfig: mixer_rms_eps 1e-6, tie_word_embeddings true,
     * intermediate_size = expand * hidden_size, time_step_rank auto). */
    Config fc;
    if (config_ok("{\"model_type\": \"falcon_mamba\", \"hidden_size\": 48, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                  " \"expand\": 3}", &fc, "a Falcon-Mamba config with defaults"))
        ok(fc.arch == ARCH_FALCON_MAMBA && fc.bcdt_norm && fabs(fc.mixer_rms_eps - 1e-6) < 1e-13 && fc.tie_embeddings
               && fc.d_inner == 144 && fc.dt_rank == 3 && fc.d_state == 16,
           "config: falcon_mamba defaults (mixer_rms_eps 1e-6, tied, d_inner 3 * 48, dt_rank ceil(48/16))");
    /* tiiuae/falcon-mamba-7b's contradiction: expand 16 against intermediate_size 2 * hidden_size;
     * options that steer only training and initialisation are accepted */
    if (config_ok("{\"model_type\": \"falcon_mamba\", \"hidden_size\": 4096, \"num_hidden_layers\": 64, \"vocab_size\": 65024,"
                  " \"expand\": 16, \"intermediate_size\": 8192, \"time_step_rank\": 256, \"state_size\": 16,"
                  " \"mixer_rms_eps\": 1e-5, \"tie_word_embeddings\": false, \"use_mambapy\": true,"
                  " \"rescale_prenorm_residual\": true, \"residual_in_fp32\": false, \"time_step_init_scheme\": \"constant\","
                  " \"time_step_scale\": 2.0, \"time_step_min\": 0.01, \"time_step_max\": 0.5, \"time_step_floor\": 0.001,"
                  " \"hidden_act\": \"silu\", \"torch_dtype\": \"bfloat16\"}", &fc, "a falcon-mamba-7b-shaped config"))
        ok(fc.d_inner == 8192 && fc.dt_rank == 256 && !fc.tie_embeddings && fabs(fc.mixer_rms_eps - 1e-5) < 1e-12,
           "config: intermediate_size 8192 wins over expand 16 (got d_inner %d)", fc.d_inner);
    /* expand is not even multiplied out when intermediate_size is given */
    if (config_ok("{\"model_type\": \"falcon_mamba\", \"hidden_size\": 2097152, \"num_hidden_layers\": 1, \"vocab_size\": 10,"
                  " \"expand\": 16, \"intermediate_size\": 64}", &fc, "an expand * hidden_size past the limit beside intermediate_size"))
        is_int(fc.d_inner, 64, "config: d_inner from intermediate_size alone");
    /* TRI-ML/mamba-7b-rw: a plain Mamba-1 (model_type mamba) with mamba_ssm's keys beside HF's */
    if (config_ok("{\"architectures\": [\"MambaForCausalLM\"], \"model_type\": \"mamba\", \"hidden_size\": 4096,"
                  " \"num_hidden_layers\": 64, \"n_layer\": 64, \"vocab_size\": 50432, \"expand\": 2, \"intermediate_size\": 8192,"
                  " \"time_step_rank\": 256, \"state_size\": 16, \"fused_add_norm\": true, \"rms_norm\": true,"
                  " \"pad_vocab_size_multiple\": 8, \"residual_in_fp32\": true}", &fc, "TRI-ML/mamba-7b-rw's config"))
        ok(fc.arch == ARCH_MAMBA1 && !fc.bcdt_norm && fc.d_inner == 8192 && fc.dt_rank == 256 && fc.vocab_size == 50432
               && fc.tie_embeddings,
           "config: mamba-7b-rw is Mamba-1 without the dt/B/C norm, 50432 rows, tied");
    expect_config_error("{\"model_type\": \"falcon_mamba\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"mixer_rms_eps\": 0}", "'mixer_rms_eps' must be a number in (0, 1)", "a zero mixer_rms_eps");
    expect_config_error("{\"model_type\": \"falcon_mamba\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"hidden_act\": \"gelu\"}", "hidden_act 'gelu' is not supported", "Falcon-Mamba with another activation");
    expect_config_error("{\"model_type\": \"mamba\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"hidden_act\": \"relu\"}", "hidden_act 'relu' is not supported", "Mamba-1 with another activation");
    expect_config_error("{\"model_type\": \"falcon_mamba\", \"hidden_size\": 8, \"num_hidden_layers\": 2, \"vocab_size\": 10,"
                        " \"quantization_config\": {\"load_in_4bit\": true}}", "'quantization_config' is present",
                        "a quantized checkpoint");

    /* mamba_ssm Mamba-1: dt_rank auto, vocab padded. */
    char *d = new_case("ssm-mamba1");
    sw_write_text(sw_path("%s/config.json", d), "{\"d_model\": 40, \"n_layer\": 2, \"vocab_size\": 50277, \"ssm_cfg\": {}}");
    Config c;
    KopError err = {0};
    ok(config_load(&c, d, &err) == 0 && c.arch == ARCH_MAMBA1 && c.vocab_size == 50280 && c.dt_rank == 3
           && c.d_inner == 80 && c.d_state == 16 && c.d_conv == 4 && c.tie_embeddings,
       "config: mamba_ssm Mamba-1 defaults (vocab 50277 -> 50280, dt_rank ceil(40/16) = 3)");
    ok(c.vocab_padding == 3, "config: mamba_ssm Mamba-1: 3 of the 50280 rows are padding");
    free(d);

    /* mamba_ssm Mamba-2 with every ssm_cfg default (mamba_ssm's Mamba2():
     * d_state 128, d_conv 4, expand 2, headdim 64, ngroups 1, chunk_size 256). */
    d = new_case("ssm-mamba2");
    sw_write_text(sw_path("%s/config.json", d), "{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 50277,"
                  " \"pad_vocab_size_multiple\": 16, \"ssm_cfg\": {\"layer\": \"Mamba2\"}}");
    ok(config_load(&c, d, &err) == 0 && c.arch == ARCH_MAMBA2 && c.vocab_size == 50288 && c.vocab_padding == 11
           && c.d_state == 128 && c.d_conv == 4 && c.d_inner == 128 && c.head_dim == 64 && c.n_heads == 2
           && c.n_groups == 1 && c.chunk_size == 256 && c.dt_limit_lo == 0 && isinf(c.dt_limit_hi) && c.tie_embeddings,
       "config: mamba_ssm Mamba-2 defaults (vocab 50277 -> 50288 with 11 padding rows, 2 heads of 64)");
    free(d);
    expect_config_error("{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 10, \"ssm_cfg\": {\"layer\": \"Mamba2\","
                        " \"D_has_hdim\": true}}", "'D_has_hdim' is true", "a mamba_ssm Mamba-2 with D per channel");
}

// ---------------------------------------------------------------------------
// F32 weights that are not 64-byte aligned in the file: a run copies them to
// aligned memory; `kop info` (MODEL_LOAD_DESCRIBE) uses them in place and
// counts the same bytes.

static void test_describe(SwList *l)
{
    const int C = 32, V = 64, T = 8, I = 128;
    l->n = 0;
    sw_add(l, "F32", SW1(3), "a.odd");  /* 12 bytes first: nothing after it is 64-byte aligned */
    sw_add(l, "F32", SW2(V, C), "wte.weight");
    sw_add(l, "F32", SW2(T, C), "wpe.weight");
    sw_add(l, "F32", SW1(C), "h.0.ln_1.weight");
    sw_add(l, "F32", SW1(C), "h.0.ln_1.bias");
    sw_add(l, "F32", SW2(C, 3 * C), "h.0.attn.c_attn.weight");
    sw_add(l, "F32", SW1(3 * C), "h.0.attn.c_attn.bias");
    sw_add(l, "F32", SW2(C, C), "h.0.attn.c_proj.weight");
    sw_add(l, "F32", SW1(C), "h.0.attn.c_proj.bias");
    sw_add(l, "F32", SW1(C), "h.0.ln_2.weight");
    sw_add(l, "F32", SW1(C), "h.0.ln_2.bias");
    sw_add(l, "F32", SW2(C, I), "h.0.mlp.c_fc.weight");
    sw_add(l, "F32", SW1(I), "h.0.mlp.c_fc.bias");
    sw_add(l, "F32", SW2(I, C), "h.0.mlp.c_proj.weight");
    sw_add(l, "F32", SW1(C), "h.0.mlp.c_proj.bias");
    sw_add(l, "F32", SW1(C), "ln_f.weight");
    sw_add(l, "F32", SW1(C), "ln_f.bias");
    char *d = new_case("gpt2-misaligned");
    write_model(d, "{\"model_type\": \"gpt2\", \"n_embd\": 32, \"n_head\": 2, \"n_layer\": 1, \"n_positions\": 8,"
                   " \"vocab_size\": 64}", l);
    Model run, info;
    KopError err = {0};
    if (!load_ok(&run, d, "a GPT-2 whose matrices are not 64-byte aligned")) {
        free(d);
        return;
    }
    ok(model_load_flags(&info, d, MODEL_LOAD_DESCRIBE, &err) == 0, "  loads for kop info too");
    uintptr_t fc_run = (uintptr_t)G2(run)[0].fc_w.data, fc_info = (uintptr_t)G2(info)[0].fc_w.data;
    ok(fc_run % 64 == 0 && fc_info % 64 != 0, "  a run realigns c_fc (16 KB); kop info reads it in place");
    ok(run.bytes_copied > (size_t)4 * C * I && run.bytes_copied == info.bytes_copied
           && run.bytes_mapped == info.bytes_mapped, "  both count the same bytes copied (%zu) and in place (%zu)",
       run.bytes_copied, run.bytes_mapped);
    ok(values_match(l, "h.0.mlp.c_fc.weight", G2(info)[0].fc_w) && values_match(l, "h.0.mlp.c_fc.weight", G2(run)[0].fc_w),
       "  with the file's values either way");
    ok(run.derived == NULL && info.derived == NULL, "  GPT-2 derives nothing");
    model_free(&run);
    model_free(&info);
    free(d);
}

int main(void)
{
    char *r = sw_tmpdir();
    root = r;
    SwList *l = calloc(1, sizeof *l);
    test_ref_mamba1();
    test_ref_falcon_mamba();
    test_ref_mamba2();
    test_ref_gpt2();
    test_mamba1_f16(l);
    test_mamba2_sharded(l);
    test_gpt2_prefixed(l);
    test_describe(l);
    test_broken(l);
    test_configs();
    free(l);
    sw_rmtree(r);
    free(r);
    return done_testing();
}
