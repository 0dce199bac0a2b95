/* run.c: the driver of `kop run` (see run.h): files in, the executor, files out. */
#include "config.h"
#include "run.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildinfo.h"
#include "check.h"
#include "diag.h"
#include "exec.h"
#include "journal.h"
#include "manifest.h"
#include "merge.h"
#include "outdir.h"
#include "prompt_cap.h"
#include "ranks.h"
#include "render.h"
#include "results.h"
#include "sha256.h"
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

/* PATH with "-METRIC" before its extension: the figure of one metric of
 * several. */
static char *metric_path(const char *path, const char *metric)
{
    size_t n;
    const char *base = kop_path_base(path, &n), *dot = strrchr(base, '.');
    size_t stem = dot && dot > base ? (size_t)(dot - path) : strlen(path);
    return kop_strf("%.*s-%s%s", (int)stem, path, metric, path + stem);
}

/* One figure of an output, for one metric. */
static int render_figure(const Output *o, Metric metric, const char *path, const Results *res, const Summary *s,
                         KopError *err)
{
    SummaryPlot sp = {0};
    int status;
    if (o->fig.per_prompt) return render_per_prompt(path, res, metric, &o->fig, err);
    status = summary_plot_opts(s, plan_metric_name(metric), (const char *const *)res->t_labels, res->n_t_labels,
                               &o->fig, &sp, err);
    if (status == 0) {
        status = o->kind == OUTPUT_HEATMAP ? render_heatmap(path, &sp.d, err) : render_lines(path, &sp.d, err);
        summary_plot_free(&sp);
    }
    return status;
}

/* Each `output` of the recipe: the summary (csv) or figures drawn from the
 * summary rows in memory: the metric the output names, else one figure per
 * metric measured (FILE-METRIC.png when there are several). */
