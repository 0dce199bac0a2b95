/* conv.c: Mamba's causal depthwise conv1d. */
#include "kernels.h"

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
