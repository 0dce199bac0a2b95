/* model_load.c: a model directory -> Model (see model.h).
 *
 * Order of work: config.json first (it says which tensors to expect and their
 * shapes), then every weight file is mapped and validated as a whole (st_open
 * for safetensors, tb_open for torch's pytorch_model.bin; both give the same
 * tensor table, so nothing after the opening depends on the format), then
 * each tensor the architecture needs is looked up, its shape compared with
 * the one the config implies and its data turned into fp32.  Lookups go
 * through the shard index when there is one, so a tensor is found in the
 * shard the index names and nowhere else. */
#include "model.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "safetensors.h"
#include "torchbin.h"

/* Defined in config.c: read a JSON file, errors naming it. */
json_object *loadp_read_json(const char *path, KopError *err);

/* What the Model owns besides its layer arrays (Model.priv). */
typedef struct LoadPriv {
    StFile *files;           /* (n_files) the mapped safetensors files */
    char **file_names;       /* (n_files) names inside the model directory */
    int n_files;
    float **owned;           /* (n_owned) converted or realigned tensors */
    int n_owned, cap_owned;
    /* Tensors already turned into fp32, by their bytes in the files: a name
     * sharing another's storage (a pytorch_model.bin's tied lm_head) gets the
     * same pointer and is counted once. */
    const StTensor **seen;   /* (n_seen) */
    const float **seen_f32;  /* (n_seen) what get() returned for it */
    int n_seen;
} LoadPriv;

/* State of one model_load call. */
typedef struct Loader {
    Model *m;
    LoadPriv *p;
    json_object *weight_map; /* from the shard index, or NULL for one file */
    char *index_path;
    KopError *err;
    int failed;              /* sticky: the first error is the one reported */
} Loader;

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = kop_xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

// ---------------------------------------------------------------------------
// Opening the files

static int add_file(Loader *L, const char *name)
{
    LoadPriv *p = L->p;
    for (int i = 0; i < p->n_files; i++)
        if (!strcmp(p->file_names[i], name)) return 0;
    p->files = kop_xrealloc(p->files, sizeof *p->files * (size_t)(p->n_files + 1));
    p->file_names = kop_xrealloc(p->file_names, sizeof *p->file_names * (size_t)(p->n_files + 1));
    char *path = join(L->m->dir, name);
    size_t n = strlen(name);
    int torch = n > 4 && !strcmp(name + n - 4, ".bin");
    int rc = (torch ? tb_open : st_open)(&p->files[p->n_files], path, L->err);
    free(path);
    if (rc < 0) return -1;
    p->file_names[p->n_files++] = kop_xstrdup(name);
    return 0;
}

/* A shard index: {"weight_map": {tensor: file, ...}, "metadata": ...}.
 * Every shard it names is opened (and so validated) now. */
static int open_index(Loader *L)
{
    json_object *root = loadp_read_json(L->index_path, L->err), *wm = NULL;
    if (!root) return -1;
    if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "weight_map", &wm)
        || !json_object_is_type(wm, json_type_object)) {
        json_object_put(root);
        return kop_fail(L->err, KOP_EXIT_DATA, "%s: expected an object with a \"weight_map\" object",
                        L->index_path);
    }
    L->weight_map = json_object_get(wm);
    json_object_put(root);
    json_object_object_foreach(L->weight_map, name, v) {
        const char *file = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        /* A shard is a file of the model directory, never a path elsewhere. */
        if (!*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, ".."))
            return kop_fail(L->err, KOP_EXIT_DATA, "%s: weight_map entry '%s' is not a file name in the model directory",
                            L->index_path, name);
        if (add_file(L, file) < 0) return -1;
    }
    if (L->p->n_files == 0) return kop_fail(L->err, KOP_EXIT_DATA, "%s: weight_map is empty", L->index_path);
    return 0;
}

/* The first of these that exists, in the order transformers looks for them
 * (safetensors preferred when both formats are there). */
static int open_files(Loader *L)
{
    static const char *const singles[] = {"model.safetensors", "pytorch_model.bin"};
    for (int i = 0; i < 2; i++) {
        char *single = join(L->m->dir, singles[i]);
        int have_single = exists(single);
        free(single);
        if (have_single) return add_file(L, singles[i]);
        char index[64];
        snprintf(index, sizeof index, "%s.index.json", singles[i]);
        L->index_path = join(L->m->dir, index);
        if (exists(L->index_path)) return open_index(L);
        free(L->index_path);
        L->index_path = NULL;
    }
    return kop_fail(L->err, KOP_EXIT_DATA,
                    "%s: no model.safetensors, pytorch_model.bin or their .index.json shard indexes", L->m->dir);
}

// ---------------------------------------------------------------------------
// Looking tensors up

