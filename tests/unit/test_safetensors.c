/* test_safetensors.c: st_open's validation of malformed files, in-place and
 * converted reads (F32, misaligned F32, F16, BF16), and the conversions over
 * every F16 bit pattern.  Files are written into a mkdtemp directory. */
#include "safetensors_write.h"

#include <math.h>

#include "safetensors.h"
#include "tap.h"

static const char *dir;

/* st_open(PATH) must fail with status 1 and a message that names the file
 * and contains WANT. */
static void expect_bad(const char *path, const char *want, const char *what)
{
    StFile f;
    KopError err = {0};
    int rc = st_open(&f, path, &err);
    ok(rc == -1 && err.status == KOP_EXIT_DATA && strstr(err.msg, path) && strstr(err.msg, want),
       "rejects %s", what);
    if (rc == 0) st_close(&f);
    else if (!strstr(err.msg, want)) diag("  message: %s (wanted '%s')", err.msg, want);
    ok(f.map == NULL && f.tensors == NULL && f.path == NULL, "  and leaves the StFile closed");
}

/* st_open(PATH) must succeed; WHAT describes the file. */
static int open_ok(StFile *f, const char *path, const char *what)
{
    KopError err = {0};
    if (ok(st_open(f, path, &err) == 0, "opens %s", what)) return 1;
    diag("  %s", err.msg);
    return 0;
}

/* A header and DATA written to a fresh file, then expect_bad. */
static void bad_header(const char *header, size_t ndata, const char *want, const char *what)
{
    static int k;
    unsigned char data[64] = {0};
    const char *path = sw_path("%s/bad%d.safetensors", dir, k++);
    sw_write_file(path, header, data, ndata);
    expect_bad(path, want, what);
}

static void test_malformed(void)
{
    const char *p = sw_path("%s/empty.safetensors", dir);
    sw_write_text(p, "");
    expect_bad(p, "too short", "an empty file");
    p = sw_path("%s/five.safetensors", dir);
    sw_write_text(p, "\x10\0\0\0\0");
    expect_bad(p, "too short", "a 5-byte file");
    p = sw_path("%s/past.safetensors", dir);
    sw_write_raw(p, 1000, "{}", NULL, 0);
    expect_bad(p, "runs past the end", "a header length past EOF");
    p = sw_path("%s/huge.safetensors", dir);
    sw_write_raw(p, UINT64_MAX, "{}", NULL, 0);
    expect_bad(p, "runs past the end", "a header length of 2^64-1");
    expect_bad(sw_path("%s/absent.safetensors", dir), "no such file", "a missing file");
    expect_bad(dir, "not a regular file", "a directory");
    p = sw_path("%s/fifo.safetensors", dir);
    ok(mkfifo(p, 0600) == 0, "made a FIFO");
    expect_bad(p, "not a regular file", "a FIFO (without blocking on it)");

    bad_header("not json at all", 0, "not valid JSON", "a non-JSON header");
    bad_header("", 8, "not valid JSON", "an empty header");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],", 4, "not valid JSON", "a header cut short");
    bad_header("[1, 2]", 0, "not a single JSON object", "a header that is an array");
    bad_header("{} {}", 0, "not a single JSON object", "two JSON values");
    bad_header("{\"a\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F17'",
               "an unknown dtype");
    bad_header("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string",
               "a numeric dtype");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "expected an object with", "missing data_offsets");
    bad_header("{\"a\":[1,2,3]}", 4, "expected an object with", "a tensor entry that is not an object");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,64]}}", 16, "run past the data section",
               "offsets out of range");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16, "0 <= begin <= end",
               "begin after end");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 16, "0 <= begin <= end",
               "a negative offset");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]}}", 16, "0 <= begin <= end",
               "a fractional offset");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24, "overlap",
               "overlapping ranges");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16,
               "need 24 bytes but data_offsets span 16", "a shape that does not match the byte range");
    bad_header("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24,
               "need 12 bytes but data_offsets span 24", "a BF16 shape that does not match the byte range");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[0,16]}}", 16,
               "overflows 64 bits", "a shape whose element count overflows");
    bad_header("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,16]}}", 16,
               "overflows 64 bits", "a shape whose byte size overflows");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0] is not",
               "a negative dimension");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
               "at most 8", "too many dimensions");
    bad_header("{\"__metadata__\":[\"x\"]}", 0, "__metadata__ is not an object", "a non-object __metadata__");

    /* A valid file cut short: in its data, then in its header. */
    SwList *l = calloc(1, sizeof *l);
    sw_add(l, "F32", SW2(4, 4), "w");
    p = sw_path("%s/whole.safetensors", dir);
    sw_write_list(p, l, 0, l->n);
    struct stat st;
    stat(p, &st);
    FILE *f = fopen(p, "rb");
    unsigned char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ok(n == (size_t)st.st_size && n > 72, "wrote a %zu-byte file to truncate", n);
    const char *cut = sw_path("%s/cut-data.safetensors", dir);
    sw_write_bytes(cut, buf, n - 10, NULL, 0);
    expect_bad(cut, "run past the data section", "a file truncated in its data");
    cut = sw_path("%s/cut-header.safetensors", dir);
    sw_write_bytes(cut, buf, 20, NULL, 0);
    expect_bad(cut, "runs past the end", "a file truncated in its header");
    free(l);
}

