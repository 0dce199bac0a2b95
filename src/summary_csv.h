/* summary_csv.h: reading an experiment's summary.csv back, to re-render its
 * figures without recomputing them (`kop render`).
 *
 * The file is RFC 4180 CSV (quoted fields may hold commas, doubled quotes and
 * line breaks; LF or CRLF records; an optional UTF-8 BOM) with a header naming
 * the columns, in any order:
 *
 *   experiment,model,statement,k,t,n,mean,stderr,ci95[,metric]
 *
 * one row per statement x sweep point.  k and t are empty when the statement
 * does not use that sweep variable; mean, stderr and ci95 may be empty or
 * "nan" for a point with no value.  metric is optional (older files and other
 * writers lack it) and columns the reader does not know are ignored, so the
 * format can grow.  Errors name FILE:LINE and the column.
 *
 * summary_plot() arranges the rows as render.h's PlotData:
 *   - series are the distinct models, in order of first appearance (several
 *     models = a comparison figure, series labelled "MODEL (n = N)");
 *   - rows are the distinct statements (prefixed "EXPERIMENT: " when the file
 *     holds several experiments), each expanded into one row per t for a
 *     tokens[t] sweep, ordered by t and labelled with the caller's token
 *     labels (label i for t = i) or "t = i";
 *   - x is the sorted set of k values; a statement without k is constant
 *     along k and fills every column (one column, x = NaN, if no statement
 *     has a k).
 *
 * Ownership: Summary and SummaryPlot own all their strings and arrays;
 * release them with summary_free / summary_plot_free. */
#ifndef KOP_SUMMARY_CSV_H
#define KOP_SUMMARY_CSV_H

#include <stddef.h>

#include "render.h"
#include "util.h"

typedef struct SummaryRow {
    char *experiment, *model, *statement;
    char *metric;           /* NULL when the file has no metric column */
    int has_k, k;
    int has_t, t;
    long n;
    double mean, se, ci95;  /* NaN when empty */
    double depth;           /* in memory only: the window's first layer at this k as a percentage of
                               the model's layers (`x depth`); NaN when unknown (read from a file) */
    int line;               /* line of the record in the file, for messages */
} SummaryRow;

typedef struct Summary {
    char *name;             /* the path, for messages */
    SummaryRow *rows;
    int n_rows;
} Summary;

/* Read and validate a summary file.  0, or -1 with err (KOP_EXIT_USAGE when
 * the file cannot be read, KOP_EXIT_DATA when its content is wrong). */
int summary_read(const char *path, Summary *out, KopError *err);
/* The same from text in memory; name is used in messages. */
int summary_parse(const char *text, size_t len, const char *name, Summary *out, KopError *err);
void summary_free(Summary *s);

typedef struct SummaryPlot {
    PlotData d;             /* points into the storage below */
    char *experiment, *model, *metric;
    char **series_labels, **row_labels;
    double *x, *mean, *se;
} SummaryPlot;

/* Arrange s for the renderers.  metric overrides the file's metric column
 * (NULL: the column, else "prob_change"); t_labels (n_t_labels of them, may be
 * NULL) name the token positions of tokens[t] rows.  0 or -1 with err. */
int summary_plot(const Summary *s, const char *metric, const char *const *t_labels, int n_t_labels,
                 SummaryPlot *out, KopError *err);
/* The same with an output's figure options (NULL: the defaults): x by
 * depth, the band (se holds stderr, ci95 or nothing), fixed limits, the
 * colour map. */
int summary_plot_opts(const Summary *s, const char *metric, const char *const *t_labels, int n_t_labels,
                      const FigureOpts *fig, SummaryPlot *out, KopError *err);
void summary_plot_free(SummaryPlot *p);

#endif
