/* gemm.c: matrix multiply through BLIS, and the triple loop it is tested against. */
#include "kernels.h"

#include <blis.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

void kern_set_blas_threads(int n)
{
    bli_thread_set_num_threads(n > 0 ? n : 1);
}

void kern_sgemm(int transa, int transb, int M, int N, int K,
                const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    float one = 1.0f;
    if (M == 1) {
        /* one row (a prompt's last position against the vocabulary): BLIS's
         * gemm would pack all of B for it; gemv streams B once, about 3x
         * faster.  c^T = op(B)^T a^T, op(B)^T as an (N, K) matrix. */
        int rs = transb ? ldb : 1, cs = transb ? 1 : ldb;
        bli_sgemv(BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, N, K, &one, (float *)B, rs, cs, (float *)A, transa ? lda : 1,
                  &beta, C, 1);
        return;
    }
    /* BLIS's object-free API takes explicit row and column strides, so
     * row-major operands need no transposition tricks: element (i,j) of a
     * row-major matrix with leading dimension ld sits at i*ld + j. */
    if (!transa && transb) {
        /* x . W^T (kern_linear): BLIS's small-matrix path packs A, the
         * activations, when asked: the same kernel on the same sums (the
         * same bits, test_kernels checks), 6-12 % faster on a model's
         * projections.  The runtime object starts from BLIS's defaults
         * (bli_rntm_init_from_global would turn the small-matrix path off,
         * and change the bits) with the thread count kern_set_blas_threads
         * set. */
        rntm_t rntm = BLIS_RNTM_INITIALIZER;
        dim_t nt = bli_thread_get_num_threads();
        bli_rntm_set_num_threads(nt > 0 ? nt : 1, &rntm);
        bli_rntm_set_pack_a(TRUE, &rntm);
        bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, M, N, K, &one, (float *)A, lda, 1, (float *)B, ldb, 1, &beta,
                     C, ldc, 1, NULL, &rntm);
        return;
    }
    bli_sgemm(transa ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
              transb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
              M, N, K, &one, (float *)A, lda, 1, (float *)B, ldb, 1, &beta, C, ldc, 1);
}

void kern_sgemm_ref(int transa, int transb, int M, int N, int K,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int p = 0; p < K; p++) {
                float a = transa ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                float b = transb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                s += (double)a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)s + (beta == 0.0f ? 0.0f : beta * *c);
        }
}

/* out = bias in each row, then accumulate (beta 1); without a bias, beta 0
 * spares a pass over the output, which for the vocabulary is large */
static float add_bias(float *out, int ldo, const float *b, int T, int N)
{
    if (!b) return 0.0f;
    for (int t = 0; t < T; t++) memcpy(out + (size_t)t * ldo, b, sizeof(float) * (size_t)N);
    return 1.0f;
}

void kern_transpose(float *out, const float *a, int rows, int cols)
{
    enum { B = 32 }; /* tiles, so that both sides are read and written a cache line at a time */
    for (int r0 = 0; r0 < rows; r0 += B)
        for (int c0 = 0; c0 < cols; c0 += B)
            for (int r = r0; r < rows && r < r0 + B; r++)
                for (int c = c0; c < cols && c < c0 + B; c++) out[(size_t)c * rows + r] = a[(size_t)r * cols + c];
}

/* The calling thread's widening buffer: at least `floats` long, grown on
 * demand and kept, since the products run on the same threads all along. */
static float *widen_buffer(size_t floats)
{
    static _Thread_local float *buf;
    static _Thread_local size_t cap;
    if (floats > cap) {
        free(buf);
        void *p = NULL;
        if (posix_memalign(&p, 64, floats * sizeof(float))) abort();
        buf = p;
        cap = floats;
    }
    return buf;
}

/* Rows (or columns) of a block: about 4 MB widened, a multiple of 16 so
 * that the gemv path of kern_sgemm groups rows the same way as on the whole
 * matrix. */
enum { BLOCK_FLOATS = 1 << 20 };
static int block_lines(int K, int N)
{
    int n = BLOCK_FLOATS / (K > 0 ? K : 1) / 16 * 16;
    if (n < 16) n = 16;
    return n < N ? n : N;
}

/* Lines [0, n) of a block: line i is `len` elements of W from first + i *
 * stride, widened to w + i * len.  Outside a parallel region the BLIS
 * products that follow run on every thread, so the widening does too (it is
 * elementwise: the thread count cannot change a result); inside one, the
 * calling thread has its own products and widens alone. */
static void widen_lines(float *w, KernMat W, size_t first, size_t stride, int n, int len)
{
#ifdef _OPENMP
    #pragma omp parallel for schedule(static) if (!omp_in_parallel() && (size_t)n * len >= 65536)
#endif
    for (int i = 0; i < n; i++) kern_widen(w + (size_t)i * len, W, first + (size_t)i * stride, (size_t)len);
}

/* out = x . op(W) + beta out on W as stored: an F32 W in one product, an
 * F16 or BF16 one a block of nb output columns at a time (W's rows in the
 * torch layout, its columns in the Conv1D one, kn). */
static void linear_stored(float *out, int ldo, const float *x, int ldx, KernMat W, float beta, int T, int K, int N,
                          int kn)
{
    if (W.dtype == KERN_F32) {
        kern_sgemm(0, !kn, T, N, K, x, ldx, W.data, kn ? N : K, beta, out, ldo);
        return;
    }
    if (T <= 0 || N <= 0) return;
    int nb = block_lines(K, N);
    float *w = widen_buffer((size_t)nb * K);
    for (int n0 = 0; n0 < N; n0 += nb) {
        int n = N - n0 < nb ? N - n0 : nb;
        if (kn) widen_lines(w, W, (size_t)n0, (size_t)N, K, n);
        else widen_lines(w, W, (size_t)n0 * K, (size_t)K, n, K);
        kern_sgemm(0, !kn, T, n, K, x, ldx, w, kn ? n : K, beta, out + n0, ldo);
    }
}

void kern_linear(float *out, int ldo, const float *x, int ldx, KernMat W, const float *b,
                 int T, int K, int N)
{
    linear_stored(out, ldo, x, ldx, W, add_bias(out, ldo, b, T, N), T, K, N, 0);
}

void kern_linear_kn(float *out, int ldo, const float *x, int ldx, KernMat W, const float *b,
                    int T, int K, int N)
{
    linear_stored(out, ldo, x, ldx, W, add_bias(out, ldo, b, T, N), T, K, N, 1);
}
