/* plan.c: see plan.h.  Expression and group evaluation, the layout of the
 * plan for a given layer count, and its dump and summary. */
#include "plan.h"

#include <limits.h>
#include <string.h>

// ---- spellings -----------------------------------------------------------------

const char *const plan_group_names[GROUP_N_KINDS] = {
#define KOP_GROUP(name, spelling) spelling,
#include "plan_ops.def"
#undef KOP_GROUP
};
const char *const plan_metric_names[METRIC_N] = {
#define KOP_METRIC(name, spelling) spelling,
#include "plan_ops.def"
#undef KOP_METRIC
};
const char *const plan_output_names[OUTPUT_N] = {
#define KOP_OUTPUT(name, spelling, png) spelling,
#include "plan_ops.def"
#undef KOP_OUTPUT
};
static const int output_png[OUTPUT_N] = {
#define KOP_OUTPUT(name, spelling, png) png,
#include "plan_ops.def"
#undef KOP_OUTPUT
};
const char *const plan_prompts_names[PROMPTS_N] = {
#define KOP_PROMPTS(name, spelling) spelling,
#include "plan_ops.def"
#undef KOP_PROMPTS
};
const char *const plan_target_names[TARGET_N] = {
#define KOP_TARGET(name, spelling) spelling,
#include "plan_ops.def"
#undef KOP_TARGET
};
static const struct { const char *spelling; int arity; } expr_ops[] = {
#define KOP_EXPR_OP(name, arity, spelling) {spelling, arity},
#include "plan_ops.def"
#undef KOP_EXPR_OP
};
static const char *const feature_names[] = {
    [FEAT_ALL] = "all", [FEAT_SLOW] = "slow", [FEAT_FAST] = "fast",
    [FEAT_ALL_EXCEPT_SLOW] = "all except slow", [FEAT_ALL_EXCEPT_FAST] = "all except fast",
};

const char *plan_metric_name(Metric m) { return plan_metric_names[m]; }
int plan_output_is_png(OutputKind o) { return output_png[o]; }

// ---- expressions ---------------------------------------------------------------

int plan_expr_eval(const PlanExpr *e, long k, long t, long L, long *out)
{
    long a = 0, b = 0, r = 0;
    switch (e->op) {
    case EXPR_NUM: *out = e->value; return 0;
    case EXPR_K: *out = k; return 0;
    case EXPR_T: *out = t; return 0;
    case EXPR_L: *out = L; return 0;
    default: break;
    }
    if (plan_expr_eval(e->a, k, t, L, &a) < 0) return -1;
    if (e->b && plan_expr_eval(e->b, k, t, L, &b) < 0) return -1;
    switch (e->op) {
    case EXPR_NEG: if (__builtin_sub_overflow(0L, a, &r)) return -1; break;
    case EXPR_ADD: if (__builtin_add_overflow(a, b, &r)) return -1; break;
    case EXPR_SUB: if (__builtin_sub_overflow(a, b, &r)) return -1; break;
    case EXPR_MUL: if (__builtin_mul_overflow(a, b, &r)) return -1; break;
    case EXPR_DIV:
        if (b == 0 || (a == LONG_MIN && b == -1)) return -1;
        r = a / b;
        if (a % b != 0 && ((a < 0) != (b < 0))) r--; /* toward negative infinity */
        break;
    default: KOP_ABORT("bad expression op %d", (int)e->op);
    }
    *out = r;
    return 0;
}

int plan_expr_uses(const PlanExpr *e, ExprOp var)
{
    if (!e) return 0;
    return e->op == var || plan_expr_uses(e->a, var) || plan_expr_uses(e->b, var);
}

static int expr_prec(const PlanExpr *e)
{
    switch (e->op) {
    case EXPR_ADD: case EXPR_SUB: return 1;
    case EXPR_MUL: case EXPR_DIV: return 2;
    case EXPR_NEG: return 3;
    default: return 4;
    }
}

static void print_sub(FILE *f, const PlanExpr *e, int min_prec)
{
    int paren = expr_prec(e) < min_prec;
    if (paren) fputc('(', f);
    plan_expr_print(f, e);
    if (paren) fputc(')', f);
}

