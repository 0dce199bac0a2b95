/* exec.c: the executor (see exec.h): prompts in, Results out; no files. */
#include "config.h"
#include "exec.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "exec_impl.h"
#include "knock.h"
#include "progress.h"
#include "threads.h"

/* Prompts share one clean forward in groups of GROUP; a parallel chunk
 * holds GROUPS_PER_THREAD groups per thread (see the prompt loop). */
enum { GROUP = EXEC_GROUP, GROUPS_PER_THREAD = 2 };

// ---------------------------------------------------------------------------
// one prompt


static int thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int execp_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

/* The metric of one knocked run.  lz, lzk: logsumexp of the clean and the
 * knocked logits; pclean (V): the clean probabilities, for kl only. */
double execp_metric(Metric metric, const float *clean, const float *knocked, int V, int target,
                           double p, double pk, double lz, double lzk, const double *pclean)
{
    switch (metric) {
    case METRIC_PROB_CHANGE: return (pk - p) / p;
    case METRIC_PROB: return pk;
    case METRIC_PROB_DIFF: return pk - p;
    case METRIC_HIT: return execp_argmax(knocked, V) == target;
    case METRIC_LOGIT_DIFF: return (double)knocked[target] - clean[target];
    case METRIC_KL: {
        double kl = 0;
        for (int v = 0; v < V; v++) {
            double lp = clean[v] - lz, lq = knocked[v] - lzk;
            kl += pclean[v] * (lp - lq);
        }
        return kl;
    }
    default: return NAN;
    }
}

/* What clean.csv says of the prompt: its top-1 token, and the probability
 * and rank of token `of` (the answer, else the measured target). */
static void clean_facts(PromptResult *j, const float *clean, int V, int top1, int of)
{
    j->clean = 1;
    j->top1 = top1;
    j->p_answer = NAN;
    j->rank_answer = 0;
    if (of < 0) return;
    double lz = kern_logsumexp(clean, V);
    int above = 0;
    for (int v = 0; v < V; v++) above += clean[v] > clean[of] || (clean[v] == clean[of] && v < of);
    j->p_answer = exp((double)clean[of] - lz);
    j->rank_answer = above + 1;
}

static int id_kept(const Recipe *r, long id)
{
    for (int i = 0; i < r->n_keep_ids; i++)
        if (r->keep_ids[i] == id) return 1;
    return 0;
}

void execp_skip(PromptResult *j, const char *fmt, const char *detail)
{
    j->used = 0;
    snprintf(j->reason, sizeof j->reason, fmt, detail);
}

/* Tokenize prompt pi for job j: the number of tokens, or -1 when the
 * prompt is skipped (j says why). */
int execp_prepare(const RunCtx *cx, int pi, PromptResult *j, int **ids, int *sf, int *sl)
{
    int V = cx->m->cfg.vocab_size;
    KopError err = {0};
    memset(j, 0, sizeof *j);
    j->index = pi;
    j->id = cx->ps->v[pi]->id >= 0 ? cx->ps->v[pi]->id : pi;
    j->answer = -1;
    *ids = NULL;
    int T = prompt_tokenize(cx->ps->v[pi], cx->tok, ids, sf, sl, &err);
    if (T < 0) { execp_skip(j, "%s", err.msg); return -1; }
    j->T = T;
    if (T > cx->max_tokens) {
        snprintf(j->reason, sizeof j->reason, "%d tokens, more than the %ld a prompt may have (--max-tokens)", T,
                 cx->max_tokens);
        free(*ids);
        *ids = NULL;
        return -1;
    }
    for (int t = 0; t < T; t++)
        if ((*ids)[t] >= V) {
            snprintf(j->reason, sizeof j->reason, "token id %d is outside the model's vocabulary of %d", (*ids)[t], V);
            free(*ids);
            *ids = NULL;
            return -1;
        }
    return T;
}

