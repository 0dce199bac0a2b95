/* ssm.c: the Mamba-1 selective scan and the Mamba-2 SSD scan, each linear in
 * T, with knockout done by a second state that never receives the source
 * inputs; and their definitional references, which materialise the implicit
 * attention alpha_ij and zero the blocked entries. */
#include "kernels.h"
#include "fastexp.h"

#include <math.h>
#include <string.h>

#include <assert.h>

_Static_assert(KERN_MAX_STATE <= KERN_FASTEXP_MAX, "the scans exponentiate a state row at once");

static int channel_knocked(const KernKnock *ko, int e)
{
    return ko && (!ko->chan || ko->chan[e]);
}

// ---------------------------------------------------------------------------
// Mamba-1

#define KERN_EB 16 /* channels per block: two AVX2 vectors */

/* One position's step of a block: the states are read from hin (row
 * stride ldin) and, unless this is the block's last row (whose state nobody
 * needs), written to hout; acc/accs receive C . h and C . h^S.  The states
 * ping-pong between two buffers rather than update in place, so that the
 * first row reads the caller's h0 directly and restrict holds. */
static inline __attribute__((always_inline)) void
scan_step(const float *restrict hin, size_t ldin, const float *restrict hsin, size_t ldsin, float *restrict hout,
          float *restrict hsout, int store, int knocked, float in_s, const float *d, const float *dx,
          const float *At, int ldA, const float *b, const float *c, int N, int eb, int ne, float *acc, float *accs)
{
    for (int n = 0; n < N; n++) {
        float ex[KERN_EB];
        const float *an = At + (size_t)n * ldA + eb;
        for (int j = 0; j < ne; j++) ex[j] = d[j] * an[j];
        kern_exp_vec(ex, ex, ne);
        float bn = b[n], cn = c[n];
        const float *hi = hin + (size_t)n * ldin;
        float *ho = hout + (size_t)n * KERN_EB;
        for (int j = 0; j < ne; j++) {
            float v = ex[j] * hi[j] + dx[j] * bn;
            acc[j] += cn * v;
            if (store) ho[j] = v;
        }
        if (knocked) {
            const float *si = hsin + (size_t)n * ldsin;
            float *so = hsout + (size_t)n * KERN_EB;
            for (int j = 0; j < ne; j++) {
                float v = ex[j] * si[j] + in_s * dx[j] * bn;
                accs[j] += cn * v;
                if (store) so[j] = v;
            }
        }
    }
}

/* One block of ne <= KERN_EB channels starting at eb.  Always inlined, and
 * called with the constant KERN_EB for full blocks, so the compiler sees
 * fixed trip counts and keeps every loop in vector registers.  h and hs:
 * two (N, KERN_EB) buffers each. */
