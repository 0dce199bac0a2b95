/* manifest.h: manifest.yaml, the record of how a run's results were made:
 * kop's version and build, the recipe's text, the model (folder, shapes,
 * SHA-256 and text of config.json), threads, the prompts measured and every
 * prompt skipped with its reason, timings, and whether the run completed.
 * Written with libyaml's emitter (so any text is quoted correctly), under a
 * temporary name and renamed. */
#ifndef KOP_MANIFEST_H
#define KOP_MANIFEST_H

#include "model.h"
#include "prompts.h"

typedef struct Manifest {
    const char *recipe_path, *recipe_text, *experiment;
    const char *model_dir, *model_name;
    const Model *model;
    char *config_text;       /* config.json as read, or NULL */
    char config_sha256[65];
    int threads;
    long max_tokens;         /* the prompt-length cap in force */
    int n_used, n_seen, n_skipped;
    int n_resumed;           /* prompts taken from an interrupted start of the same run */
    int shard, n_shards;     /* this run is shard `shard` of n_shards (n_shards 1: the whole run) */
    int ranks;               /* MPI ranks that computed it (ranks.h); 0 or 1: one process */
    char **skipped;          /* (n_skipped) "FILE: record N: reason" */
    const long *kept_ids;    /* a pipeline's chosen prompts (n_kept_ids; -1: none chosen), borrowed */
    int n_kept_ids;
    const char *kept_by;     /* what chose them */
    double wall_seconds;
    char started[32];        /* ISO 8601, UTC */
    int complete;
} Manifest;

void manifest_init(Manifest *man, const char *recipe_path, const char *recipe_text, const char *model_dir,
                   const char *model_name, const Model *m, int threads);
/* Record a prompt skipped during the run, or a line already formatted. */
void manifest_skip(Manifest *man, const Prompt *p, const char *reason);
void manifest_skip_line(Manifest *man, const char *line);
int manifest_write(const char *path, const Manifest *man, KopError *err);
void manifest_free(Manifest *man);

#endif
