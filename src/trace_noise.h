/* trace_noise.h: the corrupted runs' Gaussian noise, reproducible anywhere.
 *
 * `corrupt GROUP with noise SIGMA` adds noise to the input embeddings at the
 * group's positions (GPT-2: the token embedding, before the position
 * embedding).  Each value is a pure function of (seed, prompt p, corrupted
 * run s, position i, embedding dimension d), so results do not depend on the
 * machine, the thread count, the shard split or the order of the work
 * (design/TRACING.md, "Noise, exactly"), with arithmetic on uint64 modulo
 * 2^64:
 *
 *     splitmix64(x): x += 0x9E3779B97F4A7C15
 *                    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
 *                    x = (x ^ (x >> 27)) * 0x94D049BB133111EB
 *                    return x ^ (x >> 31)
 *     mix(a, b) = splitmix64(a ^ b)
 *     h  = mix(mix(mix(mix(seed, p), s), i), d)
 *     u1 = ((h >> 11) + 0.5) / 2^53,  u2 = (splitmix64(h) >> 11) / 2^53
 *     z  = sqrt(-2 ln u1) cos(2 pi u2)                      (all in double)
 *     embedding[i][d] += (float)(sigma * z)
 *
 * p is the prompt's 0-based index in the recipe's joined prompt list before
 * `keep` and `limit`; i is the absolute position in the prompt.
 *
 * `noise F std`: sigma = F times trace_embed_std(), the sample standard
 * deviation (n - 1) of the embedding entries at the group's positions over
 * every prompt read (before `keep` and `limit`), computed in double.
 *
 * Everything here is pure: no allocation, no globals. */
#ifndef KOP_TRACE_NOISE_H
#define KOP_TRACE_NOISE_H

#include <stdint.h>

uint64_t trace_splitmix64(uint64_t x);
uint64_t trace_mix(uint64_t a, uint64_t b);

/* h of (seed, prompt, sample, pos, dim), and the standard normal z from it. */
uint64_t trace_noise_hash(uint64_t seed, uint64_t prompt, uint64_t sample, uint64_t pos, uint64_t dim);
double trace_noise_z(uint64_t seed, uint64_t prompt, uint64_t sample, uint64_t pos, uint64_t dim);

/* noise (T, d): row i is (float)(sigma * z(seed, prompt, sample, i, j)) for
 * j < d where mask[i] is non-zero, and 0 elsewhere.  Adding it to the
 * embedded input (T, d) gives the corrupted input of run `sample`. */
void trace_noise_fill(float *noise, int T, int d, uint64_t seed, uint64_t prompt, uint64_t sample,
                      const unsigned char *mask, double sigma);

/* The same added in place: emb (T, d) += noise, at the masked rows only. */
void trace_noise_add(float *emb, int T, int d, uint64_t seed, uint64_t prompt, uint64_t sample,
                     const unsigned char *mask, double sigma);

/* One prompt's tokens and the positions whose embeddings count. */
typedef struct TraceTokens {
    const int *ids;              /* (n) */
    const unsigned char *mask;   /* (n) non-zero: the position counts */
    int n;
} TraceTokens;

/* The sample standard deviation (n - 1) of the entries emb[ids[i]][j],
 * j < d, over the masked positions i of every prompt (a token that occurs
 * twice counts twice), two-pass in double.  emb is (V, d).  0 and *out, or
 * -1 when fewer than 2 entries are covered or an id is not in 0..V-1. */
int trace_embed_std(const float *emb, int V, int d, const TraceTokens *prompts, int n_prompts, double *out);

#endif
