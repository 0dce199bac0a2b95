/* rowexec.c: the shared layer loop of the knockout and tracing engines
 * (see rowexec.h). */
#include "rowexec.h"

#include <string.h>

#include "threads.h"

void rowexec_layers(const RowSteps *st, const RowJob *jobs, int n, float *X, int rows)
{
    const Model *m = st->m;
    const ArchOps *ops = arch_ops(m->cfg.arch);
    int L = m->cfg.n_layer;
    RowRun *rr = kop_xmalloc(sizeof *rr * (size_t)(n ? n : 1));
    int joined = 0;
    for (int l = n ? jobs[0].first : L; l <= L; l++) {
        while (joined < n && jobs[joined].first <= l) st->join(st->ctx, joined++, l, X);
        if (l == L) break;
        for (int j = 0; j < joined; j++) rr[j] = (RowRun){.t0 = jobs[j].t0, .row0 = jobs[j].row0};
        st->prepare(st->ctx, l, joined, rr);
        int R = joined < n ? jobs[joined].row0 : rows;
        scratch_reserve(st->scratch, &m->cfg, R, threads_team(), st->T);
        ops->rows(m, l, X, R, rr, joined, &st->rec[l], st->T, st->scratch);
        if (st->after) st->after(st->ctx, l, joined, rr, X, R);
    }
    free(rr);
}

void rowexec_logits(const Model *m, const float *X, const int *row, int n, float *out)
{
    const ArchOps *ops = arch_ops(m->cfg.arch);
    int C = m->cfg.d_model, V = m->cfg.vocab_size;
    if (n <= 0) return;
    float *h = kop_xmalloc(sizeof(float) * (size_t)n * C);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) ops->final_norm(m, h + (size_t)i * C, X + (size_t)row[i] * C);
    kern_linear(out, V, h, C, m->lm_head, NULL, n, C, V);
    free(h);
}
