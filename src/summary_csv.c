/* summary_csv.c: see summary_csv.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "summary_csv.h"

// ---- RFC 4180 records ---------------------------------------------------------

typedef struct Csv {
    const char *p, *end;
    const char *name;
    int line; /* line of *p, 1-based */
} Csv;

static void free_fields(char **f, int n)
{
    for (int i = 0; i < n; i++) free(f[i]);
    free(f);
}

/* The next record's fields (new strings) in *out.  Returns the field count,
 * 0 at the end of the input, -1 on malformed quoting.  Blank lines between
 * records are skipped. */
static int csv_record(Csv *cv, char ***out, int *rec_line, KopError *err)
{
    while (cv->p < cv->end && (*cv->p == '\n' || (*cv->p == '\r' && cv->p + 1 < cv->end && cv->p[1] == '\n'))) {
        cv->p += *cv->p == '\r' ? 2 : 1;
        cv->line++;
    }
    if (cv->p >= cv->end) return 0;
    *rec_line = cv->line;
    int nf = 0, cap = 16;
    char **f = kop_xmalloc(sizeof *f * (size_t)cap);
    for (;;) {
        KopBuf b = {0};
        if (cv->p < cv->end && *cv->p == '"') {
            int open_line = cv->line;
            cv->p++;
            for (;;) {
                if (cv->p >= cv->end) {
                    free(b.s);
                    free_fields(f, nf);
                    return kop_fail(err, KOP_EXIT_DATA, "%s:%d: quoted field never closed (expected '\"')",
                                    cv->name, open_line);
                }
                char c = *cv->p++;
                if (c == '"') {
                    if (cv->p < cv->end && *cv->p == '"') { kop_buf_addc(&b, '"'); cv->p++; }
                    else break;
                } else {
                    if (c == '\n') cv->line++;
                    kop_buf_addc(&b, c);
                }
            }
            if (cv->p < cv->end && *cv->p != ',' && *cv->p != '\n' && *cv->p != '\r') {
                free(b.s);
                free_fields(f, nf);
                return kop_fail(err, KOP_EXIT_DATA, "%s:%d: expected ',' or end of line after a closing quote, got '%c'",
                                cv->name, cv->line, *cv->p);
            }
        } else {
            while (cv->p < cv->end && *cv->p != ',' && *cv->p != '\n' &&
                   !(*cv->p == '\r' && cv->p + 1 < cv->end && cv->p[1] == '\n')) {
                if (*cv->p == '"') {
                    free(b.s);
                    free_fields(f, nf);
                    return kop_fail(err, KOP_EXIT_DATA,
                                    "%s:%d: quote inside an unquoted field (quote the whole field and double the quote)",
                                    cv->name, cv->line);
                }
                kop_buf_addc(&b, *cv->p++);
            }
        }
        if (nf == cap) f = kop_xrealloc(f, sizeof *f * (size_t)(cap *= 2));
        f[nf++] = kop_buf_take(&b);
        if (cv->p < cv->end && *cv->p == ',') { cv->p++; continue; }
        if (cv->p < cv->end) { /* end of line */
            cv->p += *cv->p == '\r' ? 2 : 1;
            cv->line++;
        }
        break;
    }
    *out = f;
    return nf;
}

// ---- columns ------------------------------------------------------------------

enum { COL_EXPERIMENT, COL_MODEL, COL_STATEMENT, COL_K, COL_T, COL_N, COL_MEAN, COL_STDERR, COL_CI95, COL_METRIC,
       N_COLS };
static const char *const col_names[N_COLS] = {"experiment", "model", "statement", "k", "t", "n",
                                               "mean", "stderr", "ci95", "metric"};
