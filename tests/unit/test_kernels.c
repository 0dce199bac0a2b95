/* test_kernels.c: every optimised kernel against its plain reference on
 * random inputs, including odd shapes, strided views and knockout masks. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <blis.h>

#include "fastexp.h"
#include "kernels.h"
#include "tap.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}
static float *rand_vec(size_t n, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * (frand() + 1.0f) / 2.0f;
    return v;
}
static double max_abs_diff(const float *a, const float *b, int rows, int cols, int ld)
{
    double m = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double d = fabs((double)a[(size_t)i * ld + j] - b[(size_t)i * ld + j]);
            if (!(d <= m)) m = d; /* NaN propagates as a failure */
        }
    return m;
}

static void test_gemm(void)
{
    const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 65}, {64, 96, 48}, {3, 257, 31}, {1, 70, 33}}; /* M = 1: gemv */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                /* strided views: leading dimensions wider than the operand */
                int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
                float *A = rand_vec((size_t)(ta ? K : M) * lda, -1, 1);
                float *B = rand_vec((size_t)(tb ? N : K) * ldb, -1, 1);
                float *C1 = rand_vec((size_t)M * ldc, -1, 1), *C2 = malloc((size_t)M * ldc * sizeof(float));
                for (int i = 0; i < M * ldc; i++) C2[i] = C1[i];
                kern_sgemm(ta, tb, M, N, K, A, lda, B, ldb, 0.5f, C1, ldc);
                kern_sgemm_ref(ta, tb, M, N, K, A, lda, B, ldb, 0.5f, C2, ldc);
                double d = max_abs_diff(C1, C2, M, N, ldc);
                ok(d < 1e-4 * (1 + K / 16), "sgemm %dx%dx%d ta=%d tb=%d matches reference (max diff %.2g)", M, N, K, ta, tb, d);
                free(A); free(B); free(C1); free(C2);
            }
}

static void test_linear(void)
{
    int T = 5, K = 12, N = 9;
    float *x = rand_vec((size_t)T * K, -1, 1), *W = rand_vec((size_t)N * K, -1, 1), *b = rand_vec(N, -1, 1);
    float out[5 * 9], want[5 * 9];
    kern_linear(out, N, x, K, kern_mat_f32(W), b, T, K, N);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < N; j++) {
            double s = b[j];
            for (int k = 0; k < K; k++) s += (double)x[t * K + k] * W[j * K + k];
            want[t * N + j] = (float)s;
        }
    ok(max_abs_diff(out, want, T, N, N) < 1e-5, "linear (torch layout) = x W^T + b");
    float *Wkn = rand_vec((size_t)K * N, -1, 1);
    kern_linear_kn(out, N, x, K, kern_mat_f32(Wkn), NULL, T, K, N);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)x[t * K + k] * Wkn[k * N + j];
            want[t * N + j] = (float)s;
        }
    ok(max_abs_diff(out, want, T, N, N) < 1e-5, "linear (Conv1D layout) = x W");
    free(x); free(W); free(b); free(Wkn);
}

/* BF16 and F16 bit patterns of random values in [-1, 1), little-endian pairs. */
static unsigned char *rand_half(size_t n, KernDtype d)
{
    unsigned char *h = malloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        float v = frand();
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        /* BF16: the top half; F16 of a value in [-1, 1): sign, rebiased exponent, top 10 mantissa bits */
        int e = (int)(bits >> 23 & 0xff) - 127 + 15;
        uint16_t half = d == KERN_BF16 ? (uint16_t)(bits >> 16)
                        : (uint16_t)((bits >> 16 & 0x8000) | (e > 0 ? (unsigned)e << 10 | (bits >> 13 & 0x3ff) : 0));
        h[2 * i] = (unsigned char)half;
        h[2 * i + 1] = (unsigned char)(half >> 8);
    }
    return h;
}

/* Weights kept as stored: the products on BF16 and F16 matrices, widened a
 * block at a time, against the same products on the matrix widened whole.
 * K = 3000 makes blocks of 336 lines, so N = 700 spans three, the last one
 * partial; T = 1 takes the gemv path. */
static void test_linear_stored(void)
{
    enum { K = 3000, N = 700 };
    const KernDtype dts[] = {KERN_BF16, KERN_F16};
    const int Ts[] = {4, 1};
    for (int d = 0; d < 2; d++) {
        unsigned char *h = rand_half((size_t)N * K, dts[d]);
        KernMat W = {h, dts[d]};
        float *wide = malloc(sizeof(float) * N * K);
        kern_widen(wide, W, 0, (size_t)N * K);
        float row[K];
        kern_widen(row, W, (size_t)7 * K, K);
        ok(!memcmp(row, wide + (size_t)7 * K, sizeof row), "%s: kern_widen of one row = that row of the whole",
           d ? "F16" : "BF16");
        for (int i = 0; i < 2; i++) {
            int T = Ts[i];
            float *x = rand_vec((size_t)T * K, -1, 1), *b = rand_vec(N, -1, 1);
            /* the same values read as a (K2, N2) Conv1D matrix: blocks of 496 columns, three of them */
            enum { K2 = 2100, N2 = 1000 };
            float *o1 = malloc(sizeof(float) * T * N2), *o2 = malloc(sizeof(float) * T * N2);
            kern_linear(o1, N, x, K, W, b, T, K, N);
            kern_linear(o2, N, x, K, kern_mat_f32(wide), b, T, K, N);
            double dl = max_abs_diff(o1, o2, T, N, N);
            ok(dl < 1e-4, "%s, %d row(s): x W^T + b as stored = on the widened matrix (max diff %.2g)", d ? "F16" : "BF16",
               T, dl);
            kern_linear_kn(o1, N2, x, K2, W, NULL, T, K2, N2);
            kern_linear_kn(o2, N2, x, K2, kern_mat_f32(wide), NULL, T, K2, N2);
            /* sums of 2100 products of about 15 in magnitude: BLIS may take another path (and summation order)
             * for a block than for the whole, so the last bits may differ */
            double dk = max_abs_diff(o1, o2, T, N2, N2);
            ok(dk < 1e-4, "%s, %d row(s): x W (Conv1D layout) as stored = widened (max diff %.2g)", d ? "F16" : "BF16", T, dk);
            free(x); free(b); free(o1); free(o2);
        }
        free(h); free(wide);
    }
}

