/* pipeline_run.c: checking and running a pipeline (see pipeline.h).
 *
 * Both start with the same validation, which reports at the place in the
 * pipeline file where the offending thing was written: every recipe is
 * compiled once on its own (its own errors at its own file:line:col), then
 * once per model it runs on, with that model's architecture and layer count
 * when known (from the YAML for `kop check`, from config.json for a run), so
 * `features` on GPT-2 or a window wider than the model is caught before any
 * model is loaded; then the figures' experiment, statement and model names
 * are resolved against the compiled recipes.  A run goes on only when all of
 * that passed, then loads each model once and runs its recipes in order. */
#include "config.h"
#include "pipeline.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "outdir.h"
#include "ranks.h"
#include "results.h"
#include "run.h"
#include "render.h"
#include "summary_csv.h"
#include "trace_roles.h"

/* What the pipeline needs to know about one compiled recipe. */
typedef struct Compiled {
    int ok;
    const char *experiment;
    Metric metric;         /* the first of metrics */
    Metric metrics[METRIC_N];
    int n_metrics;
    const char **labels;   /* (n_labels) block (or restore) labels */
    int n_labels;
    int by_role;           /* `aggregate t by role`: its t are trace_roles.h's roles */
} Compiled;

typedef struct Ctx {
    Pipeline *p;
    Compiled *rc;          /* (n_recipes) */
    Arch *arch;            /* (n_models) from the YAML, or config.json when read; 0: unknown */
    int *layers;           /* (n_models) likewise */
} Ctx;

/* Does recipe r go with a model of arch a and n_layers layers (0: unknown)? */
static int runs_on(const PipeRecipe *r, Arch a, int n_layers)
{
    return (!r->archs || !a || (r->archs & (1u << a))) && (!n_layers || n_layers >= r->min_layers);
}

// ---- recipes ------------------------------------------------------------------------

/* Compile the recipe text for one model (arch and n_layers may be 0); its
 * own diagnostics go to out.  Fills c when not NULL.  0 or -1. */
static int compile_for(const Pipeline *p, const PipeRecipe *pr, const char *text, size_t len, Arch arch,
                       int n_layers, const char *model, FILE *out, Compiled *c)
{
    KopArena *ar = arena_new();
    Diag *d = diag_new(pr->path, text, len, out);
    CheckOptions opt = {.path = pr->path, .arch = arch, .model_name = model, .check_files = !p->prompts && !model};
    Recipe *r = kop_compile(&opt, n_layers, d, ar);
    if (r && c) {
        c->ok = 1;
        c->experiment = arena_strndup(p->ar, r->experiment, strlen(r->experiment));
        c->metric = r->metric;
        memcpy(c->metrics, r->metrics, sizeof c->metrics);
        c->n_metrics = r->n_metrics;
        c->by_role = r->aggregate_roles;
        c->n_labels = r->n_blocks + r->n_restores; /* a recipe has one kind or the other */
        c->labels = arena_alloc(p->ar, sizeof *c->labels * (size_t)(c->n_labels ? c->n_labels : 1));
        for (int b = 0; b < r->n_blocks; b++)
            c->labels[b] = arena_strndup(p->ar, r->blocks[b].label, strlen(r->blocks[b].label));
        for (int b = 0; b < r->n_restores; b++)
            c->labels[b] = arena_strndup(p->ar, r->restores[b].label, strlen(r->restores[b].label));
    }
    diag_free(d);
    arena_free(ar);
    return r ? 0 : -1;
}