static int render_outputs(const Recipe *r, const Results *res, const char *out_dir, const Summary *s, KopError *err)
{
    int status = 0;
    for (int i = 0; i < r->n_outputs && status == 0; i++) {
        const Output *o = &r->outputs[i];
        char *path = outdir_file(out_dir, o->path, err); /* subfolders made, no link followed, recorded */
        status = path ? 0 : -1;
        if (status == 0 && o->kind == OUTPUT_CSV) {
            status = summary_write(path, s, err);
        } else if (o->fig.metric >= 0 || r->n_metrics == 1) {
            if (status == 0)
                status = render_figure(o, o->fig.metric >= 0 ? (Metric)o->fig.metric : r->metric, path, res, s, err);
        } else {
            for (int q = 0; q < r->n_metrics && status == 0; q++) {
                char *mp = metric_path(path, plan_metric_name(r->metrics[q]));
                status = render_figure(o, r->metrics[q], mp, res, s, err);
                free(mp);
            }
        }
        free(path);
    }
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

/* What a run's results depend on, hashed: kop's version, the recipe's
 * text, the model (config.json's checksum, parameters, dtype), every prompt
 * and the options that change what is measured (a pipeline's kept prompts
 * and an ids file's ids included).  A folder whose journal has the same key
 * holds (part of) this very run. */
static void run_key(const RunOptions *o, const Recipe *r, const char *text, const Manifest *man, const PromptList *ps,
                    char hex[65])
{
    KopBuf b = {0};
    kop_buf_addf(&b, "kop %s\n%zu:%s\n%s %zu %s\nlimit %ld naive %d max_tokens %ld\n", PACKAGE_VERSION, strlen(text),
                 text, man->config_sha256, man->model->n_params, man->model->weight_dtype, o->limit, o->naive,
                 man->max_tokens);
    if (o->keep) { /* a pipeline's kept set */
        kop_buf_add(&b, "keep ", 5);
        for (int i = 0; i < o->n_keep; i++) kop_buf_addc(&b, o->keep[i] ? '1' : '0');
        kop_buf_addc(&b, '\n');
    }
    for (int i = 0; i < ps->n; i++) {
        const Prompt *p = ps->v[i];
        kop_buf_addf(&b, "%zu:%s|%zu:%s|%zu:%s|%d %d %d|", p->text ? p->text_len : 0, p->text ? p->text : "",
                       p->subject ? strlen(p->subject) : 0, p->subject ? p->subject : "",
                       p->target ? strlen(p->target) : 0, p->target ? p->target : "", p->subj_first, p->subj_last,
                       p->target_id);
        for (int k = 0; k < p->n_ids; k++) kop_buf_addf(&b, "%d,", p->ids[k]);
        kop_buf_add(&b, "\n", 1);
    }
    for (int i = 0; o->keep && i < o->n_keep; i++) kop_buf_add(&b, o->keep[i] ? "1" : "0", 1);
    for (int i = 0; i < r->n_keep_ids; i++) kop_buf_addf(&b, " %ld", r->keep_ids[i]); /* an ids file's content */
    sha256_hex(b.s ? b.s : "", b.n, hex);
    free(b.s);
}

/* rows.csv, the journal and the manifest's skip list, as each chunk of
 * prompts finishes */
typedef struct Sink {
    FILE *rows, *journal;
    Manifest *man;
    const PromptList *ps;
    Results *joined;       /* under MPI, on rank 0: every rank's prompts, in list order */
} Sink;

/* KOP_TEST_KILL=N (tests only): the process kills itself with SIGKILL
 * once N prompts are on disk; N.5: between the rows and the journal line of
 * prompt N + 1.  Where a real kill may land, at a point a test can name. */
static void test_kill(double at, int done, int between)
{
    if (at >= 0 && (between ? at == done + 0.5 : at == done)) raise(SIGKILL);
}

/* The prompts [from, to) of res into rows.csv, the journal and the manifest. */
static void write_prompts(Sink *k, const Results *res, int from, int to)
{
    const char *env = getenv("KOP_TEST_KILL");
    double kill_at = env ? strtod(env, NULL) : -1;
    for (int i = from; i < to; i++) {
        const PromptResult *p = &res->prompts[i];
        test_kill(kill_at, i, 0);
        if (p->mine && p->used) results_rows_write(k->rows, res, p);
        else if (p->mine) manifest_skip(k->man, k->ps->v[p->index], p->reason);
        fflush(k->rows);
        test_kill(kill_at, i, 1);
        journal_prompt(k->journal, p, ftell(k->rows));
        fflush(k->journal);
    }
}

static char *decode_token(void *ctx, int id)
{
    KopError e = {0};
    return ctx ? tokenizer_decode(ctx, &id, 1, NULL, &e) : NULL;
}

/* clean.csv (clean forward of every prompt read) into out_dir. */
static int write_clean(const Results *res, const PromptList *ps, const Tokenizer *tok, const char *out_dir, KopError *err)
{
    const char **texts = kop_xcalloc((size_t)(res->n_prompts ? res->n_prompts : 1), sizeof *texts);
    for (int i = 0; i < res->n_prompts; i++) texts[i] = ps->v[res->prompts[i].index]->text;
    char *path = kop_path_join(out_dir, "clean.csv");
    int status = results_clean_write(path, res, texts, decode_token, (void *)tok, err);
    free(path);
    free(texts);
    return status;
}

static void on_prompts(void *ctx, const Results *res, int from, int to)
{
    write_prompts(ctx, res, from, to);
}

/* Prompts as journal text (journal.h), the way ranks send them: those of
 * res[from, to) this rank measured or skipped itself (mine only), or all. */
static char *prompts_text(const Results *res, int from, int to, int mine_only, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f) ranks_abort(KOP_EXIT_INTERNAL, "out of memory");
    JournalHead h = {.shard = ranks_rank(), .n_shards = ranks_size()};
    memset(h.key, '0', 64);
    journal_head(f, &h);
    for (int i = from; i < to; i++)
        if (!mine_only || res->prompts[i].mine) journal_prompt(f, &res->prompts[i], 0);
    journal_complete(f);
    if (fclose(f) != 0) ranks_abort(KOP_EXIT_INTERNAL, "out of memory");
    return text;
}

