/* norm.c: RMSNorm, LayerNorm and the pointwise activations. */
#include "kernels.h"
#include "fastexp.h"

#include <math.h>

void kern_rmsnorm(float *out, const float *x, const float *w, int C, float eps)
{
    float ss = 0.0f;
    for (int i = 0; i < C; i++) ss += x[i] * x[i];
    float r = 1.0f / sqrtf(ss / (float)C + eps);
    if (!w) {
        for (int i = 0; i < C; i++) out[i] = x[i] * r;
        return;
    }
    for (int i = 0; i < C; i++) out[i] = x[i] * r * w[i];
}

void kern_layernorm(float *out, const float *x, const float *w, const float *b, int C, float eps)
{
    float mean = 0.0f, var = 0.0f;
    for (int i = 0; i < C; i++) mean += x[i];
    mean /= (float)C;
    for (int i = 0; i < C; i++) {
        float d = x[i] - mean;
        var += d * d;
    }
    float r = 1.0f / sqrtf(var / (float)C + eps);
    for (int i = 0; i < C; i++) out[i] = (x[i] - mean) * r * w[i] + b[i];
}

float kern_silu(float x) { return x / (1.0f + expf(-x)); }

/* torch.nn.functional.softplus with its default threshold 20 */
float kern_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

/* GPT-2's tanh approximation ("gelu_new") */
float kern_gelu_new(float x)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x)));
}

float kern_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* softplus of the eight floats at x, in place: kern_softplus_vec's
 * operations, lane by lane */
static inline __attribute__((always_inline)) void softplus8(float *x)
{
    const kern_v8 zero = {0}, sign = -zero, twenty = zero + 20.0f;
    kern_v8 v = kern_ld8(x);
    kern_v8 y = kern_exp8((kern_v8)((kern_v8i)v | (kern_v8i)sign)); /* exp(-|v|) */
    kern_v8 sv = y / (2.0f + y), s2 = sv * sv;
    kern_v8 p = s2 * (1.0f / 15.0f) + 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    kern_v8 sp = kern_sel8(v > zero, v, zero) + 2.0f * sv * p;
    kern_st8(x, kern_sel8(v > twenty, v, sp));
}

/* Whole vectors of eight in registers (the array loops below went through
 * memory between the exp and the series), the rest as before; both give
 * each element the same bits. */
KERN_CLONES
void kern_softplus_vec(float *x, int n)
{
    int n8 = n / 8 * 8;
    for (int i = 0; i < n8; i += 8) softplus8(x + i);
    x += n8;
    n -= n8;
    float e[KERN_FASTEXP_MAX];
    for (int i0 = 0; i0 < n; i0 += KERN_FASTEXP_MAX) {
        int m = n - i0 < KERN_FASTEXP_MAX ? n - i0 : KERN_FASTEXP_MAX;
        float *v = x + i0;
        for (int i = 0; i < m; i++) e[i] = -fabsf(v[i]);
        kern_exp_vec(e, e, m);
        #pragma omp simd
        for (int i = 0; i < m; i++) {
            /* log1p(y) = 2 atanh(s), s = y / (2 + y) in (0, 1/3]: odd series to s^15 */
            float y = e[i], sv = y / (2.0f + y), s2 = sv * sv;
            float p = 1.0f / 15.0f;
            p = p * s2 + 1.0f / 13.0f;
            p = p * s2 + 1.0f / 11.0f;
            p = p * s2 + 1.0f / 9.0f;
            p = p * s2 + 1.0f / 7.0f;
            p = p * s2 + 1.0f / 5.0f;
            p = p * s2 + 1.0f / 3.0f;
            p = p * s2 + 1.0f;
            float sp = (v[i] > 0.0f ? v[i] : 0.0f) + 2.0f * sv * p;
            v[i] = v[i] > 20.0f ? v[i] : sp;
        }
    }
}

KERN_CLONES
void kern_silu_vec(float *x, int n)
{
    int n8 = n / 8 * 8;
    for (int i = 0; i < n8; i += 8) {
        kern_v8 v = kern_ld8(x + i);
        kern_st8(x + i, v / (1.0f + kern_exp8(-v)));
    }
    x += n8;
    n -= n8;
    float e[KERN_FASTEXP_MAX];
    for (int i0 = 0; i0 < n; i0 += KERN_FASTEXP_MAX) {
        int m = n - i0 < KERN_FASTEXP_MAX ? n - i0 : KERN_FASTEXP_MAX;
        float *v = x + i0;
        for (int i = 0; i < m; i++) e[i] = -v[i];
        kern_exp_vec(e, e, m);
        for (int i = 0; i < m; i++) v[i] = v[i] / (1.0f + e[i]);
    }
}

/* The original order, for the rare row whose sum is NaN (its sign bit
 * depends on which NaN met which in what order). */
#ifdef __clang__
KERN_CLONES /* clang takes no noinline beside target_clones, and does not inline a clone */
#else
KERN_CLONES __attribute__((noinline))
#endif
static float logsumexp_in_order(const float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float e[KERN_FASTEXP_MAX];
    double total = 0;
    for (int i0 = 0; i0 < n; i0 += KERN_FASTEXP_MAX) {
        int m = n - i0 < KERN_FASTEXP_MAX ? n - i0 : KERN_FASTEXP_MAX;
        for (int i = 0; i < m; i++) e[i] = x[i0 + i] - mx;
        kern_exp_vec(e, e, m);
        float s = 0.0f;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < m; i++) s += e[i];
        total += s;
    }
    return mx + (float)log(total);
}

/* The same sums as a loop over e[] under `omp simd reduction` compiles to
 * (GCC, eight lanes): lane j adds the elements j, j + 8, ... of a chunk in
 * order, the elements past its last whole vector go to lane 0, and the
 * chunk's sum is 0 + lane 0 + lane 1 + ... + lane 7; but the exps stay in
 * registers.  The maximum is taken eight lanes at a time; only its sign,
 * when it is zero, could depend on the order, so a zero maximum is taken
 * again in order. */
KERN_CLONES
float kern_logsumexp(const float *x, int n)
{
    int n8 = n / 8 * 8;
    float mx = x[0];
    if (n8) {
        kern_v8 m = (kern_v8){0} + x[0];
        for (int i = 0; i < n8; i += 8) {
            kern_v8 v = kern_ld8(x + i);
            m = kern_sel8(v > m, v, m);
        }
        for (int j = 0; j < 8; j++) mx = m[j] > mx ? m[j] : mx;
        for (int i = n8; i < n; i++) mx = x[i] > mx ? x[i] : mx;
        if (mx == 0.0f)
            for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    } else {
        for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    }
    double total = 0;
    for (int i0 = 0; i0 < n; i0 += KERN_FASTEXP_MAX) {
        int m = n - i0 < KERN_FASTEXP_MAX ? n - i0 : KERN_FASTEXP_MAX, m8 = m / 8 * 8;
        const float *v = x + i0;
        kern_v8 lanes = {0};
        for (int i = 0; i < m8; i += 8) lanes += kern_exp8(kern_ld8(v + i) - mx);
        if (m8 < m) {
            float e[8];
            for (int i = m8; i < m; i++) e[i - m8] = v[i] - mx;
            kern_exp_vec(e, e, m - m8);
            for (int i = m8; i < m; i++) lanes[0] += e[i - m8];
        }
        float s = 0.0f;
        for (int j = 0; j < 8; j++) s += lanes[j];
        total += s;
    }
    float r = mx + (float)log(total);
    return r == r ? r : logsumexp_in_order(x, n);
}
