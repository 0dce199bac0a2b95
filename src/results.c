/* results.c: see results.h. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The window's first layer lo_expr at k, before clipping (clipped: lo), as
 * a percentage of the layers: where `x depth` puts an item. */
static double depth(const Recipe *rc, const PlanExpr *lo_expr, int k, int lo)
{
    long first = lo;
    if (lo_expr && plan_expr_eval(lo_expr, k, 0, rc->n_layers, &first) < 0) first = lo;
    /* rounded, so that one depth of two models (12 of 24, 24 of 48) is one x */
    return rc->n_layers > 0 ? round((double)first * 100.0 / rc->n_layers * 1e9) / 1e9 : NAN;
}

ItemView results_item(const Recipe *r, int i)
{
    if (plan_is_trace(r)) {
        const RestoreItem *it = &r->restore_items[i];
        return (ItemView){it->restore->label, it->k, it->layer_lo, it->layer_hi,
                          depth(r, it->restore->restore.lo, it->k, it->layer_lo)};
    }
    const PlanItem *it = &r->items[i];
    return (ItemView){it->block->label, it->k, it->layer_lo, it->layer_hi, depth(r, it->block->lo, it->k, it->layer_lo)};
}

void results_init(Results *r, const Recipe *recipe, const char *experiment, const char *model)
{
    memset(r, 0, sizeof *r);
    r->recipe = recipe;
    r->experiment = experiment;
    r->model = model;
}

static Acc *acc_get(Results *r, int item, int t, int metric)
{
    for (int i = r->n_acc - 1; i >= 0; i--) /* items arrive in order: search from the end */
        if (r->acc[i].item == item && r->acc[i].t == t && r->acc[i].metric == metric) return &r->acc[i];
    if (r->n_acc == r->cap_acc)
        r->acc = kop_xrealloc(r->acc, sizeof *r->acc * (size_t)(r->cap_acc = r->cap_acc ? 2 * r->cap_acc : 64));
    Acc *a = &r->acc[r->n_acc++];
    *a = (Acc){.item = item, .t = t, .metric = metric};
    return a;
}

void results_add(Results *r, PromptResult *p)
{
    if (r->n_prompts == r->cap_prompts)
        r->prompts = kop_xrealloc(r->prompts, sizeof *r->prompts * (size_t)(r->cap_prompts = r->cap_prompts ? 2 * r->cap_prompts : 64));
    PromptResult *q = &r->prompts[r->n_prompts++];
    *q = *p;
    memset(p, 0, sizeof *p);
    if (!q->used) return;
    r->n_counted++;
    if (!q->mine) return;
    r->n_used++;
    /* one intervened run gives every metric (a journal read without its recipe: counted per metric) */
    r->n_runs += r->recipe ? q->n_m / r->recipe->n_metrics : q->n_m;
    r->flops += q->flops;
    for (int k = 0; k < q->n_m; k++) stat_add(&acc_get(r, q->m[k].item, q->m[k].t, q->m[k].metric)->s, q->m[k].value);
}

static int acc_cmp(const void *a_, const void *b_)
{
    const Acc *a = a_, *b = b_;
    return a->item != b->item ? a->item - b->item : a->t != b->t ? a->t - b->t : a->metric - b->metric;
}

void results_finish(Results *r)
{
    qsort(r->acc, (size_t)r->n_acc, sizeof *r->acc, acc_cmp);
}

void results_free(Results *r)
{
    for (int i = 0; i < r->n_prompts; i++) {
        free(r->prompts[i].m);
        for (int t = 0; t < r->prompts[i].n_labels; t++) free(r->prompts[i].labels[t]);
        free(r->prompts[i].labels);
    }
    free(r->prompts);
    free(r->acc);
    for (int t = 0; t < r->n_t_labels; t++) free(r->t_labels[t]);
    free(r->t_labels);
    memset(r, 0, sizeof *r);
}

/* A value as summary.csv holds it (9 significant digits), so that a figure
 * drawn now is the figure `kop render` draws from the file later. */
static double as_written(double v)
{
    char buf[32];
    if (v != v) return NAN;
    snprintf(buf, sizeof buf, "%.9g", v);
    return strtod(buf, NULL);
}

void results_summary(const Results *r, Summary *out)
{
    memset(out, 0, sizeof *out);
    out->name = kop_xstrdup("summary.csv");
    out->rows = kop_xcalloc((size_t)(r->n_acc ? r->n_acc : 1), sizeof *out->rows);
    out->n_rows = r->n_acc;
    for (int i = 0; i < r->n_acc; i++) {
        ItemView it = results_item(r->recipe, r->acc[i].item);
        const Stat *s = &r->acc[i].s;
        out->rows[i] = (SummaryRow){
            .experiment = kop_xstrdup(r->experiment), .model = kop_xstrdup(r->model),
            .statement = kop_xstrdup(it.label), .metric = kop_xstrdup(plan_metric_name(r->recipe->metrics[r->acc[i].metric])),
            .has_k = it.k >= 0, .k = it.k, .has_t = r->acc[i].t >= 0, .t = r->acc[i].t, .n = s->n,
            .mean = as_written(stat_mean(s)), .se = as_written(stat_stderr(s)), .ci95 = as_written(stat_ci95(s)),
            .line = i + 2, .depth = it.depth};
    }
}
