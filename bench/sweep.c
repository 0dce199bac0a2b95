/* bench/sweep.c: the executor on the Mamba Knockout paper's flow sweep.
 *
 * The six statements of LANGUAGE.md's example (four for the transformers,
 * which have no SSM features), each swept over every layer with a centred window of 9, for
 * the first N prompts of known_1000.json tokenized with the real GPT-NeoX
 * (Mamba) or GPT-2 tokenizer, on random weights with real model shapes.
 * Reports seconds per prompt, knocked forwards per second, achieved GFLOP/s
 * against the BLIS sgemm peak measured in the same run, and the speedup over
 * the same executor with the cached prefix and row recompute turned off
 * (one full forward per knocked run, measured on a few prompts: by default
 * eight, two of the executor's groups of four, so that both threads of a
 * two-core machine have one, as they do in the cached measurement).
 *
 *   bench/sweep [--prompts 64] [--naive-prompts 8] [--threads 1,2]
 *               [--shapes mamba-130m,mamba2-130m,gpt2-medium] [--shared DIR]
 * (--shapes llama-3.2-1b adds the Llama-3.2-1B row; it needs about 6 GB.)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "run.h"
#include "random_model.h"



static int write_recipe(const char *path, const char *shared, int n_prompts, int features)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "experiment \"bench-sweep\"\nprompts counterfact \"%s/data/known_1000.json\"\nlimit %d\n", shared, n_prompts);
    bench_sweep_statements(f, features);
    return fclose(f);
}

int main(int argc, char **argv)
{
    int threads[8] = {1, 2}, nthreads = 2, n_prompts = 64, naive_prompts = 8;
    char shapes[256] = "mamba-130m,mamba2-130m,gpt2-medium";
    const char *shared = getenv("KOP_SHARED") ? getenv("KOP_SHARED") : "../shared";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) nthreads = bench_parse_list(argv[i + 1], threads, 8);
        else if (!strcmp(argv[i], "--prompts")) n_prompts = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--naive-prompts")) naive_prompts = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--shapes")) snprintf(shapes, sizeof shapes, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--shared")) shared = argv[i + 1];
        else {
            fprintf(stderr, "usage: %s [--prompts N] [--naive-prompts N] [--threads 1,2] [--shapes a,b] [--shared DIR]\n", argv[0]);
            return 2;
        }
    }
    kop_tune_malloc();
    char dir[] = "/tmp/kop-bench-sweep.XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    char recipe[256], naive_recipe[256], out[256], tok[1024];
    double peak[8];
    for (int i = 0; i < nthreads; i++) {
        peak[i] = bench_sgemm_gflops(threads[i]);
        printf("BLIS sgemm 1024^3, %d thread(s): %.1f GFLOP/s\n", threads[i], peak[i]);
    }
    printf("\n%-12s %3s %7s %6s %9s %10s %8s %7s %11s %8s %10s\n", "shape", "thr", "prompts", "runs", "s/prompt",
           "knocked/s", "GFLOP/s", "%peak", "naive s/pr", "speedup", "672 prompts");
    for (char *sh = strtok(shapes, ","); sh; sh = strtok(NULL, ",")) {
        Model m;
        if (random_model(&m, sh, 1) < 0) { fprintf(stderr, "unknown shape %s\n", sh); return 2; }
        /* GPT-2's tokenizer for GPT-2, GPT-NeoX's for the rest (its ids fit
         * Llama-3's vocabulary; the cost does not depend on which ids) */
        int gpt2 = m.cfg.arch == ARCH_GPT2, ssm = model_n_features(&m.cfg) > 0;
        if (gpt2) snprintf(tok, sizeof tok, "%s/tokenizers/gpt2", shared);
        else snprintf(tok, sizeof tok, "%s/tokenizers/gpt-neox-20b/tokenizer.json", shared);
        snprintf(recipe, sizeof recipe, "%s/sweep.kop", dir);
        snprintf(naive_recipe, sizeof naive_recipe, "%s/naive.kop", dir);
        snprintf(out, sizeof out, "%s/out", dir);
        if (write_recipe(recipe, shared, n_prompts, ssm) || write_recipe(naive_recipe, shared, naive_prompts, ssm)) {
            perror(recipe);
            return 2;
        }
        RunStats naive = {0};
        if (naive_prompts > 0) { /* at the largest thread count */
            RunOptions o = {.recipe_path = naive_recipe, .model_dir = sh, .model = &m, .tokenizer = tok, .out_dir = out,
                            .threads = threads[nthreads - 1], .quiet = 1, .naive = 1, .stats = &naive, .restart = 1};
            KopError err = {0};
            if (run_recipe(&o, &err) < 0) { fprintf(stderr, "bench: %s\n", err.msg); return 1; }
        }
        for (int i = 0; i < nthreads; i++) {
            RunStats st = {0};
            RunOptions o = {.recipe_path = recipe, .model_dir = sh, .model = &m, .tokenizer = tok, .out_dir = out,
                            .threads = threads[i], .quiet = 1, .stats = &st, .restart = 1};
            KopError err = {0};
            if (run_recipe(&o, &err) < 0) { fprintf(stderr, "bench: %s\n", err.msg); return 1; }
            double per = st.seconds / st.prompts, gf = st.knock_flops / st.seconds / 1e9;
            double nper = naive.prompts ? naive.seconds / naive.prompts : 0;
            printf("%-12s %3d %7d %6ld %9.3f %10.0f %8.1f %6.0f%% %11.2f %7.0fx %9.0f s\n", sh, threads[i], st.prompts,
                   st.runs / (st.prompts ? st.prompts : 1), per, st.runs / st.seconds, gf, 100 * gf / peak[i],
                   nper, nper > 0 ? nper / per : 0, 672 * per);
            fflush(stdout);
        }
        random_model_free(&m);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}