static void test_norms_and_acts(void)
{
    float x[6] = {1, -2, 3, 0.5f, -0.25f, 4}, w[6] = {1, 2, 0.5f, 1, 1, -1}, b[6] = {0, 1, 0, 0, -1, 0};
    float out[6];
    kern_rmsnorm(out, x, w, 6, 1e-5f);
    double ss = 0;
    for (int i = 0; i < 6; i++) ss += x[i] * x[i];
    double r = 1 / sqrt(ss / 6 + 1e-5);
    is_float(out[2], 3 * r * 0.5, 1e-6, "rmsnorm element");
    /* weightless and in place (Falcon-Mamba's dt/B/C norm), eps 1e-6 */
    float xw[6];
    memcpy(xw, x, sizeof xw);
    kern_rmsnorm(xw, xw, NULL, 6, 1e-6f);
    double rw = 1 / sqrt(ss / 6 + 1e-6), dw = 0;
    for (int i = 0; i < 6; i++) dw = fmax(dw, fabs(xw[i] - x[i] * rw));
    ok(dw < 1e-6, "weightless rmsnorm in place: x / rms(x) (max diff %.2g)", dw);
    kern_layernorm(out, x, w, b, 6, 1e-5f);
    double mean = (1 - 2 + 3 + 0.5 - 0.25 + 4) / 6.0, var = 0;
    for (int i = 0; i < 6; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= 6;
    is_float(out[1], (-2 - mean) / sqrt(var + 1e-5) * 2 + 1, 1e-5, "layernorm element");
    is_float(kern_silu(1.5f), 1.5 / (1 + exp(-1.5)), 1e-7, "silu");
    is_float(kern_softplus(0.3f), log1p(exp(0.3)), 1e-7, "softplus");
    is_float(kern_softplus(30.0f), 30.0, 0, "softplus threshold");
    is_float(kern_gelu(-0.7f), -0.35 * (1 + erf(-0.7 / sqrt(2.0))), 1e-7, "exact gelu");
    is_float(kern_gelu_new(0.7f), 0.5 * 0.7 * (1 + tanh(sqrt(2 / M_PI) * (0.7 + 0.044715 * 0.343))), 1e-7, "gelu_new");
    float sv[1000], ref[1000];
    double worst = 0;
    for (int i = 0; i < 1000; i++) sv[i] = ref[i] = -30.0f + 0.06f * (float)i;
    kern_silu_vec(sv, 1000);
    for (int i = 0; i < 1000; i++) {
        double want = ref[i] / (1.0 + exp(-(double)ref[i]));
        double d = fabs(sv[i] - want) / (fabs(want) + 1e-30);
        if (d > worst) worst = d;
    }
    ok(worst < 1e-6, "vectorised silu within 1e-6 relative of the definition (worst %.2g)", worst);
    float spv[2000], spx[2000];
    worst = 0;
    for (int i = 0; i < 2000; i++) spv[i] = spx[i] = -40.0f + 0.03f * (float)i;
    kern_softplus_vec(spv, 2000);
    for (int i = 0; i < 2000; i++) {
        double x = spx[i], want = x > 20 ? x : log1p(exp(x));
        double d = fabs(spv[i] - want) / want;
        if (d > worst) worst = d;
    }
    ok(worst < 5e-7, "vectorised softplus within 5e-7 relative on [-40, 20] (worst %.2g)", worst);
    float big[70000];
    double dsum = 0;
    for (int i = 0; i < 70000; i++) big[i] = 8.0f * sinf(0.37f * (float)i);
    for (int i = 0; i < 70000; i++) dsum += exp((double)big[i] - 8.0);
    is_float(kern_logsumexp(big, 70000), 8.0 + log(dsum), 1e-5, "logsumexp of a vocabulary-sized row");
    float v[3] = {1000, 1001, 999};
    is_float(kern_logsumexp(v, 3), 1001 + log(exp(-1) + 1 + exp(-2)), 1e-4, "logsumexp is stable");
}

static void test_fastexp(void)
{
    float a[400], out[400];
    for (int i = 0; i < 400; i++) a[i] = -0.25f * (float)i; /* exponents 0 .. -99.75 */
    kern_exp_scaled(out, a, 1.0f, 400);
    double worst = 0;
    int ok_tail = 1;
    for (int i = 0; i < 400; i++) {
        double want = exp((double)a[i]);
        if (a[i] > -87.0f) {
            double rel = fabs(out[i] - want) / want;
            if (rel > worst) worst = rel;
        } else if (!(out[i] >= 0.0f && out[i] <= 2e-38f)) {
            ok_tail = 0;
        }
    }
    ok(worst < 3e-7, "fast exp within 3e-7 relative of exp on [-87, 0] (worst %.2g)", worst);
    ok(ok_tail, "fast exp of a fully decayed exponent is 0 or tiny, never negative or NaN");
    float big[3] = {-3e4f, -1e6f, -2.5f};
    kern_exp_scaled(out, big, 2.0f, 3);
    ok(out[0] == 0.0f && out[1] == 0.0f && fabs(out[2] - exp(-5.0)) < 1e-8, "fast exp with a scale factor d");
    /* what broken weights feed it (found by fuzzing a safetensors file under
     * UBSan: the 2^n conversion overflowed an int): no undefined behaviour,
     * and nothing finite where the true value is not */
    float wild[5] = {-1e15f, 1e15f, NAN, 88.5f, -3e38f};
    kern_exp_vec(out, wild, 5);
    ok((out[0] == 0.0f || isnan(out[0])) && isinf(out[1]) && out[1] > 0 && isnan(out[2]) &&
           (isinf(out[3]) || fabs(out[3] / exp(88.5) - 1) < 1e-6) && (out[4] == 0.0f || isnan(out[4])),
       "fast exp of huge, NaN and overflowing exponents: 0 or NaN, inf, NaN, exp or inf near float's limit "
       "(%g %g %g %g %g)", out[0], out[1], out[2], out[3], out[4]);
}

static void test_conv(void)
{
    /* two channels, K = 3, x has a row stride of 4 */
    float x[4 * 4] = {1, 10, 0, 0, 2, 20, 0, 0, 3, 30, 0, 0, 4, 40, 0, 0};
    float w[2 * 3] = {0.5f, 0.25f, 1, 1, -1, 2}, b[2] = {0.1f, -0.1f};
    float out[4 * 2];
    kern_conv1d_causal(out, 2, x, 4, w, b, 4, 3, 0, 2);
    is_float(out[0], 0.1 + 1 * 1, 1e-6, "conv t=0 sees only x_0");
    is_float(out[2 * 2 + 0], 0.1 + 0.5 * 1 + 0.25 * 2 + 1 * 3, 1e-6, "conv t=2 channel 0");
    is_float(out[3 * 2 + 1], -0.1 + 1 * 20 - 1 * 30 + 2 * 40, 1e-5, "conv t=3 channel 1");
}

static void random_masks(unsigned char *src, unsigned char *dst, unsigned char *chan, int T, int nch)
{
    for (int t = 0; t < T; t++) { src[t] = frand() > 0.3f; dst[t] = frand() > 0.2f; }
    src[T - 1] = dst[T - 1] = 1; /* include a j == i edge */
    for (int e = 0; e < nch; e++) chan[e] = frand() > -0.2f;
}

/* y of the definitional reference, gated by silu(z) as the row kernel gates it */
static void gate(float *y, int ld, const float *z, int ldz, int T, int E)
{
    for (int t = 0; t < T; t++)
        for (int e = 0; e < E; e++) y[(size_t)t * ld + e] *= kern_silu(z[(size_t)t * ldz + e]);
}

/* one state alone */
static void mamba1_state(float *h, const float *u, const float *delta, const float *At, const float *B,
                         const unsigned char *take, int t_end, int ld, int ldbc, int N, int E)
{
    kern_mamba1_states(&h, &t_end, &take, 1, E, u, ld, delta, ld, At, E, B, ldbc, N, 0, E);
}

/* kern_mamba1_scan_rows through its argument struct, positional as the
 * kernel once was, with a work area of this test's own */
static void scan1(float *y, int ldy, const float *z, int ldz, const float *u, int ldu, const float *dt, int lddt,
                  const float *At, int ldA, const float *B, const float *C, int ldbc, const float *D, const float *h0,
                  const float *hs0, int ldh, int knocked, const unsigned char *src, const unsigned char *dst,
                  const unsigned char *chan, int t0, int rows, int N, int e0, int e1)
{
    static float work[4 * KERN_MAX_STATE * 16];
    assert(kern_mamba1_scan_work(N) <= sizeof work / sizeof *work);
    KernScan1 a = {y, ldy, z, ldz, u, ldu, dt, lddt, At, ldA, B, C, ldbc, D, h0, hs0, ldh, knocked, src, dst, chan,
                   t0, rows, N};
    kern_mamba1_scan_rows(&a, work, e0, e1);
}

static void test_mamba1_scan(void)
{
    enum { T = 13, E = 21, N = 6, LD = 24, LDBC = 15 };
    float *u = rand_vec(T * LD, -1, 1), *delta = rand_vec(T * LD, 0.01f, 1.5f), *z = rand_vec(T * LD, -2, 2);
    float *A = rand_vec(E * N, -3, -0.05f), *B = rand_vec(T * LDBC, -1, 1), *C = rand_vec(T * LDBC, -1, 1);
    float *D = rand_vec(E, -1, 1), At[N * E], h0[N * E], hs0[N * E];
    for (int e = 0; e < E; e++)
        for (int n = 0; n < N; n++) At[n * E + e] = A[e * N + n];
    float y1[T * LD], y2[T * LD];
    unsigned char src[T], dst[T], chan[E];
    /* the whole sequence from a zero state, clean (E = 21: a full block of 16 and a tail) */
    scan1(y1, LD, z, LD, u, LD, delta, LD, At, E, B, C + 2, LDBC, D, NULL, NULL, E, 0, NULL, NULL,
                          NULL, 0, T, N, 0, E);
    kern_mamba1_scan_ref(y2, LD, u, LD, delta, LD, A, B, C + 2, LDBC, D, NULL, T, N, 0, E);
    gate(y2, LD, z, LD, T, E);
    double d = max_abs_diff(y1, y2, T, E, LD);
    ok(d < 1e-4, "mamba1 scan = definitional implicit attention, clean (max diff %.2g)", d);
    /* z NULL: the SSM output before the gate (tracing's ssm hook) */
    {
        float y3[T * LD];
        scan1(y3, LD, NULL, LD, u, LD, delta, LD, At, E, B, C + 2, LDBC, D, NULL, NULL, E, 0, NULL, NULL, NULL, 0, T,
              N, 0, E);
        kern_mamba1_scan_ref(y2, LD, u, LD, delta, LD, A, B, C + 2, LDBC, D, NULL, T, N, 0, E);
        d = max_abs_diff(y3, y2, T, E, LD);
        gate(y3, LD, z, LD, T, E);
        double dg = max_abs_diff(y3, y1, T, E, LD);
        ok(d < 1e-4 && dg < 1e-6, "mamba1 scan without the gate = definitional (max diff %.2g), gated after = gated "
           "in the scan (%.2g)", d, dg);
        kern_mamba1_scan_ref(y2, LD, u, LD, delta, LD, A, B, C + 2, LDBC, D, NULL, T, N, 0, E);
        gate(y2, LD, z, LD, T, E);
    }
    for (int trial = 0; trial < 3; trial++) {
        random_masks(src, dst, chan, T, E);
        KernKnock ko = {src, dst, trial == 0 ? NULL : chan};
        scan1(y1, LD, z, LD, u, LD, delta, LD, At, E, B, C, LDBC, D, NULL, NULL, E, 1, src, dst,
                              ko.chan, 0, T, N, 0, E);
        kern_mamba1_scan_ref(y2, LD, u, LD, delta, LD, A, B, C, LDBC, D, &ko, T, N, 0, E);
        gate(y2, LD, z, LD, T, E);
        d = max_abs_diff(y1, y2, T, E, LD);
        ok(d < 1e-4, "mamba1 scan with knockout (trial %d, %s) = definitional (max diff %.2g)", trial,
           trial ? "some channels" : "all channels", d);
        /* continued from position t0 = 6: states rebuilt from the clean inputs before it */
        enum { T0 = 6 };
        mamba1_state(h0, u, delta, At, B, NULL, T0 - 1, LD, LDBC, N, E);
        mamba1_state(hs0, u, delta, At, B, src, T0 - 1, LD, LDBC, N, E);
        scan1(y1, LD, z + T0 * LD, LD, u + T0 * LD, LD, delta + T0 * LD, LD, At, E, B + T0 * LDBC,
                              C + T0 * LDBC, LDBC, D, h0, hs0, E, 1, src, dst, ko.chan, T0, T - T0, N, 0, E);
        d = max_abs_diff(y1, y2 + T0 * LD, T - T0, E, LD);
        ok(d < 1e-4, "mamba1 scan continued at t0 from rebuilt states (trial %d) = definitional (max diff %.2g)",
           trial, d);
        /* three states in one pass (different ends and inputs) = each alone, bit for bit */
        float hm[3][N * E], h1[N * E];
        unsigned char late[T] = {0};
        late[T - 2] = 1;
        float *hp[3] = {hm[0], hm[1], hm[2]};
        int ends[3] = {T0 - 1, T - 1, trial + 1};
        const unsigned char *takes[3] = {src, NULL, late};
        kern_mamba1_states(hp, ends, takes, 3, E, u, LD, delta, LD, At, E, B, LDBC, N, 0, E);
        int same = 1;
        for (int i = 0; i < 3; i++) {
            mamba1_state(h1, u, delta, At, B, takes[i], ends[i], LD, LDBC, N, E);
            same &= !memcmp(h1, hm[i], sizeof h1);
        }
        ok(same && !memcmp(hm[0], hs0, sizeof hs0), "mamba1 states built together = one at a time (trial %d)",
           trial);
    }
    /* a knockout must actually change the blocked rows */
    memset(src, 1, T); memset(dst, 0, T); dst[T - 1] = 1;
    scan1(y1, LD, z, LD, u, LD, delta, LD, At, E, B, C, LDBC, D, NULL, NULL, E, 1, src, dst, NULL,
                          0, T, N, 0, E);
    is_float(y1[(T - 1) * LD + 3], D[3] * u[(T - 1) * LD + 3] * kern_silu(z[(T - 1) * LD + 3]), 1e-6,
             "blocking every source leaves only the D skip term");
    free(u); free(delta); free(z); free(A); free(B); free(C); free(D);
}

/* The kernels' whole-vector paths (kern_v8 in registers) give each element
 * the bits their element-wise paths give it -- the partial blocks and tails
 * still run the loops over arrays -- and the row conv the bits of the whole
 * prompt's conv (the executor mixes the two). */
/* KERN_SGEMM_SAME_ROWS: a row's bits do not depend on how many rows share
 * the product (N and K past BLIS's small-matrix thresholds, as a model's) */
static void test_gemm_rows(void)
{
    enum { K = 256, N = 256, M = KERN_SGEMM_SAME_ROWS };
    float *x = rand_vec((size_t)M * K, -1, 1), *W = rand_vec((size_t)N * K, -1, 1);
    float *all = malloc(sizeof(float) * (size_t)M * N), *some = malloc(sizeof(float) * (size_t)M * N);
    kern_linear(all, N, x, K, kern_mat_f32(W), NULL, M, K, N);
    const int part[][2] = {{0, 2}, {5, 7}, {100, 131}, {M - 2, 2}, {1, M - 1}};
    int same = 1;
    for (size_t i = 0; i < sizeof part / sizeof part[0]; i++) {
        kern_linear(some, N, x + (size_t)part[i][0] * K, K, kern_mat_f32(W), NULL, part[i][1], K, N);
        same &= !memcmp(some, all + (size_t)part[i][0] * N, sizeof(float) * (size_t)part[i][1] * N);
    }
    ok(same, "kern_linear: rows of a %d-row product = the same rows in products of 2 to %d rows, bit for bit", M, M - 1);
    free(x); free(W); free(all); free(some);
}

/* kern_linear packs the activations (gemm.c): the bits of BLIS's default
 * product, on one thread and on two */
static void test_linear_packed(void)
{
    const int shapes[][3] = {{144, 96, 384}, {40, 192, 38}, {7, 300, 250}, {2, 64, 1000}}; /* M, K, N */
    int same = 1;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int M = shapes[i][0], K = shapes[i][1], N = shapes[i][2];
        float *x = rand_vec((size_t)M * K, -1, 1), *W = rand_vec((size_t)N * K, -1, 1);
        float *a = malloc(sizeof(float) * (size_t)M * N), *b = malloc(sizeof(float) * (size_t)M * N), one = 1, zero = 0;
        for (int nt = 1; nt <= 2; nt++) {
            kern_set_blas_threads(nt);
            kern_linear(a, N, x, K, kern_mat_f32(W), NULL, M, K, N);
            kern_set_blas_threads(1);
            bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, M, N, K, &one, x, K, 1, W, K, 1, &zero, b, N, 1);
            same &= !memcmp(a, b, sizeof(float) * (size_t)M * N);
        }
        free(x); free(W); free(a); free(b);
    }
    ok(same, "kern_linear (A packed) = BLIS's default product, bit for bit, on 1 and 2 threads");
}