/* journal text into res; a failure here is kop's own, and ends every rank */
static void prompts_read(const char *text, size_t len, const char *what, Results *res)
{
    JournalHead h;
    KopError err = {0};
    if (journal_read_text(text, len, what, &h, res, &err) < 0) ranks_abort(KOP_EXIT_INTERNAL, "%s", err.msg);
    journal_head_free(&h);
}

/* Under MPI: every rank sends the prompts of the chunk it measured to
 * rank 0, which joins them in list order and writes them as one process
 * would.  Every rank's executor gives the same chunks (the same prompts
 * decided, the same thread count), so all ranks come here equally often. */
static void on_prompts_ranks(void *ctx, const Results *res, int from, int to)
{
    Sink *k = ctx;
    size_t len, *lens;
    char *text = prompts_text(res, from, to, 1, &len);
    char *all = ranks_gather(text, len, &lens);
    free(text);
    if (!all) return; /* not rank 0 */
    Joined j = {0};
    size_t off = 0;
    for (int r = 0; r < ranks_size(); r++) {
        Results part;
        results_init(&part, NULL, NULL, NULL);
        char what[64];
        snprintf(what, sizeof what, "rank %d's prompts", r);
        prompts_read(all + off, lens[r], what, &part);
        merge_take(&j, &part);
        results_free(&part);
        off += lens[r];
    }
    merge_order(&j);
    int first = k->joined->n_prompts;
    int want = first ? k->joined->prompts[first - 1].index + 1 : (to > from ? res->prompts[from].index : 0);
    for (int i = 0; i < j.n; i++)
        if (j.v[i].index != want + i)
            ranks_abort(KOP_EXIT_INTERNAL, "the ranks' prompts do not join: prompt %d where %d belongs", j.v[i].index,
                        want + i);
    if (j.n != to - from) ranks_abort(KOP_EXIT_INTERNAL, "the ranks sent %d prompts for %d", j.n, to - from);
    for (int i = 0; i < j.n; i++) results_add(k->joined, &j.v[i]);
    merge_joined_free(&j);
    free(all);
    free(lens);
    write_prompts(k, k->joined, first, k->joined->n_prompts);
}

int run_outputs(const Recipe *r, const Results *res, const char *out_dir, KopError *err)
{
    Summary sum;
    results_summary(res, &sum);
    char *path = kop_path_join(out_dir, "summary.csv");
    int status = summary_write(path, &sum, err);
    free(path);
    if (status == 0) status = render_outputs(r, res, out_dir, &sum, err);
    summary_free(&sum);
    return status;
}

/* PATH opened to append, never through a symbolic link. */
static FILE *open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (fd >= 0 && !f) close(fd);
    return f;
}

/* A folder's earlier start of this run: resume it (res filled, *start and
 * the files cut back to its last whole group), or say there is nothing to
 * do.  Returns 1 to go on, 0 when the run is complete already, -1 on error. */