void plan_expr_print(FILE *f, const PlanExpr *e)
{
    int p = expr_prec(e);
    switch (expr_ops[e->op].arity) {
    case 0:
        if (e->op == EXPR_NUM) fprintf(f, "%ld", e->value);
        else fputs(expr_ops[e->op].spelling, f);
        return;
    case 1:
        fputc('-', f);
        print_sub(f, e->a, p);
        return;
    default:
        /* a - (b - c), a / (b * c): the right operand binds tighter. */
        print_sub(f, e->a, p);
        fputs(expr_ops[e->op].spelling, f);
        print_sub(f, e->b, p + 1);
    }
}

// ---- token groups --------------------------------------------------------------

typedef struct GroupCtx {
    int n, sf, sl, t;
} GroupCtx;

/* One end of tokens[...]: negative counts from the end unless it uses t. */
static int token_index(const PlanExpr *e, const GroupCtx *c, long *out)
{
    if (plan_expr_eval(e, 0, c->t, 0, out) < 0) return -1;
    if (*out < 0 && !plan_expr_uses(e, EXPR_T)) *out += c->n;
    return 0;
}

/* 1 if position i is in g, 0 if not, -1 if an index cannot be computed. */
static int group_has(const GroupExpr *g, int i, const GroupCtx *c)
{
    int x, y;
    long lo, hi;
    switch (g->kind) {
    case GROUP_FIRST: return i == 0;
    case GROUP_LAST: return i == c->n - 1;
    case GROUP_SUBJECT: return i >= c->sf && i <= c->sl;
    case GROUP_SUBJ_FIRST: return i == c->sf;
    case GROUP_SUBJ_LAST: return i == c->sl;
    case GROUP_RELATION: return i < c->sf || i > c->sl;
    case GROUP_CONTEXT: return i < c->sf;
    case GROUP_ALL: return 1;
    case GROUP_TOKENS:
        if (token_index(g->lo, c, &lo) < 0) return -1;
        if (!g->hi) hi = lo;
        else if (token_index(g->hi, c, &hi) < 0) return -1;
        return i >= lo && i <= hi;
    case GROUP_UNION:
    case GROUP_DIFF:
        if ((x = group_has(g->a, i, c)) < 0 || (y = group_has(g->b, i, c)) < 0) return -1;
        return g->kind == GROUP_UNION ? x || y : x && !y;
    default:
        KOP_ABORT("bad group kind %d", (int)g->kind);
        return -1;
    }
}

int plan_eval_group(const GroupExpr *g, int n_tokens, int subj_first, int subj_last, int t,
                    unsigned char *mask)
{
    if (n_tokens < 1 || subj_first < 0 || subj_last < subj_first || subj_last >= n_tokens)
        return -1;
    GroupCtx c = {n_tokens, subj_first, subj_last, t};
    int count = 0;
    for (int i = 0; i < n_tokens; i++) {
        int in = group_has(g, i, &c);
        if (in < 0) return -1;
        mask[i] = (unsigned char)in;
        count += in;
    }
    return count;
}

int plan_group_uses_t(const GroupExpr *g)
{
    if (!g) return 0;
    return plan_expr_uses(g->lo, EXPR_T) || plan_expr_uses(g->hi, EXPR_T) ||
           plan_group_uses_t(g->a) || plan_group_uses_t(g->b);
}

static void group_print_sub(FILE *f, const GroupExpr *g)
{
    int paren = g->kind == GROUP_UNION || g->kind == GROUP_DIFF;
    if (paren) fputc('(', f);
    plan_group_print(f, g);
    if (paren) fputc(')', f);
}

void plan_group_print(FILE *f, const GroupExpr *g)
{
    switch (g->kind) {
    case GROUP_SUBJ_FIRST: fputs("subject.first", f); return;
    case GROUP_SUBJ_LAST: fputs("subject.last", f); return;
    case GROUP_TOKENS:
        fputs("tokens[", f);
        plan_expr_print(f, g->lo);
        if (g->hi) {
            fputs("..", f);
            plan_expr_print(f, g->hi);
        }
        fputc(']', f);
        return;
    case GROUP_UNION:
    case GROUP_DIFF:
        group_print_sub(f, g->a);
        fputs(g->kind == GROUP_UNION ? " | " : " - ", f);
        group_print_sub(f, g->b);
        return;
    default:
        fputs(plan_group_names[g->kind], f);
    }
}

