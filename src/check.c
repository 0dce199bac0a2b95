/* check.c: see check.h.  Resolves the syntax tree into a Recipe. */
#include "check.h"
#include "outdir.h"

#include "arch.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---- name tables ------------------------------------------------------------

/* The named token groups come first in GroupKind; the others are structure. */
enum { N_NAMED_GROUPS = GROUP_SUBJ_FIRST };
/* Likewise the prompt kinds written `prompts KIND "FILE"`. */
enum { N_PROMPT_FILE_KINDS = PROMPTS_TEXT };

/* What may follow `features` (before any `except`). */
static const char *const feature_words[] = {"all", "slow", "fast", "ctx_dep", "ctx_indep"};
enum { FW_ALL, FW_SLOW, FW_FAST, FW_CTX_DEP, FW_CTX_INDEP, FW_N };

static const char *const keep_names[] = {"correct"};
static const char *const corrupt_methods[] = {"noise", "swap"};
static const char *const subject_parts[] = {"first", "last"};

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

// ---- the pass ------------------------------------------------------------------

typedef struct Ck {
    Diag *d;
    KopArena *ar;
    const CheckOptions *opt;
    Recipe *r;
    const Ast *seen[AST_N_KINDS]; /* first occurrence of single statements */
    const Ast *sweep_k, *sweep_t;
    const Ast *first_block, *first_restore;
} Ck;

/* "a, b or c" into buf. */
static const char *name_list(const char *const *names, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s'%s'",
                                i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
    return buf;
}

/* The index of NAME's string in names[0..n-1], or -1 after reporting it as an
 * unknown WHAT with the closest name, or the list of them. */
static int resolve(Ck *c, const Ast *name, const char *const *names, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(name->str, names[i])) return i;
    const char *near = diag_closest(name->str, names, n);
    if (near) {
        diag_error(c->d, name->loc, "unknown %s '%s' (did you mean '%s'?)", what, name->str, near);
    } else {
        char buf[256];
        diag_error(c->d, name->loc, "unknown %s '%s' (expected %s)", what, name->str,
                   name_list(names, n, buf, sizeof buf));
    }
    return -1;
}

/* Statements that may appear once: report the second one. */
static int once(Ck *c, const Ast *s)
{
    if (c->seen[s->kind]) {
        diag_error(c->d, s->loc, "'%s' is already given on line %d", ast_kind_name(s->kind),
                   diag_line(c->d, c->seen[s->kind]->loc));
        return 0;
    }
    c->seen[s->kind] = s;
    return 1;
}

// ---- expressions ---------------------------------------------------------------

typedef enum { IN_LAYERS, IN_K_SWEEP, IN_TOKENS, IN_T_SWEEP } ExprPlace;

/* Report variable V used where it is not allowed, saying what is. */
static void bad_var(Ck *c, const Ast *v, ExprPlace where)
{
    static const char *const allowed[] = {
        [IN_LAYERS] = "layers are written with k (the swept layer), L (the layer count) and integers",
        [IN_K_SWEEP] = "the bounds of 'sweep k' are written with L (the layer count) and integers",
        [IN_TOKENS] = "token positions are written with t (the swept position) and integers",
        [IN_T_SWEEP] = "the bounds of 'sweep t' are integers (negative ones count from the end)",
    };
    const char *known[] = {"k", "t", "L"};
    const char *what = !strcmp(v->str, "k") ? "the swept layer"
                     : !strcmp(v->str, "t") ? "the swept token position"
                     : !strcmp(v->str, "L") ? "the layer count" : NULL;
    if (what) {
        diag_error(c->d, v->loc, "'%s' (%s) cannot be used here: %s", v->str, what, allowed[where]);
        return;
    }
    const char *near = diag_closest(v->str, known, COUNT(known));
    if (near)
        diag_error(c->d, v->loc, "unknown variable '%s' (did you mean '%s'?)", v->str, near);
    else
        diag_error(c->d, v->loc, "unknown variable '%s': %s", v->str, allowed[where]);
}

static const PlanExpr *lower_expr(Ck *c, const Ast *n, ExprPlace where)
{
    PlanExpr *e = arena_alloc(c->ar, sizeof *e);
    e->loc = n->loc;
    switch (n->kind) {
    case AST_INT: e->op = EXPR_NUM; e->value = n->num; return e;
    case AST_NEG: e->op = EXPR_NEG; break;
    case AST_ADD: e->op = EXPR_ADD; break;
    case AST_SUB: e->op = EXPR_SUB; break;
    case AST_MUL: e->op = EXPR_MUL; break;
    case AST_DIV: e->op = EXPR_DIV; break;
    case AST_VAR: {
        int ok = (!strcmp(n->str, "k") && where == IN_LAYERS) ||
                 (!strcmp(n->str, "L") && (where == IN_LAYERS || where == IN_K_SWEEP)) ||
                 (!strcmp(n->str, "t") && where == IN_TOKENS);
        if (!ok) {
            bad_var(c, n, where);
            e->op = EXPR_NUM; /* keep going with a harmless value */
            return e;
        }
        e->op = n->str[0] == 'k' ? EXPR_K : n->str[0] == 't' ? EXPR_T : EXPR_L;
        return e;
    }
    default:
        KOP_ABORT("not an expression: %s", ast_kind_name(n->kind));
    }
    e->a = lower_expr(c, n->a, where);
    if (n->b) e->b = lower_expr(c, n->b, where);
    return e;
}

