/* exec_trace.c: the executor's causal tracing (TRACING.md; exec.h).
 *
 * Per prompt: its clean run and Corruption.samples corrupted runs
 * (trace.h), the target as for a knockout, then every RestoreItem at every
 * t of the prompt as one batch of restored runs.  p_base is p_corrupt, the
 * corrupted runs' mean; p_after is p_restored.  With `aggregate t by role`
 * each item's values over t are averaged per prompt by token role, and the
 * role takes the place of t (t = the Role, trace_roles.h).
 *
 * Before the loop every prompt is tokenized once (exec_trace_pre): `noise F
 * std` is measured over every prompt read (before keep and limit, as
 * TRACING.md says), and swap partners are chosen among all of them. */
#include "exec_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "trace.h"
#include "trace_roles.h"
#include "trace_swap.h"

struct TracePre {
    int n;
    int **ids, *T, *sf, *sl; /* (n) each prompt's tokens and subject span; ids NULL: not tokenized */
    char **why;              /* (n) the reason when not tokenized */
    SwapPrompt *swap;        /* (n) for swap partners */
    double sigma;            /* the noise level, `F std` worked out */
};

TracePre *exec_trace_pre(const RunCtx *cx, KopError *err)
{
    const Recipe *r = cx->r;
    const PromptList *ps = cx->ps;
    TracePre *t = kop_xcalloc(1, sizeof *t);
    t->n = ps->n;
    size_t n = (size_t)(ps->n ? ps->n : 1);
    t->ids = kop_xcalloc(n, sizeof *t->ids);
    t->T = kop_xcalloc(n, sizeof *t->T);
    t->sf = kop_xcalloc(n, sizeof *t->sf);
    t->sl = kop_xcalloc(n, sizeof *t->sl);
    t->why = kop_xcalloc(n, sizeof *t->why);
    t->swap = kop_xcalloc(n, sizeof *t->swap);
    NoiseStd acc = {0};
    for (int i = 0; i < ps->n; i++) {
        PromptResult j;
        int T = execp_prepare(cx, i, &j, &t->ids[i], &t->sf[i], &t->sl[i]);
        if (T < 0) {
            t->ids[i] = NULL;
            t->why[i] = kop_xstrdup(j.reason);
            continue;
        }
        t->T[i] = T;
        t->swap[i] = trace_swap_prompt(ps->v[i], t->ids[i], T, t->sf[i], t->sl[i]);
        if (r->corrupt.kind == CORRUPT_NOISE && r->corrupt.sigma_is_std) {
            unsigned char *pos = kop_xcalloc((size_t)T, 1);
            if (plan_eval_group(r->corrupt.group, T, t->sf[i], t->sl[i], -1, pos) >= 0)
                noise_std_add(&acc, cx->m, t->ids[i], T, pos);
            free(pos);
        }
    }
    t->sigma = r->corrupt.sigma;
    if (r->corrupt.kind == CORRUPT_NOISE && r->corrupt.sigma_is_std) {
        double sd = noise_std_value(&acc);
        if (!(sd > 0)) {
            exec_trace_pre_free(t);
            kop_fail(err, KOP_EXIT_DATA,
                     "%s: 'noise %g std' needs the embedding entries of the corrupted tokens of at least two prompts' "
                     "positions, and they have none (or no spread)", r->path, r->corrupt.sigma);
            return NULL;
        }
        t->sigma = r->corrupt.sigma * sd;
    }
    return t;
}

void exec_trace_pre_free(TracePre *t)
{
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        free(t->ids[i]);
        free(t->why[i]);
    }
    free(t->ids); free(t->T); free(t->sf); free(t->sl); free(t->why); free(t->swap);
    free(t);
}

/* The hooks a recipe's restores (or freezes) name, as a bitmask. */
static unsigned site_hooks(const Recipe *r, int freeze)
{
    unsigned m = 0;
    for (int i = 0; i < r->n_restores; i++)
        if (!freeze || r->restores[i].has_freeze)
            m |= HOOK_BIT(freeze ? r->restores[i].freeze.hook : r->restores[i].restore.hook);
    return m;
}