static void test_vector_paths(void)
{
    float x[64], a[64], b[64];
    for (int i = 0; i < 64; i++) x[i] = 30.0f * frand();
    x[3] = -200.0f; x[9] = 95.0f; x[17] = 0.0f; x[18] = -0.0f; x[40] = NAN; x[41] = -INFINITY;
    int same = 1;
    for (int i = 0; i < 64; i += 8) {
        kern_v8 v = kern_exp8(kern_ld8(x + i));
        kern_exp_vec(b + i, x + i, 8);
        for (int j = 0; j < 8; j++) same &= !memcmp(&v[j], &b[i + j], sizeof(float));
    }
    ok(same, "kern_exp8 = kern_exp_vec bit for bit, extremes, zeros, NaN and -inf included");
    memcpy(a, x, sizeof a);
    memcpy(b, x, sizeof b);
    kern_softplus_vec(a, 61);
    for (int i = 0; i < 61; i++) kern_softplus_vec(b + i, 1);
    ok(!memcmp(a, b, 61 * sizeof(float)), "softplus: whole vectors = one element at a time, bit for bit");
    memcpy(a, x, sizeof a);
    memcpy(b, x, sizeof b);
    kern_silu_vec(a, 61);
    for (int i = 0; i < 61; i++) kern_silu_vec(b + i, 1);
    ok(!memcmp(a, b, 61 * sizeof(float)), "silu: whole vectors = one element at a time, bit for bit");
    for (int n = 1; n <= 40; n += 13) {
        double mx = x[0], sum = 0;
        for (int i = 0; i < n; i++) if (x[i] > mx) mx = x[i];
        for (int i = 0; i < n; i++) sum += exp((double)x[i] - mx);
        is_float(kern_logsumexp(x, n), mx + log(sum), 1e-5 * fabs(mx + log(sum)) + 1e-6, "logsumexp of %d values", n);
    }
    float zeros[20];
    for (int i = 0; i < 20; i++) zeros[i] = i % 3 ? -0.0f : -5.0f;
    zeros[13] = 0.0f;
    float lz = kern_logsumexp(zeros, 20);
    ok(fabs(lz - log(13 + 7 * exp(-5.0))) < 1e-5, "logsumexp with a zero maximum of both signs (%g)", lz);

    /* Mamba-1 scan: a full block of 16 channels against each channel alone */
    enum { T = 7, E = 16, N = 5, LD = 19, LDBC = 13 };
    float *u = rand_vec(T * LD, -1, 1), *delta = rand_vec(T * LD, 0.01f, 2.5f), *z = rand_vec(T * LD, -2, 2);
    float *At = rand_vec(N * E, -4, -0.1f), *B = rand_vec(T * LDBC, -1, 1), *D = rand_vec(E, -1, 1);
    float *h0 = rand_vec(N * E, -1, 1), *hs0 = rand_vec(N * E, -1, 1), y1[T * 2 * LD], y2[T * 2 * LD];
    unsigned char src[T + 3], dst[T + 3], chan[E];
    random_masks(src, dst, chan, T + 3, E);
    for (int trial = 0; trial < 4; trial++) {
        const float *g = trial & 1 ? z : NULL, *hh = trial & 2 ? h0 : NULL;
        int t0 = trial & 2 ? 3 : 0;
        scan1(y1, LD, g, LD, u, LD, delta, LD, At, E, B, B + N, LDBC, D, hh, hh ? hs0 : NULL, E, 1, src, dst,
              trial > 1 ? chan : NULL, t0, T, N, 0, E);
        for (int e = 0; e < E; e++)
            scan1(y2, LD, g, LD, u, LD, delta, LD, At, E, B, B + N, LDBC, D, hh, hh ? hs0 : NULL, E, 1, src, dst,
                  trial > 1 ? chan : NULL, t0, T, N, e, e + 1);
        same = 1;
        for (int t = 0; t < T; t++) same &= !memcmp(y1 + t * LD, y2 + t * LD, E * sizeof(float));
        ok(same, "mamba1 scan: a full block = channel by channel, bit for bit (trial %d)", trial);
    }
    /* the states: a full block against each channel alone */
    float *hb[2], *hc[2];
    int t_end[2] = {T - 1, 4};
    const unsigned char *take[2] = {NULL, src};
    for (int i = 0; i < 2; i++) { hb[i] = malloc(sizeof(float) * N * E); hc[i] = malloc(sizeof(float) * N * E); }
    kern_mamba1_states(hb, t_end, take, 2, E, u, LD, delta, LD, At, E, B, LDBC, N, 0, E);
    for (int e = 0; e < E; e++) kern_mamba1_states(hc, t_end, take, 2, E, u, LD, delta, LD, At, E, B, LDBC, N, e, e + 1);
    ok(!memcmp(hb[0], hc[0], sizeof(float) * N * E) && !memcmp(hb[1], hc[1], sizeof(float) * N * E),
       "mamba1 states: a full block = channel by channel, bit for bit");

    /* conv of recomputed rows (d_conv 4, split between two sources) = the whole prompt's conv, then silu */
    enum { CT = 9, CD = 27 };
    float *cx = rand_vec(CT * CD, -2, 2), *cw = rand_vec(CD * 4, -1, 1), *cb = rand_vec(CD, -1, 1);
    float whole[CT * CD], part[CT * CD];
    kern_conv1d_causal(whole, CD, cx, CD, cw, cb, CT, 4, 0, CD);
    for (int t = 0; t < CT; t++) kern_silu_vec(whole + t * CD, CD);
    kern_conv1d_silu_rows(part, CD, cx, CD, cx + 5 * CD, CD, 5, cw, cb, 2, CT - 2, 4, CD);
    ok(!memcmp(whole + 2 * CD, part, sizeof(float) * (CT - 2) * CD),
       "conv of rows 2.. (from two sources) = the whole prompt's conv, bit for bit");
    free(u); free(delta); free(z); free(At); free(B); free(D); free(h0); free(hs0);
    for (int i = 0; i < 2; i++) { free(hb[i]); free(hc[i]); }
    free(cx); free(cw); free(cb);

    /* Mamba-2 state step: the plain loop's multiply-then-add bits */
    enum { P = 5, N2 = 19 };
    float *h1 = rand_vec(P * N2, -2, 2), h2[P * N2], *xs = rand_vec(P, -1, 1), *bs = rand_vec(N2, -1, 1);
    memcpy(h2, h1, sizeof h2);
    kern_mamba2_state_step(h1, 0.83f, 0.37f, xs, bs, P, N2);
    for (int p = 0; p < P; p++) {
        volatile float dx = 0.37f * xs[p]; /* volatile: each product rounded, as without FMA */
        for (int n = 0; n < N2; n++) {
            volatile float decay = 0.83f * h2[p * N2 + n], in = dx * bs[n];
            h2[p * N2 + n] = decay + in;
        }
    }
    ok(!memcmp(h1, h2, sizeof h2), "mamba2 state step = multiply, multiply, add, each rounded, bit for bit");
    free(h1); free(xs); free(bs);
}

