/* test_torchbin.c: pytorch_model.bin archives written here by an independent
 * writer (torch_write.h), read by tb_open / model_load:
 *  - every element of contiguous, offset, transposed, permuted, F16, BF16,
 *    scalar, parameter-wrapped and tied tensors, for torch-shaped archives and
 *    plainer zip layouts (no data descriptors, zip64 extra fields), any top
 *    folder, a protocol 4 pickle with frames, MEMOIZE, STACK_GLOBAL and BUILD;
 *  - pickles that try to run code (os.system, builtins.eval, INST, NEWOBJ,
 *    REDUCE on a storage) refused with exit status 1, with proof that the
 *    command they carry never ran, also through `kop info`;
 *  - damaged archives (every truncation, wrong CRCs, compressed entries,
 *    local headers that disagree) and bad views (past the storage, absurd or
 *    negative strides, a broadcast view, a storage shorter than its id says);
 *  - a sharded mamba_ssm model with pytorch_model.bin.index.json, its
 *    padded vocabulary and tied head, through model_load. */
#include "safetensors_write.h"
#include "torch_write.h"

#include <sys/wait.h>

#include "model.h"
#include "model_mamba1.h"
#include "tap.h"
#include "torchbin.h"

static const char *root;

/* Storage KEY's element I, exact in F16 and BF16. */
static float sval(const char *key, int64_t i)
{
    int k = atoi(key);
    return (float)((int)((k * 5 + i * 3) % 19) - 9) / 8.0f;
}

static uint16_t f16_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xff, man = b & 0x7fffff;
    if (exp == 0) return (uint16_t)sign;                   /* only exact zeros here */
    return (uint16_t)(sign | (exp - 112) << 10 | man >> 13);
}

/* The bytes of storage KEY: NUMEL elements of DTYPE ("FloatStorage", ...). */
static unsigned char *storage_bytes(const char *key, const char *dtype, int64_t numel, size_t *len)
{
    int fl = !strcmp(dtype, "FloatStorage"), half = !strcmp(dtype, "HalfStorage") || !strcmp(dtype, "BFloat16Storage");
    int es = fl ? 4 : half ? 2 : !strcmp(dtype, "LongStorage") ? 8 : 1; /* others: BoolStorage */
    unsigned char *p = calloc((size_t)numel * (size_t)es + 1, 1);
    for (int64_t i = 0; i < numel; i++) {
        float v = sval(key, i);
        uint32_t b;
        memcpy(&b, &v, 4);
        if (half) b = !strcmp(dtype, "HalfStorage") ? f16_bits(v) : b >> 16;
        if (!fl && !half) b = (uint32_t)(i % 2); /* 0/1 as a bool, or a small int */
        for (int k = 0; k < es && k < 4; k++) p[(size_t)i * (size_t)es + (size_t)k] = (unsigned char)(b >> (8 * k));
    }
    *len = (size_t)numel * (size_t)es;
    return p;
}

/* An archive: <top>/data.pkl = PKL, one entry per distinct storage of T
 * (unless SKIP_KEY names one to leave out), and torch's small records. */
static unsigned char *archive(const char *top, const TwBuf *pkl, const TwTensor *t, int n, const TwZipOpt *o,
                              const char *byteorder, size_t *len)
{
    TwEntry e[64];
    char names[64][128];
    unsigned char *bufs[64];
    int ne = 0, nb = 0;
    snprintf(names[ne], sizeof names[0], "%s/data.pkl", top);
    e[ne] = (TwEntry){names[ne], pkl->p, pkl->n};
    ne++;
    for (int i = 0; i < n; i++) {
        if (t[i].same_as >= 0) continue;
        int dup = 0;
        for (int j = 0; j < i; j++) dup |= t[j].same_as < 0 && !strcmp(t[j].key, t[i].key);
        if (dup) continue;
        size_t bl;
        bufs[nb] = storage_bytes(t[i].key, t[i].storage, t[i].numel, &bl);
        snprintf(names[ne], sizeof names[0], "%s/data/%s", top, t[i].key);
        e[ne] = (TwEntry){names[ne], bufs[nb++], bl};
        ne++;
    }
    snprintf(names[ne], sizeof names[0], "%s/version", top);
    e[ne] = (TwEntry){names[ne], "3\n", 2};
    ne++;
    if (byteorder) {
        snprintf(names[ne], sizeof names[0], "%s/byteorder", top);
        e[ne] = (TwEntry){names[ne], byteorder, strlen(byteorder)};
        ne++;
    }
    unsigned char *z = tw_zip(e, ne, o, len);
    for (int i = 0; i < nb; i++) free(bufs[i]);
    return z;
}