/* A constant (t-sweep bound or step): -1 after reporting. */
static int const_value(Ck *c, const PlanExpr *e, long *v)
{
    if (plan_expr_eval(e, 0, 0, 0, v) < 0) {
        diag_error(c->d, e->loc, "this expression divides by zero or overflows");
        return -1;
    }
    return 0;
}

// ---- groups and features -------------------------------------------------------

static const GroupExpr *lower_group(Ck *c, const Ast *n)
{
    GroupExpr *g = arena_alloc(c->ar, sizeof *g);
    switch (n->kind) {
    case AST_GROUP: {
        int i = resolve(c, n, plan_group_names, N_NAMED_GROUPS, "token group");
        g->kind = i < 0 ? GROUP_ALL : (GroupKind)i;
        return g;
    }
    case AST_SUBJ_PART: {
        int i = resolve(c, n->a, subject_parts, COUNT(subject_parts), "part of the subject");
        g->kind = i == 1 ? GROUP_SUBJ_LAST : GROUP_SUBJ_FIRST;
        return g;
    }
    case AST_TOKENS:
        g->kind = GROUP_TOKENS;
        g->lo = lower_expr(c, n->a, IN_TOKENS);
        if (n->b) g->hi = lower_expr(c, n->b, IN_TOKENS);
        return g;
    case AST_UNION:
    case AST_DIFF:
        g->kind = n->kind == AST_UNION ? GROUP_UNION : GROUP_DIFF;
        g->a = lower_group(c, n->a);
        g->b = lower_group(c, n->b);
        return g;
    default:
        KOP_ABORT("not a token group: %s", ast_kind_name(n->kind));
        return g;
    }
}

static void set_fraction(Ck *c, FeatureSel *f, const Ast *frac)
{
    if (frac->den == 0 && frac->num != 0) {
        diag_error(c->d, frac->loc, "the fraction divides by zero");
        return;
    }
    if (!(frac->real > 0.0 && frac->real <= 1.0)) {
        diag_error(c->d, frac->loc, "a fraction of the features is more than 0 and at most 1");
        return;
    }
    f->frac = frac->real;
    f->num = frac->num;
    f->den = frac->den;
}

static FeatureSel lower_features(Ck *c, const Ast *n)
{
    FeatureSel f = {.kind = FEAT_ALL, .frac = 1.0, .num = 1, .den = 1};
    if (!n) return f;
    const ArchOps *ops = arch_ops(c->opt->arch);
    if (ops && !ops->n_features) {
        const char *model = c->opt->model_name;
        diag_error(c->d, n->loc, "'features' selects SSM channels, but %s%s is a transformer (%s)",
                   model ? "" : "the model", model ? model : "", ops->name);
        return f;
    }
    int head = resolve(c, n->a, feature_words, FW_N, "feature selection");
    if (head < 0) return f;
    const char *word = feature_words[head];
    if (n->c) { /* all except slow|fast F */
        if (head != FW_ALL) {
            diag_error(c->d, n->a->loc, "'except' follows 'all': write 'features all except %s F'",
                       n->c->str);
            return f;
        }
        const char *const parts[] = {"slow", "fast"};
        int which = resolve(c, n->c, parts, 2, "feature selection");
        if (which < 0) return f;
        f.kind = which == 0 ? FEAT_ALL_EXCEPT_SLOW : FEAT_ALL_EXCEPT_FAST;
        set_fraction(c, &f, n->b);
        return f;
    }
    int wants_fraction = head == FW_SLOW || head == FW_FAST;
    if (wants_fraction && !n->b) {
        diag_error(c->d, (KopLoc){n->a->loc.end, n->a->loc.end},
                   "'features %s' needs a fraction, e.g. 'features %s 1/3'", word, word);
        return f;
    }
    if (!wants_fraction && n->b) {
        diag_error(c->d, n->b->loc, "'features %s' takes no fraction", word);
        return f;
    }
    switch (head) {
    case FW_SLOW: f.kind = FEAT_SLOW; set_fraction(c, &f, n->b); break;
    case FW_FAST: f.kind = FEAT_FAST; set_fraction(c, &f, n->b); break;
    /* The Mamba Knockout paper's runs: each keeps one third, knocks out the rest. */
    case FW_CTX_DEP: f = (FeatureSel){FEAT_ALL_EXCEPT_FAST, 1.0 / 3.0, 1, 3}; break;
    case FW_CTX_INDEP: f = (FeatureSel){FEAT_ALL_EXCEPT_SLOW, 1.0 / 3.0, 1, 3}; break;
    default: break;
    }
    return f;
}

// ---- statements ----------------------------------------------------------------

/* The statement as written, with each run of blanks made one space (the
 * label of its rows and curves). */
