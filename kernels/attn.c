/* attn.c: causal softmax attention for one head, with edge knockout and an
 * optional sliding window (Mistral). */
#include "kernels.h"

#include <assert.h>

#include <math.h>

static int blocked(const KernKnock *ko, int i, int j)
{
    return ko && ko->dst[i] && ko->src[j];
}

/* the first key row i sees: all of them, or the last `window` */
static int first_key(int i, int window)
{
    return window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
}

void kern_attention_head(float *out, int ldo, const float *q, int ldq,
                         const float *k0, const float *v0, int ld0,
                         const float *k1, const float *v1, int ld1, int split,
                         const KernKnock *ko, float *att, int i0, int T, int HS)
{
    kern_attention_head_win(out, ldo, q, ldq, k0, v0, ld0, k1, v1, ld1, split, ko, 0, att, i0, T, HS);
}

void kern_attention_head_win(float *out, int ldo, const float *q, int ldq,
                             const float *k0, const float *v0, int ld0,
                             const float *k1, const float *v1, int ld1, int split,
                             const KernKnock *ko, int window, float *att, int i0, int T, int HS)
{
    float scale = 1.0f / sqrtf((float)HS);
    for (int i = i0; i < T; i++) {
        const float *qi = q + (size_t)(i - i0) * ldq;
        int j0 = first_key(i, window);
        float mx = -INFINITY;
        for (int j = j0; j <= i; j++) {
            if (blocked(ko, i, j)) { att[j] = -INFINITY; continue; }
            const float *kj = j < split ? k0 + (size_t)j * ld0 : k1 + (size_t)(j - split) * ld1;
            float s = 0.0f;
            for (int c = 0; c < HS; c++) s += qi[c] * kj[c];
            att[j] = s * scale;
            if (att[j] > mx) mx = att[j];
        }
        float *o = out + (size_t)(i - i0) * ldo;
        for (int c = 0; c < HS; c++) o[c] = 0.0f;
        if (mx == -INFINITY) continue; /* every edge into i blocked: contributes zero */
        float sum = 0.0f;
        for (int j = j0; j <= i; j++) {
            att[j] = att[j] == -INFINITY ? 0.0f : expf(att[j] - mx);
            sum += att[j];
        }
        float inv = 1.0f / sum;
        for (int j = j0; j <= i; j++) {
            if (att[j] == 0.0f) continue;
            const float *vj = j < split ? v0 + (size_t)j * ld0 : v1 + (size_t)(j - split) * ld1;
            float w = att[j] * inv;
            for (int c = 0; c < HS; c++) o[c] += w * vj[c];
        }
    }
}

void kern_attention_head_ref(float *out, int ldo, const float *q, const float *k, const float *v, int ld,
                             const KernKnock *ko, int T, int HS)
{
    kern_attention_head_win_ref(out, ldo, q, k, v, ld, ko, 0, T, HS);
}

/* transformers' mask: key j is visible to query i when j <= i and, with a
 * window, j > i - window */
void kern_attention_head_win_ref(float *out, int ldo, const float *q, const float *k, const float *v, int ld,
                                 const KernKnock *ko, int window, int T, int HS)
{
    for (int i = 0; i < T; i++) {
        double w[KERN_ATTN_REF_MAX];
        double mx = -INFINITY, sum = 0.0;
        assert(T <= KERN_ATTN_REF_MAX);
        for (int j = 0; j < T; j++) {
            w[j] = -INFINITY;
            if (j > i || (window > 0 && j <= i - window) || blocked(ko, i, j)) continue;
            double s = 0.0;
            for (int c = 0; c < HS; c++) s += (double)q[(size_t)i * ld + c] * k[(size_t)j * ld + c];
            w[j] = s / sqrt((double)HS);
            if (w[j] > mx) mx = w[j];
        }
        for (int j = 0; j < T; j++) {
            w[j] = w[j] == -INFINITY ? 0.0 : exp(w[j] - mx);
            sum += w[j];
        }
        for (int c = 0; c < HS; c++) {
            double o = 0.0;
            for (int j = 0; j < T; j++) o += w[j] * v[(size_t)j * ld + c];
            out[(size_t)i * ldo + c] = sum > 0.0 ? (float)(o / sum) : 0.0f;
        }
    }
}