int execp_target(const RunCtx *cx, int pi, const float *clean, PromptResult *j)
{
    const Recipe *r = cx->r;
    int V = cx->m->cfg.vocab_size;
    KopError err = {0};
    long bad = -1;
    for (int v = 0; v < V && bad < 0; v++)
        if (!isfinite(clean[v])) bad = v;
    if (bad >= 0) {
        snprintf(j->reason, sizeof j->reason,
                 "the clean logits are not finite (%g for token %ld): the weights hold NaN or infinite values, "
                 "or the activations overflow", clean[bad], bad);
        return -1;
    }
    int top1 = execp_argmax(clean, V);
    int answer = prompt_target_token(cx->ps->v[pi], cx->tok, &err);
    if (answer == -2) return execp_skip(j, "%s", err.msg), -1;
    clean_facts(j, clean, V, top1, answer >= 0 && answer < V ? answer : r->target == TARGET_ATTRIBUTE ? -1 : top1);
    j->answer = answer >= 0 && answer < V ? answer : -1;
    if (r->n_keep_ids >= 0 && !id_kept(r, j->id)) {
        snprintf(j->reason, sizeof j->reason, "id %ld is not among the kept ids", j->id);
        return -1;
    }
    if (cx->keep && (pi >= cx->n_keep || !cx->keep[pi])) {
        snprintf(j->reason, sizeof j->reason, "not answered correctly by every model of the pipeline");
        return -1;
    }
    if (r->target == TARGET_ATTRIBUTE) {
        if (answer < 0) return execp_skip(j, "%s", "no target (attribute) to measure"), -1;
        j->target = answer;
    } else {
        j->target = top1;
    }
    if (r->keep_correct) {
        if (answer < 0) return execp_skip(j, "%s", "keep correct needs a target, the record has none"), -1;
        if (top1 != answer) {
            snprintf(j->reason, sizeof j->reason, "not correct: top-1 token %d, target token %d", top1, answer);
            return -1;
        }
    }
    if (j->target >= V) return execp_skip(j, "%s", "target token outside the vocabulary"), -1;
    j->p_clean = exp((double)clean[j->target] - kern_logsumexp(clean, V));
    j->p_base = j->p_clean;
    for (int q = 0; q < r->n_metrics; q++)
        if (r->metrics[q] == METRIC_PROB_CHANGE && !(j->p_clean > 0))
            return execp_skip(j, "%s", "the target's clean probability is 0 in fp32, so prob_change is undefined"), -1;
    return 0;
}

/* Everything after the clean forward: the target, `keep correct`, every
 * knocked run and its metric; for another shard's prompt (j->mine == 0)
 * only whether it would be measured.  Frees pr. */
static void prompt_finish(const RunCtx *cx, int pi, PromptResult *j, PromptRun *pr, int T, int sf, int sl)
{
    const Recipe *r = cx->r;
    const Model *m = cx->m;
    int V = m->cfg.vocab_size;
    const float *clean = prompt_run_clean_logits(pr);
    KopError err = {0};
    if (execp_target(cx, pi, clean, j) < 0) goto done;
    double lz = kern_logsumexp(clean, V);
    int nm = r->n_metrics, wants_kl = 0;
    for (int q = 0; q < nm; q++) wants_kl |= r->metrics[q] == METRIC_KL;

    /* the runs: every item, and for t-swept items every t of this prompt */
    int first = 0, last = -1, stride = 1;
    int nt = plan_t_range(r, T, &first, &last, &stride);
    int nruns = 0;
    for (int i = 0; i < r->n_items; i++) nruns += r->items[i].block->uses_t ? nt : 1;
    KnockRun *runs = kop_xmalloc(sizeof *runs * (size_t)(nruns ? nruns : 1));
    unsigned char *masks = kop_xcalloc((size_t)(nruns ? nruns : 1) * 2, (size_t)T);
    j->m = kop_xmalloc(sizeof *j->m * (size_t)(nruns ? nruns : 1) * (size_t)nm);
    int n = 0;
    for (int i = 0; i < r->n_items; i++) {
        const PlanItem *it = &r->items[i];
        int reps = it->block->uses_t ? nt : 1;
        for (int q = 0; q < reps; q++) {
            int t = it->block->uses_t ? first + q * stride : -1;
            unsigned char *src = masks + (size_t)n * 2 * T, *dst = src + T;
            if (plan_eval_group(it->block->src, T, sf, sl, t, src) < 0 ||
                plan_eval_group(it->block->dst, T, sf, sl, t, dst) < 0) {
                snprintf(j->reason, sizeof j->reason, "statement %d: its token groups cannot be resolved for this prompt",
                         it->block->index);
                free(runs); free(masks);
                goto done;
            }
            runs[n] = (KnockRun){it->layer_lo, it->layer_hi, src, dst, cx->feat[it->block->index - 1]};
            for (int q = 0; q < nm; q++) j->m[n * nm + q] = (Measure){.item = i, .t = t, .metric = q};
            n++;
        }
    }
    if (!j->mine) { /* it would be measured: that is all another shard's prompt needs */
        j->used = 1;
        free(runs); free(masks); free(j->m);
        j->m = NULL;
        goto done;
    }
    float *out = kop_xmalloc(sizeof(float) * (size_t)V * (n ? n : 1));
    const float **row = kop_xmalloc(sizeof *row * (size_t)(n ? n : 1)); /* run k's logits */
    double *pclean = NULL; /* the clean distribution, once per prompt, for kl */
    if (wants_kl) {
        pclean = kop_xmalloc(sizeof(double) * (size_t)V);
        for (int v = 0; v < V; v++) pclean[v] = exp(clean[v] - lz);
    }
    j->flops = cx->want_flops ? knock_flops(&m->cfg, T, runs, n) : 0;
    for (int k = 0; k < n; k++) row[k] = out + (size_t)k * V;
    if (n && (cx->naive ? prompt_run_knock_naive(pr, runs, n, out, &err) : prompt_run_knock_rows(pr, runs, n, out, row, &err)) < 0) {
        execp_skip(j, "%s", err.msg);
    } else {
        for (int k = 0; k < n; k++) {
            const float *kl = row[k];
            double lzk = kern_logsumexp(kl, V), pk = exp((double)kl[j->target] - lzk);
            for (int q = 0; q < nm; q++) {
                Measure *me = &j->m[k * nm + q];
                me->p_after = pk;
                me->value = execp_metric(r->metrics[q], clean, kl, V, j->target, j->p_clean, pk, lz, lzk, pclean);
            }
        }
        j->n_m = n * nm;
        j->used = 1;
        if (r->uses_t && cx->tok) j->labels = execp_token_texts(cx, pi, &j->n_labels);
    }
    free(out); free(row); free(pclean); free(runs); free(masks);
done:
    prompt_run_free(pr);
}