static void lfail(Loader *L, const char *fmt, ...) KOP_PRINTF(2, 3);
static void lfail(Loader *L, const char *fmt, ...)
{
    if (!L->failed && L->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(L->err->msg, sizeof L->err->msg, fmt, ap);
        va_end(ap);
        L->err->status = KOP_EXIT_DATA;
    }
    L->failed = 1;
}

/* NAME's tensor and file; NULL when absent (or, with the index, when the index
 * names a shard that lacks it, which is an error). */
static const StTensor *lookup(Loader *L, const char *name, const StFile **file)
{
    LoadPriv *p = L->p;
    if (!L->weight_map) {
        *file = &p->files[0];
        return st_find(*file, name);
    }
    json_object *v;
    if (!json_object_object_get_ex(L->weight_map, name, &v)) return NULL;
    const char *shard = json_object_get_string(v);
    for (int i = 0; i < p->n_files; i++)
        if (!strcmp(p->file_names[i], shard)) {
            *file = &p->files[i];
            const StTensor *t = st_find(*file, name);
            if (!t) lfail(L, "%s: tensor '%s' is not in %s, where the index places it", p->files[i].path, name,
                          L->index_path);
            return t;
        }
    KOP_ABORT("shard '%s' was not opened", shard);
    return NULL;
}

static const char *where(const Loader *L)
{
    return L->weight_map ? L->index_path : L->p->files[0].path;
}

static void format_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* The tensor named by FMT..., which must exist with exactly the shape
 * (ndim, shape); returns its fp32 data, or NULL after recording an error. */
static const float *get(Loader *L, int ndim, const int64_t *shape, const char *fmt, ...) KOP_PRINTF(4, 5);
static const float *get(Loader *L, int ndim, const int64_t *shape, const char *fmt, ...)
{
    if (L->failed) return NULL;
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);

    const StFile *f = NULL;
    const StTensor *t = lookup(L, name, &f);
    if (!t) {
        lfail(L, "%s: no tensor '%s'", where(L), name);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[256], want[256];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        lfail(L, "%s: tensor '%s' has shape %s but config.json implies %s", f->path, name, got, want);
        return NULL;
    }
    LoadPriv *p = L->p;
    for (int i = 0; i < p->n_seen; i++)
        if (p->seen[i]->data == t->data && p->seen[i]->dtype == t->dtype && p->seen[i]->nbytes == t->nbytes)
            return p->seen_f32[i];
    float *owned;
    const float *data = st_tensor_f32(f, t, &owned, L->err);
    if (!data) {
        L->failed = 1;
        return NULL;
    }
    if (!(p->n_seen & (p->n_seen + 1))) {  /* grow at 0, 1, 3, 7, ... */
        p->seen = kop_xrealloc(p->seen, sizeof *p->seen * (size_t)(2 * p->n_seen + 2));
        p->seen_f32 = kop_xrealloc(p->seen_f32, sizeof *p->seen_f32 * (size_t)(2 * p->n_seen + 2));
    }
    p->seen[p->n_seen] = t;
    p->seen_f32[p->n_seen++] = data;
    if (owned) {
        if (p->n_owned == p->cap_owned)
            p->owned = kop_xrealloc(p->owned, sizeof *p->owned * (size_t)(p->cap_owned = 2 * p->cap_owned + 16));
        p->owned[p->n_owned++] = owned;
    }
    Model *m = L->m;
    m->n_params += (size_t)t->numel;
    const char *dt = st_dtype_name(t->dtype);
    if (!m->weight_dtype[0]) snprintf(m->weight_dtype, sizeof m->weight_dtype, "%s", dt);
    else if (strcmp(m->weight_dtype, dt)) snprintf(m->weight_dtype, sizeof m->weight_dtype, "mixed");
    return data;
}

/* Shapes as arguments of get(): get(L, S2(rows, cols), "name") */
#define S1(a) 1, (const int64_t[]){(a)}
#define S2(a, b) 2, (const int64_t[]){(a), (b)}
#define S3(a, b, c) 3, (const int64_t[]){(a), (b), (c)}

/* Whether the tensor exists (without using it). */
static int present(Loader *L, const char *name)
{
    const StFile *f;
    return !L->failed && lookup(L, name, &f) != NULL;
}

// ---------------------------------------------------------------------------
// The architectures

/* The embedding decides the Mamba naming: HF "embeddings", mamba_ssm "embedding". */
static void mamba_common(Loader *L)
{
    const Config *c = &L->m->cfg;
    const char *emb = present(L, "backbone.embedding.weight") && !present(L, "backbone.embeddings.weight")
                          ? "backbone.embedding.weight" : "backbone.embeddings.weight";
    L->m->embed = get(L, S2(c->vocab_size, c->d_model), "%s", emb);
    L->m->norm_f = get(L, S1(c->d_model), "backbone.norm_f.weight");
}