static void check_recipe(Ctx *c, int i)
{
    Pipeline *p = c->p;
    const PipeRecipe *pr = &p->recipes[i];
    if (!pr->path) return; /* already reported */
    KopError err = {0};
    size_t len;
    char *text = kop_read_file_max(pr->path, KOP_SPEC_MAX, "a recipe", &len, &err);
    if (!text) {
        diag_error(p->diag, pr->loc, "cannot read this recipe: %s", err.msg);
        return;
    }
    if (compile_for(p, pr, text, len, 0, 0, NULL, p->diag_out, &c->rc[i]) < 0) {
        diag_error(p->diag, pr->loc, "this recipe has errors (above)");
    } else {
        for (int j = 0; j < i; j++)
            if (c->rc[j].ok && !strcmp(c->rc[j].experiment, c->rc[i].experiment)) {
                diag_error(p->diag, pr->loc,
                           "this recipe's experiment is '%s', like the recipe on line %d: their results would share a folder",
                           c->rc[i].experiment, diag_line(p->diag, p->recipes[j].loc));
                break;
            }
        for (int m = 0; c->rc[i].ok && m < p->n_models; m++) {
            const PipeModel *pm = &p->models[m];
            if (!runs_on(pr, c->arch[m], c->layers[m]) || (!c->arch[m] && !c->layers[m])) continue;
            /* quietly, so the recipe's warnings are not repeated per model;
             * again aloud when it fails */
            if (compile_for(p, pr, text, len, c->arch[m], c->layers[m], pm->name, NULL, NULL) < 0) {
                compile_for(p, pr, text, len, c->arch[m], c->layers[m], pm->name, p->diag_out, NULL);
                char what[64] = "";
                if (c->arch[m]) snprintf(what, sizeof what, "%s", arch_name(c->arch[m]));
                if (c->layers[m])
                    snprintf(what + strlen(what), sizeof what - strlen(what), "%s%d layers", *what ? ", " : "",
                             c->layers[m]);
                diag_error(p->diag, pr->loc, "this recipe does not compile for model '%s' (%s; see above)", pm->name,
                           what);
            }
        }
    }
    free(text);
}

// ---- figures ------------------------------------------------------------------------

static int recipe_by_experiment(const Ctx *c, const char *name)
{
    for (int i = 0; i < c->p->n_recipes; i++)
        if (c->rc[i].ok && !strcmp(c->rc[i].experiment, name)) return i;
    return -1;
}

/* Does model m run any recipe of figure f? */
static int model_in_figure(const Ctx *c, const PipeFigure *f, int m)
{
    for (int i = 0; i < f->recipes.n; i++) {
        int r = recipe_by_experiment(c, f->recipes.v[i]);
        if (r >= 0 && runs_on(&c->p->recipes[r], c->arch[m], c->layers[m])) return 1;
    }
    return 0;
}

