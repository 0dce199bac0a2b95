/* unicode.c: see unicode.h.
 *
 * Table layout (src/unicode_tables.h): a code point c has a record
 * uni_stage2[uni_stage1[c >> 8] * 256 + (c & 255)], an index into
 * uni_rec_flags / uni_rec_ccc.  Full canonical decompositions are in
 * uni_decomp_* (sorted by code point; idx = offset << 3 | length) and primary
 * composites in uni_comp_* (sorted by first << 21 | second).  Hangul
 * syllables are decomposed and composed by arithmetic (UAX #15). */
#include "unicode.h"

#include <string.h>

#include "util.h"
#include "unicode_tables.h"

enum {
    S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7,
    L_COUNT = 19, V_COUNT = 21, T_COUNT = 28,
    N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT
};

const char *uni_version(void) { return UNI_UCD_VERSION; }

static unsigned rec_of(uint32_t c)
{
    if (c >= 0x110000) return 0;
    return uni_stage2[(size_t)uni_stage1[c >> 8] * 256 + (c & 255)];
}

static unsigned flags_of(uint32_t c) { return c >= 0x110000 ? 0 : uni_rec_flags[rec_of(c)]; }

int uni_ccc(uint32_t c) { return c >= 0x110000 ? 0 : uni_rec_ccc[rec_of(c)]; }
int uni_is_letter(uint32_t c) { return (flags_of(c) & UNI_F_L) != 0; }
int uni_is_number(uint32_t c) { return (flags_of(c) & UNI_F_N) != 0; }
int uni_is_space(uint32_t c) { return (flags_of(c) & UNI_F_WS) != 0; }

// ---- UTF-8 -------------------------------------------------------------------

size_t uni_utf8_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned b = p[i];
        if (b < 0x80) { i++; continue; }
        size_t n;
        uint32_t c, min;
        if (b >= 0xC2 && b <= 0xDF) { n = 2; c = b & 0x1F; min = 0x80; }
        else if ((b & 0xF0) == 0xE0) { n = 3; c = b & 0x0F; min = 0x800; }
        else if (b >= 0xF0 && b <= 0xF4) { n = 4; c = b & 0x07; min = 0x10000; }
        else return i;
        if (len - i < n) return i;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

uint32_t uni_decode(const char *s, size_t *n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] < 0x80) { *n = 1; return p[0]; }
    if (p[0] < 0xE0) { *n = 2; return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F); }
    if (p[0] < 0xF0) {
        *n = 3;
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    *n = 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
           ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

size_t uni_encode(uint32_t c, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (c < 0x80) { o[0] = (unsigned char)c; return 1; }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12));
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (c >> 18));
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

// ---- NFC of one unit -----------------------------------------------------------

/* Growable code point buffer, reused across the units of one uni_nfc call. */
typedef struct CpBuf {
    uint32_t *v;
    size_t n, cap;
} CpBuf;

static void cp_push(CpBuf *b, uint32_t c)
{
    if (b->n == b->cap) b->v = kop_xrealloc(b->v, sizeof *b->v * (b->cap = b->cap ? 2 * b->cap : 32));
    b->v[b->n++] = c;
}

static void decompose(CpBuf *b, uint32_t c)
{
    if (c >= S_BASE && c < S_BASE + S_COUNT) {
        uint32_t s = c - S_BASE;
        cp_push(b, L_BASE + s / N_COUNT);
        cp_push(b, V_BASE + (s % N_COUNT) / T_COUNT);
        if (s % T_COUNT) cp_push(b, T_BASE + s % T_COUNT);
        return;
    }
    if (!(flags_of(c) & UNI_F_DECOMP)) { cp_push(b, c); return; }
    size_t lo = 0, hi = sizeof uni_decomp_cp / sizeof uni_decomp_cp[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (uni_decomp_cp[mid] < c) lo = mid + 1;
        else hi = mid;
    }
    KOP_ASSERT(uni_decomp_cp[lo] == c);
    unsigned idx = uni_decomp_idx[lo];
    for (unsigned k = 0; k < (idx & 7); k++) cp_push(b, uni_decomp_data[(idx >> 3) + k]);
}

