/* torch_write.h: a small, independent writer of torch.save-style archives
 * for the pytorch_model.bin tests: a zip writer and a pickle builder.  It
 * shares no code with src/zipread.c or src/pickle.c on purpose (its CRC-32
 * is the bitwise definition, its records are written from APPNOTE.TXT), so
 * the reader is checked against a second reading of the formats.
 *
 * Two levels:
 *  - TwBuf + tw_* opcode helpers: any pickle, malformed or hostile ones too;
 *  - tw_state_dict: the pickle torch writes for a state dict, from a list of
 *    TwTensor (name, storage, dtype, offset, size, stride), and tw_zip: the
 *    archive around it, in torch's shape (bit-3 data descriptors, zip64 end
 *    records, data aligned to 64 bytes) or plainer / broken ones (TwZipOpt). */
#ifndef KOP_TORCH_WRITE_H
#define KOP_TORCH_WRITE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// Byte buffers

typedef struct TwBuf {
    unsigned char *p;
    size_t n, cap;
} TwBuf;

static inline void tw_bytes(TwBuf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        while (b->n + n + 1 > b->cap) b->cap = b->cap * 2 + 256;
        b->p = realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
}

static inline void tw_le(TwBuf *b, uint64_t v, int n)
{
    unsigned char c[8];
    for (int i = 0; i < n; i++) c[i] = (unsigned char)(v >> (8 * i));
    tw_bytes(b, c, (size_t)n);
}

static inline void tw_u8(TwBuf *b, int v) { tw_le(b, (uint64_t)v, 1); }

// ---------------------------------------------------------------------------
// Pickle opcodes (names as in CPython's pickletools)

static inline void tw_op(TwBuf *b, int op) { tw_u8(b, op); }

static inline void tw_str(TwBuf *b, const char *s)     /* BINUNICODE */
{
    tw_op(b, 'X');
    tw_le(b, strlen(s), 4);
    tw_bytes(b, s, strlen(s));
}

static inline void tw_short_str(TwBuf *b, const char *s)  /* SHORT_BINUNICODE */
{
    tw_op(b, 0x8c);
    tw_u8(b, (int)strlen(s));
    tw_bytes(b, s, strlen(s));
}

static inline void tw_int(TwBuf *b, int64_t v)
{
    if (v >= 0 && v < 256) { tw_op(b, 'K'); tw_u8(b, (int)v); }
    else if (v >= 0 && v < 65536) { tw_op(b, 'M'); tw_le(b, (uint64_t)v, 2); }
    else if (v >= INT32_MIN && v <= INT32_MAX) { tw_op(b, 'J'); tw_le(b, (uint64_t)(uint32_t)(int32_t)v, 4); }
    else { tw_op(b, 0x8a); tw_u8(b, 8); tw_le(b, (uint64_t)v, 8); }   /* LONG1 */
}

static inline void tw_global(TwBuf *b, const char *module, const char *name)  /* GLOBAL */
{
    tw_op(b, 'c');
    tw_bytes(b, module, strlen(module));
    tw_u8(b, '\n');
    tw_bytes(b, name, strlen(name));
    tw_u8(b, '\n');
}

static inline void tw_binput(TwBuf *b, int i) { tw_op(b, 'q'); tw_u8(b, i); }
static inline void tw_binget(TwBuf *b, int i) { tw_op(b, 'h'); tw_u8(b, i); }

// ---------------------------------------------------------------------------
// State dicts

typedef struct TwTensor {
    const char *name;
    const char *key;          /* storage key: entry <top>/data/<key> */
    const char *storage;      /* "FloatStorage", "HalfStorage", "BFloat16Storage" */
    int64_t numel;            /* the storage's, as its id says */
    int64_t offset;
    int ndim;
    int64_t size[8], stride[8];
    int parameter;            /* wrapped in _rebuild_parameter */
    int same_as;              /* >= 0: BINGET of that earlier tensor (a memoized tie) */
} TwTensor;

/* Protocol 2 as torch writes it (OrderedDict() REDUCE, then one SETITEMS
 * of _rebuild_tensor_v2 REDUCEs); memo 100 + i holds tensor i. */