static void test_mamba2_scan(void)
{
    enum { T = 11, P = 5, N = 7, LDX = 9, LDDT = 3, LDBC = 8 };
    float *x = rand_vec(T * LDX, -1, 1), *dt = rand_vec(T * LDDT, 0.01f, 1.2f);
    float *B = rand_vec(T * LDBC, -1, 1), *C = rand_vec(T * LDBC, -1, 1);
    float y1[T * LDX], y2[T * LDX];
    unsigned char src[T], dst[T], chan[1];
    kern_mamba2_scan_rows(y1, LDX, x, LDX, dt + 1, LDDT, -0.7f, B, C, LDBC, 0.3f, NULL, NULL, 0, NULL, NULL, 0, T, P, N);
    kern_mamba2_scan_head_ref(y2, LDX, x, LDX, dt + 1, LDDT, -0.7f, B, C, LDBC, 0.3f, NULL, T, P, N);
    double d = max_abs_diff(y1, y2, T, P, LDX);
    ok(d < 1e-4, "mamba2 head scan = definitional, clean (max diff %.2g)", d);
    for (int trial = 0; trial < 3; trial++) {
        random_masks(src, dst, chan, T, 1);
        KernKnock ko = {src, dst, NULL};
        kern_mamba2_scan_rows(y1, LDX, x, LDX, dt, LDDT, -1.3f, B, C, LDBC, -0.2f, NULL, NULL, 1, src, dst, 0, T, P, N);
        kern_mamba2_scan_head_ref(y2, LDX, x, LDX, dt, LDDT, -1.3f, B, C, LDBC, -0.2f, &ko, T, P, N);
        d = max_abs_diff(y1, y2, T, P, LDX);
        ok(d < 1e-4, "mamba2 head scan with knockout (trial %d) = definitional (max diff %.2g)", trial, d);
    }
    free(x); free(dt); free(B); free(C);
}

