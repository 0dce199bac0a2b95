/* widen.c: F16 and BF16 weights to fp32 (see kernels.h).
 *
 * Both loops are branch-free so that they vectorise: the products widen
 * every block of a 2-byte weight matrix each time they use it, so this runs
 * once per weight per product and must keep up with memory. */
#include "kernels.h"

#include <stdint.h>
#include <string.h>

static inline uint16_t load16(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return h;
#else
    return (uint16_t)(p[0] | p[1] << 8);
#endif
}

static inline float from_bits(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static inline uint32_t to_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

size_t kern_dtype_size(KernDtype d)
{
    return d == KERN_F32 ? 4 : 2;
}

/* BF16 is the top half of an fp32. */
KERN_CLONES void kern_bf16_to_f32(float *out, const void *in, size_t n)
{
    const unsigned char *p = in;
    for (size_t i = 0; i < n; i++) out[i] = from_bits((uint32_t)load16(p + 2 * i) << 16);
}

/* Exponent and mantissa shifted into fp32 place make a number 2^112 too
 * small (the biases are 15 and 127); one exact multiplication rebiases
 * normal and subnormal halves alike.  The largest exponent (inf, NaN) is
 * set to fp32's instead, keeping the NaN payload.  This relies on
 * subnormal fp32 arithmetic, which kop never turns off (no FTZ/DAZ). */
KERN_CLONES void kern_f16_to_f32(float *out, const void *in, size_t n)
{
    const unsigned char *p = in;
    for (size_t i = 0; i < n; i++) {
        uint32_t h = load16(p + 2 * i), em = (h & 0x7fffu) << 13;
        uint32_t b = to_bits(from_bits(em) * 0x1p112f);
        b = (h & 0x7c00u) == 0x7c00u ? em | 0x7f800000u : b;
        out[i] = from_bits(b | (h & 0x8000u) << 16);
    }
}

void kern_widen(float *out, KernMat W, size_t first, size_t n)
{
    size_t sz = kern_dtype_size(W.dtype);
    const unsigned char *p = (const unsigned char *)W.data + first * sz;
    if (W.dtype == KERN_F32) memcpy(out, p, n * sizeof(float));
    else if (W.dtype == KERN_F16) kern_f16_to_f32(out, p, n);
    else kern_bf16_to_f32(out, p, n);
}