static const int col_required[N_COLS] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Empty or "nan" -> NaN; anything else must be a whole number. */
static int parse_num(const char *s, double *out)
{
    if (!*s) { *out = NAN; return 0; }
    char *end;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

static int bad_field(KopError *err, const Csv *cv, int line, int col, const char *want, const char *got)
{
    return kop_fail(err, KOP_EXIT_DATA, "%s:%d: column '%s': expected %s, got '%s'", cv->name, line, col_names[col],
                    want, got);
}

static int parse_row(const Csv *cv, int line, char **f, const int *idx, SummaryRow *row, KopError *err)
{
    long v;
    memset(row, 0, sizeof *row);
    row->line = line;
    row->depth = NAN;
    if (*f[idx[COL_K]]) {
        if (parse_int(f[idx[COL_K]], 0, 1000000, &v) < 0)
            return bad_field(err, cv, line, COL_K, "a layer number or nothing", f[idx[COL_K]]);
        row->has_k = 1;
        row->k = (int)v;
    }
    if (*f[idx[COL_T]]) {
        if (parse_int(f[idx[COL_T]], -1000000, 1000000, &v) < 0)
            return bad_field(err, cv, line, COL_T, "a token position or nothing", f[idx[COL_T]]);
        row->has_t = 1;
        row->t = (int)v;
    }
    if (parse_int(f[idx[COL_N]], 0, LONG_MAX, &row->n) < 0)
        return bad_field(err, cv, line, COL_N, "a prompt count", f[idx[COL_N]]);
    if (parse_num(f[idx[COL_MEAN]], &row->mean) < 0)
        return bad_field(err, cv, line, COL_MEAN, "a number", f[idx[COL_MEAN]]);
    if (parse_num(f[idx[COL_STDERR]], &row->se) < 0)
        return bad_field(err, cv, line, COL_STDERR, "a number", f[idx[COL_STDERR]]);
    row->ci95 = NAN;
    if (idx[COL_CI95] >= 0 && parse_num(f[idx[COL_CI95]], &row->ci95) < 0)
        return bad_field(err, cv, line, COL_CI95, "a number", f[idx[COL_CI95]]);
    row->experiment = kop_xstrdup(f[idx[COL_EXPERIMENT]]);
    row->model = kop_xstrdup(f[idx[COL_MODEL]]);
    row->statement = kop_xstrdup(f[idx[COL_STATEMENT]]);
    if (idx[COL_METRIC] >= 0 && *f[idx[COL_METRIC]]) row->metric = kop_xstrdup(f[idx[COL_METRIC]]);
    return 0;
}

int summary_parse(const char *text, size_t len, const char *name, Summary *out, KopError *err)
{
    memset(out, 0, sizeof *out);
    out->name = kop_xstrdup(name);
    Csv cv = {text, text + len, name, 1};
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) cv.p += 3;
    char **f;
    int line, nf = csv_record(&cv, &f, &line, err);
    if (nf < 0) goto fail;
    if (nf == 0) {
        kop_fail(err, KOP_EXIT_DATA, "%s: empty file (expected a header line: experiment,model,statement,k,t,n,mean,stderr,ci95)", name);
        goto fail;
    }
    int idx[N_COLS], n_head = nf;
    for (int c = 0; c < N_COLS; c++) {
        idx[c] = -1;
        for (int i = 0; i < nf; i++)
            if (!strcmp(f[i], col_names[c])) idx[c] = i;
        if (idx[c] < 0 && col_required[c]) {
            kop_fail(err, KOP_EXIT_DATA, "%s:%d: header has no '%s' column (expected experiment,model,statement,k,t,n,mean,stderr,ci95)",
                     name, line, col_names[c]);
            free_fields(f, nf);
            goto fail;
        }
    }
    free_fields(f, nf);
    int cap = 64;
    out->rows = kop_xmalloc(sizeof *out->rows * (size_t)cap);
    while ((nf = csv_record(&cv, &f, &line, err)) > 0) {
        if (nf != n_head) {
            kop_fail(err, KOP_EXIT_DATA, "%s:%d: expected %d fields like the header, got %d", name, line, n_head, nf);
            free_fields(f, nf);
            goto fail;
        }
        if (out->n_rows == cap) out->rows = kop_xrealloc(out->rows, sizeof *out->rows * (size_t)(cap *= 2));
        int rc = parse_row(&cv, line, f, idx, &out->rows[out->n_rows], err);
        free_fields(f, nf);
        if (rc < 0) goto fail;
        out->n_rows++;
    }
    if (nf < 0) goto fail;
    if (out->n_rows == 0) {
        kop_fail(err, KOP_EXIT_DATA, "%s: no data rows after the header", name);
        goto fail;
    }
    return 0;
fail:
    summary_free(out);
    return -1;
}

