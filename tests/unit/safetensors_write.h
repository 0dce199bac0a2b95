/* safetensors_write.h: a small, independent safetensors writer for the loader
 * tests.  It does not share code with src/safetensors.c on purpose: the tests
 * encode (header text, F16/BF16 bits) one way and the loader decodes another.
 *
 * Two levels:
 *  - sw_write_raw: any 8-byte length, any header text, any data bytes (for
 *    malformed files);
 *  - SwList: a list of tensors (name, dtype, shape) written with
 *    deterministic values sw_value(index, element) that F16 and BF16 hold
 *    exactly, so a test can check every converted weight.
 * Plus a temporary directory (sw_tmpdir / sw_rmtree) and path helpers. */
#ifndef KOP_SAFETENSORS_WRITE_H
#define KOP_SAFETENSORS_WRITE_H

#define _GNU_SOURCE
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// ---------------------------------------------------------------------------
// Files and directories

static inline int sw_write_bytes(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(a, 1, na, f) == na && (!nb || fwrite(b, 1, nb, f) == nb);
    return fclose(f) == 0 && ok ? 0 : -1;
}

static inline int sw_write_text(const char *path, const char *text)
{
    return sw_write_bytes(path, text, strlen(text), NULL, 0);
}

/* The 8-byte little-endian HLEN, then HEADER (strlen bytes), then DATA. */
static inline int sw_write_raw(const char *path, uint64_t hlen, const char *header, const void *data, size_t ndata)
{
    size_t nh = strlen(header);
    unsigned char *buf = malloc(8 + nh + ndata + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + 8, header, nh);
    if (ndata) memcpy(buf + 8 + nh, data, ndata);
    int rc = sw_write_bytes(path, buf, 8 + nh + ndata, NULL, 0);
    free(buf);
    return rc;
}

/* Same, with the header length taken from the header text. */
static inline int sw_write_file(const char *path, const char *header, const void *data, size_t ndata)
{
    return sw_write_raw(path, strlen(header), header, data, ndata);
}

/* printf into a static ring of buffers: sw_path("%s/x", dir) can be passed
 * straight to a function, a few at a time. */
static inline const char *sw_path(const char *fmt, ...)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return b;
}

static inline char *sw_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *t = malloc(4096);
    snprintf(t, 4096, "%s/kop-load-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(t)) {
        perror("mkdtemp");
        exit(99);
    }
    return t;
}

static inline int sw_rm1(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static inline void sw_rmtree(const char *dir)
{
    nftw(dir, sw_rm1, 16, FTW_DEPTH | FTW_PHYS);
}

// ---------------------------------------------------------------------------
// Tensor lists with known values

typedef struct SwTensor {
    char name[160];
    char dtype[8];      /* "F32", "F16", "BF16" (others are written as zeros) */
    int ndim;
    int64_t shape[4];
    int skip;           /* leave out of the file (a "missing tensor") */
} SwTensor;

typedef struct SwList {
    SwTensor t[512];
    int n;
} SwList;

/* Multiples of 1/8 in [-0.75, 0.75]: exact in F16 and BF16. */
static inline float sw_value(int tensor, size_t i)
{
    return (float)((int)((tensor * 7 + i) % 13) - 6) / 8.0f;
}

static inline SwTensor *sw_add(SwList *l, const char *dtype, int ndim, const int64_t *shape, const char *fmt, ...)
{
    SwTensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    snprintf(t->dtype, sizeof t->dtype, "%s", dtype);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    return t;
}
#define SW1(a) 1, (const int64_t[]){(a)}
#define SW2(a, b) 2, (const int64_t[]){(a), (b)}
#define SW3(a, b, c) 3, (const int64_t[]){(a), (b), (c)}

static inline int sw_find(const SwList *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->t[i].name, name)) return i;
    return -1;
}

static inline size_t sw_numel(const SwTensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return n;
}

static inline size_t sw_esize(const char *dtype)
{
    if (!strcmp(dtype, "F16") || !strcmp(dtype, "BF16")) return 2;
    if (!strcmp(dtype, "F32") || !strcmp(dtype, "I32")) return 4;
    if (!strcmp(dtype, "F64") || !strcmp(dtype, "I64")) return 8;
    return 1;
}

/* Encode one exactly representable value: fp32 bits -> F16 / BF16 bits. */
static inline uint16_t sw_bf16(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return (uint16_t)(b >> 16);
}

static inline uint16_t sw_f16(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xff, man = b & 0x7fffff;
    if (exp == 0) return (uint16_t)sign;  /* zero (the values used here are never subnormal) */
    return (uint16_t)(sign | (exp - 112) << 10 | man >> 13);
}

/* Write the tensors of L whose index is in [from, to) and not skipped, packed
 * in order, each filled with sw_value(index, element). */
static inline int sw_write_list(const char *path, const SwList *l, int from, int to)
{
    size_t cap = 1 << 16, hn = 0, dn = 0, dcap = 1 << 16;
    char *h = malloc(cap);
    unsigned char *d = malloc(dcap);
    hn += (size_t)snprintf(h, cap, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int k = from; k < to; k++) {
        const SwTensor *t = &l->t[k];
        if (t->skip) continue;
        size_t n = sw_numel(t), es = sw_esize(t->dtype);
        while (dn + n * es > dcap) d = realloc(d, dcap *= 2);
        if (hn + 512 > cap) h = realloc(h, cap *= 2);
        hn += (size_t)snprintf(h + hn, cap - hn, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name, t->dtype);
        for (int i = 0; i < t->ndim; i++) hn += (size_t)snprintf(h + hn, cap - hn, "%s%lld", i ? "," : "", (long long)t->shape[i]);
        hn += (size_t)snprintf(h + hn, cap - hn, "],\"data_offsets\":[%zu,%zu]}", dn, dn + n * es);
        memset(d + dn, 0, n * es);
        for (size_t i = 0; i < n; i++) {
            float v = sw_value(k, i);
            uint16_t u = !strcmp(t->dtype, "F16") ? sw_f16(v) : sw_bf16(v);
            if (!strcmp(t->dtype, "F32")) memcpy(d + dn + 4 * i, &v, 4);
            else if (es == 2) { d[dn + 2 * i] = (unsigned char)u; d[dn + 2 * i + 1] = (unsigned char)(u >> 8); }
        }
        dn += n * es;
    }
    hn += (size_t)snprintf(h + hn, cap - hn, "}");
    while (hn % 8) h[hn++] = ' ';  /* pad as the reference writer does */
    h[hn] = '\0';
    int rc = sw_write_file(path, h, d, dn);
    free(h);
    free(d);
    return rc;
}

#endif