// ---------------------------------------------------------------------------
// The tensors every layout must read back

#define T2(a, b) 2, {(a), (b)}
static TwTensor standard[] = {
    {"a", "0", "FloatStorage", 12, 0, T2(3, 4), {4, 1}, 0, -1},
    {"a_t", "0", "FloatStorage", 12, 0, T2(4, 3), {1, 4}, 0, -1},          /* a transposed */
    {"b", "1", "HalfStorage", 8, 2, 1, {5}, {1}, 0, -1},                    /* from offset 2 */
    {"c", "2", "BFloat16Storage", 4, 0, T2(2, 2), {2, 1}, 1, -1},           /* an nn.Parameter */
    {"tied", "0", "FloatStorage", 12, 0, T2(3, 4), {4, 1}, 0, -1},          /* a's storage again */
    {"memo_tied", "", "", 0, 0, 0, {0}, {0}, 0, 0},                         /* a itself (BINGET) */
    {"scalar", "3", "FloatStorage", 1, 0, 0, {0}, {0}, 0, -1},
    {"perm", "4", "FloatStorage", 24, 0, 3, {2, 3, 4}, {1, 8, 2}, 0, -1},   /* a permuted 3-d view */
    {"b_t", "1", "HalfStorage", 8, 1, T2(2, 3), {1, 2}, 0, -1},             /* F16, not contiguous */
    /* a transposed with a leading dimension of size 1, whose stride torch
     * never uses (any value, here the largest) */
    {"odd", "0", "FloatStorage", 12, 0, 3, {1, 4, 3}, {INT64_MAX, 1, 4}, 0, -1},
};
enum { N_STANDARD = sizeof standard / sizeof standard[0] };

static const TwTensor *resolve(const TwTensor *t, const TwTensor *all)
{
    return t->same_as >= 0 ? &all[t->same_as] : t;
}

/* Every element of every tensor of T equals the storage value its view
 * selects, the shapes and dtypes are the view's. */
static void check_table(const StFile *f, const TwTensor *all, int n, const char *what)
{
    int good = f->n_tensors == n;
    for (int i = 0; i < n && good; i++) {
        const TwTensor *t = resolve(&all[i], all);
        const StTensor *s = st_find(f, all[i].name);
        if (!s || s->ndim != t->ndim) { good = 0; break; }
        StDtype want = !strcmp(t->storage, "FloatStorage") ? ST_F32 : !strcmp(t->storage, "HalfStorage") ? ST_F16 : ST_BF16;
        if (s->dtype != want) good = 0;
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            good &= s->shape[d] == t->size[d];
            numel *= t->size[d];
        }
        float *owned;
        KopError err = {0};
        const float *v = st_tensor_f32(f, s, &owned, &err);
        if (!v) { good = 0; break; }
        for (int64_t e = 0; e < numel && good; e++) {
            int64_t rest = e, at = t->offset;
            for (int d = t->ndim - 1; d >= 0; d--) {
                at += rest % t->size[d] * t->stride[d];
                rest /= t->size[d];
            }
            if (v[e] != sval(t->key, at)) {
                diag("%s: %s[%lld] = %g, expected %g", what, all[i].name, (long long)e, v[e], sval(t->key, at));
                good = 0;
            }
        }
        free(owned);
    }
    ok(good, "%s: all %d tensors read back with their shapes, dtypes and values", what, n);
    const StTensor *a = st_find(f, "a"), *tied = st_find(f, "tied"), *memo = st_find(f, "memo_tied");
    if (a && tied && memo) ok(a->data == tied->data && a->data == memo->data, "%s: tied names share the bytes", what);
}

static void read_layout(const char *what, const char *top, const TwZipOpt *o, const char *byteorder)
{
    TwBuf pkl = {0};
    tw_state_dict(&pkl, standard, N_STANDARD);
    size_t len;
    unsigned char *z = archive(top, &pkl, standard, N_STANDARD, o, byteorder, &len);
    StFile f;
    KopError err = {0};
    if (ok(tb_open_mem(&f, z, len, "mem.bin", &err) == 0, "%s: reads", what)) {
        check_table(&f, standard, N_STANDARD, what);
        st_close(&f);
    } else {
        diag("%s", err.msg);
    }
    /* The same archive through a file and mmap. */
    const char *path = sw_path("%s/%s.bin", root, what);
    tw_write_file(path, z, len);
    if (ok(tb_open(&f, path, &err) == 0, "%s: reads from a file", what)) {
        ok(f.map != NULL && f.map_len == len, "%s: the file is mapped", what);
        st_close(&f);
    }
    free(z);
    free(pkl.p);
}