int summary_read(const char *path, Summary *out, KopError *err)
{
    size_t len;
    char *text = kop_read_file_max(path, 64 << 20, "a summary", &len, err);
    if (!text) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    int rc = summary_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void summary_free(Summary *s)
{
    for (int i = 0; i < s->n_rows; i++) {
        free(s->rows[i].experiment);
        free(s->rows[i].model);
        free(s->rows[i].statement);
        free(s->rows[i].metric);
    }
    free(s->rows);
    free(s->name);
    memset(s, 0, sizeof *s);
}

// ---- arranging as PlotData ----------------------------------------------------

/* Index of s in the distinct-string list (*list, *n), appending it if new. */
static int intern(const char ***list, int *n, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*list)[i], s)) return i;
    *list = kop_xrealloc(*list, sizeof **list * (size_t)(*n + 1));
    (*list)[*n] = s;
    return (*n)++;
}

/* Index of the (experiment, statement) pair in the list, appending it if new. */
static int intern_group(const SummaryRow ***list, int *n, const SummaryRow *r)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*list)[i]->experiment, r->experiment) && !strcmp((*list)[i]->statement, r->statement)) return i;
    *list = kop_xrealloc(*list, sizeof **list * (size_t)(*n + 1));
    (*list)[*n] = r;
    return (*n)++;
}

/* One heatmap row / one line: a statement of one experiment, at one t. */
typedef struct RowKey {
    int group;  /* index of (experiment, statement) in order of appearance */
    int has_t, t;
} RowKey;

static int cmp_key(const void *a, const void *b)
{
    const RowKey *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    if (x->has_t != y->has_t) return x->has_t < y->has_t ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}


static int find_key(const RowKey *keys, int n, RowKey k)
{
    for (int i = 0; i < n; i++)
        if (!cmp_key(&keys[i], &k)) return i;
    return -1;
}

/* Which metric to plot: the caller's, else the file's single one. */
static int pick_metric(const Summary *s, const char *want, const char **out, KopError *err)
{
    *out = want;
    for (int i = 0; i < s->n_rows; i++) {
        const char *m = s->rows[i].metric;
        if (!m) continue;
        if (want) {
            if (!strcmp(m, want)) return 0;
            continue;
        }
        if (!*out) *out = m;
        else if (strcmp(*out, m) != 0)
            return kop_fail(err, KOP_EXIT_DATA, "%s:%d: metric '%s' differs from '%s' above; choose one with --metric",
                            s->name, s->rows[i].line, m, *out);
    }
    if (want) {
        int any = 0;
        for (int i = 0; i < s->n_rows; i++) any |= s->rows[i].metric != NULL;
        if (any) return kop_fail(err, KOP_EXIT_DATA, "%s: no rows have metric '%s'", s->name, want);
    }
    if (!*out) *out = "prob_change";
    return 0;
}

