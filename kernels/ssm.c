/* ssm.c: the Mamba-1 selective scan and the Mamba-2 SSD scan, each linear in
 * T, with knockout done by a second state that never receives the source
 * inputs; and their definitional references, which materialise the implicit
 * attention alpha_ij and zero the blocked entries. */
#include "kernels.h"
#include "fastexp.h"

#include <math.h>
#include <string.h>

#define KERN_MAX_STATE KERN_FASTEXP_MAX

static int channel_knocked(const KernKnock *ko, int e)
{
    return ko && (!ko->chan || ko->chan[e]);
}

// ---------------------------------------------------------------------------
// Mamba-1

KERN_CLONES
void kern_mamba1_scan(float *y, int ldy, const float *u, int ldu, const float *delta, int ldd,
                      const float *A, const float *B, const float *C, int ldbc, const float *D,
                      const KernKnock *ko, int T, int N, int e0, int e1)
{
    float h[KERN_MAX_STATE], hk[KERN_MAX_STATE], dA[KERN_MAX_STATE];
    if (N > KERN_MAX_STATE) return; /* callers check d_state at load */
    for (int e = e0; e < e1; e++) {
        const float *a = A + (size_t)e * N;
        int knocked = channel_knocked(ko, e);
        for (int n = 0; n < N; n++) h[n] = hk[n] = 0.0f;
        for (int t = 0; t < T; t++) {
            float d = delta[(size_t)t * ldd + e], x = u[(size_t)t * ldu + e], dx = d * x;
            const float *b = B + (size_t)t * ldbc, *c = C + (size_t)t * ldbc;
            float acc = 0.0f;
            kern_exp_scaled(dA, a, d, N);
            #pragma omp simd reduction(+:acc)
            for (int n = 0; n < N; n++) {
                h[n] = dA[n] * h[n] + dx * b[n];
                acc += c[n] * h[n];
            }
            if (knocked) {
                /* the state without the sources' inputs (see kernels.h) */
                float acck = 0.0f, in = ko->src[t] ? 0.0f : dx;
                #pragma omp simd reduction(+:acck)
                for (int n = 0; n < N; n++) {
                    hk[n] = dA[n] * hk[n] + in * b[n];
                    acck += c[n] * hk[n];
                }
                if (ko->dst[t]) acc = acck;
            }
            y[(size_t)t * ldy + e] = acc + D[e] * x;
        }
    }
}

KERN_CLONES
void kern_mamba1_scan_rows(float *y, int ldy, const float *z, int ldz, const float *u, int ldu,
                           const float *dt, int lddt, const float *A, const float *B, const float *C, int ldbc,
                           const float *D, const float *h0, const float *hs0, int knocked,
                           const unsigned char *src, const unsigned char *dst, const unsigned char *chan,
                           int t0, int rows, int N, int e0, int e1)
{
    float h[KERN_MAX_STATE], hs[KERN_MAX_STATE], dA[KERN_MAX_STATE];
    if (N > KERN_MAX_STATE) return;
    for (int e = e0; e < e1; e++) {
        const float *a = A + (size_t)e * N;
        int kn = knocked && (!chan || chan[e]);
        if (h0) memcpy(h, h0 + (size_t)e * N, sizeof(float) * N);
        else memset(h, 0, sizeof(float) * N);
        if (kn && hs0) memcpy(hs, hs0 + (size_t)e * N, sizeof(float) * N);
        else memset(hs, 0, sizeof(float) * N);
        for (int q = 0; q < rows; q++) {
            int i = t0 + q;
            float d = dt[(size_t)q * lddt + e], x = u[(size_t)q * ldu + e], dx = d * x;
            const float *b = B + (size_t)q * ldbc, *c = C + (size_t)q * ldbc;
            kern_exp_scaled(dA, a, d, N);
            float acc = 0.0f;
            #pragma omp simd reduction(+:acc)
            for (int n = 0; n < N; n++) {
                h[n] = dA[n] * h[n] + dx * b[n];
                acc += c[n] * h[n];
            }
            if (kn) {
                float in = src[i] ? dx : 0.0f, accs = 0.0f;
                #pragma omp simd reduction(+:accs)
                for (int n = 0; n < N; n++) {
                    hs[n] = dA[n] * hs[n] + in * b[n];
                    accs += c[n] * hs[n];
                }
                if (dst[i]) acc -= accs;
            }
            float zz = z[(size_t)q * ldz + e];
            y[(size_t)q * ldy + e] = (acc + D[e] * x) * kern_silu(zz);
        }
    }
}

