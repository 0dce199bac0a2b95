/* safetensors.c: map a .safetensors file and validate its header (see
 * safetensors.h for what is checked and why). */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* F32 tensors are used in place, which reads the file's little-endian floats
 * as native ones. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kop reads safetensors F32 data in place and needs a little-endian host"
#endif

/* The reference implementation refuses headers above 100 MB; so do we, which
 * also keeps the length within json-c's int. */
#define ST_MAX_HEADER (100u * 1000 * 1000)

static const struct { const char *name; size_t size; } dtypes[ST_N_DTYPES] = {
    [ST_BOOL] = {"BOOL", 1},       [ST_U8] = {"U8", 1},
    [ST_I8] = {"I8", 1},           [ST_F8_E5M2] = {"F8_E5M2", 1},
    [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E8M0] = {"F8_E8M0", 1},
    [ST_I16] = {"I16", 2},         [ST_U16] = {"U16", 2},
    [ST_F16] = {"F16", 2},         [ST_BF16] = {"BF16", 2},
    [ST_I32] = {"I32", 4},         [ST_U32] = {"U32", 4},
    [ST_F32] = {"F32", 4},         [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8},         [ST_F64] = {"F64", 8},
};

const char *st_dtype_name(StDtype d)
{
    KOP_ASSERT(d >= 0 && d < ST_N_DTYPES);
    return dtypes[d].name;
}

size_t st_dtype_size(StDtype d)
{
    KOP_ASSERT(d >= 0 && d < ST_N_DTYPES);
    return dtypes[d].size;
}

static int dtype_from_name(const char *s)
{
    for (int d = 0; d < ST_N_DTYPES; d++)
        if (!strcmp(s, dtypes[d].name)) return d;
    return -1;
}

// ---------------------------------------------------------------------------
// Header validation

/* A non-negative JSON integer, or -1. */
static int64_t json_u63(json_object *o)
{
    if (!json_object_is_type(o, json_type_int)) return -1;
    int64_t v = json_object_get_int64(o);
    return v < 0 ? -1 : v;
}

/* Fill t from one header entry; data_len is the size of the data section.
 * *begin gets the start offset (for the overlap check). */
static int parse_entry(StTensor *t, uint64_t *begin, const unsigned char *data, uint64_t data_len,
                       json_object *v, const char *path, KopError *err)
{
    const char *name = t->name;
    json_object *jd, *js, *jo;
    if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "dtype", &jd)
        || !json_object_object_get_ex(v, "shape", &js) || !json_object_object_get_ex(v, "data_offsets", &jo))
        return kop_fail(err, KOP_EXIT_DATA,
                        "%s: tensor '%s': expected an object with dtype, shape and data_offsets", path, name);
    if (!json_object_is_type(jd, json_type_string))
        return kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s': dtype is not a string", path, name);
    int d = dtype_from_name(json_object_get_string(jd));
    if (d < 0)
        return kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s': unknown dtype '%s'", path, name,
                        json_object_get_string(jd));
    t->dtype = (StDtype)d;

    if (!json_object_is_type(js, json_type_array) || json_object_array_length(js) > ST_MAX_DIMS)
        return kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s': shape is not an array of at most %d integers",
                        path, name, ST_MAX_DIMS);
    t->ndim = (int)json_object_array_length(js);
    uint64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        int64_t n = json_u63(json_object_array_get_idx(js, (size_t)i));
        if (n < 0)
            return kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s': shape[%d] is not a non-negative integer",
                            path, name, i);
        t->shape[i] = n;
        if (n != 0 && numel > UINT64_MAX / (uint64_t)n)
            return kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s': shape overflows 64 bits", path, name);
        numel *= (uint64_t)n;
    }
    t->numel = numel;

    int64_t b = -1, e = -1;
    if (json_object_is_type(jo, json_type_array) && json_object_array_length(jo) == 2) {
        b = json_u63(json_object_array_get_idx(jo, 0));
        e = json_u63(json_object_array_get_idx(jo, 1));
    }
    if (b < 0 || e < 0 || b > e)
        return kop_fail(err, KOP_EXIT_DATA,
                        "%s: tensor '%s': data_offsets is not [begin, end] with 0 <= begin <= end", path, name);
    if ((uint64_t)e > data_len)
        return kop_fail(err, KOP_EXIT_DATA,
                        "%s: tensor '%s': data_offsets [%lld, %lld] run past the data section (%llu bytes)",
                        path, name, (long long)b, (long long)e, (unsigned long long)data_len);
    uint64_t size = dtypes[d].size;
    if (numel > UINT64_MAX / size)
        return kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s': shape overflows 64 bits", path, name);
    if (numel * size != (uint64_t)(e - b))
        return kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s': shape and dtype %s need %llu bytes but data_offsets span %lld",
                        path, name, dtypes[d].name, (unsigned long long)(numel * size), (long long)(e - b));
    t->data = data + b;
    t->nbytes = (size_t)(e - b);
    *begin = (uint64_t)b;
    return 0;
}

