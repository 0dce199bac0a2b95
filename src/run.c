/* run.c: the driver of `kop run` (see run.h): files in, the executor, files out. */
#include "config.h"
#include "run.h"

#include <string.h>

#include "buildinfo.h"
#include "check.h"
#include "diag.h"
#include "exec.h"
#include "manifest.h"
#include "render.h"
#include "results.h"
#include "threads.h"

static char *base_name(const char *path)
{
    size_t n;
    const char *b = kop_path_base(path, &n);
    char *s = kop_xmalloc(n + 1);
    memcpy(s, b, n);
    s[n] = '\0';
    return s;
}

/* Each `output` of the recipe: the summary (csv) or a figure drawn from
 * the summary rows in memory. */
static int render_outputs(const Recipe *r, const Results *res, const char *out_dir, const Summary *s, KopError *err)
{
    SummaryPlot sp = {0};
    int have = 0, status = 0;
    for (int i = 0; i < r->n_outputs && status == 0; i++) {
        char *path = kop_path_join(out_dir, r->outputs[i].path);
        status = kop_make_parent_dirs(path, err); /* outputs may name subfolders */
        if (status == 0 && r->outputs[i].kind == OUTPUT_CSV) {
            status = summary_write(path, s, err);
        } else if (status == 0) {
            if (!have) {
                status = summary_plot(s, plan_metric_name(r->metric), (const char *const *)res->t_labels,
                                      res->n_t_labels, &sp, err);
                have = status == 0;
            }
            if (status == 0)
                status = r->outputs[i].kind == OUTPUT_HEATMAP ? render_heatmap(path, &sp.d, err) : render_lines(path, &sp.d, err);
        }
        free(path);
    }
    if (have) summary_plot_free(&sp);
    return status;
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

/* rows.csv and the manifest's skip list, as each chunk of prompts finishes */
typedef struct Sink {
    FILE *rows;
    Manifest *man;
    const PromptList *ps;
} Sink;

static void on_prompts(void *ctx, const Results *res, int from, int to)
{
    Sink *k = ctx;
    for (int i = from; i < to; i++) {
        const PromptResult *p = &res->prompts[i];
        if (p->used) results_rows_write(k->rows, res, p);
        else manifest_skip(k->man, k->ps->v[p->index], p->reason);
    }
    fflush(k->rows);
}

int run_recipe(const RunOptions *o, KopError *err)
{
    double t_start = kop_now();
    int status = -1;
    size_t rlen;
    char *text = kop_read_file(o->recipe_path, &rlen, err);
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
    const Recipe *r = o->recipe ? o->recipe : kop_compile(&copt, mm->cfg.n_layer, d, ar);
    Tokenizer *tok = NULL;
    PromptList pl = {0}, *ps = &pl;
    char *out_dir = NULL, *rows_path = NULL, *sum_path = NULL, *man_path = NULL;
    FILE *rows = NULL;
    Results res = {0};
    Summary sum = {0};
    Manifest man = {0};
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

    if (o->out_dir) {
        out_dir = kop_xstrdup(o->out_dir);
    } else {
        size_t n = strlen(r->experiment) + strlen(model_name) + 16;
        out_dir = kop_xmalloc(n);
        snprintf(out_dir, n, "results/%s/%s", r->experiment, model_name);
    }
    if (kop_make_dirs(out_dir, err) < 0) goto out;
    rows_path = kop_path_join(out_dir, "rows.csv");
    sum_path = kop_path_join(out_dir, "summary.csv");
    man_path = kop_path_join(out_dir, "manifest.yaml");
    int threads = threads_set(o->threads);
    manifest_init(&man, o->recipe_path, text, o->model_dir, model_name, mm, threads);
    man.experiment = r->experiment;
    if (manifest_write(man_path, &man, err) < 0) goto out;
    if (!(rows = fopen(rows_path, "w"))) { kop_fail_errno(err, "%s: cannot write", rows_path); goto out; }
    results_rows_header(rows);

    results_init(&res, r, r->experiment, model_name);
    Sink sink = {rows, &man, ps};
    ExecInput in = {.recipe = r, .model = mm, .tok = tok, .prompts = ps};
    ExecOptions eo = {.threads = threads, .naive = o->naive, .want_flops = o->stats != NULL, .limit = o->limit,
                      .quiet = o->quiet, .on_prompts = on_prompts, .ctx = &sink};
    if (exec_recipe(&in, &eo, &res, err) < 0) goto out;
    if (o->stats)
        *o->stats = (RunStats){.prompts = res.n_used, .runs = res.n_runs, .seconds = res.seconds, .knock_flops = res.flops};
    if (ferror(rows) || fclose(rows) != 0) {
        rows = NULL;
        kop_fail_errno(err, "%s: write failed", rows_path);
        goto out;
    }
    rows = NULL;
    man.n_used = res.n_used;
    man.n_seen = res.n_prompts ? res.prompts[res.n_prompts - 1].index + 1 : 0;
    for (int si = 0; si < ps->n_sets; si++)
        for (int s = 0; s < ps->sets[si]->n_skipped; s++) manifest_skip_line(&man, ps->sets[si]->skipped[s]);
    if (res.n_used == 0) {
        kop_fail(err, KOP_EXIT_DATA, "%s: no prompt left to measure (%d skipped; see %s)", o->recipe_path, man.n_skipped, man_path);
        manifest_write(man_path, &man, NULL);
        goto out;
    }
    results_summary(&res, &sum);
    if (summary_write(sum_path, &sum, err) < 0) goto out;
    if (render_outputs(r, &res, out_dir, &sum, err) < 0) goto out;
    man.wall_seconds = kop_now() - t_start;
    man.complete = 1;
    if (manifest_write(man_path, &man, err) < 0) goto out;
    if (o->log)
        fprintf(o->log, "%s on %s: %d prompt%s measured, %d skipped, %d statement%s x sweep points; %.1f s. Results in %s/\n",
                r->experiment, model_name, res.n_used, res.n_used == 1 ? "" : "s", man.n_skipped, res.n_acc,
                res.n_acc == 1 ? "" : "s", man.wall_seconds, out_dir);
    if (o->summary) {
        *o->summary = sum;
        memset(&sum, 0, sizeof sum);
    }
    status = 0;
out:
    if (rows) fclose(rows);
    summary_free(&sum);
    results_free(&res);
    manifest_free(&man);
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
