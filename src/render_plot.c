/* render_plot.c: heatmaps and line plots drawn onto a Canvas (see render.h).
 *
 * Each figure is laid out first, as plain integer geometry computed from the
 * PlotData alone (heat_layout, lines_layout), and then painted from that
 * geometry; the query functions render_heatmap_cell / render_lines_point
 * reuse the same layout, so tests can find a cell or a data point in the PNG
 * without duplicating any arithmetic. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "font.h"
#include "render.h"

const char *const plan_band_names[BAND_N] = {
#define KOP_BAND(name, spelling) spelling,
#include "plan_ops.def"
#undef KOP_BAND
};

const char *const plan_colors_names[COLORS_N] = {
#define KOP_COLORS(name, spelling) spelling,
#include "plan_ops.def"
#undef KOP_COLORS
};

// ---- style --------------------------------------------------------------------

#define C_BG RGB_HEX(0xffffff)
#define C_TEXT RGB_HEX(0x1a1a1a)
#define C_SUBTLE RGB_HEX(0x555555)
#define C_AXIS RGB_HEX(0x404040)
#define C_GRID RGB_HEX(0xe8e8e8)
#define C_ZERO RGB_HEX(0x8c8c8c)
#define C_MISSING RGB_HEX(0xdcdcdc)

enum {
    MARGIN = 12,      /* around the whole figure */
    GAP = 6,          /* between a label and what it labels */
    TICK = 4,         /* tick mark length */
    LINE_H = FONT_H + 3,
    CBAR_W = 14,      /* colorbar width */
    MAX_ROW_CELLS = 44, /* longest row label, in characters, before eliding */
    MAX_TITLE_CELLS = 90, /* longest title line */
    MAX_DIM = 4096,   /* rows, columns or series beyond this are refused */
};
/* Displayed values beyond this are refused: past it, tick arithmetic loses
 * its integers and labels their meaning. */
#define PLOT_LIMIT 1e12

/* Okabe & Ito's colour-blind-safe palette, yellow last (weak on white);
 * lines past the eighth repeat the colours dashed. */
static const uint32_t palette[8] = {0x0072b2, 0xd55e00, 0x009e73, 0xcc79a7,
                                    0xe69f00, 0x56b4e9, 0x000000, 0xf0e442};

/* ColorBrewer RdBu (11 classes): decrease red, increase blue, 0 = #f7f7f7. */
static const uint32_t cmap_div[11] = {0x67001f, 0xb2182b, 0xd6604d, 0xf4a582, 0xfddbc7, 0xf7f7f7,
                                      0xd1e5f0, 0x92c5de, 0x4393c3, 0x2166ac, 0x053061};
/* viridis sampled at 0, 1/8, ..., 1. */
static const uint32_t cmap_seq[9] = {0x440154, 0x472d7b, 0x3b528b, 0x2c728e, 0x21918c,
                                     0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};

/* ColorBrewer RdYlGn (11 classes), red for decrease, as the Mamba Knockout
 * paper's per-prompt heatmaps. */
static const uint32_t cmap_rdylgn[11] = {0xa50026, 0xd73027, 0xf46d43, 0xfdae61, 0xfee08b, 0xffffbf,
                                         0xd9ef8b, 0xa6d96a, 0x66bd63, 0x1a9850, 0x006837};

/* kind: 1 diverging (RdBu), 0 sequential (viridis), or COLORS_RDYLGN + 8 */
static Rgb cmap(int diverging, double t)
{
    int rdylgn = diverging == COLORS_RDYLGN + 8;
    const uint32_t *a = rdylgn ? cmap_rdylgn : diverging ? cmap_div : cmap_seq;
    int n = diverging ? 11 : 9;
    if (!(t > 0.0)) t = 0.0;
    if (t > 1.0) t = 1.0;
    double pos = t * (n - 1);
    int i = (int)pos;
    if (i >= n - 1) return RGB_HEX(a[n - 1]);
    double f = pos - i;
    Rgb lo = RGB_HEX(a[i]), hi = RGB_HEX(a[i + 1]);
    return (Rgb){(uint8_t)lround(lo.r + f * (hi.r - lo.r)), (uint8_t)lround(lo.g + f * (hi.g - lo.g)),
                 (uint8_t)lround(lo.b + f * (hi.b - lo.b))};
}

// ---- metrics ------------------------------------------------------------------

static const char *metric_of(const PlotData *d) { return d->metric && *d->metric ? d->metric : "prob_change"; }

int render_metric_is_signed(const char *metric)
{
    /* unknown metrics get the diverging map: it is right for signed data and
     * still readable for non-negative data */
    return !metric || !(strcmp(metric, "prob") == 0 || strcmp(metric, "hit") == 0 || strcmp(metric, "kl") == 0);
}

double render_metric_scale(const char *metric)
{
    return !metric || strcmp(metric, "prob_change") == 0 ? 100.0 : 1.0;
}

static const char *metric_title(const char *metric)
{
    static const struct { const char *name, *title; } titles[] = {
        {"prob_change", "prob. change (%)"}, {"prob", "target probability"}, {"hit", "top-1 hit rate"},
        {"logit_diff", "logit change"},     {"kl", "KL(clean || knocked)"},
    };
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        if (!strcmp(metric, titles[i].name)) return titles[i].title;
    return metric;
}

// ---- text helpers -------------------------------------------------------------

/* A copy of s with at most max cells, the middle replaced by "..." when cut:
 * statement labels differ at both ends (group names first, features last). */