/* Prompts [first, first + cnt), cnt <= GROUP: tokenized, one batched clean
 * forward for those that tokenize, then each measured.  The groups are
 * fixed by the prompts' places in the list, never by the thread count, so
 * results stay bit-identical for any number of threads. */
static void run_group(const RunCtx *cx, int first, int cnt, PromptResult *jobs, Scratch *scratch, int mine)
{
    int *ids[GROUP], sf[GROUP], sl[GROUP], T[GROUP], which[GROUP], nv = 0;
    const int *vids[GROUP];
    PromptRun *pr[GROUP];
    for (int q = 0; q < cnt; q++) {
        int n = execp_prepare(cx, first + q, &jobs[q], &ids[q], &sf[q], &sl[q]);
        jobs[q].mine = mine;
        if (n < 0) continue;
        which[nv] = q;
        vids[nv] = ids[q];
        T[nv++] = n;
    }
    KopError err = {0};
    if (nv && prompt_runs_new(cx->m, nv, vids, T, NULL, pr, scratch, &err) < 0) {
        /* one at a time, so that each prompt gets its own reason */
        for (int k = 0; k < nv; k++) {
            err = (KopError){0};
            pr[k] = NULL;
            if (prompt_runs_new(cx->m, 1, &vids[k], &T[k], NULL, &pr[k], scratch, &err) < 0)
                execp_skip(&jobs[which[k]], "%s", err.msg);
        }
    }
    for (int k = 0; k < nv; k++) {
        int q = which[k];
        if (pr[k]) prompt_finish(cx, first + q, &jobs[q], pr[k], T[k], sf[q], sl[q]);
    }
    for (int q = 0; q < cnt; q++) free(ids[q]);
}

/* The decoded texts of prompt pi's tokens (*T of them), for the labels of
 * token maps; NULL if it no longer tokenizes. */
char **execp_token_texts(const RunCtx *cx, int pi, int *T)
{
    KopError err = {0};
    int *ids = NULL, sf, sl;
    *T = prompt_tokenize(cx->ps->v[pi], cx->tok, &ids, &sf, &sl, &err);
    if (*T < 0) {
        *T = 0;
        return NULL;
    }
    char **texts = kop_xcalloc((size_t)*T, sizeof *texts);
    for (int t = 0; t < *T; t++) texts[t] = tokenizer_decode(cx->tok, ids + t, 1, NULL, &err);
    free(ids);
    return texts;
}

static void job_free(PromptResult *j)
{
    free(j->m);
    for (int t = 0; t < j->n_labels; t++) free(j->labels[t]);
    free(j->labels);
    memset(j, 0, sizeof *j);
}

// ---------------------------------------------------------------------------
// the run