/* The primary composite of a + b, or 0. */
static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 &&
        b > T_BASE && b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    if (!(flags_of(b) & UNI_F_SECOND)) return 0;
    uint64_t key = ((uint64_t)a << 21) | b;
    size_t lo = 0, hi = sizeof uni_comp_key / sizeof uni_comp_key[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (uni_comp_key[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < sizeof uni_comp_key / sizeof uni_comp_key[0] && uni_comp_key[lo] == key ? uni_comp_val[lo] : 0;
}

/* NFC of the code points of one unit, in place in b (UAX #15: decompose,
 * order marks by combining class, then compose). */
static void nfc_unit(CpBuf *b, const char *s, size_t len)
{
    b->n = 0;
    for (size_t i = 0; i < len;) {
        size_t n;
        decompose(b, uni_decode(s + i, &n));
        i += n;
    }
    uint32_t *v = b->v;
    // Canonical ordering: a stable insertion sort within each run of marks.
    for (size_t k = 1; k < b->n; k++) {
        uint32_t c = v[k];
        int cc = uni_ccc(c);
        if (cc == 0) continue;
        size_t j = k;
        while (j > 0 && uni_ccc(v[j - 1]) > cc) { v[j] = v[j - 1]; j--; }
        v[j] = c;
    }
    // Canonical composition.
    size_t starter = 0, out = 1;
    int last_cc = uni_ccc(v[0]) ? 256 : 0;  // a leading mark blocks everything
    for (size_t k = 1; k < b->n; k++) {
        uint32_t c = v[k];
        int cc = uni_ccc(c);
        uint32_t comp = compose(v[starter], c);
        if (comp && (last_cc < cc || last_cc == 0)) {
            v[starter] = comp;
            continue;
        }
        if (cc == 0) starter = out;
        last_cc = cc;
        v[out++] = c;
    }
    b->n = out;
}

// ---- uni_nfc -------------------------------------------------------------------

typedef struct Out {
    char *s;
    size_t *origin;
    size_t n, cap;
} Out;

static void out_reserve(Out *o, size_t extra)
{
    if (o->n + extra + 1 <= o->cap) return;
    while (o->n + extra + 1 > o->cap) o->cap *= 2;
    o->s = kop_xrealloc(o->s, o->cap);
    o->origin = kop_xrealloc(o->origin, sizeof *o->origin * o->cap);
}

/* Copy s[0..len) as it is: each character is its own unit. */
static void put_chars(Out *o, const char *s, size_t len, size_t at)
{
    out_reserve(o, len);
    for (size_t i = 0; i < len;) {
        size_t n;
        uni_decode(s + i, &n);
        o->origin[o->n] = at + i;
        for (size_t k = 1; k < n; k++) o->origin[o->n + k] = at + i + n;
        memcpy(o->s + o->n, s + i, n);
        o->n += n;
        i += n;
    }
}

char *uni_nfc(const char *s, size_t len, size_t base, int normalize,
              size_t *out_len, size_t **origin)
{
    Out o = {NULL, NULL, 0, 64};
    while (o.cap < len + 1) o.cap *= 2;
    o.s = kop_xmalloc(o.cap);
    o.origin = kop_xmalloc(sizeof *o.origin * o.cap);
    CpBuf cps = {NULL, 0, 0};
    char *unit = NULL;
    size_t unit_cap = 0;

    if (!normalize) put_chars(&o, s, len, base);
    for (size_t i = 0; normalize && i < len;) {
        size_t n0;
        uint32_t c0 = uni_decode(s + i, &n0);
        size_t j = i + n0;
        while (j < len) {
            size_t n;
            if (flags_of(uni_decode(s + j, &n)) & UNI_F_BOUNDARY) break;
            j += n;
        }
        if (j == i + n0 && (flags_of(c0) & UNI_F_BOUNDARY)) {
            put_chars(&o, s + i, n0, base + i);  // a lone boundary starter is stable
            i = j;
            continue;
        }
        nfc_unit(&cps, s + i, j - i);
        if (unit_cap < 4 * cps.n) unit = kop_xrealloc(unit, unit_cap = 4 * cps.n);
        size_t un = 0;
        for (size_t k = 0; k < cps.n; k++) un += uni_encode(cps.v[k], unit + un);
        if (un == j - i && !memcmp(unit, s + i, un)) {
            put_chars(&o, s + i, un, base + i);
        } else {
            out_reserve(&o, un);
            memcpy(o.s + o.n, unit, un);
            o.origin[o.n] = base + i;
            for (size_t k = 1; k < un; k++) o.origin[o.n + k] = base + j;
            o.n += un;
        }
        i = j;
    }
    free(cps.v);
    free(unit);
    o.s[o.n] = '\0';
    o.origin[o.n] = base + len;
    *out_len = o.n;
    *origin = o.origin;
    return o.s;
}