static char *elide_middle(const char *s, int max)
{
    int n = font_cells(s);
    if (n <= max || max < 5) return kop_xstrdup(s);
    int head = (max - 3 + 1) / 2, tail = max - 3 - head;
    const char *p = s, *head_end, *tail_start;
    for (int i = 0; i < head; i++) font_next_codepoint(&p);
    head_end = p;
    for (int i = head; i < n - tail; i++) font_next_codepoint(&p);
    tail_start = p;
    return kop_strf("%.*s...%s", (int)(head_end - s), s, tail_start);
}

static void text_right(Canvas *c, int xr, int y, const char *s, FontStyle st, Rgb col)
{
    font_draw(c, xr - font_text_width(s), y, s, st, col, FONT_RIGHT);
}

static void text_center(Canvas *c, int cx, int y, const char *s, FontStyle st, Rgb col)
{
    font_draw(c, cx - font_text_width(s) / 2, y, s, st, col, FONT_RIGHT);
}

/* Rotated text reading upward, centred on cy, its glyph tops at x. */
static void text_up_center(Canvas *c, int x, int cy, const char *s, Rgb col)
{
    font_draw(c, x, cy + font_text_width(s) / 2, s, FONT_REGULAR, col, FONT_UP);
}

/* Top of a line of text vertically centred on a band [y, y + h). */
static int text_top(int y, int h) { return y + (h - FONT_H + 1) / 2; }

// ---- ticks --------------------------------------------------------------------

/* The 1-2-5 step giving about `want` intervals over span. */
static double nice_step(double span, int want)
{
    double raw = span / (want > 0 ? want : 1), mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
}

static void fmt_tick(char *buf, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-6) v = 0.0; /* no "-0" */
    if (step < 1e-4 || fabs(v) >= 1e7) {
        snprintf(buf, n, "%.3g", v);
        return;
    }
    int dec = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, n, "%.*f", dec, v);
}

typedef struct Ticks {
    double lo, step; /* ticks at lo + i*step, i < n */
    int n;
} Ticks;

/* Ticks inside [lo, hi]. */
static Ticks ticks_within(double lo, double hi, int want)
{
    Ticks t = {0};
    t.step = nice_step(hi - lo, want);
    t.lo = ceil(lo / t.step - 1e-9) * t.step;
    t.n = (int)floor((hi - t.lo) / t.step + 1e-9) + 1;
    if (t.n < 0) t.n = 0;
    return t;
}

static int ticks_label_width(Ticks t)
{
    int w = 0;
    char buf[64];
    for (int i = 0; i < t.n; i++) {
        fmt_tick(buf, sizeof buf, t.lo + i * t.step, t.step);
        int tw = font_text_width(buf);
        if (tw > w) w = tw;
    }
    return w;
}

// ---- labels and titles shared by both figures ----------------------------------

typedef struct Prep {
    const char *metric;
    int diverging;
    double scale;        /* display = value * scale */
    const char *value_title;
    char *title;         /* bold first line */
    char *subtitle;      /* model and n, or NULL */
    char *common;        /* "rows: block «row» in layers[..]" or NULL */
    char **rows;         /* (n_rows) display labels */
    double vmin, vmax;   /* finite range of means (raw units); NaN when none */
    double elo, ehi;     /* finite range of mean -+ se, 0 included */
} Prep;

static const char *row_label(const PlotData *d, int r) { return d->row_labels[r] ? d->row_labels[r] : ""; }

/* Split a statement's text into words (whitespace runs collapse). */
static int split_words(const char *s, char ***out)
{
    int n = 0, cap = 8;
    char **w = kop_xmalloc(sizeof *w * (size_t)cap);
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        if (!*s) break;
        const char *e = s;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r') e++;
        if (n == cap) w = kop_xrealloc(w, sizeof *w * (size_t)(cap *= 2));
        w[n++] = kop_strf("%.*s", (int)(e - s), s);
        s = e;
    }
    *out = w;
    return n;
}

static char *join_words(char **w, int from, int to)
{
    size_t len = 1;
    for (int i = from; i < to; i++) len += strlen(w[i]) + 1;
    char *s = kop_xmalloc(len), *p = s;
    *p = '\0';
    for (int i = from; i < to; i++) p += sprintf(p, "%s%s", i > from ? " " : "", w[i]);
    return s;
}

/* The "in LAYERS" clause of a block statement: words [*a, *b) starting at
 * "in" and ending before "features" or at the end.  0 when absent. */
static int find_layers_clause(char **w, int n, int *a, int *b)
{
    for (int i = 1; i + 1 < n; i++)
        if (!strcmp(w[i], "in")) {
            int j = i + 1;
            while (j < n && strcmp(w[j], "features") != 0) j++;
            *a = i;
            *b = j;
            return 1;
        }
    return 0;
}

/* Factor out what every row label shares: a common first word (the verb,
 * "block") and a common "in layers[..]" clause.  Done only when every label
 * keeps at least one word, so rows stay distinguishable. */