/* A protocol 4 pickle in the shape Python 3.8+'s pickler gives it: FRAME,
 * SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, EMPTY_DICT + SETITEM, and a
 * BUILD of the state dict's _metadata. */
static void protocol4(void)
{
    TwBuf b = {0};
    tw_op(&b, 0x80); tw_u8(&b, 4);
    tw_op(&b, 0x95); tw_le(&b, 0, 8);                       /* patched below */
    size_t frame_start = b.n;
    tw_short_str(&b, "collections"); tw_op(&b, 0x94);
    tw_short_str(&b, "OrderedDict"); tw_op(&b, 0x94);
    tw_op(&b, 0x93); tw_op(&b, 0x94);                        /* memo 2: OrderedDict */
    tw_op(&b, ')'); tw_op(&b, 'R'); tw_op(&b, 0x94);         /* memo 3: the state dict */
    tw_short_str(&b, "w"); tw_op(&b, 0x94);
    tw_short_str(&b, "torch._utils"); tw_short_str(&b, "_rebuild_tensor_v2"); tw_op(&b, 0x93); tw_op(&b, 0x94);
    tw_op(&b, '(');
    tw_op(&b, '(');
    tw_short_str(&b, "storage");
    tw_short_str(&b, "torch"); tw_short_str(&b, "FloatStorage"); tw_op(&b, 0x93);
    tw_short_str(&b, "0"); tw_short_str(&b, "cpu"); tw_int(&b, 12);
    tw_op(&b, 't'); tw_op(&b, 'Q');
    tw_int(&b, 0);
    tw_int(&b, 4); tw_int(&b, 3); tw_op(&b, 0x86);          /* size (4, 3) */
    tw_int(&b, 1); tw_int(&b, 4); tw_op(&b, 0x86);          /* stride (1, 4): a transposed */
    tw_op(&b, 0x89);
    tw_op(&b, 'h'); tw_u8(&b, 2); tw_op(&b, ')'); tw_op(&b, 'R');
    tw_op(&b, 'N');                                          /* metadata None (7 arguments) */
    tw_op(&b, 't'); tw_op(&b, 'R'); tw_op(&b, 0x94);
    tw_op(&b, 's');                                          /* SETITEM */
    /* BUILD with {'_metadata': {'': {'version': 1}}} */
    tw_op(&b, '}'); tw_short_str(&b, "_metadata");
    tw_op(&b, '}'); tw_short_str(&b, ""); tw_op(&b, '}'); tw_short_str(&b, "version"); tw_int(&b, 1); tw_op(&b, 's');
    tw_op(&b, 's'); tw_op(&b, 's'); tw_op(&b, 'b');
    tw_op(&b, '.');
    uint64_t flen = b.n - frame_start;
    for (int i = 0; i < 8; i++) b.p[frame_start - 8 + (size_t)i] = (unsigned char)(flen >> (8 * i));
    TwTensor t[] = {{"w", "0", "FloatStorage", 12, 0, T2(4, 3), {1, 4}, 0, -1}};
    TwZipOpt o = tw_torch_style();
    size_t len;
    unsigned char *z = archive("archive", &b, t, 1, &o, "little", &len);
    StFile f;
    KopError err = {0};
    if (ok(tb_open_mem(&f, z, len, "p4.bin", &err) == 0, "protocol 4 pickle: reads")) {
        check_table(&f, t, 1, "protocol 4 pickle");
        st_close(&f);
    } else {
        diag("%s", err.msg);
    }
    free(z);
    free(b.p);
}

// ---------------------------------------------------------------------------
// Refusals

static int expect_fail_mem(const unsigned char *z, size_t len, const char *want, const char *what)
{
    StFile f;
    KopError err = {0};
    int rc = tb_open_mem(&f, z, len, "bad.bin", &err);
    int good = rc < 0 && err.status == KOP_EXIT_DATA && !strncmp(err.msg, "bad.bin: ", 9) && strstr(err.msg, want);
    ok(good, "%s: refused (%s)", what, want);
    if (!good) diag("rc %d status %d: %s", rc, err.status, err.msg);
    if (rc == 0) st_close(&f);
    return good;
}