static void load_mamba1(Loader *L)
{
    const Config *c = &L->m->cfg;
    int64_t dm = c->d_model, di = c->d_inner, ds = c->d_state, dr = c->dt_rank;
    Mamba1Layer *ls = L->m->mamba1 = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    mamba_common(L);
    for (int i = 0; i < c->n_layer; i++) {
        Mamba1Layer *l = &ls[i];
        l->norm = get(L, S1(dm), "backbone.layers.%d.norm.weight", i);
        l->in_proj = get(L, S2(2 * di, dm), "backbone.layers.%d.mixer.in_proj.weight", i);
        if (c->proj_bias) l->in_proj_b = get(L, S1(2 * di), "backbone.layers.%d.mixer.in_proj.bias", i);
        l->conv_w = get(L, S3(di, 1, c->d_conv), "backbone.layers.%d.mixer.conv1d.weight", i);
        if (c->conv_bias) l->conv_b = get(L, S1(di), "backbone.layers.%d.mixer.conv1d.bias", i);
        l->x_proj = get(L, S2(dr + 2 * ds, di), "backbone.layers.%d.mixer.x_proj.weight", i);
        l->dt_proj_w = get(L, S2(di, dr), "backbone.layers.%d.mixer.dt_proj.weight", i);
        l->dt_proj_b = get(L, S1(di), "backbone.layers.%d.mixer.dt_proj.bias", i);
        l->A_log = get(L, S2(di, ds), "backbone.layers.%d.mixer.A_log", i);
        l->D = get(L, S1(di), "backbone.layers.%d.mixer.D", i);
        l->out_proj = get(L, S2(dm, di), "backbone.layers.%d.mixer.out_proj.weight", i);
        if (c->proj_bias) l->out_proj_b = get(L, S1(dm), "backbone.layers.%d.mixer.out_proj.bias", i);
    }
}

static void load_mamba2(Loader *L)
{
    const Config *c = &L->m->cfg;
    int64_t dm = c->d_model, di = c->d_inner, nh = c->n_heads;
    int64_t conv_dim = di + 2 * (int64_t)c->n_groups * c->d_state, in_rows = di + conv_dim + nh;
    Mamba2Layer *ls = L->m->mamba2 = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    mamba_common(L);
    for (int i = 0; i < c->n_layer; i++) {
        Mamba2Layer *l = &ls[i];
        l->norm = get(L, S1(dm), "backbone.layers.%d.norm.weight", i);
        l->in_proj = get(L, S2(in_rows, dm), "backbone.layers.%d.mixer.in_proj.weight", i);
        if (c->proj_bias) l->in_proj_b = get(L, S1(in_rows), "backbone.layers.%d.mixer.in_proj.bias", i);
        l->conv_w = get(L, S3(conv_dim, 1, c->d_conv), "backbone.layers.%d.mixer.conv1d.weight", i);
        if (c->conv_bias) l->conv_b = get(L, S1(conv_dim), "backbone.layers.%d.mixer.conv1d.bias", i);
        l->dt_bias = get(L, S1(nh), "backbone.layers.%d.mixer.dt_bias", i);
        l->A_log = get(L, S1(nh), "backbone.layers.%d.mixer.A_log", i);
        l->D = get(L, S1(nh), "backbone.layers.%d.mixer.D", i);
        l->gnorm = get(L, S1(di), "backbone.layers.%d.mixer.norm.weight", i);
        l->out_proj = get(L, S2(dm, di), "backbone.layers.%d.mixer.out_proj.weight", i);
        if (c->proj_bias) l->out_proj_b = get(L, S1(dm), "backbone.layers.%d.mixer.out_proj.bias", i);
    }
}

/* GPT2LMHeadModel saves "transformer.wte.weight"; GPT2Model saves "wte.weight". */
static const char *gpt2_prefix(Loader *L)
{
    return present(L, "transformer.wte.weight") ? "transformer." : "";
}