static void check_statement(const Ctx *c, const PipeFigure *f, int s)
{
    const char *want = f->statements.v[s];
    for (int i = 0; i < f->recipes.n; i++) {
        int r = recipe_by_experiment(c, f->recipes.v[i]);
        if (r < 0) return; /* reported */
        for (int b = 0; b < c->rc[r].n_labels; b++)
            if (!strcmp(c->rc[r].labels[b], want)) return;
    }
    char known[2048] = "";
    for (int i = 0; i < f->recipes.n; i++) {
        const Compiled *rc = &c->rc[recipe_by_experiment(c, f->recipes.v[i])];
        for (int b = 0; b < rc->n_labels; b++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s'%s'", known[0] ? ", " : "", rc->labels[b]);
    }
    diag_error(c->p->diag, f->statements.loc[s], "no statement '%s' in %s; its statements are: %s", want,
               f->recipes.n == 1 ? f->recipes.v[0] : "these recipes", known);
}

static void check_figure(const Ctx *c, int fi)
{
    const Pipeline *p = c->p;
    const PipeFigure *f = &p->figures[fi];
    int metric = -1, known = 1, all_ok = 1;
    for (int i = 0; i < p->n_recipes; i++) all_ok &= c->rc[i].ok;
    for (int i = 0; i < f->recipes.n; i++) {
        int r = recipe_by_experiment(c, f->recipes.v[i]);
        if (r < 0 && !all_ok) { /* it may be the experiment of a recipe with errors */
            known = 0;
        } else if (r < 0) {
            const char **names = kop_xmalloc(sizeof *names * (size_t)(p->n_recipes + 1));
            int n = 0;
            for (int j = 0; j < p->n_recipes; j++)
                if (c->rc[j].ok) names[n++] = c->rc[j].experiment;
            pipelinep_unknown(p->diag, f->recipes.loc[i], "experiment", f->recipes.v[i], "", names, n);
            free(names);
            known = 0;
        } else if (f->fig.metric >= 0) {
            int found = 0;
            for (int q = 0; q < c->rc[r].n_metrics; q++) found |= (int)c->rc[r].metrics[q] == f->fig.metric;
            if (!found)
                diag_error(p->diag, f->metric_loc, "'%s' does not measure %s", f->recipes.v[i],
                           plan_metric_name((Metric)f->fig.metric));
        } else if (metric >= 0 && (int)c->rc[r].metric != metric) {
            diag_error(p->diag, f->recipes.loc[i], "'%s' measures %s but '%s' measures %s: a figure shows one metric",
                       f->recipes.v[i], plan_metric_name(c->rc[r].metric), f->recipes.v[0],
                       plan_metric_name((Metric)metric));
        } else {
            metric = (int)c->rc[r].metric;
        }
    }
    if (!known) return;
    for (int s = 0; s < f->statements.n; s++) check_statement(c, f, s);
    int any = 0;
    for (int m = 0; m < p->n_models; m++) any |= model_in_figure(c, f, m);
    for (int i = 0; i < f->models.n; i++) {
        int m = pipelinep_model_index(p, f->models.v[i]);
        if (m >= 0 && !model_in_figure(c, f, m))
            diag_error(p->diag, f->models.loc[i], "model '%s' (%s) runs none of this figure's recipes (see their 'archs')",
                       f->models.v[i], arch_name(c->arch[m]));
    }
    if (!any) diag_error(p->diag, f->loc, "no model runs this figure's recipes (see their 'archs')");
    const char *mine[2] = {f->lines, f->heatmap};
    for (int j = 0; j < fi; j++) {
        const PipeFigure *g = &p->figures[j];
        const char *theirs[2] = {g->lines, g->heatmap};
        for (int a = 0; a < 4; a++)
            if (mine[a / 2] && theirs[a % 2] && !strcmp(mine[a / 2], theirs[a % 2])) {
                diag_error(p->diag, f->loc, "this figure writes '%s', as the figure on line %d does", mine[a / 2],
                           diag_line(p->diag, g->loc));
                break;
            }
    }
    for (int k = 0; k < 2; k++) { /* out/EXPERIMENT/ holds that experiment's results */
        const char *file = k ? f->heatmap : f->lines;
        size_t n = file ? strcspn(file, "/") : 0;
        for (int i = 0; file && file[n] && i < p->n_recipes; i++)
            if (c->rc[i].ok && strlen(c->rc[i].experiment) == n && !strncmp(file, c->rc[i].experiment, n)) {
                diag_error(p->diag, f->loc, "'%s' would be written among the results of experiment '%s': "
                           "choose another folder", file, c->rc[i].experiment);
                break;
            }
    }
    if (f->lines && f->heatmap && !strcmp(f->lines, f->heatmap))
        diag_error(p->diag, f->loc, "'lines' and 'heatmap' are both '%s'", f->lines);
}

// ---- validation -----------------------------------------------------------------------

static void ctx_init(Ctx *c, Pipeline *p)
{
    c->p = p;
    c->rc = arena_alloc(p->ar, sizeof *c->rc * (size_t)(p->n_recipes ? p->n_recipes : 1));
    c->arch = arena_alloc(p->ar, sizeof *c->arch * (size_t)(p->n_models ? p->n_models : 1));
    c->layers = arena_alloc(p->ar, sizeof *c->layers * (size_t)(p->n_models ? p->n_models : 1));
    for (int m = 0; m < p->n_models; m++) {
        c->arch[m] = p->models[m].arch;
        c->layers[m] = p->models[m].layers;
    }
}

static int fail_count(const Pipeline *p, KopError *err)
{
    int n = diag_errors(p->diag);
    return kop_fail(err, KOP_EXIT_DATA, "%s: %d error%s", p->path, n, n == 1 ? "" : "s");
}

/* Recipes, then figures; -1 and err after errors. */
static int validate(Ctx *c, KopError *err)
{
    for (int i = 0; i < c->p->n_recipes; i++) check_recipe(c, i);
    for (int f = 0; f < c->p->n_figures; f++) check_figure(c, f);
    return diag_errors(c->p->diag) ? fail_count(c->p, err) : 0;
}

/* A run needs the model folders and the prompts file: check them all before
 * running anything, at the place each was written.  Fills c->arch and
 * c->layers from config.json. */
static void check_files(Ctx *c)
{
    Pipeline *p = c->p;
    for (int m = 0; m < p->n_models; m++) {
        const PipeModel *pm = &p->models[m];
        struct stat st;
        Config cfg;
        KopError err = {0};
        if (stat(pm->dir, &st) < 0) {
            diag_error(p->diag, pm->dir_loc, "model folder '%s' not found: %s", pm->dir, strerror(errno));
        } else if (!S_ISDIR(st.st_mode)) {
            diag_error(p->diag, pm->dir_loc, "'%s' is not a folder: a model is a folder with config.json", pm->dir);
        } else if (config_load(&cfg, pm->dir, &err) < 0) {
            diag_error(p->diag, pm->dir_loc, "%s", err.msg);
        } else {
            if (pm->arch && pm->arch != cfg.arch)
                diag_error(p->diag, pm->arch_loc, "'%s' holds a %s model, not %s", pm->dir, arch_name(cfg.arch),
                           arch_name(pm->arch));
            if (pm->layers && pm->layers != cfg.n_layer)
                diag_error(p->diag, pm->layers_loc, "'%s' has %d layers, not %d", pm->dir, cfg.n_layer, pm->layers);
            c->arch[m] = cfg.arch;
            c->layers[m] = cfg.n_layer;
        }
    }
    FILE *f = p->prompts ? fopen(p->prompts, "r") : NULL;
    if (p->prompts && !f) diag_error(p->diag, p->prompts_loc, "cannot open prompts file '%s': %s", p->prompts, strerror(errno));
    if (f) fclose(f);
}

int pipeline_check(Pipeline *p, FILE *out, KopError *err)
{
    Ctx c;
    ctx_init(&c, p);
    if (validate(&c, err) < 0) return -1;
    if (!out) return 0;
    int runs = 0;
    for (int m = 0; m < p->n_models; m++)
        for (int i = 0; i < p->n_recipes; i++) runs += runs_on(&p->recipes[i], c.arch[m], c.layers[m]);
    fprintf(out, "pipeline %s: %d model%s x %d recipe%s = %d run%s, %d figure%s\n", p->name, p->n_models,
            p->n_models == 1 ? "" : "s", p->n_recipes, p->n_recipes == 1 ? "" : "s", runs, runs == 1 ? "" : "s",
            p->n_figures, p->n_figures == 1 ? "" : "s");
    int wn = 1, wa = 1; /* column widths: the longest name and architecture */
    for (int m = 0; m < p->n_models; m++) {
        int n = (int)strlen(p->models[m].name), a = p->models[m].arch ? (int)strlen(arch_name(p->models[m].arch)) : 1;
        wn = n > wn ? n : wn;
        wa = a > wa ? a : wa;
    }
    for (int m = 0; m < p->n_models; m++) {
        const PipeModel *pm = &p->models[m];
        struct stat st;
        fprintf(out, "  %-*s %-*s", wn, pm->name, wa, pm->arch ? arch_name(pm->arch) : "?");
        if (pm->layers) fprintf(out, " %3d layers", pm->layers);
        else fprintf(out, "  ? layers");
        fprintf(out, "  %s%s: ", pm->dir, stat(pm->dir, &st) == 0 ? "" : " (absent)");
        int n = 0;
        for (int i = 0; i < p->n_recipes; i++) n += runs_on(&p->recipes[i], c.arch[m], c.layers[m]);
        if (n == p->n_recipes) fprintf(out, "every recipe");
        else fprintf(out, "%d recipe%s, not", n, n == 1 ? "" : "s");
        for (int i = 0; n < p->n_recipes && i < p->n_recipes; i++)
            if (!runs_on(&p->recipes[i], c.arch[m], c.layers[m])) fprintf(out, " %s", c.rc[i].experiment);
        fputc('\n', out);
    }
    if (p->prompts)
        fprintf(out, "  prompts: %s%s, instead of the recipes' own\n", p->prompts,
                access(p->prompts, R_OK) == 0 ? "" : " (absent)");
    if (p->keep_all_correct) fprintf(out, "  keep: correct on all (every model's clean forward on the prompts first)\n");
    return 0;
}

// ---- running --------------------------------------------------------------------------

/* Append a CSV file to t, without its header line when t has one already. */
static int in_list(const PipeList *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s)) return 1;
    return 0;
}