static const char *source_text(Ck *c, KopLoc loc)
{
    size_t len;
    const char *text = diag_text(c->d, &len);
    char *out = arena_alloc(c->ar, (size_t)(loc.end - loc.start) + 1), *o = out;
    for (int i = loc.start; i < loc.end; i++) {
        int blank = text[i] == ' ' || text[i] == '\t' || text[i] == '\r';
        if (!blank) *o++ = text[i];
        else if (o > out && o[-1] != ' ') *o++ = ' ';
    }
    while (o > out && o[-1] == ' ') o--;
    *o = '\0';
    return out;
}

static void lower_layers(Ck *c, const Ast *layers, const PlanExpr **lo, const PlanExpr **hi);

static void check_block(Ck *c, const Ast *s, Block *b)
{
    b->index = (int)(b - c->r->blocks) + 1;
    b->label = source_text(c, s->loc);
    if (s->str) { /* `label "TEXT"`: names the block's line and row */
        if (!*s->str) diag_error(c->d, s->loc, "the label is empty");
        for (const Block *prev = c->r->blocks; prev < b; prev++)
            if (!strcmp(prev->label, s->str))
                diag_error(c->d, s->loc, "the label \"%s\" already names statement %d", s->str, prev->index);
        b->label = s->str;
    }
    b->src = lower_group(c, s->a);
    b->dst = lower_group(c, s->b);
    b->layers_loc = s->c->loc;
    lower_layers(c, s->c, &b->lo, &b->hi);
    if (!c->first_block) c->first_block = s;
    b->feat = lower_features(c, s->d);
    b->uses_k = plan_expr_uses(b->lo, EXPR_K) || plan_expr_uses(b->hi, EXPR_K);
    b->uses_t = plan_group_uses_t(b->src) || plan_group_uses_t(b->dst);
    c->r->uses_k |= b->uses_k;
    c->r->uses_t |= b->uses_t;
}

// ---- causal tracing ------------------------------------------------------------

/* The hook NAME (reported when unknown, or missing from the model). */
static Hook lower_hook(Ck *c, const Ast *name)
{
    int h = resolve(c, name, hook_names, HOOK_N, "hook");
    if (h < 0) return HOOK_RESID;
    Arch arch = c->opt->arch;
    if (arch && !hook_supported(arch, (Hook)h)) {
        char list[128];
        const char *model = c->opt->model_name;
        if (model)
            diag_error(c->d, name->loc, "'%s' is not a hook of %s (%s): its hooks are %s", name->str, model,
                       arch_name(arch), hook_list(arch, list, sizeof list));
        else
            diag_error(c->d, name->loc, "'%s' is not a hook of %s models: their hooks are %s", name->str,
                       arch_name(arch), hook_list(arch, list, sizeof list));
    }
    return (Hook)h;
}

/* The layers of a block, restore or freeze into *lo, *hi (NULL: all). */
static void lower_layers(Ck *c, const Ast *layers, const PlanExpr **lo, const PlanExpr **hi)
{
    if (layers->kind == AST_LAYER) {
        *lo = *hi = lower_expr(c, layers->a, IN_LAYERS);
    } else if (layers->a) {
        *lo = lower_expr(c, layers->a, IN_LAYERS);
        *hi = lower_expr(c, layers->b, IN_LAYERS);
    }
}

/* HOOK at GROUP in LAYERS: a = hook, b = group, c = layers. */
static void lower_site(Ck *c, const Ast *s, HookSite *site)
{
    site->hook = lower_hook(c, s->a);
    site->at = lower_group(c, s->b);
    site->layers_loc = s->c->loc;
    lower_layers(c, s->c, &site->lo, &site->hi);
}

static int site_uses(const HookSite *site, ExprOp var)
{
    if (var == EXPR_T) return plan_group_uses_t(site->at);
    return plan_expr_uses(site->lo, var) || plan_expr_uses(site->hi, var);
}

static void check_restore(Ck *c, const Ast *s, Restore *r)
{
    r->index = (int)(r - c->r->restores) + 1;
    r->label = source_text(c, s->loc);
    lower_site(c, s, &r->restore);
    if (s->d) {
        r->has_freeze = 1;
        lower_site(c, s->d, &r->freeze);
    }
    r->uses_k = site_uses(&r->restore, EXPR_K) || (r->has_freeze && site_uses(&r->freeze, EXPR_K));
    r->uses_t = site_uses(&r->restore, EXPR_T) || (r->has_freeze && site_uses(&r->freeze, EXPR_T));
    c->r->uses_k |= r->uses_k;
    c->r->uses_t |= r->uses_t;
    if (!c->first_restore) c->first_restore = s;
}

/* The noise level: a positive number, optionally followed by `std`. */
static void check_sigma(Ck *c, const Ast *method, const Ast *sigma, Corruption *k)
{
    static const char *const units[] = {"std"};
    if (!sigma) {
        diag_error(c->d, (KopLoc){method->loc.end, method->loc.end}, "'noise' needs its level: 'noise 0.1' "
                   "(a standard deviation) or 'noise 3 std' (times the embeddings' standard deviation)");
        return;
    }
    if (sigma->b && resolve(c, sigma->b, units, 1, "unit of the noise level") < 0) return;
    if (!(sigma->a->real > 0.0)) {
        diag_error(c->d, sigma->a->loc, "the noise level is more than 0");
        return;
    }
    if (!isfinite(sigma->a->real)) {
        diag_error(c->d, sigma->a->loc, "the noise level is too large");
        return;
    }
    k->sigma = sigma->a->real;
    k->sigma_is_std = sigma->b != NULL;
}