static int resume(const RunOptions *o, const char *journal_path, const char *rows_path, const char *key,
                  Results *res, int *start, int *resumed, KopError *err)
{
    JournalHead h;
    long rows_bytes, journal_bytes;
    int complete;
    Results old;
    results_init(&old, res->recipe, res->experiment, res->model);
    int rc = journal_read(journal_path, EXEC_GROUP, &h, &old, &rows_bytes, &journal_bytes, &complete, err);
    if (rc <= 0) {
        results_free(&old);
        return rc < 0 ? -1 : 1;
    }
    int same = !strcmp(h.key, key) && h.shard == o->shard && h.n_shards == (o->n_shards > 1 ? o->n_shards : 1);
    journal_head_free(&h);
    if (!same) { /* another run's results: this one starts over */
        results_free(&old);
        return 1;
    }
    if (complete) { /* res holds the whole run, for a pipeline's figures */
        results_free(res);
        *res = old;
        return 0;
    }
    /* labels come again from the executor; the prompts, rows and journal up
     * to the last whole group stay */
    for (int t = 0; t < old.n_t_labels; t++) free(old.t_labels[t]);
    free(old.t_labels);
    old.t_labels = NULL;
    old.n_t_labels = 0;
    if (truncate(rows_path, rows_bytes) < 0 || truncate(journal_path, journal_bytes) < 0) {
        results_free(&old);
        return kop_fail_errno(err, "%s: cannot resume", rows_path);
    }
    results_free(res);
    *res = old;
    *start = res->n_prompts ? res->prompts[res->n_prompts - 1].index + 1 : 0;
    *resumed = res->n_prompts;
    return 1;
}

/* The tokenizer (tok: NULL when there is none and only id prompts need
 * none) and the prompts of recipe r; its `keep ids` file when the check did
 * not read it (into the recipe, the ids in *own_ids for the caller to give
 * back).  0, or -1 with err. */
static int load_inputs(const RunOptions *o, const Recipe *r, Tokenizer **tok, PromptList *ps, long **own_ids,
                       KopError *err)
{
    /* a tokenizer is needed only for text prompts; its absence is reported per prompt */
    KopError terr = {0};
    *tok = tokenizer_load(o->tokenizer ? o->tokenizer : o->model_dir, &terr);
    if (!*tok && !o->prompts)
        for (int i = 0; i < r->n_prompts; i++)
            if (r->prompts[i].kind != PROMPTS_IDS)
                return kop_fail(err, terr.status ? terr.status : KOP_EXIT_DATA,
                                "%s needs a tokenizer for its text prompts: %s", o->recipe_path, terr.msg);
    if (r->keep_ids_path && r->n_keep_ids < 0) { /* the check did not read it (files not checked) */
        long *ids;
        int n = check_read_ids(r->keep_ids_path, &ids, err);
        if (n < 0) return -1;
        Recipe *rw = (Recipe *)r; /* compiled here or by the pipeline, for this run */
        rw->keep_ids = ids;
        rw->n_keep_ids = n;
        *own_ids = ids;
    }
    if (load_prompts(r, o->prompts, ps, err) < 0) return -1;
    for (int i = 0; !*tok && o->prompts && i < ps->n; i++)
        if (ps->v[i]->text)
            return kop_fail(err, terr.status ? terr.status : KOP_EXIT_DATA, "%s needs a tokenizer for its text prompts: %s",
                            o->prompts, terr.msg);
    return 0;
}

/* The closing line of a run (and of its resumption) on log. */
static void log_done(FILE *log, const Results *res, const Manifest *man, const char *out_dir, int resumed)
{
    const char *exp = res->experiment, *model = res->model;
    if (man->n_shards > 1) {
        fprintf(log, "%s on %s, shard %d of %d: %d prompt%s measured, %d skipped; %.1f s. Results in %s/ "
                "(kop merge joins the shards)\n", exp, model, man->shard, man->n_shards, res->n_used,
                res->n_used == 1 ? "" : "s", man->n_skipped, man->wall_seconds, out_dir);
        return;
    }
    if (resumed) fprintf(log, "%s on %s: resumed after %d prompts\n", exp, model, resumed);
    fprintf(log, "%s on %s: %d prompt%s measured, %d skipped, %d statement%s x sweep points; %.1f s. Results in %s/\n",
            exp, model, res->n_used, res->n_used == 1 ? "" : "s", man->n_skipped, res->n_acc, res->n_acc == 1 ? "" : "s",
            man->wall_seconds, out_dir);
}

