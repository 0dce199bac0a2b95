/* pipeline.c: reading a pipeline file (see pipeline.h).  libyaml's loader
 * builds the node tree with a start and end mark on every node; this file
 * walks it once, expanding variables in scalars and reporting every problem
 * at its mark. */
#include "pipeline.h"
#include "outdir.h"

#include "arch.h"
#include "plan.h"

#include <stdint.h>
#include <string.h>
#include <yaml.h>

typedef struct Rd {
    Pipeline *p;
    yaml_document_t *doc;
    unsigned char *set_used;   /* (n_sets) */
} Rd;

// ---- locations ------------------------------------------------------------------

/* libyaml marks count lines and characters from 0; diag counts from 1. */
static KopLoc at_mark(Rd *r, yaml_mark_t m)
{
    return diag_loc_at(r->p->diag, (int)m.line + 1, (int)m.column + 1);
}

/* A scalar is underlined whole; a mapping or list gets a caret at its start
 * (its end is lines away). */
static KopLoc node_loc(Rd *r, const yaml_node_t *n)
{
    KopLoc a = at_mark(r, n->start_mark);
    if (n->type != YAML_SCALAR_NODE) return a;
    KopLoc b = at_mark(r, n->end_mark);
    return (KopLoc){a.start, b.start > a.start ? b.start : a.start};
}

static yaml_node_t *node(Rd *r, int id) { return yaml_document_get_node(r->doc, id); }

/* Items of a list; -1 for anything else. */
static int seq_len(const yaml_node_t *n)
{
    return n->type == YAML_SEQUENCE_NODE ? (int)(n->data.sequence.items.top - n->data.sequence.items.start) : -1;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return n->data.scalar.length ? "a single value" : "nothing";
    }
}

// ---- variables --------------------------------------------------------------------

/* The value of NAME: the last --set wins, then the environment; NULL when
 * neither defines it. */
static const char *lookup(Rd *r, const char *name, size_t len)
{
    const Pipeline *p = r->p;
    for (int i = p->n_sets - 1; i >= 0; i--)
        if (!strncmp(p->sets[i], name, len) && p->sets[i][len] == '=') {
            for (int j = 0; j < p->n_sets; j++)
                if (!strncmp(p->sets[j], name, len) && p->sets[j][len] == '=') r->set_used[j] = 1;
            return p->sets[i] + len + 1;
        }
    char key[256];
    if (len >= sizeof key) return NULL;
    memcpy(key, name, len);
    key[len] = '\0';
    return getenv(key);
}

static int is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* Where byte i of scalar n's value is in the file, when the value is written
 * there as it is (plain or simply quoted on its line); else the scalar. */
static KopLoc value_loc(Rd *r, const yaml_node_t *n, size_t i, size_t j)
{
    KopLoc all = node_loc(r, n);
    size_t len;
    const char *text = diag_text(r->p->diag, &len);
    int q = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
            n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    size_t at = (size_t)all.start + (size_t)q, vlen = n->data.scalar.length;
    if (at + vlen <= len && !memcmp(text + at, n->data.scalar.value, vlen) && !memchr(text + at, '\n', vlen))
        return (KopLoc){(int)(at + i), (int)(at + j)};
    return all;
}

/* Append the expansion of s[0..n) (which starts at byte off of n's value)
 * to b.  0, or -1 after reporting. */