static void test_attention(void)
{
    enum { T = 9, HS = 6, LD = 20 };
    float *q = rand_vec(T * LD, -2, 2), *k = rand_vec(T * LD, -2, 2), *v = rand_vec(T * LD, -1, 1);
    float o1[T * HS], o2[T * HS], att[T];
    unsigned char src[T], dst[T], chan[1];
    kern_attention_head(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, NULL, att, 0, T, HS);
    kern_attention_head_ref(o2, HS, q, k, v, LD, NULL, T, HS);
    ok(max_abs_diff(o1, o2, T, HS, HS) < 1e-5, "attention head = reference, clean");
    for (int trial = 0; trial < 3; trial++) {
        random_masks(src, dst, chan, T, 1);
        KernKnock ko = {src, dst, NULL};
        kern_attention_head(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, &ko, att, 0, T, HS);
        kern_attention_head_ref(o2, HS, q, k, v, LD, &ko, T, HS);
        ok(max_abs_diff(o1, o2, T, HS, HS) < 1e-5, "attention head with knockout (trial %d) = reference", trial);
    }
    {
        /* rows 5.. recomputed with keys split at 5: the same as one matrix */
        float k1[T * LD], v1[T * LD];
        memcpy(k1, k + 5 * LD, sizeof(float) * (T - 5) * LD);
        memcpy(v1, v + 5 * LD, sizeof(float) * (T - 5) * LD);
        random_masks(src, dst, chan, T, 1);
        KernKnock ko = {src, dst, NULL};
        kern_attention_head(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, &ko, att, 0, T, HS);
        kern_attention_head(o2, HS, q + 5 * LD, LD, k, v, LD, k1, v1, LD, 5, &ko, att, 5, T, HS);
        ok(memcmp(o1 + 5 * HS, o2, sizeof(float) * (T - 5) * HS) == 0,
           "attention rows from a split key/value set = the same rows from one set");
    }
    memset(src, 1, T); memset(dst, 0, T); dst[4] = 1;
    KernKnock all = {src, dst, NULL};
    kern_attention_head(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, &all, att, 0, T, HS);
    double s = 0;
    for (int c = 0; c < HS; c++) s += fabs(o1[4 * HS + c]);
    is_float(s, 0.0, 0.0, "a fully blocked row contributes zero");
    free(q); free(k); free(v);
}