static void check_corrupt(Ck *c, const Ast *s)
{
    Corruption *k = &c->r->corrupt;
    k->loc = s->loc;
    k->label = source_text(c, s->loc);
    k->group = lower_group(c, s->a);
    k->samples = 10;
    k->seed = 1;
    int method = resolve(c, s->b, corrupt_methods, COUNT(corrupt_methods), "corruption");
    k->kind = method == 1 ? CORRUPT_SWAP : CORRUPT_NOISE;
    if (plan_group_uses_t(k->group))
        diag_error(c->d, s->a->loc, "the corrupted positions cannot use t: every restore of a prompt "
                   "starts from the same corrupted runs");
    const Ast *seen_opt[2] = {NULL, NULL};
    for (const Ast *o = s->d; o; o = o->next) {
        int seed = !strcmp(o->str, "seed");
        if (seen_opt[seed]) {
            diag_error(c->d, o->loc, "'%s' is already given", o->str);
            continue;
        }
        seen_opt[seed] = o;
        if (method == 1) {
            diag_error(c->d, o->loc, "'swap' makes one corrupted run per prompt: it takes no '%s'", o->str);
            continue;
        }
        if (seed) {
            k->seed = (uint64_t)o->a->num;
        } else if (o->a->num < 1 || o->a->num > 1000000) {
            diag_error(c->d, o->a->loc, "the number of samples is from 1 to 1000000");
        } else {
            k->samples = (int)o->a->num;
        }
    }
    if (method == 1) {
        k->samples = 1;
        k->seed = 0;
        if (s->c) diag_error(c->d, s->c->loc, "'swap' takes no noise level");
        if (s->a->kind != AST_GROUP || strcmp(s->a->str, "subject"))
            diag_error(c->d, s->a->loc, "'swap' replaces the subject: write 'corrupt subject with swap'");
    } else if (method == 0) {
        check_sigma(c, s->b, s->c, k);
    }
}

static void check_aggregate(Ck *c, const Ast *s)
{
    static const char *const groupings[] = {"role"};
    if (strcmp(s->a->str, "t")) {
        diag_error(c->d, s->a->loc, "only token positions are aggregated: write 'aggregate t by role'");
        return;
    }
    if (resolve(c, s->b, groupings, COUNT(groupings), "aggregation") == 0) c->r->aggregate_roles = 1;
}

// ---- sweeps ---------------------------------------------------------------------

static void check_sweep(Ck *c, const Ast *s)
{
    static const char *const vars[] = {"k", "t"};
    int v = resolve(c, s->a, vars, 2, "sweep variable");
    if (v < 0) return;
    const Ast **slot = v == 0 ? &c->sweep_k : &c->sweep_t;
    if (*slot) {
        diag_error(c->d, s->loc, "'%s' is already swept on line %d", vars[v], diag_line(c->d, (*slot)->loc));
        return;
    }
    *slot = s;
    Recipe *r = c->r;
    ExprPlace where = v == 0 ? IN_K_SWEEP : IN_T_SWEEP;
    const PlanExpr *lo = lower_expr(c, s->b->a, where);
    const PlanExpr *hi = lower_expr(c, s->b->b, where);
    const PlanExpr *step = s->c ? lower_expr(c, s->c, where) : NULL;
    if (v == 0) {
        r->k_lo = lo;
        r->k_hi = hi;
        r->k_step = step;
        r->k_loc = s->loc;
        return;
    }
    long a, b, st = 1;
    if (const_value(c, lo, &a) < 0 || const_value(c, hi, &b) < 0) return;
    if (step && const_value(c, step, &st) < 0) return;
    if (st < 1) {
        diag_error(c->d, step->loc, "a sweep's step is at least 1");
        return;
    }
    r->t_lo = a;
    r->t_hi = b;
    r->t_step = st;
}

static void check_prompt_text(Ck *c, const Ast *s, PromptSource *p)
{
    p->loc = s->loc;
    p->kind = PROMPTS_TEXT;
    p->text = s->a->str;
    p->subject = s->b->str;
    p->target = s->c ? s->c->str : NULL;
    p->target_id = -1;
    if (!*p->text)
        diag_error(c->d, s->a->loc, "the prompt is empty");
    else if (!*p->subject)
        diag_error(c->d, s->b->loc, "the subject is empty");
    else if (!strstr(p->text, p->subject))
        diag_error(c->d, s->b->loc, "the subject does not occur in the prompt");
    if (s->c && !*p->target) diag_error(c->d, s->c->loc, "the target is empty");
}