static int expand_into(Rd *r, KopBuf *b, const yaml_node_t *nd, const char *s, size_t n, size_t off)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] != '$' || i + 1 >= n || (s[i + 1] != '$' && s[i + 1] != '{')) {
            kop_buf_add(b, s + i, 1);
            i++;
            continue;
        }
        if (s[i + 1] == '$') {
            kop_buf_add(b, "$", 1);
            i += 2;
            continue;
        }
        size_t name = i + 2, e = name;
        while (e < n && is_name_char(s[e])) e++;
        if (e == name || !is_name_start(s[name])) {
            diag_error(r->p->diag, value_loc(r, nd, off + i, off + e + 1),
                       "expected a variable name after '${' (letters, digits and '_', not starting with a digit)");
            return -1;
        }
        const char *val = lookup(r, s + name, e - name);
        if (e < n && s[e] == '}') {
            if (!val) {
                diag_error(r->p->diag, value_loc(r, nd, off + i, off + e + 1),
                           "undefined variable '%.*s': set it with --set %.*s=VALUE or in the environment, "
                           "or give a default: ${%.*s:-DEFAULT}",
                           (int)(e - name), s + name, (int)(e - name), s + name, (int)(e - name), s + name);
                return -1;
            }
            kop_buf_add(b, val, strlen(val));
            i = e + 1;
            continue;
        }
        if (e + 1 < n && s[e] == ':' && s[e + 1] == '-') {
            /* the default runs to the matching '}', nested ${...} included */
            size_t d = e + 2, m = d;
            int depth = 1;
            for (; m < n; m++) {
                if (s[m] == '$' && m + 1 < n && s[m + 1] == '$') m++;
                else if (s[m] == '$' && m + 1 < n && s[m + 1] == '{') depth++, m++;
                else if (s[m] == '}' && --depth == 0) break;
            }
            if (m >= n) {
                diag_error(r->p->diag, value_loc(r, nd, off + i, off + n), "unterminated '${': close it with '}'");
                return -1;
            }
            if (val && *val) kop_buf_add(b, val, strlen(val));
            else if (expand_into(r, b, nd, s + d, m - d, off + d) < 0) return -1;
            i = m + 1;
            continue;
        }
        diag_error(r->p->diag, value_loc(r, nd, off + i, off + (e < n ? e + 1 : n)),
                   e < n ? "expected '}' or ':-DEFAULT}' after '${%.*s'" : "unterminated '${%.*s': close it with '}'",
                   (int)(e - name), s + name);
        return -1;
    }
    return 0;
}

// ---- values -----------------------------------------------------------------------

/* The expanded text of a scalar, in the pipeline's arena; NULL after an
 * error (reported), or when the value is empty and empty_ok (an optional key
 * left empty, e.g. `${PROMPTS:-}`, is as if absent). */
static const char *scalar(Rd *r, const yaml_node_t *n, const char *what, int empty_ok)
{
    if (n->type != YAML_SCALAR_NODE) {
        diag_error(r->p->diag, node_loc(r, n), "expected %s, found %s", what, kind_name(n));
        return NULL;
    }
    KopBuf b = {0};
    kop_buf_add(&b, "", 0);
    if (expand_into(r, &b, n, (const char *)n->data.scalar.value, n->data.scalar.length, 0) < 0) {
        free(b.s);
        return NULL;
    }
    const char *out = NULL;
    if (b.n) out = arena_strndup(r->p->ar, b.s, b.n);
    else if (!empty_ok) diag_error(r->p->diag, node_loc(r, n), "expected %s, found nothing", what);
    free(b.s);
    return out;
}

/* Optional value: NULL when absent or empty. */
static const char *opt_str(Rd *r, const yaml_node_t *n, const char *what)
{
    return n ? scalar(r, n, what, 1) : NULL;
}

/* A required key: missing is reported at the mapping that lacks it, empty
 * at the value; what says what the key is for. */
static const char *req_str(Rd *r, const yaml_node_t *map, const yaml_node_t *n, const char *key, const char *what)
{
    if (!n) {
        diag_error(r->p->diag, node_loc(r, map), "missing '%s': %s", key, what);
        return NULL;
    }
    char noun[64];
    snprintf(noun, sizeof noun, "one value for '%s'", key);
    int errors = diag_errors(r->p->diag);
    const char *s = scalar(r, n, noun, 1);
    if (!s && diag_errors(r->p->diag) == errors) diag_error(r->p->diag, node_loc(r, n), "'%s' is empty: %s", key, what);
    return s;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s || *s == '+' || *s == '-' || *s == ' ') return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* An optional integer in lo..hi; 0 when absent. */
static long opt_int(Rd *r, const yaml_node_t *n, long lo, long hi, const char *what)
{
    const char *s = opt_str(r, n, what);
    long v = 0;
    if (s && parse_long(s, lo, hi, &v) < 0) {
        diag_error(r->p->diag, node_loc(r, n), "expected %s (a whole number from %ld to %ld), got '%s'", what, lo, hi, s);
        return 0;
    }
    return v;
}