static void shorten_labels(const PlotData *d, Prep *p, const char *noun)
{
    int n = d->n_rows;
    char ***words = kop_xmalloc(sizeof *words * (size_t)n);
    int *nw = kop_xmalloc(sizeof *nw * (size_t)n), *ca = kop_xcalloc((size_t)n, sizeof *ca),
        *cb = kop_xcalloc((size_t)n, sizeof *cb);
    for (int r = 0; r < n; r++) nw[r] = split_words(row_label(d, r), &words[r]);
    /* a label may have no words at all (a token that is only whitespace) */
    int drop_first = n >= 2 && nw[0] >= 3, drop_clause = n >= 2;
    char *clause0 = NULL;
    for (int r = 0; r < n; r++) {
        /* a shared verb, not a shared source group ("subject -> ...") */
        if (!drop_first || nw[r] < 3 || strcmp(words[r][0], words[0][0]) != 0 || !strcmp(words[r][1], "->"))
            drop_first = 0;
        if (!find_layers_clause(words[r], nw[r], &ca[r], &cb[r])) {
            drop_clause = 0;
            continue;
        }
        char *cl = join_words(words[r], ca[r], cb[r]);
        if (!clause0) clause0 = cl;
        else {
            if (strcmp(cl, clause0) != 0) drop_clause = 0;
            free(cl);
        }
    }
    for (int r = 0; r < n && (drop_first || drop_clause); r++) {
        int kept = nw[r] - (drop_first ? 1 : 0) - (drop_clause ? cb[r] - ca[r] : 0);
        if (kept < 1) drop_first = drop_clause = 0;
    }
    for (int r = 0; r < n; r++) {
        char *full;
        if (drop_clause) {
            char *a = join_words(words[r], drop_first ? 1 : 0, ca[r]), *b = join_words(words[r], cb[r], nw[r]);
            full = kop_strf("%s%s%s", a, *a && *b ? " " : "", b);
            free(a);
            free(b);
        } else {
            full = join_words(words[r], drop_first ? 1 : 0, nw[r]);
        }
        p->rows[r] = elide_middle(full, MAX_ROW_CELLS);
        free(full);
    }
    if (drop_first || drop_clause)
        p->common = kop_strf("%ss: %s%s\xc2\xab%s\xc2\xbb%s%s", noun, drop_first ? words[0][0] : "",
                                 drop_first ? " " : "", noun, drop_clause ? " " : "", drop_clause ? clause0 : "");
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < nw[r]; i++) free(words[r][i]);
        free(words[r]);
    }
    free(clause0);
    free(words);
    free(nw);
    free(ca);
    free(cb);
}

/* noun: what a row is in this figure ("row", "line", "panel"), for the
 * line stating the factored-out part of the labels. */
static int prep_init(Prep *p, const PlotData *d, const char *noun, KopError *err)
{
    memset(p, 0, sizeof *p);
    if (d->n_series < 1 || d->n_rows < 1 || d->n_x < 1 || !d->mean || !d->x || !d->row_labels)
        return kop_fail(err, KOP_EXIT_DATA, "render: nothing to plot (%d series, %d rows, %d columns)",
                        d->n_series, d->n_rows, d->n_x);
    if (d->n_series > MAX_DIM || d->n_rows > MAX_DIM || d->n_x > MAX_DIM)
        return kop_fail(err, KOP_EXIT_DATA, "render: %d series x %d rows x %d columns is too large to draw",
                        d->n_series, d->n_rows, d->n_x);
    if (d->n_series > 1 && !d->series_labels)
        return kop_fail(err, KOP_EXIT_DATA, "render: %d series need series labels", d->n_series);
    for (int i = 0; i + 1 < d->n_x; i++)
        if (!(d->x[i] < d->x[i + 1]))
            return kop_fail(err, KOP_EXIT_DATA, "render: x values must increase (x[%d] = %g, x[%d] = %g)", i,
                            d->x[i], i + 1, d->x[i + 1]);
    for (int i = 0; i < d->n_x; i++)
        if (!(fabs(d->x[i]) <= PLOT_LIMIT) && !(d->n_x == 1 && isnan(d->x[0])))
            return kop_fail(err, KOP_EXIT_DATA, "render: x[%d] = %g cannot be plotted", i, d->x[i]);
    p->metric = metric_of(d);
    p->diverging = render_metric_is_signed(p->metric);
    if (d->colors == COLORS_RDBU) p->diverging = 1;
    else if (d->colors == COLORS_VIRIDIS) p->diverging = 0;
    else if (d->colors == COLORS_RDYLGN) p->diverging = COLORS_RDYLGN + 8;
    p->scale = render_metric_scale(p->metric);
    p->value_title = metric_title(p->metric);
    p->title = elide_middle(d->experiment && *d->experiment ? d->experiment : p->value_title, MAX_TITLE_CELLS);
    const char *model = d->model && *d->model ? d->model : NULL;
    const char *plural = d->n_prompts == 1 ? "" : "s";
    char *sub = NULL;
    if (model && d->n_prompts > 0) sub = kop_strf("%s, n = %d prompt%s", model, d->n_prompts, plural);
    else if (model) sub = kop_xstrdup(model);
    else if (d->n_prompts > 0) sub = kop_strf("n = %d prompt%s", d->n_prompts, plural);
    if (d->note && *d->note) { /* what the bands are, when not the default */
        char *with = sub ? kop_strf("%s; %s", sub, d->note) : kop_xstrdup(d->note);
        free(sub);
        sub = with;
    }
    if (sub) {
        p->subtitle = elide_middle(sub, MAX_TITLE_CELLS);
        free(sub);
    }
    p->rows = kop_xcalloc((size_t)d->n_rows, sizeof *p->rows);
    if (d->verbatim_labels)
        for (int r = 0; r < d->n_rows; r++) p->rows[r] = elide_middle(row_label(d, r), MAX_ROW_CELLS);
    else shorten_labels(d, p, noun);
    if (p->common) {
        char *c = elide_middle(p->common, MAX_TITLE_CELLS);
        free(p->common);
        p->common = c;
    }
    p->vmin = p->vmax = NAN;
    p->elo = p->ehi = 0.0;
    size_t total = (size_t)d->n_series * (size_t)d->n_rows * (size_t)d->n_x;
    for (size_t i = 0; i < total; i++) {
        double m = d->mean[i], s = d->se && isfinite(d->se[i]) ? fabs(d->se[i]) : 0.0;
        if (!isfinite(m)) continue;
        if (fabs(m) * p->scale > PLOT_LIMIT || s * p->scale > PLOT_LIMIT) {
            int row = (int)(i / (size_t)d->n_x % (size_t)d->n_rows);
            return kop_fail(err, KOP_EXIT_DATA, "render: row '%s' has mean %g +- %g, too large to plot",
                            row_label(d, row), m, s);
        }
        if (!(m >= p->vmin)) p->vmin = m;
        if (!(m <= p->vmax)) p->vmax = m;
        if (m - s < p->elo) p->elo = m - s;
        if (m + s > p->ehi) p->ehi = m + s;
    }
    return 0;
}

