/* trace.c: the clean and corrupted runs of a prompt, and restored runs
 * computed from them, efficiently and definitionally (see trace.h). */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knock.h"
#include "noise.h"
#include "rowexec.h"

struct TracePrompt {
    const Model *m;
    int T, N;
    int *ids;             /* (T) the clean prompt */
    int *cids;            /* (N * T) the corrupted runs' ids, one after another */
    float *noise;         /* (N * T, C) their embedding noise, or NULL */
    float *clean_logits;  /* (V) */
    float *cor_logits;    /* (N, V) */
    float *resid;         /* (L + 1, N * T, C) corrupted streams entering each layer */
    float *mem;           /* corrupted records, knockp_layer_views layout over N * T rows */
    LayerRec *rec;        /* (L) views of all N * T rows */
    float *clean_cap[HOOK_COUNT]; /* (L, T, width) clean hook values, or NULL */
    float *cor_cap[HOOK_COUNT];   /* (L, N * T, width) corrupted hook values, or NULL */
    int budget;
    Scratch scratch;
};

static int width_of(const Model *m, Hook h)
{
    const ArchOps *ops = arch_ops(m->cfg.arch);
    return (ops->hooks & HOOK_BIT(h)) ? ops->hook_width(&m->cfg, h) : 0;
}

static double prob_of(const float *logits, int V, int id)
{
    return exp((double)logits[id] - kern_logsumexp(logits, V));
}

static int check_hooks(const Model *m, unsigned mask, KopError *err)
{
    const ArchOps *ops = arch_ops(m->cfg.arch);
    for (int h = 0; h < HOOK_COUNT; h++)
        if ((mask & HOOK_BIT(h)) && !(ops->hooks & HOOK_BIT(h)))
            return kop_fail(err, KOP_EXIT_USAGE, "%s has no hook `%s` (a %s model)", m->dir ? m->dir : "the model",
                            hook_name(h), ops->name);
    return 0;
}

/* The clean run (corrupted = 0, logits (V)) or the N corrupted runs as one
 * batch (logits (N, V)), capturing the hooks of mask not captured yet; keep:
 * the corrupted runs' streams and records too.  A forward repeated to
 * capture more hooks computes the same numbers as the first. */
static int forward_capture(TracePrompt *tp, int corrupted, unsigned mask, int keep, float *logits, KopError *err)
{
    const Model *m = tp->m;
    int L = m->cfg.n_layer, rows = corrupted ? tp->N * tp->T : tp->T;
    float **cap = corrupted ? tp->cor_cap : tp->clean_cap;
    HookOp *ops = kop_xmalloc(sizeof *ops * (size_t)L * HOOK_COUNT);
    HookList *hl = kop_xmalloc(sizeof *hl * (size_t)L);
    unsigned todo = 0;
    for (int h = 0; h < HOOK_COUNT; h++)
        if ((mask & HOOK_BIT(h)) && !cap[h]) {
            todo |= HOOK_BIT(h);
            cap[h] = kop_xmalloc(sizeof(float) * (size_t)L * rows * width_of(m, h));
        }
    for (int l = 0; l < L; l++) {
        int nh = 0;
        for (int h = 0; h < HOOK_COUNT; h++)
            if (todo & HOOK_BIT(h)) {
                int w = width_of(m, h);
                ops[l * HOOK_COUNT + nh++] = (HookOp){(Hook)h, 1, NULL, cap[h] + (size_t)l * rows * w, w};
            }
        hl[l] = (HookList){nh, ops + l * HOOK_COUNT};
    }
    int *len = kop_xmalloc(sizeof(int) * (size_t)tp->N);
    for (int s = 0; s < tp->N; s++) len[s] = tp->T;
    ForwardReq req = {.ids = tp->ids, .T = rows, .hooks = hl, .logits = logits, .scratch = &tp->scratch};
    if (corrupted) {
        req.ids = tp->cids;
        req.n_seq = tp->N;
        req.seq_len = len;
        req.embed_add = tp->noise;
        if (keep) {
            req.resid_out = tp->resid;
            req.rec = tp->rec;
        }
    }
    int status = model_forward(m, &req, err);
    free(len); free(ops); free(hl);
    return status;
}

