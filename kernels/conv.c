/* conv.c: Mamba's causal depthwise conv1d. */
#include "kernels.h"
#include "fastexp.h"

#include <math.h>

void kern_conv1d_causal(float *out, int ldo, const float *x, int ldx,
                        const float *w, const float *b, int T, int K, int c0, int c1)
{
    for (int t = 0; t < T; t++)
        for (int c = c0; c < c1; c++) {
            float s = b ? b[c] : 0.0f;
            for (int k = 0; k < K; k++) {
                int src = t - (K - 1) + k;
                if (src >= 0) s += w[(size_t)c * K + k] * x[(size_t)src * ldx + c];
            }
            out[(size_t)t * ldo + c] = s;
        }
}

/* The products and sums of each channel in the order of the definition
 * (bias, then tap 0, 1, ...), one multiply and one add each: no fused
 * multiply-add, whose single rounding would give other bits than the
 * baseline build (so KERN_CLONES_NOFMA); a channel's taps are summed in a
 * register rather than over a row in memory, four times, as before. */
/* two-vector shuffles: GCC's and clang's builtins differ */
#if defined(__clang__)
#define SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF(a, b, ...) __builtin_shuffle(a, b, (kern_v8i){__VA_ARGS__})
#endif

/* the four taps of Mamba's conv (d_conv = 4), all positions in range;
 * w (D, 4) is turned into four vectors of eight channels each by shuffles */
static inline __attribute__((always_inline)) void conv4(float *o, const float *w, const float *b, const float *const *x,
                                                        int D)
{
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    int D8 = D / 8 * 8;
    for (int e = 0; e < D8; e += 8) {
        const float *we = w + (size_t)e * 4;
        kern_v8 a = kern_ld8(we), bb = kern_ld8(we + 8), c = kern_ld8(we + 16), d = kern_ld8(we + 24);
        kern_v8 t0 = SHUF(a, bb, 0, 4, 8, 12, 1, 5, 9, 13), t1 = SHUF(a, bb, 2, 6, 10, 14, 3, 7, 11, 15); /* channels 0-3 */
        kern_v8 t2 = SHUF(c, d, 0, 4, 8, 12, 1, 5, 9, 13), t3 = SHUF(c, d, 2, 6, 10, 14, 3, 7, 11, 15);   /* channels 4-7 */
        kern_v8 s = b ? kern_ld8(b + e) : (kern_v8){0};
        s += SHUF(t0, t2, 0, 1, 2, 3, 8, 9, 10, 11) * kern_ld8(x0 + e);   /* tap 0 of channels 0-7 */
        s += SHUF(t0, t2, 4, 5, 6, 7, 12, 13, 14, 15) * kern_ld8(x1 + e);
        s += SHUF(t1, t3, 0, 1, 2, 3, 8, 9, 10, 11) * kern_ld8(x2 + e);
        s += SHUF(t1, t3, 4, 5, 6, 7, 12, 13, 14, 15) * kern_ld8(x3 + e);
        kern_st8(o + e, s);
    }
    for (int e = D8; e < D; e++) {
        float s = b ? b[e] : 0.0f;
        s += w[(size_t)e * 4] * x0[e];
        s += w[(size_t)e * 4 + 1] * x1[e];
        s += w[(size_t)e * 4 + 2] * x2[e];
        s += w[(size_t)e * 4 + 3] * x3[e];
        o[e] = s;
    }
}

KERN_CLONES_NOFMA
void kern_conv1d_silu_rows(float *out, int ldo, const float *x0, int ld0, const float *x1, int ld1, int split,
                           const float *w, const float *b, int i0, int rows, int K, int D)
{
    for (int q = 0; q < rows; q++) {
        int i = i0 + q;
        float *o = out + (size_t)q * ldo;
        if (K == 4 && i >= 3) {
            const float *x[4];
            for (int k = 0; k < 4; k++) {
                int p = i - 3 + k;
                x[k] = p < split ? x0 + (size_t)p * ld0 : x1 + (size_t)(p - split) * ld1;
            }
            conv4(o, w, b, x, D);
            kern_silu_vec(o, D);
            continue;
        }
        for (int e = 0; e < D; e++) o[e] = b ? b[e] : 0.0f;
        for (int k = 0; k < K; k++) {
            int p = i - (K - 1) + k;
            if (p < 0) continue;
            const float *x = p < split ? x0 + (size_t)p * ld0 : x1 + (size_t)(p - split) * ld1;
            for (int e = 0; e < D; e++) o[e] += w[(size_t)e * K + k] * x[e];
        }
        kern_silu_vec(o, D);
    }
}
