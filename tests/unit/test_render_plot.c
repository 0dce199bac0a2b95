/* test_render_plot.c: heatmaps and line plots through the C API, written to
 * PNG, decoded with libpng and checked pixel by pixel: the extreme cell has
 * the colormap's extreme colour, a zero cell the neutral colour, lines pass
 * through their data points, bands and the zero line are there, and the
 * title, labels and legend are not blank. */
#include <math.h>

#include "render.h"
#include "tap.h"
#include "test_render.h"

#define DIV_MAX 0x053061  /* RdBu, top */
#define DIV_MIN 0x67001f  /* RdBu, bottom */
#define NEUTRAL 0xf7f7f7  /* RdBu, centre */
#define SEQ_MAX 0xfde725  /* viridis, top */
#define SEQ_MIN 0x440154  /* viridis, bottom */
#define MISSING 0xdcdcdc
#define LINE0 0x0072b2
#define LINE1 0xd55e00
#define ZERO 0x8c8c8c
#define CBAR 14           /* colorbar width: its end rows are the extreme colours */

static const char *dir;

/* Render d with fn to NAME.png in the temp folder and decode it. */
static int draw(const char *name, int (*fn)(const char *, const PlotData *, KopError *), const PlotData *d, Canvas *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    KopError err = {0};
    if (fn(path, d, &err) < 0) {
        diag("%s", err.msg);
        return -1;
    }
    return decode_png(path, out);
}

static Rgb cell(const Canvas *c, const PlotData *d, int s, int r, int i)
{
    int x = -1, y = -1;
    render_heatmap_cell(d, s, r, i, &x, &y);
    return raster_get(c, x, y);
}