static inline void tw_state_dict(TwBuf *b, const TwTensor *t, int n)
{
    tw_op(b, 0x80); tw_u8(b, 2);                       /* PROTO 2 */
    tw_global(b, "collections", "OrderedDict");
    tw_op(b, ')'); tw_op(b, 'R');                      /* OrderedDict() */
    tw_op(b, '(');                                     /* MARK for SETITEMS */
    for (int i = 0; i < n; i++) {
        tw_str(b, t[i].name);
        if (t[i].same_as >= 0) {
            tw_binget(b, 100 + t[i].same_as);
            continue;
        }
        if (t[i].parameter) {
            tw_global(b, "torch._utils", "_rebuild_parameter");
            tw_op(b, '(');
        }
        tw_global(b, "torch._utils", "_rebuild_tensor_v2");
        tw_op(b, '(');
        tw_op(b, '(');                                 /* the persistent id */
        tw_str(b, "storage");
        tw_global(b, "torch", t[i].storage);
        tw_str(b, t[i].key);
        tw_str(b, "cpu");
        tw_int(b, t[i].numel);
        tw_op(b, 't');
        tw_op(b, 'Q');                                 /* BINPERSID */
        tw_int(b, t[i].offset);
        tw_op(b, '(');
        for (int d = 0; d < t[i].ndim; d++) tw_int(b, t[i].size[d]);
        tw_op(b, 't');
        tw_op(b, '(');
        for (int d = 0; d < t[i].ndim; d++) tw_int(b, t[i].stride[d]);
        tw_op(b, 't');
        tw_op(b, 0x89);                                /* requires_grad False */
        tw_global(b, "collections", "OrderedDict");
        tw_op(b, ')'); tw_op(b, 'R');                  /* backward hooks: OrderedDict() */
        tw_op(b, 't');
        tw_op(b, 'R');
        if (t[i].parameter) {
            tw_op(b, 0x89);
            tw_global(b, "collections", "OrderedDict");
            tw_op(b, ')'); tw_op(b, 'R');
            tw_op(b, 't');
            tw_op(b, 'R');
        }
        tw_binput(b, 100 + i);
    }
    tw_op(b, 'u');                                     /* SETITEMS */
    tw_op(b, '.');
}

// ---------------------------------------------------------------------------
// Zip archives

static inline uint32_t tw_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

typedef struct TwEntry {
    const char *name;
    const void *data;
    size_t len;
} TwEntry;

typedef struct TwZipOpt {
    int descriptor;       /* general-purpose bit 3 + data descriptors (torch) */
    int zip64_end;        /* zip64 end record and locator (torch) */
    int zip64_extra;      /* sizes and offsets as 0xFFFFFFFF + zip64 extra fields */
    int align;            /* entry data aligned to 64 bytes by an extra field (torch) */
    int bad_crc;          /* index of an entry whose recorded CRC is wrong; -1: none */
    int method_entry;     /* index of an entry recorded as deflated; -1: none */
    int rename_local;     /* index of an entry whose local header names another file; -1 */
} TwZipOpt;

static inline TwZipOpt tw_torch_style(void)
{
    return (TwZipOpt){.descriptor = 1, .zip64_end = 1, .align = 1, .bad_crc = -1, .method_entry = -1,
                      .rename_local = -1};
}

static inline TwZipOpt tw_plain_style(void)
{
    return (TwZipOpt){.bad_crc = -1, .method_entry = -1, .rename_local = -1};
}