/* Sliding windows (Mistral): the window kernel against its reference,
 * window >= T = no window, and split keys in the recomputed rows. */
static void test_attention_window(void)
{
    enum { T = 12, HS = 4, LD = 10 };
    float *q = rand_vec(T * LD, -2, 2), *k = rand_vec(T * LD, -2, 2), *v = rand_vec(T * LD, -1, 1);
    float o1[T * HS], o2[T * HS], o3[T * HS], att[T];
    unsigned char src[T], dst[T], chan[1];
    for (int W = 1; W <= 5; W += 2) {
        kern_attention_head_win(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, NULL, W, att, 0, T, HS);
        kern_attention_head_win_ref(o2, HS, q, k, v, LD, NULL, W, T, HS);
        ok(max_abs_diff(o1, o2, T, HS, HS) < 1e-5, "attention with a window of %d = reference", W);
        random_masks(src, dst, chan, T, 1);
        KernKnock ko = {src, dst, NULL};
        kern_attention_head_win(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, &ko, W, att, 0, T, HS);
        kern_attention_head_win_ref(o2, HS, q, k, v, LD, &ko, W, T, HS);
        ok(max_abs_diff(o1, o2, T, HS, HS) < 1e-5, "attention with a window of %d and a knockout = reference", W);
    }
    /* window 1: every row is its own value */
    kern_attention_head_win(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, NULL, 1, att, 0, T, HS);
    double d = 0;
    for (int i = 0; i < T; i++)
        for (int c = 0; c < HS; c++) d = fmax(d, fabs(o1[i * HS + c] - v[i * LD + c]));
    ok(d < 1e-6, "a window of 1: each row attends only to itself (max diff %.2g)", d);
    kern_attention_head_win(o1, HS, q, LD, k, v, LD, NULL, NULL, 0, T, NULL, T, att, 0, T, HS);
    kern_attention_head(o2, HS, q, LD, k, v, LD, NULL, NULL, 0, T, NULL, att, 0, T, HS);
    ok(memcmp(o1, o2, sizeof o1) == 0, "a window as long as the prompt = no window");
    kern_attention_head_win(o3, HS, q, LD, k, v, LD, NULL, NULL, 0, T, NULL, 4, att, 0, T, HS);
    ok(max_abs_diff(o3, o2, T, HS, HS) > 1e-3 && max_abs_diff(o3, o2, 4, HS, HS) == 0,
       "a window of 4 changes rows 4.. only");
    float k1[T * LD], v1[T * LD];
    memcpy(k1, k + 7 * LD, sizeof(float) * (T - 7) * LD);
    memcpy(v1, v + 7 * LD, sizeof(float) * (T - 7) * LD);
    kern_attention_head_win(o2, HS, q + 7 * LD, LD, k, v, LD, k1, v1, LD, 7, NULL, 4, att, 7, T, HS);
    ok(memcmp(o3 + 7 * HS, o2, sizeof(float) * (T - 7) * HS) == 0,
       "windowed rows from a split key/value set = the same rows from one set");
    free(q); free(k); free(v);
}