int main(void)
{
    dir = test_tmpdir();
    static const char *rows[] = {"block subject -> last in layers[k-4..k+4]", "block last -> last in layers[k-4..k+4]",
                                 "block subject -> last in layers[k-4..k+4] features ctx_dep"};
    double x[5] = {0, 1, 2, 3, 4};
    double mean[15] = {0.0,  -0.1, -0.2, -0.1, 0.0,    /* subject: 0 at both ends */
                       -0.25, -0.2, -0.1, 0.0, 0.5,    /* last: the maximum |v| is positive */
                       0.1,  0.1,  NAN,  0.1, 0.1};    /* ctx_dep: one point missing */
    double se[15];
    for (int i = 0; i < 15; i++) se[i] = 0.02;
    PlotData d = {.experiment = "flow-to-last", .model = "mamba-130m", .n_prompts = 672, .n_series = 1,
                  .n_rows = 3, .row_labels = rows, .n_x = 5, .x = x, .mean = mean, .se = se};

    // ---- heatmap
    Canvas c, api;
    KopError err = {0};
    ok(draw("heat", render_heatmap, &d, &c) == 0, "a heatmap is written and decodes");
    ok(render_heatmap_canvas(&api, &d, &err) == 0 && api.w == c.w && api.h == c.h && !memcmp(api.px, c.px, (size_t)c.w * c.h * 3),
       "the PNG holds exactly the rendered canvas (%d x %d)", c.w, c.h);
    raster_free(&api);
    ok(c.w >= 300 && c.w <= 900 && c.h >= 150 && c.h <= 500, "a paper-column size: %d x %d", c.w, c.h);
    Rgb m = cell(&c, &d, 0, 1, 4);
    ok(rgb_is(m, DIV_MAX), "the cell at the maximum has the colormap's maximum colour (#%06x)", rgb_hex(m));
    m = cell(&c, &d, 0, 0, 0);
    ok(rgb_is(m, NEUTRAL), "a cell at 0 has the neutral colour (#%06x)", rgb_hex(m));
    ok(rgb_is(cell(&c, &d, 0, 1, 3), NEUTRAL), "so does every other 0");
    m = cell(&c, &d, 0, 1, 0);
    ok(m.r > m.b && !rgb_is(m, DIV_MIN), "-0.25 of a +-0.5 range is a mid red (#%06x)", rgb_hex(m));
    m = cell(&c, &d, 0, 2, 0);
    ok(m.b > m.r, "a positive cell is blue (#%06x)", rgb_hex(m));
    ok(rgb_is(cell(&c, &d, 0, 2, 2), MISSING), "a missing value is grey");
    int gx, gy, gx1, gy1;
    render_heatmap_cell(&d, 0, 0, 0, &gx, &gy);
    render_heatmap_cell(&d, 0, 2, 4, &gx1, &gy1);
    ok(count_ink(&c, 0, 0, c.w, gy - 20) > 150, "the title is not blank");
    ok(count_ink(&c, 0, gy - 5, gx - 10, gy1 + 5) > 300, "the row labels are not blank");
    ok(count_ink(&c, gx - 10, gy1 + 12, gx1 + 10, c.h) > 100, "the x ticks and axis title are not blank");
    int right = gx1 + (gx1 - gx) / 8 + 2; /* just right of the cells (5 columns) */
    ok(count_color(&c, right, 0, c.w, c.h, DIV_MAX) >= CBAR && count_color(&c, right, 0, c.w, c.h, DIV_MIN) >= CBAR,
       "a colorbar right of the cells spans both ends of the colormap");
    ok(count_ink(&c, right + 20, gy - 5, c.w, gy1 + 5) > 100, "its tick values and title are not blank");
    raster_free(&c);

    /* the most negative value as the extreme */
    mean[9] = 0.1;
    ok(draw("heat-neg", render_heatmap, &d, &c) == 0 && rgb_is(cell(&c, &d, 0, 1, 0), DIV_MIN),
       "when the extreme is negative, that cell has the colormap's minimum colour");
    raster_free(&c);
    mean[9] = 0.5;

    /* a sequential metric */
    d.metric = "prob";
    double probs[15];
    for (int i = 0; i < 15; i++) probs[i] = 0.05 * i;
    d.mean = probs;
    ok(draw("heat-prob", render_heatmap, &d, &c) == 0, "a prob heatmap");
    ok(rgb_is(cell(&c, &d, 0, 2, 4), SEQ_MAX) && rgb_is(cell(&c, &d, 0, 0, 0), SEQ_MIN),
       "a sequential map runs from its first colour at 0 to its last at the maximum");
    raster_free(&c);
    d.metric = NULL;
    d.mean = mean;
    ok(render_metric_scale("prob_change") == 100.0 && render_metric_scale("prob") == 1.0 &&
       render_metric_is_signed("prob_change") && !render_metric_is_signed("hit"),
       "prob_change is shown in percent on a diverging map; hit is not");

    /* sizes follow rows and layers */
    double x48[48], m48[48 * 3];
    for (int i = 0; i < 48; i++) x48[i] = i;
    for (int i = 0; i < 48 * 3; i++) m48[i] = sin(i * 0.1);
    PlotData wide = d;
    wide.n_x = 48;
    wide.x = x48;
    wide.mean = m48;
    wide.se = NULL;
    Canvas small, big;
    render_heatmap_canvas(&small, &d, &err);
    render_heatmap_canvas(&big, &wide, &err);
    ok(big.w > small.w && big.w <= 1000, "more layers make a wider heatmap, within a column (%d -> %d)", small.w, big.w);
    raster_free(&big);
    static const char *many[40];
    char names[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "tok%d", i);
        many[i] = names[i];
    }
    double mm[40 * 5] = {0};
    PlotData tall = d;
    tall.n_rows = 40;
    tall.row_labels = many;
    tall.mean = mm;
    tall.se = NULL;
    tall.verbatim_labels = 1;
    render_heatmap_canvas(&big, &tall, &err);
    ok(big.h > small.h && big.h < 1000, "more rows make a taller heatmap (%d -> %d)", small.h, big.h);
    raster_free(&big);
    raster_free(&small);

    // ---- lines
    ok(draw("lines", render_lines, &d, &c) == 0, "a line plot is written and decodes");
    ok(c.w >= 300 && c.w <= 800, "a paper-column width: %d", c.w);
    int px, py, px2, py2;
    render_lines_point(&d, 0, 0, 2, &px, &py);
    ok(rgb_is(raster_get(&c, px, py), LINE0), "the first line passes through its data point (%d, %d)", px, py);
    render_lines_point(&d, 0, 1, 4, &px2, &py2);
    ok(rgb_is(raster_get(&c, px2, py2), LINE1), "the second line has the second colour at its point");
    ok(render_lines_point(&d, 0, 2, 2, &px, &py) == -1, "a missing value has no point");
    /* the standard-error band: tinted, between the line and the background */
    render_lines_point(&d, 0, 1, 4, &px, &py);
    Rgb band = raster_get(&c, px - 1, py - 3);
    /* LINE1 (#d55e00) at the band's opacity of 0.18 over white */
    ok(abs(band.r - 247) <= 1 && abs(band.g - 226) <= 1 && abs(band.b - 209) <= 1,
       "a band of the line's colour, lighter, around its point (#%06x)", rgb_hex(band));
    /* the zero line: y of 0 interpolated from points at -0.2 and 0.5 */
    render_lines_point(&d, 0, 1, 1, &px, &py);
    int y0 = py + (int)lround((0.0 + 0.2) / (0.5 + 0.2) * (py2 - py));
    int zero = 0;
    for (int y = y0 - 2; y <= y0 + 2; y++) zero += count_color(&c, px - 12, y, px - 4, y + 1, ZERO);
    ok(zero >= 6, "a zero line crosses the plot at the height of 0 (%d px)", zero);
    ok(count_ink(&c, 0, 0, c.w, 45) > 150, "the title is not blank");
    int legend_ink = count_ink(&c, 0, c.h - 3 * 17 - 12, c.w, c.h);
    ok(legend_ink > 300 && count_color(&c, 0, c.h - 3 * 17 - 12, c.w, c.h, LINE0) > 5,
       "a legend with the line colours below the plot (%d px of ink)", legend_ink);
    raster_free(&c);

    // ---- comparison of two series: one panel per row, one line per series
    static const char *models[] = {"mamba-130m (n = 672)", "gpt2 (n = 598)"};
    double m2[30], se2[30];
    for (int i = 0; i < 30; i++) {
        m2[i] = i < 15 ? mean[i] : 0.5 * mean[i - 15];
        se2[i] = 0.01;
    }
    m2[15 + 7] = 0.3; /* gpt2's ctx_dep has the missing point's neighbours */
    PlotData two = d;
    two.n_series = 2;
    two.series_labels = models;
    two.model = NULL;
    two.n_prompts = 0;
    two.mean = m2;
    two.se = se2;
    ok(draw("lines-compare", render_lines, &two, &c) == 0, "a comparison line plot");
    render_lines_point(&two, 0, 1, 4, &px, &py);
    render_lines_point(&two, 1, 1, 4, &px2, &py2);
    ok(px == px2 && py < py2, "both models' lines for a statement share a panel");
    ok(rgb_is(raster_get(&c, px, py), LINE0) && rgb_is(raster_get(&c, px2, py2), LINE1),
       "one colour per model (#%06x, #%06x)", rgb_hex(raster_get(&c, px, py)), rgb_hex(raster_get(&c, px2, py2)));
    render_lines_point(&two, 0, 0, 4, &px2, &py2);
    ok(px2 != px || abs(py2 - py) > 100, "another statement is another panel");
    raster_free(&c);
    ok(draw("heat-compare", render_heatmap, &two, &c) == 0, "a comparison heatmap");
    render_heatmap_cell(&two, 0, 1, 4, &px, &py);
    render_heatmap_cell(&two, 1, 1, 4, &px2, &py2);
    ok(px == px2 && py2 > py + 3 * 16 && rgb_is(raster_get(&c, px, py), DIV_MAX),
       "models are stacked panels sharing one colour scale");
    raster_free(&c);

    // ---- errors
    PlotData empty = d;
    empty.n_rows = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/empty.png", dir);
    ok(render_heatmap(path, &empty, &err) == -1 && err.status == KOP_EXIT_DATA && strstr(err.msg, path) &&
       access(path, F_OK) != 0, "nothing to plot is an error naming the file, and writes nothing: %s", err.msg);
    double back[5] = {0, 2, 1, 3, 4};
    PlotData unsorted = d;
    unsorted.x = back;
    ok(render_lines(path, &unsorted, &err) == -1 && strstr(err.msg, "increase"), "x must increase: %s", err.msg);
    snprintf(path, sizeof path, "%s/missing/lines.png", dir);
    ok(render_lines(path, &d, &err) == -1 && err.status == KOP_EXIT_USAGE && strstr(err.msg, path),
       "an unwritable path is reported with the path: %s", err.msg);
    rm_tmpdir(dir);
    return done_testing();
}