/* The value of the metric from the probabilities (NAN: needs the whole distribution). */
static double prob_metric(Metric metric, double p_clean, double p_base, double p_after)
{
    switch (metric) {
    case METRIC_PROB: return p_after;
    case METRIC_PROB_DIFF: return p_after - p_base;
    case METRIC_RECOVERED: return (p_after - p_base) / (p_clean - p_base);
    case METRIC_PROB_CHANGE: return (p_after - p_clean) / p_clean;
    default: return NAN;
    }
}

/* What the metrics that need whole distributions (hit, logit_diff, kl)
 * add up per run, as means over the samples. */
typedef struct Dist {
    const Recipe *r;
    const float *clean;
    const double *pclean;
    double lz, p_clean;
    int V, target, samples;
    double *sum; /* (runs, n_metrics) */
} Dist;

static void each_sample(void *ctx, int run, int sample, const float *logits)
{
    Dist *d = ctx;
    int nm = d->r->n_metrics;
    (void)sample;
    double lzk = kern_logsumexp(logits, d->V), pk = exp((double)logits[d->target] - lzk);
    for (int q = 0; q < nm; q++)
        if (isnan(prob_metric(d->r->metrics[q], 1, 0, 0.5)))
            d->sum[(size_t)run * nm + q] += execp_metric(d->r->metrics[q], d->clean, logits, d->V, d->target,
                                                         d->p_clean, pk, d->lz, lzk, d->pclean) / d->samples;
}

/* Measures of one item and metric over t (n of them at t = first + q *
 * stride; value[q * vstride]) into j, by role: per role present, the mean
 * over its positions. */
static void add_by_role(PromptResult *j, int item, int metric, const double *p_after, const double *value, int vstride,
                        int first, int stride, int n, int T, int sf, int sl)
{
    unsigned char *roles = kop_xcalloc((size_t)T, 1), *present = kop_xcalloc((size_t)T, 1);
    double *pa = kop_xcalloc((size_t)T, sizeof *pa), *va = kop_xcalloc((size_t)T, sizeof *va);
    for (int q = 0; q < n; q++) {
        int t = first + q * stride;
        present[t] = 1;
        pa[t] = p_after[q];
        va[t] = value[(size_t)q * vstride];
    }
    double mp[ROLE_N], mv[ROLE_N];
    int cp[ROLE_N], cv[ROLE_N];
    if (trace_roles(roles, T, sf, sl) == 0) {
        trace_role_means(mp, cp, roles, pa, present, T);
        trace_role_means(mv, cv, roles, va, present, T);
        for (int role = 0; role < ROLE_N; role++)
            if (cv[role])
                j->m[j->n_m++] = (Measure){.item = item, .t = role, .metric = metric, .p_after = mp[role], .value = mv[role]};
    }
    free(roles); free(present); free(pa); free(va);
}

/* The corrupted runs' input for prompt pi: noise at the corrupted group's
 * positions (cpos, T) or the partner's subject (*swapped, new).  0, or -1
 * when the prompt is skipped. */
static int corruption(const RunCtx *cx, int pi, PromptResult *j, unsigned char *cpos, int **swapped,
                      TraceCorruption *cor)
{
    const Recipe *r = cx->r;
    const TracePre *pre = cx->trace;
    *cor = (TraceCorruption){.samples = r->corrupt.samples, .seed = r->corrupt.seed, .prompt = (uint64_t)pi};
    if (r->corrupt.kind == CORRUPT_NOISE) {
        if (plan_eval_group(r->corrupt.group, pre->T[pi], pre->sf[pi], pre->sl[pi], -1, cpos) < 0)
            return execp_skip(j, "%s", "the corrupted token group cannot be resolved for this prompt"), -1;
        cor->pos = cpos;
        cor->sigma = pre->sigma;
        return 0;
    }
    char why[512];
    KopError err = {0};
    int q = trace_swap_partner(pre->swap, pre->n, pi, cx->tok ? trace_tokenizer_encode : NULL, cx->tok, swapped, why,
                               sizeof why, &err);
    if (q < 0) return execp_skip(j, "%s", q == -1 ? why : err.msg), -1;
    cor->ids = *swapped;
    return 0;
}

/* Every RestoreItem at every t of prompt pi (nt values from first by
 * stride) as TraceRuns over masks; item_of[k]: run k's item.  The number
 * of runs, or -1 when a token group cannot be resolved (j says why). */