/* PKL with the standard storages around it, torch-style. */
static void expect_pickle_fail(const TwBuf *pkl, const char *want, const char *what)
{
    TwZipOpt o = tw_torch_style();
    size_t len;
    unsigned char *z = archive("m", pkl, standard, N_STANDARD, &o, NULL, &len);
    expect_fail_mem(z, len, want, what);
    free(z);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* A pickle that runs CMD through GLOBAL MODULE NAME + REDUCE, in a model
 * directory: refused by tb_open and by `kop info`, and CMD never ran. */
static void hostile(const char *module, const char *name, const char *arg_fmt, const char *what)
{
    const char *marker = sw_path("%s/ran-%s", root, name);
    char arg[512];
    snprintf(arg, sizeof arg, arg_fmt, marker);
    TwBuf b = {0};
    tw_op(&b, 0x80); tw_u8(&b, 2);
    tw_global(&b, module, name);
    tw_str(&b, arg);
    tw_op(&b, 0x85);                                         /* TUPLE1 */
    tw_op(&b, 'R');
    tw_op(&b, '.');
    char want[128];
    snprintf(want, sizeof want, "asks for '%s.%s', which kop refuses", module, name);
    expect_pickle_fail(&b, want, what);

    const char *dir = sw_path("%s/hostile-%s", root, name);
    mkdir(dir, 0700);
    sw_write_text(sw_path("%s/config.json", dir), "{\"d_model\": 4, \"n_layer\": 1, \"vocab_size\": 8}");
    TwZipOpt o = tw_torch_style();
    size_t len;
    unsigned char *z = archive("pytorch_model", &b, standard, N_STANDARD, &o, NULL, &len);
    tw_write_file(sw_path("%s/pytorch_model.bin", dir), z, len);
    const char *kop = getenv("KOP");
    if (kop) {
        int st = system(sw_path("'%s' info '%s' >/dev/null 2>'%s/err'", kop, dir, root));
        char *msg = kop_read_file(sw_path("%s/err", root), NULL, NULL);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 1 && msg && strstr(msg, "pytorch_model.bin: pytorch_model/data.pkl at byte 2"),
           "%s: `kop info` exits 1 naming the file and the place", what);
        free(msg);
    }
    ok(!exists(marker), "%s: the command in the pickle never ran", what);
    free(z);
    free(b.p);
}

static void refusals(void)
{
    hostile("posix", "system", "touch %s", "GLOBAL posix.system + REDUCE");
    hostile("os", "system", "touch %s", "GLOBAL os.system + REDUCE");
    hostile("builtins", "eval", "__import__('os').system('touch %s')", "GLOBAL builtins.eval + REDUCE");
    hostile("subprocess", "call", "touch %s", "GLOBAL subprocess.call");

    TwBuf b = {0};
    tw_op(&b, 0x80); tw_u8(&b, 4);
    tw_short_str(&b, "os"); tw_short_str(&b, "system"); tw_op(&b, 0x93);
    tw_short_str(&b, "true"); tw_op(&b, 0x85); tw_op(&b, 'R'); tw_op(&b, '.');
    expect_pickle_fail(&b, "asks for 'os.system'", "STACK_GLOBAL os.system");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_op(&b, '('); tw_str(&b, "true");
    tw_op(&b, 'i'); tw_bytes(&b, "os\nsystem\n", 10); tw_op(&b, '.');
    expect_pickle_fail(&b, "opcode INST is not one", "INST os.system");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_global(&b, "collections", "OrderedDict"); tw_op(&b, ')'); tw_op(&b, 0x81);
    tw_op(&b, '.');
    expect_pickle_fail(&b, "opcode NEWOBJ", "NEWOBJ");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_global(&b, "torch", "FloatStorage"); tw_op(&b, ')'); tw_op(&b, 'R');
    tw_op(&b, '.');
    expect_pickle_fail(&b, "REDUCE on torch.FloatStorage", "REDUCE on a storage type");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_op(&b, '}'); tw_op(&b, ')'); tw_op(&b, 'R'); tw_op(&b, '.');
    expect_pickle_fail(&b, "REDUCE calls a dict", "REDUCE on a dict");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_global(&b, "torch", "QInt8Storage"); tw_op(&b, '.');
    expect_pickle_fail(&b, "asks for 'torch.QInt8Storage'", "a quantized storage type");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_op(&b, ']'); tw_op(&b, '.');
    expect_pickle_fail(&b, "holds a list, not a dict of tensors", "a list, not a state dict");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_op(&b, '}'); tw_str(&b, "step"); tw_int(&b, 7); tw_op(&b, 's'); tw_op(&b, '.');
    expect_pickle_fail(&b, "'step' is a int, not a tensor", "a state dict entry that is not a tensor");
    b.n = 0;
    tw_op(&b, ']'); tw_op(&b, '.');
    expect_pickle_fail(&b, "no PROTO opcode first", "a protocol 0 pickle");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_op(&b, '}'); tw_op(&b, '.'); tw_op(&b, '.');
    expect_pickle_fail(&b, "1 bytes after STOP", "bytes after STOP");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_binget(&b, 3); tw_op(&b, '.');
    expect_pickle_fail(&b, "memo entry 3 was never stored", "GET of an empty memo slot");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_op(&b, ']'); tw_op(&b, 'N'); tw_op(&b, 'b'); tw_op(&b, '.');
    expect_pickle_fail(&b, "BUILD on a list", "BUILD on a list");
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_op(&b, 0x8a); tw_u8(&b, 9); tw_bytes(&b, "123456789", 9); tw_op(&b, '.');
    expect_pickle_fail(&b, "an integer of 9 bytes", "an int wider than 64 bits");
    free(b.p);

    /* Duplicate names, a tensor with backward hooks. */
    TwTensor dup[] = {standard[0], standard[0]};
    TwBuf p = {0};
    tw_state_dict(&p, dup, 2);
    expect_pickle_fail(&p, "names tensor 'a' twice", "a name twice");
    p.n = 0;
    tw_state_dict(&p, standard, 1);
    /* Put a key into the hooks dict: "OrderedDict() R" -> add SETITEM after it. */
    unsigned char *hook = NULL;
    for (size_t i = p.n; i-- > 2;)
        if (p.p[i] == 'R' && p.p[i - 1] == ')' && !hook) hook = p.p + i;
    KOP_ASSERT(hook);
    TwBuf q = {0};
    tw_bytes(&q, p.p, (size_t)(hook - p.p) + 1);
    tw_str(&q, "h"); tw_op(&q, 'N'); tw_op(&q, 's');
    tw_bytes(&q, hook + 1, p.n - (size_t)(hook - p.p) - 1);
    expect_pickle_fail(&q, "backward hooks", "a tensor with backward hooks");
    free(p.p);
    free(q.p);
}

