/* exec.c: see exec.h. */
#include "config.h"
#include "exec.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "buildinfo.h"
#include "check.h"
#include "diag.h"
#include "featsel.h"
#include "knock.h"
#include "manifest.h"
#include "outdir.h"
#include "progress.h"
#include "prompt_cap.h"
#include "prompts.h"
#include "render.h"
#include "stats.h"
#include "summary_csv.h"
#include "tokenizer.h"

/* Prompts share one clean forward in groups of GROUP; a parallel chunk
 * holds GROUPS_PER_THREAD groups per thread (see the prompt loop). */
enum { GROUP = 4, GROUPS_PER_THREAD = 2 };

// ---------------------------------------------------------------------------
// files

void csv_field(FILE *f, const char *s)
{
    if (!s) return;
    if (!kop_utf8_valid(s, strlen(s))) { /* folder names are bytes; CSV files are UTF-8 */
        char *esc = kop_utf8_escape(s, strlen(s));
        csv_field(f, esc);
        free(esc);
        return;
    }
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = kop_xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static char *base_name(const char *path)
{
    size_t n;
    const char *b = kop_path_base(path, &n);
    char *s = kop_xmalloc(n + 1);
    memcpy(s, b, n);
    s[n] = '\0';
    return s;
}

// ---------------------------------------------------------------------------
// one prompt

typedef struct Result {
    int item, t;           /* t = -1 when the item does not sweep t */
    double p_knocked, value;
} Result;

typedef struct Job {
    int used;              /* 0: skipped, reason says why */
    double flops;          /* of the knocked runs, as computed by the cached path */
    char reason[1100];
    int T, target;
    double p_clean;
    Result *res;
    int n_res;
} Job;

/* The prompts of every source of the recipe, in order. */
typedef struct PromptList {
    PromptSet **sets;
    int n_sets;
    const Prompt **v;
    int n;
} PromptList;

typedef struct RunCtx {
    const Recipe *r;
    const Model *m;
    const Tokenizer *tok;
    const PromptList *ps;
    unsigned char **feat;  /* per block: (n_layer, n_features) or NULL for all */
    int naive;
    int want_flops;        /* RunOptions.stats asked for them (they cost a second planning of the runs) */
    long max_tokens;       /* longer prompts are skipped */
} RunCtx;

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

/* The metric of one knocked run.  lz, lzk: logsumexp of the clean and the
 * knocked logits; pclean (V): the clean probabilities, for kl only. */
static double metric_value(Metric metric, const float *clean, const float *knocked, int V, int target,
                           double p, double pk, double lz, double lzk, const double *pclean)
{
    switch (metric) {
    case METRIC_PROB_CHANGE: return (pk - p) / p;
    case METRIC_PROB: return pk;
    case METRIC_HIT: return argmax(knocked, V) == target;
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

static void job_skip(Job *j, const char *fmt, const char *detail)
{
    j->used = 0;
    snprintf(j->reason, sizeof j->reason, fmt, detail);
}

/* Tokenize prompt pi for job j: the number of tokens, or -1 when the
 * prompt is skipped (j says why). */
static int prompt_prepare(const RunCtx *cx, int pi, Job *j, int **ids, int *sf, int *sl)
{
    int V = cx->m->cfg.vocab_size;
    KopError err = {0};
    memset(j, 0, sizeof *j);
    *ids = NULL;
    int T = prompt_tokenize(cx->ps->v[pi], cx->tok, ids, sf, sl, &err);
    if (T < 0) { job_skip(j, "%s", err.msg); return -1; }
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

/* Everything after the clean forward: the target, `keep correct`, every
 * knocked run and its metric.  Frees pr. */
static void prompt_finish(const RunCtx *cx, int pi, Job *j, PromptRun *pr, int T, int sf, int sl)
{
    const Recipe *r = cx->r;
    const Model *m = cx->m;
    int V = m->cfg.vocab_size;
    const Prompt *p = cx->ps->v[pi];
    const float *clean = prompt_run_clean_logits(pr);
    KopError err = {0};
    long bad = kop_first_nonfinite(clean, (size_t)V);
    if (bad >= 0) {
        snprintf(j->reason, sizeof j->reason,
                 "the clean logits are not finite (%g for token %ld): the weights hold NaN or infinite values, "
                 "or the activations overflow", clean[bad], bad);
        goto done;
    }
    int top1 = argmax(clean, V);
    int answer = prompt_target_token(p, cx->tok, &err);
    if (answer == -2) { job_skip(j, "%s", err.msg); goto done; }
    if (r->target == TARGET_ATTRIBUTE) {
        if (answer < 0) { job_skip(j, "%s", "no target (attribute) to measure"); goto done; }
        j->target = answer;
    } else {
        j->target = top1;
    }
    if (r->keep_correct) {
        if (answer < 0) { job_skip(j, "%s", "keep correct needs a target, the record has none"); goto done; }
        if (top1 != answer) {
            snprintf(j->reason, sizeof j->reason, "not correct: top-1 token %d, target token %d", top1, answer);
            goto done;
        }
    }
    if (j->target >= V) { job_skip(j, "%s", "target token outside the vocabulary"); goto done; }
    double lz = kern_logsumexp(clean, V);
    j->p_clean = exp((double)clean[j->target] - lz);
    if (r->metric == METRIC_PROB_CHANGE && !(j->p_clean > 0)) {
        job_skip(j, "%s", "the target's clean probability is 0 in fp32, so prob_change is undefined");
        goto done;
    }

    /* the runs: every item, and for t-swept items every t of this prompt */
    int first = 0, last = -1, stride = 1;
    int nt = plan_t_range(r, T, &first, &last, &stride);
    int nruns = 0;
    for (int i = 0; i < r->n_items; i++) nruns += r->items[i].block->uses_t ? nt : 1;
    KnockRun *runs = kop_xmalloc(sizeof *runs * (size_t)(nruns ? nruns : 1));
    unsigned char *masks = kop_xcalloc((size_t)(nruns ? nruns : 1) * 2, (size_t)T);
    j->res = kop_xmalloc(sizeof *j->res * (size_t)(nruns ? nruns : 1));
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
            j->res[n] = (Result){.item = i, .t = t};
            n++;
        }
    }
    float *out = kop_xmalloc(sizeof(float) * (size_t)V * (n ? n : 1));
    double *pclean = NULL; /* the clean distribution, once per prompt, for kl */
    if (r->metric == METRIC_KL) {
        pclean = kop_xmalloc(sizeof(double) * (size_t)V);
        for (int v = 0; v < V; v++) pclean[v] = exp(clean[v] - lz);
    }
    j->flops = cx->want_flops ? knock_flops(&m->cfg, T, runs, n) : 0;
    if ((cx->naive ? prompt_run_knock_naive(pr, runs, n, out, &err) : prompt_run_knock(pr, runs, n, out, &err)) < 0) {
        job_skip(j, "%s", err.msg);
    } else {
        for (int k = 0; k < n; k++) {
            const float *kl = out + (size_t)k * V;
            double lzk = kern_logsumexp(kl, V), pk = exp((double)kl[j->target] - lzk);
            j->res[k].p_knocked = pk;
            j->res[k].value = metric_value(r->metric, clean, kl, V, j->target, j->p_clean, pk, lz, lzk, pclean);
        }
        j->n_res = n;
        j->used = 1;
    }
    free(out); free(pclean); free(runs); free(masks);
done:
    prompt_run_free(pr);
}

/* Prompts [first, first + cnt), cnt <= GROUP: tokenized, one batched clean
 * forward for those that tokenize, then each measured.  The groups are
 * fixed by the prompts' places in the list, never by the thread count, so
 * results stay bit-identical for any number of threads. */
static void run_group(const RunCtx *cx, int first, int cnt, Job *jobs)
{
    int *ids[GROUP], sf[GROUP], sl[GROUP], T[GROUP], which[GROUP], nv = 0;
    const int *vids[GROUP];
    PromptRun *pr[GROUP];
    for (int q = 0; q < cnt; q++) {
        int n = prompt_prepare(cx, first + q, &jobs[q], &ids[q], &sf[q], &sl[q]);
        if (n < 0) continue;
        which[nv] = q;
        vids[nv] = ids[q];
        T[nv++] = n;
    }
    KopError err = {0};
    if (nv && prompt_runs_new(cx->m, nv, vids, T, NULL, pr, &err) < 0) {
        /* one at a time, so that each prompt gets its own reason */
        for (int k = 0; k < nv; k++) {
            err = (KopError){0};
            pr[k] = prompt_run_new(cx->m, vids[k], T[k], NULL, &err);
            if (!pr[k]) job_skip(&jobs[which[k]], "%s", err.msg);
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
static char **token_texts(const RunCtx *cx, int pi, int *T)
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

static void job_free(Job *j)
{
    free(j->res);
    memset(j, 0, sizeof *j);
}

// ---------------------------------------------------------------------------
// the run

typedef struct Acc { /* one summary row: item x t */
    int item, t;
    Stat s;
} Acc;

static Acc *acc_get(Acc **v, int *n, int *cap, int item, int t)
{
    for (int i = *n - 1; i >= 0; i--) /* items arrive in order: search from the end */
        if ((*v)[i].item == item && (*v)[i].t == t) return &(*v)[i];
    if (*n == *cap) *v = kop_xrealloc(*v, sizeof **v * (size_t)(*cap = *cap ? 2 * *cap : 64));
    Acc *a = &(*v)[(*n)++];
    *a = (Acc){.item = item, .t = t};
    return a;
}

static int acc_cmp(const void *a_, const void *b_)
{
    const Acc *a = a_, *b = b_;
    return a->item != b->item ? a->item - b->item : a->t - b->t;
}

static void write_rows(FILE *f, const RunCtx *cx, const char *exp_name, const char *model, int pi, const Job *j)
{
    for (int k = 0; k < j->n_res; k++) {
        const Result *res = &j->res[k];
        const PlanItem *it = &cx->r->items[res->item];
        csv_field(f, exp_name); fputc(',', f);
        csv_field(f, model); fputc(',', f);
        csv_field(f, it->block->label); fputc(',', f);
        if (it->k >= 0) fprintf(f, "%d", it->k);
        fputc(',', f);
        if (res->t >= 0) fprintf(f, "%d", res->t);
        fputc(',', f);
        if (it->layer_lo <= it->layer_hi) fprintf(f, "%d,%d", it->layer_lo, it->layer_hi);
        else fputc(',', f);
        fprintf(f, ",%d,%d,%.9g,%.9g,%.9g\n", pi, j->target, j->p_clean, res->p_knocked, res->value);
    }
}

static int write_summary(const char *path, const RunCtx *cx, const char *exp_name, const char *model,
                         Acc *acc, int nacc, KopError *err)
{
    char *tmp;
    FILE *f = kop_open_tmp(path, &tmp, err);
    if (!f) return -1;
    fputs("experiment,model,statement,k,t,n,mean,stderr,ci95,metric\n", f);
    for (int i = 0; i < nacc; i++) {
        const PlanItem *it = &cx->r->items[acc[i].item];
        csv_field(f, exp_name); fputc(',', f);
        csv_field(f, model); fputc(',', f);
        csv_field(f, it->block->label); fputc(',', f);
        if (it->k >= 0) fprintf(f, "%d", it->k);
        fputc(',', f);
        if (acc[i].t >= 0) fprintf(f, "%d", acc[i].t);
        double se = stat_stderr(&acc[i].s), ci = stat_ci95(&acc[i].s);
        fprintf(f, ",%ld,%.9g,", acc[i].s.n, stat_mean(&acc[i].s));
        if (se == se) fprintf(f, "%.9g", se);
        fputc(',', f);
        if (ci == ci) fprintf(f, "%.9g", ci);
        fprintf(f, ",%s\n", plan_metric_name(cx->r->metric));
    }
    return kop_commit_tmp(f, tmp, path, err);
}

static int copy_file(const char *from, const char *to, KopError *err)
{
    size_t len;
    char *text = kop_read_file(from, &len, err);
    if (!text) return -1;
    int rc = kop_write_file(to, text, len, err);
    free(text);
    return rc;
}

static int render_outputs(const RunCtx *cx, const char *out_dir, const char *summary_path,
                          char **t_labels, int n_t_labels, KopError *err)
{
    const Recipe *r = cx->r;
    Summary s = {0};
    SummaryPlot sp = {0};
    int have = 0, status = 0;
    for (int i = 0; i < r->n_outputs && status == 0; i++) {
        char *path = outdir_file(out_dir, r->outputs[i].path, err); /* subfolders made, no link followed */
        status = path ? 0 : -1;
        if (status == 0 && r->outputs[i].kind == OUTPUT_CSV) {
            status = copy_file(summary_path, path, err);
        } else if (status == 0) {
            if (!have) {
                status = summary_read(summary_path, &s, err);
                if (status == 0)
                    status = summary_plot(&s, plan_metric_name(r->metric), (const char *const *)t_labels, n_t_labels, &sp, err);
                have = status == 0;
            }
            if (status == 0)
                status = r->outputs[i].kind == OUTPUT_HEATMAP ? render_heatmap(path, &sp.d, err) : render_lines(path, &sp.d, err);
        }
        free(path);
    }
    if (have) summary_plot_free(&sp);
    summary_free(&s);
    return status;
}

static int set_threads(int n)
{
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
    omp_set_max_active_levels(1);
    return omp_get_max_threads();
#else
    (void)n;
    return 1;
#endif
}

static void prompt_list_free(PromptList *l)
{
    for (int i = 0; i < l->n_sets; i++) prompts_free(l->sets[i]);
    free(l->sets);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static PromptSet *prompt_list_add(PromptList *l, PromptSet *s)
{
    l->sets = kop_xrealloc(l->sets, sizeof *l->sets * (size_t)(l->n_sets + 1));
    return l->sets[l->n_sets++] = s;
}

/* Sources in the order written: each file is a set, and each run of inline
 * prompts between files is a set named after the recipe.  A pipeline's
 * prompts file (override) replaces them all. */
static int load_prompts(const Recipe *r, const char *override, PromptList *l, KopError *err)
{
    PromptSet *inl = NULL;
    if (override) {
        PromptSet *f = prompts_load(override, err);
        if (!f) return -1;
        prompt_list_add(l, f);
    }
    for (int i = 0; !override && i < r->n_prompts; i++) {
        const PromptSource *src = &r->prompts[i];
        if (src->kind == PROMPTS_TEXT || src->kind == PROMPTS_IDS) {
            if (!inl) inl = prompt_list_add(l, prompts_new(r->path));
            int rc = src->kind == PROMPTS_TEXT
                         ? prompts_add_text(inl, src->text, src->subject, src->target, err)
                         : prompts_add_ids(inl, src->ids, src->n_ids, src->subj_first, src->subj_last, (int)src->target_id, err);
            if (rc < 0) return -1;
        } else {
            PromptSet *f = prompts_load(src->resolved, err);
            if (!f) return -1;
            prompt_list_add(l, f);
            inl = NULL;
        }
    }
    for (int si = 0; si < l->n_sets; si++) l->n += l->sets[si]->n;
    l->v = kop_xmalloc(sizeof *l->v * (size_t)(l->n ? l->n : 1));
    int n = 0;
    for (int si = 0; si < l->n_sets; si++)
        for (int i = 0; i < l->sets[si]->n; i++) l->v[n++] = &l->sets[si]->v[i];
    return 0;
}

int exec_run(const RunOptions *o, KopError *err)
{
    double t_start = kop_now();
    int status = -1;
    size_t rlen;
    char *text = kop_read_file_max(o->recipe_path, KOP_SPEC_MAX, "a recipe", &rlen, err);
    if (!text) return -1;
    Model own, *mp = &own;
    memset(&own, 0, sizeof own);
    if (o->model) mp = (Model *)o->model;
    else if (model_load(&own, o->model_dir, err) < 0) { free(text); return -1; }
    const Model *mm = mp;
    char *model_name = o->model_label ? kop_xstrdup(o->model_label) : base_name(o->model_dir);

    KopArena *ar = arena_new();
    Diag *d = diag_new(o->recipe_path, text, rlen, stderr);
    CheckOptions copt = {.path = o->recipe_path, .arch = mm->cfg.arch, .model_name = model_name,
                         .check_files = !o->prompts};
    Recipe *r = kop_compile(&copt, mm->cfg.n_layer, d, ar);
    Tokenizer *tok = NULL;
    PromptList pl = {0}, *ps = &pl;
    RunCtx cx = {0};
    char *out_dir = NULL, *rows_path = NULL, *sum_path = NULL, *man_path = NULL;
    FILE *rows = NULL;
    Job *jobs = NULL;
    Acc *acc = NULL;
    int nacc = 0, capacc = 0;
    Manifest man = {0};
    OutDir od = {.lock_fd = -1};
    if (!r) {
        kop_fail(err, KOP_EXIT_DATA, "%s: %d error%s", o->recipe_path, diag_errors(d), diag_errors(d) == 1 ? "" : "s");
        goto out;
    }
    /* a tokenizer is needed only for text prompts; its absence is reported per prompt */
    KopError terr = {0};
    tok = tokenizer_load(o->tokenizer ? o->tokenizer : o->model_dir, &terr);
    if (!tok && !o->prompts) {
        for (int i = 0; i < r->n_prompts; i++)
            if (r->prompts[i].kind != PROMPTS_IDS) {
                kop_fail(err, terr.status ? terr.status : KOP_EXIT_DATA, "%s needs a tokenizer for its text prompts: %s",
                         o->recipe_path, terr.msg);
                goto out;
            }
    }
    if (load_prompts(r, o->prompts, ps, err) < 0) goto out;
    for (int i = 0; !tok && o->prompts && i < ps->n; i++)
        if (ps->v[i]->text) {
            kop_fail(err, terr.status ? terr.status : KOP_EXIT_DATA, "%s needs a tokenizer for its text prompts: %s",
                     o->prompts, terr.msg);
            goto out;
        }

    int L = mm->cfg.n_layer, nf = model_n_features(&mm->cfg);
    cx = (RunCtx){.r = r, .m = mm, .tok = tok, .ps = ps, .naive = o->naive, .want_flops = o->stats != NULL,
                  .max_tokens = o->max_tokens > 0 ? o->max_tokens : prompt_cap_default(&mm->cfg)};
    cx.feat = kop_xcalloc((size_t)(r->n_blocks ? r->n_blocks : 1), sizeof *cx.feat);
    for (int b = 0; b < r->n_blocks; b++) {
        const FeatureSel *fs = &r->blocks[b].feat;
        if (fs->kind == FEAT_ALL || nf == 0) continue;
        cx.feat[b] = kop_xmalloc((size_t)L * nf);
        features_select(mm, fs->kind, fs->frac, fs->num, fs->den, cx.feat[b]);
    }

    if (o->out_dir) {
        out_dir = kop_xstrdup(o->out_dir);
    } else {
        size_t n = strlen(r->experiment) + strlen(model_name) + 16;
        out_dir = kop_xmalloc(n);
        snprintf(out_dir, n, "results/%s/%s", r->experiment, model_name);
    }
    char label[1024];
    snprintf(label, sizeof label, "kop run %s --model %s", o->recipe_path, o->model_dir);
    if (outdir_open(&od, out_dir, label, err) < 0) goto out; /* locked, an earlier run's summary and figures gone */
    rows_path = path_join(out_dir, "rows.csv");
    sum_path = path_join(out_dir, "summary.csv");
    man_path = path_join(out_dir, "manifest.yaml");
    int threads = set_threads(o->threads);
    manifest_init(&man, o->recipe_path, text, o->model_dir, model_name, mm, threads);
    man.experiment = r->experiment;
    man.max_tokens = cx.max_tokens;
    if (manifest_write(man_path, &man, err) < 0) goto out;
    if (!(rows = outdir_create(out_dir, "rows.csv", err))) goto out;
    fputs("experiment,model,statement,k,t,layer_lo,layer_hi,prompt,target_id,p_clean,p_knocked,value\n", rows);

    /* prompts in chunks of whole groups: in parallel within a chunk,
     * accepted in order, so `limit` and the row order do not depend on the
     * thread count.  Prompts differ in cost (length, t sweeps), so a chunk
     * holds several groups per thread for the dynamic schedule to even out;
     * never more groups than `limit` still needs. */
    int parallel = threads > 1 && ps->n > GROUP;
    int max_chunk = GROUP * (parallel ? GROUPS_PER_THREAD * threads : 1);
    jobs = kop_xcalloc((size_t)max_chunk, sizeof *jobs);
    long limit = r->limit < 0 ? ps->n : r->limit;
    if (o->limit > 0 && o->limit < limit) limit = o->limit;
    int used = 0, done = 0;
    char **t_labels = NULL;
    int n_t_labels = 0;
    Progress prog;
    progress_start(&prog, "prompts", ps->n, o->quiet);
    double t_loop = kop_now(), flops = 0;
    long n_runs = 0;
    if (parallel) kern_set_blas_threads(1);
    for (int base = 0, cnt; base < ps->n && used < limit; base += cnt) {
        int chunk = max_chunk;
        if (limit - used < chunk) chunk = (int)((limit - used + GROUP - 1) / GROUP * GROUP);
        cnt = ps->n - base < chunk ? ps->n - base : chunk;
        int groups = (cnt + GROUP - 1) / GROUP;
        #pragma omp parallel for schedule(dynamic, 1) if (parallel)
        for (int g = 0; g < groups; g++)
            run_group(&cx, base + g * GROUP, cnt - g * GROUP < GROUP ? cnt - g * GROUP : GROUP, &jobs[g * GROUP]);
        for (int q = 0; q < cnt; q++) {
            Job *j = &jobs[q];
            if (used >= limit) {
                job_free(j);
                continue;
            }
            if (!j->used) {
                manifest_skip(&man, ps->v[base + q], j->reason);
            } else {
                used++;
                n_runs += j->n_res;
                flops += j->flops;
                write_rows(rows, &cx, r->experiment, model_name, base + q, j);
                for (int k = 0; k < j->n_res; k++) stat_add(&acc_get(&acc, &nacc, &capacc, j->res[k].item, j->res[k].t)->s, j->res[k].value);
                if (r->uses_t && tok && !t_labels) /* token-map rows: the first prompt's tokens */
                    t_labels = token_texts(&cx, base + q, &n_t_labels);
            }
            job_free(j);
            done = base + q + 1;
        }
        fflush(rows);
        progress_update(&prog, done);
    }
    progress_end(&prog);
    if (o->stats) *o->stats = (RunStats){.prompts = used, .runs = n_runs, .seconds = kop_now() - t_loop, .knock_flops = flops};
    if (ferror(rows) || fclose(rows) != 0) {
        rows = NULL;
        kop_fail_errno(err, "%s: write failed", rows_path);
        goto out_labels;
    }
    rows = NULL;
    man.n_used = used;
    man.n_seen = done;
    for (int si = 0; si < ps->n_sets; si++)
        for (int s = 0; s < ps->sets[si]->n_skipped; s++) manifest_skip_line(&man, ps->sets[si]->skipped[s]);
    if (used == 0) {
        kop_fail(err, KOP_EXIT_DATA, "%s: no prompt left to measure (%d skipped; see %s)", o->recipe_path, man.n_skipped, man_path);
        manifest_write(man_path, &man, NULL);
        goto out_labels;
    }
    qsort(acc, (size_t)nacc, sizeof *acc, acc_cmp);
    if (write_summary(sum_path, &cx, r->experiment, model_name, acc, nacc, err) < 0) goto out_labels;
    if (render_outputs(&cx, out_dir, sum_path, t_labels, n_t_labels, err) < 0) goto out_labels;
    man.wall_seconds = kop_now() - t_start;
    man.complete = 1;
    if (manifest_write(man_path, &man, err) < 0) goto out_labels;
    if (o->log)
        fprintf(o->log, "%s on %s: %d prompt%s measured, %d skipped, %d statement%s x sweep points; %.1f s. Results in %s/\n",
                r->experiment, model_name, used, used == 1 ? "" : "s", man.n_skipped, nacc, nacc == 1 ? "" : "s",
                man.wall_seconds, out_dir);
    status = 0;
out_labels:
    if (t_labels)
        for (int t = 0; t < n_t_labels; t++) free(t_labels[t]);
    free(t_labels);
out:
    if (rows) fclose(rows);
    if (cx.feat)
        for (int b = 0; b < r->n_blocks; b++) free(cx.feat[b]);
    free(cx.feat);
    free(jobs);
    free(acc);
    manifest_free(&man);
    outdir_release(&od);
    free(out_dir); free(rows_path); free(sum_path); free(man_path);
    prompt_list_free(ps);
    tokenizer_free(tok);
    diag_free(d);
    arena_free(ar);
    free(model_name);
    if (!o->model) model_free(&own);
    free(text);
    return status;
}
