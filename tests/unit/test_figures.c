/* test_figures.c: the paper's figure options, from compiled recipes and
 * Results built by hand: `x depth` places each point at its window's first
 * layer as a percentage of the model's layers (models of different depths
 * on one axis), the band is the standard error, the ci95 half-width or
 * none, and `per prompt` draws one panel per prompt with its own tokens. */
#include "config.h"

#include <math.h>

#include "check.h"
#include "render.h"
#include "results.h"
#include "tap.h"

static Recipe *compile(const char *text, int L, KopArena *ar, Diag **d)
{
    *d = diag_new("t.kop", text, strlen(text), stderr);
    CheckOptions o = {.path = "t.kop"};
    return kop_compile(&o, L, *d, ar);
}

/* Results of n_prompts prompts on recipe r: one Measure per item x t x
 * metric, with value = item + 0.5 * prompt, p_after unused. */
static void fake(Results *res, const Recipe *r, const char *model, int n_prompts, int T)
{
    results_init(res, r, r->experiment, model);
    for (int p = 0; p < n_prompts; p++) {
        PromptResult pr = {.index = p, .mine = 1, .used = 1, .T = T, .id = 100 + p, .p_clean = 0.5};
        int nt = r->uses_t ? T : 1;
        pr.m = kop_xmalloc(sizeof *pr.m * (size_t)(r->n_items * nt * r->n_metrics));
        for (int i = 0; i < r->n_items; i++)
            for (int t = 0; t < (r->items[i].block->uses_t ? T : 1); t++)
                for (int q = 0; q < r->n_metrics; q++)
                    pr.m[pr.n_m++] = (Measure){.item = i, .t = r->items[i].block->uses_t ? t : -1, .metric = q,
                                               .value = (r->items[i].block->uses_t ? -0.01 * t : 0) + i + 0.5 * p};
        if (r->uses_t) {
            pr.labels = kop_xcalloc((size_t)T, sizeof *pr.labels);
            for (int t = 0; t < T; t++) pr.labels[t] = kop_strf("tok%d", t);
            pr.n_labels = T;
        }
        results_add(res, &pr);
    }
    results_finish(res);
}

static void depth_axis(void)
{
    const char *text = "prompt \"a b\" subject \"a\"\nsweep k in 0..L-9\nblock subject -> last in layers[k..k+8]\n"
                       "block last -> last in layers[k-2..k+2]\n";
    KopArena *ar = arena_new();
    Diag *d24, *d48;
    Recipe *r24 = compile(text, 24, ar, &d24), *r48 = compile(text, 48, ar, &d48);
    ok(r24 && r48, "recipes compile for 24 and 48 layers");
    if (!r24 || !r48) return;
    Results a, b;
    fake(&a, r24, "m24", 3, 2);
    fake(&b, r48, "m48", 3, 2);
    Summary sa, sb;
    results_summary(&a, &sa);
    results_summary(&b, &sb);
    int good = 1;
    for (int i = 0; i < sa.n_rows; i++) {
        const PlanItem *it = &r24->items[a.acc[i].item];
        double want = (it->block->index == 1 ? it->k : it->k - 2) * 100.0 / 24;
        good &= fabs(sa.rows[i].depth - want) < 1e-8;
    }
    ok(good, "depth: the window's first layer (before clipping) / 24 * 100");
    /* both models in one summary: the union of their depths, each curve
     * stepping over the other's points */
    Summary both = {.name = "both", .n_rows = sa.n_rows + sb.n_rows};
    both.rows = kop_xmalloc(sizeof *both.rows * (size_t)both.n_rows);
    memcpy(both.rows, sa.rows, sizeof *sa.rows * (size_t)sa.n_rows);
    memcpy(both.rows + sa.n_rows, sb.rows, sizeof *sb.rows * (size_t)sb.n_rows);
    FigureOpts fig = {.metric = -1, .x_depth = 1, .band = BAND_CI95};
    SummaryPlot sp;
    KopError err = {0};
    ok(summary_plot_opts(&both, NULL, NULL, 0, &fig, &sp, &err) == 0, "plot of two depths: %s", err.msg);
    /* subject rows: 24 layers -> k/24 for k 0..15, 48 -> k/48 for k 0..39: union */
    /* 48 layers: first layers -2..39 of 48 (the second block starts 2
     * before k); 24 layers: -2..15 of 24, i.e. -4, -2, 0, ..., 30 of 48:
     * the union is -4 and -2..39 of 48, 43 values */
    int on_grid = 1, in_order = 1;
    for (int i = 0; i < sp.d.n_x; i++) {
        double x48 = sp.d.x[i] * 48 / 100;
        on_grid &= fabs(x48 - floor(x48 + 0.5)) < 1e-9;
        if (i) in_order &= sp.d.x[i] > sp.d.x[i - 1];
    }
    for (int i = 0; i < sp.d.n_x && getenv("KOP_KEEP_FIG"); i++) printf("# x %.17g\n", sp.d.x[i]);
    ok(in_order && on_grid && sp.d.n_x == 43 && fabs(sp.d.x[0] + 2 * 100.0 / 24) < 1e-8,
       "x: the union of both models' depths, the same depth once (%d x)", sp.d.n_x);
    ok(sp.d.join_gaps && sp.d.x_title && strstr(sp.d.x_title, "depth"), "curves step over the other model's depths");
    /* series 1 (m48) at depth 50 % is k = 24; series 0 (m24) at 50 % is k = 12 */
    int xi = -1;
    for (int i = 0; i < sp.d.n_x; i++) if (sp.d.x[i] == 50.0) xi = i;
    ok(xi >= 0 && PLOT_AT(&sp.d, sp.d.mean, 0, 0, xi) == 12.5 && PLOT_AT(&sp.d, sp.d.mean, 1, 0, xi) == 24.5,
       "the point at 50 %% is each model's own window start");
    double ci = NAN;
    for (int i = 0; i < sa.n_rows; i++) if (sa.rows[i].depth == 50.0 && sa.rows[i].statement[6] == 's') ci = sa.rows[i].ci95;
    ok(xi >= 0 && PLOT_AT(&sp.d, sp.d.se, 0, 0, xi) == ci && ci > 0, "band ci95: the Student-t half-width");
    summary_plot_free(&sp);
    fig.band = BAND_NONE;
    ok(summary_plot_opts(&both, NULL, NULL, 0, &fig, &sp, &err) == 0 && sp.d.se == NULL, "band none: no band");
    Canvas c;
    ok(render_lines_canvas(&c, &sp.d, &err) == 0, "the depth figure renders");
    raster_free(&c);
    summary_plot_free(&sp);
    /* a summary read back from a file has no depth: said, not guessed */
    Summary file;
    const char *csv = "experiment,model,statement,k,t,n,mean,stderr,ci95,metric\ne,m,s,0,,3,0.5,0.1,0.2,prob\n";
    summary_parse(csv, strlen(csv), "s.csv", &file, &err);
    fig.band = BAND_STDERR;
    ok(summary_plot_opts(&file, NULL, NULL, 0, &fig, &sp, &err) < 0 && strstr(err.msg, "s.csv:2"), "depth from a file: %s",
       err.msg);
    summary_free(&file);
    free(both.rows);
    summary_free(&sa);
    summary_free(&sb);
    results_free(&a);
    results_free(&b);
    diag_free(d24);
    diag_free(d48);
    arena_free(ar);
}

