/* kernels.h: the numeric kernels of kop.
 *
 * Pure functions on fp32 arrays: no allocation, no I/O, no globals and no
 * OpenMP regions of their own (one exception each: the products on F16 and
 * BF16 weights widen them into a buffer of the thread's, on every thread
 * when called outside a parallel region; see kern_linear).  The model code (src/model_*.c) decides how to
 * split work across threads and calls these on disjoint slices (rows, channels
 * or heads), so every output element is computed by one thread in one fixed
 * order and results are bit-identical for any thread count.
 *
 * Conventions (llm.c): outputs first, dimensions last; matrices row-major with
 * an explicit leading dimension (ld*) wherever a kernel reads a slice of a
 * wider row (e.g. the x half of Mamba's in_proj output).
 *
 * Each kernel with an optimised path has a plain reference beside it (*_ref)
 * and a test comparing the two (tests/unit/test_kernels.c).  For the scans the
 * reference is the definitional implicit-attention form (Ali et al. 2024): the
 * (T x T) matrix alpha is materialised, which is also how knockouts are
 * defined; the optimised scans are linear in T. */
#ifndef KOP_KERNELS_H
#define KOP_KERNELS_H

#include <stddef.h>

/* Hot loops are compiled twice on x86-64 -- for x86-64-v3 (AVX2 with FMA;
 * plain AVX2 before GCC 12, which cannot dispatch on it) and for the
 * baseline -- and the loader picks one at run time (function
 * multiversioning).  FMA matters: without it the scans spend a third more
 * instructions.  Results may differ in the last bits between the two (fused
 * multiply-adds, wider vectors summing in another order) but never between
 * thread counts. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(KOP_NO_CLONES)
#if __GNUC__ >= 12 && !defined(__clang__)
#define KERN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERN_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#endif
#ifndef KERN_CLONES
#define KERN_CLONES
#endif
/* Loops whose bits must stay the baseline's -- a multiply and an add, each
 * rounded, where the v3 clone would fuse them -- are cloned for AVX2
 * without FMA instead: wider vectors, the same operations. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KOP_NO_CLONES)
#define KERN_CLONES_NOFMA __attribute__((target_clones("avx2", "default")))
#else
#define KERN_CLONES_NOFMA
#endif

/* ---- matrix multiply -------------------------------------------------------
 * C(M,N) = op(A)(M,K) . op(B)(K,N) + beta * C, op = transpose when trans*.
 * kern_sgemm calls BLIS (its thread count is set by kern_set_blas_threads);
 * kern_sgemm_ref is the triple loop. */
void kern_sgemm(int transa, int transb, int M, int N, int K,
                const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc);
void kern_sgemm_ref(int transa, int transb, int M, int N, int K,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);
void kern_set_blas_threads(int n);
/* Row i of C gets the same bits for any M from 2 to KERN_SGEMM_SAME_ROWS
 * (and any offset of the rows): BLIS runs such products on its small-matrix
 * kernels, row blocks apart.  M == 1 is gemv, and from 512 rows on (sgemm,
 * with N and K of a few hundred or more) BLIS switches to its packed,
 * blocked path; both sum in other orders.  The executor relies on it to
 * reuse rows of one product in another (test_kernels checks it). */
enum { KERN_SGEMM_SAME_ROWS = 511 };

/* ---- weights as the checkpoint stores them -----------------------------------
 * A weight matrix is used in the dtype of its file: F32 in place, F16 and
 * BF16 two bytes an element, widened to fp32 only where a product needs them
 * (a block of rows at a time, see kern_linear), so a BF16 model takes its
 * file size in memory rather than twice that.  Widening is exact: every F16
 * and BF16 value is an fp32 value, and the products below give the same
 * results on a widened copy of the whole matrix. */
typedef enum { KERN_F32, KERN_F16, KERN_BF16 } KernDtype;
typedef struct KernMat {
    const void *data;   /* row-major, dense; 4-byte aligned for F32, 2-byte otherwise */
    KernDtype dtype;
} KernMat;
static inline KernMat kern_mat_f32(const float *p) { return (KernMat){p, KERN_F32}; }
size_t kern_dtype_size(KernDtype d);
/* out[i] = element first + i of W as fp32, for i < n (any dtype; a row of
 * an embedding is kern_widen(out, E, id * C, C)). */
void kern_widen(float *out, KernMat W, size_t first, size_t n);
/* The conversions themselves, from little-endian pairs of bytes. */
void kern_f16_to_f32(float *out, const void *in, size_t n);
void kern_bf16_to_f32(float *out, const void *in, size_t n);

