/* conv.c: Mamba's causal depthwise conv1d. */
#include "kernels.h"

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

void kern_conv1d_silu_rows(float *out, int ldo, const float *x0, int ld0, const float *x1, int ld1, int split,
                           const float *w, const float *b, int i0, int rows, int K, int D)
{
    for (int q = 0; q < rows; q++) {
        int i = i0 + q;
        float *o = out + (size_t)q * ldo;
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
