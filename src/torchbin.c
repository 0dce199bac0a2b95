/* torchbin.c: pytorch_model.bin -> StFile (see torchbin.h).  torch's own
 * reader for comparison: torch/serialization.py (_load, persistent_load)
 * and torch/_utils.py (_rebuild_tensor_v2). */
#include "torchbin.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zipread.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kop reads checkpoint F32 data in place and needs a little-endian host"
#endif

static StDtype st_dtype(PkDtype d)
{
    static const StDtype st[] = {[PK_F32] = ST_F32, [PK_F16] = ST_F16, [PK_BF16] = ST_BF16, [PK_F64] = ST_F64,
                                 [PK_B8] = ST_BOOL, [PK_U8] = ST_U8, [PK_I8] = ST_I8, [PK_I16] = ST_I16,
                                 [PK_I32] = ST_I32, [PK_I64] = ST_I64};
    return st[d];
}

// ---------------------------------------------------------------------------
// Views

/* a * b into *out unless it overflows int64 (a, b >= 0). */
static int mul_ok(int64_t a, int64_t b, int64_t *out)
{
    if (a && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static int64_t view_numel(const PkTensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        if (!mul_ok(n, t->size[d], &n)) return -1;
    return n;
}

int tb_check_view(const PkTensor *t, int64_t storage_numel, char *why, size_t n)
{
    if (t->offset < 0) {
        snprintf(why, n, "storage offset %lld is negative", (long long)t->offset);
        return -1;
    }
    for (int d = 0; d < t->ndim; d++)
        if (t->size[d] < 0 || t->stride[d] < 0) {
            snprintf(why, n, "dimension %d has size %lld and stride %lld (both must be >= 0)", d,
                     (long long)t->size[d], (long long)t->stride[d]);
            return -1;
        }
    int64_t numel = view_numel(t);
    if (numel < 0) {
        snprintf(why, n, "its sizes overflow 64 bits");
        return -1;
    }
    if (numel == 0) {
        if (t->offset > storage_numel) {
            snprintf(why, n, "storage offset %lld is past the storage's %lld elements", (long long)t->offset,
                     (long long)storage_numel);
            return -1;
        }
        return 0;
    }
    /* The last element the view reads: offset + sum (size - 1) * stride. */
    int64_t last = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t step;
        if (!mul_ok(t->size[d] - 1, t->stride[d], &step) || step > INT64_MAX - last) {
            snprintf(why, n, "its strides reach past 2^63 elements");
            return -1;
        }
        last += step;
    }
    if (last >= storage_numel) {
        snprintf(why, n, "the view (offset %lld, last element %lld) runs past its storage of %lld elements",
                 (long long)t->offset, (long long)last, (long long)storage_numel);
        return -1;
    }
    if (numel > storage_numel) {
        snprintf(why, n, "the view has %lld elements but its storage only %lld (a broadcast view)",
                 (long long)numel, (long long)storage_numel);
        return -1;
    }
    return 0;
}

/* Row-major contiguous: every stride is the product of the sizes after it
 * (dimensions of size 1 may have any stride). */
static int contiguous(const PkTensor *t)
{
    int64_t want = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->size[d] == 0) return 1;
        if (t->size[d] != 1 && t->stride[d] != want) return 0;
        want *= t->size[d];
    }
    return 1;
}

/* Copy the (checked) view V of BASE into OUT, contiguous, ES bytes each. */
static void materialise(unsigned char *out, const unsigned char *base, const PkTensor *v, size_t es)
{
    /* A dimension of size 1 never moves: its stride (unchecked, any size) is
     * dropped so that stepping past it cannot overflow. */
    PkTensor c = *v;
    const PkTensor *t = &c;
    for (int d = 0; d < c.ndim; d++)
        if (c.size[d] == 1) c.stride[d] = 0;
    int64_t idx[PK_MAX_DIMS] = {0}, numel = view_numel(t), off = t->offset;
    for (int64_t i = 0; i < numel; i++) {
        memcpy(out + (size_t)i * es, base + (size_t)off * es, es);
        for (int d = t->ndim - 1; d >= 0; d--) {
            off += t->stride[d];
            if (++idx[d] < t->size[d]) break;
            off -= t->stride[d] * t->size[d];
            idx[d] = 0;
        }
    }
}

// ---------------------------------------------------------------------------
// The state dict -> tensor table

typedef struct Reader {
    StFile *f;
    Zip z;
    char *top;                 /* the archive's top folder, without '/' */
    KopError *err;
} Reader;

/* The one entry <top>/data.pkl with <top> a single path component. */
static ZipEntry *find_pickle(Reader *r)
{
    ZipEntry *found = NULL;
    for (int i = 0; i < r->z.n_entries; i++) {
        const char *name = r->z.entries[i].name, *slash = strchr(name, '/');
        if (!slash || slash == name || strcmp(slash, "/data.pkl")) continue;
        if (found) {
            kop_fail(r->err, KOP_EXIT_DATA, "%s: two pickles, '%s' and '%s'", r->f->path, found->name, name);
            return NULL;
        }
        found = &r->z.entries[i];
    }
    if (!found) {
        kop_fail(r->err, KOP_EXIT_DATA, "%s: no <folder>/data.pkl in the archive (not a torch.save checkpoint)",
                 r->f->path);
        return NULL;
    }
    size_t n = strlen(found->name) - strlen("/data.pkl");
    r->top = kop_xmalloc(n + 1);
    memcpy(r->top, found->name, n);
    r->top[n] = 0;
    return found;
}