/* Capture the hooks of mask the prompt lacks (clean or corrupted runs). */
static int capture(TracePrompt *tp, unsigned mask, int corrupted, KopError *err)
{
    float **cap = corrupted ? tp->cor_cap : tp->clean_cap;
    int missing = 0;
    for (int h = 0; h < HOOK_COUNT; h++) missing |= (mask & HOOK_BIT(h)) && !cap[h];
    if (!missing) return 0;
    float *logits = kop_xmalloc(sizeof(float) * (size_t)tp->N * tp->m->cfg.vocab_size);
    int status = forward_capture(tp, corrupted, mask, 0, logits, err);
    free(logits);
    return status;
}

TracePrompt *trace_prompt_new(const Model *m, const int *ids, int T, const TraceCorruption *cor,
                              unsigned restore_hooks, unsigned freeze_hooks, KopError *err)
{
    const Config *c = &m->cfg;
    int L = c->n_layer, C = c->d_model, V = c->vocab_size, N = cor->samples;
    if (N < 1 || T < 1 || cor->sigma < 0 || !isfinite(cor->sigma)) {
        kop_fail(err, KOP_EXIT_USAGE, "trace: bad corruption (%d samples, sigma %g, %d tokens)", N, cor->sigma, T);
        return NULL;
    }
    if (check_hooks(m, restore_hooks | freeze_hooks, err) < 0) return NULL;
    TracePrompt *tp = kop_xcalloc(1, sizeof *tp);
    tp->m = m;
    tp->T = T;
    tp->N = N;
    tp->budget = TRACE_ROW_BUDGET;
    tp->ids = kop_xmalloc(sizeof(int) * (size_t)T);
    memcpy(tp->ids, ids, sizeof(int) * (size_t)T);
    tp->cids = kop_xmalloc(sizeof(int) * (size_t)N * T);
    for (int s = 0; s < N; s++) memcpy(tp->cids + (size_t)s * T, cor->ids ? cor->ids : ids, sizeof(int) * (size_t)T);
    if (cor->sigma > 0 && cor->pos) {
        tp->noise = kop_xmalloc(sizeof(float) * (size_t)N * T * C);
        for (int s = 0; s < N; s++)
            noise_fill(tp->noise + (size_t)s * T * C, T, C, cor->sigma, cor->seed, cor->prompt, (uint64_t)s, cor->pos);
    }
    tp->clean_logits = kop_xmalloc(sizeof(float) * (size_t)V);
    tp->cor_logits = kop_xmalloc(sizeof(float) * (size_t)N * V);
    int rows = N * T;
    tp->resid = kop_xmalloc(sizeof(float) * (size_t)(L + 1) * rows * C);
    tp->mem = kop_xmalloc(sizeof(float) * knockp_record_width(c) * rows * L);
    tp->rec = kop_xmalloc(sizeof *tp->rec * (size_t)L);
    for (int l = 0; l < L; l++) knockp_layer_views(c, tp->mem, rows, l, 0, &tp->rec[l]);
    if (forward_capture(tp, 0, restore_hooks, 0, tp->clean_logits, err) < 0 ||
        forward_capture(tp, 1, freeze_hooks, 1, tp->cor_logits, err) < 0) {
        trace_prompt_free(tp);
        return NULL;
    }
    return tp;
}

void trace_prompt_free(TracePrompt *tp)
{
    if (!tp) return;
    for (int h = 0; h < HOOK_COUNT; h++) {
        free(tp->clean_cap[h]);
        free(tp->cor_cap[h]);
    }
    free(tp->ids); free(tp->cids); free(tp->noise); free(tp->clean_logits); free(tp->cor_logits);
    free(tp->resid); free(tp->mem); free(tp->rec);
    scratch_release(&tp->scratch);
    free(tp);
}