// ---------------------------------------------------------------------------

static void test_valid(void)
{
    /* data section: a (F32 2x3) | h (F16 x8) | b (BF16 x4) | i (I64 x2) | z (empty) */
    unsigned char data[24 + 16 + 8 + 16];
    float a[6] = {0, 0.5f, -1, 1.5f, 1e-30f, -3e38f};
    uint16_t h[8] = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x7E00};
    uint16_t b[4] = {0x3F80, 0xC060, 0x4049, 0x0001};
    int64_t iv[2] = {7, -7};
    memcpy(data, a, 24);
    for (int i = 0; i < 8; i++) data[24 + 2 * i] = (unsigned char)h[i], data[25 + 2 * i] = (unsigned char)(h[i] >> 8);
    for (int i = 0; i < 4; i++) data[40 + 2 * i] = (unsigned char)b[i], data[41 + 2 * i] = (unsigned char)(b[i] >> 8);
    memcpy(data + 48, iv, 16);
    const char *header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"h\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[24,40]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[40,48]},"
        "\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[48,64]},"
        "\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[24,24]},"
        "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}";
    /* pad to 8 so a is aligned: header + spaces */
    char padded[1024];
    size_t hn = strlen(header);
    memcpy(padded, header, hn);
    while (hn % 8) padded[hn++] = ' ';
    padded[hn] = '\0';

    /* "s" (a scalar) shares bytes with "a": overlapping, so first without it. */
    const char *p = sw_path("%s/overlap-scalar.safetensors", dir);
    sw_write_file(p, padded, data, sizeof data);
    expect_bad(p, "overlap", "a scalar overlapping another tensor");

    char *cut = strstr(padded, ",\"s\":");
    strcpy(cut, "}");
    hn = strlen(padded);
    while (hn % 8) padded[hn++] = ' ';
    padded[hn] = '\0';
    p = sw_path("%s/good.safetensors", dir);
    sw_write_file(p, padded, data, sizeof data);

    StFile f;
    KopError err = {0};
    if (!open_ok(&f, p, "a valid file with F32, F16, BF16, I64 and empty tensors")) return;
    is_int(f.n_tensors, 5, "five tensors (__metadata__ is not one)");
    ok(st_find(&f, "__metadata__") == NULL && st_find(&f, "nope") == NULL, "st_find misses absent names");
    const StTensor *t = st_find(&f, "a");
    ok(t && t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->numel == 6
           && t->nbytes == 24, "a: F32 [2, 3]");
    float *owned;
    const float *v = st_tensor_f32(&f, t, &owned, &err);
    ok(v == (const float *)t->data && owned == NULL, "aligned F32 is used in place");
    ok(v && !memcmp(v, a, sizeof a), "F32 values read back exactly");

    t = st_find(&f, "h");
    v = st_tensor_f32(&f, t, &owned, &err);
    ok(owned != NULL && v == owned, "F16 is converted into an owned buffer");
    is_float(v[0], 1.0, 0, "F16 0x3C00 = 1");
    is_float(v[1], -2.0, 0, "F16 0xC000 = -2");
    is_float(v[2], 0.5, 0, "F16 0x3800 = 0.5");
    is_float(v[3], 65504.0, 0, "F16 0x7BFF = 65504 (largest)");
    is_float(v[4], ldexp(1, -24), 0, "F16 0x0001 = 2^-24 (smallest subnormal)");
    ok(v[5] == 0 && signbit(v[5]), "F16 0x8000 = -0");
    ok(isinf(v[6]) && v[6] > 0, "F16 0x7C00 = +inf");
    ok(isnan(v[7]), "F16 0x7E00 = NaN");
    free(owned);

    t = st_find(&f, "b");
    v = st_tensor_f32(&f, t, &owned, &err);
    ok(owned != NULL && t->ndim == 2, "BF16 [2, 2] is converted");
    is_float(v[0], 1.0, 0, "BF16 0x3F80 = 1");
    is_float(v[1], -3.5, 0, "BF16 0xC060 = -3.5");
    is_float(v[2], 3.140625, 0, "BF16 0x4049 = 3.140625");
    is_float(v[3], ldexp(1, -133), 0, "BF16 0x0001 = 2^-133");
    free(owned);

    t = st_find(&f, "i");
    err = (KopError){0};
    v = st_tensor_f32(&f, t, &owned, &err);
    ok(v == NULL && owned == NULL && err.status == KOP_EXIT_DATA && strstr(err.msg, "'i'")
           && strstr(err.msg, "I64") && strstr(err.msg, p),
       "an I64 tensor is refused as weights, naming file, tensor and dtype");
    t = st_find(&f, "z");
    ok(t && t->numel == 0 && t->nbytes == 0, "an empty tensor is allowed");
    st_close(&f);
}