static inline __attribute__((always_inline)) void
scan_rows_block(float *y, int ldy, const float *z, int ldz, const float *u, int ldu, const float *dt, int lddt,
                const float *At, int ldA, const float *B, const float *C, int ldbc, const float *D, const float *h0,
                const float *hs0, int ldh, int knocked, const unsigned char *src, const unsigned char *dst,
                const unsigned char *chan, int t0, int rows, int N, int eb, int ne, float *h, float *hs)
{
    size_t buf = (size_t)N * KERN_EB;
    float kmask[KERN_EB];
    for (int j = 0; j < ne; j++) kmask[j] = knocked && (!chan || chan[eb + j]) ? 1.0f : 0.0f;
    /* a missing state (t0 == 0, or no source before t0) reads as zeros from
     * the second buffer, which the first row does not write */
    const float *hin = h0 ? h0 + eb : h + buf, *hsin = hs0 ? hs0 + eb : hs + buf;
    size_t ldin = h0 ? (size_t)ldh : KERN_EB, ldsin = hs0 ? (size_t)ldh : KERN_EB;
    if (!h0) memset(h + buf, 0, sizeof(float) * (size_t)N * KERN_EB);
    if (knocked && !hs0) memset(hs + buf, 0, sizeof(float) * (size_t)N * KERN_EB);
    for (int q = 0; q < rows; q++) {
        int i = t0 + q;
        const float *d = dt + (size_t)q * lddt + eb, *x = u + (size_t)q * ldu + eb;
        const float *b = B + (size_t)q * ldbc, *c = C + (size_t)q * ldbc;
        float dx[KERN_EB], acc[KERN_EB], accs[KERN_EB];
        float in_s = knocked && src[i] ? 1.0f : 0.0f;
        for (int j = 0; j < ne; j++) {
            dx[j] = d[j] * x[j];
            acc[j] = accs[j] = 0.0f;
        }
        float *hout = h + (size_t)(q & 1) * buf, *hsout = hs + (size_t)(q & 1) * buf;
        if (q + 1 < rows)
            scan_step(hin, ldin, hsin, ldsin, hout, hsout, 1, knocked, in_s, d, dx, At, ldA, b, c, N, eb, ne, acc, accs);
        else
            scan_step(hin, ldin, hsin, ldsin, hout, hsout, 0, knocked, in_s, d, dx, At, ldA, b, c, N, eb, ne, acc, accs);
        hin = hout;
        hsin = hsout;
        ldin = ldsin = KERN_EB;
        float blocked = knocked && dst[i] ? 1.0f : 0.0f, g[KERN_EB], out[KERN_EB];
        if (z) {
            const float *zq = z + (size_t)q * ldz + eb;
            for (int j = 0; j < ne; j++) g[j] = -zq[j];
            kern_exp_vec(g, g, ne); /* silu(z) = z / (1 + exp(-z)) */
            /* into a local first: y and z are halves of one buffer, and the
             * compiler would not vectorise a loop that might write what it reads */
            for (int j = 0; j < ne; j++)
                out[j] = (acc[j] - blocked * kmask[j] * accs[j] + D[eb + j] * x[j]) * (zq[j] / (1.0f + g[j]));
        } else {
            for (int j = 0; j < ne; j++) out[j] = acc[j] - blocked * kmask[j] * accs[j] + D[eb + j] * x[j];
        }
        memcpy(y + (size_t)q * ldy + eb, out, sizeof(float) * (size_t)ne);
    }
}

/* scan_rows_block for a full block (KERN_EB = 16 channels) as two vectors
 * of eight held in registers: the same operations in the same order, so
 * the same bits, but the accumulators no longer go through memory at every
 * state index, which the loops over a 16-float array did (the compiler
 * vectorises them without unrolling).  The knocked rows of a `-> last`
 * sweep spend most of the recompute's non-GEMM time here. */