int trace_samples(const TracePrompt *tp) { return tp->N; }
const float *trace_clean_logits(const TracePrompt *tp) { return tp->clean_logits; }
const float *trace_corrupt_logits(const TracePrompt *tp) { return tp->cor_logits; }

double trace_p_clean(const TracePrompt *tp, int target)
{
    return prob_of(tp->clean_logits, tp->m->cfg.vocab_size, target);
}

double trace_p_corrupt(const TracePrompt *tp, int target)
{
    int V = tp->m->cfg.vocab_size;
    double sum = 0;
    for (int s = 0; s < tp->N; s++) sum += prob_of(tp->cor_logits + (size_t)s * V, V, target);
    return sum / tp->N;
}

void trace_set_row_budget(TracePrompt *tp, int rows)
{
    tp->budget = rows > 0 ? rows : TRACE_ROW_BUDGET;
}

static int first_set(const unsigned char *mask, int n)
{
    int i = 0;
    if (mask)
        while (i < n && !mask[i]) i++;
    return mask ? i : n;
}

/* The hooks the runs restore (*restore) and freeze (*freeze), checked
 * against the model and captured if they were not yet; the runs and the
 * target checked. */
static int runs_hooks(TracePrompt *tp, const TraceRun *runs, int n, int target, unsigned *restore, unsigned *freeze,
                      KopError *err)
{
    *restore = *freeze = 0;
    if (target < 0 || target >= tp->m->cfg.vocab_size)
        return kop_fail(err, KOP_EXIT_USAGE, "trace: target token %d is outside the vocabulary (0..%d)", target,
                        tp->m->cfg.vocab_size - 1);
    for (int k = 0; k < n; k++) {
        const TraceSite *r = &runs[k].restore, *f = &runs[k].freeze;
        if ((unsigned)r->hook >= HOOK_COUNT || (f->pos && (unsigned)f->hook >= HOOK_COUNT) || (r->pos && !r->layers) ||
            (f->pos && !f->layers))
            return kop_fail(err, KOP_EXIT_INTERNAL, "trace: run %d: a site without a hook or layers", k);
        *restore |= HOOK_BIT(runs[k].restore.hook);
        if (runs[k].freeze.pos) *freeze |= HOOK_BIT(runs[k].freeze.hook);
    }
    if (check_hooks(tp->m, *restore | *freeze, err) < 0) return -1;
    if (capture(tp, *restore, 0, err) < 0 || capture(tp, *freeze, 1, err) < 0) return -1;
    return 0;
}

/* Layer l's hook ops of run r on sample s into ops[0..2): the restore, then
 * the freeze (which wins where both act); returns how many. */
static int layer_ops(const TracePrompt *tp, const TraceRun *r, int s, int l, HookOp *ops)
{
    int n = 0, T = tp->T, rows = tp->N * T;
    const TraceSite *rs = &r->restore, *fz = &r->freeze;
    if (rs->pos && rs->layers[l]) {
        int w = width_of(tp->m, rs->hook);
        ops[n++] = (HookOp){rs->hook, 0, rs->pos, tp->clean_cap[rs->hook] + (size_t)l * T * w, w};
    }
    if (fz->pos && fz->layers[l]) {
        int w = width_of(tp->m, fz->hook);
        ops[n++] = (HookOp){fz->hook, 0, fz->pos, tp->cor_cap[fz->hook] + ((size_t)l * rows + (size_t)s * T) * w, w};
    }
    return n;
}

/* One restored run of one sample in the efficient path. */
typedef struct Act {
    int run, s;
    int t0;      /* first restored position */
    int first;   /* first layer whose rows it computes (n_layer: none, only the last resid) */
    int row0;    /* in the chunk's X */
} Act;