/* One `kop run`: what run_recipe's steps share. */
typedef struct Run {
    const RunOptions *o;
    double t_start;
    int ranked, rank0;        /* under MPI (ranks.h); rank 0 writes */
    char *text;               /* the recipe */
    size_t rlen;
    Model own;                /* loaded here unless o->model */
    const Model *mm;
    char *model_name;
    int n_shards, threads;
    KopArena *ar;
    Diag *d;
    const Recipe *r;
    Tokenizer *tok;
    PromptList ps;
    char *out_dir, *rows_path, *man_path, *journal_path;
    FILE *rows, *journal;
    OutDir od;
    Results res, joined;      /* under MPI, rank 0's joined holds every rank's prompts; res only this rank's */
    Manifest man;
    long *own_ids, *kept_ids;
    long max_tokens;
    int start, resumed, go;   /* go 0: complete already */
} Run;

/* The recipe compiled for the model and its inputs loaded.  0, or -1 with err. */
static int run_setup(Run *u, KopError *err)
{
    const RunOptions *o = u->o;
    u->ar = arena_new();
    u->d = diag_new(o->recipe_path, u->text, u->rlen, stderr);
    CheckOptions copt = {.path = o->recipe_path, .arch = u->mm->cfg.arch, .model_name = u->model_name,
                         .check_files = !o->prompts};
    u->r = o->recipe ? o->recipe : kop_compile(&copt, u->mm->cfg.n_layer, u->d, u->ar);
    if (!u->r)
        return kop_fail(err, KOP_EXIT_DATA, "%s: %d error%s", o->recipe_path, diag_errors(u->d),
                        diag_errors(u->d) == 1 ? "" : "s");
    return load_inputs(o, u->r, &u->tok, &u->ps, &u->own_ids, err);
}

/* Rank 0's output folder: locked, resumed from its journal or started
 * (manifest, rows.csv and journal created); u->go 0 when the folder holds
 * this run complete.  0, or -1 with err. */
static int run_open_folder(Run *u, KopError *err)
{
    const RunOptions *o = u->o;
    const Recipe *r = u->r;
    const PromptList *ps = &u->ps;
    Manifest *man = &u->man;
    char *label = kop_strf("kop run %s --model %s", o->recipe_path, o->model_dir);
    int locked = outdir_open(&u->od, u->out_dir, label, err); /* exit 2 naming the other run when it holds the folder */
    free(label);
    if (locked < 0) return -1;
    manifest_init(man, o->recipe_path, u->text, o->model_dir, u->model_name, u->mm, u->threads);
    man->experiment = r->experiment;
    man->n_kept_ids = -1;
    if (o->keep) { /* the ids of the prompts a pipeline chose */
        u->kept_ids = kop_xmalloc(sizeof *u->kept_ids * (size_t)(ps->n ? ps->n : 1));
        man->n_kept_ids = 0;
        for (int i = 0; i < ps->n && i < o->n_keep; i++)
            if (o->keep[i]) u->kept_ids[man->n_kept_ids++] = ps->v[i]->id >= 0 ? ps->v[i]->id : i;
        man->kept_ids = u->kept_ids;
        man->kept_by = o->keep_note;
    }
    man->shard = o->shard;
    man->n_shards = u->n_shards;
    man->max_tokens = u->max_tokens;
    man->ranks = ranks_size();

    char key[65];
    run_key(o, r, u->text, man, ps, key);
    Results *whole = u->ranked ? &u->joined : &u->res;
    if (!o->restart) {
        int rc = resume(o, u->journal_path, u->rows_path, key, whole, &u->start, &u->resumed, err);
        if (rc < 0) return -1;
        u->go = rc;
    }
    if (!u->go) return 0;
    outdir_clear(&u->od); /* what an earlier run wrote is written again (rows.csv and the journal stay) */
    man->n_resumed = u->resumed;
    for (int i = 0; i < whole->n_prompts; i++) /* the skips of the part resumed */
        if (whole->prompts[i].mine && !whole->prompts[i].used)
            manifest_skip(man, ps->v[whole->prompts[i].index], whole->prompts[i].reason);
    if (manifest_write(u->man_path, man, err) < 0) return -1;
    if (u->resumed) {
        u->rows = open_append(u->rows_path);
        u->journal = open_append(u->journal_path);
        if (!u->rows || !u->journal)
            return kop_fail_errno(err, "%s: cannot append", u->rows ? u->journal_path : u->rows_path);
        return 0;
    }
    if (!(u->rows = outdir_create(u->out_dir, "rows.csv", err))) return -1;
    results_rows_header(u->rows);
    JournalHead jh = {.shard = o->shard, .n_shards = u->n_shards, .recipe_path = (char *)o->recipe_path,
                      .recipe_text = u->text, .model_dir = (char *)o->model_dir, .model_name = u->model_name,
                      .arch = (char *)arch_name(u->mm->cfg.arch), .experiment = (char *)r->experiment,
                      .n_layer = u->mm->cfg.n_layer};
    memcpy(jh.key, key, sizeof jh.key);
    return (u->journal = journal_create(u->journal_path, &jh, err)) ? 0 : -1;
}

