/* merge.h: the shards of one run (`kop run --shard I/N`, each in its own
 * folder) joined into the run's results: rows.csv, summary.csv and the
 * recipe's figures byte-identical to the same run in one piece, and a
 * manifest.  The shards' journals (journal.h) hold every value exactly and
 * the recipe's text; they must be the N shards of one complete run (the
 * same key), each given once. */
#ifndef KOP_MERGE_H
#define KOP_MERGE_H

#include <stdio.h>

#include "results.h"
#include "util.h"

/* Prompts of the parts of one run (shards, ranks) joined in list order. */
typedef struct Joined {
    PromptResult *v;       /* (n) */
    int n, cap;
} Joined;

/* Move the prompts part measured or skipped itself (mine) into j. */
void merge_take(Joined *j, Results *part);
/* Sort j by list position. */
void merge_order(Joined *j);
void merge_joined_free(Joined *j);

/* Join the n shard folders dirs into out; a closing line on log (or NULL).
 * 0, or -1 with err. */
int merge_run(const char *out, char *const *dirs, int n, FILE *log, KopError *err);

#endif
