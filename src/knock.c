/* knock.c: the clean run's records and the batched recomputation of knocked
 * runs (see knock.h). */
#include "knock.h"

#include <string.h>

#include "rowexec.h"

/* An SSM state at t0 - 1 per layer, with inputs from every position (full
 * state) or from the sources before t0 only. */
typedef struct StateEntry {
    int t0;
    unsigned char *take;  /* (t0) positions whose input is taken; NULL = all */
    float **h;            /* (n_layer) state, computed on first use */
} StateEntry;

/* The clean records of a batch of prompts, shared by their PromptRuns. */
typedef struct Records {
    int refs;
    int rows;             /* positions of all the batch's prompts (the rows of its GEMMs) */
    float *resid;         /* (L + 1, rows, C) residual entering each layer */
    float *mem;           /* every layer's LayerRec fields, (rows, width) each */
    float *logits;        /* (prompts, V) each prompt's clean last-position logits */
} Records;

struct PromptRun {
    const Model *m;
    int T;
    int *ids;
    Records *shared;
    const float *resid;   /* this prompt's rows of layer 0 in shared->resid */
    size_t resid_stride;  /* floats from one layer's residual rows to the next's */
    LayerRec *rec;        /* (L) views of this prompt's rows */
    const float *clean_logits; /* (V) in shared->logits */
    StateEntry *states;
    int nstates, capstates;
    Scratch *scratch;     /* the caller's (borrowed), or own */
    Scratch own;
};

static size_t state_size(const Config *c)
{
    const ArchOps *ops = arch_ops(c->arch);
    return ops->state_floats ? ops->state_floats(c) : 0;
}

size_t knockp_record_width(const Config *c)
{
    RecField f[REC_MAX_FIELDS];
    size_t sum = 0;
    for (int i = 0, n = arch_ops(c->arch)->record_fields(c, f); i < n; i++) sum += f[i].width;
    return sum;
}

void knockp_layer_views(const Config *c, float *mem, int rows, int l, int r0, LayerRec *r)
{
    RecField f[REC_MAX_FIELDS];
    int n = arch_ops(c->arch)->record_fields(c, f);
    float *q = mem + knockp_record_width(c) * rows * l;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < n; i++) {
        *(float **)((char *)r + f[i].offset) = q + f[i].width * r0;
        q += f[i].width * rows;
    }
}

static void records_release(Records *r)
{
    if (r && --r->refs == 0) {
        free(r->resid);
        free(r->mem);
        free(r->logits);
        free(r);
    }
}

int prompt_runs_new(const Model *m, int n, const int *const *ids, const int *T, float *clean_logits, PromptRun **out,
                    Scratch *scratch, KopError *err)
{
    const Config *c = &m->cfg;
    int L = c->n_layer, C = c->d_model, V = c->vocab_size, rows = 0;
    for (int q = 0; q < n; q++) {
        out[q] = NULL;
        rows += T[q];
    }
    if (n <= 0) return 0;
    Records *sh = kop_xcalloc(1, sizeof *sh);
    sh->resid = kop_xmalloc(sizeof(float) * (size_t)(L + 1) * rows * C);
    sh->mem = kop_xmalloc(sizeof(float) * knockp_record_width(c) * rows * L);
    sh->logits = kop_xmalloc(sizeof(float) * (size_t)n * V);
    LayerRec *rec = kop_xmalloc(sizeof *rec * (size_t)L);
    for (int l = 0; l < L; l++) knockp_layer_views(c, sh->mem, rows, l, 0, &rec[l]);
    int *all = kop_xmalloc(sizeof(int) * (size_t)rows);
    for (int q = 0, r = 0; q < n; r += T[q++]) memcpy(all + r, ids[q], sizeof(int) * (size_t)T[q]);
    ForwardReq req = {.ids = all, .T = rows, .n_seq = n, .seq_len = T, .resid_out = sh->resid, .rec = rec,
                      .logits = sh->logits, .scratch = scratch};
    int status = model_forward(m, &req, err);
    free(all);
    free(rec);
    if (status < 0) {
        sh->refs = 1;
        records_release(sh);
        return -1;
    }
    sh->refs = n;
    sh->rows = rows;
    for (int q = 0, r0 = 0; q < n; r0 += T[q++]) {
        PromptRun *p = out[q] = kop_xcalloc(1, sizeof *p);
        p->m = m;
        p->T = T[q];
        p->ids = kop_xmalloc(sizeof(int) * (size_t)T[q]);
        memcpy(p->ids, ids[q], sizeof(int) * (size_t)T[q]);
        p->shared = sh;
        p->resid = sh->resid + (size_t)r0 * C;
        p->resid_stride = (size_t)rows * C;
        p->rec = kop_xmalloc(sizeof *p->rec * (size_t)L);
        for (int l = 0; l < L; l++) knockp_layer_views(c, sh->mem, rows, l, r0, &p->rec[l]);
        p->clean_logits = sh->logits + (size_t)q * V;
        p->scratch = scratch ? scratch : &p->own;
    }
    if (clean_logits) memcpy(clean_logits, sh->logits, sizeof(float) * (size_t)n * V);
    return 0;
}