/* Under MPI, every rank starts from the prompts rank 0 resumed. */
static void run_share_resumed(Run *u)
{
    ranks_bcast(&u->go, sizeof u->go);
    if (!u->go) return;
    size_t len = 0;
    char *t = u->rank0 ? prompts_text(&u->joined, 0, u->joined.n_prompts, 0, &len) : NULL;
    ranks_bcast_text(&t, &len);
    prompts_read(t, len, "the prompts resumed", &u->res);
    free(t);
    u->start = u->res.n_prompts ? u->res.prompts[u->res.n_prompts - 1].index + 1 : 0;
    u->resumed = u->res.n_prompts;
}

/* Rank 0, after the executor: rows.csv closed, the summary, figures,
 * clean.csv, the journal and manifest completed.  0, or -1 with err. */
static int run_finish(Run *u, KopError *err)
{
    const RunOptions *o = u->o;
    Results *res = &u->res;
    Manifest *man = &u->man;
    if (u->ranked) { /* the whole run's results, with the labels every rank found alike */
        u->joined.t_labels = res->t_labels;
        u->joined.n_t_labels = res->n_t_labels;
        u->joined.seconds = res->seconds;
        res->t_labels = NULL;
        res->n_t_labels = 0;
        results_finish(&u->joined);
        results_free(res);
        *res = u->joined;
        memset(&u->joined, 0, sizeof u->joined);
    }
    for (int i = 0; i < res->n_prompts; i++) { /* the journal (resumed, other ranks') does not carry ids */
        PromptResult *q = &res->prompts[i];
        q->id = u->ps.v[q->index]->id >= 0 ? u->ps.v[q->index]->id : q->index;
    }
    if (o->stats)
        *o->stats = (RunStats){.prompts = res->n_used, .runs = res->n_runs, .seconds = res->seconds, .knock_flops = res->flops};
    int bad = ferror(u->rows);
    if (fclose(u->rows) != 0 || bad) {
        u->rows = NULL;
        return kop_fail_errno(err, "%s: write failed", u->rows_path);
    }
    u->rows = NULL;
    man->n_used = res->n_used;
    man->n_seen = res->n_prompts ? res->prompts[res->n_prompts - 1].index + 1 : 0;
    for (int si = 0; si < u->ps.n_sets; si++)
        for (int s = 0; s < u->ps.sets[si]->n_skipped; s++) manifest_skip_line(man, u->ps.sets[si]->skipped[s]);
    if (res->n_counted == 0) {
        kop_fail(err, KOP_EXIT_DATA, "%s: no prompt left to measure (%d skipped; see %s)", o->recipe_path, man->n_skipped,
                 u->man_path);
        manifest_write(u->man_path, man, NULL);
        return -1;
    }
    /* a shard's summary and figures would cover a part of the prompts: kop merge writes them */
    if (u->n_shards == 1
        && (run_outputs(u->r, res, u->out_dir, err) < 0 || write_clean(res, &u->ps, u->tok, u->out_dir, err) < 0))
        return -1;
    journal_labels(u->journal, res->t_labels, res->n_t_labels);
    journal_complete(u->journal);
    man->wall_seconds = kop_now() - u->t_start;
    man->complete = 1;
    if (manifest_write(u->man_path, man, err) < 0) return -1;
    if (o->log) log_done(o->log, res, man, u->out_dir, u->resumed);
    if (o->summary) results_summary(res, o->summary);
    return 0;
}

