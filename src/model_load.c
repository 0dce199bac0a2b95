/* model_load.c: a model directory -> Model (see model.h).
 *
 * Order of work: config.json first (it says which tensors to expect and their
 * shapes), then every weight file is mapped and validated as a whole (st_open
 * for safetensors, tb_open for torch's pytorch_model.bin; both give the same
 * tensor table, so nothing after the opening depends on the format), then
 * each tensor the architecture needs is looked up, its shape compared with
 * the one the config implies and its data bound: weight matrices as stored,
 * the small tensors as fp32.  Lookups go
 * through the shard index when there is one, so a tensor is found in the
 * shard the index names and nowhere else. */
#include "model.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "model_load.h"
#include "safetensors.h"
#include "torchbin.h"

/* Defined in config.c: read a JSON file, errors naming it. */
json_object *loadp_read_json(const char *path, KopError *err);

/* What the Model owns besides its layer arrays (Model.priv). */
typedef struct LoadPriv {
    StFile *files;           /* (n_files) the mapped safetensors files */
    char **file_names;       /* (n_files) names inside the model directory */
    int n_files;
    void **owned;            /* (n_owned) converted or realigned tensors */
    int n_owned, cap_owned;
    /* Tensors already bound, by their bytes in the files: a name sharing
     * another's storage (a pytorch_model.bin's tied lm_head) gets the same
     * data and is counted once. */
    const StTensor **seen;   /* (n_seen) */
    KernMat *seen_as;        /* (n_seen) what it was bound as: fp32, or as stored */
    int n_seen;
} LoadPriv;

/* State of one model_load call. */
struct ModelLoader {
    Model *m;
    LoadPriv *p;
    json_object *weight_map; /* from the shard index, or NULL for one file */
    char *index_path;
    KopError *err;
    int failed;              /* sticky: the first error is the one reported */
    int describe;            /* MODEL_LOAD_DESCRIBE */
};
typedef struct ModelLoader Loader;

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
    char *path = kop_path_join(L->m->dir, name);
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
        char *single = kop_path_join(L->m->dir, singles[i]);
        int have_single = exists(single);
        free(single);
        if (have_single) return add_file(L, singles[i]);
        char index[64];
        snprintf(index, sizeof index, "%s.index.json", singles[i]);
        L->index_path = kop_path_join(L->m->dir, index);
        if (exists(L->index_path)) return open_index(L);
        free(L->index_path);
        L->index_path = NULL;
    }
    return kop_fail(L->err, KOP_EXIT_DATA,
                    "%s: no model.safetensors, pytorch_model.bin or their .index.json shard indexes", L->m->dir);
}

// ---------------------------------------------------------------------------
// Looking tensors up

void loadp_fail(Loader *L, const char *fmt, ...)
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
            if (!t) loadp_fail(L, "%s: tensor '%s' is not in %s, where the index places it", p->files[i].path, name,
                          L->index_path);
            return t;
        }
    KOP_ABORT("shard '%s' was not opened", shard);
    return NULL;
}

const char *loadp_where(const Loader *L)
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

/* The tensor named by FMT/ap with exactly SHAPE, or NULL after an error. */
static const StTensor *find_shaped(Loader *L, const StFile **f, int ndim, const int64_t *shape, const char *fmt,
                                   va_list ap)
{
    if (L->failed) return NULL;
    char name[512];
    vsnprintf(name, sizeof name, fmt, ap);
    const StTensor *t = lookup(L, name, f);
    if (!t) {
        loadp_fail(L, "%s: no tensor '%s'", loadp_where(L), name);
        return NULL;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[256], want[256];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        loadp_fail(L, "%s: tensor '%s' has shape %s but config.json implies %s", (*f)->path, name, got, want);
        return NULL;
    }
    return t;
}

/* T bound as fp32 (stored 0) or as stored (1): the earlier binding of the
 * same bytes the same way, else a new one, counted in the Model. */
static KernMat bind(Loader *L, const StFile *f, const StTensor *t, int stored)
{
    LoadPriv *p = L->p;
    for (int i = 0; i < p->n_seen; i++)
        if (p->seen[i]->data == t->data && p->seen[i]->dtype == t->dtype && p->seen[i]->nbytes == t->nbytes
            && (p->seen_as[i].dtype != KERN_F32) == (stored && t->dtype != ST_F32))
            return p->seen_as[i];
    void *owned = NULL;
    KernMat w;
    int as_if = 0; /* describing: an F32 tensor a run would realign is used in place, counted as copied */
    if (L->describe && t->dtype == ST_F32 && st_f32_copied(t) && (uintptr_t)t->data % sizeof(float) == 0) {
        w = kern_mat_f32((const float *)t->data);
        as_if = 1;
    } else if (stored) {
        w = st_tensor_mat(f, t, &owned, L->err);
    } else {
        float *buf;
        w = kern_mat_f32(st_tensor_f32(f, t, &buf, L->err));
        owned = buf;
    }
    if (!w.data) {
        L->failed = 1;
        return w;
    }
    if (!(p->n_seen & (p->n_seen + 1))) {  /* grow at 0, 1, 3, 7, ... */
        p->seen = kop_xrealloc(p->seen, sizeof *p->seen * (size_t)(2 * p->n_seen + 2));
        p->seen_as = kop_xrealloc(p->seen_as, sizeof *p->seen_as * (size_t)(2 * p->n_seen + 2));
    }
    p->seen[p->n_seen] = t;
    p->seen_as[p->n_seen++] = w;
    Model *m = L->m;
    size_t bytes = (size_t)t->numel * kern_dtype_size(w.dtype);
    if (owned) {
        if (p->n_owned == p->cap_owned)
            p->owned = kop_xrealloc(p->owned, sizeof *p->owned * (size_t)(p->cap_owned = 2 * p->cap_owned + 16));
        p->owned[p->n_owned++] = owned;
    }
    *(owned || as_if ? &m->bytes_copied : &m->bytes_mapped) += bytes;
    m->n_params += (size_t)t->numel;
    const char *dt = st_dtype_name(t->dtype);
    if (!m->weight_dtype[0]) snprintf(m->weight_dtype, sizeof m->weight_dtype, "%s", dt);
    else if (strcmp(m->weight_dtype, dt)) snprintf(m->weight_dtype, sizeof m->weight_dtype, "mixed");
    return w;
}