const float *prompt_run_clean_logits(const PromptRun *p)
{
    return p->clean_logits;
}

PromptRun *prompt_run_new(const Model *m, const int *ids, int T, float *clean_logits, KopError *err)
{
    PromptRun *p;
    return prompt_runs_new(m, 1, &ids, &T, clean_logits, &p, NULL, err) < 0 ? NULL : p;
}

void prompt_run_free(PromptRun *p)
{
    if (!p) return;
    for (int i = 0; i < p->nstates; i++) {
        for (int l = 0; l < p->m->cfg.n_layer; l++) free(p->states[i].h[l]);
        free(p->states[i].h);
        free(p->states[i].take);
    }
    free(p->states);
    scratch_release(&p->own);
    records_release(p->shared);
    free(p->ids); free(p->rec);
    free(p);
}

/* The index of the state entry for (t0, take restricted to [0, t0)); NULL
 * take = full.  An index, not a pointer: the array grows. */
static int state_entry(PromptRun *p, int t0, const unsigned char *take)
{
    for (int i = 0; i < p->nstates; i++) {
        StateEntry *e = &p->states[i];
        if (e->t0 == t0 && !e->take == !take && (!take || !memcmp(e->take, take, (size_t)t0))) return i;
    }
    if (p->nstates == p->capstates)
        p->states = kop_xrealloc(p->states, sizeof *p->states * (size_t)(p->capstates = p->capstates ? 2 * p->capstates : 8));
    StateEntry *e = &p->states[p->nstates++];
    e->t0 = t0;
    e->take = NULL;
    if (take) {
        e->take = kop_xmalloc((size_t)t0);
        memcpy(e->take, take, (size_t)t0);
    }
    e->h = kop_xcalloc((size_t)p->m->cfg.n_layer, sizeof(float *));
    return p->nstates - 1;
}

/* Compute the states of layer l that the entries want[0..n) still lack
 * (Mamba-1: in one pass that shares the decays). */
static void states_at(PromptRun *p, int l, const int *want, int n)
{
    int k = 0, *t_end = kop_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    const unsigned char **take = kop_xmalloc(sizeof *take * (size_t)(n ? n : 1));
    float **h = kop_xmalloc(sizeof *h * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        StateEntry *e = &p->states[want[i]];
        if (e->h[l]) continue;
        e->h[l] = kop_xmalloc(sizeof(float) * state_size(&p->m->cfg));
        t_end[k] = e->t0 - 1;
        take[k] = e->take;
        h[k++] = e->h[l];
    }
    if (k) arch_ops(p->m->cfg.arch)->states(p->m, l, &p->rec[l], k, t_end, take, h);
    free(t_end); free(take); free(h);
}

/* How a knocked run is computed.  Runs that differ only in hi (a window
 * clipped at layer 0 covers [0, hi] for several sweep points) are the same
 * run through layer min(hi): such a run copies the rows of the one with the
 * largest hi (its rep) after its own hi, and computes its rows only from
 * there; if both reach the last layer it is a duplicate and only copies the
 * logits. */
typedef struct Active {
    int index;              /* in the caller's runs[] */
    int t0, lo, hi;         /* first target position; knocked layers, clipped to the model */
    int start;              /* first layer whose rows it computes itself (n_layer: none) */
    int rep;                /* the run (in act[]) whose rows it takes at start; -1: the clean stream */
    int row0;
    int full, src;          /* state entries; -1: none (t0 == 0, or no source before t0) */
} Active;

/* same blocked edges and features on the layers [lo, hi] */
static int same_knock(const KnockRun *x, const KnockRun *y, int lo, int hi, int T, int nf)
{
    if (memcmp(x->src, y->src, (size_t)T) || memcmp(x->dst, y->dst, (size_t)T) || !x->chan != !y->chan) return 0;
    return !x->chan || !memcmp(x->chan + (size_t)lo * nf, y->chan + (size_t)lo * nf, (size_t)(hi - lo + 1) * nf);
}

/* by first layer; of the runs that start on the same layer, those that
 * take their rows from the clean stream (rep < 0) last, as rows() wants
 * the runs it may feed from the records (RowRun.from_rec) */
static int before(const Active *x, const Active *y)
{
    if (x->start != y->start) return x->start < y->start;
    if ((x->rep < 0) != (y->rep < 0)) return x->rep >= 0;
    return x->index < y->index;
}