static void prep_free(Prep *p, const PlotData *d)
{
    free(p->title);
    free(p->subtitle);
    free(p->common);
    if (p->rows)
        for (int r = 0; r < d->n_rows; r++) free(p->rows[r]);
    free(p->rows);
}

/* Title block at the top; returns its height (from the figure's top). */
static int title_height(const Prep *p)
{
    return MARGIN + LINE_H + (p->subtitle ? LINE_H : 0) + (p->common ? LINE_H : 0) + GAP;
}

static int title_width(const Prep *p)
{
    int w = font_text_width(p->title);
    if (p->subtitle && font_text_width(p->subtitle) > w) w = font_text_width(p->subtitle);
    if (p->common && font_text_width(p->common) > w) w = font_text_width(p->common);
    return w;
}

static void draw_titles(Canvas *c, const Prep *p)
{
    int y = MARGIN;
    text_center(c, c->w / 2, y, p->title, FONT_BOLD, C_TEXT);
    if (p->subtitle) text_center(c, c->w / 2, y += LINE_H, p->subtitle, FONT_REGULAR, C_SUBTLE);
    if (p->common) text_center(c, c->w / 2, y += LINE_H, p->common, FONT_REGULAR, C_SUBTLE);
}

static const char *series_label(const PlotData *d, int s)
{
    return d->series_labels && d->series_labels[s] ? d->series_labels[s] : "";
}

/* An x value as a tick label: the layer, or "-" for "no sweep". */
static void fmt_x(char *buf, size_t n, double x)
{
    if (isnan(x)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%g", x);
}

static const char *x_title(const PlotData *d)
{
    if (d->x_title) return d->x_title;
    return d->n_x == 1 && isnan(d->x[0]) ? "(no layer sweep)" : "layer (k)";
}

// ---- heatmap ------------------------------------------------------------------

typedef struct HeatLayout {
    int w, h;
    int gx, gy;      /* top-left of the first panel's cells */
    int cw, ch;      /* cell size */
    int panel_h;     /* n_rows * ch */
    int panel_step;  /* from one panel's top to the next */
    int label_every; /* label every n-th row when rows are thin */
    int xlabel_every;/* label every n-th column */
    int cbar_x, cbar_y, cbar_h;
    int cbar_label_w;
    double lo, hi;   /* colour range, raw units */
    Ticks cticks;    /* colorbar ticks, display units */
} HeatLayout;

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void heat_layout(const PlotData *d, const Prep *p, HeatLayout *L)
{
    memset(L, 0, sizeof *L);
    int rows_total = d->n_rows * d->n_series;
    L->cw = clamp(480 / d->n_x, 8, 36);
    L->ch = clamp(320 / rows_total, 16, 26);
    if (L->ch * rows_total < 80) L->ch = clamp((80 + rows_total - 1) / rows_total, 16, 40);
    if (rows_total > 60) L->ch = clamp(1000 / rows_total, 2, 16);
    L->label_every = (LINE_H + L->ch - 1) / L->ch;
    if (L->label_every < 1) L->label_every = 1;

    /* colour range: the data's, symmetric about 0 when diverging */
    if (isnan(p->vmin)) { L->lo = p->diverging ? -1.0 : 0.0; L->hi = 1.0; }
    else if (p->diverging) {
        double m = fmax(fabs(p->vmin), fabs(p->vmax));
        if (m == 0.0) m = 1.0;
        L->lo = -m;
        L->hi = m;
    } else {
        L->lo = fmin(0.0, p->vmin);
        L->hi = p->vmax > L->lo ? p->vmax : L->lo + 1.0;
    }
    if (d->has_clim) {
        L->lo = d->clim[0] / p->scale;
        L->hi = d->clim[1] / p->scale;
    }
    L->cticks = ticks_within(L->lo * p->scale, L->hi * p->scale, 6);
    L->cbar_label_w = ticks_label_width(L->cticks);

    /* x labels: every n-th column so labels never touch */
    int xw = 0;
    char buf[64];
    for (int i = 0; i < d->n_x; i++) {
        fmt_x(buf, sizeof buf, d->x[i]);
        if (font_text_width(buf) > xw) xw = font_text_width(buf);
    }
    static const int steps[] = {1, 2, 4, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000};
    L->xlabel_every = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] * L->cw >= xw + 8) { L->xlabel_every = steps[i]; break; }

    int label_w = 0;
    for (int r = 0; r < d->n_rows; r++)
        if (font_text_width(p->rows[r]) > label_w) label_w = font_text_width(p->rows[r]);

    L->gx = MARGIN + FONT_H + GAP + label_w + GAP;
    L->gy = title_height(p) + (d->n_series > 1 ? LINE_H : 0);
    L->panel_h = d->n_rows * L->ch;
    L->panel_step = L->panel_h + (d->n_series > 1 ? GAP + LINE_H : 0);
    int grid_w = d->n_x * L->cw, grid_bottom = L->gy + (d->n_series - 1) * L->panel_step + L->panel_h;
    L->cbar_x = L->gx + grid_w + 2 * GAP + 4;
    L->cbar_y = L->gy;
    L->cbar_h = grid_bottom - L->gy;
    int want_h = font_text_width(p->value_title) + 2 * GAP;
    if (L->cbar_h < want_h) L->cbar_h = want_h;
    if (L->cbar_h < 100) L->cbar_h = 100;
    L->w = L->cbar_x + CBAR_W + TICK + 3 + L->cbar_label_w + GAP + FONT_H + MARGIN;
    int tw = title_width(p) + 2 * MARGIN;
    if (L->w < tw) {
        /* widen symmetrically so the grid stays under the centred title */
        int extra = tw - L->w;
        L->gx += extra / 2;
        L->cbar_x += extra / 2;
        L->w = tw;
    }
    int bottom = grid_bottom + TICK + 2 + LINE_H + LINE_H;
    if (L->cbar_y + L->cbar_h + FONT_H / 2 + 2 > bottom) bottom = L->cbar_y + L->cbar_h + FONT_H / 2 + 2;
    L->h = bottom + MARGIN;
}