int exec_recipe(const ExecInput *in, const ExecOptions *o, Results *res, KopError *err)
{
    const Recipe *r = in->recipe;
    const Model *m = in->model;
    const PromptList *ps = in->prompts;
    int L = m->cfg.n_layer, nf = model_n_features(&m->cfg);
    RunCtx cx = {.r = r, .m = m, .tok = in->tok, .ps = ps, .naive = o->naive, .want_flops = o->want_flops,
                 .max_tokens = o->max_tokens > 0 ? o->max_tokens : (long)1 << 30,
                 .keep = o->keep, .n_keep = o->n_keep};
    cx.feat = kop_xcalloc((size_t)(r->n_blocks ? r->n_blocks : 1), sizeof *cx.feat);
    for (int b = 0; b < r->n_blocks; b++) {
        const FeatureSel *fs = &r->blocks[b].feat;
        if (fs->kind == FEAT_ALL || nf == 0) continue;
        cx.feat[b] = kop_xmalloc((size_t)L * nf);
        features_select(m, fs->kind, fs->frac, fs->num, fs->den, cx.feat[b]);
    }
    int threads = o->threads > 0 ? o->threads : 1;
    int trace = plan_is_trace(r);
    if (trace && !(cx.trace = exec_trace_pre(&cx, err))) {
        free(cx.feat);
        return -1;
    }

    /* prompts in chunks of whole groups: in parallel within a chunk,
     * accepted in order, so `limit` and the row order do not depend on the
     * thread count.  Prompts differ in cost (length, t sweeps), so a chunk
     * holds several groups per thread for the dynamic schedule to even out;
     * never more groups than `limit` still needs. */
    int parallel = threads > 1 && ps->n > GROUP;
    int max_chunk = GROUP * (parallel ? GROUPS_PER_THREAD * threads : 1);
    PromptResult *jobs = kop_xcalloc((size_t)max_chunk, sizeof *jobs);
    long limit = r->limit < 0 ? ps->n : r->limit;
    if (o->limit > 0 && o->limit < limit) limit = o->limit;
    if (r->n_keep_ids >= 0) { /* each id keeps one prompt: once all are found, no other can be */
        long distinct = 0;
        for (int i = 0; i < r->n_keep_ids; i++) {
            int seen = 0;
            for (int q = 0; q < i && !seen; q++) seen = r->keep_ids[q] == r->keep_ids[i];
            distinct += !seen;
        }
        if (distinct < limit) limit = distinct;
    }
    int done = 0;
    Progress prog;
    progress_start(&prog, "prompts", ps->n, o->quiet);
    double t_loop = kop_now();
    /* each thread's working memory, kept from prompt to prompt */
    Scratch *scratch = kop_xcalloc((size_t)threads, sizeof *scratch);
    if (parallel) threads_prompts(1);
    int n_shards = o->n_shards > 1 ? o->n_shards : 1;
    for (int i = 0; i < res->n_prompts; i++) { /* resumed prompts: what the journal does not keep */
        PromptResult *q = &res->prompts[i];
        q->id = ps->v[q->index]->id >= 0 ? ps->v[q->index]->id : q->index;
        if (q->used && q->mine && r->uses_t && in->tok && !q->labels) q->labels = execp_token_texts(&cx, q->index, &q->n_labels);
    }
    if (r->uses_t && in->tok && !res->t_labels) /* resumed: the first measured prompt may be behind us */
        for (int i = 0; i < res->n_prompts; i++)
            if (res->prompts[i].used) {
                res->t_labels = trace ? exec_trace_labels(&cx, res->prompts[i].index, &res->n_t_labels)
                                      : execp_token_texts(&cx, res->prompts[i].index, &res->n_t_labels);
                break;
            }
    for (int base = o->start, cnt; base < ps->n && res->n_counted < limit; base += cnt) {
        int chunk = max_chunk;
        if (limit - res->n_counted < chunk) chunk = (int)((limit - res->n_counted + GROUP - 1) / GROUP * GROUP);
        cnt = ps->n - base < chunk ? ps->n - base : chunk;
        int groups = (cnt + GROUP - 1) / GROUP;
        #pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (parallel)
        for (int g = 0; g < groups; g++) {
            int from = base + g * GROUP, size = cnt - g * GROUP < GROUP ? cnt - g * GROUP : GROUP;
            int mine = (base / GROUP + g) % n_shards == o->shard;
            if (trace) exec_trace_group(&cx, from, size, &jobs[g * GROUP], mine);
            else run_group(&cx, from, size, &jobs[g * GROUP], &scratch[thread_index()], mine);
        }
        int first = res->n_prompts;
        for (int q = 0; q < cnt; q++) {
            PromptResult *j = &jobs[q];
            if (res->n_counted >= limit) {
                job_free(j);
                continue;
            }
            /* token-map rows are labelled with the first measured prompt's tokens, whichever shard measures it */
            if (j->used && r->uses_t && in->tok && !res->t_labels)
                res->t_labels = trace ? exec_trace_labels(&cx, base + q, &res->n_t_labels)
                                      : execp_token_texts(&cx, base + q, &res->n_t_labels);
            results_add(res, j);
            done = base + q + 1;
        }
        if (o->on_prompts) o->on_prompts(o->ctx, res, first, res->n_prompts);
        progress_update(&prog, done);
    }
    progress_end(&prog);
    if (parallel) threads_prompts(0);
    for (int i = 0; i < threads; i++) scratch_release(&scratch[i]);
    free(scratch);
    free(jobs);
    res->seconds = kop_now() - t_loop;
    results_finish(res);
    for (int b = 0; b < r->n_blocks; b++) free(cx.feat[b]);
    free(cx.feat);
    exec_trace_pre_free(cx.trace);
    return 0;
}
