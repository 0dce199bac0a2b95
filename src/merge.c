/* merge.c: `kop merge OUT DIR...`, the shards of one run joined (merge.h). */
#include "config.h"
#include "merge.h"

#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "check.h"
#include "diag.h"
#include "exec.h"
#include "journal.h"
#include "manifest.h"
#include "run.h"

static int by_index(const void *a_, const void *b_)
{
    const PromptResult *a = a_, *b = b_;
    return (a->index > b->index) - (a->index < b->index);
}

void merge_take(Joined *j, Results *part)
{
    for (int i = 0; i < part->n_prompts; i++) {
        if (!part->prompts[i].mine) continue;
        if (j->n == j->cap) j->v = kop_xrealloc(j->v, sizeof *j->v * (size_t)(j->cap = 2 * j->cap + 64));
        j->v[j->n++] = part->prompts[i];
        part->prompts[i].m = NULL; /* moved */
        part->prompts[i].labels = NULL;
        part->prompts[i].n_labels = 0;
    }
}

void merge_order(Joined *j)
{
    qsort(j->v, (size_t)j->n, sizeof *j->v, by_index);
}

void merge_joined_free(Joined *j)
{
    for (int i = 0; i < j->n; i++) free(j->v[i].m);
    free(j->v);
    memset(j, 0, sizeof *j);
}

/* Every shard's journal, checked to be the shards of one complete run;
 * their prompts measured (or skipped) into all, sorted by list position. */
static int read_shards(char *const *dirs, int n, JournalHead *h, Joined *all, Results *labels, KopError *err)
{
    unsigned char *seen = kop_xcalloc((size_t)n, 1);
    int status = 0;
    for (int d = 0; d < n && status == 0; d++) {
        char *path = kop_path_join(dirs[d], "journal.txt");
        JournalHead hd;
        Results r;
        results_init(&r, NULL, NULL, NULL);
        long rows_bytes, journal_bytes;
        int complete, rc = journal_read(path, EXEC_GROUP, &hd, &r, &rows_bytes, &journal_bytes, &complete, err);
        if (rc == 0) status = kop_fail(err, KOP_EXIT_DATA, "%s: no journal.txt: not the folder of a kop run", dirs[d]);
        else if (rc < 0) status = -1;
        else if (!complete)
            status = kop_fail(err, KOP_EXIT_DATA, "%s: shard %d of %d has not completed (run its command again to finish it)",
                              dirs[d], hd.shard, hd.n_shards);
        else if (hd.n_shards != n)
            status = kop_fail(err, KOP_EXIT_DATA, "%s is shard %d of %d, but %d folder%s given", dirs[d], hd.shard,
                              hd.n_shards, n, n == 1 ? " was" : "s were");
        else if (seen[hd.shard])
            status = kop_fail(err, KOP_EXIT_DATA, "%s: shard %d is given twice", dirs[d], hd.shard);
        else if (d > 0 && strcmp(hd.key, h->key))
            status = kop_fail(err, KOP_EXIT_DATA, "%s and %s are shards of different runs (recipe, model, prompts or options differ)",
                              dirs[0], dirs[d]);
        if (status == 0) {
            seen[hd.shard] = 1;
            merge_take(all, &r);
            if (!labels->t_labels && r.t_labels) {
                labels->t_labels = r.t_labels;
                labels->n_t_labels = r.n_t_labels;
                r.t_labels = NULL;
                r.n_t_labels = 0;
            }
        }
        results_free(&r);
        if (d == 0 && status == 0) *h = hd;
        else journal_head_free(&hd);
        free(path);
    }
    free(seen);
    if (status == 0) merge_order(all);
    return status;
}

static int write_rows(const char *out, const Results *res, KopError *err)
{
    char *path = kop_path_join(out, "rows.csv"), *tmp;
    FILE *f = kop_open_tmp(path, &tmp, err);
    int status = -1;
    if (f) {
        results_rows_header(f);
        for (int i = 0; i < res->n_prompts; i++)
            if (res->prompts[i].used) results_rows_write(f, res, &res->prompts[i]);
        status = kop_commit_tmp(f, tmp, path, err);
    }
    free(path);
    return status;
}