/* Top-left pixel of cell (series s, row r, column i). */
static void heat_cell_origin(const HeatLayout *L, int s, int r, int i, int *x, int *y)
{
    *x = L->gx + i * L->cw;
    *y = L->gy + s * L->panel_step + r * L->ch;
}

static Rgb heat_color(const HeatLayout *L, int diverging, double v)
{
    if (!isfinite(v)) return C_MISSING;
    return cmap(diverging, (v - L->lo) / (L->hi - L->lo));
}

static void draw_colorbar(Canvas *c, const Prep *p, const HeatLayout *L)
{
    /* the end rows are exactly the range's ends, so they show the extreme colours */
    for (int y = 0; y < L->cbar_h; y++) {
        double v = L->hi - (double)y / (L->cbar_h - 1) * (L->hi - L->lo);
        raster_fill_rect(c, L->cbar_x, L->cbar_y + y, L->cbar_x + CBAR_W, L->cbar_y + y + 1,
                         heat_color(L, p->diverging, v));
    }
    raster_rect_outline(c, L->cbar_x - 1, L->cbar_y - 1, L->cbar_x + CBAR_W + 1, L->cbar_y + L->cbar_h + 1, C_AXIS);
    char buf[64];
    double dlo = L->lo * p->scale, dhi = L->hi * p->scale;
    for (int i = 0; i < L->cticks.n; i++) {
        double v = L->cticks.lo + i * L->cticks.step;
        int y = L->cbar_y + (int)lround((dhi - v) / (dhi - dlo) * L->cbar_h);
        if (y >= L->cbar_y + L->cbar_h) y = L->cbar_y + L->cbar_h - 1;
        int x = L->cbar_x + CBAR_W + 1;
        raster_fill_rect(c, x, y, x + TICK, y + 1, C_AXIS);
        fmt_tick(buf, sizeof buf, v, L->cticks.step);
        font_draw(c, x + TICK + 3, y - FONT_H / 2, buf, FONT_REGULAR, C_TEXT, FONT_RIGHT);
    }
    text_up_center(c, L->cbar_x + CBAR_W + TICK + 3 + L->cbar_label_w + GAP, L->cbar_y + L->cbar_h / 2,
                   p->value_title, C_TEXT);
}

/* Labels, ranges and geometry of d's heatmap; on failure nothing to free. */
static int heat_prepare(const PlotData *d, Prep *p, HeatLayout *L, KopError *err)
{
    if (prep_init(p, d, "row", err) < 0) {
        prep_free(p, d);
        return -1;
    }
    heat_layout(d, p, L);
    return 0;
}

int render_heatmap_canvas(Canvas *out, const PlotData *d, KopError *err)
{
    Prep p;
    HeatLayout L;
    if (heat_prepare(d, &p, &L, err) < 0) return -1;
    raster_init(out, L.w, L.h, C_BG);
    draw_titles(out, &p);
    int grid_w = d->n_x * L.cw;
    for (int s = 0; s < d->n_series; s++) {
        int x0, y0;
        heat_cell_origin(&L, s, 0, 0, &x0, &y0);
        if (d->n_series > 1) {
            /* the panel's title spans the labels and the cells */
            int left = MARGIN + FONT_H + GAP;
            char *t = elide_middle(series_label(d, s), (x0 + grid_w - left) / FONT_W);
            font_draw(out, left, y0 - LINE_H, t, FONT_BOLD, C_TEXT, FONT_RIGHT);
            free(t);
        }
        for (int r = 0; r < d->n_rows; r++) {
            for (int i = 0; i < d->n_x; i++) {
                int x, y;
                heat_cell_origin(&L, s, r, i, &x, &y);
                raster_fill_rect(out, x, y, x + L.cw, y + L.ch, heat_color(&L, p.diverging, PLOT_AT(d, d->mean, s, r, i)));
            }
            if (r % L.label_every == 0)
                text_right(out, x0 - GAP, text_top(y0 + r * L.ch, L.ch), p.rows[r], FONT_REGULAR, C_TEXT);
        }
        raster_rect_outline(out, x0 - 1, y0 - 1, x0 + grid_w + 1, y0 + L.panel_h + 1, C_AXIS);
    }
    /* x ticks under the last panel */
    int bottom = L.gy + (d->n_series - 1) * L.panel_step + L.panel_h + 1;
    char buf[64];
    for (int i = 0; i < d->n_x; i++) {
        int label = isnan(d->x[i]) || d->n_x == 1 ||
                    (fmod(d->x[i], L.xlabel_every) == 0.0 && d->x[i] == floor(d->x[i]));
        if (!label) continue;
        int cx = L.gx + i * L.cw + L.cw / 2;
        raster_fill_rect(out, cx, bottom, cx + 1, bottom + TICK, C_AXIS);
        fmt_x(buf, sizeof buf, d->x[i]);
        text_center(out, cx + 1, bottom + TICK + 2, buf, FONT_REGULAR, C_TEXT);
    }
    text_center(out, L.gx + grid_w / 2, bottom + TICK + 2 + LINE_H, x_title(d), FONT_REGULAR, C_TEXT);
    int grid_h = bottom - L.gy;
    text_up_center(out, MARGIN, L.gy + grid_h / 2, d->row_title ? d->row_title : "statement", C_TEXT);
    draw_colorbar(out, &p, &L);
    prep_free(&p, d);
    return 0;
}