/* A path written in the file: relative to the file's folder. */
static const char *resolve(Rd *r, const char *path)
{
    if (!path || path[0] == '/' || !strcmp(r->p->dir, ".")) return path;
    char *joined = kop_path_join(r->p->dir, path);
    const char *s = arena_strndup(r->p->ar, joined, strlen(joined));
    free(joined);
    return s;
}

/* Names become folder names (util.h). */
#define folder_name_ok kop_folder_name_ok

/* An output path: relative, with no '..' component. */
static int inside_path_ok(const char *s)
{
    if (s[0] == '/') return 0;
    for (const char *c = s; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') return 0;
        c += n;
        if (*c) c++;
    }
    return 1;
}

/* A scalar or a list of scalars (an empty list is allowed: none). */
static void list(Rd *r, const yaml_node_t *n, const char *what, PipeList *out)
{
    memset(out, 0, sizeof *out);
    if (!n) return;
    int count = seq_len(n) < 0 ? 1 : seq_len(n);
    out->v = arena_alloc(r->p->ar, sizeof *out->v * (size_t)(count ? count : 1));
    out->loc = arena_alloc(r->p->ar, sizeof *out->loc * (size_t)(count ? count : 1));
    for (int i = 0; i < count; i++) {
        const yaml_node_t *it = seq_len(n) < 0 ? n : node(r, n->data.sequence.items.start[i]);
        const char *s = scalar(r, it, what, 0);
        if (!s) continue;
        out->loc[out->n] = node_loc(r, it);
        out->v[out->n++] = s;
    }
}

// ---- mappings ----------------------------------------------------------------------

/* Fill vals[i] with the value of keys[i] in map (NULL when absent); report
 * unknown and repeated keys.  what says what the mapping is, for messages.
 * -1 when map is not a mapping. */
static int fields(Rd *r, const yaml_node_t *map, const char *what, const char *const *keys, int n_keys,
                  yaml_node_t **vals)
{
    memset(vals, 0, sizeof *vals * (size_t)n_keys);
    if (map->type != YAML_MAPPING_NODE) {
        diag_error(r->p->diag, node_loc(r, map), "expected %s (a mapping of keys to values), found %s", what,
                   kind_name(map));
        return -1;
    }
    KopLoc *seen = kop_xcalloc((size_t)n_keys, sizeof *seen);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(r, pr->key), *v = node(r, pr->value);
        if (k->type != YAML_SCALAR_NODE) {
            diag_error(r->p->diag, node_loc(r, k), "expected a key name, found %s", kind_name(k));
            continue;
        }
        const char *name = (const char *)k->data.scalar.value;
        int i = 0;
        while (i < n_keys && strcmp(keys[i], name)) i++;
        if (i == n_keys) {
            char where[64];
            snprintf(where, sizeof where, " in %s", what);
            pipelinep_unknown(r->p->diag, node_loc(r, k), "key", name, where, keys, n_keys);
        } else if (vals[i]) {
            diag_error(r->p->diag, node_loc(r, k), "'%s' is given twice (first on line %d)", name,
                       diag_line(r->p->diag, seen[i]));
        } else {
            vals[i] = v;
            seen[i] = node_loc(r, k);
        }
    }
    free(seen);
    return 0;
}