void plan_feature_print(FILE *f, const FeatureSel *sel)
{
    fputs(feature_names[sel->kind], f);
    if (sel->kind == FEAT_ALL) return;
    if (sel->den) fprintf(f, " %ld/%ld", sel->num, sel->den);
    else fprintf(f, " %g", sel->frac);
}

// ---- building ------------------------------------------------------------------

/* Intersect the grid first, first+stride, ... <= last with [lo, hi]:
 * returns the number of values left and moves *first, *last onto them. */
static long clip_grid(long *first, long *last, long stride, long lo, long hi)
{
    if (*first < lo) {
        /* In unsigned arithmetic: lo - *first may not fit a long.  The new
         * first lies in [lo, lo + stride), so it does. */
        unsigned long diff = (unsigned long)lo - (unsigned long)*first, st = (unsigned long)stride;
        unsigned long adv = (diff / st + (diff % st != 0)) * st;
        *first = (long)((unsigned long)*first + adv);
    }
    if (*last > hi) *last = hi;
    if (*first > *last) return 0;
    *last = *first + (*last - *first) / stride * stride;
    return (*last - *first) / stride + 1;
}

static int eval_or_report(const PlanExpr *e, long k, long L, Diag *d, long *v)
{
    if (plan_expr_eval(e, k, 0, L, v) == 0) return 0;
    if (plan_expr_uses(e, EXPR_K))
        diag_error(d, e->loc, "this expression divides by zero or overflows (k = %ld, L = %ld)", k, L);
    else
        diag_error(d, e->loc, "this expression divides by zero or overflows (L = %ld)", L);
    return -1;
}

/* The k values: `sweep k in lo..hi step s`, or every layer. */
static int build_k_sweep(Recipe *r, Diag *d)
{
    long L = r->n_layers, first = 0, last = L - 1, stride = 1;
    if (r->k_lo) {
        if (eval_or_report(r->k_lo, 0, L, d, &first) < 0 || eval_or_report(r->k_hi, 0, L, d, &last) < 0)
            return -1;
        if (r->k_step && eval_or_report(r->k_step, 0, L, d, &stride) < 0) return -1;
        if (stride < 1) {
            diag_error(d, r->k_step->loc, "a sweep's step is at least 1 (here %ld)", stride);
            return -1;
        }
    }
    long n = clip_grid(&first, &last, stride, 0, L - 1);
    if (r->uses_k && n == 0) {
        diag_error(d, r->k_loc, "the sweep of k is empty for a model of %ld layers (0..%ld)", L, L - 1);
        return -1;
    }
    r->k_first = (int)first;
    r->k_last = (int)last;
    r->k_stride = (int)stride;
    r->n_k = r->uses_k ? (int)n : 0;
    return 0;
}

/* The layers lo..hi (both NULL: all) at k, clipped to [0, L-1] into *out_lo,
 * *out_hi (0, -1 when nothing is left); -1 after reporting. */
static int clip_layers(const PlanExpr *elo, const PlanExpr *ehi, long k, long L, Diag *d,
                       int *out_lo, int *out_hi)
{
    long lo = 0, hi = L - 1;
    if (elo && (eval_or_report(elo, k, L, d, &lo) < 0 || eval_or_report(ehi, k, L, d, &hi) < 0))
        return -1;
    if (lo < 0) lo = 0;
    if (hi > L - 1) hi = L - 1;
    if (lo > hi) {
        lo = 0;
        hi = -1;
    }
    *out_lo = (int)lo;
    *out_hi = (int)hi;
    return 0;
}

/* Counts the sweep points whose layers are empty, to warn once per clause. */
typedef struct EmptyCount {
    int n, first, last;
} EmptyCount;

static void count_empty(EmptyCount *e, int lo, int hi, int k)
{
    if (lo <= hi) return;
    if (!e->n++) e->first = k;
    e->last = k;
}

/* WHAT is "the block", "the restore" or "the freeze"; a freeze without
 * layers leaves its restore alone. */
static void warn_empty(Diag *d, const EmptyCount *e, int n, KopLoc loc, long L, const char *what)
{
    int freeze = !strcmp(what, "the freeze");
    if (e->n == n)
        diag_warning(d, loc, "no layer is left after clipping to 0..%ld: %s does nothing", L - 1, what);
    else if (e->n == 1)
        diag_warning(d, loc, "no layer is left after clipping to 0..%ld for k = %d: %s", L - 1, e->first,
                     freeze ? "nothing is frozen at that point" : "that point does nothing");
    else if (e->n)
        diag_warning(d, loc, "no layer is left after clipping to 0..%ld for k = %d..%d (%d of %d values): %s",
                     L - 1, e->first, e->last, e->n, n,
                     freeze ? "nothing is frozen at those points" : "those points do nothing");
}