static void test_rope(void)
{
    enum { HS = 10, NH = 3, ROT = 6 };
    float inv[ROT / 2], x[NH * HS], y[NH * HS], want[HS];
    kern_rope_freqs(inv, ROT, 10000.0f, 0, 0, 0, 0);
    /* theta^(-2i/rot): 1, 10000^(-1/3), 10000^(-2/3) */
    is_float(inv[0], 1.0, 0, "rope frequency 0 is 1");
    is_float(inv[1], pow(10000.0, -1.0 / 3), 1e-7, "rope frequency 1 = theta^(-2/6)");
    is_float(inv[2], pow(10000.0, -2.0 / 3), 1e-8, "rope frequency 2 = theta^(-4/6)");
    for (int i = 0; i < NH * HS; i++) x[i] = y[i] = frand();
    kern_rope(y, NH, HS, ROT, inv, 0);
    ok(memcmp(x, y, sizeof x) == 0, "rope at position 0 is the identity");
    double d = 0;
    for (int pos = 1; pos < 2000; pos += 333) {
        memcpy(y, x, sizeof x);
        kern_rope(y, NH, HS, ROT, inv, pos);
        for (int h = 0; h < NH; h++) {
            kern_rope_ref(want, x + h * HS, HS, ROT, inv, pos);
            d = fmax(d, max_abs_diff(y + h * HS, want, 1, HS, HS));
        }
    }
    ok(d < 1e-5, "rope of every head = transformers' rotate_half formula, partial rotary, positions to 2000 (max diff %.2g)", d);
    /* a rotation keeps each pair's length, and dims from rot on untouched */
    memcpy(y, x, sizeof x);
    kern_rope(y, NH, HS, ROT, inv, 17);
    double n0 = x[1] * x[1] + x[4] * x[4], n1 = y[1] * y[1] + y[4] * y[4];
    ok(fabs(n0 - n1) < 1e-6 && y[7] == x[7] && y[HS + 9] == x[HS + 9], "rope rotates pairs (i, i + rot/2) only");

    /* llama3 rope_scaling (transformers' _compute_llama3_parameters), rot 8,
     * theta 10000, factor 8, low_freq_factor 1, high_freq_factor 4,
     * original_max_position_embeddings 1024, derived by hand:
     *   plain frequencies 10000^(-i/4) = 1, 0.1, 0.01, 0.001;
     *   wavelengths 2 pi / f = 6.283, 62.83, 628.3, 6283;
     *   low_freq_wavelen = 1024 / 1 = 1024, high_freq_wavelen = 1024 / 4 = 256;
     *   i = 0, 1: wavelength < 256, high frequency, kept: 1, 0.1;
     *   i = 3: wavelength 6283 > 1024, low frequency, divided: 0.001 / 8 = 0.000125;
     *   i = 2: between, smoothed: s = (1024 / 628.3185 - 1) / (4 - 1)
     *          = (1.6297466 - 1) / 3 = 0.2099155,
     *          f = (1 - s) 0.01 / 8 + s 0.01 = 0.000987606 + 0.002099155 = 0.003086761. */
    float f8[4];
    kern_rope_freqs(f8, 8, 10000.0f, 8.0f, 1.0f, 4.0f, 1024.0f);
    is_float(f8[0], 1.0, 1e-7, "llama3 scaling keeps a high frequency");
    is_float(f8[1], 0.1, 1e-8, "llama3 scaling keeps the next high frequency");
    is_float(f8[2], 0.003086761, 1e-9, "llama3 scaling smooths a medium frequency");
    is_float(f8[3], 0.000125, 1e-10, "llama3 scaling divides a low frequency by the factor");
}

int main(void)
{
    test_gemm();
    test_linear();
    test_linear_stored();
    test_gemm_rows();
    test_linear_packed();
    test_norms_and_acts();
    test_fastexp();
    test_conv();
    test_mamba1_scan();
    test_vector_paths();
    test_mamba2_scan();
    test_attention();
    test_attention_window();
    test_rope();
    return done_testing();
}
