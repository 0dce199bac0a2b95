/* bench/tokenize.c: how long loading the tokenizers and tokenizing the 1,209
 * known_1000.json prompts take.  Not run by make check.
 *
 * usage: bench/tokenize [SHARED_DIR]    (default $KOP_SHARED, else ../shared)
 * Prints the best and median of several runs of each step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompts.h"
#include "tokenizer.h"

enum { RUNS = 15 };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n, const char *extra)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("%-44s best %8.2f ms   median %8.2f ms%s\n", what, 1e3 * t[0], 1e3 * t[n / 2], extra);
}

int main(int argc, char **argv)
{
    const char *shared = argc > 1 ? argv[1] : getenv("KOP_SHARED") ? getenv("KOP_SHARED") : "../shared";
    static const char *const names[2] = {"gpt-neox-20b", "gpt2"};
    char path[4096], line[160], extra[96];
    double t[RUNS];
    KopError err;

    snprintf(path, sizeof path, "%s/data/known_1000.json", shared);
    PromptSet *ps = NULL;
    for (int r = 0; r < RUNS; r++) {
        prompts_free(ps);
        double t0 = kop_now();
        ps = prompts_load(path, &err);
        t[r] = kop_now() - t0;
        if (!ps) { fprintf(stderr, "bench: %s\n", err.msg); return 1; }
    }
    report("load known_1000.json (1,209 records)", t, RUNS, "");

    for (int w = 0; w < 2; w++) {
        snprintf(path, sizeof path, "%s/tokenizers/%s", shared, names[w]);
        Tokenizer *tok = NULL;
        for (int r = 0; r < RUNS; r++) {
            tokenizer_free(tok);
            double t0 = kop_now();
            tok = tokenizer_load(path, &err);
            t[r] = kop_now() - t0;
            if (!tok) { fprintf(stderr, "bench: %s\n", err.msg); return 1; }
        }
        snprintf(line, sizeof line, "load %s (%s)", names[w], w ? "vocab.json + merges.txt" : "tokenizer.json");
        report(line, t, RUNS, "");

        long tokens = 0;
        size_t bytes = 0;
        for (int r = 0; r < RUNS; r++) {
            tokens = 0;
            bytes = 0;
            double t0 = kop_now();
            for (int i = 0; i < ps->n; i++) {
                int *ids, first, last;
                int n = prompt_tokenize(&ps->v[i], tok, &ids, &first, &last, &err);
                if (n < 0) { fprintf(stderr, "bench: %s\n", err.msg); return 1; }
                tokens += n;
                bytes += ps->v[i].text_len;
                free(ids);
            }
            t[r] = kop_now() - t0;
        }
        snprintf(line, sizeof line, "encode 1,209 prompts + subjects, %s", names[w]);
        qsort(t, RUNS, sizeof *t, cmp_double);
        snprintf(extra, sizeof extra, "   (%ld tokens, %.2f us/prompt, %.1f MB/s)", tokens, 1e6 * t[0] / ps->n,
                 (double)bytes / t[0] / 1e6);
        report(line, t, RUNS, extra);
        tokenizer_free(tok);
    }
    prompts_free(ps);
    return 0;
}