static void check_prompt_ids(Ck *c, const Ast *s, PromptSource *p)
{
    p->loc = s->loc;
    p->kind = PROMPTS_IDS;
    for (const Ast *i = s->a; i; i = i->next) p->n_ids++;
    p->ids = arena_alloc(c->ar, sizeof *p->ids * (size_t)p->n_ids);
    int j = 0;
    for (const Ast *i = s->a; i; i = i->next) p->ids[j++] = (int)i->num;
    p->subj_first = (int)s->b->a->num;
    p->subj_last = (int)s->b->b->num;
    p->target_id = s->c ? s->c->num : -1;
    if (p->subj_first > p->subj_last)
        diag_error(c->d, s->b->loc, "the subject range runs backwards");
    else if (p->subj_last >= p->n_ids)
        diag_error(c->d, s->b->loc, "the subject range lies outside the prompt's %d tokens (0..%d)",
                   p->n_ids, p->n_ids - 1);
}

/* The folder of the recipe joined with PATH (PATH itself if absolute). */
static const char *resolve_path(Ck *c, const char *path)
{
    const char *rp = c->opt->path, *slash = rp ? strrchr(rp, '/') : NULL;
    if (path[0] == '/' || !slash) return path;
    size_t dl = (size_t)(slash - rp) + 1, pl = strlen(path);
    char *out = arena_alloc(c->ar, dl + pl + 1);
    memcpy(out, rp, dl);
    memcpy(out + dl, path, pl + 1);
    return out;
}

static void check_prompt_file(Ck *c, const Ast *s, PromptSource *p)
{
    p->loc = s->loc;
    int kind = resolve(c, s->a, plan_prompts_names, N_PROMPT_FILE_KINDS, "prompt file kind");
    p->kind = kind < 0 ? PROMPTS_JSONL : (PromptKind)kind;
    p->path = s->b->str;
    p->target_id = -1;
    if (!*p->path) {
        diag_error(c->d, s->b->loc, "the prompt file name is empty");
        return;
    }
    p->resolved = resolve_path(c, p->path);
    if (c->opt->check_files) {
        FILE *f = fopen(p->resolved, "r");
        if (!f) diag_error(c->d, s->b->loc, "cannot open '%s': %s", p->resolved, strerror(errno));
        else fclose(f);
    }
}

/* `keep ids [..]` or `keep ids "FILE"` (one id a line; blank lines and
 * '#' comments allowed).  A file that cannot be opened is an error only when
 * files are checked; the driver then reads it (check_read_ids). */
static void check_keep_ids(Ck *c, const Ast *s)
{
    Recipe *r = c->r;
    if (s->a) {
        int n = 0;
        for (const Ast *i = s->a; i; i = i->next) n++;
        r->keep_ids = arena_alloc(c->ar, sizeof *r->keep_ids * (size_t)n);
        r->n_keep_ids = 0;
        for (const Ast *i = s->a; i; i = i->next) r->keep_ids[r->n_keep_ids++] = i->num;
        return;
    }
    if (!*s->b->str) {
        diag_error(c->d, s->b->loc, "the ids file name is empty");
        return;
    }
    r->keep_ids_path = resolve_path(c, s->b->str);
    KopError err = {0};
    long *ids = NULL;
    int n = check_read_ids(r->keep_ids_path, &ids, &err);
    if (n < 0) {
        if (c->opt->check_files || err.status != KOP_EXIT_USAGE) diag_error(c->d, s->b->loc, "%s", err.msg);
        return;
    }
    r->keep_ids = arena_alloc(c->ar, sizeof *r->keep_ids * (size_t)(n ? n : 1));
    if (n) memcpy(r->keep_ids, ids, sizeof *ids * (size_t)n);
    r->n_keep_ids = n;
    free(ids);
}

int check_read_ids(const char *path, long **ids, KopError *err)
{
    size_t len;
    char *text = kop_read_file(path, &len, err);
    *ids = NULL;
    if (!text) return -1;
    int n = 0, cap = 0, line = 1;
    for (char *p = text, *end; p < text + len; p = end + (*end == '\n'), line++) {
        end = p + strcspn(p, "\n");
        char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q == end || *q == '#') continue;
        char *stop;
        errno = 0;
        long v = strtol(q, &stop, 10);
        while (stop < end && (*stop == ' ' || *stop == '\t' || *stop == '\r')) stop++;
        if (stop == q || errno || v < 0 || (stop < end && *stop != '#')) {
            kop_fail(err, KOP_EXIT_DATA, "%s:%d: expected one id (a non-negative integer) a line, got '%.*s'", path,
                     line, (int)(end - q > 40 ? 40 : end - q), q);
            free(text);
            free(*ids);
            *ids = NULL;
            return -1;
        }
        if (n == cap) *ids = kop_xrealloc(*ids, sizeof **ids * (size_t)(cap = 2 * cap + 16));
        (*ids)[n++] = v;
    }
    free(text);
    return n;
}

/* The figure options of an output: `metric M`, `x k|depth`, `band B`,
 * `ylim A..B`, `clim A..B`, `colors C`, `per prompt`. */
static const char *const option_names[] = {"metric", "x", "band", "ylim", "clim", "colors", "per"};
enum { OPT_METRIC, OPT_X, OPT_BAND, OPT_YLIM, OPT_CLIM, OPT_COLORS, OPT_PER };
static const char *const x_names[] = {"k", "depth"};
static const char *const per_names[] = {"prompt"};

