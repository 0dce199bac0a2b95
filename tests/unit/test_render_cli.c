/* test_render_cli.c: `kop render` end to end.  Every PNG the command writes
 * is decoded with libpng and compared with the figure the C API draws from
 * the same summary, then checked at the cells that must have the extreme
 * and the neutral colours; a write that runs out of space (a file-size
 * limit) must fail with the path and leave the previous figure intact. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "render.h"
#include "summary_csv.h"
#include "tap.h"
#include "test_render.h"

static const char *kop, *dir;

/* Run `kop render ARGS` with output in the temp folder; its exit status. */
static int run(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' render %s >out.txt 2>err.txt", dir, kop, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = kop_read_file(path, NULL, NULL);
    return s ? s : kop_xstrdup("");
}

static void write_file(const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* Does NAME in the temp folder hold exactly the figure the API draws? */
static int same_as_api(const char *name, const PlotData *d, int (*draw)(Canvas *, const PlotData *, KopError *),
                       Canvas *png)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    Canvas api;
    KopError err = {0};
    if (decode_png(path, png) < 0 || draw(&api, d, &err) < 0) return 0;
    int same = api.w == png->w && api.h == png->h && !memcmp(api.px, png->px, (size_t)api.w * api.h * 3);
    raster_free(&api);
    return same;
}

static Rgb cell(const Canvas *c, const PlotData *d, int r, int i)
{
    int x = -1, y = -1;
    render_heatmap_cell(d, 0, r, i, &x, &y);
    return raster_get(c, x, y);
}

int main(void)
{
    kop = getenv("KOP");
    if (!kop || !*kop) skip_all("KOP not set: run through make check");
    dir = test_tmpdir();
    /* a flow experiment: +-0.5 are the extremes, and
     * relation's values are exactly 0 */
    char csv[8192] = "experiment,model,statement,k,t,n,mean,stderr,ci95,metric\n";
    const char *stmts[] = {"\"block subject -> last in layers[k-4..k+4]\"", "block relation -> last in layers[k-4..k+4]",
                           "\"block last -> last in layers[k-4..k+4]\""};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 6; k++) {
            double m = s == 1 ? 0.0 : s == 0 ? -0.1 * k : 0.1 * k;
            char line[256];
            snprintf(line, sizeof line, "flow,mamba-130m,%s,%d,,672,%g,0.01,0.02,prob_change\n", stmts[s], k, m);
            strcat(csv, line);
        }
    write_file("summary.csv", csv);

    is_int(run(". --heatmap h.png --lines l.png"), 0, "kop render DIR --heatmap --lines succeeds");
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    Summary s;
    SummaryPlot p;
    KopError err = {0};
    if (summary_read(path, &s, &err) < 0 || summary_plot(&s, NULL, NULL, 0, &p, &err) < 0) {
        printf("Bail out! %s\n", err.msg);
        return 1;
    }
    Canvas h, l;
    ok(same_as_api("h.png", &p.d, render_heatmap_canvas, &h), "the heatmap decodes to exactly the API's figure");
    ok(rgb_is(cell(&h, &p.d, 2, 5), 0x053061), "its extreme cell (+50 %%) has the colormap's maximum colour");
    Rgb neg = cell(&h, &p.d, 0, 5);
    ok(neg.r > 2 * neg.b, "-50 %% is red (#%06x)", rgb_hex(neg));
    ok(rgb_is(cell(&h, &p.d, 1, 3), 0xf7f7f7), "a cell at 0 has the neutral colour");
    ok(count_ink(&h, 0, 0, h.w, 45) > 150, "the title is not blank");
    ok(same_as_api("l.png", &p.d, render_lines_canvas, &l), "the line plot decodes to exactly the API's figure");
    int px, py;
    render_lines_point(&p.d, 0, 2, 5, &px, &py);
    ok(rgb_is(raster_get(&l, px, py), 0x009e73), "the third line passes through its last point");
    char *out = slurp("out.txt"), want[256];
    snprintf(want, sizeof want, "h.png: heatmap, %d x %d pixels\nl.png: line plot, %d x %d pixels\n", h.w, h.h, l.w, l.h);
    is_str(out, want, "kop render reports each file and its size");
    free(out);
    summary_plot_free(&p);

    /* --metric: a sequential colormap */
    is_int(run("summary.csv --heatmap hp.png --metric prob"), 1, "--metric prob on a prob_change file is refused");
    out = slurp("err.txt");
    ok(strstr(out, "no rows have metric 'prob'") != NULL, "saying why: %s", out);
    free(out);

    /* a tokens[t] map with token labels */
    char tcsv[4096] = "experiment,model,statement,k,t,n,mean,stderr,ci95\n";
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < 3; k++) {
            char line[256];
            snprintf(line, sizeof line, "tok,gpt2,block tokens[t] -> last in layers[k..k],%d,%d,1,%g,,\n", k, t,
                     t == 3 && k == 0 ? -0.9 : 0.01 * t);
            strcat(tcsv, line);
        }
    write_file("tokens.csv", tcsv);
    write_file("tokens.txt", "The\n Eiffel\n Tower\n is\\n\n");
    is_int(run("tokens.csv --labels tokens.txt --heatmap t.png"), 0, "a tokens[t] map with --labels");
    const char *labels[] = {"The", " Eiffel", " Tower", " is\n"};
    snprintf(path, sizeof path, "%s/tokens.csv", dir);
    summary_free(&s);
    Canvas t;
    if (summary_read(path, &s, &err) == 0 && summary_plot(&s, NULL, labels, 4, &p, &err) == 0) {
        ok(same_as_api("t.png", &p.d, render_heatmap_canvas, &t), "rows labelled with the tokens' text (escapes decoded)");
        ok(rgb_is(cell(&t, &p.d, 3, 0), 0x67001f), "the extreme negative cell has the colormap's minimum colour");
        raster_free(&t);
        summary_plot_free(&p);
    } else {
        ok(0, "tokens summary: %s", err.msg);
        ok(0, "tokens summary");
    }
    summary_free(&s);

    /* out of space: the old figure stays */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 2000;
    signal(SIGXFSZ, SIG_IGN); /* inherited through exec: kop gets EFBIG */
    if (setrlimit(RLIMIT_FSIZE, &lim) < 0) skip_all("cannot set RLIMIT_FSIZE");
    int st = run(". --heatmap h.png");
    setrlimit(RLIMIT_FSIZE, &old);
    is_int(st, 2, "a write that runs out of space exits 2");
    out = slurp("err.txt");
    ok(strstr(out, "h.png: cannot write PNG: File too large") != NULL, "naming the file: %s", out);
    free(out);
    snprintf(path, sizeof path, "%s/h.png", dir);
    Canvas again;
    ok(decode_png(path, &again) == 0 && again.w == h.w && !memcmp(again.px, h.px, (size_t)h.w * h.h * 3),
       "and the previous h.png is intact");
    raster_free(&again);
    is_int(dir_entries(dir), 8, "no temporary file is left (2 csv, 3 txt and 3 png files)");
    raster_free(&h);
    raster_free(&l);
    rm_tmpdir(dir);
    return done_testing();
}