void pipelinep_unknown(Diag *d, KopLoc loc, const char *what, const char *name, const char *where,
                       const char *const *names, int n)
{
    const char *near = diag_closest(name, names, n);
    if (near) {
        diag_error(d, loc, "unknown %s '%s'%s (did you mean '%s'?)", what, name, where, near);
        return;
    }
    char known[512] = "";
    for (int j = 0; j < n; j++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", j ? ", " : "", names[j]);
    diag_error(d, loc, "unknown %s '%s'%s; expected %s", what, name, where, n ? known : "none");
}

/* A required, non-empty list; NULL after reporting. */
static const yaml_node_t *req_list(Rd *r, const yaml_node_t *root, const yaml_node_t *n, const char *key,
                                   const char *what)
{
    if (!n) diag_error(r->p->diag, node_loc(r, root), "missing '%s': %s", key, what);
    else if (seq_len(n) < 0) diag_error(r->p->diag, node_loc(r, n), "'%s' must be a list: %s", key, what);
    else if (seq_len(n) == 0) diag_error(r->p->diag, node_loc(r, n), "'%s' is empty: %s", key, what);
    else return n;
    return NULL;
}

static Arch arch_value(Rd *r, const char *s, KopLoc loc)
{
    Arch a = arch_from_name(s);
    if (!a) {
        const char *const *names;
        int n = arch_names(&names);
        pipelinep_unknown(r->p->diag, loc, "architecture", s, "", names, n);
    }
    return a;
}

// ---- the sections --------------------------------------------------------------------

/* The last component of a folder path, for a model given by its folder. */
static const char *base_name(KopArena *ar, const char *path)
{
    size_t n;
    const char *b = kop_path_base(path, &n);
    return arena_strndup(ar, b, n);
}

static void read_model(Rd *r, const yaml_node_t *n, PipeModel *m)
{
    static const char *const keys[] = {"name", "dir", "arch", "layers", "tokenizer"};
    yaml_node_t *v[5];
    m->loc = node_loc(r, n);
    if (n->type == YAML_SCALAR_NODE) { /* shorthand: the folder */
        const char *dir = scalar(r, n, "a model folder", 0);
        if (!dir) return;
        m->dir = resolve(r, dir);
        m->dir_loc = m->loc;
        m->name = base_name(r->p->ar, dir);
        if (!folder_name_ok(m->name))
            diag_error(r->p->diag, m->loc, "cannot name a model after '%s': give it a 'name'", dir);
        return;
    }
    if (fields(r, n, "a model", keys, 5, v) < 0) return;
    m->name = req_str(r, n, v[0], "name", "a model needs a name (the folder of its results)");
    if (m->name && !folder_name_ok(m->name))
        diag_error(r->p->diag, node_loc(r, v[0]), "a model name is one folder name: no '/', not '.' or '..'");
    const char *dir = req_str(r, n, v[1], "dir", "a model needs 'dir', its folder");
    if (dir) {
        m->dir = resolve(r, dir);
        m->dir_loc = node_loc(r, v[1]);
    }
    const char *arch = opt_str(r, v[2], "an architecture name (mamba1, gpt2, llama, ...)");
    if (arch) {
        m->arch_loc = node_loc(r, v[2]);
        m->arch = arch_value(r, arch, m->arch_loc);
    }
    m->layers = (int)opt_int(r, v[3], 1, 100000, "a layer count");
    if (v[3]) m->layers_loc = node_loc(r, v[3]);
    m->tokenizer = resolve(r, opt_str(r, v[4], "a tokenizer file or folder"));
}

static int word(Rd *r, const yaml_node_t *n, const char *what, const char *const *words, int n_words, int dflt);

static void read_recipe(Rd *r, const yaml_node_t *n, PipeRecipe *rc)
{
    static const char *const keys[] = {"file", "archs", "min_layers", "keep"};
    static const char *const keep_words[] = {"own"};
    yaml_node_t *v[4];
    rc->loc = node_loc(r, n);
    if (n->type == YAML_SCALAR_NODE) {
        rc->path = resolve(r, scalar(r, n, "a recipe file", 0));
        return;
    }
    if (fields(r, n, "a recipe", keys, 4, v) < 0) return;
    rc->keep_own = word(r, v[3], "keep value", keep_words, 1, -1) == 0;
    rc->min_layers = (int)opt_int(r, v[2], 1, 100000, "a layer count");
    rc->path = resolve(r, req_str(r, n, v[0], "file", "a recipe needs 'file', the .kop file"));
    if (v[0]) rc->loc = node_loc(r, v[0]);
    PipeList archs;
    list(r, v[1], "an architecture name (mamba1, gpt2, llama, ...)", &archs);
    for (int i = 0; i < archs.n; i++) rc->archs |= 1u << arch_value(r, archs.v[i], archs.loc[i]);
    if (v[1] && seq_len(v[1]) == 0)
        diag_error(r->p->diag, node_loc(r, v[1]), "'archs' is empty: the recipe would run on no model");
}

/* Blanks collapsed and trimmed, as the executor labels a block statement. */
static const char *collapse_blanks(KopArena *ar, const char *s)
{
    char *out = arena_alloc(ar, strlen(s) + 1), *o = out;
    for (; *s; s++) {
        int blank = *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n';
        if (!blank) *o++ = *s;
        else if (o > out && o[-1] != ' ') *o++ = ' ';
    }
    while (o > out && o[-1] == ' ') o--;
    *o = '\0';
    return out;
}

static const char *figure_path(Rd *r, const yaml_node_t *n)
{
    const char *s = opt_str(r, n, "a .png file name");
    if (!s) return NULL;
    if (!inside_path_ok(s)) {
        diag_error(r->p->diag, node_loc(r, n), "a figure is written inside the output folder: give a relative path without '..'");
        return NULL;
    }
    const char *why = outdir_name_problem(s);
    if (why) {
        diag_error(r->p->diag, node_loc(r, n), "the figure name '%s' %s", s, why);
        return NULL;
    }
    size_t len = strlen(s);
    if (len < 4 || strcmp(s + len - 4, ".png"))
        diag_warning(r->p->diag, node_loc(r, n), "'%s' does not end in .png, but it will be a PNG image", s);
    return s;
}

int pipelinep_model_index(const Pipeline *p, const char *name)
{
    for (int i = 0; i < p->n_models; i++)
        if (p->models[i].name && !strcmp(p->models[i].name, name)) return i;
    return -1;
}

/* A value out of a closed list of words: its index, or dflt when absent. */
static int word(Rd *r, const yaml_node_t *n, const char *what, const char *const *words, int n_words, int dflt)
{
    const char *s = opt_str(r, n, what);
    if (!s) return dflt;
    for (int i = 0; i < n_words; i++)
        if (words[i] && !strcmp(words[i], s)) return i;
    const char *shown[16];
    int k = 0;
    for (int i = 0; i < n_words && k < 16; i++)
        if (words[i]) shown[k++] = words[i];
    pipelinep_unknown(r->p->diag, node_loc(r, n), what, s, "", shown, k);
    return dflt;
}

/* [A, B] with A < B into v; has set. */
static void limits(Rd *r, const yaml_node_t *n, const char *key, double v[2], int *has)
{
    if (!n) return;
    if (seq_len(n) != 2) {
        diag_error(r->p->diag, node_loc(r, n), "'%s' is a list of two numbers: [A, B]", key);
        return;
    }
    for (int i = 0; i < 2; i++) {
        const yaml_node_t *e = node(r, n->data.sequence.items.start[i]);
        const char *s = scalar(r, e, "a number", 0);
        char *end;
        if (!s) return;
        v[i] = strtod(s, &end);
        if (end == s || *end || !(v[i] == v[i])) {
            diag_error(r->p->diag, node_loc(r, e), "expected a number, found '%s'", s);
            return;
        }
    }
    if (!(v[0] < v[1])) diag_error(r->p->diag, node_loc(r, n), "'%s' is [A, B] with A < B", key);
    else *has = 1;
}

static const char *const by_words[] = {"recipe", "model", "statement"};
static const char *const x_words[] = {"k", "depth"};

static void read_figure(Rd *r, const yaml_node_t *n, PipeFigure *f)
{
    static const char *const keys[] = {"recipe", "statement", "models", "lines", "heatmap", "title",
                                       "line_by", "panel_by", "metric", "x", "band", "ylim", "clim", "colors"};
    enum { N_KEYS = sizeof keys / sizeof *keys };
    yaml_node_t *v[N_KEYS];
    f->loc = node_loc(r, n);
    f->fig = (FigureOpts){.metric = -1, .band = BAND_STDERR};
    f->line_by = PIPE_BY_MODEL;
    f->panel_by = PIPE_BY_STATEMENT;
    if (fields(r, n, "a figure", keys, N_KEYS, v) < 0) return;
    f->line_by = word(r, v[6], "line_by value", by_words, 3, PIPE_BY_MODEL);
    f->panel_by = word(r, v[7], "panel_by value", by_words, 3, v[6] && f->line_by == PIPE_BY_STATEMENT ? PIPE_BY_MODEL
                                                                                                    : PIPE_BY_STATEMENT);
    if (f->line_by == f->panel_by)
        diag_error(r->p->diag, node_loc(r, v[7] ? v[7] : v[6] ? v[6] : n), "'line_by' and 'panel_by' are both '%s'",
                   by_words[f->line_by]);
    if (v[8]) {
        f->fig.metric = word(r, v[8], "metric", plan_metric_names, METRIC_N, -1);
        f->metric_loc = node_loc(r, v[8]);
    }
    f->fig.x_depth = word(r, v[9], "x axis", x_words, 2, 0);
    f->fig.band = (BandKind)word(r, v[10], "band", plan_band_names, BAND_N, BAND_STDERR);
    limits(r, v[11], "ylim", f->fig.ylim, &f->fig.has_ylim);
    limits(r, v[12], "clim", f->fig.clim, &f->fig.has_clim);
    f->fig.colors = (ColorsKind)word(r, v[13], "colour map", plan_colors_names, COLORS_N, COLORS_AUTO);
    if (!v[0]) diag_error(r->p->diag, f->loc, "missing 'recipe': a figure names the experiment(s) it draws");
    else if (seq_len(v[0]) == 0) diag_error(r->p->diag, node_loc(r, v[0]), "'recipe' is empty: a figure names the experiment(s) it draws");
    list(r, v[0], "an experiment name", &f->recipes);
    list(r, v[1], "a block statement", &f->statements);
    for (int i = 0; i < f->statements.n; i++) f->statements.v[i] = collapse_blanks(r->p->ar, f->statements.v[i]);
    list(r, v[2], "a model name", &f->models);
    for (int i = 0; i < f->models.n; i++)
        if (pipelinep_model_index(r->p, f->models.v[i]) < 0) {
            const char **names = kop_xmalloc(sizeof *names * (size_t)(r->p->n_models + 1));
            int nn = 0;
            for (int j = 0; j < r->p->n_models; j++)
                if (r->p->models[j].name) names[nn++] = r->p->models[j].name;
            pipelinep_unknown(r->p->diag, f->models.loc[i], "model", f->models.v[i], "", names, nn);
            free(names);
        }
    f->lines = figure_path(r, v[3]);
    f->heatmap = figure_path(r, v[4]);
    f->title = opt_str(r, v[5], "a title");
    if (!v[3] && !v[4])
        diag_error(r->p->diag, f->loc, "a figure needs 'lines' or 'heatmap' (or both): the .png file(s) to draw");
}

/* Names that must differ: report the second of two equal ones. */
static void check_unique(Rd *r, const char *what, const char *a, KopLoc la, const char *b, KopLoc lb)
{
    if (a && b && !strcmp(a, b))
        diag_error(r->p->diag, lb, "two %s are both '%s' (the first on line %d)", what, b, diag_line(r->p->diag, la));
}

static void read_root(Rd *r, const yaml_node_t *root)
{
    static const char *const keys[] = {"name", "output", "prompts", "limit", "threads", "models", "recipes", "figures",
                                       "keep"};
    yaml_node_t *v[9];
    Pipeline *p = r->p;
    if (fields(r, root, "a pipeline", keys, 9, v) < 0) return;
    static const char *const keep_words[] = {"correct on all"};
    if (v[8] && word(r, v[8], "keep value", keep_words, 1, -1) == 0) {
        p->keep_all_correct = 1;
        p->keep_loc = node_loc(r, v[8]);
        if (!v[2])
            diag_error(p->diag, p->keep_loc, "'keep: correct on all' needs 'prompts:', the one prompt set every model "
                       "answers");
    }

    p->name = opt_str(r, v[0], "a name");
    if (p->name && !folder_name_ok(p->name))
        diag_error(p->diag, node_loc(r, v[0]), "a pipeline name is one folder name: no '/', not '.' or '..'");
    if (!p->name) { /* the file name without folder and extension */
        const char *b = base_name(p->ar, p->path);
        const char *dot = strrchr(b, '.');
        p->name = dot && dot != b ? arena_strndup(p->ar, b, (size_t)(dot - b)) : b;
    }
    p->output = resolve(r, opt_str(r, v[1], "an output folder"));
    p->prompts = resolve(r, opt_str(r, v[2], "a prompts file"));
    if (p->prompts) p->prompts_loc = node_loc(r, v[2]);
    p->limit = opt_int(r, v[3], 1, 1000000000L, "a prompt count");
    p->threads = (int)opt_int(r, v[4], 1, 4096, "a thread count");

    const yaml_node_t *models = req_list(r, root, v[5], "models", "the model folders to run");
    if (models) {
        p->n_models = seq_len(models);
        p->models = arena_alloc(p->ar, sizeof *p->models * (size_t)p->n_models);
        for (int i = 0; i < p->n_models; i++) {
            read_model(r, node(r, models->data.sequence.items.start[i]), &p->models[i]);
            for (int j = 0; j < i; j++)
                check_unique(r, "models", p->models[j].name, p->models[j].loc, p->models[i].name, p->models[i].loc);
        }
    }
    const yaml_node_t *recipes = req_list(r, root, v[6], "recipes", "the .kop files to run on every model");
    if (recipes) {
        p->n_recipes = seq_len(recipes);
        p->recipes = arena_alloc(p->ar, sizeof *p->recipes * (size_t)p->n_recipes);
        for (int i = 0; i < p->n_recipes; i++) read_recipe(r, node(r, recipes->data.sequence.items.start[i]), &p->recipes[i]);
    }
    if (v[7] && seq_len(v[7]) < 0) {
        diag_error(p->diag, node_loc(r, v[7]), "'figures' must be a list of figures");
    } else if (v[7]) {
        p->n_figures = seq_len(v[7]);
        p->figures = arena_alloc(p->ar, sizeof *p->figures * (size_t)(p->n_figures ? p->n_figures : 1));
        for (int i = 0; i < p->n_figures; i++) read_figure(r, node(r, v[7]->data.sequence.items.start[i]), &p->figures[i]);
    }
}

// ---- loading ----------------------------------------------------------------------------

/* libyaml stops at its first syntax error; report it at its mark. */
static void yaml_problem(Rd *r, const yaml_parser_t *ps)
{
    Diag *d = r->p->diag;
    if (ps->error == YAML_MEMORY_ERROR) KOP_ABORT("libyaml: out of memory");
    if (ps->error == YAML_READER_ERROR) { /* the offset is a byte offset */
        int off = ps->problem_offset > (size_t)INT32_MAX ? INT32_MAX : (int)ps->problem_offset;
        diag_error(d, (KopLoc){off, off + 1}, "%s", ps->problem ? ps->problem : "cannot read the file as UTF-8 text");
        return;
    }
    KopLoc at = at_mark(r, ps->problem_mark);
    if (ps->context)
        diag_error(d, at, "%s (%s that starts on line %d, column %d)", ps->problem ? ps->problem : "invalid YAML",
                   ps->context, (int)ps->context_mark.line + 1, (int)ps->context_mark.column + 1);
    else
        diag_error(d, at, "%s", ps->problem ? ps->problem : "invalid YAML");
}

/* A pipeline is a few levels deep (root, models, a model, a list in it);
 * far deeper nesting is a mistake or a hostile file, and libyaml's loader
 * takes time quadratic in the depth (100,000 levels: half a minute). */
enum { PIPE_MAX_DEPTH = 64 };

/* Stream the events once, stopping at the first collection nested deeper
 * than PIPE_MAX_DEPTH (reported at its place).  0 when the loader may go
 * on (syntax errors are left to it), -1 after reporting. */
static int check_depth(Rd *r)
{
    yaml_parser_t ps;
    yaml_parser_initialize(&ps);
    yaml_parser_set_input_string(&ps, (const unsigned char *)r->p->text, r->p->len);
    int depth = 0, rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&ps, &ev)) break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > PIPE_MAX_DEPTH) {
                diag_error(r->p->diag, at_mark(r, ev.start_mark),
                           "lists and mappings nested more than %d deep: a pipeline needs a few levels", PIPE_MAX_DEPTH);
                rc = -1;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (rc < 0 || t == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&ps);
    return rc;
}

