/* render.h: kop's figures -- heatmaps and line plots of an experiment's
 * summary, written as PNG with libpng and nothing else.
 *
 * The data model is one table, PlotData: for each series (a model, in
 * figures that compare models; otherwise just one), each row (a statement of
 * the recipe, or a token position of a tokens[t] sweep) and each x value (the
 * layer sweep variable k), a mean and a standard error.  The two renderers
 * read that table two ways:
 *
 *   heatmap  rows down, x across, colour = mean.  Several series are stacked
 *            as panels sharing one colour scale.  The colormap is diverging
 *            and centred at 0 for signed metrics (prob_change, logit_diff),
 *            sequential for the others; its range is the data's, so the
 *            extreme cell gets the extreme colour, and a cell of exactly 0 in
 *            a diverging map gets the neutral colour.
 *   lines    y = mean against x, with a band of +-1 standard error and a
 *            zero line.  With one series there is one line per row; with
 *            several, one panel per row and one line per series, so "one line
 *            per model for a statement" uses the same renderer.
 *
 * prob_change is a ratio and is shown x100, as percent (the axis titles say
 * so), as the Mamba Knockout paper does; other metrics are shown as they are.
 *
 * Sizes follow the data: a heatmap cell shrinks as the layers and rows grow so
 * a figure stays about a paper column wide (roughly 450-800 pixels), and a
 * line plot's legend grows downward with the rows; nothing is drawn over the
 * data.  Text uses the embedded font (font.h).  Long statement labels are
 * shortened by factoring out what every row shares (a leading "block" and a
 * common "in layers[..]" clause, stated once under the title) and, if still
 * too long, elided in the middle; PlotData.verbatim_labels turns that off
 * (token labels).
 *
 * Files are written atomically: the PNG goes to a temporary name in the same
 * folder and is renamed over the final name only once complete, so a failure
 * (unwritable folder, disk full) reports the path and leaves either the old
 * file or none, never a truncated one.
 *
 * Ownership: PlotData only borrows; the renderers copy nothing they keep. */
#ifndef KOP_RENDER_H
#define KOP_RENDER_H

#include "raster.h"
#include "util.h"

typedef enum {
#define KOP_BAND(name, spelling) BAND_##name,
#include "plan_ops.def"
#undef KOP_BAND
    BAND_N
} BandKind;

typedef enum {
#define KOP_COLORS(name, spelling) COLORS_##name,
#include "plan_ops.def"
#undef KOP_COLORS
    COLORS_N
} ColorsKind;

extern const char *const plan_band_names[BAND_N];
extern const char *const plan_colors_names[COLORS_N];

/* How a figure is drawn: the options of `output` (and of a pipeline's
 * figures).  Limits are in the figure's units (prob_change in percent). */
typedef struct FigureOpts {
    int metric;                  /* a Metric (plan.h), or -1: one figure per metric measured */
    int x_depth;                 /* x = the window's first layer / L * 100, not k */
    BandKind band;               /* default BAND_STDERR */
    int has_ylim, has_clim;
    double ylim[2], clim[2];
    ColorsKind colors;
    int per_prompt;              /* heatmap: one panel per prompt, rows its tokens */
} FigureOpts;

typedef struct PlotData {
    /* title pieces; NULL/"" or n_prompts <= 0 leaves that piece out */
    const char *experiment;
    const char *model;
    int n_prompts;
    const char *metric;          /* "prob_change" when NULL */

    int n_series;                /* >= 1 */
    const char *const *series_labels; /* (n_series); may be NULL when n_series == 1 */
    int n_rows;                  /* >= 1 */
    const char *const *row_labels;    /* (n_rows), UTF-8 */
    int n_x;                     /* >= 1 */
    const double *x;             /* (n_x) increasing; NaN for "no sweep" (one column) */
    const double *mean;          /* (n_series, n_rows, n_x); NaN = no value */
    const double *se;            /* (n_series, n_rows, n_x) standard error, or NULL */

    const char *x_title;         /* default "layer (k)" */
    const char *row_title;       /* default "statement" */
    int verbatim_labels;         /* 1: draw row labels exactly as given */
    /* fixed limits in display units (has_*: 0 = the data's); the colour map */
    int has_ylim, has_clim;
    double ylim[2], clim[2];
    ColorsKind colors;
    int join_gaps;               /* lines: a missing value is stepped over, not a break (series on
                                    different x grids sharing one axis) */
    const char *note;            /* appended to the subtitle (what the bands are), or NULL */
} PlotData;

#define PLOT_AT(d, a, s, r, i) ((a)[((size_t)(s) * (size_t)(d)->n_rows + (size_t)(r)) * (size_t)(d)->n_x + (size_t)(i)])

/* Render to a PNG file.  0 on success; -1 with err naming path on failure
 * (status KOP_EXIT_DATA for unusable data, KOP_EXIT_USAGE for I/O). */
int render_heatmap(const char *path, const PlotData *d, KopError *err);
int render_lines(const char *path, const PlotData *d, KopError *err);

/* Render into a new canvas (caller frees with raster_free). */
int render_heatmap_canvas(Canvas *out, const PlotData *d, KopError *err);
int render_lines_canvas(Canvas *out, const PlotData *d, KopError *err);

/* Where things land in the figure the same PlotData produces, for tests and
 * for callers that annotate figures: the pixel at the centre of a heatmap
 * cell, and the pixel of a line plot's data point.  0, or -1 when out of
 * range or the value is missing. */
int render_heatmap_cell(const PlotData *d, int series, int row, int xi, int *px, int *py);
int render_lines_point(const PlotData *d, int series, int row, int xi, int *px, int *py);

/* Is metric shown with a diverging colormap centred at 0? */
int render_metric_is_signed(const char *metric);
/* The factor values are multiplied by for display (100 for prob_change). */
double render_metric_scale(const char *metric);

/* PNG I/O (render_png.c).  render_png_write is atomic (see above);
 * render_png_read decodes any PNG into an RGB canvas (caller frees). */
int render_png_write(const char *path, const Canvas *c, KopError *err);
int render_png_read(const char *path, Canvas *out, KopError *err);

#endif