/* out(T,N) = x(T,K) . W^T + b, W (N,K) as torch.nn.Linear stores it; b may be NULL.
 * An F16 or BF16 W is widened a block of rows at a time into a buffer of the
 * calling thread's (the one allocation in the kernels: 4 MB per thread, kept
 * for the thread's life), each block multiplied as soon as it is widened so
 * that it is still in cache. */
void kern_linear(float *out, int ldo, const float *x, int ldx, KernMat W, const float *b,
                 int T, int K, int N);
/* out(T,N) = x(T,K) . W + b, W (K,N) as GPT-2's Conv1D stores it; blocks of columns. */
void kern_linear_kn(float *out, int ldo, const float *x, int ldx, KernMat W, const float *b,
                    int T, int K, int N);
/* out(cols, rows) = a(rows, cols)^T, both row-major and dense. */
void kern_transpose(float *out, const float *a, int rows, int cols);

/* ---- norms and activations -------------------------------------------------- */
/* One row: out = x / sqrt(mean(x^2) + eps) * w; w NULL: a weightless norm
 * (Falcon-Mamba's on dt, B and C).  out may be x. */
void kern_rmsnorm(float *out, const float *x, const float *w, int C, float eps);
/* One row: out = (x - mean) / sqrt(var + eps) * w + b */
void kern_layernorm(float *out, const float *x, const float *w, const float *b, int C, float eps);
float kern_silu(float x);
float kern_softplus(float x);
float kern_gelu_new(float x);
/* The exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (torch's default, GPT-NeoX's "gelu") */
float kern_gelu(float x);
/* x[i] = softplus(x[i]) in place, vectorised: max(x, 0) + log1p(exp(-|x|)),
 * with log1p(y) = 2 atanh(y / (2 + y)) as a series; within 2e-7 relative of
 * kern_softplus (torch's threshold: x > 20 gives x). */
void kern_softplus_vec(float *x, int n);
/* x[i] = silu(x[i]) in place, vectorised (the fast exp of fastexp.h). */
void kern_silu_vec(float *x, int n);
/* log(sum_i exp(x[i])) of one row, stable (shifted by the max), vectorised;
 * within 1e-6 relative of a double-precision sum. */
float kern_logsumexp(const float *x, int n);

/* ---- causal depthwise conv1d (Mamba) -------------------------------------------
 * For channels [c0, c1): out[t][c] = b[c] + sum_k w[c][k] * x[t - (K-1) + k][c]
 * with x before the sequence start taken as zero.  x (T, ldx), out (T, ldo),
 * w (D, K), b (D) or NULL. */
void kern_conv1d_causal(float *out, int ldo, const float *x, int ldx,
                        const float *w, const float *b, int T, int K, int c0, int c1);

/* The same conv followed by silu, for positions [i0, i0 + rows) of a
 * recomputed run (the executor): position p < split reads x0 + p * ld0 (the
 * clean run's inputs), p >= split reads x1 + (p - split) * ld1 (the run's own
 * rows); out row q is position i0 + q; all D channels. */
void kern_conv1d_silu_rows(float *out, int ldo, const float *x0, int ld0, const float *x1, int ld1, int split,
                           const float *w, const float *b, int i0, int rows, int K, int D);

/* ---- Mamba-1 selective scan ------------------------------------------------------
 * For channels e in [e0, e1):
 *   h_t[e,n] = exp(delta_t[e] A[e,n]) h_{t-1}[e,n] + delta_t[e] B_t[n] u_t[e]
 *   y_t[e]   = sum_n C_t[n] h_t[e,n] + D[e] u_t[e]
 * u, delta, y: (T, ld*); B, C: (T, ldbc) rows of d_state; D (d_inner).
 *
 * Knockout (LANGUAGE.md "What a knockout does"): for every channel with
 * chan[e] set and every target position i (dst[i]), the contributions
 * alpha_ij[e] u_j[e] of source positions j <= i (src[j]) are removed.  Done
 * exactly with a second state driven by the source inputs only:
 * y_i = C_i . (h_i - hs_i) + D u_i on blocked rows.
 *
 * kern_mamba1_scan_rows (below) is the one implementation, for a whole prompt
 * (t0 = 0, no initial state) and for the executor's recomputed rows;
 * kern_mamba1_scan_ref is the definitional reference (A (d_inner, N)). */
