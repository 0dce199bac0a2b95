/* results_prompts.c: `output heatmap "F.png" per prompt`: one heatmap panel
 * per measured prompt, drawn from its own measurements (not from the
 * summary, whose tokens[t] rows average positions across prompts).
 *
 * A panel is one block that sweeps t and k on one prompt: rows are the
 * values of t (the prompt's source tokens, labelled with their text, first
 * to last), columns the values of k, the cell the metric of that run; the
 * panel's title names the prompt's id and its clean probability.  The panels
 * are stacked top to bottom in one PNG and share one colour scale: the
 * output's `clim`, else symmetric about 0 over every panel, so colours
 * compare across prompts as in the Mamba Knockout paper's figures. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "results.h"

/* At most this many panels in one file: a picture of thousands of prompts
 * is no longer read by anyone (the rows are in rows.csv). */
enum { MAX_PANELS = 64 };

/* The panel of block b on prompt p into d (storage in the arrays given). */
static int panel_fill(const Results *res, const PromptResult *p, const Block *b, int metric, const int *ks, int n_k,
                      double *mean, int *n_t, int *t_of)
{
    const Recipe *r = res->recipe;
    int nt = 0;
    for (int i = 0; i < p->n_m; i++) { /* the t values, in the order run (increasing) */
        const Measure *m = &p->m[i];
        if (r->items[m->item].block != b || m->metric != metric) continue;
        int seen = 0;
        for (int q = 0; q < nt && !seen; q++) seen = t_of[q] == m->t;
        if (!seen) t_of[nt++] = m->t;
    }
    for (size_t c = 0; c < (size_t)nt * (size_t)n_k; c++) mean[c] = NAN;
    for (int i = 0; i < p->n_m; i++) {
        const Measure *m = &p->m[i];
        const PlanItem *it = &r->items[m->item];
        if (it->block != b || m->metric != metric) continue;
        int row = 0, col = 0;
        while (t_of[row] != m->t) row++;
        while (col < n_k && ks[col] != it->k) col++;
        if (col < n_k) mean[(size_t)row * (size_t)n_k + (size_t)col] = m->value;
    }
    *n_t = nt;
    return nt;
}

int render_per_prompt(const char *path, const Results *res, Metric metric, const FigureOpts *fig, KopError *err)
{
    const Recipe *r = res->recipe;
    int mi = 0;
    while (mi < r->n_metrics && r->metrics[mi] != metric) mi++;
    const char *mname = plan_metric_name(metric);
    double scale = render_metric_scale(mname);
    int *ks = kop_xmalloc(sizeof *ks * (size_t)(r->n_items ? r->n_items : 1)), n_k = 0;
    for (int i = 0; i < r->n_items; i++) {
        int seen = 0;
        for (int q = 0; q < n_k && !seen; q++) seen = ks[q] == r->items[i].k;
        if (!seen && r->items[i].k >= 0) ks[n_k++] = r->items[i].k;
    }
    /* the panels: (prompt, block sweeping t and k) */
    int n_pan = 0, max_t = 0;
    const PromptResult *pan_p[MAX_PANELS];
    const Block *pan_b[MAX_PANELS];
    for (int i = 0; i < res->n_prompts && n_pan < MAX_PANELS; i++) {
        const PromptResult *p = &res->prompts[i];
        if (!p->used || !p->mine) continue;
        if (p->T > max_t) max_t = p->T;
        for (int b = 0; b < r->n_blocks && n_pan < MAX_PANELS; b++)
            if (r->blocks[b].uses_t && r->blocks[b].uses_k) {
                pan_p[n_pan] = p;
                pan_b[n_pan++] = &r->blocks[b];
            }
    }
    if (!n_pan || !n_k) {
        free(ks);
        return kop_fail(err, KOP_EXIT_DATA, "%s: 'per prompt' needs a block that sweeps both t and k, and a measured prompt",
                        path);
    }
    size_t cells = (size_t)(max_t ? max_t : 1) * (size_t)n_k;
    double *mean = kop_xmalloc(sizeof *mean * cells * (size_t)n_pan);
    int *t_of = kop_xmalloc(sizeof *t_of * (size_t)(max_t ? max_t : 1) * (size_t)n_pan), *n_t = kop_xcalloc((size_t)n_pan, sizeof *n_t);
    double amax = 0;
    for (int q = 0; q < n_pan; q++) {
        panel_fill(res, pan_p[q], pan_b[q], mi, ks, n_k, mean + cells * (size_t)q, &n_t[q], t_of + (size_t)max_t * (size_t)q);
        for (size_t c = 0; c < (size_t)n_t[q] * (size_t)n_k; c++)
            if (isfinite(mean[cells * (size_t)q + c]) && fabs(mean[cells * (size_t)q + c]) > amax)
                amax = fabs(mean[cells * (size_t)q + c]);
    }
    if (amax == 0) amax = 1;
    double *x = kop_xmalloc(sizeof *x * (size_t)n_k);
    for (int i = 0; i < n_k; i++) x[i] = ks[i];
    Canvas *cv = kop_xcalloc((size_t)n_pan, sizeof *cv);
    int status = 0, w = 0, h = 0;
    for (int q = 0; q < n_pan && status == 0; q++) {
        const PromptResult *p = pan_p[q];
        const char **labels = kop_xcalloc((size_t)(n_t[q] ? n_t[q] : 1), sizeof *labels);
        char **own = kop_xcalloc((size_t)(n_t[q] ? n_t[q] : 1), sizeof *own);
        for (int t = 0; t < n_t[q]; t++) {
            int pos = t_of[(size_t)max_t * (size_t)q + (size_t)t];
            labels[t] = pos < p->n_labels ? p->labels[pos] : (own[t] = kop_strf("t = %d", pos));
        }
        char *title = kop_strf("prompt %ld: p = %.3f", p->id, p->p_clean);
        PlotData d = {.experiment = title, .model = r->n_blocks > 1 ? pan_b[q]->label : res->model,
                      .metric = mname, .n_series = 1, .n_rows = n_t[q], .row_labels = labels, .n_x = n_k, .x = x,
                      .mean = mean + cells * (size_t)q, .row_title = "source token", .verbatim_labels = 1,
                      .has_clim = 1, .clim = {-amax * scale, amax * scale}, .colors = fig->colors};
        if (fig->has_clim) memcpy(d.clim, fig->clim, sizeof d.clim);
        if (fig->x_depth) {
            /* the same columns, labelled by depth */
            for (int i = 0; i < n_k; i++) x[i] = ks[i] * 100.0 / r->n_layers;
            d.x_title = "relative depth (%)";
        }
        status = n_t[q] ? render_heatmap_canvas(&cv[q], &d, err) : 0;
        if (status == 0 && n_t[q]) {
            if (cv[q].w > w) w = cv[q].w;
            h += cv[q].h;
        }
        for (int t = 0; t < n_t[q]; t++) free(own[t]);
        free(own);
        free(labels);
        free(title);
    }
    if (status == 0) {
        Canvas all;
        raster_init(&all, w, h, RGB_HEX(0xffffff));
        int y = 0;
        for (int q = 0; q < n_pan; q++) {
            for (int yy = 0; yy < cv[q].h; yy++)
                for (int xx = 0; xx < cv[q].w; xx++) raster_blend(&all, xx, y + yy, raster_get(&cv[q], xx, yy), 1.0f);
            y += cv[q].h;
        }
        status = render_png_write(path, &all, err);
        raster_free(&all);
    }
    for (int q = 0; q < n_pan; q++) raster_free(&cv[q]);
    free(cv); free(x); free(mean); free(t_of); free(n_t); free(ks);
    return status;
}
