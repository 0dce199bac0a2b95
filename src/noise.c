/* noise.c: TRACING.md's noise generator and the embedding standard
 * deviation of `noise F std` (see noise.h). */
#include "noise.h"

#include <math.h>

uint64_t noise_splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    return noise_splitmix64(a ^ b);
}

double noise_normal(uint64_t seed, uint64_t p, uint64_t s, uint64_t i, uint64_t d)
{
    const double two53 = 9007199254740992.0;        /* 2^53 */
    const double two_pi = 6.283185307179586476925;  /* 2 * M_PI exactly (M_PI is not C11) */
    uint64_t h = mix(mix(mix(mix(seed, p), s), i), d);
    double u1 = ((double)(h >> 11) + 0.5) / two53; /* in (0, 1): the log is finite */
    double u2 = (double)(noise_splitmix64(h) >> 11) / two53;
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

void noise_fill(float *out, int T, int C, double sigma, uint64_t seed, uint64_t p, uint64_t s,
                const unsigned char *pos)
{
    for (int i = 0; i < T; i++)
        for (int d = 0; d < C; d++)
            out[(size_t)i * C + d] = pos && pos[i] ? (float)(sigma * noise_normal(seed, p, s, (uint64_t)i, (uint64_t)d))
                                                   : 0.0f;
}

void noise_std_add(NoiseStd *acc, const Model *m, const int *ids, int T, const unsigned char *pos)
{
    int C = m->cfg.d_model;
    float *e = kop_xmalloc(sizeof(float) * (size_t)C);
    for (int i = 0; i < T; i++) {
        if (!pos[i]) continue;
        kern_widen(e, m->embed, (size_t)ids[i] * C, (size_t)C);
        for (int d = 0; d < C; d++) {
            double v = e[d], delta = v - acc->mean;
            acc->n += 1;
            acc->mean += delta / acc->n;
            acc->m2 += delta * (v - acc->mean);
        }
    }
    free(e);
}

double noise_std_value(const NoiseStd *acc)
{
    return acc->n > 1 ? sqrt(acc->m2 / (acc->n - 1)) : 0.0;
}
