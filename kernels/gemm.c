/* gemm.c: matrix multiply through BLIS, and the triple loop it is tested against. */
#include "kernels.h"

#include <blis.h>
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

void kern_linear(float *out, int ldo, const float *x, int ldx, const float *W, const float *b,
                 int T, int K, int N)
{
    kern_sgemm(0, 1, T, N, K, x, ldx, W, K, add_bias(out, ldo, b, T, N), out, ldo);
}

void kern_linear_kn(float *out, int ldo, const float *x, int ldx, const float *W, const float *b,
                    int T, int K, int N)
{
    kern_sgemm(0, 0, T, N, K, x, ldx, W, N, add_bias(out, ldo, b, T, N), out, ldo);
}
