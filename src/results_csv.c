/* results_csv.c: rows.csv and summary.csv from Results (results.h).  Each
 * file's columns are one list below: the header and every row are written
 * from it, so they cannot disagree.  Numbers have 9 significant digits,
 * enough to round-trip an fp32 value. */
#include "results.h"

#include <stdlib.h>
#include <string.h>

/* Write s as one CSV field (RFC 4180 quoting when needed). */
static void csv_field(FILE *f, const char *s)
{
    if (!s) return;
    if (!kop_utf8_valid(s, strlen(s))) { /* folder names are bytes; CSV files are UTF-8 */
        char *esc = kop_utf8_escape(s, strlen(s));
        csv_field(f, esc);
        free(esc);
        return;
    }
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* a number field, empty for NaN */
static void num_field(FILE *f, double v)
{
    if (v == v) fprintf(f, "%.9g", v);
}

#define ROW_COLUMNS(X) \
    X(EXPERIMENT, "experiment") X(MODEL, "model") X(STATEMENT, "statement") X(K, "k") X(T, "t") \
    X(LAYER_LO, "layer_lo") X(LAYER_HI, "layer_hi") X(PROMPT, "prompt") X(TARGET_ID, "target_id") \
    X(P_CLEAN, "p_clean") X(P_BASE, "p_base") X(P_AFTER, "p_after") X(VALUE, "value") X(METRIC, "metric")
#define SUMMARY_COLUMNS(X) \
    X(EXPERIMENT, "experiment") X(MODEL, "model") X(STATEMENT, "statement") X(K, "k") X(T, "t") X(N, "n") \
    X(MEAN, "mean") X(STDERR, "stderr") X(CI95, "ci95") X(METRIC, "metric")

#define CLEAN_COLUMNS(X) \
    X(PROMPT, "prompt") X(ID, "id") X(TEXT, "text") X(TARGET_ID, "target_id") X(TARGET, "target") \
    X(TOP1_ID, "top1_id") X(TOP1, "top1") X(P_TARGET, "p_target") X(RANK, "rank") X(CORRECT, "correct") \
    X(KEPT, "kept") X(REASON, "reason")

#define AS_ROW(id, name) R_##id,
#define AS_SUM(id, name) S_##id,
#define AS_NAME(id, name) name,
enum RowCol { ROW_COLUMNS(AS_ROW) N_ROW_COLS };
enum SumCol { SUMMARY_COLUMNS(AS_SUM) N_SUM_COLS };
static const char *const row_names[] = {ROW_COLUMNS(AS_NAME)};
static const char *const sum_names[] = {SUMMARY_COLUMNS(AS_NAME)};
#define AS_CLEAN(id, name) C_##id,
enum CleanCol { CLEAN_COLUMNS(AS_CLEAN) N_CLEAN_COLS };
static const char *const clean_names[] = {CLEAN_COLUMNS(AS_NAME)};


static void header(FILE *f, const char *const *names, int n)
{
    for (int c = 0; c < n; c++) fprintf(f, "%s%s", c ? "," : "", names[c]);
    fputc('\n', f);
}

void results_rows_header(FILE *f)
{
    header(f, row_names, N_ROW_COLS);
}

void results_rows_write(FILE *f, const Results *r, const PromptResult *p)
{
    for (int i = 0; i < p->n_m; i++) {
        const Measure *m = &p->m[i];
        ItemView it = results_item(r->recipe, m->item);
        int ranged = it.layer_lo <= it.layer_hi;
        for (int c = 0; c < N_ROW_COLS; c++) {
            if (c) fputc(',', f);
            switch ((enum RowCol)c) {
            case R_EXPERIMENT: csv_field(f, r->experiment); break;
            case R_MODEL: csv_field(f, r->model); break;
            case R_STATEMENT: csv_field(f, it.label); break;
            case R_K: if (it.k >= 0) fprintf(f, "%d", it.k); break;
            case R_T: if (m->t >= 0) fprintf(f, "%d", m->t); break;
            case R_LAYER_LO: if (ranged) fprintf(f, "%d", it.layer_lo); break;
            case R_LAYER_HI: if (ranged) fprintf(f, "%d", it.layer_hi); break;
            case R_PROMPT: fprintf(f, "%d", p->index); break;
            case R_TARGET_ID: fprintf(f, "%d", p->target); break;
            case R_P_CLEAN: fprintf(f, "%.9g", p->p_clean); break;
            case R_P_BASE: fprintf(f, "%.9g", p->p_base); break;
            case R_P_AFTER: fprintf(f, "%.9g", m->p_after); break;
            case R_VALUE: fprintf(f, "%.9g", m->value); break;
            case R_METRIC: csv_field(f, plan_metric_name(r->recipe->metrics[m->metric])); break;
            case N_ROW_COLS: break;
            }
        }
        fputc('\n', f);
    }
}

int results_clean_write(const char *path, const Results *r, const char *const *texts,
                        char *(*decode)(void *ctx, int id), void *ctx, KopError *err)
{
    char *tmp;
    FILE *f = kop_open_tmp(path, &tmp, err);
    if (!f) return -1;
    header(f, clean_names, N_CLEAN_COLS);
    for (int i = 0; i < r->n_prompts; i++) {
        const PromptResult *p = &r->prompts[i];
        int of = p->answer >= 0 ? p->answer : p->clean && r->recipe->target == TARGET_PREDICTION ? p->top1 : -1;
        for (int c = 0; c < N_CLEAN_COLS; c++) {
            char *s = NULL;
            if (c) fputc(',', f);
            switch ((enum CleanCol)c) {
            case C_PROMPT: fprintf(f, "%d", p->index); break;
            case C_ID: fprintf(f, "%ld", p->id); break;
            case C_TEXT: csv_field(f, texts[i]); break;
            case C_TARGET_ID: if (p->clean && of >= 0) fprintf(f, "%d", of); break;
            case C_TARGET: if (p->clean && of >= 0) csv_field(f, s = decode(ctx, of)); break;
            case C_TOP1_ID: if (p->clean) fprintf(f, "%d", p->top1); break;
            case C_TOP1: if (p->clean) csv_field(f, s = decode(ctx, p->top1)); break;
            case C_P_TARGET: if (p->clean) num_field(f, p->p_answer); break;
            case C_RANK: if (p->clean && p->rank_answer) fprintf(f, "%d", p->rank_answer); break;
            case C_CORRECT: if (p->clean && p->answer >= 0) fputs(p->top1 == p->answer ? "1" : "0", f); break;
            case C_KEPT: fputs(p->used ? "1" : "0", f); break;
            case C_REASON: if (!p->used) csv_field(f, p->reason); break;
            case N_CLEAN_COLS: break;
            }
            free(s);
        }
        fputc('\n', f);
    }
    return kop_commit_tmp(f, tmp, path, err);
}

int summary_write(const char *path, const Summary *s, KopError *err)
{
    char *tmp;
    FILE *f = kop_open_tmp(path, &tmp, err);
    if (!f) return -1;
    header(f, sum_names, N_SUM_COLS);
    for (int i = 0; i < s->n_rows; i++) {
        const SummaryRow *r = &s->rows[i];
        for (int c = 0; c < N_SUM_COLS; c++) {
            if (c) fputc(',', f);
            switch ((enum SumCol)c) {
            case S_EXPERIMENT: csv_field(f, r->experiment); break;
            case S_MODEL: csv_field(f, r->model); break;
            case S_STATEMENT: csv_field(f, r->statement); break;
            case S_K: if (r->has_k) fprintf(f, "%d", r->k); break;
            case S_T: if (r->has_t) fprintf(f, "%d", r->t); break;
            case S_N: fprintf(f, "%ld", r->n); break;
            case S_MEAN: fprintf(f, "%.9g", r->mean); break;
            case S_STDERR: num_field(f, r->se); break;
            case S_CI95: num_field(f, r->ci95); break;
            case S_METRIC: csv_field(f, r->metric); break;
            case N_SUM_COLS: break;
            }
        }
        fputc('\n', f);
    }
    return kop_commit_tmp(f, tmp, path, err);
}
