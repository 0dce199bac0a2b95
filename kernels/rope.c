/* rope.c: rotary position embeddings in Hugging Face's rotate-half layout
 * (see kernels.h).  The frequencies and angles are computed in fp32, step by
 * step as transformers' float32 tensors compute them, so long prompts land
 * on the same angles. */
#include "kernels.h"

#include <math.h>

void kern_rope_freqs(float *inv_freq, int rot, float theta, float factor, float low_freq_factor,
                     float high_freq_factor, float orig_ctx)
{
    // inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
    for (int i = 0; i < rot / 2; i++) inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)rot);
    if (!(factor > 0.0f)) return;
    // low_freq_wavelen = old_context_len / low_freq_factor (likewise high)
    float low_wl = (float)((double)orig_ctx / low_freq_factor);
    float high_wl = (float)((double)orig_ctx / high_freq_factor);
    float span = (float)((double)high_freq_factor - low_freq_factor);
    for (int i = 0; i < rot / 2; i++) {
        float f = inv_freq[i];
        // wavelen = 2 * math.pi / inv_freq
        float wl = (float)(2.0 * M_PI) / f;
        if (wl > low_wl) {
            inv_freq[i] = f / factor;
        } else if (!(wl < high_wl)) {
            // smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            float s = (orig_ctx / wl - low_freq_factor) / span;
            // smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
            inv_freq[i] = (1.0f - s) * f / factor + s * f;
        }
    }
}

void kern_rope(float *x, int n, int step, int rot, const float *inv_freq, int pos)
{
    int half = rot / 2;
    for (int i = 0; i < half; i++) {
        // freqs = position * inv_freq; cos, sin = emb.cos(), emb.sin()
        float a = (float)pos * inv_freq[i], c = cosf(a), s = sinf(a);
        for (int k = 0; k < n; k++) {
            float *h = x + (size_t)k * step;
            float x1 = h[i], x2 = h[i + half];
            h[i] = x1 * c - x2 * s;
            h[i + half] = x2 * c + x1 * s;
        }
    }
}

void kern_rope_ref(float *out, const float *x, int HS, int rot, const float *inv_freq, int pos)
{
    int half = rot / 2;
    for (int d = 0; d < HS; d++) {
        if (d >= rot) {
            out[d] = x[d];
            continue;
        }
        double emb = (double)pos * inv_freq[d % half];
        double rotated = d < half ? -(double)x[d + half] : (double)x[d - half];
        out[d] = (float)(x[d] * cos(emb) + rotated * sin(emb));
    }
}