static void run_free(Run *u)
{
    if (u->rows) fclose(u->rows);
    if (u->journal) fclose(u->journal);
    outdir_release(&u->od);
    results_free(&u->res);
    results_free(&u->joined);
    manifest_free(&u->man);
    free(u->out_dir); free(u->rows_path); free(u->man_path); free(u->journal_path);
    prompt_list_free(&u->ps);
    tokenizer_free(u->tok);
    if (u->own_ids) { /* a pipeline's recipe outlives this run */
        ((Recipe *)u->r)->keep_ids = NULL;
        ((Recipe *)u->r)->n_keep_ids = -1;
        free(u->own_ids);
    }
    free(u->kept_ids);
    diag_free(u->d);
    arena_free(u->ar);
    free(u->model_name);
    if (!u->o->model) model_free(&u->own);
    free(u->text);
}

int run_recipe(const RunOptions *o, KopError *err)
{
    Run u = {.o = o, .t_start = kop_now(), .ranked = ranks_size() > 1, .rank0 = ranks_rank() == 0,
             .od = {.lock_fd = -1}, .go = 1};
    int status = -1;
    /* Under MPI (ranks.h) every rank reads, compiles and decides as one
     * process does, measures its shard, and rank 0 writes.  The ranks agree
     * after each step that may fail on some only: the recipe, the model, the
     * setup, the output folder, and the end (agreed counts those passed
     * after the model). */
    int agreed = 0;
    u.text = kop_read_file_max(o->recipe_path, KOP_SPEC_MAX, "a recipe", &u.rlen, err);
    if (ranks_agree(u.text ? 0 : -1, err) < 0) {
        free(u.text);
        return -1;
    }
    if (o->model) u.mm = o->model;
    else {
        int rc = model_load(&u.own, o->model_dir, err);
        if (ranks_agree(rc, err) < 0) {
            if (rc == 0) model_free(&u.own);
            free(u.text);
            return -1;
        }
        u.mm = &u.own;
    }
    u.model_name = o->model_label ? kop_xstrdup(o->model_label) : base_name(o->model_dir);
    u.n_shards = o->n_shards > 1 ? o->n_shards : 1;

    int setup = run_setup(&u, err);
    agreed++;
    if (ranks_agree(setup, err) < 0) goto out;
    /* every rank runs as many threads as rank 0, so that all executors cut
     * the prompts into the same chunks */
    u.threads = threads_set(o->threads);
    if (u.ranked) {
        ranks_bcast(&u.threads, sizeof u.threads);
        u.threads = threads_set(u.threads);
    }
    const Recipe *r = u.r;
    if (o->out_dir) u.out_dir = kop_xstrdup(o->out_dir);
    else if (u.n_shards > 1)
        u.out_dir = kop_strf("results/%s/%s.shard-%d-of-%d", r->experiment, u.model_name, o->shard, u.n_shards);
    else u.out_dir = kop_strf("results/%s/%s", r->experiment, u.model_name);
    u.rows_path = kop_path_join(u.out_dir, "rows.csv");
    u.man_path = kop_path_join(u.out_dir, "manifest.yaml");
    u.journal_path = kop_path_join(u.out_dir, "journal.txt");
    results_init(&u.res, r, r->experiment, u.model_name);
    results_init(&u.joined, r, r->experiment, u.model_name);
    /* every rank skips the same prompts */
    u.max_tokens = o->max_tokens > 0 ? o->max_tokens : prompt_cap_default(&u.mm->cfg);

    int folder = u.rank0 ? run_open_folder(&u, err) : 0;
    agreed++;
    if (ranks_agree(folder, err) < 0) goto out;
    if (u.ranked) run_share_resumed(&u);
    if (!u.go) {
        if (o->log)
            fprintf(o->log,
                    "%s on %s: nothing to do, %s/ holds this run's complete results (--restart runs it again)\n",
                    r->experiment, u.model_name, u.out_dir);
        if (o->summary && u.rank0) {
            Results *whole = u.ranked ? &u.joined : &u.res;
            results_finish(whole);
            results_summary(whole, o->summary);
        }
        status = 0;
        goto out;
    }

    Sink sink = {u.rows, u.journal, &u.man, &u.ps, u.rank0 ? &u.joined : NULL};
    ExecInput in = {.recipe = r, .model = u.mm, .tok = u.tok, .prompts = &u.ps};
    ExecOptions eo = {.threads = u.threads, .naive = o->naive, .want_flops = o->stats != NULL, .limit = o->limit,
                      .quiet = o->quiet || !u.rank0, .start = u.start, .shard = u.ranked ? ranks_rank() : o->shard,
                      .n_shards = u.ranked ? ranks_size() : u.n_shards,
                      .on_prompts = u.ranked ? on_prompts_ranks : on_prompts, .ctx = &sink, .keep = o->keep,
                      .n_keep = o->n_keep, .max_tokens = u.max_tokens};
    if (exec_recipe(&in, &eo, &u.res, err) < 0) {
        if (u.ranked) ranks_abort(err->status ? err->status : KOP_EXIT_DATA, "%s", err->msg); /* the others are mid-run */
        goto out;
    }
    status = u.rank0 ? run_finish(&u, err) : 0; /* rank 0 writes the rest */
out:
    /* the ranks' agreements every rank makes, whichever way it came here */
    for (; agreed < 2; agreed++) ranks_agree(-1, err);
    if (ranks_agree(status, err) < 0) status = -1;
    run_free(&u);
    return status;
}

