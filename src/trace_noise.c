/* trace_noise.c: see trace_noise.h. */
#include "trace_noise.h"

#include <math.h>
#include <stddef.h>

uint64_t trace_splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

uint64_t trace_mix(uint64_t a, uint64_t b) { return trace_splitmix64(a ^ b); }

uint64_t trace_noise_hash(uint64_t seed, uint64_t prompt, uint64_t sample, uint64_t pos, uint64_t dim)
{
    return trace_mix(trace_mix(trace_mix(trace_mix(seed, prompt), sample), pos), dim);
}

/* z from h (Box-Muller, cosine branch); u1 is never 0, so the log is finite. */
static double z_of(uint64_t h)
{
    const double two53 = 9007199254740992.0;                  /* 2^53 */
    const double two_pi = 6.283185307179586476925286766559;  /* 2 pi, as 2.0 * M_PI rounds */
    double u1 = ((double)(h >> 11) + 0.5) / two53;
    double u2 = (double)(trace_splitmix64(h) >> 11) / two53;
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

double trace_noise_z(uint64_t seed, uint64_t prompt, uint64_t sample, uint64_t pos, uint64_t dim)
{
    return z_of(trace_noise_hash(seed, prompt, sample, pos, dim));
}

/* add 0: out = noise; add 1: out += noise (masked rows only). */
static void noise_rows(float *out, int T, int d, uint64_t seed, uint64_t prompt, uint64_t sample,
                       const unsigned char *mask, double sigma, int add)
{
    uint64_t run = trace_mix(trace_mix(seed, prompt), sample);
    for (int i = 0; i < T; i++) {
        float *row = out + (size_t)i * (size_t)d;
        if (!mask[i]) {
            if (!add)
                for (int j = 0; j < d; j++) row[j] = 0.0f;
            continue;
        }
        uint64_t at = trace_mix(run, (uint64_t)i);
        for (int j = 0; j < d; j++) {
            float v = (float)(sigma * z_of(trace_mix(at, (uint64_t)j)));
            row[j] = add ? row[j] + v : v;
        }
    }
}

void trace_noise_fill(float *noise, int T, int d, uint64_t seed, uint64_t prompt, uint64_t sample,
                      const unsigned char *mask, double sigma)
{
    noise_rows(noise, T, d, seed, prompt, sample, mask, sigma, 0);
}

void trace_noise_add(float *emb, int T, int d, uint64_t seed, uint64_t prompt, uint64_t sample,
                     const unsigned char *mask, double sigma)
{
    noise_rows(emb, T, d, seed, prompt, sample, mask, sigma, 1);
}

int trace_embed_std(const float *emb, int V, int d, const TraceTokens *prompts, int n_prompts, double *out)
{
    double sum = 0.0;
    long long n = 0;
    for (int p = 0; p < n_prompts; p++)
        for (int i = 0; i < prompts[p].n; i++) {
            if (!prompts[p].mask[i]) continue;
            int id = prompts[p].ids[i];
            if (id < 0 || id >= V) return -1;
            const float *row = emb + (size_t)id * (size_t)d;
            for (int j = 0; j < d; j++) sum += row[j];
            n += d;
        }
    if (n < 2) return -1;
    double mean = sum / (double)n, ss = 0.0;
    for (int p = 0; p < n_prompts; p++)
        for (int i = 0; i < prompts[p].n; i++) {
            if (!prompts[p].mask[i]) continue;
            const float *row = emb + (size_t)prompts[p].ids[i] * (size_t)d;
            for (int j = 0; j < d; j++) {
                double x = row[j] - mean;
                ss += x * x;
            }
        }
    *out = sqrt(ss / (double)(n - 1));
    return 0;
}