/* One tensor of standard with its view changed. */
static void bad_view(TwTensor t, const char *want, const char *what)
{
    TwBuf p = {0};
    tw_state_dict(&p, &t, 1);
    TwZipOpt o = tw_torch_style();
    size_t len;
    TwTensor stored = t;
    if (!strcmp(t.key, "0")) stored.numel = 12;      /* the entry holds what storage 0 really has */
    unsigned char *z = archive("m", &p, &stored, 1, &o, NULL, &len);
    expect_fail_mem(z, len, want, what);
    free(z);
    free(p.p);
}

static void bad_views(void)
{
    TwTensor t = standard[0];
    t.size[1] = 5;
    bad_view(t, "runs past its storage of 12 elements", "a view past the end of its storage");
    t = standard[0];
    t.offset = 1;
    bad_view(t, "runs past its storage", "an offset pushing the view past the storage");
    t = standard[0];
    t.stride[0] = (int64_t)1 << 62;
    bad_view(t, "strides reach past 2^63", "an absurd stride");
    t = standard[0];
    t.stride[0] = -4;
    bad_view(t, "must be >= 0", "a negative stride");
    t = standard[0];
    t.offset = -1;
    bad_view(t, "offset -1 is negative", "a negative offset");
    t = standard[0];
    t.size[0] = (int64_t)1 << 40;
    t.size[1] = (int64_t)1 << 40;
    bad_view(t, "sizes overflow", "sizes whose product overflows");
    t = standard[0];
    t.ndim = 1;
    t.size[0] = (int64_t)1 << 40;
    t.stride[0] = 0;
    bad_view(t, "a broadcast view", "a broadcast view of 2^40 elements");
    t = standard[0];
    t.numel = 16;
    t.key = "0";
    {
        TwBuf p = {0};
        tw_state_dict(&p, &t, 1);
        TwZipOpt o = tw_torch_style();
        size_t len;
        TwTensor stored = t;
        stored.numel = 12;
        unsigned char *z = archive("m", &p, &stored, 1, &o, NULL, &len);
        expect_fail_mem(z, len, "holds 48 bytes, not the 16 elements", "a storage shorter than its id says");
        free(z);
        free(p.p);
    }
    /* Nine dimensions: the writer holds eight, so one more "K 1" goes into
     * each of the size and stride tuples. */
    t = standard[0];
    t.ndim = 8;
    for (int d = 0; d < 8; d++) t.size[d] = 1, t.stride[d] = 1;
    TwBuf p = {0};
    tw_state_dict(&p, &t, 1);
    TwBuf q = {0};
    /* Insert one more "K 1" before each of the two 't' closing size and stride. */
    for (size_t i = 0; i < p.n; i++) {
        tw_u8(&q, p.p[i]);
        if (i + 2 < p.n && p.p[i] == 'K' && p.p[i + 1] == 1 && p.p[i + 2] == 't') {
            tw_u8(&q, 1);
            tw_u8(&q, 'K');
        }
    }
    expect_pickle_fail(&q, "at most 8 dimensions", "9 dimensions");
    free(p.p);
    free(q.p);
    /* A storage key with no entry. */
    t = standard[0];
    TwBuf r = {0};
    tw_state_dict(&r, &t, 1);
    TwZipOpt o = tw_torch_style();
    size_t len;
    TwTensor other = t;
    other.key = "7";
    unsigned char *z = archive("m", &r, &other, 1, &o, NULL, &len);
    expect_fail_mem(z, len, "its storage 'm/data/0' is not in the archive", "a storage missing from the archive");
    free(z);
    free(r.p);
}