/* Fill the items of block b; warn once if some of them have no layers. */
static int build_block(Recipe *r, const Block *b, PlanItem *items, Diag *d)
{
    long L = r->n_layers;
    int n = b->uses_k ? r->n_k : 1;
    EmptyCount empty = {0, -1, -1};
    for (int i = 0; i < n; i++) {
        PlanItem *it = &items[i];
        long k = b->uses_k ? r->k_first + (long)i * r->k_stride : -1;
        it->block = b;
        it->k = (int)k;
        if (clip_layers(b->lo, b->hi, k, L, d, &it->layer_lo, &it->layer_hi) < 0) return -1;
        count_empty(&empty, it->layer_lo, it->layer_hi, (int)k);
    }
    warn_empty(d, &empty, n, b->layers_loc, L, "the block");
    return 0;
}

/* The same for restore rs and its freeze. */
static int build_restore(Recipe *r, const Restore *rs, RestoreItem *items, Diag *d)
{
    long L = r->n_layers;
    int n = rs->uses_k ? r->n_k : 1;
    EmptyCount empty = {0, -1, -1}, empty_freeze = {0, -1, -1};
    for (int i = 0; i < n; i++) {
        RestoreItem *it = &items[i];
        long k = rs->uses_k ? r->k_first + (long)i * r->k_stride : -1;
        it->restore = rs;
        it->k = (int)k;
        it->freeze_lo = 0;
        it->freeze_hi = -1;
        if (clip_layers(rs->restore.lo, rs->restore.hi, k, L, d, &it->layer_lo, &it->layer_hi) < 0) return -1;
        count_empty(&empty, it->layer_lo, it->layer_hi, (int)k);
        if (!rs->has_freeze) continue;
        if (clip_layers(rs->freeze.lo, rs->freeze.hi, k, L, d, &it->freeze_lo, &it->freeze_hi) < 0) return -1;
        count_empty(&empty_freeze, it->freeze_lo, it->freeze_hi, (int)k);
    }
    warn_empty(d, &empty, n, rs->restore.layers_loc, L, "the restore");
    if (rs->has_freeze) warn_empty(d, &empty_freeze, n, rs->freeze.layers_loc, L, "the freeze");
    return 0;
}

int plan_build(Recipe *r, int n_layers, Diag *d, KopArena *ar)
{
    KOP_ASSERT(n_layers >= 1);
    r->n_layers = n_layers;
    if (build_k_sweep(r, d) < 0) return -1;
    long n = 0, nr = 0;
    for (int i = 0; i < r->n_blocks; i++) n += r->blocks[i].uses_k ? r->n_k : 1;
    for (int i = 0; i < r->n_restores; i++) nr += r->restores[i].uses_k ? r->n_k : 1;
    r->items = arena_alloc(ar, sizeof *r->items * (size_t)n);
    r->restore_items = arena_alloc(ar, sizeof *r->restore_items * (size_t)nr);
    int failed = 0;
    PlanItem *it = r->items;
    for (int i = 0; i < r->n_blocks; i++) {
        const Block *b = &r->blocks[i];
        if (build_block(r, b, it, d) < 0) failed = 1;
        it += b->uses_k ? r->n_k : 1;
    }
    RestoreItem *ri = r->restore_items;
    for (int i = 0; i < r->n_restores; i++) {
        const Restore *rs = &r->restores[i];
        if (build_restore(r, rs, ri, d) < 0) failed = 1;
        ri += rs->uses_k ? r->n_k : 1;
    }
    r->n_items = (int)n;
    r->n_restore_items = (int)nr;
    return failed ? -1 : 0;
}

int plan_t_range(const Recipe *r, int n_tokens, int *first, int *last, int *stride)
{
    long lo = r->t_lo < 0 ? r->t_lo + n_tokens : r->t_lo;
    long hi = r->t_hi < 0 ? r->t_hi + n_tokens : r->t_hi;
    long n = clip_grid(&lo, &hi, r->t_step, 0, (long)n_tokens - 1);
    *first = (int)lo;
    *last = (int)hi;
    *stride = (int)r->t_step;
    return (int)n;
}