int render_heatmap_cell(const PlotData *d, int series, int row, int xi, int *px, int *py)
{
    if (series < 0 || series >= d->n_series || row < 0 || row >= d->n_rows || xi < 0 || xi >= d->n_x) return -1;
    Prep p;
    HeatLayout L;
    if (heat_prepare(d, &p, &L, NULL) < 0) return -1;
    prep_free(&p, d);
    int x, y;
    heat_cell_origin(&L, series, row, xi, &x, &y);
    *px = x + L.cw / 2;
    *py = y + L.ch / 2;
    return 0;
}

// ---- line plots ---------------------------------------------------------------

typedef struct LinesLayout {
    int w, h;
    int panels, pcols;     /* panels (1, or n_rows when comparing series), panel columns */
    int px0, py0;          /* top-left of the first panel's plot area */
    int pw, ph;            /* plot area size */
    int pstep_x, pstep_y;  /* from one panel to the next */
    int ytick_w;
    double xlo, xhi;       /* data x range (equal when one column) */
    double ylo, yhi;       /* axis range, display units (tick multiples) */
    Ticks yt, xt;
    int legend_x, legend_y, legend_cols, legend_colw, legend_cells;
    int n_lines;           /* lines per panel */
} LinesLayout;

enum { XPAD = 10, SWATCH = 24, LEGEND_H = LINE_H + 1 };

static void lines_layout(const PlotData *d, const Prep *p, LinesLayout *L)
{
    memset(L, 0, sizeof *L);
    int compare = d->n_series > 1;
    L->panels = compare ? d->n_rows : 1;
    L->pcols = L->panels == 1 ? 1 : L->panels <= 4 ? 2 : 3;
    L->n_lines = compare ? d->n_series : d->n_rows;
    L->pw = compare ? clamp(10 * d->n_x, 200, 260) : clamp(18 * d->n_x, 360, 560);
    L->ph = compare ? 150 : 260;

    double lo = p->elo * p->scale, hi = p->ehi * p->scale;
    if (!(hi > lo)) { lo = -1.0; hi = 1.0; }
    /* a little air, then limits on a fine grid that hug the data; labelled
     * ticks are coarser */
    double air = 0.03 * (hi - lo);
    lo -= air;
    hi += air;
    double step = nice_step(hi - lo, 12);
    L->ylo = floor(lo / step + 1e-9) * step;
    L->yhi = ceil(hi / step - 1e-9) * step;
    if (d->has_ylim) {
        L->ylo = d->ylim[0];
        L->yhi = d->ylim[1];
    }
    L->yt = ticks_within(L->ylo, L->yhi, 5);
    L->ytick_w = ticks_label_width(L->yt);

    L->xlo = isnan(d->x[0]) ? 0.0 : d->x[0];
    L->xhi = isnan(d->x[d->n_x - 1]) ? L->xlo : d->x[d->n_x - 1];
    if (L->xhi > L->xlo) {
        /* integer steps (layers), spaced so labels do not touch */
        double unit = (L->pw - 2 * XPAD) / (L->xhi - L->xlo);
        double s = nice_step(L->xhi - L->xlo, 8);
        if (s < 1.0) s = 1.0;
        while (s * unit < 3 * FONT_W + GAP) s = nice_step(s * 2.0, 1);
        L->xt.step = s;
        L->xt.lo = ceil(L->xlo / s - 1e-9) * s;
        L->xt.n = (int)floor((L->xhi - L->xt.lo) / s + 1e-9) + 1;
    }

    int title_h = title_height(p), panel_title_h = compare ? LINE_H + GAP : 0;
    L->px0 = MARGIN + FONT_H + GAP + L->ytick_w + TICK + 2;
    L->py0 = title_h + panel_title_h;
    L->pstep_x = L->pw + GAP + L->ytick_w + TICK + 2 + 2 * GAP;
    L->pstep_y = L->ph + TICK + 2 + LINE_H + GAP + panel_title_h;
    int prow = (L->panels + L->pcols - 1) / L->pcols;
    int right = L->px0 + (L->pcols - 1) * L->pstep_x + L->pw + MARGIN;
    int plots_bottom = L->py0 + (prow - 1) * L->pstep_y + L->ph + TICK + 2 + LINE_H + LINE_H;

    /* legend below the plots, in as many columns as fit the figure's width */
    L->w = right;
    int tw = title_width(p) + 2 * MARGIN;
    if (L->w < tw) L->w = tw;
    int avail = L->w - L->px0 - MARGIN, maxlab = 0;
    L->legend_cells = (avail - SWATCH - GAP) / FONT_W;
    for (int i = 0; i < L->n_lines; i++) {
        const char *lab = compare ? series_label(d, i) : p->rows[i];
        int cells = font_cells(lab);
        if (cells > maxlab) maxlab = cells;
    }
    if (maxlab > L->legend_cells) maxlab = L->legend_cells;
    L->legend_colw = SWATCH + GAP + maxlab * FONT_W + 3 * GAP;
    L->legend_cols = clamp(avail / L->legend_colw, 1, L->n_lines);
    L->legend_x = L->px0;
    L->legend_y = plots_bottom + GAP;
    int legend_rows = (L->n_lines + L->legend_cols - 1) / L->legend_cols;
    L->h = L->legend_y + legend_rows * LEGEND_H + MARGIN;
}

