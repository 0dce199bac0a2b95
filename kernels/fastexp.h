/* fastexp.h: out[n] = exp(d * a[n]) for a short vector, written so that the
 * compiler vectorises it (no libm call), for the scans' per-element decays.
 * Cephes' range reduction and degree-6 polynomial: within 2 ulp of expf on
 * [-87, 0]; below about -88 (a fully decayed state) it returns 0 instead
 * of a denormal.  Valid for |d * a| < 8e6, far beyond any decay exponent.
 * The 2^n scale is built as integer bits in one loop and read back as floats
 * in the next through a union, since a type pun inside a `simd` loop stops
 * GCC from vectorising it.  (Not memcpy: GCC copies with 16-byte moves that
 * the next loop's 32-byte loads cannot forward from, a stall that cost the
 * scans a quarter of their time.) */
#ifndef KOP_FASTEXP_H
#define KOP_FASTEXP_H

#include <stdint.h>
#include <string.h>

#define KERN_FASTEXP_MAX 512

/* out[i] = exp(x[i]) for i < N (N <= KERN_FASTEXP_MAX); out may alias x. */
/* always inlined: an out-of-line copy would be compiled for the baseline
 * ISA and called from the AVX2 clones of the scans */
static inline __attribute__((always_inline)) void kern_exp_vec(float *out, const float *x, int N)
{
    union { int32_t bits[KERN_FASTEXP_MAX]; float scale[KERN_FASTEXP_MAX]; } s2;
    #pragma omp simd
    for (int i = 0; i < N; i++) {
        float v = x[i];
        float n = (v * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
        float r = v - n * 0.693359375f;
        r = r - n * -2.12194440e-4f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        /* the int conversion is defined only in range, and broken weights
         * give any exponent: clamped for k alone.  Not v, n or r: clamping
         * those changes how the compiler vectorises and fuses this loop
         * (ten times slower, and other last bits).  An exponent so large
         * that r is garbage gives NaN, as broken weights deserve. */
        float nk = n < 1000.0f ? n : 1000.0f;
        nk = nk > -1000.0f ? nk : -1000.0f;
        int32_t k = (int32_t)nk;
        k = k < -127 ? -127 : k;
        k = k > 128 ? 128 : k; /* 2^128 is +inf: an exponent past 88.4 overflows, as expf's past 88.72 */
        s2.bits[i] = (k + 127) << 23;
        out[i] = p * r * r + r + 1.0f;
    }
    #pragma omp simd
    for (int i = 0; i < N; i++) out[i] *= s2.scale[i];
}

/* out[n] = exp(d * a[n]) */
static inline __attribute__((always_inline)) void kern_exp_scaled(float *out, const float *a, float d, int N)
{
    float x[KERN_FASTEXP_MAX];
    #pragma omp simd
    for (int i = 0; i < N; i++) x[i] = d * a[i];
    kern_exp_vec(out, x, N);
}

/* The same exp on one vector of eight (GCC vector extensions, so the
 * baseline build gets two SSE halves): the operations of kern_exp_vec in
 * the same order, so every lane gets the bits kern_exp_vec gives it, but
 * kept in registers, for loops that exponentiate a few vectors at a time
 * (the row scan's decays).  The selections are written as masks: C has no
 * ?: on vectors.  Macros (statement expressions) rather than functions:
 * clang refuses a 32-byte vector argument or result in code built without
 * AVX (the baseline clone, KOP_NO_CLONES), inlined or not. */
typedef float kern_v8 __attribute__((vector_size(32)));
typedef int32_t kern_v8i __attribute__((vector_size(32)));
typedef float kern_v8u __attribute__((vector_size(32), aligned(4)));  /* for unaligned loads and stores */

#define kern_ld8(p) (*(const kern_v8u *)(p))
#define kern_st8(p, v) (*(kern_v8u *)(p) = (v))
/* m ? a : b lane by lane, m a comparison's mask */
#define kern_sel8(m, a, b) ((kern_v8)(((m) & (kern_v8i)(a)) | (~(m) & (kern_v8i)(b))))

/* n is a whole number (or NaN), so clamping it to [-127, 128] before the
 * conversion gives the k that kern_exp_vec's clamps after it give */
#define kern_exp8(x) __extension__({                                                   \
    kern_v8 v_ = (x);                                                                  \
    kern_v8 n_ = (v_ * 1.44269504088896341f + 12582912.0f) - 12582912.0f;              \
    kern_v8 r_ = v_ - n_ * 0.693359375f;                                               \
    r_ = r_ - n_ * -2.12194440e-4f;                                                    \
    kern_v8 p_ = r_ * 1.9875691500e-4f + 1.3981999507e-3f;                             \
    p_ = p_ * r_ + 8.3334519073e-3f;                                                   \
    p_ = p_ * r_ + 4.1665795894e-2f;                                                   \
    p_ = p_ * r_ + 1.6666665459e-1f;                                                   \
    p_ = p_ * r_ + 5.0000001201e-1f;                                                   \
    const kern_v8 hi_ = {128.0f, 128.0f, 128.0f, 128.0f, 128.0f, 128.0f, 128.0f, 128.0f}; \
    const kern_v8 lo_ = hi_ - 255.0f;                                                  \
    kern_v8 nk_ = kern_sel8(n_ < hi_, n_, hi_);                                        \
    nk_ = kern_sel8(nk_ > lo_, nk_, lo_);                                              \
    kern_v8i k_ = __builtin_convertvector(nk_, kern_v8i);                              \
    kern_v8 o_ = p_ * r_ * r_ + r_ + 1.0f;                                             \
    o_ * (kern_v8)((k_ + 127) << 23);                                                  \
})

#endif