/* The archive of the N entries (malloc'd), its length in *len. */
static inline unsigned char *tw_zip(const TwEntry *e, int n, const TwZipOpt *o, size_t *len)
{
    TwBuf b = {0};
    uint64_t *offsets = calloc((size_t)n + 1, sizeof *offsets);
    uint32_t *crcs = calloc((size_t)n + 1, sizeof *crcs);
    for (int i = 0; i < n; i++) {
        offsets[i] = b.n;
        crcs[i] = tw_crc32(e[i].data, e[i].len) ^ (o->bad_crc == i ? 0x5a5a5a5au : 0);
        int method = o->method_entry == i ? 8 : 0;
        const char *name = e[i].name;
        char renamed[256];
        if (o->rename_local == i) {
            snprintf(renamed, sizeof renamed, "%s", name);
            renamed[strlen(renamed) - 1] ^= 1;
            name = renamed;
        }
        size_t nlen = strlen(name), xlen = o->zip64_extra ? 20 : 0;
        size_t pad = 0;
        if (o->align) {
            size_t at = b.n + 30 + nlen + xlen + 4;
            pad = (64 - at % 64) % 64;
            xlen += 4 + pad;
        }
        tw_le(&b, 0x04034b50, 4);
        tw_le(&b, 45, 2);
        tw_le(&b, o->descriptor ? 8 : 0, 2);
        tw_le(&b, (uint64_t)method, 2);
        tw_le(&b, 0, 4);                                      /* time, date */
        tw_le(&b, o->descriptor ? 0 : crcs[i], 4);
        uint64_t sz = o->descriptor ? 0 : o->zip64_extra ? 0xffffffffu : e[i].len;
        tw_le(&b, sz, 4);
        tw_le(&b, sz, 4);
        tw_le(&b, nlen, 2);
        tw_le(&b, xlen, 2);
        tw_bytes(&b, name, nlen);
        if (o->zip64_extra) {
            tw_le(&b, 1, 2);
            tw_le(&b, 16, 2);
            tw_le(&b, o->descriptor ? 0 : e[i].len, 8);
            tw_le(&b, o->descriptor ? 0 : e[i].len, 8);
        }
        if (o->align) {
            tw_le(&b, 0x4246, 2);                             /* "FB", torch's padding field */
            tw_le(&b, pad, 2);
            for (size_t k = 0; k < pad; k++) tw_u8(&b, 'Z');
        }
        tw_bytes(&b, e[i].data, e[i].len);
        if (o->descriptor) {
            tw_le(&b, 0x08074b50, 4);
            tw_le(&b, crcs[i], 4);
            tw_le(&b, e[i].len, o->zip64_extra ? 8 : 4);
            tw_le(&b, e[i].len, o->zip64_extra ? 8 : 4);
        }
    }
    uint64_t cd = b.n;
    for (int i = 0; i < n; i++) {
        size_t nlen = strlen(e[i].name), xlen = o->zip64_extra ? 28 : 0;
        tw_le(&b, 0x02014b50, 4);
        tw_le(&b, 45, 2);
        tw_le(&b, 45, 2);
        tw_le(&b, o->descriptor ? 8 : 0, 2);
        tw_le(&b, o->method_entry == i ? 8 : 0, 2);
        tw_le(&b, 0, 4);
        tw_le(&b, crcs[i], 4);
        tw_le(&b, o->zip64_extra ? 0xffffffffu : e[i].len, 4);
        tw_le(&b, o->zip64_extra ? 0xffffffffu : e[i].len, 4);
        tw_le(&b, nlen, 2);
        tw_le(&b, xlen, 2);
        tw_le(&b, 0, 2);                                      /* comment */
        tw_le(&b, 0, 2);                                      /* disk */
        tw_le(&b, 0, 2);
        tw_le(&b, 0, 4);
        tw_le(&b, o->zip64_extra ? 0xffffffffu : offsets[i], 4);
        tw_bytes(&b, e[i].name, nlen);
        if (o->zip64_extra) {
            tw_le(&b, 1, 2);
            tw_le(&b, 24, 2);
            tw_le(&b, e[i].len, 8);
            tw_le(&b, e[i].len, 8);
            tw_le(&b, offsets[i], 8);
        }
    }
    uint64_t cd_size = b.n - cd;
    if (o->zip64_end) {
        uint64_t end64 = b.n;
        tw_le(&b, 0x06064b50, 4);
        tw_le(&b, 44, 8);
        tw_le(&b, 45, 2);
        tw_le(&b, 45, 2);
        tw_le(&b, 0, 4);
        tw_le(&b, 0, 4);
        tw_le(&b, (uint64_t)n, 8);
        tw_le(&b, (uint64_t)n, 8);
        tw_le(&b, cd_size, 8);
        tw_le(&b, cd, 8);
        tw_le(&b, 0x07064b50, 4);
        tw_le(&b, 0, 4);
        tw_le(&b, end64, 8);
        tw_le(&b, 1, 4);
    }
    tw_le(&b, 0x06054b50, 4);
    tw_le(&b, 0, 2);
    tw_le(&b, 0, 2);
    tw_le(&b, o->zip64_end ? 0xffff : (uint64_t)n, 2);
    tw_le(&b, o->zip64_end ? 0xffff : (uint64_t)n, 2);
    tw_le(&b, o->zip64_end ? 0xffffffffu : cd_size, 4);
    tw_le(&b, o->zip64_end ? 0xffffffffu : cd, 4);
    tw_le(&b, 0, 2);
    free(offsets);
    free(crcs);
    *len = b.n;
    return b.p;
}

static inline int tw_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