static void damaged_archives(void)
{
    TwBuf pkl = {0};
    tw_state_dict(&pkl, standard, N_STANDARD);
    size_t len;
    TwZipOpt o = tw_torch_style();
    unsigned char *z = archive("m", &pkl, standard, N_STANDARD, &o, NULL, &len);

    /* Every truncation fails cleanly, with exit status 1. */
    int all = 1;
    for (size_t cut = 0; cut < len; cut++) {
        StFile f;
        KopError err = {0};
        if (tb_open_mem(&f, z, cut, "cut.bin", &err) == 0) {
            st_close(&f);
            all = 0;
            diag("truncated at %zu of %zu: read", cut, len);
        } else if (err.status != KOP_EXIT_DATA || strncmp(err.msg, "cut.bin: ", 9)) {
            all = 0;
            diag("truncated at %zu: %s", cut, err.msg);
        }
    }
    ok(all, "each of the %zu truncations of a %zu-byte archive is refused with status 1", len, len);
    expect_fail_mem(z, len - 1, "no end of central directory record", "the last byte cut");
    expect_fail_mem(z, 0, "not a zip archive", "an empty file");

    /* A byte of a storage flipped: its CRC no longer matches. */
    unsigned char *flip = malloc(len);
    memcpy(flip, z, len);
    size_t sl;
    unsigned char *s0 = storage_bytes("4", "FloatStorage", 24, &sl);
    unsigned char *at = memmem(flip, len, s0, sl);
    KOP_ASSERT(at);
    at[5] ^= 0x10;
    expect_fail_mem(flip, len, "entry 'm/data/4': CRC-32", "a flipped byte in a storage");
    memcpy(flip, z, len);
    at = memmem(flip, len, "_rebuild_tensor_v2", 18);
    at[3] ^= 1;
    expect_fail_mem(flip, len, "entry 'm/data.pkl': CRC-32", "a flipped byte in data.pkl");
    free(flip);
    free(s0);
    free(z);

    for (int k = 0; k < 4; k++) {
        TwZipOpt b = tw_torch_style();
        const char *want = "", *what = "";
        if (k == 0) b.bad_crc = 1, want = "CRC-32", what = "a wrong CRC in the central directory";
        if (k == 1) b.method_entry = 1, want = "is compressed (method 8)", what = "a deflated entry";
        if (k == 2) b.rename_local = 1, want = "local header names another file", what = "a local header naming another file";
        /* Found by make fuzz-pickle: the names were compared before their lengths. */
        if (k == 3) b.longer_local = 0, want = "local header names another file", what = "a local header name running on";
        z = archive("m", &pkl, standard, N_STANDARD, &b, NULL, &len);
        expect_fail_mem(z, len, want, what);
        free(z);
    }
    z = archive("m", &pkl, standard, N_STANDARD, &o, "big", &len);
    expect_fail_mem(z, len, "stored big-endian", "a big-endian archive");
    free(z);

    /* Two entries of one name; no data.pkl. */
    TwEntry e[3] = {{"m/data.pkl", pkl.p, pkl.n}, {"m/version", "3\n", 2}, {"m/version", "3\n", 2}};
    z = tw_zip(e, 3, &o, &len);
    expect_fail_mem(z, len, "entry 'm/version' appears twice", "a name twice in the archive");
    free(z);
    z = tw_zip(e + 1, 1, &o, &len);
    expect_fail_mem(z, len, "no <folder>/data.pkl", "an archive without data.pkl");
    free(z);

    /* Every prefix of data.pkl inside an otherwise good archive. */
    all = 1;
    for (size_t cut = 0; cut < pkl.n; cut++) {
        TwBuf part = {pkl.p, cut, pkl.cap};
        z = archive("m", &part, standard, N_STANDARD, &o, NULL, &len);
        StFile f;
        KopError err = {0};
        if (tb_open_mem(&f, z, len, "cut.bin", &err) == 0) {
            st_close(&f);
            all = 0;
        } else if (err.status != KOP_EXIT_DATA) {
            all = 0;
        }
        free(z);
    }
    ok(all, "each of the %zu prefixes of data.pkl is refused with status 1", pkl.n);
    free(pkl.p);
}

