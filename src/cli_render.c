/* cli_render.c: `kop render SUMMARY --heatmap F.png --lines G.png`, the
 * figures of a finished run re-drawn from its summary.csv without
 * recomputing anything. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "render.h"
#include "summary_csv.h"

static const char usage[] =
    "usage: kop render DIR|SUMMARY.csv [--heatmap F.png] [--lines F.png] [--metric NAME] [--labels FILE]";

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

/* The value of --name VALUE or --name=VALUE at argv[*i], or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int cli_render(int argc, char **argv)
{
    const char *input = NULL, *heatmap = NULL, *lines = NULL, *metric = NULL, *labels_path = NULL;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--heatmap", &missing))) heatmap = v;
        else if ((v = opt_value(argc, argv, &i, "--lines", &missing))) lines = v;
        else if ((v = opt_value(argc, argv, &i, "--metric", &missing))) metric = v;
        else if ((v = opt_value(argc, argv, &i, "--labels", &missing))) labels_path = v;
        else if (missing) return cli_usage("render", "%s needs a value\n%s", argv[i], usage);
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage("render", "unknown option '%s'\n%s", argv[i], usage);
        else if (input) return cli_usage("render", "one summary at a time ('%s' and '%s')\n%s", input, argv[i], usage);
        else input = argv[i];
    }
    if (!input) return cli_usage("render", "no summary.csv given\n%s", usage);
    if (!heatmap && !lines) return cli_usage("render", "nothing to draw: give --heatmap F.png and/or --lines F.png\n%s", usage);

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