static void per_prompt(void)
{
    const char *text = "prompt \"a b\" subject \"a\"\nsweep k in 0..L-3\nblock tokens[t] -> last in layers[k..k+2]\n"
                       "measure prob_diff\n";
    KopArena *ar = arena_new();
    Diag *d;
    Recipe *r = compile(text, 8, ar, &d);
    ok(r != NULL, "per-prompt recipe compiles");
    if (!r) return;
    FigureOpts fig = {.metric = -1, .colors = COLORS_RDYLGN, .has_clim = 1, .clim = {-0.3, 0.3}, .per_prompt = 1};
    char dir[] = "/tmp/kop-fig-XXXXXX";
    ok(mkdtemp(dir) != NULL, "temporary folder");
    char *p1 = kop_strf("%s/one.png", dir), *p3 = kop_strf("%s/three.png", dir), *pl = kop_strf("%s/relab.png", dir);
    Results one, three;
    fake(&one, r, "m", 1, 4);
    fake(&three, r, "m", 3, 4);
    KopError err = {0};
    ok(render_per_prompt(p1, &one, METRIC_PROB_DIFF, &fig, &err) == 0, "one prompt: %s", err.msg);
    ok(render_per_prompt(p3, &three, METRIC_PROB_DIFF, &fig, &err) == 0, "three prompts: %s", err.msg);
    Canvas c1 = {0}, c3 = {0}, cl = {0};
    ok(render_png_read(p1, &c1, &err) == 0 && render_png_read(p3, &c3, &err) == 0, "the PNGs decode");
    ok(c3.h == 3 * c1.h && c3.w == c1.w, "one panel per prompt: %dx%d vs %dx%d", c3.w, c3.h, c1.w, c1.h);
    /* the same panel with other token labels differs only left of the cells: the labels are drawn */
    for (int t = 0; t < 4; t++) {
        free(one.prompts[0].labels[t]);
        one.prompts[0].labels[t] = kop_strf("TOK%d", t);
    }
    ok(render_per_prompt(pl, &one, METRIC_PROB_DIFF, &fig, &err) == 0 && render_png_read(pl, &cl, &err) == 0,
       "relabelled panel renders");
    long differ = 0;
    if (cl.w == c1.w && cl.h == c1.h)
        for (size_t i = 0; i < (size_t)c1.w * c1.h * 3; i++) differ += c1.px[i] != cl.px[i];
    ok(cl.w == c1.w && cl.h == c1.h && differ > 0, "the token labels are drawn (%ld bytes differ, width %d vs %d)", differ, cl.w, c1.w);
    raster_free(&c1); raster_free(&c3); raster_free(&cl);
    if (getenv("KOP_KEEP_FIG")) printf("# kept %s\n", dir); else { remove(p1); remove(p3); remove(pl); remove(dir); }
    free(p1); free(p3); free(pl);
    results_free(&one);
    results_free(&three);
    diag_free(d);
    arena_free(ar);
}

int main(void)
{
    depth_axis();
    per_prompt();
    return done_testing();
}
