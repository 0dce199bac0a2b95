/* norm.c: RMSNorm, LayerNorm and the pointwise activations. */
#include "kernels.h"

#include <math.h>

void kern_rmsnorm(float *out, const float *x, const float *w, int C, float eps)
{
    float ss = 0.0f;
    for (int i = 0; i < C; i++) ss += x[i] * x[i];
    float r = 1.0f / sqrtf(ss / (float)C + eps);
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

float kern_logsumexp(const float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
    double s = 0;
    for (int i = 0; i < n; i++) s += exp((double)x[i] - mx);
    return mx + (float)log(s);
}