/* by first layer, then run, then sample: a total order, so qsort's result
 * is the same everywhere */
static int act_cmp(const void *pa, const void *pb)
{
    const Act *x = pa, *y = pb;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->run != y->run) return x->run < y->run ? -1 : 1;
    return (x->s > y->s) - (x->s < y->s);
}

/* The active (run, sample) pairs, sorted by first layer; runs restoring
 * nothing are left out (they are the corrupted runs). */
static int plan_acts(const TracePrompt *tp, const TraceRun *runs, int n, Act *act)
{
    int L = tp->m->cfg.n_layer, T = tp->T, na = 0;
    for (int k = 0; k < n; k++) {
        const TraceSite *rs = &runs[k].restore;
        int t0 = first_set(rs->pos, T), l0 = first_set(rs->layers, L);
        if (t0 == T || l0 == L) continue;
        int first = rs->hook == HOOK_RESID ? l0 + 1 : l0;
        for (int s = 0; s < tp->N; s++) act[na++] = (Act){k, s, t0, first, 0};
    }
    qsort(act, (size_t)na, sizeof *act, act_cmp);
    return na;
}

/* The SSM states at t0 - 1 of layer l for the acts in [0, nact) that need
 * them (t0 > 0), each (sample, t0) once; st[s * T + t0] (allocated here on
 * first use) holds it, at_layer[...] says for which layer. */
static void states_for(TracePrompt *tp, int l, const Act *act, int nact, float **st, int *at_layer)
{
    const Model *m = tp->m;
    const ArchOps *ops = arch_ops(m->cfg.arch);
    int T = tp->T, N = tp->N;
    size_t sf = ops->state_floats(&m->cfg);
    int *t_end = kop_xmalloc(sizeof(int) * (size_t)T);
    const unsigned char **take = kop_xcalloc((size_t)T, sizeof *take);
    float **h = kop_xmalloc(sizeof *h * (size_t)T);
    for (int s = 0; s < N; s++) {
        int k = 0;
        for (int a = 0; a < nact; a++) {
            int i = s * T + act[a].t0;
            if (act[a].s != s || act[a].t0 == 0 || at_layer[i] == l) continue;
            if (!st[i]) st[i] = kop_xmalloc(sizeof(float) * sf);
            at_layer[i] = l;
            t_end[k] = act[a].t0 - 1;
            h[k++] = st[i];
        }
        if (!k) continue;
        LayerRec v;
        knockp_layer_views(&m->cfg, tp->mem, N * T, l, s * T, &v);
        ops->states(m, l, &v, k, t_end, take, h);
    }
    free(t_end); free(take); free(h);
}

/* One chunk's acts as rowexec jobs (rowexec.h). */
typedef struct TraceSteps {
    TracePrompt *tp;
    const TraceRun *runs;
    const Act *act;
    float **st;        /* states_for's */
    int *at_layer;
    HookOp *ops;       /* (na, 2) */
    HookList *hl;      /* (na) */
} TraceSteps;

/* from its corrupted run's stream; a resid restore at l - 1 (and a freeze
 * there) acts on it first */
static void trace_join(void *ctx, int j, int l, float *X)
{
    TraceSteps *k = ctx;
    const TracePrompt *tp = k->tp;
    const Act *a = &k->act[j];
    int T = tp->T, C = tp->m->cfg.d_model;
    float *x = X + (size_t)a->row0 * C;
    memcpy(x, tp->resid + (size_t)l * tp->N * T * C + ((size_t)a->s * T + a->t0) * C,
           sizeof(float) * (size_t)(T - a->t0) * C);
    if (l > 0) {
        HookOp o[2];
        HookList one = {layer_ops(tp, &k->runs[a->run], a->s, l - 1, o), o};
        hook_apply(&one, HOOK_RESID, x, C, a->t0, T - a->t0, C);
    }
}