/* OUT/journal.txt of the whole run, complete: the merged folder is then
 * the folder of the same run in one piece (n_shards 1), so that running
 * its command there (a pipeline's, say) has nothing to do. */
static int write_journal(const char *out, const JournalHead *shard0, const Results *res, KopError *err)
{
    JournalHead h = *shard0;
    h.shard = 0;
    h.n_shards = 1;
    char *path = kop_path_join(out, "journal.txt");
    FILE *f = journal_create(path, &h, err);
    int status = f ? 0 : -1;
    if (f) {
        for (int i = 0; i < res->n_prompts; i++) journal_prompt(f, &res->prompts[i], 0);
        journal_labels(f, res->t_labels, res->n_t_labels);
        journal_complete(f);
        if (ferror(f)) status = kop_fail(err, KOP_EXIT_USAGE, "%s: write failed", path);
        if (fclose(f) != 0 && status == 0) status = kop_fail_errno(err, "%s: write failed", path);
    }
    free(path);
    return status;
}

int merge_run(const char *out, char *const *dirs, int n, FILE *log, KopError *err)
{
    JournalHead h = {0};
    Joined all = {0};
    Results res = {0}, labels = {0};
    if (read_shards(dirs, n, &h, &all, &labels, err) < 0) {
        merge_joined_free(&all);
        results_free(&labels);
        journal_head_free(&h);
        return -1;
    }
    /* the recipe as the shards compiled it, for its statements and outputs */
    const char *text = h.recipe_text ? h.recipe_text : "";
    KopArena *ar = arena_new();
    Diag *d = diag_new(h.recipe_path ? h.recipe_path : "recipe", text, strlen(text), stderr);
    CheckOptions copt = {.path = h.recipe_path, .arch = h.arch ? arch_from_name(h.arch) : 0, .model_name = h.model_name};
    const Recipe *r = kop_compile(&copt, h.n_layer, d, ar);
    int status = 0;
    Manifest man = {0};
    Model model = {0};
    if (!r) status = kop_fail(err, KOP_EXIT_DATA, "%s: the shards' recipe no longer compiles", dirs[0]);
    if (status == 0) status = kop_make_dirs(out, err);
    if (status == 0) {
        results_init(&res, r, h.experiment, h.model_name);
        for (int i = 0; i < all.n; i++) results_add(&res, &all.v[i]);
        results_finish(&res);
        res.t_labels = labels.t_labels;
        res.n_t_labels = labels.n_t_labels;
        labels.t_labels = NULL;
        labels.n_t_labels = 0;
        status = write_rows(out, &res, err);
    }
    if (status == 0) status = run_outputs(r, &res, out, err);
    if (status == 0) status = write_journal(out, &h, &res, err);
    if (status == 0) {
        /* the model as config.json says, when its folder is still there */
        if (config_load(&model.cfg, h.model_dir, NULL) < 0) {
            model.cfg.arch = copt.arch;
            model.cfg.n_layer = h.n_layer;
        }
        snprintf(model.weight_dtype, sizeof model.weight_dtype, "?");
        manifest_init(&man, h.recipe_path, text, h.model_dir, h.model_name, &model, 0);
        man.experiment = h.experiment;
        man.n_shards = n;
        man.shard = -1;
        man.n_used = res.n_used;
        man.n_seen = all.n ? res.prompts[res.n_prompts - 1].index + 1 : 0;
        for (int i = 0; i < res.n_prompts; i++)
            if (!res.prompts[i].used) {
                char *line = kop_strf("prompt %d: %s", res.prompts[i].index, res.prompts[i].reason);
                manifest_skip_line(&man, line);
                free(line);
            }
        man.complete = 1;
        char *path = kop_path_join(out, "manifest.yaml");
        status = manifest_write(path, &man, err);
        free(path);
    }
    if (status == 0 && log)
        fprintf(log, "%s on %s: %d shards merged, %d prompt%s measured, %d statement%s x sweep points. Results in %s/\n",
                h.experiment, h.model_name, n, res.n_used, res.n_used == 1 ? "" : "s", res.n_acc,
                res.n_acc == 1 ? "" : "s", out);
    manifest_free(&man);
    results_free(&res);
    results_free(&labels);
    free(all.v); /* each prompt's measures moved into res */
    diag_free(d);
    arena_free(ar);
    journal_head_free(&h);
    return status;
}