typedef struct { uint64_t begin, end; const char *name; } Range;

static int cmp_range(const void *a, const void *b)
{
    const Range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

/* No two non-empty ranges may share a byte. */
static int check_overlaps(const StFile *f, const uint64_t *begins, KopError *err)
{
    Range *r = kop_xmalloc(sizeof *r * (size_t)f->n_tensors);
    int n = 0;
    for (int i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].nbytes)
            r[n++] = (Range){begins[i], begins[i] + f->tensors[i].nbytes, f->tensors[i].name};
    qsort(r, (size_t)n, sizeof *r, cmp_range);
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++)
        if (r[i].begin < r[i - 1].end)
            rc = kop_fail(err, KOP_EXIT_DATA, "%s: tensors '%s' and '%s' overlap in the data section",
                          f->path, r[i - 1].name, r[i].name);
    free(r);
    return rc;
}

static int parse_header(StFile *f, const char *hdr, size_t hlen, const unsigned char *data, uint64_t data_len,
                        KopError *err)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *root = json_tokener_parse_ex(tok, hdr, (int)hlen);
    size_t end = json_tokener_get_parse_end(tok);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    const char *why = jerr == json_tokener_continue ? "it ends inside a value" : json_tokener_error_desc(jerr);
    json_tokener_free(tok);
    if (!root)
        return kop_fail(err, KOP_EXIT_DATA, "%s: header (%zu bytes) is not valid JSON: %s at byte %zu", f->path,
                        hlen, why, end);
    /* The format pads the header with spaces; anything else after the JSON
     * (a second value, a NUL) means the length or the header is wrong. */
    while (end < hlen && (hdr[end] == ' ' || hdr[end] == '\t' || hdr[end] == '\n' || hdr[end] == '\r')) end++;
    if (end != hlen || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return kop_fail(err, KOP_EXIT_DATA, "%s: header is not a single JSON object", f->path);
    }

    int cap = json_object_object_length(root);
    f->tensors = kop_xcalloc((size_t)cap + 1, sizeof *f->tensors);
    uint64_t *begins = kop_xmalloc(sizeof *begins * ((size_t)cap + 1));
    int rc = 0;
    json_object_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_object_is_type(val, json_type_object)) {
                rc = kop_fail(err, KOP_EXIT_DATA, "%s: __metadata__ is not an object", f->path);
                break;
            }
            continue;
        }
        StTensor *t = &f->tensors[f->n_tensors++];
        t->name = kop_xstrdup(key);
        if ((rc = parse_entry(t, &begins[f->n_tensors - 1], data, data_len, val, f->path, err)) < 0) break;
    }
    json_object_put(root);
    if (rc == 0) rc = check_overlaps(f, begins, err);
    free(begins);
    if (rc == 0) qsort(f->tensors, (size_t)f->n_tensors, sizeof *f->tensors, cmp_tensor_name);
    return rc;
}

// ---------------------------------------------------------------------------
// Opening and closing