// ---------------------------------------------------------------------------
// the clean forward alone (pipelines' `keep: correct on all`)

int run_clean(const Model *m, const char *model_dir, const char *tokenizer, const char *prompts_path, int threads,
              int quiet, Results *res, char ***texts, KopError *err)
{
    /* a recipe with no interventions: the executor's clean pass and its facts */
    static Recipe clean = {.experiment = "clean", .limit = -1, .target = TARGET_PREDICTION, .metric = METRIC_PROB,
                           .metrics = {METRIC_PROB}, .n_metrics = 1, .n_keep_ids = -1, .t_hi = -1, .t_step = 1};
    KopError terr = {0};
    Tokenizer *tok = tokenizer_load(tokenizer ? tokenizer : model_dir, &terr);
    PromptList pl = {0};
    int status = load_prompts(&clean, prompts_path, &pl, err);
    for (int i = 0; status == 0 && !tok && i < pl.n; i++)
        if (pl.v[i]->text)
            status = kop_fail(err, terr.status ? terr.status : KOP_EXIT_DATA, "%s needs a tokenizer for its text prompts: %s",
                              prompts_path, terr.msg);
    results_init(res, &clean, "clean", model_dir);
    if (status == 0) {
        ExecInput in = {.recipe = &clean, .model = m, .tok = tok, .prompts = &pl};
        ExecOptions eo = {.threads = threads_set(threads), .quiet = quiet};
        status = exec_recipe(&in, &eo, res, err);
    }
    if (status == 0) {
        *texts = kop_xcalloc((size_t)(pl.n ? pl.n : 1), sizeof **texts);
        for (int i = 0; i < pl.n; i++) (*texts)[i] = pl.v[i]->text ? kop_xstrdup(pl.v[i]->text) : NULL;
    }
    prompt_list_free(&pl);
    tokenizer_free(tok);
    return status;
}