void kern_mamba1_scan_ref(float *y, int ldy, const float *u, int ldu, const float *delta, int ldd,
                          const float *A, const float *B, const float *C, int ldbc, const float *D,
                          const KernKnock *ko, int T, int N, int e0, int e1)
{
    for (int e = e0; e < e1; e++) {
        const float *a = A + (size_t)e * N;
        int knocked = channel_knocked(ko, e);
        for (int i = 0; i < T; i++) {
            double yi = 0.0, dsum = 0.0; /* dsum = sum_{t=j+1..i} delta_t */
            for (int j = i; j >= 0; j--) {
                if (j < i) dsum += delta[(size_t)(j + 1) * ldd + e];
                if (knocked && ko->dst[i] && ko->src[j]) continue;
                double alpha = 0.0; /* alpha_ij[e] */
                for (int n = 0; n < N; n++)
                    alpha += (double)C[(size_t)i * ldbc + n] * exp(dsum * a[n]) *
                             delta[(size_t)j * ldd + e] * B[(size_t)j * ldbc + n];
                yi += alpha * u[(size_t)j * ldu + e];
            }
            y[(size_t)i * ldy + e] = (float)(yi + (double)D[e] * u[(size_t)i * ldu + e]);
        }
    }
}

// ---------------------------------------------------------------------------
// Mamba-2 (one head; scalar decay per head)

KERN_CLONES
void kern_mamba2_scan_head(float *y, int ldy, const float *x, int ldx, const float *dt, int lddt,
                           float a, const float *B, const float *C, int ldbc, float D,
                           const KernKnock *ko, int T, int P, int N)
{
    /* state (P, N) for the head, kept in y's rows' place: processed one time
     * step at a time so B_t and C_t are read once per step for all P rows. */
    float hbuf[KERN_MAX_STATE * 8], hkbuf[KERN_MAX_STATE * 8];
    if (N > KERN_MAX_STATE) return;
    for (int p0 = 0; p0 < P; p0 += 8) {
        int np = P - p0 < 8 ? P - p0 : 8;
        for (int i = 0; i < np * N; i++) hbuf[i] = hkbuf[i] = 0.0f;
        for (int t = 0; t < T; t++) {
            float d = dt[(size_t)t * lddt];
            float dA;
            kern_exp_scaled(&dA, &a, d, 1);
            const float *b = B + (size_t)t * ldbc, *c = C + (size_t)t * ldbc;
            int blocked = ko && ko->dst[t], src = ko && ko->src[t];
            for (int p = 0; p < np; p++) {
                float xv = x[(size_t)t * ldx + p0 + p], dx = d * xv;
                float *h = hbuf + p * N, *hk = hkbuf + p * N;
                float acc = 0.0f;
                #pragma omp simd reduction(+:acc)
                for (int n = 0; n < N; n++) {
                    h[n] = dA * h[n] + dx * b[n];
                    acc += h[n] * c[n];
                }
                if (ko) {
                    float acck = 0.0f, in = src ? 0.0f : dx;
                    #pragma omp simd reduction(+:acck)
                    for (int n = 0; n < N; n++) {
                        hk[n] = dA * hk[n] + in * b[n];
                        acck += hk[n] * c[n];
                    }
                    if (blocked) acc = acck;
                }
                y[(size_t)t * ldy + p0 + p] = acc + D * xv;
            }
        }
    }
}

void kern_mamba2_scan_head_ref(float *y, int ldy, const float *x, int ldx, const float *dt, int lddt,
                               float a, const float *B, const float *C, int ldbc, float D,
                               const KernKnock *ko, int T, int P, int N)
{
    for (int i = 0; i < T; i++)
        for (int p = 0; p < P; p++) {
            double yi = 0.0, dsum = 0.0;
            for (int j = i; j >= 0; j--) {
                if (j < i) dsum += dt[(size_t)(j + 1) * lddt];
                if (ko && ko->dst[i] && ko->src[j]) continue;
                double cb = 0.0; /* C_i . B_j */
                for (int n = 0; n < N; n++)
                    cb += (double)C[(size_t)i * ldbc + n] * B[(size_t)j * ldbc + n];
                double alpha = cb * exp(dsum * a) * dt[(size_t)j * lddt];
                yi += alpha * x[(size_t)j * ldx + p];
            }
            y[(size_t)i * ldy + p] = (float)(yi + (double)D * x[(size_t)i * ldx + p]);
        }
}