static void load_gpt2(Loader *L)
{
    const Config *c = &L->m->cfg;
    int64_t C = c->d_model, ni = c->n_inner;
    const char *pre = gpt2_prefix(L);
    Gpt2Layer *ls = L->m->gpt2 = kop_xcalloc((size_t)c->n_layer, sizeof *ls);
    L->m->embed = get(L, S2(c->vocab_size, C), "%swte.weight", pre);
    L->m->pos_embed = get(L, S2(c->n_ctx, C), "%swpe.weight", pre);
    for (int i = 0; i < c->n_layer; i++) {
        Gpt2Layer *l = &ls[i];
        l->ln1_w = get(L, S1(C), "%sh.%d.ln_1.weight", pre, i);
        l->ln1_b = get(L, S1(C), "%sh.%d.ln_1.bias", pre, i);
        l->attn_w = get(L, S2(C, 3 * C), "%sh.%d.attn.c_attn.weight", pre, i);
        l->attn_b = get(L, S1(3 * C), "%sh.%d.attn.c_attn.bias", pre, i);
        l->attn_proj_w = get(L, S2(C, C), "%sh.%d.attn.c_proj.weight", pre, i);
        l->attn_proj_b = get(L, S1(C), "%sh.%d.attn.c_proj.bias", pre, i);
        l->ln2_w = get(L, S1(C), "%sh.%d.ln_2.weight", pre, i);
        l->ln2_b = get(L, S1(C), "%sh.%d.ln_2.bias", pre, i);
        l->fc_w = get(L, S2(C, ni), "%sh.%d.mlp.c_fc.weight", pre, i);
        l->fc_b = get(L, S1(ni), "%sh.%d.mlp.c_fc.bias", pre, i);
        l->fc_proj_w = get(L, S2(ni, C), "%sh.%d.mlp.c_proj.weight", pre, i);
        l->fc_proj_b = get(L, S1(C), "%sh.%d.mlp.c_proj.bias", pre, i);
    }
    L->m->norm_f = get(L, S1(C), "%sln_f.weight", pre);
    L->m->norm_f_b = get(L, S1(C), "%sln_f.bias", pre);
}

/* A stored lm_head is used even when the config says tied; an absent one is
 * the embedding when tied, and an error otherwise. */
static void load_head(Loader *L)
{
    Model *m = L->m;
    if (present(L, "lm_head.weight"))
        m->lm_head = get(L, S2(m->cfg.vocab_size, m->cfg.d_model), "lm_head.weight");
    else if (m->cfg.tie_embeddings)
        m->lm_head = m->embed;
    else if (!L->failed)
        lfail(L, "%s: no tensor 'lm_head.weight' (config.json says it is not tied to the embedding)", where(L));
}

/* A stored layer the config does not have means config and weights disagree
 * (a truncated config, the wrong config.json); say so instead of ignoring it. */
static void check_extra_layers(Loader *L)
{
    const Config *c = &L->m->cfg;
    const char *pre = c->arch == ARCH_GPT2 ? "h." : "backbone.layers.";
    size_t n = strlen(pre);
    for (int f = 0; f < L->p->n_files && !L->failed; f++) {
        const StFile *sf = &L->p->files[f];
        for (int i = 0; i < sf->n_tensors && !L->failed; i++) {
            const char *name = sf->tensors[i].name;
            if (c->arch == ARCH_GPT2 && !strncmp(name, "transformer.", 12)) name += 12;
            if (strncmp(name, pre, n) || name[n] < '0' || name[n] > '9') continue;
            char *end;
            long layer = strtol(name + n, &end, 10);
            if (*end == '.' && layer >= c->n_layer)
                lfail(L, "%s: tensor '%s' belongs to layer %ld but config.json has %d layers", sf->path,
                      sf->tensors[i].name, layer, c->n_layer);
        }
    }
}

// ---------------------------------------------------------------------------
// Entry points

int model_load(Model *m, const char *dir, KopError *err)
{
    memset(m, 0, sizeof *m);
    m->dir = kop_xstrdup(dir);
    LoadPriv *p = m->priv = kop_xcalloc(1, sizeof *p);
    Loader L = {.m = m, .p = p, .err = err};
    if (config_load(&m->cfg, dir, err) < 0 || open_files(&L) < 0) L.failed = 1;
    if (!L.failed) check_extra_layers(&L);
    if (!L.failed) {
        switch (m->cfg.arch) {
        case ARCH_MAMBA1: load_mamba1(&L); break;
        case ARCH_MAMBA2: load_mamba2(&L); break;
        case ARCH_GPT2: load_gpt2(&L); break;
        }
        load_head(&L);
    }
    json_object_put(L.weight_map);
    free(L.index_path);
    if (L.failed) {
        model_free(m);
        return -1;
    }
    model_derive(m);
    return 0;
}

void model_free(Model *m)
{
    LoadPriv *p = m->priv;
    if (p) {
        for (int i = 0; i < p->n_files; i++) {
            st_close(&p->files[i]);
            free(p->file_names[i]);
        }
        free(p->files);
        free(p->file_names);
        for (int i = 0; i < p->n_owned; i++) free(p->owned[i]);
        free(p->owned);
        free(p->seen);
        free(p->seen_f32);
        free(p);
    }
    model_release(m);
}

void model_release(Model *m)
{
    free(m->mamba1);
    free(m->mamba2);
    free(m->gpt2);
    free(m->dir);
    free(m->derived);
    memset(m, 0, sizeof *m);
}