static int item_empty(const PlanItem *it) { return it->layer_lo > it->layer_hi; }
static int restore_empty(const RestoreItem *it) { return it->layer_lo > it->layer_hi; }

int plan_is_trace(const Recipe *r) { return r->corrupt.kind != CORRUPT_NONE; }

int plan_base_passes(const Recipe *r) { return plan_is_trace(r) ? r->corrupt.samples : 0; }

void plan_passes_per_prompt(const Recipe *r, long *fixed, long *per_t)
{
    *fixed = *per_t = 0;
    for (int i = 0; i < r->n_items; i++)
        if (!item_empty(&r->items[i])) ++*(r->items[i].block->uses_t ? per_t : fixed);
    for (int i = 0; i < r->n_restore_items; i++) {
        const RestoreItem *it = &r->restore_items[i];
        if (!restore_empty(it)) *(it->restore->uses_t ? per_t : fixed) += r->corrupt.samples;
    }
}

long long plan_forward_passes(const Recipe *r, long n_prompts, int prompt_len)
{
    long fixed, per_t;
    int a, b, s;
    plan_passes_per_prompt(r, &fixed, &per_t);
    int n_t = per_t ? plan_t_range(r, prompt_len, &a, &b, &s) : 0;
    return (long long)n_prompts * (1 + plan_base_passes(r) + fixed + (long long)per_t * n_t);
}

// ---- dump and summary ----------------------------------------------------------

static void print_prompt_source(FILE *f, const PromptSource *p)
{
    switch (p->kind) {
    case PROMPTS_TEXT:
        fputs("prompt ", f);
        ast_print_string(f, p->text);
        fputs(" subject ", f);
        ast_print_string(f, p->subject);
        if (p->target) {
            fputs(" target ", f);
            ast_print_string(f, p->target);
        }
        break;
    case PROMPTS_IDS:
        fputs("prompt ids [", f);
        for (int i = 0; i < p->n_ids; i++) fprintf(f, "%s%d", i ? ", " : "", p->ids[i]);
        fprintf(f, "] subject [%d..%d]", p->subj_first, p->subj_last);
        if (p->target_id >= 0) fprintf(f, " target_id %ld", p->target_id);
        break;
    default:
        fprintf(f, "prompts %s ", plan_prompts_names[p->kind]);
        ast_print_string(f, p->path);
    }
}

/* "corrupt subject with noise 3 std samples 10 seed 1" */
static void print_corruption(FILE *f, const Corruption *c)
{
    fputs("corrupt ", f);
    plan_group_print(f, c->group);
    if (c->kind == CORRUPT_SWAP) {
        fputs(" with swap", f);
        return;
    }
    fprintf(f, " with noise %g%s samples %d seed %llu", c->sigma, c->sigma_is_std ? " std" : "", c->samples,
            (unsigned long long)c->seed);
}

static void print_site(FILE *f, const HookSite *s, int lo, int hi)
{
    fprintf(f, "%s at ", hook_names[s->hook]);
    plan_group_print(f, s->at);
    if (lo > hi) fputs(", no layers", f);
    else fprintf(f, ", layers %d..%d", lo, hi);
}

static void dump_restore_items(FILE *f, const Recipe *r)
{
    const Restore *prev = NULL;
    for (int i = 0; i < r->n_restore_items; i++) {
        const RestoreItem *it = &r->restore_items[i];
        const Restore *rs = it->restore;
        if (rs != prev) {
            fprintf(f, "restore %d ", rs->index);
            ast_print_string(f, rs->label);
            fputc('\n', f);
            prev = rs;
        }
        fprintf(f, "  item %d:", i + 1);
        if (it->k >= 0) fprintf(f, " k=%d", it->k);
        if (rs->uses_t) fputs(" t=*", f);
        fputc(' ', f);
        print_site(f, &rs->restore, it->layer_lo, it->layer_hi);
        if (rs->has_freeze) {
            fputs(", freeze ", f);
            print_site(f, &rs->freeze, it->freeze_lo, it->freeze_hi);
        }
        fputc('\n', f);
    }
}

static void print_metrics(FILE *f, const Recipe *r)
{
    for (int i = 0; i < r->n_metrics; i++) fprintf(f, "%s%s", i ? ", " : "", plan_metric_names[r->metrics[i]]);
}