static char *entry_name(const Reader *r, const char *rest)
{
    size_t n = strlen(r->top) + strlen(rest) + 2;
    char *s = kop_xmalloc(n);
    snprintf(s, n, "%s/%s", r->top, rest);
    return s;
}

/* torch writes <top>/byteorder since 2.1; its absence means little-endian. */
static int check_byteorder(Reader *r)
{
    char *name = entry_name(r, "byteorder");
    ZipEntry *e = zip_find(&r->z, name);
    free(name);
    if (!e) return 0;
    if (!zip_entry_data(&r->z, e, r->err) || zip_verify_crc(&r->z, &e, 1, r->err) < 0) return -1;
    if (e->size != 6 || memcmp(e->data, "little", 6))
        return kop_fail(r->err, KOP_EXIT_DATA, "%s: the tensors are stored big-endian; kop reads little-endian "
                        "checkpoints", r->f->path);
    return 0;
}

/* The entry holding storage S, checked against the id's dtype and size. */
static ZipEntry *storage_entry(Reader *r, const PkStorage *s, const char *tensor)
{
    size_t n = strlen(s->key) + sizeof "data/";
    char *rest = kop_xmalloc(n);
    snprintf(rest, n, "data/%s", s->key);
    char *full = entry_name(r, rest);
    free(rest);
    ZipEntry *e = zip_find(&r->z, full);
    if (!e) {
        kop_fail(r->err, KOP_EXIT_DATA, "%s: tensor '%s': its storage '%s' is not in the archive", r->f->path, tensor,
                 full);
    } else if (!zip_entry_data(&r->z, e, r->err)) {
        e = NULL;
    } else {
        uint64_t es = st_dtype_size(st_dtype(s->dtype));
        if ((uint64_t)s->numel > UINT64_MAX / es || e->size != (uint64_t)s->numel * es) {
            kop_fail(r->err, KOP_EXIT_DATA, "%s: tensor '%s': storage '%s' holds %llu bytes, not the %lld elements of "
                     "%llu bytes its id says", r->f->path, tensor, full, (unsigned long long)e->size,
                     (long long)s->numel, (unsigned long long)es);
            e = NULL;
        }
    }
    free(full);
    return e;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

/* The same view of the same storage as an earlier tensor (a tie that the
 * pickle did not memoize), so a copy is shared. */
static int same_view(const PkTensor *a, const PkTensor *b)
{
    if (strcmp(a->storage->key, b->storage->key) || a->offset != b->offset || a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->size[d] != b->size[d] || a->stride[d] != b->stride[d]) return 0;
    return 1;
}

static int build_table(Reader *r, const PkValue *root)
{
    StFile *f = r->f;
    if (root->kind != PK_DICT)
        return kop_fail(r->err, KOP_EXIT_DATA, "%s: data.pkl holds a %s, not a dict of tensors (a state dict)", f->path,
                        pk_kind_name(root->kind));
    size_t n = root->u.seq.n / 2;
    if (n > INT32_MAX / 2) return kop_fail(r->err, KOP_EXIT_DATA, "%s: too many tensors", f->path);
    f->tensors = kop_xcalloc(n ? n : 1, sizeof *f->tensors);
    const PkTensor **views = kop_xcalloc(n ? n : 1, sizeof *views);
    ZipEntry **storage = kop_xcalloc(n ? n : 1, sizeof *storage);  /* (n) each tensor's */
    ZipEntry **entries = kop_xcalloc(n ? n : 1, sizeof *entries);
    int n_entries = 0, rc = 0;
    uint64_t copy_bytes = 0;
    /* Pass 1: names, storages, geometry; the bytes of each copy. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        const PkValue *k = root->u.seq.items[2 * i], *v = root->u.seq.items[2 * i + 1];
        if (k->kind != PK_STR || strlen(k->u.str.s) != k->u.str.len) {
            rc = kop_fail(r->err, KOP_EXIT_DATA, "%s: data.pkl: entry %zu of the state dict has a %s key, not a name",
                          f->path, i, pk_kind_name(k->kind));
            break;
        }
        StTensor *t = &f->tensors[f->n_tensors++];
        t->name = kop_xstrdup(k->u.str.s);
        if (v->kind != PK_TENSOR) {
            rc = kop_fail(r->err, KOP_EXIT_DATA, "%s: data.pkl: '%s' is a %s, not a tensor", f->path, t->name,
                          pk_kind_name(v->kind));
            break;
        }
        const PkTensor *pt = views[i] = &v->u.tensor;
        ZipEntry *e = storage[i] = storage_entry(r, pt->storage, t->name);
        char why[256];
        if (!e) {
            rc = -1;
            break;
        }
        if (tb_check_view(pt, pt->storage->numel, why, sizeof why) < 0) {
            rc = kop_fail(r->err, KOP_EXIT_DATA, "%s: tensor '%s': %s", f->path, t->name, why);
            break;
        }
        int known = 0;
        for (int j = 0; j < n_entries && !known; j++) known = entries[j] == e;
        if (!known) entries[n_entries++] = e;
        t->dtype = st_dtype(pt->storage->dtype);
        t->ndim = pt->ndim;
        memcpy(t->shape, pt->size, sizeof t->shape[0] * (size_t)pt->ndim);
        t->numel = (uint64_t)view_numel(pt);
        t->nbytes = (size_t)t->numel * st_dtype_size(t->dtype);
        if (contiguous(pt)) {
            t->data = e->data + (size_t)pt->offset * st_dtype_size(t->dtype);
        } else {
            int shared = 0;
            for (size_t j = 0; j < i && !shared; j++) shared = same_view(views[j], pt);
            if (!shared) copy_bytes += (t->nbytes + 63) / 64 * 64;
            /* Copies beyond the archive's own size can only come from views
             * made to exhaust memory. */
            if (copy_bytes > r->z.len)
                rc = kop_fail(r->err, KOP_EXIT_DATA, "%s: tensor '%s': the non-contiguous views would need more "
                              "memory than the archive holds", f->path, t->name);
        }
    }
    if (rc == 0) rc = zip_verify_crc(&r->z, entries, n_entries, r->err);
    /* Pass 2: the copies, now that every storage is known good. */
    if (rc == 0 && copy_bytes) {
        unsigned char *out = f->views = kop_xmalloc((size_t)copy_bytes);
        for (size_t i = 0; i < n; i++) {
            StTensor *t = &f->tensors[i];
            if (t->data) continue;
            size_t j = 0;
            while (j < i && !(f->tensors[j].data && !contiguous(views[j]) && same_view(views[j], views[i]))) j++;
            if (j < i) {
                t->data = f->tensors[j].data;
                continue;
            }
            materialise(out, storage[i]->data, views[i], st_dtype_size(t->dtype));
            t->data = out;
            out += (t->nbytes + 63) / 64 * 64;
        }
    }
    free(views);
    free(storage);
    free(entries);
    if (rc == 0) {
        qsort(f->tensors, (size_t)f->n_tensors, sizeof *f->tensors, cmp_tensor_name);
        for (int i = 1; i < f->n_tensors && rc == 0; i++)
            if (!strcmp(f->tensors[i - 1].name, f->tensors[i].name))
                rc = kop_fail(r->err, KOP_EXIT_DATA, "%s: data.pkl names tensor '%s' twice", f->path,
                              f->tensors[i].name);
    }
    return rc;
}