/* insertion sort keeps this free of qsort_r portability questions; n is the
 * number of runs of one prompt (hundreds at most) */
static void sort_active(Active *a, int n)
{
    for (int i = 1; i < n; i++) {
        Active v = a[i];
        int j = i - 1;
        while (j >= 0 && before(&v, &a[j])) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
}

/* The runs that change anything, in act[] sorted by start (reps index into
 * the sorted array); returns their number.  *rows: the rows they compute. */
static int plan_runs(const Config *c, int T, const KnockRun *runs, int n, Active *act, int *rows)
{
    int L = c->n_layer, nf = model_n_features(c), na = 0;
    for (int k = 0; k < n; k++) {
        const KnockRun *r = &runs[k];
        int t0 = 0;
        while (t0 < T && !r->dst[t0]) t0++;
        int lo = r->lo < 0 ? 0 : r->lo, hi = r->hi >= L ? L - 1 : r->hi;
        if (lo > hi || t0 == T) continue; /* nothing blocked: the clean logits */
        act[na++] = (Active){.index = k, .t0 = t0, .lo = lo, .hi = hi, .start = lo, .rep = -1, .full = -1, .src = -1};
    }
    /* reps by the caller's index; the largest hi wins, then the earliest run */
    for (int a = 0; a < na; a++)
        for (int b = 0; b < na; b++) {
            Active *x = &act[a], *y = &act[b];
            if (b == a || y->lo != x->lo || y->t0 != x->t0 || y->hi < x->hi || (y->hi == x->hi && b > a)) continue;
            if (!same_knock(&runs[x->index], &runs[y->index], x->lo, x->hi, T, nf)) continue;
            if (x->rep < 0 || y->hi > act[x->rep].hi) x->rep = b;
        }
    for (int a = 0; a < na; a++)
        if (act[a].rep >= 0) {
            act[a].start = act[a].hi + 1; /* L for a duplicate */
            act[a].rep = act[act[a].rep].index;
        }
    sort_active(act, na);
    int *pos = kop_xmalloc(sizeof(int) * (size_t)(n ? n : 1)), r = 0; /* caller's index -> place in act[] */
    for (int a = 0; a < na; a++) pos[act[a].index] = a;
    for (int a = 0; a < na; a++) {
        if (act[a].rep >= 0) act[a].rep = pos[act[a].rep];
        act[a].row0 = r;
        if (act[a].start < L) r += T - act[a].t0;
    }
    free(pos);
    *rows = r;
    return na;
}

/* The knocked runs as rowexec jobs (rowexec.h). */
typedef struct KnockSteps {
    PromptRun *p;
    const KnockRun *runs;
    Active *act;
    int *want;    /* (2 na) state entries a layer needs */
} KnockSteps;

/* from the clean stream, or the rows of its rep; a duplicate has none */
static void knock_join(void *ctx, int j, int l, float *X)
{
    KnockSteps *k = ctx;
    PromptRun *p = k->p;
    const Active *a = &k->act[j];
    int C = p->m->cfg.d_model;
    if (a->start >= p->m->cfg.n_layer) return;
    const float *from = a->rep < 0 ? p->resid + (size_t)l * p->resid_stride + (size_t)a->t0 * C
                                   : X + (size_t)k->act[a->rep].row0 * C;
    memcpy(X + (size_t)a->row0 * C, from, sizeof(float) * (size_t)(p->T - a->t0) * C);
}

/* the knockout of layer l and the states at t0-1 it needs */
static void knock_prepare(void *ctx, int l, int n, RowRun *rr)
{
    KnockSteps *k = ctx;
    PromptRun *p = k->p;
    int nf = model_n_features(&p->m->cfg), nwant = 0;
    for (int a = 0; a < n; a++) {
        const Active *x = &k->act[a];
        const KnockRun *r = &k->runs[x->index];
        rr[a].knocked = l >= x->lo && l <= x->hi;
        rr[a].src = r->src;
        rr[a].dst = r->dst;
        rr[a].chan = r->chan ? r->chan + (size_t)l * nf : NULL;
        rr[a].from_rec = l == x->start && x->rep < 0 && p->shared->rows >= 2 && p->shared->rows <= KERN_SGEMM_SAME_ROWS;
        if (x->full >= 0) k->want[nwant++] = x->full;
        if (x->src >= 0 && rr[a].knocked) k->want[nwant++] = x->src;
    }
    states_at(p, l, k->want, nwant);
    for (int a = 0; a < n; a++)
        if (k->act[a].full >= 0) {
            rr[a].h0 = p->states[k->act[a].full].h[l];
            rr[a].hs0 = k->act[a].src >= 0 && rr[a].knocked ? p->states[k->act[a].src].h[l] : NULL;
        }
}

int prompt_run_knock_rows(PromptRun *p, const KnockRun *runs, int n, float *buf, const float **row, KopError *err)
{
    const Model *m = p->m;
    const Config *c = &m->cfg;
    const ArchOps *ops = arch_ops(c->arch);
    int T = p->T, L = c->n_layer, C = c->d_model, V = c->vocab_size;
    int ssm = ops->states != NULL;
    Active *act = kop_xmalloc(sizeof *act * (size_t)(n ? n : 1));
    int rows, na = plan_runs(c, T, runs, n, act, &rows);
    for (int k = 0; k < n; k++) row[k] = p->clean_logits;
    for (int a = 0; a < na; a++) {
        if (ssm && act[a].t0 > 0) {
            const KnockRun *r = &runs[act[a].index];
            act[a].full = state_entry(p, act[a].t0, NULL);
            int any = 0;
            for (int j = 0; j < act[a].t0; j++) any |= r->src[j];
            act[a].src = any ? state_entry(p, act[a].t0, r->src) : -1;
        }
    }
    float *X = kop_xmalloc(sizeof(float) * (size_t)(rows ? rows : 1) * C);
    RowJob *jobs = kop_xmalloc(sizeof *jobs * (size_t)(na ? na : 1));
    for (int a = 0; a < na; a++) jobs[a] = (RowJob){act[a].start, act[a].t0, act[a].row0};
    KnockSteps ks = {p, runs, act, kop_xmalloc(sizeof(int) * (size_t)(2 * na + 1))};
    RowSteps st = {.m = m, .T = T, .rec = p->rec, .scratch = p->scratch, .ctx = &ks, .join = knock_join,
                   .prepare = knock_prepare};
    rowexec_layers(&st, jobs, na, X, rows);
    /* the last position of every run that computed rows (they come first);
     * duplicates copy their rep's logits */
    int nlog = 0;
    for (int a = 0; a < na; a++) nlog += act[a].start < L;
    if (nlog) {
        int *last = kop_xmalloc(sizeof(int) * (size_t)nlog);
        for (int a = 0; a < nlog; a++) last[a] = act[a].row0 + T - 1 - act[a].t0;
        rowexec_logits(m, X, last, nlog, buf);
        for (int a = 0; a < na; a++) row[act[a].index] = buf + (size_t)(a < nlog ? a : act[a].rep) * V;
        free(last);
    }
    free(X); free(jobs); free(act); free(ks.want);
    (void)err;
    return 0;
}

int prompt_run_knock(PromptRun *p, const KnockRun *runs, int n, float *logits, KopError *err)
{
    int V = p->m->cfg.vocab_size;
    float *buf = kop_xmalloc(sizeof(float) * (size_t)V * (n ? n : 1));
    const float **row = kop_xmalloc(sizeof *row * (size_t)(n ? n : 1));
    int status = prompt_run_knock_rows(p, runs, n, buf, row, err);
    for (int k = 0; k < n && status == 0; k++) memcpy(logits + (size_t)k * V, row[k], sizeof(float) * V);
    free(buf);
    free(row);
    return status;
}

int prompt_run_knock_naive(PromptRun *p, const KnockRun *runs, int n, float *logits, KopError *err)
{
    const Config *c = &p->m->cfg;
    int L = c->n_layer, nf = model_n_features(c);
    KernKnock *ko = kop_xmalloc(sizeof *ko * (size_t)L);
    const KernKnock **per = kop_xmalloc(sizeof *per * (size_t)L);
    int status = 0;
    for (int k = 0; k < n && status == 0; k++) {
        for (int l = 0; l < L; l++) {
            per[l] = NULL;
            if (l < runs[k].lo || l > runs[k].hi) continue;
            ko[l] = (KernKnock){runs[k].src, runs[k].dst, runs[k].chan ? runs[k].chan + (size_t)l * nf : NULL};
            per[l] = &ko[l];
        }
        ForwardReq req = {.ids = p->ids, .T = p->T, .knock = per, .logits = logits + (size_t)k * c->vocab_size,
                          .scratch = p->scratch};
        status = model_forward(p->m, &req, err);
    }
    free(ko);
    free(per);
    return status;
}

double knock_flops(const Config *c, int T, const KnockRun *runs, int n)
{
    double per_row_layer = model_forward_flops(c, 1, 0) / c->n_layer; /* one row through one layer */
    Active *act = kop_xmalloc(sizeof *act * (size_t)(n ? n : 1));
    int rows, na = plan_runs(c, T, runs, n, act, &rows);
    double f = 0;
    for (int a = 0; a < na; a++)
        if (act[a].start < c->n_layer)
            f += per_row_layer * (double)(T - act[a].t0) * (c->n_layer - act[a].start) + 2.0 * c->d_model * c->vocab_size;
    free(act);
    return f;
}