/* the sample's records and states at t0-1, and the layer's hook ops */
static void trace_prepare(void *ctx, int l, int n, RowRun *rr)
{
    TraceSteps *k = ctx;
    TracePrompt *tp = k->tp;
    int ssm = arch_ops(tp->m->cfg.arch)->states != NULL;
    if (ssm) states_for(tp, l, k->act, n, k->st, k->at_layer);
    for (int a = 0; a < n; a++) {
        const Act *x = &k->act[a];
        k->hl[a] = (HookList){layer_ops(tp, &k->runs[x->run], x->s, l, k->ops + 2 * a), k->ops + 2 * a};
        rr[a].rec_row = x->s * tp->T;
        rr[a].h0 = ssm && x->t0 > 0 ? k->st[x->s * tp->T + x->t0] : NULL;
        rr[a].hooks = k->hl[a].n ? &k->hl[a] : NULL;
    }
}

/* the stream after the layer: resid restores and freezes */
static void trace_after(void *ctx, int l, int n, const RowRun *rr, float *X, int R)
{
    int C = ((TraceSteps *)ctx)->tp->m->cfg.d_model;
    (void)l;
    rows_hook(rr, n, R, HOOK_RESID, X, C, C);
}

/* Acts [0, na) of one chunk (rows assigned, sorted by first layer): their
 * last positions' logits into out (na, V). */
static void run_chunk(TracePrompt *tp, const TraceRun *runs, Act *act, int na, int rows, float **st, int *at_layer,
                      float *out)
{
    int T = tp->T, C = tp->m->cfg.d_model;
    float *X = kop_xmalloc(sizeof(float) * (size_t)rows * C);
    RowJob *jobs = kop_xmalloc(sizeof *jobs * (size_t)na);
    int *last = kop_xmalloc(sizeof(int) * (size_t)na);
    for (int a = 0; a < na; a++) {
        jobs[a] = (RowJob){act[a].first, act[a].t0, act[a].row0};
        last[a] = act[a].row0 + T - 1 - act[a].t0;
    }
    TraceSteps ts = {tp, runs, act, st, at_layer, kop_xmalloc(sizeof(HookOp) * (size_t)na * 2),
                     kop_xmalloc(sizeof(HookList) * (size_t)na)};
    RowSteps steps = {.m = tp->m, .T = T, .rec = tp->rec, .scratch = &tp->scratch, .ctx = &ts, .join = trace_join,
                      .prepare = trace_prepare, .after = trace_after};
    rowexec_layers(&steps, jobs, na, X, rows);
    rowexec_logits(tp->m, X, last, na, out);
    free(X); free(jobs); free(last); free(ts.ops); free(ts.hl);
}

/* One result: run k, sample s; the probabilities are summed in sample
 * order and divided once, as trace_p_corrupt does, so a run that restores
 * nothing gives p_corrupt exactly. */
static void deliver(const TracePrompt *tp, const TraceOut *out, int k, int s, const float *lg)
{
    int V = tp->m->cfg.vocab_size;
    if (out->p_restored) out->p_restored[k] += prob_of(lg, V, out->target); /* divided by N at the end */
    if (out->logits) memcpy(out->logits + ((size_t)k * tp->N + s) * V, lg, sizeof(float) * V);
    if (out->each) out->each(out->ctx, k, s, lg);
}