const float *loadp_get(Loader *L, int ndim, const int64_t *shape, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const StFile *f = NULL;
    const StTensor *t = find_shaped(L, &f, ndim, shape, fmt, ap);
    va_end(ap);
    return t ? bind(L, f, t, 0).data : NULL;
}

KernMat loadp_mat(Loader *L, int ndim, const int64_t *shape, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const StFile *f = NULL;
    const StTensor *t = find_shaped(L, &f, ndim, shape, fmt, ap);
    va_end(ap);
    return t ? bind(L, f, t, 1) : (KernMat){NULL, KERN_F32};
}

int loadp_present(Loader *L, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const StFile *f;
    return !L->failed && lookup(L, name, &f) != NULL;
}

// ---------------------------------------------------------------------------
// What the families share

void loadp_mamba_common(Loader *L, Model *m)
{
    const Config *c = &m->cfg;
    const char *emb = loadp_present(L, "backbone.embedding.weight") && !loadp_present(L, "backbone.embeddings.weight")
                          ? "backbone.embedding.weight" : "backbone.embeddings.weight";
    m->embed = loadp_mat(L, S2(c->vocab_size, c->d_model), "%s", emb);
    m->norm_f = loadp_get(L, S1(c->d_model), "backbone.norm_f.weight");
}

/* A stored lm_head is used even when the config says tied; an absent one is
 * the embedding when tied, and an error otherwise.  Tensors bind() does not
 * ask for (buffers some conversions carry, such as GPT-NeoX's
 * attention.rotary_emb.inv_freq or attention.bias) are ignored. */
static void load_head(Loader *L)
{
    Model *m = L->m;
    if (m->lm_head.data) return; /* bound by the family under its own name (GPT-NeoX's embed_out) */
    if (loadp_present(L, "lm_head.weight"))
        m->lm_head = loadp_mat(L, S2(m->cfg.vocab_size, m->cfg.d_model), "lm_head.weight");
    else if (m->cfg.tie_embeddings)
        m->lm_head = m->embed;
    else if (!L->failed)
        loadp_fail(L, "%s: no tensor 'lm_head.weight' (config.json says it is not tied to the embedding)", loadp_where(L));
}

/* A stored layer the config does not have means config and weights disagree
 * (a truncated config, the wrong config.json); say so instead of ignoring it. */
static void check_extra_layers(Loader *L)
{
    const Config *c = &L->m->cfg;
    const ArchOps *ops = arch_ops(c->arch);
    const char *pre = ops->layer_prefix, *root = ops->optional_root;
    size_t n = strlen(pre);
    for (int f = 0; f < L->p->n_files && !L->failed; f++) {
        const StFile *sf = &L->p->files[f];
        for (int i = 0; i < sf->n_tensors && !L->failed; i++) {
            const char *name = sf->tensors[i].name;
            if (root && !strncmp(name, root, strlen(root))) name += strlen(root);
            if (strncmp(name, pre, n) || name[n] < '0' || name[n] > '9') continue;
            char *end;
            long layer = strtol(name + n, &end, 10);
            if (*end == '.' && layer >= c->n_layer)
                loadp_fail(L, "%s: tensor '%s' belongs to layer %ld but config.json has %d layers", sf->path,
                      sf->tensors[i].name, layer, c->n_layer);
        }
    }
}

// ---------------------------------------------------------------------------
// Entry points

int model_load(Model *m, const char *dir, KopError *err)
{
    return model_load_flags(m, dir, 0, err);
}

int model_load_flags(Model *m, const char *dir, int flags, KopError *err)
{
    memset(m, 0, sizeof *m);
    m->dir = kop_xstrdup(dir);
    LoadPriv *p = m->priv = kop_xcalloc(1, sizeof *p);
    Loader L = {.m = m, .p = p, .err = err, .describe = !!(flags & MODEL_LOAD_DESCRIBE)};
    if (config_load(&m->cfg, dir, err) < 0 || open_files(&L) < 0) L.failed = 1;
    if (!L.failed) check_extra_layers(&L);
    if (!L.failed) {
        arch_ops(m->cfg.arch)->bind(&L, m);
        load_head(&L);
    }
    json_object_put(L.weight_map);
    free(L.index_path);
    if (L.failed) {
        model_free(m);
        return -1;
    }
    if (!(flags & MODEL_LOAD_DESCRIBE)) model_derive(m);
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
        free(p->seen_as);
        free(p);
    }
    model_release(m);
}

size_t model_derived_floats(const Config *c)
{
    const ArchOps *ops = arch_ops(c->arch);
    return ops->derived_floats ? ops->derived_floats(c) : 0;
}

void model_derive(Model *m)
{
    size_t n = model_derived_floats(&m->cfg);
    free(m->derived);
    m->derived = NULL;
    if (!n) return;
    m->derived = kop_xmalloc(sizeof(float) * n);
    arch_ops(m->cfg.arch)->derive(m, m->derived);
}

void model_release(Model *m)
{
    free(m->layers);
    free(m->dir);
    free(m->derived);
    memset(m, 0, sizeof *m);
}
