/* journal.h: a run's progress, exactly, for resuming it and merging shards.
 *
 * Beside rows.csv, `kop run` appends every prompt it has finished to
 * OUT/journal.txt: the prompt's index, whether it was measured or skipped
 * (with the reason), its target and clean probability, and every value
 * measured, as C99 hexadecimal floats, so that what is read back is
 * bit-for-bit what was computed; and the length rows.csv had after the
 * prompt's rows.  A prompt is in the journal once its end line is; a kill
 * leaves at most a partial last prompt, which reading drops.
 *
 *   kop-journal 3           (older versions are not read)
 *   key HEX                 what must match to resume (journal_key)
 *   shard I N
 *   run NAME VALUE          the recipe, model and labels kop merge needs
 *   P index mine used T target p_clean p_base n clean top1 answer p_answer rank reason
 *   M item t metric p_after value  (n of them; metric: index in the recipe's list)
 *   E index rows_bytes
 *   L label                 a token label of tokens[t] rows (one per position)
 *   C                       the run completed
 *
 * Text fields are written with journal_escape (no spaces, no line breaks). */
#ifndef KOP_JOURNAL_H
#define KOP_JOURNAL_H

#include <stdio.h>

#include "results.h"

typedef struct JournalHead {
    char key[65];          /* hex SHA-256 of what the run depends on */
    int shard, n_shards;
    /* what kop merge needs to write the whole run: */
    char *recipe_path, *recipe_text, *model_dir, *model_name, *arch, *experiment;
    int n_layer;
} JournalHead;

/* Start OUT/journal.txt afresh with its header. */
FILE *journal_create(const char *path, const JournalHead *h, KopError *err);
/* The header alone, on any stream (ranks send prompts as journal text). */
void journal_head(FILE *f, const JournalHead *h);
/* Append one finished prompt; rows_bytes: rows.csv's length after its rows. */
void journal_prompt(FILE *f, const PromptResult *p, long rows_bytes);
void journal_complete(FILE *f);

/* Read a journal: its header and the prompts of every whole group of
 * `group` list positions into res (results_add, in order; a group a kill
 * cut short is computed again), with rows.csv's and the journal's own
 * length after the last of them, and whether the run completed (then every
 * prompt is taken).  1 when read, 0 when there is no journal, -1 with err
 * when it is not one. */
int journal_read(const char *path, int group, JournalHead *h, Results *res, long *rows_bytes, long *journal_bytes,
                 int *complete, KopError *err);
/* journal_read on an open stream, named path in messages. */
int journal_read_stream(FILE *f, const char *path, int group, JournalHead *h, Results *res, long *rows_bytes,
                        long *journal_bytes, int *complete, KopError *err);
/* A complete journal held in memory (len bytes of text), every prompt in
 * it into res: 1, or -1 with err (named name) when it is not one. */
int journal_read_text(const char *text, size_t len, const char *name, JournalHead *h, Results *res, KopError *err);
/* The token labels of tokens[t] rows, before the run's completion. */
void journal_labels(FILE *f, char *const *labels, int n);
void journal_head_free(JournalHead *h);

#endif