/* A header of odd length puts the data section at an odd address: F32 must
 * then be copied, not cast. */
static void test_misaligned(void)
{
    float a[3] = {1.25f, -2.5f, 1e-3f};
    const char *header = "{\"m\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    char h[256];
    snprintf(h, sizeof h, "%s", header);
    while ((8 + strlen(h)) % 4 != 1) strcat(h, " ");
    const char *p = sw_path("%s/odd.safetensors", dir);
    sw_write_file(p, h, a, sizeof a);
    StFile f;
    KopError err = {0};
    if (!open_ok(&f, p, "a file whose data section is misaligned")) return;
    const StTensor *t = st_find(&f, "m");
    float *owned;
    const float *v = st_tensor_f32(&f, t, &owned, &err);
    ok((uintptr_t)t->data % 4 != 0 && owned && v == owned, "misaligned F32 is copied");
    ok(v && !memcmp(v, a, sizeof a), "  with the same values");
    free(owned);
    st_close(&f);
}

/* A weight matrix (KOP_ALIGN_FROM bytes or more) is used in place only
 * when it starts on a KOP_ALIGN boundary, since BLIS is slower on others;
 * the data section of real checkpoints often starts at 8 mod 64. */
static void test_large_alignment(void)
{
    enum { N = 4096 }; /* 16 KiB each */
    static float w[2 * N];
    for (int i = 0; i < 2 * N; i++) w[i] = (float)i * 0.5f - 7.0f;
    char h[512];
    snprintf(h, sizeof h, "{\"x\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[0,%d]},"
             "\"y\":{\"dtype\":\"F32\",\"shape\":[64,%d],\"data_offsets\":[%d,%d]}}", N, 4 * N, N / 64, 4 * N, 8 * N);
    for (int shift = 0; shift < 2; shift++) {
        /* the data section starts at 64 (in place) or at 72 (copied) */
        while ((8 + strlen(h)) % 64 != (shift ? 8u : 0u)) strcat(h, " ");
        const char *p = sw_path("%s/large-%d.safetensors", dir, shift);
        sw_write_file(p, h, w, sizeof w);
        StFile f;
        KopError err = {0};
        if (!open_ok(&f, p, shift ? "large tensors at 8 mod 64" : "large tensors at 0 mod 64")) return;
        for (int k = 0; k < 2; k++) {
            const StTensor *t = st_find(&f, k ? "y" : "x");
            float *owned;
            const float *v = st_tensor_f32(&f, t, &owned, &err);
            ok(v && (uintptr_t)v % KOP_ALIGN == 0, "%s (data at %d mod 64): the weights start on a 64-byte boundary",
               t->name, (int)((uintptr_t)t->data % 64));
            ok(shift ? owned == v : owned == NULL && v == (const float *)t->data,
               shift ? "  a copy, since the mapping is misaligned" : "  in place");
            ok(v && !memcmp(v, w + (size_t)k * N, sizeof(float) * N), "  with the file's values");
            free(owned);
        }
        st_close(&f);
    }
}

/* Every F16 bit pattern against the formula (-1)^s * 2^(e-15) * (1 + m/1024). */
static void test_all_f16(void)
{
    unsigned char in[2 * 65536];
    static float out[65536];
    for (int i = 0; i < 65536; i++) in[2 * i] = (unsigned char)i, in[2 * i + 1] = (unsigned char)(i >> 8);
    kern_f16_to_f32(out, in, 65536);
    int bad = 0, nan_ok = 1;
    for (int i = 0; i < 65536; i++) {
        int s = i >> 15, e = (i >> 10) & 31, m = i & 1023;
        if (e == 31) {
            nan_ok &= m ? isnan(out[i]) : isinf(out[i]) && !!signbit(out[i]) == s;
            continue;
        }
        double want = e ? ldexp(1 + m / 1024.0, e - 15) : ldexp(m, -24);
        if (s) want = -want;
        if ((double)out[i] != want || !!signbit(out[i]) != s) bad++;
    }
    is_int(bad, 0, "all 63488 finite F16 values convert exactly");
    ok(nan_ok, "F16 infinities and NaNs convert to infinities and NaNs");

    unsigned char bin[4] = {0x80, 0x3F, 0x49, 0xC0};  /* 0x3F80, 0xC049 */
    float bo[2];
    kern_bf16_to_f32(bo, bin, 2);
    ok(bo[0] == 1.0f && bo[1] == -3.140625f, "kern_bf16_to_f32 reads little-endian pairs");
}

int main(void)
{
    char *d = sw_tmpdir();
    dir = d;
    test_malformed();
    test_valid();
    test_misaligned();
    test_large_alignment();
    test_all_f16();
    sw_rmtree(d);
    free(d);
    return done_testing();
}