/* Rows counted for the chosen metric (all rows when the file has no metric column). */
static int row_used(const SummaryRow *r, const char *metric) { return !r->metric || !strcmp(r->metric, metric); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A row's place on the x axis: k, or with `x depth` its window's first
 * layer as a percentage of the model's depth. */
static double row_x(const SummaryRow *r, int depth) { return depth ? r->depth : (double)r->k; }

int summary_plot(const Summary *s, const char *metric, const char *const *t_labels, int n_t_labels,
                 SummaryPlot *out, KopError *err)
{
    return summary_plot_opts(s, metric, t_labels, n_t_labels, NULL, out, err);
}

int summary_plot_opts(const Summary *s, const char *metric, const char *const *t_labels, int n_t_labels,
                      const FigureOpts *fig, SummaryPlot *out, KopError *err)
{
    memset(out, 0, sizeof *out);
    const char *m;
    int depth = fig && fig->x_depth;
    if (pick_metric(s, metric, &m, err) < 0) return -1;
    for (int i = 0; depth && i < s->n_rows; i++)
        if (row_used(&s->rows[i], m) && s->rows[i].has_k && !(s->rows[i].depth == s->rows[i].depth))
            return kop_fail(err, KOP_EXIT_DATA, "%s:%d: 'x depth' needs the model's layer count, which a summary file "
                            "does not hold", s->name, s->rows[i].line);
    out->metric = kop_xstrdup(m);

    const char **models = NULL, **exps = NULL;
    const SummaryRow **groups = NULL; /* first row of each (experiment, statement) */
    int n_models = 0, n_exps = 0, n_groups = 0, n_keys = 0, n_k = 0, all_t = 1, t_groups = 0;
    RowKey *keys = kop_xmalloc(sizeof *keys * (size_t)s->n_rows);
    double *ks = kop_xmalloc(sizeof *ks * (size_t)s->n_rows);
    int *group_has_t = kop_xcalloc((size_t)s->n_rows, sizeof *group_has_t);
    for (int i = 0; i < s->n_rows; i++) {
        const SummaryRow *r = &s->rows[i];
        if (!row_used(r, m)) continue;
        intern(&models, &n_models, r->model);
        intern(&exps, &n_exps, r->experiment);
        RowKey k = {intern_group(&groups, &n_groups, r), r->has_t, r->has_t ? r->t : 0};
        if (find_key(keys, n_keys, k) < 0) keys[n_keys++] = k;
        if (r->has_t) group_has_t[k.group] = 1;
        all_t &= r->has_t;
        if (r->has_k) {
            int seen = 0;
            for (int j = 0; j < n_k && !seen; j++) seen = ks[j] == row_x(r, depth);
            if (!seen) ks[n_k++] = row_x(r, depth);
        }
    }
    for (int g = 0; g < n_groups; g++) t_groups += group_has_t[g];
    qsort(keys, (size_t)n_keys, sizeof *keys, cmp_key);
    qsort(ks, (size_t)n_k, sizeof *ks, cmp_double);

    int n_x = n_k ? n_k : 1;
    out->x = kop_xmalloc(sizeof *out->x * (size_t)n_x);
    for (int i = 0; i < n_x; i++) out->x[i] = n_k ? ks[i] : NAN;
    size_t cells = (size_t)n_models * (size_t)n_keys * (size_t)n_x;
    out->mean = kop_xmalloc(sizeof *out->mean * cells);
    out->se = kop_xmalloc(sizeof *out->se * cells);
    int *src = kop_xcalloc(cells, sizeof *src); /* line that filled each cell, 0 = none */
    long *nmax = kop_xcalloc((size_t)n_models, sizeof *nmax);
    for (size_t c = 0; c < cells; c++) out->mean[c] = out->se[c] = NAN;
    int rc = 0;
    for (int i = 0; i < s->n_rows && rc == 0; i++) {
        const SummaryRow *r = &s->rows[i];
        if (!row_used(r, m)) continue;
        int si = intern(&models, &n_models, r->model);
        RowKey k = {intern_group(&groups, &n_groups, r), r->has_t, r->has_t ? r->t : 0};
        int ri = find_key(keys, n_keys, k);
        if (r->n > nmax[si]) nmax[si] = r->n;
        for (int xi = 0; xi < n_x; xi++) {
            if (r->has_k && ks[xi] != row_x(r, depth)) continue;
            size_t c = ((size_t)si * (size_t)n_keys + (size_t)ri) * (size_t)n_x + (size_t)xi;
            if (src[c]) {
                rc = kop_fail(err, KOP_EXIT_DATA, "%s:%d: a second value for model '%s', statement '%s'%s (first on line %d)",
                              s->name, r->line, r->model, r->statement, r->has_k || r->has_t ? " at the same k and t" : "",
                              src[c]);
                break;
            }
            src[c] = r->line;
            out->mean[c] = r->mean;
            out->se[c] = !fig || fig->band == BAND_STDERR ? r->se : fig->band == BAND_CI95 ? r->ci95 : NAN;
        }
    }

    if (rc == 0) {
        out->row_labels = kop_xcalloc((size_t)n_keys, sizeof *out->row_labels);
        for (int i = 0; i < n_keys; i++) {
            const SummaryRow *g = groups[keys[i].group];
            char *stmt = n_exps > 1 ? kop_strf("%s: %s", g->experiment, g->statement) : kop_xstrdup(g->statement);
            if (!keys[i].has_t) { out->row_labels[i] = stmt; continue; }
            int t = keys[i].t;
            char *tok = t >= 0 && t < n_t_labels && t_labels ? kop_xstrdup(t_labels[t]) : kop_strf("t = %d", t);
            out->row_labels[i] = t_groups > 1 ? kop_strf("%s: %s", stmt, tok) : kop_xstrdup(tok);
            free(stmt);
            free(tok);
        }
        out->series_labels = kop_xcalloc((size_t)n_models, sizeof *out->series_labels);
        for (int i = 0; i < n_models; i++)
            out->series_labels[i] = n_models > 1 ? kop_strf("%s (n = %ld)", models[i], nmax[i]) : kop_xstrdup(models[i]);
        size_t elen = 1;
        for (int i = 0; i < n_exps; i++) elen += strlen(exps[i]) + 3;
        out->experiment = kop_xmalloc(elen);
        out->experiment[0] = '\0';
        for (int i = 0; i < n_exps; i++) {
            if (i) strcat(out->experiment, " + ");
            strcat(out->experiment, exps[i]);
        }
        out->model = n_models == 1 ? kop_xstrdup(models[0]) : NULL;

        PlotData *d = &out->d;
        d->experiment = out->experiment;
        d->model = out->model;
        d->n_prompts = n_models == 1 ? (int)(nmax[0] > INT_MAX ? INT_MAX : nmax[0]) : 0;
        d->metric = out->metric;
        d->n_series = n_models;
        d->series_labels = (const char *const *)out->series_labels;
        d->n_rows = n_keys;
        d->row_labels = (const char *const *)out->row_labels;
        d->n_x = n_x;
        d->x = out->x;
        d->mean = out->mean;
        d->se = out->se;
        if (all_t) {
            d->row_title = t_labels ? "token" : "token position";
            d->verbatim_labels = 1;
        }
        if (fig) {
            d->has_ylim = fig->has_ylim;
            d->has_clim = fig->has_clim;
            memcpy(d->ylim, fig->ylim, sizeof d->ylim);
            memcpy(d->clim, fig->clim, sizeof d->clim);
            d->colors = fig->colors;
            if (depth) {
                d->x_title = "relative depth (%)";
                d->join_gaps = 1;
            }
            if (fig->band == BAND_NONE) d->se = NULL;
            if (fig->band == BAND_CI95) d->note = "bands: 95 % CI";
        }
    }
    free(group_has_t);
    free(models);
    free(exps);
    free(groups);
    free(keys);
    free(ks);
    free(src);
    free(nmax);
    if (rc < 0) summary_plot_free(out);
    return rc;
}

void summary_plot_free(SummaryPlot *p)
{
    for (int i = 0; p->row_labels && i < p->d.n_rows; i++) free(p->row_labels[i]);
    for (int i = 0; p->series_labels && i < p->d.n_series; i++) free(p->series_labels[i]);
    free(p->row_labels);
    free(p->series_labels);
    free(p->experiment);
    free(p->model);
    free(p->metric);
    free(p->x);
    free(p->mean);
    free(p->se);
    memset(p, 0, sizeof *p);
}