static void panel_origin(const LinesLayout *L, int panel, int *x, int *y)
{
    *x = L->px0 + (panel % L->pcols) * L->pstep_x;
    *y = L->py0 + (panel / L->pcols) * L->pstep_y;
}

static float map_x(const LinesLayout *L, int x0, double x)
{
    if (!(L->xhi > L->xlo) || isnan(x)) return (float)x0 + 0.5f * (float)L->pw;
    return (float)x0 + XPAD + (float)((x - L->xlo) / (L->xhi - L->xlo) * (L->pw - 2 * XPAD));
}

static float map_y(const LinesLayout *L, int y0, double v)
{
    if (v > L->yhi) v = L->yhi; /* fixed limits: what lies beyond is drawn on the edge */
    if (v < L->ylo) v = L->ylo;
    return (float)y0 + (float)((L->yhi - v) / (L->yhi - L->ylo) * L->ph);
}

static Rgb line_color(int i) { return RGB_HEX(palette[i % 8]); }

static void draw_axes(Canvas *c, const PlotData *d, const LinesLayout *L, int x0, int y0)
{
    char buf[64];
    for (int i = 0; i < L->yt.n; i++) {
        double v = L->yt.lo + i * L->yt.step;
        int y = (int)floorf(map_y(L, y0, v));
        if (y >= y0 + L->ph) y = y0 + L->ph - 1;
        raster_fill_rect(c, x0, y, x0 + L->pw, y + 1, C_GRID);
        raster_fill_rect(c, x0 - TICK, y, x0, y + 1, C_AXIS);
        fmt_tick(buf, sizeof buf, v, L->yt.step);
        text_right(c, x0 - TICK - 2, y - FONT_H / 2, buf, FONT_REGULAR, C_TEXT);
    }
    if (L->ylo < 0.0 && L->yhi > 0.0) {
        int y = (int)floorf(map_y(L, y0, 0.0));
        raster_fill_rect(c, x0, y, x0 + L->pw, y + 1, C_ZERO);
    }
    int yb = y0 + L->ph;
    if (L->xt.n > 0) {
        for (int i = 0; i < L->xt.n; i++) {
            double v = L->xt.lo + i * L->xt.step;
            int x = (int)floorf(map_x(L, x0, v));
            raster_fill_rect(c, x, yb, x + 1, yb + TICK, C_AXIS);
            fmt_tick(buf, sizeof buf, v, L->xt.step);
            text_center(c, x + 1, yb + TICK + 2, buf, FONT_REGULAR, C_TEXT);
        }
    } else {
        int x = (int)floorf(map_x(L, x0, d->x[0]));
        raster_fill_rect(c, x, yb, x + 1, yb + TICK, C_AXIS);
        fmt_x(buf, sizeof buf, d->x[0]);
        text_center(c, x + 1, yb + TICK + 2, buf, FONT_REGULAR, C_TEXT);
    }
    raster_fill_rect(c, x0 - 1, y0, x0, yb + 1, C_AXIS);   /* y axis */
    raster_fill_rect(c, x0 - 1, yb, x0 + L->pw, yb + 1, C_AXIS); /* x axis */
}

/* One series of one row: band, line and markers, split at missing values. */
static void draw_curve(Canvas *c, const PlotData *d, const Prep *p, const LinesLayout *L, int x0, int y0, int s,
                       int r, Rgb col, int dashed, int pass)
{
    int n = d->n_x;
    float *xs = kop_xmalloc(sizeof *xs * (size_t)n), *ym = kop_xmalloc(sizeof *ym * (size_t)n);
    float *ya = kop_xmalloc(sizeof *ya * (size_t)n), *yb = kop_xmalloc(sizeof *yb * (size_t)n);
    int i = 0;
    while (i < n) {
        while (i < n && !isfinite(PLOT_AT(d, d->mean, s, r, i))) i++;
        int k = 0;
        for (; i < n && (isfinite(PLOT_AT(d, d->mean, s, r, i)) || d->join_gaps); i++) {
            if (!isfinite(PLOT_AT(d, d->mean, s, r, i))) continue;
            double m = PLOT_AT(d, d->mean, s, r, i) * p->scale;
            double e = d->se && isfinite(PLOT_AT(d, d->se, s, r, i)) ? fabs(PLOT_AT(d, d->se, s, r, i)) * p->scale : 0.0;
            xs[k] = map_x(L, x0, d->x[i]);
            ym[k] = map_y(L, y0, m);
            ya[k] = map_y(L, y0, m - e);
            yb[k] = map_y(L, y0, m + e);
            k++;
        }
        if (k == 0) break;
        if (pass == 0 && k >= 2) raster_band(c, xs, ya, yb, k, col, 0.18f);
        if (pass == 1 && k >= 2) raster_polyline(c, xs, ym, k, 2.0f, col, dashed ? 7.0f : 0.0f, 4.0f);
        if (pass == 1 && k == 1 && ya[0] != yb[0]) {
            /* a lone point has no band: show its standard error as a bar */
            raster_line(c, xs[0], ya[0], xs[0], yb[0], 1.5f, col);
            raster_line(c, xs[0] - 4, ya[0], xs[0] + 4, ya[0], 1.5f, col);
            raster_line(c, xs[0] - 4, yb[0], xs[0] + 4, yb[0], 1.5f, col);
        }
        if (pass == 1 && (n <= 40 || k == 1))
            for (int j = 0; j < k; j++) raster_disc(c, xs[j], ym[j], k == 1 ? 3.5f : 2.5f, col);
    }
    free(xs);
    free(ym);
    free(ya);
    free(yb);
}