/* The options that differ from the defaults, as they are written. */
void plan_figure_opts_print(FILE *f, const FigureOpts *o)
{
    if (o->metric >= 0) fprintf(f, " metric %s", plan_metric_names[o->metric]);
    if (o->x_depth) fputs(" x depth", f);
    if (o->band != BAND_STDERR) fprintf(f, " band %s", plan_band_names[o->band]);
    if (o->has_ylim) fprintf(f, " ylim %g..%g", o->ylim[0], o->ylim[1]);
    if (o->has_clim) fprintf(f, " clim %g..%g", o->clim[0], o->clim[1]);
    if (o->colors != COLORS_AUTO) fprintf(f, " colors %s", plan_colors_names[o->colors]);
    if (o->per_prompt) fputs(" per prompt", f);
}

void plan_dump(FILE *f, const Recipe *r)
{
    fputs("experiment ", f);
    ast_print_string(f, r->experiment);
    fputc('\n', f);
    for (int i = 0; i < r->n_prompts; i++) {
        print_prompt_source(f, &r->prompts[i]);
        fputc('\n', f);
    }
    if (r->keep_correct) fputs("keep correct\n", f);
    if (r->limit >= 0) fprintf(f, "limit %ld\n", r->limit);
    if (r->n_keep_ids >= 0) {
        fprintf(f, "keep ids (%d)", r->n_keep_ids);
        for (int i = 0; i < r->n_keep_ids && i < 20; i++) fprintf(f, " %ld", r->keep_ids[i]);
        fputs(r->n_keep_ids > 20 ? " ...\n" : "\n", f);
    } else if (r->keep_ids_path) {
        fputs("keep ids ", f);
        ast_print_string(f, r->keep_ids_path);
        fputc('\n', f);
    }
    fprintf(f, "target %s\nmeasure ", plan_target_names[r->target]);
    print_metrics(f, r);
    fputc('\n', f);
    if (plan_is_trace(r)) {
        print_corruption(f, &r->corrupt);
        fputc('\n', f);
    }
    if (r->aggregate_roles) fputs("aggregate t by role\n", f);
    for (int i = 0; i < r->n_outputs; i++) {
        fprintf(f, "output %s ", plan_output_names[r->outputs[i].kind]);
        ast_print_string(f, r->outputs[i].path);
        plan_figure_opts_print(f, &r->outputs[i].fig);
        fputc('\n', f);
    }
    fprintf(f, "model %s%s%d layer%s\n", r->arch ? arch_name(r->arch) : "", r->arch ? ", " : "",
            r->n_layers, r->n_layers == 1 ? "" : "s");
    if (r->n_k)
        fprintf(f, "sweep k %d..%d step %d (%d values)\n", r->k_first, r->k_last, r->k_stride, r->n_k);
    if (r->uses_t) fprintf(f, "sweep t %ld..%ld step %ld\n", r->t_lo, r->t_hi, r->t_step);
    const Block *prev = NULL;
    for (int i = 0; i < r->n_items; i++) {
        const PlanItem *it = &r->items[i];
        const Block *b = it->block;
        if (b != prev) {
            fprintf(f, "block %d ", b->index);
            ast_print_string(f, b->label);
            fputc('\n', f);
            prev = b;
        }
        fprintf(f, "  item %d:", i + 1);
        if (it->k >= 0) fprintf(f, " k=%d", it->k);
        if (b->uses_t) fputs(" t=*", f);
        fputc(' ', f);
        plan_group_print(f, b->src);
        fputs(" -> ", f);
        plan_group_print(f, b->dst);
        if (item_empty(it)) fputs(", no layers", f);
        else fprintf(f, ", layers %d..%d", it->layer_lo, it->layer_hi);
        fputs(", features ", f);
        plan_feature_print(f, &b->feat);
        fputc('\n', f);
    }
    dump_restore_items(f, r);
    long fixed, per_t;
    plan_passes_per_prompt(r, &fixed, &per_t);
    if (plan_is_trace(r))
        fprintf(f, "passes per prompt: 1 clean + %d corrupted + %ld restored", plan_base_passes(r), fixed);
    else
        fprintf(f, "passes per prompt: 1 clean + %ld knocked", fixed);
    if (per_t) fprintf(f, " + %ld per value of t", per_t);
    fputc('\n', f);
}

/* How many prompts the recipe will run, if that is known without reading
 * files: the inline prompts, or the limit; -1 otherwise. */