static int build_runs(const RunCtx *cx, int pi, PromptResult *j, int first, int stride, int nt, TraceRun **runs,
                      unsigned char **masks, int **item_of)
{
    const Recipe *r = cx->r;
    const TracePre *pre = cx->trace;
    int T = pre->T[pi], sf = pre->sf[pi], sl = pre->sl[pi], L = cx->m->cfg.n_layer, n = 0;
    for (int i = 0; i < r->n_restore_items; i++) n += r->restore_items[i].restore->uses_t ? nt : 1;
    size_t per = 2 * ((size_t)T + (size_t)L);
    *runs = kop_xcalloc((size_t)(n ? n : 1), sizeof **runs);
    *masks = kop_xcalloc((size_t)(n ? n : 1), per);
    *item_of = kop_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int k = 0;
    for (int i = 0; i < r->n_restore_items; i++) {
        const RestoreItem *it = &r->restore_items[i];
        const Restore *rs = it->restore;
        for (int q = 0; q < (rs->uses_t ? nt : 1); q++, k++) {
            int t = rs->uses_t ? first + q * stride : -1;
            unsigned char *rp = *masks + per * k, *rl = rp + T, *fp = rl + L, *fl = fp + T;
            if (plan_eval_group(rs->restore.at, T, sf, sl, t, rp) < 0 ||
                (rs->has_freeze && plan_eval_group(rs->freeze.at, T, sf, sl, t, fp) < 0)) {
                snprintf(j->reason, sizeof j->reason, "restore %d: its token groups cannot be resolved for this prompt",
                         rs->index);
                return -1;
            }
            for (int l = it->layer_lo; l <= it->layer_hi; l++) rl[l] = 1;
            for (int l = it->freeze_lo; l <= it->freeze_hi; l++) fl[l] = 1;
            (*runs)[k].restore = (TraceSite){rs->restore.hook, rp, rl};
            if (rs->has_freeze && it->freeze_lo <= it->freeze_hi) (*runs)[k].freeze = (TraceSite){rs->freeze.hook, fp, fl};
            (*item_of)[k] = i;
        }
    }
    return n;
}

/* The runs' values (value (n, n_metrics)) into j's Measures, by role
 * where the recipe asks. */
static void collect(const RunCtx *cx, int pi, PromptResult *j, const double *p_after, const double *value,
                    const int *item_of, int n, int first, int stride, int nt)
{
    const Recipe *r = cx->r;
    const TracePre *pre = cx->trace;
    int nm = r->n_metrics;
    /* a position may have two roles (a one-token subject is first and last) */
    j->m = kop_xmalloc(sizeof *j->m * (size_t)(n + ROLE_N * r->n_restore_items + 1) * (size_t)nm);
    for (int q = 0; q < n;) {
        const RestoreItem *it = &r->restore_items[item_of[q]];
        int reps = it->restore->uses_t ? nt : 1;
        for (int mi = 0; mi < nm; mi++) {
            if (r->aggregate_roles && it->restore->uses_t) {
                add_by_role(j, item_of[q], mi, p_after + q, value + (size_t)q * nm + mi, nm, first, stride, reps,
                            pre->T[pi], pre->sf[pi], pre->sl[pi]);
                continue;
            }
            for (int s = 0; s < reps; s++)
                j->m[j->n_m++] = (Measure){.item = item_of[q], .t = it->restore->uses_t ? first + s * stride : -1,
                                           .metric = mi, .p_after = p_after[q + s],
                                           .value = value[(size_t)(q + s) * nm + mi]};
        }
        q += reps;
    }
}