int trace_restore(TracePrompt *tp, const TraceRun *runs, int n, const TraceOut *out, KopError *err)
{
    const Config *c = &tp->m->cfg;
    int T = tp->T, N = tp->N, V = c->vocab_size;
    unsigned rh, fh;
    if (runs_hooks(tp, runs, n, out->target, &rh, &fh, err) < 0) return -1;
    if (out->p_restored) memset(out->p_restored, 0, sizeof(double) * (size_t)n);
    Act *act = kop_xmalloc(sizeof *act * (size_t)(n * N + 1));
    int na = plan_acts(tp, runs, n, act);
    /* runs that restore nothing are their corrupted runs */
    unsigned char *touched = kop_xcalloc((size_t)n + 1, 1);
    for (int a = 0; a < na; a++) touched[act[a].run] = 1;
    for (int k = 0; k < n; k++)
        for (int s = 0; s < N && !touched[k]; s++) deliver(tp, out, k, s, tp->cor_logits + (size_t)s * V);
    float **st = kop_xcalloc((size_t)N * T, sizeof *st);
    int *at_layer = kop_xmalloc(sizeof(int) * (size_t)N * T);
    for (int i = 0; i < N * T; i++) at_layer[i] = -1;
    for (int a0 = 0; a0 < na;) {
        /* a chunk: acts in order while their rows fit the budget (at least one) */
        int a1 = a0, rows = 0;
        while (a1 < na && (a1 == a0 || rows + (T - act[a1].t0) <= tp->budget)) {
            act[a1].row0 = rows;
            rows += T - act[a1].t0;
            a1++;
        }
        float *lg = kop_xmalloc(sizeof(float) * (size_t)(a1 - a0) * V);
        run_chunk(tp, runs, act + a0, a1 - a0, rows, st, at_layer, lg);
        for (int a = a0; a < a1; a++) deliver(tp, out, act[a].run, act[a].s, lg + (size_t)(a - a0) * V);
        free(lg);
        a0 = a1;
    }
    for (int i = 0; i < N * T; i++) free(st[i]);
    free(st); free(at_layer); free(act); free(touched);
    for (int k = 0; out->p_restored && k < n; k++) out->p_restored[k] /= N;
    return 0;
}

int trace_restore_naive(TracePrompt *tp, const TraceRun *runs, int n, const TraceOut *out, KopError *err)
{
    const Model *m = tp->m;
    int T = tp->T, N = tp->N, L = m->cfg.n_layer, C = m->cfg.d_model, V = m->cfg.vocab_size;
    unsigned rh, fh;
    if (runs_hooks(tp, runs, n, out->target, &rh, &fh, err) < 0) return -1;
    if (out->p_restored) memset(out->p_restored, 0, sizeof(double) * (size_t)n);
    HookOp *ops = kop_xmalloc(sizeof *ops * (size_t)L * 2);
    HookList *hl = kop_xmalloc(sizeof *hl * (size_t)L);
    float *lg = kop_xmalloc(sizeof(float) * (size_t)V);
    int status = 0;
    for (int k = 0; k < n && status == 0; k++)
        for (int s = 0; s < N && status == 0; s++) {
            for (int l = 0; l < L; l++) hl[l] = (HookList){layer_ops(tp, &runs[k], s, l, ops + 2 * l), ops + 2 * l};
            ForwardReq req = {.ids = tp->cids + (size_t)s * T, .T = T, .hooks = hl, .logits = lg,
                              .embed_add = tp->noise ? tp->noise + (size_t)s * T * C : NULL, .scratch = &tp->scratch};
            status = model_forward(m, &req, err);
            if (status == 0) deliver(tp, out, k, s, lg);
        }
    free(ops); free(hl); free(lg);
    for (int k = 0; out->p_restored && k < n; k++) out->p_restored[k] /= N;
    return status;
}

double trace_flops(const TracePrompt *tp, const TraceRun *runs, int n)
{
    const Config *c = &tp->m->cfg;
    int L = c->n_layer, T = tp->T;
    double per_row_layer = model_forward_flops(c, 1, 0) / L, f = 0;
    Act *act = kop_xmalloc(sizeof *act * (size_t)(n * tp->N + 1));
    int na = plan_acts(tp, runs, n, act);
    for (int a = 0; a < na; a++)
        f += per_row_layer * (double)(T - act[a].t0) * (L - act[a].first) + 2.0 * c->d_model * c->vocab_size;
    free(act);
    return f;
}