static void check_figure_option(Ck *c, const Ast *o, Output *out)
{
    FigureOpts *f = &out->fig;
    int key = resolve(c, o->a, option_names, COUNT(option_names), "output option");
    if (key < 0) return;
    int is_range = o->b->kind == AST_RANGE, i;
    if ((key == OPT_YLIM || key == OPT_CLIM) != is_range) {
        diag_error(c->d, o->loc, is_range ? "'%s' takes a name, not a range" : "'%s' takes a range of numbers: '%s A..B'",
                   option_names[key], option_names[key]);
        return;
    }
    if (!plan_output_is_png(out->kind)) {
        diag_error(c->d, o->loc, "'%s' is an option of a figure; 'output %s' writes no figure", option_names[key],
                   plan_output_names[out->kind]);
        return;
    }
    if ((key == OPT_CLIM || key == OPT_COLORS || key == OPT_PER) && out->kind != OUTPUT_HEATMAP)
        diag_error(c->d, o->loc, "'%s' is an option of heatmaps", option_names[key]);
    if ((key == OPT_YLIM || key == OPT_BAND) && out->kind != OUTPUT_LINES)
        diag_error(c->d, o->loc, "'%s' is an option of line plots", option_names[key]);
    switch (key) {
    case OPT_METRIC:
        if ((i = resolve(c, o->b, plan_metric_names, METRIC_N, "metric")) >= 0) f->metric = i;
        break;
    case OPT_X:
        if ((i = resolve(c, o->b, x_names, COUNT(x_names), "x axis")) >= 0) f->x_depth = i == 1;
        break;
    case OPT_BAND:
        if ((i = resolve(c, o->b, plan_band_names, BAND_N, "band")) >= 0) f->band = (BandKind)i;
        break;
    case OPT_COLORS:
        if ((i = resolve(c, o->b, plan_colors_names + 1, COLORS_N - 1, "colour map")) >= 0)
            f->colors = (ColorsKind)(i + 1);
        break;
    case OPT_PER:
        if (resolve(c, o->b, per_names, 1, "'per' option") == 0) f->per_prompt = 1;
        break;
    default: {
        double lo = o->b->a->real, hi = o->b->b->real;
        if (!(lo < hi)) {
            diag_error(c->d, o->b->loc, "the range is empty: write '%s A..B' with A < B", option_names[key]);
            break;
        }
        double *v = key == OPT_YLIM ? f->ylim : f->clim;
        v[0] = lo;
        v[1] = hi;
        *(key == OPT_YLIM ? &f->has_ylim : &f->has_clim) = 1;
    }
    }
}

static void check_output(Ck *c, const Ast *s, Output *o)
{
    int kind = resolve(c, s->a, plan_output_names, OUTPUT_N, "output kind");
    o->kind = kind < 0 ? OUTPUT_CSV : (OutputKind)kind;
    o->path = s->b->str;
    o->loc = s->loc;
    const char *p = o->path;
    size_t n = strlen(p);
    const char *why = outdir_name_problem(p);
    if (!n) {
        diag_error(c->d, s->b->loc, "the output file name is empty");
        return;
    }
    if (why) {
        diag_error(c->d, s->b->loc, "the output file name '%s' %s", p, why);
        return;
    }
    o->fig = (FigureOpts){.metric = -1, .band = BAND_STDERR};
    const Ast *seen[COUNT(option_names)] = {0};
    for (const Ast *op = s->c; op && kind >= 0; op = op->next) {
        int key = -1;
        for (int i = 0; i < COUNT(option_names); i++)
            if (!strcmp(op->a->str, option_names[i])) key = i;
        if (key >= 0 && seen[key]) {
            diag_error(c->d, op->loc, "'%s' is already given in this output", option_names[key]);
            continue;
        }
        if (key >= 0) seen[key] = op;
        check_figure_option(c, op, o);
    }
    if (kind >= 0 && plan_output_is_png(o->kind) && (n < 4 || strcmp(p + n - 4, ".png")))
        diag_warning(c->d, s->b->loc, "'output %s' writes a PNG image; its name should end in '.png'",
                     plan_output_names[kind]);
    for (Output *prev = c->r->outputs; prev < o; prev++)
        if (!strcmp(prev->path, o->path)) {
            diag_error(c->d, s->b->loc, "'%s' is already an output", o->path);
            return;
        }
}

static void check_experiment(Ck *c, const Ast *s)
{
    const char *name = s->a->str;
    if (!*name)
        diag_error(c->d, s->a->loc, "the experiment name is empty");
    else if (strchr(name, '/'))
        diag_error(c->d, s->a->loc, "the experiment name cannot contain '/'");
    else if (!kop_folder_name_ok(name)) /* it names a folder of results/ */
        diag_error(c->d, s->a->loc, "the experiment name becomes a folder of results/: it cannot be '.' or '..' or hold control characters");
    else
        c->r->experiment = name;
}