/* The row's value of a figure dimension (PIPE_BY_*). */
static const char *by_value(const SummaryRow *r, int by)
{
    return by == PIPE_BY_RECIPE ? r->experiment : by == PIPE_BY_MODEL ? r->model : r->statement;
}

/* line_by / panel_by: the renderer draws a line per series (its `model`)
 * and a panel per row (its `statement`) -- a heatmap a panel per series and
 * a row per statement -- so the rows are relabelled: the line dimension
 * into `model`, the panel one into `statement`, and the third, when it
 * varies, appended to the line's name.  Labels are owned by the arena. */
static void regroup(const PipeFigure *f, Summary *s, int heatmap, KopArena *ar)
{
    int third = 3 - f->line_by - f->panel_by, varies = 0;
    for (int i = 1; i < s->n_rows; i++) varies |= strcmp(by_value(&s->rows[i], third), by_value(&s->rows[0], third)) != 0;
    for (int i = 0; i < s->n_rows; i++) {
        SummaryRow *r = &s->rows[i];
        const char *line = by_value(r, f->line_by), *panel = by_value(r, f->panel_by);
        char *l = varies ? kop_strf("%s, %s", line, by_value(r, third)) : kop_xstrdup(line);
        const char *lv = arena_strndup(ar, l, strlen(l)), *pv = arena_strndup(ar, panel, strlen(panel));
        free(l);
        r->model = (char *)(heatmap ? pv : lv);
        r->statement = (char *)(heatmap ? lv : pv);
        r->experiment = (char *)"figure"; /* one experiment: no prefixes; the title names them */
    }
}