// ---------------------------------------------------------------------------
// A sharded mamba_ssm model through model_load

static void sharded_model(void)
{
    /* d_model 4, one layer, d_state 2, expand 2 (d_inner 8), dt_rank auto = 1,
     * d_conv 2; vocab 10 padded to 16. */
    const char *dir = sw_path("%s/ssm-sharded", root);
    mkdir(dir, 0700);
    sw_write_text(sw_path("%s/config.json", dir),
                  "{\"d_model\": 4, \"n_layer\": 1, \"vocab_size\": 10, \"pad_vocab_size_multiple\": 8,"
                  " \"ssm_cfg\": {\"d_state\": 2, \"d_conv\": 2, \"dt_rank\": \"auto\"}, \"rms_norm\": true,"
                  " \"residual_in_fp32\": true, \"fused_add_norm\": true, \"tie_embeddings\": true}");
    /* Storage keys are per shard: each shard is its own archive. */
    TwTensor s1[] = {
        {"backbone.embedding.weight", "0", "FloatStorage", 64, 0, T2(16, 4), {4, 1}, 0, -1},
        {"backbone.layers.0.norm.weight", "1", "FloatStorage", 4, 0, 1, {4}, {1}, 0, -1},
        {"backbone.layers.0.mixer.in_proj.weight", "2", "FloatStorage", 64, 0, T2(16, 4), {4, 1}, 0, -1},
        {"backbone.layers.0.mixer.conv1d.weight", "3", "FloatStorage", 16, 0, 3, {8, 1, 2}, {2, 2, 1}, 0, -1},
        {"backbone.layers.0.mixer.conv1d.bias", "4", "FloatStorage", 8, 0, 1, {8}, {1}, 0, -1},
        {"lm_head.weight", "", "", 0, 0, 0, {0}, {0}, 0, 0},
    };
    TwTensor s2[] = {
        /* x_proj (5, 8) stored as the transpose of an (8, 5) storage */
        {"backbone.layers.0.mixer.x_proj.weight", "5", "FloatStorage", 40, 0, T2(5, 8), {1, 5}, 0, -1},
        {"backbone.layers.0.mixer.dt_proj.weight", "6", "HalfStorage", 8, 0, T2(8, 1), {1, 1}, 0, -1},
        {"backbone.layers.0.mixer.dt_proj.bias", "7", "FloatStorage", 8, 0, 1, {8}, {1}, 0, -1},
        {"backbone.layers.0.mixer.A_log", "8", "FloatStorage", 16, 0, T2(8, 2), {2, 1}, 0, -1},
        {"backbone.layers.0.mixer.D", "9", "BFloat16Storage", 8, 0, 1, {8}, {1}, 1, -1},
        {"backbone.layers.0.mixer.out_proj.weight", "10", "FloatStorage", 32, 0, T2(4, 8), {8, 1}, 0, -1},
        {"backbone.norm_f.weight", "11", "FloatStorage", 4, 0, 1, {4}, {1}, 0, -1},
        /* buffers beside the weights, as GPT-NeoX's .bin files carry (attention.bias, a bool mask) */
        {"backbone.layers.0.mixer.mask", "12", "BoolStorage", 4, 0, T2(2, 2), {2, 1}, 0, -1},
        {"backbone.layers.0.mixer.steps", "13", "LongStorage", 1, 0, 0, {0}, {0}, 0, -1},
    };
    int n1 = sizeof s1 / sizeof s1[0], n2 = sizeof s2 / sizeof s2[0];
    TwZipOpt o = tw_torch_style();
    TwBuf p1 = {0}, p2 = {0};
    tw_state_dict(&p1, s1, n1);
    tw_state_dict(&p2, s2, n2);
    size_t l1, l2;
    unsigned char *z1 = archive("pytorch_model-00001-of-00002", &p1, s1, n1, &o, "little", &l1);
    unsigned char *z2 = archive("pytorch_model-00002-of-00002", &p2, s2, n2, &o, NULL, &l2);
    tw_write_file(sw_path("%s/pytorch_model-00001-of-00002.bin", dir), z1, l1);
    tw_write_file(sw_path("%s/pytorch_model-00002-of-00002.bin", dir), z2, l2);
    char index[4096];
    size_t k = (size_t)snprintf(index, sizeof index, "{\"metadata\": {}, \"weight_map\": {");
    for (int i = 0; i < n1 + n2; i++)
        k += (size_t)snprintf(index + k, sizeof index - k, "%s\"%s\": \"pytorch_model-0000%d-of-00002.bin\"",
                              i ? ", " : "", i < n1 ? s1[i].name : s2[i - n1].name, i < n1 ? 1 : 2);
    snprintf(index + k, sizeof index - k, "}}");
    sw_write_text(sw_path("%s/pytorch_model.bin.index.json", dir), index);

    StFile f;
    KopError err = {0};
    if (ok(tb_open_mem(&f, z2, l2, "shard2.bin", &err) == 0, "a shard with bool and int64 buffers opens")) {
        const StTensor *mask = st_find(&f, "backbone.layers.0.mixer.mask"), *steps = st_find(&f, "backbone.layers.0.mixer.steps");
        ok(mask && mask->dtype == ST_BOOL && mask->nbytes == 4 && mask->data[1] == 1 && steps && steps->dtype == ST_I64
               && steps->nbytes == 8, "  read as data: a (2, 2) BOOL tensor and an I64 scalar");
        float *owned;
        ok(mask && !st_tensor_f32(&f, mask, &owned, &err) && strstr(err.msg, "dtype BOOL"),
           "  a bool tensor used as a weight is refused by name (%s)", err.msg);
        st_close(&f);
    }
    err = (KopError){0};
    Model m;
    if (!ok(model_load(&m, dir, &err) == 0, "sharded mamba_ssm model: loads, its buffers ignored")) {
        diag("%s", err.msg);
    } else {
        ok(m.cfg.arch == ARCH_MAMBA1 && m.cfg.vocab_size == 16 && m.cfg.vocab_padding == 6 && m.cfg.dt_rank == 1,
           "sharded mamba_ssm model: mamba1, 16 embedding rows of which 6 pad, dt_rank auto = 1");
        ok(m.lm_head.data == m.embed.data, "sharded mamba_ssm model: lm_head shares the embedding");
        size_t params = 64 + 4 + 64 + 16 + 8 + 40 + 8 + 8 + 16 + 8 + 32 + 4;
        is_int((int)m.n_params, (int)params, "sharded mamba_ssm model: parameters counted once");
        const Mamba1Layer *l0 = m.layers;
        float xp[40], dtp[8];
        kern_widen(xp, l0->x_proj, 0, 40);
        kern_widen(dtp, l0->dt_proj_w, 0, 8);
        int good = 1;
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 8; c++) good &= xp[r * 8 + c] == sval("5", c * 5 + r);
        ok(good, "sharded mamba_ssm model: the transposed x_proj reads as its (5, 8) view");
        good = 1;
        for (int i = 0; i < 8; i++) good &= l0->D[i] == sval("9", i) && dtp[i] == sval("6", i);
        ok(good && l0->dt_proj_w.dtype == KERN_F16, "sharded mamba_ssm model: BF16 D converted exactly, F16 dt_proj kept "
                                                    "as stored and widening exactly");
        model_free(&m);
    }
    /* A model directory with both formats reads the safetensors file. */
    sw_write_text(sw_path("%s/model.safetensors", dir), "");
    ok(model_load(&m, dir, &err) < 0 && strstr(err.msg, "model.safetensors"),
       "with model.safetensors present, it is the file read (%s)", err.msg);
    free(z1);
    free(z2);
    free(p1.p);
    free(p2.p);
}

int main(void)
{
    char *tmp = sw_tmpdir();
    root = tmp;
    TwZipOpt o = tw_torch_style();
    read_layout("torch-style", "pytorch_model", &o, "little");
    o = tw_plain_style();
    read_layout("plain zip", "archive", &o, NULL);
    o = tw_torch_style();
    o.zip64_extra = 1;
    read_layout("zip64 extras and descriptors", "a folder", &o, NULL);
    o = tw_plain_style();
    o.zip64_extra = 1;
    o.zip64_end = 1;
    read_layout("zip64 extras in the headers", "x", &o, NULL);
    protocol4();
    refusals();
    bad_views();
    damaged_archives();
    sharded_model();
    sw_rmtree(tmp);
    free(tmp);
    return done_testing();
}