static void load_document(Rd *r)
{
    yaml_parser_t ps;
    yaml_document_t doc;
    if (check_depth(r) < 0) return;
    yaml_parser_initialize(&ps);
    yaml_parser_set_input_string(&ps, (const unsigned char *)r->p->text, r->p->len);
    if (!yaml_parser_load(&ps, &doc)) {
        yaml_problem(r, &ps);
        yaml_parser_delete(&ps);
        return;
    }
    r->doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        diag_error(r->p->diag, (KopLoc){0, 0}, "empty pipeline: expected a mapping with 'models' and 'recipes'");
    } else {
        read_root(r, root);
        yaml_document_t next;
        if (!yaml_parser_load(&ps, &next)) {
            yaml_problem(r, &ps);
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&next);
            if (extra) {
                r->doc = &next;
                diag_error(r->p->diag, node_loc(r, extra), "a pipeline file holds one YAML document; this is a second one");
            }
            yaml_document_delete(&next);
        }
    }
    r->doc = NULL;
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
}

int pipeline_is_file(const char *path)
{
    size_t n = strlen(path);
    return (n > 5 && !strcmp(path + n - 5, ".yaml")) || (n > 4 && !strcmp(path + n - 4, ".yml"));
}

int pipeline_check_set(const char *def, KopError *err)
{
    const char *eq = strchr(def, '=');
    int ok = eq && eq > def && is_name_start(def[0]);
    for (const char *c = def; ok && c < eq; c++) ok = is_name_char(*c);
    if (!ok)
        return kop_fail(err, KOP_EXIT_USAGE, "--set takes NAME=VALUE (NAME: letters, digits and '_'), got '%s'", def);
    return 0;
}