static inline __attribute__((always_inline)) void
scan_block16(float *y, int ldy, const float *z, int ldz, const float *u, int ldu, const float *dt, int lddt,
             const float *At, int ldA, const float *B, const float *C, int ldbc, const float *D, const float *h0,
             const float *hs0, int ldh, int knocked, const unsigned char *src, const unsigned char *dst,
             const unsigned char *chan, int t0, int rows, int N, int eb, float *h, float *hs)
{
    size_t buf = (size_t)N * KERN_EB;
    float km[KERN_EB];
    for (int j = 0; j < KERN_EB; j++) km[j] = knocked && (!chan || chan[eb + j]) ? 1.0f : 0.0f;
    kern_v8 kmask0 = kern_ld8(km), kmask1 = kern_ld8(km + 8);
    const float *hin = h0 ? h0 + eb : h + buf, *hsin = hs0 ? hs0 + eb : hs + buf;
    size_t ldin = h0 ? (size_t)ldh : KERN_EB, ldsin = hs0 ? (size_t)ldh : KERN_EB;
    if (!h0) memset(h + buf, 0, sizeof(float) * (size_t)N * KERN_EB);
    if (knocked && !hs0) memset(hs + buf, 0, sizeof(float) * (size_t)N * KERN_EB);
    kern_v8 D0 = kern_ld8(D + eb), D1 = kern_ld8(D + eb + 8);
    for (int q = 0; q < rows; q++) {
        int i = t0 + q, store = q + 1 < rows;
        const float *d = dt + (size_t)q * lddt + eb, *x = u + (size_t)q * ldu + eb;
        const float *b = B + (size_t)q * ldbc, *c = C + (size_t)q * ldbc;
        kern_v8 d0 = kern_ld8(d), d1 = kern_ld8(d + 8), x0 = kern_ld8(x), x1 = kern_ld8(x + 8);
        kern_v8 dx0 = d0 * x0, dx1 = d1 * x1;
        kern_v8 acc0 = {0}, acc1 = {0}, accs0 = {0}, accs1 = {0};
        float in_s = knocked && src[i] ? 1.0f : 0.0f;
        float *hout = h + (size_t)(q & 1) * buf, *hsout = hs + (size_t)(q & 1) * buf;
        for (int n = 0; n < N; n++) {
            const float *an = At + (size_t)n * ldA + eb;
            kern_v8 ex0 = kern_exp8(d0 * kern_ld8(an)), ex1 = kern_exp8(d1 * kern_ld8(an + 8));
            float bn = b[n], cn = c[n];
            const float *hi = hin + (size_t)n * ldin;
            kern_v8 v0 = ex0 * kern_ld8(hi) + dx0 * bn, v1 = ex1 * kern_ld8(hi + 8) + dx1 * bn;
            acc0 += cn * v0;
            acc1 += cn * v1;
            if (store) {
                kern_st8(hout + (size_t)n * KERN_EB, v0);
                kern_st8(hout + (size_t)n * KERN_EB + 8, v1);
            }
            if (knocked) {
                const float *si = hsin + (size_t)n * ldsin;
                kern_v8 s0 = ex0 * kern_ld8(si) + in_s * dx0 * bn, s1 = ex1 * kern_ld8(si + 8) + in_s * dx1 * bn;
                accs0 += cn * s0;
                accs1 += cn * s1;
                if (store) {
                    kern_st8(hsout + (size_t)n * KERN_EB, s0);
                    kern_st8(hsout + (size_t)n * KERN_EB + 8, s1);
                }
            }
        }
        hin = hout;
        hsin = hsout;
        ldin = ldsin = KERN_EB;
        float blocked = knocked && dst[i] ? 1.0f : 0.0f;
        kern_v8 out0 = acc0 - blocked * kmask0 * accs0 + D0 * x0, out1 = acc1 - blocked * kmask1 * accs1 + D1 * x1;
        if (z) {
            const float *zq = z + (size_t)q * ldz + eb;
            kern_v8 z0 = kern_ld8(zq), z1 = kern_ld8(zq + 8);
            kern_v8 g0 = kern_exp8(-z0), g1 = kern_exp8(-z1);
            out0 = out0 * (z0 / (1.0f + g0));
            out1 = out1 * (z1 / (1.0f + g1));
        }
        kern_st8(y + (size_t)q * ldy + eb, out0);
        kern_st8(y + (size_t)q * ldy + eb + 8, out1);
    }
}

size_t kern_mamba1_scan_work(int N)
{
    return (size_t)4 * N * KERN_EB;
}

KERN_CLONES
void kern_mamba1_scan_rows(const KernScan1 *a, float *work, int e0, int e1)
{
    int N = a->N;
    assert(N > 0 && N <= KERN_MAX_STATE);
    float *h = work, *hs = work + (size_t)2 * N * KERN_EB;
    for (int eb = e0; eb < e1; eb += KERN_EB) {
        if (e1 - eb >= KERN_EB)
            scan_block16(a->y, a->ldy, a->z, a->ldz, a->u, a->ldu, a->dt, a->lddt, a->At, a->ldA, a->B, a->C,
                         a->ldbc, a->D, a->h0, a->hs0, a->ldh, a->knocked, a->src, a->dst, a->chan, a->t0, a->rows,
                         N, eb, h, hs);
        else
            scan_rows_block(a->y, a->ldy, a->z, a->ldz, a->u, a->ldu, a->dt, a->lddt, a->At, a->ldA, a->B, a->C,
                            a->ldbc, a->D, a->h0, a->hs0, a->ldh, a->knocked, a->src, a->dst, a->chan, a->t0, a->rows,
                            N, eb, e1 - eb, h, hs);
    }
}