/* The file name without folder and extension: the default experiment name. */
static const char *file_stem(Ck *c, const char *path)
{
    if (!path) return "recipe";
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    const char *stem = n ? arena_strndup(c->ar, base, n) : "recipe";
    return kop_folder_name_ok(stem) ? stem : "recipe"; /* "..kop" */
}

static void check_statement(Ck *c, const Ast *s, int *n_prompts, int *n_outputs, int *n_blocks,
                            int *n_restores)
{
    Recipe *r = c->r;
    int i;
    switch (s->kind) {
    case AST_EXPERIMENT:
        if (once(c, s)) check_experiment(c, s);
        break;
    case AST_PROMPTS:
        check_prompt_file(c, s, &r->prompts[(*n_prompts)++]);
        break;
    case AST_PROMPT_TEXT:
        check_prompt_text(c, s, &r->prompts[(*n_prompts)++]);
        break;
    case AST_PROMPT_IDS:
        check_prompt_ids(c, s, &r->prompts[(*n_prompts)++]);
        break;
    case AST_KEEP:
        if (once(c, s) && resolve(c, s->a, keep_names, COUNT(keep_names), "filter") == 0)
            r->keep_correct = 1;
        break;
    case AST_LIMIT:
        if (!once(c, s)) break;
        if (s->a->num < 1) diag_error(c->d, s->a->loc, "the limit is at least 1");
        r->limit = s->a->num;
        break;
    case AST_TARGET:
        if (once(c, s) && (i = resolve(c, s->a, plan_target_names, TARGET_N, "target")) >= 0)
            r->target = (TargetMode)i;
        break;
    case AST_MEASURE:
        if (!once(c, s)) break;
        r->n_metrics = 0;
        for (const Ast *m = s->a; m; m = m->next) {
            if ((i = resolve(c, m, plan_metric_names, METRIC_N, "metric")) < 0) continue;
            int dup = 0;
            for (int q = 0; q < r->n_metrics; q++) dup |= r->metrics[q] == (Metric)i;
            if (dup) diag_error(c->d, m->loc, "'%s' is already measured", m->str);
            else r->metrics[r->n_metrics++] = (Metric)i;
        }
        if (r->n_metrics) r->metric = r->metrics[0];
        else r->n_metrics = 1;
        break;
    case AST_KEEP_IDS:
        if (once(c, s)) check_keep_ids(c, s);
        break;
    case AST_OUTPUT:
        check_output(c, s, &r->outputs[(*n_outputs)++]);
        break;
    case AST_SWEEP:
        check_sweep(c, s);
        break;
    case AST_BLOCK:
        check_block(c, s, &r->blocks[(*n_blocks)++]);
        break;
    case AST_CORRUPT:
        if (once(c, s)) check_corrupt(c, s);
        break;
    case AST_RESTORE:
        check_restore(c, s, &r->restores[(*n_restores)++]);
        break;
    case AST_AGGREGATE:
        if (once(c, s)) check_aggregate(c, s);
        break;
    default:
        KOP_ABORT("not a statement: %s", ast_kind_name(s->kind));
    }
}

/* The checks that need the whole file. */
static void check_recipe(Ck *c, const Ast *stmts)
{
    Recipe *r = c->r;
    KopLoc top = {0, 0};
    if (!r->n_prompts)
        diag_error(c->d, top, "the recipe has no prompts: add 'prompts counterfact \"FILE\"', "
                   "'prompts jsonl \"FILE\"' or 'prompt \"TEXT\" subject \"SUBJECT\"'");
    const Ast *corrupt = c->seen[AST_CORRUPT], *measure = c->seen[AST_MEASURE];
    if (!r->n_blocks && !r->n_restores && !corrupt)
        diag_error(c->d, top, "the recipe has no interventions: add 'block SRC -> DST in layers[A..B]' "
                   "(or, for causal tracing, 'corrupt' and 'restore')");
    if (c->first_restore && !corrupt)
        diag_error(c->d, c->first_restore->loc, "'restore' needs a corrupted run to restore into: add "
                   "'corrupt subject with noise 3 std' (or 'with swap')");
    if (corrupt && !r->n_restores)
        diag_error(c->d, corrupt->loc, "'corrupt' needs at least one 'restore HOOK at GROUP in LAYERS'");
    if (c->first_block && (corrupt || c->first_restore)) {
        const Ast *other = corrupt ? corrupt : c->first_restore;
        diag_error(c->d, c->first_block->loc, "'block' cannot be used in a causal trace ('%s' on line %d): "
                   "put knockouts and traces in recipes of their own", ast_kind_name(other->kind),
                   diag_line(c->d, other->loc));
    }
    for (int q = 0; measure && !corrupt && q < r->n_metrics; q++)
        if (r->metrics[q] == METRIC_RECOVERED)
            diag_error(c->d, measure->a->loc, "'recovered' is normalised by a corrupted run: it is for "
                       "causal traces (with 'corrupt'); a knockout measures prob_diff or prob_change");
    const char *need = r->keep_correct ? "'keep correct'"
                     : r->target == TARGET_ATTRIBUTE ? "'target attribute'" : NULL;
    if (need)
        for (const Ast *s = stmts; s; s = s->next) {
            if (s->kind == AST_PROMPT_TEXT && !s->c)
                diag_error(c->d, s->loc, "%s needs this prompt's answer: add 'target \"ANSWER\"'", need);
            if (s->kind == AST_PROMPT_IDS && !s->c)
                diag_error(c->d, s->loc, "%s needs this prompt's answer: add 'target_id ID'", need);
        }
    const char *stmt = corrupt ? "restore" : "block";
    if (c->sweep_k && !r->uses_k)
        diag_warning(c->d, c->sweep_k->loc, "'k' is swept but no %s's layers use it", stmt);
    if (c->sweep_t && !r->uses_t)
        diag_warning(c->d, c->sweep_t->loc, "'t' is swept but no %s's tokens use it", stmt);
    if (c->seen[AST_AGGREGATE] && r->aggregate_roles && !r->uses_t)
        diag_warning(c->d, c->seen[AST_AGGREGATE]->loc, "nothing to aggregate: no %s's tokens use t", stmt);
    for (int i = 0; i < r->n_outputs; i++) {
        int m = r->outputs[i].fig.metric, found = m < 0;
        for (int q = 0; q < r->n_metrics; q++) found |= (int)r->metrics[q] == m;
        if (!found)
            diag_error(c->d, r->outputs[i].loc, "'%s' is not measured: add it to 'measure'", plan_metric_names[m]);
        int both = 0; /* per prompt: rows are t, columns k */
        for (int b = 0; b < r->n_blocks; b++) both |= r->blocks[b].uses_k && r->blocks[b].uses_t;
        if (r->outputs[i].fig.per_prompt && !both)
            diag_error(c->d, r->outputs[i].loc, "'per prompt' draws each prompt's tokens down and k across: a block "
                       "must use both, as in 'block tokens[t] -> last in layers[k..k+8]'");
    }
    for (int i = 0; i < r->n_outputs && !r->uses_k; i++)
        if (plan_output_is_png(r->outputs[i].kind))
            diag_warning(c->d, r->outputs[i].loc, "'output %s' plots results over k, but no %s sweeps k",
                         plan_output_names[r->outputs[i].kind], stmt);
}

