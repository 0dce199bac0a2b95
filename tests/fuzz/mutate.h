/* mutate.h: kop's own input mutator, for fuzz runs that need no clang and
 * are the same on every machine (make check runs them with a fixed seed).
 *
 * A mutation stacks 1 to 8 edits (mostly 1 or 2) on a copy of a seed, chosen by a
 * splitmix64 stream from (seed, iteration): bit flips, bytes set to
 * values that parsers treat specially, ranges deleted, duplicated or
 * spliced in from another seed, dictionary words inserted (the format's
 * syntax and numbers at the edges of their types), numbers replaced by
 * extreme ones, truncation.  Edits fall in the first `focus` bytes when
 * focus is set (a safetensors header, not its weights).  Header-only: the
 * fuzz driver is the only user. */
#ifndef KOP_FUZZ_MUTATE_H
#define KOP_FUZZ_MUTATE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct MutBuf {
    unsigned char *p;
    size_t n, cap;
} MutBuf;

typedef struct Rng {
    uint64_t s;
} Rng;

static inline uint64_t rng_next(Rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n is 0. */
static inline size_t rng_below(Rng *r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }

static inline void mb_reserve(MutBuf *b, size_t n)
{
    if (n <= b->cap) return;
    b->cap = n * 2 + 64;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
}

/* Replace b[at, at+del) with ins[0..nins). */
static inline void mb_splice(MutBuf *b, size_t at, size_t del, const void *ins, size_t nins)
{
    if (at > b->n) at = b->n;
    if (del > b->n - at) del = b->n - at;
    mb_reserve(b, b->n - del + nins + 1);
    memmove(b->p + at + nins, b->p + at + del, b->n - at - del);
    if (nins) memcpy(b->p + at, ins, nins);
    b->n = b->n - del + nins;
}

static const char *const mut_numbers[] = {
    "0", "-1", "1", "-0", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807",
    "18446744073709551616", "99999999999999999999999", "1e308", "1e999", "-1e999", "NaN", "Infinity", "0.5", "1e-400",
};

typedef struct MutSeeds {
    const MutBuf *v;
    int n;
} MutSeeds;

/* One edit of b, within its first `lim` bytes (lim >= 1 when b is not empty). */
static inline void mutate_once(MutBuf *b, size_t lim, Rng *r, const char *const *dict, int n_dict, const MutSeeds *seeds)
{
    static const unsigned char special[] = {0, 0xff, 0x7f, 0x80, 0xc3, 0xed, 0xf4, '"', '\\', '\n', '\r', '\t', ' ',
                                            '[', ']', '{', '}', ':', ',', '-', '0', '9', '.', '$', '/', '#', '\''};
    size_t n = b->n < lim ? b->n : lim;
    size_t at = rng_below(r, n + 1), len = 1 + rng_below(r, rng_below(r, 4) == 0 ? 256 : 16);
    switch (rng_below(r, 10)) {
    case 0: /* flip a bit */
        if (n) b->p[rng_below(r, n)] ^= (unsigned char)(1u << rng_below(r, 8));
        break;
    case 1: /* a special byte */
        if (n) b->p[rng_below(r, n)] = special[rng_below(r, sizeof special)];
        break;
    case 2: /* delete a range */
        mb_splice(b, at, len, NULL, 0);
        break;
    case 3: { /* duplicate a range, sometimes many times (deep nesting, long lines) */
        if (!n) break;
        size_t from = rng_below(r, n);
        if (len > n - from) len = n - from;
        int times = rng_below(r, 8) == 0 ? 1 + (int)rng_below(r, 200) : 1;
        unsigned char *copy = malloc(len);
        memcpy(copy, b->p + from, len);
        for (int i = 0; i < times && b->n < (1u << 20); i++) mb_splice(b, at, 0, copy, len);
        free(copy);
        break;
    }
    case 4: case 5: /* a word of the format */
        if (n_dict) {
            const char *w = dict[rng_below(r, (size_t)n_dict)];
            mb_splice(b, at, rng_below(r, 2) ? 0 : rng_below(r, 4), w, strlen(w));
        }
        break;
    case 6: { /* a number replaced by an extreme one */
        size_t i = at;
        while (i < n && !(b->p[i] >= '0' && b->p[i] <= '9')) i++;
        if (i >= n) break;
        size_t j = i;
        while (j < b->n && ((b->p[j] >= '0' && b->p[j] <= '9') || b->p[j] == '.' || b->p[j] == 'e')) j++;
        const char *w = mut_numbers[rng_below(r, sizeof mut_numbers / sizeof mut_numbers[0])];
        mb_splice(b, i, j - i, w, strlen(w));
        break;
    }
    case 7: /* truncate */
        if (rng_below(r, 3) == 0 && b->n) b->n = rng_below(r, b->n);
        break;
    case 8: /* random bytes */
        for (size_t i = 0; i < (len & 7) + 1; i++) {
            unsigned char c = (unsigned char)rng_next(r);
            mb_splice(b, at, 0, &c, 1);
        }
        break;
    default: /* splice in a range of another seed */
        if (seeds && seeds->n) {
            const MutBuf *s = &seeds->v[rng_below(r, (size_t)seeds->n)];
            if (!s->n) break;
            size_t from = rng_below(r, s->n);
            if (len > s->n - from) len = s->n - from;
            mb_splice(b, at, rng_below(r, 2) ? len : 0, s->p + from, len);
        }
        break;
    }
}

/* b = a mutation of seed, decided by (seed_value, iteration). */
static inline void mutate(MutBuf *b, const MutBuf *seed, uint64_t seed_value, uint64_t iteration, size_t focus,
                          const char *const *dict, int n_dict, const MutSeeds *seeds)
{
    Rng r = {seed_value * 0x100000001B3ull ^ iteration};
    rng_next(&r);
    b->n = 0;
    mb_splice(b, 0, 0, seed->p, seed->n);
    /* mostly one or two edits, so that most inputs get past the first
     * check and reach the code behind it; sometimes many */
    int edits = 1 + (int)(rng_below(&r, 8) == 0 ? rng_below(&r, 8) : rng_below(&r, 2));
    for (int e = 0; e < edits; e++) mutate_once(b, focus ? focus : b->n + 1, &r, dict, n_dict, seeds);
    mb_reserve(b, b->n + 1);
    b->p[b->n] = '\0';
}

#endif