KERN_CLONES
void kern_mamba1_states(float *const *h, const int *t_end, const unsigned char *const *take, int n, int ldh,
                        const float *u, int ldu, const float *dt, int lddt, const float *At, int ldA,
                        const float *B, int ldbc, int N, int e0, int e1)
{
    /* a state is zero until its first taken input; the scan runs from the
     * earliest such position to the latest t_end */
    int t_lo = 1 << 30, t_hi = -1;
    for (int i = 0; i < n; i++) {
        int s = 0;
        if (take[i])
            while (s <= t_end[i] && !take[i][s]) s++;
        if (s <= t_end[i] && s < t_lo) t_lo = s;
        if (t_end[i] > t_hi) t_hi = t_end[i];
        for (int k = 0; k < N; k++)
            for (int e = e0; e < e1; e++) h[i][(size_t)k * ldh + e] = 0.0f;
    }
    for (int eb = e0; eb < e1; eb += KERN_EB) {
        int ne = e1 - eb < KERN_EB ? e1 - eb : KERN_EB;
        if (ne == KERN_EB) { /* the same operations on two vectors of eight in registers */
            for (int t = t_lo; t <= t_hi; t++) {
                const float *d = dt + (size_t)t * lddt + eb, *x = u + (size_t)t * ldu + eb, *b = B + (size_t)t * ldbc;
                kern_v8 d0 = kern_ld8(d), d1 = kern_ld8(d + 8);
                kern_v8 dx0 = d0 * kern_ld8(x), dx1 = d1 * kern_ld8(x + 8);
                for (int k = 0; k < N; k++) {
                    const float *ak = At + (size_t)k * ldA + eb;
                    kern_v8 ex0 = kern_exp8(d0 * kern_ld8(ak)), ex1 = kern_exp8(d1 * kern_ld8(ak + 8));
                    for (int i = 0; i < n; i++) {
                        if (t > t_end[i]) continue;
                        float *hk = h[i] + (size_t)k * ldh + eb, bk = take[i] && !take[i][t] ? 0.0f : b[k];
                        kern_st8(hk, ex0 * kern_ld8(hk) + dx0 * bk);
                        kern_st8(hk + 8, ex1 * kern_ld8(hk + 8) + dx1 * bk);
                    }
                }
            }
            continue;
        }
        for (int t = t_lo; t <= t_hi; t++) {
            const float *d = dt + (size_t)t * lddt + eb, *x = u + (size_t)t * ldu + eb, *b = B + (size_t)t * ldbc;
            float dx[KERN_EB], ex[KERN_EB];
            for (int j = 0; j < ne; j++) dx[j] = d[j] * x[j];
            for (int k = 0; k < N; k++) {
                const float *ak = At + (size_t)k * ldA + eb;
                for (int j = 0; j < ne; j++) ex[j] = d[j] * ak[j];
                kern_exp_vec(ex, ex, ne);
                for (int i = 0; i < n; i++) {
                    if (t > t_end[i]) continue;
                    float *hk = h[i] + (size_t)k * ldh + eb, bk = take[i] && !take[i][t] ? 0.0f : b[k];
                    #pragma omp simd
                    for (int j = 0; j < ne; j++) hk[j] = ex[j] * hk[j] + dx[j] * bk;
                }
            }
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

/* out[q] = h_q . c for the np <= 4 rows h_q = h + q N, the sums in the
 * order the `omp simd reduction` loop they replace compiled to (GCC, eight
 * lanes: lane j takes n = j, j + 8, ... by fused multiply-adds, the n past
 * the last whole vector go to lane 0, then 0 + lane 0 + ... + lane 7),
 * four rows at a time so that their chains of multiply-adds overlap. */
static inline __attribute__((always_inline)) float lanes_sum(const kern_v8 *lp, const float *h, const float *c, int n0,
                                                             int N)
{
    kern_v8 l = *lp;
    for (int n = n0; n < N; n++) l[0] += h[n] * c[n];
    float s = 0.0f;
    for (int j = 0; j < 8; j++) s += l[j];
    return s;
}

static inline __attribute__((always_inline)) void dots4(float *out, const float *h, const float *c, int N, int np)
{
    int N8 = N / 8 * 8;
    if (np == 4) {
        const float *h1 = h + N, *h2 = h + 2 * (size_t)N, *h3 = h + 3 * (size_t)N;
        kern_v8 l0 = {0}, l1 = {0}, l2 = {0}, l3 = {0};
        for (int n = 0; n < N8; n += 8) {
            kern_v8 cv = kern_ld8(c + n);
            l0 += kern_ld8(h + n) * cv;
            l1 += kern_ld8(h1 + n) * cv;
            l2 += kern_ld8(h2 + n) * cv;
            l3 += kern_ld8(h3 + n) * cv;
        }
        out[0] = lanes_sum(&l0, h, c, N8, N);
        out[1] = lanes_sum(&l1, h1, c, N8, N);
        out[2] = lanes_sum(&l2, h2, c, N8, N);
        out[3] = lanes_sum(&l3, h3, c, N8, N);
        return;
    }
    for (int q = 0; q < np; q++) {
        const float *hq = h + (size_t)q * N;
        kern_v8 l = {0};
        for (int n = 0; n < N8; n += 8) l += kern_ld8(hq + n) * kern_ld8(c + n);
        out[q] = lanes_sum(&l, hq, c, N8, N);
    }
}

KERN_CLONES
void kern_mamba2_scan_rows(float *y, int ldy, const float *x, int ldx, const float *dt, int lddt, float a,
                           const float *B, const float *C, int ldbc, float D, const float *h0, const float *hs0,
                           int knocked, const unsigned char *src, const unsigned char *dst, int t0, int rows, int P,
                           int N)
{
    if (rows == 1) {
        /* y_p = dA (h0_p . c) + dx_p (b . c) + D x_p, minus the same over hs0 on a blocked row */
        float dv = dt[0], dA;
        kern_exp_scaled(&dA, &a, dv, 1);
        float bc = 0.0f;
        for (int n = 0; n < N; n++) bc += B[n] * C[n];
        int blocked = knocked && dst[t0];
        float from_src = knocked && src[t0] ? 1.0f : 0.0f;
        for (int p0 = 0; p0 < P; p0 += 4) {
            int np = P - p0 < 4 ? P - p0 : 4;
            float hc[4] = {0}, sc[4] = {0};
            if (h0) dots4(hc, h0 + (size_t)p0 * N, C, N, np);
            if (blocked && hs0) dots4(sc, hs0 + (size_t)p0 * N, C, N, np);
            for (int q = 0; q < np; q++) {
                int p = p0 + q;
                float xv = x[p], dx = dv * xv;
                float acc = dA * hc[q] + dx * bc;
                if (blocked) acc -= dA * sc[q] + from_src * dx * bc;
                y[p] = acc + D * xv;
            }
        }
        return;
    }
    /* the state (P, N) eight rows of P at a time, on the stack, so that B_t
     * and C_t are read once per step for all of them */
    float hbuf[KERN_MAX_STATE * 8], hsbuf[KERN_MAX_STATE * 8];
    assert(N > 0 && N <= KERN_MAX_STATE);
    for (int p0 = 0; p0 < P; p0 += 8) {
        int np = P - p0 < 8 ? P - p0 : 8;
        for (int i = 0; i < np * N; i++) {
            hbuf[i] = h0 ? h0[(size_t)p0 * N + i] : 0.0f;
            hsbuf[i] = knocked && hs0 ? hs0[(size_t)p0 * N + i] : 0.0f;
        }
        for (int q = 0; q < rows; q++) {
            int i = t0 + q;
            const float *b = B + (size_t)q * ldbc, *c = C + (size_t)q * ldbc, *xr = x + (size_t)q * ldx + p0;
            float dtv = dt[(size_t)q * lddt], dA;
            kern_exp_scaled(&dA, &a, dtv, 1);
            int blocked = knocked && dst[i], from_src = knocked && src[i];
            for (int p = 0; p < np; p++) {
                float xv = xr[p], dx = dtv * xv, acc = 0.0f, accs = 0.0f;
                float *hp = hbuf + (size_t)p * N, *sp = hsbuf + (size_t)p * N;
                #pragma omp simd reduction(+:acc)
                for (int n = 0; n < N; n++) {
                    hp[n] = dA * hp[n] + dx * b[n];
                    acc += hp[n] * c[n];
                }
                if (knocked) {
                    float in = from_src ? dx : 0.0f;
                    #pragma omp simd reduction(+:accs)
                    for (int n = 0; n < N; n++) {
                        sp[n] = dA * sp[n] + in * b[n];
                        accs += sp[n] * c[n];
                    }
                }
                y[(size_t)q * ldy + p0 + p] = (blocked ? acc - accs : acc) + D * xv;
            }
        }
    }
}

KERN_CLONES_NOFMA
void kern_mamba2_state_step(float *restrict h, float dA, float dt, const float *restrict x, const float *restrict b, int P,
                            int N)
{
    for (int p = 0; p < P; p++) {
        float *hp = h + (size_t)p * N, dx = dt * x[p];
        #pragma omp simd
        for (int n = 0; n < N; n++) hp[n] = dA * hp[n] + dx * b[n];
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