Pipeline *pipeline_parse(const char *path, const char *text, size_t len, const char *const *sets, int n_sets,
                         FILE *diag_out, KopError *err)
{
    for (int i = 0; i < n_sets; i++)
        if (pipeline_check_set(sets[i], err) < 0) return NULL;
    Pipeline *p = kop_xcalloc(1, sizeof *p);
    p->ar = arena_new();
    p->path = arena_strndup(p->ar, path, strlen(path));
    const char *slash = strrchr(path, '/');
    p->dir = slash ? arena_strndup(p->ar, path, slash == path ? 1 : (size_t)(slash - path)) : ".";
    p->text = kop_xmalloc(len + 1);
    memcpy(p->text, text, len);
    p->text[len] = '\0';
    p->len = len;
    p->sets = sets;
    p->n_sets = n_sets;
    p->diag = diag_new(p->path, p->text, len, diag_out);
    p->diag_out = diag_out;
    Rd r = {.p = p, .set_used = kop_xcalloc((size_t)(n_sets ? n_sets : 1), 1)};
    load_document(&r);
    if (diag_out)
        for (int i = 0; i < n_sets; i++)
            if (!r.set_used[i])
                fprintf(diag_out, "%s: warning: --set %.*s: the pipeline uses no variable of that name\n", p->path,
                        (int)(strchr(sets[i], '=') - sets[i]), sets[i]);
    free(r.set_used);
    int n = diag_errors(p->diag);
    if (n) {
        kop_fail(err, KOP_EXIT_DATA, "%s: %d error%s", p->path, n, n == 1 ? "" : "s");
        pipeline_free(p);
        return NULL;
    }
    return p;
}

Pipeline *pipeline_load(const char *path, const char *const *sets, int n_sets, FILE *diag_out, KopError *err)
{
    size_t len;
    char *text = kop_read_file_max(path, KOP_SPEC_MAX, "a pipeline", &len, err);
    if (!text) return NULL;
    Pipeline *p = pipeline_parse(path, text, len, sets, n_sets, diag_out, err);
    free(text);
    return p;
}

void pipeline_free(Pipeline *p)
{
    if (!p) return;
    diag_free(p->diag);
    free(p->text);
    arena_free(p->ar);
    free(p);
}
