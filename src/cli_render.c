/* cli_render.c: `kop render SUMMARY --heatmap F.png --lines G.png`, the
 * figures of a finished run re-drawn from its summary.csv without
 * recomputing anything. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "render.h"
#include "summary_csv.h"

/* Token labels, one a line; "\n", "\t" and "\\" stand for a line break, a tab
 * and a backslash, so any token text fits on one line. */
static char **read_labels(const char *path, int *n_out, KopError *err)
{
    size_t len;
    char *text = kop_read_file(path, &len, err);
    if (!text) return NULL;
    int n = 0, cap = 64;
    char **labels = kop_xmalloc(sizeof *labels * (size_t)cap);
    for (char *p = text; p < text + len;) {
        char *e = memchr(p, '\n', (size_t)(text + len - p));
        if (!e) e = text + len;
        char *lab = kop_xmalloc((size_t)(e - p) + 1), *q = lab;
        for (char *s = p; s < e; s++) {
            if (*s == '\r' && s + 1 == e) break;
            if (*s == '\\' && s + 1 < e && strchr("nt\\", s[1])) {
                s++;
                *q++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
            } else {
                *q++ = *s;
            }
        }
        *q = '\0';
        if (n == cap) labels = kop_xrealloc(labels, sizeof *labels * (size_t)(cap *= 2));
        labels[n++] = lab;
        p = e + 1;
    }
    free(text);
    *n_out = n;
    return labels;
}

typedef int (*DrawFn)(Canvas *, const PlotData *, KopError *);

/* Draw d into path; source names the summary in messages about its data. */
static int draw_to(const char *path, const char *kind, DrawFn draw, const PlotData *d, const char *source,
                   KopError *err)
{
    Canvas c;
    if (draw(&c, d, err) < 0) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return kop_fail(err, err->status, "%s: %s", source, msg);
    }
    int rc = render_png_write(path, &c, err);
    if (rc == 0) printf("%s: %s, %d x %d pixels\n", path, kind, c.w, c.h);
    raster_free(&c);
    return rc;
}

enum { OPT_HEATMAP, OPT_LINES, OPT_METRIC, OPT_LABELS };
static const CliOption options[] = {
    [OPT_HEATMAP] = {"heatmap", 0, "F.png", "draw a heatmap (statement or token x layer) into F.png"},
    [OPT_LINES] = {"lines", 0, "F.png", "draw a line plot (effect against layer) into F.png"},
    [OPT_METRIC] = {"metric", 0, "NAME", "the metric, when the summary has no metric column or mixes"},
    [OPT_LABELS] = {"labels", 0, "FILE", "token texts, one a line, for t = 0, 1, ..."},
    {0},
};

static int render_main(const CliArg *args, int n)
{
    const char *input = NULL, *heatmap = NULL, *lines = NULL, *metric = NULL, *labels_path = NULL;
    for (int i = 0; i < n; i++) {
        const char *v = args[i].value;
        switch (args[i].opt) {
        case OPT_HEATMAP: heatmap = v; break;
        case OPT_LINES: lines = v; break;
        case OPT_METRIC: metric = v; break;
        case OPT_LABELS: labels_path = v; break;
        default:
            if (input) return cli_usage("render", "one summary at a time ('%s' and '%s')", input, v);
            input = v;
        }
    }
    if (!input) return cli_usage("render", "no summary.csv given");
    if (!heatmap && !lines) return cli_usage("render", "nothing to draw: give --heatmap F.png and/or --lines F.png");

    KopError err = {0};
    struct stat st;
    char *path = stat(input, &st) == 0 && S_ISDIR(st.st_mode) ? kop_path_join(input, "summary.csv")
                                                               : kop_xstrdup(input);
    char **labels = NULL;
    int n_labels = 0, status = KOP_EXIT_OK;
    Summary s;
    SummaryPlot p;
    if (labels_path && !(labels = read_labels(labels_path, &n_labels, &err))) {
        status = cli_report(&err);
    } else if (summary_read(path, &s, &err) < 0) {
        status = cli_report(&err);
    } else {
        if (summary_plot(&s, metric, (const char *const *)labels, n_labels, &p, &err) < 0 ||
            (heatmap && draw_to(heatmap, "heatmap", render_heatmap_canvas, &p.d, path, &err) < 0) ||
            (lines && draw_to(lines, "line plot", render_lines_canvas, &p.d, path, &err) < 0))
            status = cli_report(&err);
        summary_plot_free(&p);
        summary_free(&s);
    }
    for (int i = 0; i < n_labels; i++) free(labels[i]);
    free(labels);
    free(path);
    return status;
}

const CliCommand cli_render = {
    .name = "render",
    .synopsis = "DIR|SUMMARY.csv [--heatmap=F.png] [--lines=F.png] [OPTION]...",
    .summary = "redraw the figures of a finished run from its summary.csv",
    .description =
        "Draw the figures of a finished run from SUMMARY.csv (DIR means\n"
        "DIR/summary.csv), without recomputing anything.  A summary holding several\n"
        "models gives comparison figures.",
    .options = options,
    .notes = "prob_change is shown x100, in percent.  Exit status 1 for a bad summary\n"
             "(FILE:LINE), 2 for usage and I/O errors.\n",
    .run = render_main,
};
