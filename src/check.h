/* check.h: the semantic pass over a parsed recipe.
 *
 * kop_check() walks the statements once, resolves every name (statement
 * arguments, token groups, metrics, output kinds, feature selections, sweep
 * variables) and reports what is wrong through src/diag.h at the node's own
 * location, suggesting the closest known name where a typo is likely.  It
 * does not stop at the first error.  What it checks without a model:
 *  - each name is one the language knows, in a place where it is allowed
 *    (`k` and `L` only in layers and the k sweep, `t` only in token indices);
 *  - single statements (experiment, keep, limit, target, measure, corrupt,
 *    aggregate) appear at most once, each variable is swept at most once,
 *    output paths differ;
 *  - inline prompts are consistent (the subject occurs in the text, the
 *    subject range lies inside the ids) and carry an answer when
 *    `keep correct` or `target attribute` needs one;
 *  - the recipe has prompts and is either a knockout (at least one block)
 *    or a causal trace (one corrupt, at least one restore, no block);
 *    `recovered` is measured only by traces, which default to prob_diff;
 *  - a corruption's options fit it (noise: a level > 0, 1 to 1000000
 *    samples; swap: the subject, no options) and its group does not use t;
 *  - optionally, that prompt files exist (relative to the recipe's folder).
 * With an architecture it also rejects `features` on a transformer and a
 * hook the architecture lacks (src/hooks.h), naming the model.  Layer
 * ranges need the layer count: see plan_build().
 *
 * Errors already counted in the Diag are taken for the parse's: the checks
 * of single statements still run (more errors in one run), the ones about
 * the whole file do not (a statement lost to a syntax error would make them
 * wrong), and the result is NULL. */
#ifndef KOP_CHECK_H
#define KOP_CHECK_H

#include "plan.h"

typedef struct CheckOptions {
    const char *path;        /* the recipe file: experiment default, base folder */
    Arch arch;               /* 0 when unknown */
    const char *model_name;  /* for messages; NULL: "the model" */
    int check_files;         /* report prompt files that cannot be opened */
} CheckOptions;

/* The compiled recipe (without its plan), or NULL after errors. */
Recipe *kop_check(const Ast *stmts, const CheckOptions *opt, Diag *d, KopArena *ar);

/* The whole front end in one call, for kop check, the executor and the
 * fuzzer: check STMTS (parsed from D's text; syntax errors already counted
 * in D make the result NULL) and, when n_layers > 0, build the plan.  The
 * Recipe, or NULL after errors. */
Recipe *kop_compile_ast(const Ast *stmts, const CheckOptions *opt, int n_layers, Diag *d, KopArena *ar);
/* The ids of an ids file (one non-negative integer a line; blank lines and
 * '#' comments skipped) into a new array *ids: their count, or -1 with err
 * naming FILE:LINE (status KOP_EXIT_USAGE when it cannot be read). */
int check_read_ids(const char *path, long **ids, KopError *err);

/* The same from the text D was made for. */
Recipe *kop_compile(const CheckOptions *opt, int n_layers, Diag *d, KopArena *ar);


#endif
