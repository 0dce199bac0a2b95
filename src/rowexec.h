/* rowexec.h: the layer loop the knockout engine (knock.c) and the tracing
 * engine (trace.c) share.
 *
 * Both compute many runs of one prompt that differ from a base run (the
 * clean run for knockouts, a corrupted run for tracing) only at positions
 * >= t0 and only from some layer on.  Each such job owns the rows of its
 * positions t0..T-1 in one block X (rows, C), from row0.  With the jobs
 * sorted by first layer, rowexec_layers goes up through the layers once:
 *  - at a job's first layer the engine fills its rows (join): the base
 *    run's stream entering that layer, or another job's rows;
 *  - before each layer the engine fills every joined job's RowRun (arch.h:
 *    its knockout, SSM states at t0-1, hook ops, which base's records);
 *  - the rows of all joined jobs go through the layer together
 *    (ArchOps.rows: one GEMM per projection over all of them);
 *  - after it the engine may act on the rows (tracing's resid hook).
 * rowexec_logits then gives the logits of chosen rows (the jobs' last
 * positions): final norm and one GEMM against the vocabulary. */
#ifndef KOP_ROWEXEC_H
#define KOP_ROWEXEC_H

#include "arch.h"

typedef struct RowJob {
    int first;  /* first layer whose rows the job computes; n_layer: none (it still joins there) */
    int t0;     /* first position: its rows are positions t0..T-1 */
    int row0;   /* its first row in X */
} RowJob;

typedef struct RowSteps {
    const Model *m;
    int T;                   /* positions of the prompt */
    const LayerRec *rec;     /* (n_layer) the records rows() reads (RowRun.rec_row picks a base's) */
    Scratch *scratch;
    void *ctx;
    /* job j joins at layer l, its first (l == n_layer: after the last
     * layer): fill its rows of X entering layer l */
    void (*join)(void *ctx, int j, int l, float *X);
    /* before layer l: complete rr[0..n) of the jobs joined so far (t0 and
     * row0 are set, everything else zero) */
    void (*prepare)(void *ctx, int l, int n, RowRun *rr);
    /* after layer l, on its R rows of X; NULL: nothing */
    void (*after)(void *ctx, int l, int n, const RowRun *rr, float *X, int R);
} RowSteps;

/* jobs[0..n) sorted by first layer, row0 ascending in that order; X (rows, C). */
void rowexec_layers(const RowSteps *st, const RowJob *jobs, int n, float *X, int rows);

/* out (n, V): the logits of rows row[0..n) of X. */
void rowexec_logits(const Model *m, const float *X, const int *row, int n, float *out);

#endif
