/* check.c: see check.h.  Resolves the syntax tree into a Recipe. */
#include "check.h"
#include "outdir.h"

#include <errno.h>
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
    if (c->opt->arch == ARCH_GPT2) {
        const char *model = c->opt->model_name;
        diag_error(c->d, n->loc, "'features' selects SSM channels, but %s%s is a transformer (gpt2)",
                   model ? "" : "the model", model ? model : "");
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

static void check_block(Ck *c, const Ast *s, Block *b)
{
    b->index = (int)(b - c->r->blocks) + 1;
    b->label = source_text(c, s->loc);
    b->src = lower_group(c, s->a);
    b->dst = lower_group(c, s->b);
    b->layers_loc = s->c->loc;
    if (s->c->kind == AST_LAYER) {
        b->lo = b->hi = lower_expr(c, s->c->a, IN_LAYERS);
    } else if (s->c->a) {
        b->lo = lower_expr(c, s->c->a, IN_LAYERS);
        b->hi = lower_expr(c, s->c->b, IN_LAYERS);
    }
    b->feat = lower_features(c, s->d);
    b->uses_k = plan_expr_uses(b->lo, EXPR_K) || plan_expr_uses(b->hi, EXPR_K);
    b->uses_t = plan_group_uses_t(b->src) || plan_group_uses_t(b->dst);
    c->r->uses_k |= b->uses_k;
    c->r->uses_t |= b->uses_t;
}

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

static void check_statement(Ck *c, const Ast *s, int *n_prompts, int *n_outputs, int *n_blocks)
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
        if (once(c, s) && (i = resolve(c, s->a, plan_metric_names, METRIC_N, "metric")) >= 0)
            r->metric = (Metric)i;
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
    if (!r->n_blocks)
        diag_error(c->d, top, "the recipe has no interventions: add 'block SRC -> DST in layers[A..B]'");
    const char *need = r->keep_correct ? "'keep correct'"
                     : r->target == TARGET_ATTRIBUTE ? "'target attribute'" : NULL;
    if (need)
        for (const Ast *s = stmts; s; s = s->next) {
            if (s->kind == AST_PROMPT_TEXT && !s->c)
                diag_error(c->d, s->loc, "%s needs this prompt's answer: add 'target \"ANSWER\"'", need);
            if (s->kind == AST_PROMPT_IDS && !s->c)
                diag_error(c->d, s->loc, "%s needs this prompt's answer: add 'target_id ID'", need);
        }
    if (c->sweep_k && !r->uses_k)
        diag_warning(c->d, c->sweep_k->loc, "'k' is swept but no block's layers use it");
    if (c->sweep_t && !r->uses_t)
        diag_warning(c->d, c->sweep_t->loc, "'t' is swept but no block's tokens use it");
    for (int i = 0; i < r->n_outputs && !r->uses_k; i++)
        if (plan_output_is_png(r->outputs[i].kind))
            diag_warning(c->d, r->outputs[i].loc, "'output %s' plots results over k, but no block sweeps k",
                         plan_output_names[r->outputs[i].kind]);
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
    r->t_lo = 0;
    r->t_hi = -1;
    r->t_step = 1;
    r->arch = opt->arch;

    int n_prompts = 0, n_outputs = 0, n_blocks = 0;
    for (const Ast *s = stmts; s; s = s->next) {
        n_prompts += s->kind == AST_PROMPTS || s->kind == AST_PROMPT_TEXT || s->kind == AST_PROMPT_IDS;
        n_outputs += s->kind == AST_OUTPUT;
        n_blocks += s->kind == AST_BLOCK;
    }
    r->prompts = arena_alloc(ar, sizeof *r->prompts * (size_t)n_prompts);
    r->outputs = arena_alloc(ar, sizeof *r->outputs * (size_t)n_outputs);
    r->blocks = arena_alloc(ar, sizeof *r->blocks * (size_t)n_blocks);
    r->n_prompts = n_prompts;
    r->n_blocks = n_blocks;
    n_prompts = n_outputs = n_blocks = 0;
    for (const Ast *s = stmts; s; s = s->next) {
        check_statement(&c, s, &n_prompts, &n_outputs, &n_blocks);
        r->n_outputs = n_outputs; /* duplicates are looked for among those so far */
    }
    if (!r->experiment) r->experiment = file_stem(&c, opt->path);
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
