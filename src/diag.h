/* diag.h: diagnostics for user files (recipes, pipelines): locations,
 * line maps, caret rendering and error counting.
 *
 * A Diag is bound to one source text (the whole file, read once) and a name
 * to print for it.  Places in the text are KopLoc byte ranges [start, end):
 * cheap to carry on every token and AST node.  Lines and columns are worked
 * out only when something is reported, from a table of line starts built on
 * the first report (jq's locfile).  Columns are 1-based and count characters
 * (UTF-8 code points), so the caret lines up under non-ASCII text too.
 *
 * Every report has the form
 *
 *     FILE:LINE:COL: error: MESSAGE
 *      12 | block subjet -> last in layers[0..2]
 *         |       ^~~~~~
 *
 * ("warning:" for warnings).  Readers that only know a line and a column
 * (libyaml's marks) convert them with diag_loc_at().  Errors and warnings are
 * counted; after DIAG_MAX_PRINTED errors the rest are counted but not printed.
 * With out == NULL nothing is printed at all (the fuzzer, unit tests).
 *
 * Ownership: diag_new() copies nothing: name and text are borrowed and must
 * outlive the Diag.  diag_free() frees the Diag and its line table. */
#ifndef KOP_DIAG_H
#define KOP_DIAG_H

#include <stdio.h>
#include <stddef.h>
#include "util.h"

typedef struct KopLoc {
    int start, end; /* byte offsets into the source, end exclusive */
} KopLoc;

enum { DIAG_MAX_PRINTED = 25 };

typedef struct Diag Diag;

Diag *diag_new(const char *name, const char *text, size_t len, FILE *out);
void diag_free(Diag *d);

void diag_error(Diag *d, KopLoc loc, const char *fmt, ...) KOP_PRINTF(3, 4);
void diag_warning(Diag *d, KopLoc loc, const char *fmt, ...) KOP_PRINTF(3, 4);

int diag_errors(const Diag *d);
int diag_warnings(const Diag *d);

/* 1-based line and column (in characters) of a byte offset. */
void diag_line_col(Diag *d, int offset, int *line, int *col);
/* The 1-based line of loc.start ("the first on line N" in messages). */
int diag_line(Diag *d, KopLoc loc);
/* The zero-width location at 1-based LINE and COL (characters), clamped to
 * the text; for readers that report lines and columns. */
KopLoc diag_loc_at(Diag *d, int line, int col);

const char *diag_text(const Diag *d, size_t *len);

/* The edit distance-closest of N candidate names to WORD, or NULL when none
 * is close enough to be a likely typo; for "did you mean" hints. */
const char *diag_closest(const char *word, const char *const *names, int n);

#endif