/* One figure: the joined summaries of its experiments (in memory),
 * filtered to its statements and models, drawn as render.h draws several
 * models (one series each), or regrouped by line_by / panel_by. */
static int draw_figure(const Ctx *c, const PipeFigure *f, const Summary *joined, const char *out, FILE *log,
                       KopError *err)
{
    char *name = kop_strf("%s (figure on line %d)", c->p->path, diag_line(c->p->diag, f->loc));
    Summary keep = {.name = name};
    int cap = 0, status = 0, by_role = 1;
    for (int i = 0; i < f->recipes.n; i++)
        for (int e = 0; e < c->p->n_recipes; e++) {
            if (!c->rc[e].ok || strcmp(c->rc[e].experiment, f->recipes.v[i])) continue;
            by_role &= c->rc[e].by_role;
            const Summary *s = &joined[e];
            for (int k = 0; k < s->n_rows; k++) {
                if ((f->statements.n && !in_list(&f->statements, s->rows[k].statement)) ||
                    (f->models.n && !in_list(&f->models, s->rows[k].model)))
                    continue;
                if (keep.n_rows == cap) keep.rows = kop_xrealloc(keep.rows, sizeof *keep.rows * (size_t)(cap = 2 * cap + 64));
                keep.rows[keep.n_rows++] = s->rows[k]; /* borrowed */
            }
        }
    /* the metric: the figure's, else the recipes' first (all the same, checked) */
    const char *metric = f->fig.metric >= 0 ? plan_metric_name((Metric)f->fig.metric) : NULL;
    for (int e = 0; !metric && e < c->p->n_recipes; e++)
        if (c->rc[e].ok && !strcmp(c->rc[e].experiment, f->recipes.v[0])) metric = plan_metric_name(c->rc[e].metric);
    int regrouped = f->line_by != PIPE_BY_MODEL || f->panel_by != PIPE_BY_STATEMENT;
    if (keep.n_rows == 0) status = kop_fail(err, KOP_EXIT_DATA, "%s: no results to draw", name);
    for (int k = 0; status == 0 && k < 2; k++) {
        const char *file = k ? f->heatmap : f->lines;
        if (!file) continue;
        KopArena *ar = arena_new();
        Summary s = keep;
        s.rows = kop_xmalloc(sizeof *s.rows * (size_t)keep.n_rows);
        memcpy(s.rows, keep.rows, sizeof *s.rows * (size_t)keep.n_rows);
        if (regrouped) regroup(f, &s, k, ar);
        SummaryPlot sp;
        /* role-averaged traces label their rows by role; a token map of one
         * prompt per model has no labels every model shares */
        status = summary_plot_opts(&s, metric, by_role ? trace_role_names : NULL, by_role ? ROLE_N : 0, &f->fig, &sp,
                                   err);
        if (status == 0) {
            if (f->title) sp.d.experiment = f->title;
            else if (regrouped) {
                KopBuf t = {0};
                for (int i = 0; i < f->recipes.n; i++) kop_buf_addf(&t, "%s%s", i ? " + " : "", f->recipes.v[i]);
                sp.d.experiment = arena_strndup(ar, t.s, t.n);
                free(t.s);
            }
            char *path = outdir_file(out, file, err); /* subfolders made, no link followed */
            status = path ? 0 : -1;
            if (status == 0) status = k ? render_heatmap(path, &sp.d, err) : render_lines(path, &sp.d, err);
            if (status == 0 && log) fprintf(log, "figure %s\n", path);
            free(path);
            summary_plot_free(&sp);
        }
        free(s.rows);
        arena_free(ar);
    }
    free(keep.rows);
    free(name);
    return status;
}