static void draw_legend(Canvas *c, const PlotData *d, const Prep *p, const LinesLayout *L)
{
    for (int i = 0; i < L->n_lines; i++) {
        int x = L->legend_x + (i % L->legend_cols) * L->legend_colw;
        int y = L->legend_y + (i / L->legend_cols) * LEGEND_H;
        float cy = (float)y + FONT_H / 2.0f;
        Rgb col = line_color(i);
        raster_fill_rect(c, x, (int)cy - 5, x + SWATCH, (int)cy + 6, RGB_HEX(0xf0f0f0));
        float xs[2] = {(float)x + 1, (float)x + SWATCH - 1}, ys[2] = {cy, cy};
        raster_polyline(c, xs, ys, 2, 2.0f, col, i >= 8 ? 7.0f : 0.0f, 4.0f);
        raster_disc(c, (float)x + SWATCH / 2.0f, cy, 2.5f, col);
        char *lab = elide_middle(d->n_series > 1 ? series_label(d, i) : p->rows[i], L->legend_cells);
        font_draw(c, x + SWATCH + GAP, y, lab, FONT_REGULAR, C_TEXT, FONT_RIGHT);
        free(lab);
    }
}

/* Labels, ranges and geometry of d's line plot; on failure nothing to free. */
static int lines_prepare(const PlotData *d, Prep *p, LinesLayout *L, KopError *err)
{
    if (prep_init(p, d, d->n_series > 1 ? "panel" : "line", err) < 0) {
        prep_free(p, d);
        return -1;
    }
    lines_layout(d, p, L);
    return 0;
}

int render_lines_canvas(Canvas *out, const PlotData *d, KopError *err)
{
    Prep p;
    LinesLayout L;
    if (lines_prepare(d, &p, &L, err) < 0) return -1;
    raster_init(out, L.w, L.h, C_BG);
    draw_titles(out, &p);
    int compare = d->n_series > 1;
    for (int panel = 0; panel < L.panels; panel++) {
        int x0, y0;
        panel_origin(&L, panel, &x0, &y0);
        if (compare) {
            char *t = elide_middle(p.rows[panel], L.pw / FONT_W);
            text_center(out, x0 + L.pw / 2, y0 - LINE_H - GAP, t, FONT_BOLD, C_TEXT);
            free(t);
        }
        draw_axes(out, d, &L, x0, y0);
        /* bands first, so no band veils another curve's line */
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < L.n_lines; i++)
                draw_curve(out, d, &p, &L, x0, y0, compare ? i : 0, compare ? panel : i, line_color(i), i >= 8,
                           pass);
    }
    int prow = (L.panels + L.pcols - 1) / L.pcols;
    int last_x, last_y;
    panel_origin(&L, (prow - 1) * L.pcols, &last_x, &last_y);
    int plots_w = (L.pcols - 1) * L.pstep_x + L.pw;
    text_center(out, L.px0 + plots_w / 2, last_y + L.ph + TICK + 2 + LINE_H, x_title(d), FONT_REGULAR, C_TEXT);
    int plots_h = (prow - 1) * L.pstep_y + L.ph;
    text_up_center(out, MARGIN, L.py0 + plots_h / 2, p.value_title, C_TEXT);
    draw_legend(out, d, &p, &L);
    prep_free(&p, d);
    return 0;
}

int render_lines_point(const PlotData *d, int series, int row, int xi, int *px, int *py)
{
    if (series < 0 || series >= d->n_series || row < 0 || row >= d->n_rows || xi < 0 || xi >= d->n_x) return -1;
    double m = PLOT_AT(d, d->mean, series, row, xi);
    if (!isfinite(m)) return -1;
    Prep p;
    LinesLayout L;
    if (lines_prepare(d, &p, &L, NULL) < 0) return -1;
    int x0, y0;
    panel_origin(&L, d->n_series > 1 ? row : 0, &x0, &y0);
    *px = (int)floorf(map_x(&L, x0, d->x[xi]));
    *py = (int)floorf(map_y(&L, y0, m * p.scale));
    prep_free(&p, d);
    return 0;
}

// ---- files --------------------------------------------------------------------

static int render_file(const char *path, const PlotData *d, KopError *err,
                       int (*draw)(Canvas *, const PlotData *, KopError *))
{
    Canvas c;
    if (draw(&c, d, err) < 0) {
        if (err) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            kop_fail(err, err->status, "%s: %s", path, msg);
        }
        return -1;
    }
    int rc = render_png_write(path, &c, err);
    raster_free(&c);
    return rc;
}

int render_heatmap(const char *path, const PlotData *d, KopError *err)
{
    return render_file(path, d, err, render_heatmap_canvas);
}

int render_lines(const char *path, const PlotData *d, KopError *err)
{
    return render_file(path, d, err, render_lines_canvas);
}