typedef struct KernKnock {
    const unsigned char *src;  /* (T) 1 = source position */
    const unsigned char *dst;  /* (T) 1 = target position */
    const unsigned char *chan; /* (channels) 1 = feature knocked out; NULL = all */
} KernKnock;

void kern_mamba1_scan_ref(float *y, int ldy, const float *u, int ldu, const float *delta, int ldd,
                          const float *A, const float *B, const float *C, int ldbc, const float *D,
                          const KernKnock *ko, int T, int N, int e0, int e1);

/* Continue a Mamba-1 scan over `rows` recomputed positions t0.. of one
 * knocked run (src/knock.c), or scan a whole prompt (t0 = 0, no initial
 * state), channels [e0, e1).  Layouts are transposed, state index first, so
 * the loops run over contiguous channels: At (N, ldA) holds -exp(A_log)
 * transposed; h0 (the clean state at t0-1) and hs0 (the sources-only state
 * at t0-1) are (N, ldh), NULL = zero.  On a knocked layer (knocked != 0) the
 * rows with dst[i] set, on selected channels (chan NULL = all), drop the
 * sources' contribution: y = C.(h - hs) + D u.  Row q of u, dt, B, C, y is
 * position t0 + q; y is multiplied by silu(z), unless z is NULL (causal
 * tracing's hooks between the SSM and the gate).  N <= KERN_MAX_STATE (the
 * loader refuses larger states). */
enum { KERN_MAX_STATE = 512 };
typedef struct KernScan1 {
    float *y; int ldy;                 /* (rows, ldy) output */
    const float *z; int ldz;           /* (rows, ldz) gate input, or NULL: no gate */
    const float *u; int ldu;           /* (rows, ldu) SSM input */
    const float *dt; int lddt;         /* (rows, lddt) step sizes after softplus */
    const float *At; int ldA;          /* (N, ldA) */
    const float *B, *C; int ldbc;      /* (rows, ldbc) each */
    const float *D;                    /* (d_inner) */
    const float *h0, *hs0; int ldh;    /* (N, ldh) or NULL */
    int knocked;
    const unsigned char *src, *dst;    /* (t0 + rows) positions */
    const unsigned char *chan;         /* (d_inner) or NULL = all */
    int t0, rows, N;
} KernScan1;
/* work: kern_mamba1_scan_work(N) floats of the calling thread's own */
size_t kern_mamba1_scan_work(int N);
void kern_mamba1_scan_rows(const KernScan1 *a, float *work, int e0, int e1);

/* n states h[i] (N, ldh) transposed, channels [e0, e1), each after scanning
 * positions 0..t_end[i] with inputs only where take[i][t] is set (NULL:
 * everywhere); u, dt (T, ld), B rows (T, ldbc).  For the executor's h0 and
 * hs0: the states share each position's decay exp(dt A), the costly part,
 * which is computed once for all of them. */
void kern_mamba1_states(float *const *h, const int *t_end, const unsigned char *const *take, int n, int ldh,
                        const float *u, int ldu, const float *dt, int lddt, const float *At, int ldA,
                        const float *B, int ldbc, int N, int e0, int e1);

/* ---- Mamba-2 SSD scan (one head) ------------------------------------------------
 * Head h with scalar decay a = A[h] (= -exp(A_log[h])), state (P, N):
 *   h_t = exp(dt_t a) h_{t-1} + dt_t x_t B_t^T ;  y_t = h_t C_t + D x_t
 * x, y: (T, ldx/ldy) with this head's P columns at offset 0; B, C: (T, ldbc)
 * at this head's group offset; dt (T, lddt) at this head's column.
 * Knockout: ko->chan is indexed by head, checked by the caller (pass ko only
 * when this head is selected).
 *
 * kern_mamba2_scan_rows (below) is the one implementation, for a whole
 * prompt (t0 = 0, no initial state) and for the executor's recomputed rows;
 * kern_mamba2_scan_head_ref is the definitional reference. */
void kern_mamba2_scan_head_ref(float *y, int ldy, const float *x, int ldx, const float *dt, int lddt,
                               float a, const float *B, const float *C, int ldbc, float D,
                               const KernKnock *ko, int T, int P, int N);

/* A Mamba-2 scan of one head over `rows` positions t0.. (a whole prompt:
 * t0 = 0, h0 = hs0 = NULL): the head's state (P, N) starts from h0 and its
 * sources-only state from hs0 (NULL = zero), as in kern_mamba1_scan_rows;
 * knocked says the layer is knocked on this head, and its rows with dst[i]
 * set drop the sources' contribution: y = (h - hs) C + D x.  Row q of x, dt,
 * B, C, y is position t0 + q.  A single row (every `-> last` statement)
 * reads h0 and hs0 in place. */