/* OUTPUT/pipeline.yaml: the file as run, after a comment naming the --set
 * values and the pipeline's status (running, until every run, summary and
 * figure is written: complete); each run's manifest.yaml records the rest. */
static int write_record(const Pipeline *p, const char *out, const char *status, KopError *err)
{
    KopBuf t = {0};
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    for (int i = -1; i < p->n_sets; i++) {
        char *line = i < 0 ? kop_strf("# %s as run by kop %s on %s%s\n", p->path, PACKAGE_VERSION, stamp,
                                          p->n_sets ? " with:" : "")
                           : kop_strf("#   --set %s\n", p->sets[i]);
        for (char *q = line; q[1]; q++) /* one comment line each, whatever the value holds */
            if (*q == '\n' || *q == '\r') *q = ' ';
        char *esc = kop_utf8_escape(line, strlen(line)); /* paths and values are bytes; YAML is UTF-8 */
        kop_buf_add(&t, esc, strlen(esc));
        free(esc);
        free(line);
    }
    kop_buf_addf(&t, "# status: %s\n", status);
    kop_buf_add(&t, p->text, p->len);
    char *path = kop_path_join(out, "pipeline.yaml");
    int rc = kop_write_file(path, t.s, t.n, err);
    free(path);
    free(t.s);
    return rc;
}

/* Run every recipe that goes with model m, the model loaded once and each
 * recipe compiled once for it; sums[i * n_models + m] receives the run's
 * summary rows. */
static int run_model(const Ctx *c, int m, const char *out, const PipelineRunOptions *o, Summary *sums,
                     const unsigned char *keep, int n_keep, KopError *err)
{
    const Pipeline *p = c->p;
    const PipeModel *pm = &p->models[m];
    Model model;
    int rc = model_load(&model, pm->dir, err);
    if (ranks_agree(rc, err) < 0) { /* under MPI, every rank loads it (ranks.h) */
        if (rc == 0) model_free(&model);
        return -1;
    }
    int status = 0;
    for (int i = 0; i < p->n_recipes && status == 0; i++) {
        if (!runs_on(&p->recipes[i], model.cfg.arch, model.cfg.n_layer)) continue;
        size_t len;
        char *text = kop_read_file(p->recipes[i].path, &len, err);
        if (ranks_agree(text ? 0 : -1, err) < 0) {
            free(text);
            status = -1;
            break;
        }
        KopArena *ar = arena_new();
        Diag *d = diag_new(p->recipes[i].path, text, len, stderr);
        CheckOptions opt = {.path = p->recipes[i].path, .arch = model.cfg.arch, .model_name = pm->name,
                            .check_files = !p->prompts};
        const Recipe *r = kop_compile(&opt, model.cfg.n_layer, d, ar);
        if (!r) {
            status = kop_fail(err, KOP_EXIT_DATA, "%s: %d error%s", p->recipes[i].path, diag_errors(d),
                              diag_errors(d) == 1 ? "" : "s");
        } else {
            char *dir = kop_strf("%s/%s/%s", out, c->rc[i].experiment, pm->name);
            RunOptions ro = {.recipe_path = p->recipes[i].path, .recipe = r, .model_dir = pm->dir,
                             .model_label = pm->name, .out_dir = dir, .threads = o->threads ? o->threads : p->threads,
                             .quiet = o->quiet, .log = o->log, .model = &model, .tokenizer = pm->tokenizer,
                             .prompts = p->prompts, .limit = p->limit, .max_tokens = o->max_tokens,
                             .summary = &sums[i * p->n_models + m],
                             .keep = p->recipes[i].keep_own ? NULL : keep, .n_keep = n_keep,
                             .keep_note = "keep: correct on all (the prompts every model of the pipeline answers correctly)"};
            status = run_recipe(&ro, err);
            free(dir);
        }
        diag_free(d);
        arena_free(ar);
        free(text);
    }
    model_free(&model);
    return status;
}

