/* widen.c: F16 and BF16 weights to fp32 (see kernels.h).
 *
 * Both loops are branch-free so that they vectorise: the products widen
 * every block of a 2-byte weight matrix each time they use it, so this runs
 * once per weight per product and must keep up with memory. */
#include "kernels.h"

#include <stdint.h>
#include <string.h>

/* The weights are read where the file has them: 2-byte elements at any
 * address, and the output written as the bits of fp32s.  Access through
 * these types is allowed at any alignment and under any aliasing, and
 * GCC vectorises the loops over them (a memcpy an element it does not). */
typedef uint16_t u16_any __attribute__((aligned(1), may_alias));
typedef uint32_t u32_bits __attribute__((may_alias));

static inline uint16_t load16(const u16_any *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return *p;
#else
    const unsigned char *b = (const unsigned char *)p;
    return (uint16_t)(b[0] | b[1] << 8);
#endif
}

size_t kern_dtype_size(KernDtype d)
{
    return d == KERN_F32 ? 4 : 2;
}

/* BF16 is the top half of an fp32. */
KERN_CLONES void kern_bf16_to_f32(float *out, const void *in, size_t n)
{
    const u16_any *restrict h = in;
    u32_bits *restrict o = (u32_bits *)out;
    #pragma omp simd
    for (size_t i = 0; i < n; i++) o[i] = (uint32_t)load16(h + i) << 16;
}

/* Exponent and mantissa shifted into fp32 place make a number 2^112 too
 * small (the biases are 15 and 127); one exact multiplication rebiases
 * normal and subnormal halves alike.  The largest exponent (inf, NaN) is
 * set to fp32's instead, keeping the NaN payload.  This relies on
 * subnormal fp32 arithmetic, which kop never turns off (no FTZ/DAZ). */
KERN_CLONES void kern_f16_to_f32(float *out, const void *in, size_t n)
{
    const u16_any *restrict h = in;
    u32_bits *restrict o = (u32_bits *)out;
    #pragma omp simd
    for (size_t i = 0; i < n; i++) {
        uint32_t x = load16(h + i), em = (x & 0x7fffu) << 13;
        union { uint32_t u; float f; } v = {.u = em};
        v.f *= 0x1p112f;
        uint32_t special = 0u - (uint32_t)((x & 0x7c00u) == 0x7c00u); /* all ones for inf and NaN */
        uint32_t b = (special & (em | 0x7f800000u)) | (~special & v.u);
        o[i] = b | (x & 0x8000u) << 16;
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