Recipe *kop_check(const Ast *stmts, const CheckOptions *opt, Diag *d, KopArena *ar)
{
    int syntax_errors = diag_errors(d);
    Recipe *r = arena_alloc(ar, sizeof *r);
    Ck c = {.d = d, .ar = ar, .opt = opt, .r = r};
    r->path = opt->path;
    r->limit = -1;
    r->target = TARGET_PREDICTION;
    r->metric = METRIC_PROB_CHANGE;
    r->metrics[0] = METRIC_PROB_CHANGE;
    r->n_metrics = 1;
    r->n_keep_ids = -1;
    r->t_lo = 0;
    r->t_hi = -1;
    r->t_step = 1;
    r->arch = opt->arch;

    int n_prompts = 0, n_outputs = 0, n_blocks = 0, n_restores = 0;
    for (const Ast *s = stmts; s; s = s->next) {
        n_prompts += s->kind == AST_PROMPTS || s->kind == AST_PROMPT_TEXT || s->kind == AST_PROMPT_IDS;
        n_outputs += s->kind == AST_OUTPUT;
        n_blocks += s->kind == AST_BLOCK;
        n_restores += s->kind == AST_RESTORE;
    }
    r->prompts = arena_alloc(ar, sizeof *r->prompts * (size_t)n_prompts);
    r->outputs = arena_alloc(ar, sizeof *r->outputs * (size_t)n_outputs);
    r->blocks = arena_alloc(ar, sizeof *r->blocks * (size_t)n_blocks);
    r->restores = arena_alloc(ar, sizeof *r->restores * (size_t)n_restores);
    r->n_prompts = n_prompts;
    r->n_blocks = n_blocks;
    r->n_restores = n_restores;
    n_prompts = n_outputs = n_blocks = n_restores = 0;
    for (const Ast *s = stmts; s; s = s->next) {
        check_statement(&c, s, &n_prompts, &n_outputs, &n_blocks, &n_restores);
        r->n_outputs = n_outputs; /* duplicates are looked for among those so far */
    }
    if (!r->experiment) r->experiment = file_stem(&c, opt->path);
    /* A trace measures ROME's indirect effect unless told otherwise. */
    if (c.seen[AST_CORRUPT] && !c.seen[AST_MEASURE]) r->metric = r->metrics[0] = METRIC_PROB_DIFF;
    if (!syntax_errors) check_recipe(&c, stmts);
    return diag_errors(d) ? NULL : r;
}

Recipe *kop_compile_ast(const Ast *stmts, const CheckOptions *opt, int n_layers, Diag *d, KopArena *ar)
{
    Recipe *r = kop_check(stmts, opt, d, ar);
    if (r && n_layers > 0 && plan_build(r, n_layers, d, ar) < 0) return NULL;
    return r;
}

Recipe *kop_compile(const CheckOptions *opt, int n_layers, Diag *d, KopArena *ar)
{
    size_t len;
    const char *text = diag_text(d, &len);
    return kop_compile_ast(kop_parse(text, len, d, ar), opt, n_layers, d, ar);
}