/* The rows of several summaries as one (borrowed: free only .rows and .name). */
static void join(const Summary *const *v, int n, const char *name, Summary *out)
{
    int rows = 0;
    for (int i = 0; i < n; i++) rows += v[i]->n_rows;
    out->name = kop_xstrdup(name);
    out->rows = kop_xmalloc(sizeof *out->rows * (size_t)(rows ? rows : 1));
    out->n_rows = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < v[i]->n_rows; k++) out->rows[out->n_rows++] = v[i]->rows[k];
}

int pipeline_run(Pipeline *p, const PipelineRunOptions *o, KopError *err)
{
    Ctx c;
    ctx_init(&c, p);
    check_files(&c);
    if (ranks_agree(validate(&c, err), err) < 0) return -1;
    char *out = o->out_dir ? kop_xstrdup(o->out_dir)
                : p->output ? kop_xstrdup(p->output) : kop_strf("results/%s", p->name);
    int cells = p->n_recipes * p->n_models;
    Summary *sums = kop_xcalloc((size_t)(cells ? cells : 1), sizeof *sums);
    /* rank 0 holds the folder; every rank learns whether that worked */
    OutDir od = {.lock_fd = -1};
    int status = 0, n_keep = 0;
    if (ranks_rank() == 0) {
        char *label = kop_strf("kop run %s", p->path);
        status = outdir_open(&od, out, label, err);
        free(label);
        if (status == 0) outdir_clear(&od); /* an earlier run's figures and summaries gone */
        if (status == 0) status = write_record(p, out, "running", err);
    } else {
        status = kop_make_dirs(out, err);
    }
    status = ranks_agree(status, err);
    unsigned char *keep = NULL;
    if (status == 0 && p->keep_all_correct)
        status = pipelinep_keep_all(p, out, o->threads ? o->threads : p->threads, o->quiet, o->log, &keep, &n_keep, err);
    for (int m = 0; m < p->n_models && status == 0; m++) status = run_model(&c, m, out, o, sums, keep, n_keep, err);
    free(keep);
    /* Under MPI every rank took part in each model x recipe run, one after
     * another, and rank 0 wrote them: it alone writes what joins them. */
    if (ranks_rank() != 0) {
        for (int i = 0; i < cells; i++) summary_free(&sums[i]);
        free(sums);
        free(out);
        return status;
    }
    /* every model's summary of an experiment in one file, for `kop render`
     * and the figures */
    Summary *joined = kop_xcalloc((size_t)(p->n_recipes ? p->n_recipes : 1), sizeof *joined);
    const Summary **v = kop_xmalloc(sizeof *v * (size_t)(p->n_models ? p->n_models : 1));
    for (int i = 0; i < p->n_recipes && status == 0; i++) {
        int n = 0;
        for (int m = 0; m < p->n_models; m++)
            if (sums[i * p->n_models + m].n_rows) v[n++] = &sums[i * p->n_models + m];
        char *rel = kop_strf("%s/summary.csv", c.rc[i].experiment), *path = outdir_file(out, rel, err);
        free(rel);
        if (!path) {
            status = -1;
            break;
        }
        join(v, n, path, &joined[i]);
        if (joined[i].n_rows) status = summary_write(path, &joined[i], err);
        free(path);
    }
    free(v);
    for (int f = 0; f < p->n_figures && status == 0; f++)
        status = draw_figure(&c, &p->figures[f], joined, out, o->log, err);
    for (int i = 0; i < p->n_recipes; i++) {
        free(joined[i].rows);
        free(joined[i].name);
    }
    free(joined);
    for (int i = 0; i < cells; i++) summary_free(&sums[i]);
    free(sums);
    if (status == 0) status = write_record(p, out, "complete", err);
    if (status == 0 && o->log) fprintf(o->log, "pipeline %s: results in %s/\n", p->name, out);
    outdir_release(&od);
    free(out);
    return status;
}
