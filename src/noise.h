/* noise.h: the Gaussian noise of corrupted runs, exactly as TRACING.md
 * ("Noise, exactly") defines it, so results are the same on any machine,
 * thread count or shard.
 *
 * The value for prompt p (0-based in the recipe's joined prompt list,
 * before filters), corrupted run s, position i and embedding dimension d is
 * a pure function of (seed, p, s, i, d): a splitmix64 hash chain gives two
 * uniforms, and Box-Muller (in double) one standard normal z; the noise is
 * (float)(sigma * z), added to the input embedding (GPT-2: the token
 * embedding, before the position embedding). */
#ifndef KOP_NOISE_H
#define KOP_NOISE_H

#include <stdint.h>

#include "model.h"

uint64_t noise_splitmix64(uint64_t x);

/* The standard normal draw z of (seed, p, s, i, d). */
double noise_normal(uint64_t seed, uint64_t p, uint64_t s, uint64_t i, uint64_t d);

/* out (T, C): (float)(sigma * z) at the positions with pos[i] set, 0
 * elsewhere, for prompt p and run s. */
void noise_fill(float *out, int T, int C, double sigma, uint64_t seed, uint64_t p, uint64_t s,
                const unsigned char *pos);

/* `F std`: the sample standard deviation (n - 1) of the token embedding
 * entries at the noised positions of every prompt read.  Accumulate each
 * prompt, then read the value (0 with fewer than two entries). */
typedef struct NoiseStd {
    double n, mean, m2; /* Welford's running count, mean and sum of squared deviations */
} NoiseStd;
void noise_std_add(NoiseStd *acc, const Model *m, const int *ids, int T, const unsigned char *pos);
double noise_std_value(const NoiseStd *acc);

#endif