static long known_prompts(const Recipe *r)
{
    long n = 0;
    for (int i = 0; i < r->n_prompts; i++) {
        if (r->prompts[i].kind != PROMPTS_TEXT && r->prompts[i].kind != PROMPTS_IDS)
            return r->limit;
        n++;
    }
    return r->limit >= 0 && r->limit < n ? r->limit : n;
}

void plan_summary(FILE *f, const Recipe *r, const char *model_name)
{
    fprintf(f, "%s: experiment ", r->path ? r->path : "recipe");
    ast_print_string(f, r->experiment);
    if (plan_is_trace(r)) {
        fprintf(f, ", a causal trace: ");
        print_corruption(f, &r->corrupt);
        fprintf(f, ", %d restore%s%s. ", r->n_restores, r->n_restores == 1 ? "" : "s",
                r->aggregate_roles ? ", positions aggregated by role" : "");
    } else {
        fprintf(f, ", %d block%s. ", r->n_blocks, r->n_blocks == 1 ? "" : "s");
    }
    if (r->n_layers) {
        const char *arch = r->arch ? arch_name(r->arch) : NULL, *s = r->n_layers == 1 ? "" : "s";
        if (model_name && arch) fprintf(f, "Plan for %s (%s, %d layer%s): ", model_name, arch, r->n_layers, s);
        else if (model_name) fprintf(f, "Plan for %s (%d layer%s): ", model_name, r->n_layers, s);
        else if (arch) fprintf(f, "Plan for a %s model of %d layer%s: ", arch, r->n_layers, s);
        else fprintf(f, "Plan for a model of %d layer%s: ", r->n_layers, s);
        if (r->n_k)
            fprintf(f, "k = %d..%d step %d (%d values), ", r->k_first, r->k_last, r->k_stride, r->n_k);
        int empty = 0, n_items = r->n_items + r->n_restore_items;
        for (int i = 0; i < r->n_items; i++) empty += item_empty(&r->items[i]);
        for (int i = 0; i < r->n_restore_items; i++) empty += restore_empty(&r->restore_items[i]);
        fprintf(f, "%d item%s", n_items, n_items == 1 ? "" : "s");
        if (empty) fprintf(f, " (%d without layers)", empty);
        fputs(". ", f);
    }
    fputs("Prompts: ", f);
    int n_inline = 0, listed = 0;
    for (int i = 0; i < r->n_prompts; i++) {
        const PromptSource *p = &r->prompts[i];
        if (p->kind == PROMPTS_TEXT || p->kind == PROMPTS_IDS) {
            n_inline++;
            continue;
        }
        fprintf(f, "%s%s ", listed++ ? ", " : "", plan_prompts_names[p->kind]);
        ast_print_string(f, p->path);
    }
    if (n_inline) fprintf(f, "%s%d inline", listed ? ", " : "", n_inline);
    if (r->keep_correct) fputs(", keep correct", f);
    if (r->limit >= 0) fprintf(f, ", limit %ld", r->limit);
    if (r->n_keep_ids >= 0) fprintf(f, ", keep %d id%s", r->n_keep_ids, r->n_keep_ids == 1 ? "" : "s");
    fprintf(f, "; target %s; measure ", plan_target_names[r->target]);
    print_metrics(f, r);
    for (int i = 0; i < r->n_outputs; i++) {
        fputs(i ? ", " : "; outputs ", f);
        ast_print_string(f, r->outputs[i].path);
    }
    if (!r->n_layers) {
        fputs(". No plan yet: give --model DIR or --layers N for the layer count.\n", f);
        return;
    }
    long fixed, per_t, n = known_prompts(r), base = plan_base_passes(r);
    plan_passes_per_prompt(r, &fixed, &per_t);
    if (plan_is_trace(r))
        fprintf(f, ". Forward passes: %ld per prompt (1 clean + %ld corrupted + %ld restored)", 1 + base + fixed,
                base, fixed);
    else
        fprintf(f, ". Forward passes: %ld per prompt (1 clean + %ld knocked)", 1 + fixed, fixed);
    if (per_t) fprintf(f, ", plus %ld per token position swept", per_t);
    else if (n >= 0)
        fprintf(f, ", at most %lld for %ld prompt%s", (long long)n * (1 + base + fixed), n, n == 1 ? "" : "s");
    fputs(".\n", f);
}