void kern_mamba2_scan_rows(float *y, int ldy, const float *x, int ldx, const float *dt, int lddt, float a,
                           const float *B, const float *C, int ldbc, float D, const float *h0, const float *hs0,
                           int knocked, const unsigned char *src, const unsigned char *dst, int t0, int rows, int P,
                           int N);

/* One position's step of a Mamba-2 head's state h (P, N), row p at
 * h + p * N: h = dA h + (dt x_p) b, without fused multiply-adds (the
 * executor's state rebuild, model_mamba2.c; the same bits as its plain loop). */
void kern_mamba2_state_step(float *h, float dA, float dt, const float *x, const float *b, int P, int N);

/* ---- causal self-attention (one head) ------------------------------------------
 * Rows i in [i0, T): q and out hold those rows (row i at (i - i0) * ldq / ldo),
 * this head's HS columns at offset 0.  Keys and values come in two parts so
 * the executor can combine a clean prefix with recomputed rows: position
 * j < split reads k0/v0 + j * ld0, position j >= split reads
 * k1/v1 + (j - split) * ld1 (a clean pass uses split = T).
 * Scores q_i.k_j / sqrt(HS) for j <= i; with ko, edges (i <- j) with
 * ko->dst[i] && ko->src[j] are set to -inf before the softmax, and a row whose
 * every edge is blocked outputs zero.  att: scratch of T floats. */
void kern_attention_head(float *out, int ldo, const float *q, int ldq,
                         const float *k0, const float *v0, int ld0,
                         const float *k1, const float *v1, int ld1, int split,
                         const KernKnock *ko, float *att, int i0, int T, int HS);
/* The same with a sliding window (Mistral): row i sees only keys
 * j > i - window (its last `window` positions, itself included), as
 * transformers' sliding-window mask does; window 0 = no window.  Knockout
 * and the fully-blocked rule apply within the window. */
void kern_attention_head_win(float *out, int ldo, const float *q, int ldq,
                             const float *k0, const float *v0, int ld0,
                             const float *k1, const float *v1, int ld1, int split,
                             const KernKnock *ko, int window, float *att, int i0, int T, int HS);
/* Reference: all rows, one key/value matrix (T, ld); T <= KERN_ATTN_REF_MAX. */
enum { KERN_ATTN_REF_MAX = 4096 };
void kern_attention_head_ref(float *out, int ldo, const float *q, const float *k, const float *v, int ld,
                             const KernKnock *ko, int T, int HS);
void kern_attention_head_win_ref(float *out, int ldo, const float *q, const float *k, const float *v, int ld,
                                 const KernKnock *ko, int window, int T, int HS);

/* ---- rotary position embeddings (Llama, Mistral, GPT-NeoX) ------------------------
 * Hugging Face's rotate-half layout: of a head's first `rot` dims, dim i and
 * dim i + rot/2 (i < rot/2) form a pair rotated by the angle pos * inv_freq[i]:
 *   x'[i]         = x[i] cos - x[i + rot/2] sin
 *   x'[i + rot/2] = x[i + rot/2] cos + x[i] sin
 * and the dims from rot on are left alone (GPT-NeoX's partial rotary).
 *
 * kern_rope_freqs fills inv_freq (rot/2) = theta^(-2i/rot), computed in fp32
 * as transformers does; with factor > 0 rescaled as its llama3 rope_scaling
 * (_compute_llama3_parameters): wavelength w = 2 pi / f;
 *   w < orig_ctx / high_freq_factor: f;   w > orig_ctx / low_freq_factor: f / factor;
 *   between: (1 - s) f / factor + s f,  s = (orig_ctx / w - low) / (high - low). */
void kern_rope_freqs(float *inv_freq, int rot, float theta, float factor, float low_freq_factor,
                     float high_freq_factor, float orig_ctx);
/* Rotate n heads of one position in place, head k at x + k * step, for
 * position pos (angles in fp32 as transformers computes them). */
void kern_rope(float *x, int n, int step, int rot, const float *inv_freq, int pos);
/* Reference for one head: transformers' formula literally, in double:
 * out = x * cos(emb) + rotate_half(x) * sin(emb), emb = cat(freqs, freqs),
 * rotate_half(x) = cat(-x[rot/2:rot], x[:rot/2]); out[rot:] = x[rot:]. */
void kern_rope_ref(float *out, const float *x, int HS, int rot, const float *inv_freq, int pos);

#endif