int st_open(StFile *f, const char *path, KopError *err)
{
    memset(f, 0, sizeof *f);
    f->path = kop_xstrdup(path);
    /* O_NONBLOCK: a FIFO must not block the open; it fails the S_ISREG test. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) kop_fail(err, KOP_EXIT_DATA, "%s: no such file", path);
        else kop_fail_errno(err, "%s: cannot open", path);
        st_close(f);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        kop_fail_errno(err, "%s: cannot stat", path);
        goto fail_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        kop_fail(err, KOP_EXIT_DATA, "%s: not a regular file", path);
        goto fail_fd;
    }
    if (st.st_size < 8) {
        kop_fail(err, KOP_EXIT_DATA, "%s: file is %lld bytes, too short for the 8-byte header length",
                 path, (long long)st.st_size);
        goto fail_fd;
    }
    f->map_len = (size_t)st.st_size;
    void *map = mmap(NULL, f->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        kop_fail_errno(err, "%s: cannot map", path);
        goto fail_fd;
    }
    close(fd);
    f->map = map;

    const unsigned char *p = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | p[i];
    uint64_t room = (uint64_t)f->map_len - 8;
    if (hlen > room) {
        kop_fail(err, KOP_EXIT_DATA, "%s: header length %llu runs past the end of the file (%zu bytes)",
                 path, (unsigned long long)hlen, f->map_len);
        goto fail;
    }
    if (hlen > ST_MAX_HEADER) {
        kop_fail(err, KOP_EXIT_DATA, "%s: header length %llu is above the format's 100 MB limit",
                 path, (unsigned long long)hlen);
        goto fail;
    }
    if (parse_header(f, (const char *)p + 8, (size_t)hlen, p + 8 + hlen, room - hlen, err) < 0) goto fail;
    return 0;

fail_fd:
    close(fd);
fail:
    st_close(f);
    return -1;
}

void st_close(StFile *f)
{
    if (f->map) munmap(f->map, f->map_len);
    for (int i = 0; i < f->n_tensors; i++) free((char *)f->tensors[i].name);
    free(f->tensors);
    free(f->views);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const StTensor *st_find(const StFile *f, const char *name)
{
    if (!f->n_tensors) return NULL;
    StTensor key = {.name = name};
    return bsearch(&key, f->tensors, (size_t)f->n_tensors, sizeof key, cmp_tensor_name);
}

// ---------------------------------------------------------------------------
// Conversion to fp32

/* A tensor copied out of the mapping is not read there again: its pages
 * leave this process's resident memory (they stay in the page cache, and
 * a neighbour's page dropped at the edges is read back if used), so a
 * model whose tensors are all copied holds one copy, not two. */
static void release_pages(const StFile *f, const StTensor *t)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = (uintptr_t)t->data, hi = lo + t->nbytes;
    uintptr_t map = (uintptr_t)f->map;
    if (lo < map || hi > map + f->map_len) return; /* a torch view copied out already */
    lo = (lo + page - 1) / page * page;
    hi = hi / page * page;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int st_f32_copied(const StTensor *t)
{
    size_t align = t->nbytes >= KOP_ALIGN_FROM ? KOP_ALIGN : sizeof(float);
    return (uintptr_t)t->data % align != 0;
}

const float *st_tensor_f32(const StFile *f, const StTensor *t, float **owned, KopError *err)
{
    *owned = NULL;
    if (t->dtype == ST_F32 && !st_f32_copied(t)) return (const float *)t->data;
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s' has dtype %s; kop reads weights as F32, F16 or BF16",
                 f->path, t->name, st_dtype_name(t->dtype));
        return NULL;
    }
    float *buf = kop_xmalloc(sizeof *buf * (size_t)t->numel);
    kern_widen(buf, (KernMat){t->data, st_kern_dtype(t->dtype)}, 0, (size_t)t->numel);
    *owned = buf;
    release_pages(f, t);
    return buf;
}

KernDtype st_kern_dtype(StDtype d)
{
    return d == ST_F16 ? KERN_F16 : d == ST_BF16 ? KERN_BF16 : KERN_F32;
}

KernMat st_tensor_mat(const StFile *f, const StTensor *t, void **owned, KopError *err)
{
    *owned = NULL;
    if (t->dtype == ST_F32) {
        float *buf;
        const float *p = st_tensor_f32(f, t, &buf, err);
        *owned = buf;
        return (KernMat){p, KERN_F32};
    }
    if (t->dtype != ST_F16 && t->dtype != ST_BF16) {
        kop_fail(err, KOP_EXIT_DATA, "%s: tensor '%s' has dtype %s; kop reads weights as F32, F16 or BF16",
                 f->path, t->name, st_dtype_name(t->dtype));
        return (KernMat){NULL, KERN_F32};
    }
    /* in place at any alignment: the products widen it into aligned blocks */
    return (KernMat){t->data, st_kern_dtype(t->dtype)};
}
