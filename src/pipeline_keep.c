/* pipeline_keep.c: `keep: correct on all`, the Mamba Knockout paper's
 * prompt set: the prompts that every model of the study answers correctly,
 * so that curves of different models average over the same facts.
 *
 * Before any recipe runs, each model's clean forward runs on the pipeline's
 * prompts (run_clean); a prompt is correct on a model when its clean top-1
 * token is the first token of the record's answer (as `keep correct` decides
 * it).  The kept prompts are those correct on every model; every recipe then
 * measures only them (RunOptions.keep), reads every prompt all the same (so
 * each run's clean.csv shows what each model answers), and records the kept
 * ids in its manifest.  OUTPUT/prompts.csv lists every prompt: its place,
 * id, text, whether each model answers it correctly, and whether it is
 * kept. */
#include "config.h"
#include "pipeline.h"

#include <string.h>

#include "results.h"
#include "run.h"

int pipelinep_keep_all(const Pipeline *p, const char *out, int threads, int quiet, FILE *log, unsigned char **keep,
                       int *n_keep, KopError *err)
{
    int n = -1, status = 0;
    unsigned char *kept = NULL, **correct = kop_xcalloc((size_t)p->n_models, sizeof *correct);
    char **texts = NULL;
    long *ids = NULL;
    for (int m = 0; m < p->n_models && status == 0; m++) {
        const PipeModel *pm = &p->models[m];
        Model model;
        if (model_load(&model, pm->dir, err) < 0) {
            status = -1;
            break;
        }
        Results res;
        char **t = NULL;
        status = run_clean(&model, pm->dir, pm->tokenizer, p->prompts, threads, quiet, &res, &t, err);
        if (status == 0) {
            if (n < 0) {
                n = res.n_prompts;
                kept = kop_xmalloc((size_t)(n ? n : 1));
                memset(kept, 1, (size_t)(n ? n : 1));
                ids = kop_xmalloc(sizeof *ids * (size_t)(n ? n : 1));
                texts = t;
                t = NULL;
            }
            correct[m] = kop_xcalloc((size_t)(n ? n : 1), 1);
            for (int i = 0; i < res.n_prompts && i < n; i++) {
                const PromptResult *q = &res.prompts[i];
                correct[m][i] = q->clean && q->answer >= 0 && q->top1 == q->answer;
                kept[i] &= correct[m][i];
                ids[i] = q->id;
            }
            int right = 0;
            for (int i = 0; i < n; i++) right += correct[m][i];
            if (log) fprintf(log, "%s answers %d of %d prompts correctly\n", pm->name, right, n);
        }
        if (t) {
            for (int i = 0; i < n; i++) free(t[i]);
            free(t);
        }
        results_free(&res);
        model_free(&model);
    }
    if (status == 0) { /* OUTPUT/prompts.csv */
        KopBuf b = {0};
        kop_buf_addf(&b, "prompt,id,text");
        for (int m = 0; m < p->n_models; m++) kop_buf_addf(&b, ",correct_%s", p->models[m].name);
        kop_buf_addf(&b, ",kept\n");
        int n_kept = 0;
        for (int i = 0; i < n; i++) {
            kop_buf_addf(&b, "%d,%ld,", i, ids[i]);
            const char *s = texts[i] ? texts[i] : "";
            int quote = strpbrk(s, ",\"\r\n") != NULL;
            if (quote) kop_buf_add(&b, "\"", 1);
            for (; *s; s++) {
                if (*s == '"' && quote) kop_buf_add(&b, "\"", 1);
                kop_buf_add(&b, s, 1);
            }
            if (quote) kop_buf_add(&b, "\"", 1);
            for (int m = 0; m < p->n_models; m++) kop_buf_addf(&b, ",%d", correct[m][i]);
            kop_buf_addf(&b, ",%d\n", kept[i]);
            n_kept += kept[i];
        }
        char *path = kop_path_join(out, "prompts.csv");
        status = kop_make_dirs(out, err);
        if (status == 0) status = kop_write_file(path, b.s ? b.s : "", b.n, err);
        free(path);
        free(b.s);
        if (status == 0 && n_kept == 0)
            status = kop_fail(err, KOP_EXIT_DATA, "%s: no prompt is answered correctly by every model (see %s/prompts.csv)",
                              p->path, out);
        if (status == 0 && log) fprintf(log, "keep correct on all: %d of %d prompts\n", n_kept, n);
    }
    for (int m = 0; m < p->n_models; m++) free(correct[m]);
    free(correct);
    for (int i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
    free(ids);
    if (status < 0) {
        free(kept);
        return -1;
    }
    *keep = kept;
    *n_keep = n;
    return 0;
}