// ---------------------------------------------------------------------------
// Opening

int tb_open_mem(StFile *f, const unsigned char *map, size_t len, const char *path, KopError *err)
{
    memset(f, 0, sizeof *f);
    f->path = kop_xstrdup(path);
    Reader r = {.f = f, .err = err};
    PkArena *arena = NULL;
    int rc = zip_open(&r.z, map, len, f->path, err);
    ZipEntry *pkl = rc == 0 ? find_pickle(&r) : NULL;
    if (!pkl || !zip_entry_data(&r.z, pkl, err) || zip_verify_crc(&r.z, &pkl, 1, err) < 0 || check_byteorder(&r) < 0) {
        rc = -1;
    } else {
        size_t n = strlen(f->path) + strlen(pkl->name) + 3;
        char *where = kop_xmalloc(n);
        snprintf(where, n, "%s: %s", f->path, pkl->name);
        arena = pk_arena_new();
        const PkValue *root = pk_load(arena, pkl->data, (size_t)pkl->size, where, err);
        free(where);
        rc = root ? build_table(&r, root) : -1;
    }
    pk_arena_free(arena);
    zip_close(&r.z);
    free(r.top);
    if (rc < 0) st_close(f);
    return rc;
}

int tb_open(StFile *f, const char *path, KopError *err)
{
    memset(f, 0, sizeof *f);
    /* O_NONBLOCK: a FIFO must not block the open; it fails the S_ISREG test. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return kop_fail(err, KOP_EXIT_DATA, "%s: no such file", path);
        return kop_fail_errno(err, "%s: cannot open", path);
    }
    struct stat st;
    int rc = -1;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) < 0) kop_fail_errno(err, "%s: cannot stat", path);
    else if (!S_ISREG(st.st_mode)) kop_fail(err, KOP_EXIT_DATA, "%s: not a regular file", path);
    else if (st.st_size == 0) kop_fail(err, KOP_EXIT_DATA, "%s: empty file", path);
    else if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
        kop_fail_errno(err, "%s: cannot map", path);
    else rc = 0;
    close(fd);
    if (rc < 0) return -1;
    if (tb_open_mem(f, map, (size_t)st.st_size, path, err) < 0) {
        munmap(map, (size_t)st.st_size);
        return -1;
    }
    f->map = map;
    f->map_len = (size_t)st.st_size;
    return 0;
}