static void trace_prompt(const RunCtx *cx, int pi, PromptResult *j, int mine)
{
    const Recipe *r = cx->r;
    const TracePre *pre = cx->trace;
    int V = cx->m->cfg.vocab_size;
    memset(j, 0, sizeof *j);
    j->index = pi;
    j->mine = mine;
    if (!pre->ids[pi]) {
        execp_skip(j, "%s", pre->why[pi]);
        return;
    }
    int T = j->T = pre->T[pi];
    KopError err = {0};
    unsigned char *cpos = kop_xcalloc((size_t)T, 1), *masks = NULL;
    int *swapped = NULL, *item_of = NULL;
    TracePrompt *tp = NULL;
    TraceRun *runs = NULL;
    double *p_after = NULL, *value = NULL, *pclean = NULL;
    TraceCorruption cor;
    if (corruption(cx, pi, j, cpos, &swapped, &cor) < 0) goto done;
    tp = trace_prompt_new(cx->m, pre->ids[pi], T, &cor, site_hooks(r, 0), site_hooks(r, 1), &err);
    if (!tp) {
        execp_skip(j, "%s", err.msg);
        goto done;
    }
    const float *clean = trace_clean_logits(tp);
    if (execp_target(cx, pi, clean, j) < 0) goto done;
    j->p_base = trace_p_corrupt(tp, j->target);
    int nm = r->n_metrics, whole = 0;
    for (int q = 0; q < nm; q++) {
        whole |= isnan(prob_metric(r->metrics[q], 1, 0, 0.5)); /* hit, logit_diff, kl: from the distributions */
        if (r->metrics[q] == METRIC_RECOVERED && !(fabs(j->p_clean - j->p_base) > 0)) {
            execp_skip(j, "%s", "the corruption leaves the target's probability as it is, so recovered is undefined");
            goto done;
        }
    }
    if (!mine) { /* it would be measured: that is all another shard's prompt needs */
        j->used = 1;
        goto done;
    }
    int first = 0, last = -1, stride = 1, nt = plan_t_range(r, T, &first, &last, &stride);
    int n = build_runs(cx, pi, j, first, stride, nt, &runs, &masks, &item_of);
    if (n < 0) goto done;
    p_after = kop_xcalloc((size_t)(n ? n : 1), sizeof *p_after);
    value = kop_xcalloc((size_t)(n ? n : 1) * (size_t)nm, sizeof *value);
    TraceOut out = {.target = j->target, .p_restored = p_after};
    Dist dist;
    if (whole) {
        double lz = kern_logsumexp(clean, V);
        pclean = kop_xmalloc(sizeof(double) * (size_t)V);
        for (int v = 0; v < V; v++) pclean[v] = exp(clean[v] - lz);
        dist = (Dist){r, clean, pclean, lz, j->p_clean, V, j->target, trace_samples(tp), value};
        out.each = each_sample;
        out.ctx = &dist;
    }
    j->flops = cx->want_flops ? trace_flops(tp, runs, n) : 0;
    if ((cx->naive ? trace_restore_naive(tp, runs, n, &out, &err) : trace_restore(tp, runs, n, &out, &err)) < 0) {
        execp_skip(j, "%s", err.msg);
        goto done;
    }
    for (int q = 0; q < n; q++)
        for (int mi = 0; mi < nm; mi++)
            if (!isnan(prob_metric(r->metrics[mi], 1, 0, 0.5)))
                value[(size_t)q * nm + mi] = prob_metric(r->metrics[mi], j->p_clean, j->p_base, p_after[q]);
    collect(cx, pi, j, p_after, value, item_of, n, first, stride, nt);
    j->used = 1;
done:
    trace_prompt_free(tp);
    free(cpos); free(swapped); free(runs); free(masks); free(item_of); free(p_after); free(value); free(pclean);
}

void exec_trace_group(const RunCtx *cx, int first, int cnt, PromptResult *jobs, int mine)
{
    for (int q = 0; q < cnt; q++) trace_prompt(cx, first + q, &jobs[q], mine);
}

char **exec_trace_labels(const RunCtx *cx, int pi, int *n)
{
    if (cx->r->aggregate_roles) {
        char **v = kop_xcalloc(ROLE_N, sizeof *v);
        for (int role = 0; role < ROLE_N; role++) v[role] = kop_xstrdup(trace_role_names[role]);
        *n = ROLE_N;
        return v;
    }
    char **v = execp_token_texts(cx, pi, n);
    const TracePre *pre = cx->trace;
    for (int t = pre->sf[pi]; v && t <= pre->sl[pi] && t < *n; t++) { /* the subject's tokens, marked as ROME marks them */
        char *marked = kop_strf("%s*", v[t]);
        free(v[t]);
        v[t] = marked;
    }
    return v;
}
