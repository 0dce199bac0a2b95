/* bench/forward.c: prompt throughput of the forward pass on random weights
 * with real model shapes, at 1 and 2 threads (or the counts given), beside
 * the sgemm GFLOP/s BLIS reaches on this machine in the same run.
 *
 *   bench/forward [--threads 1,2] [--tokens 16,128] [--shapes mamba-130m,mamba2-130m,gpt2]
 *
 * Prints one table row per shape x prompt length x threads: tokens/s (whole
 * prompt at once, logits of the last position) and achieved GFLOP/s counted
 * by model_forward_flops(). */
#include <stdio.h>
#include <string.h>

#include "forward.h"
#include "random_model.h"




int main(int argc, char **argv)
{
    int threads[8] = {1, 2}, nthreads = 2, tokens[8] = {16, 128}, ntokens = 2;
    char shapes[256] = "mamba-130m,mamba2-130m,gpt2";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) nthreads = bench_parse_list(argv[i + 1], threads, 8);
        else if (!strcmp(argv[i], "--tokens")) ntokens = bench_parse_list(argv[i + 1], tokens, 8);
        else if (!strcmp(argv[i], "--shapes")) snprintf(shapes, sizeof shapes, "%s", argv[i + 1]);
        else { fprintf(stderr, "usage: %s [--threads 1,2] [--tokens 16,128] [--shapes a,b]\n", argv[0]); return 2; }
    }
    for (int i = 0; i < nthreads; i++)
        printf("BLIS sgemm 1024^3, %d thread(s): %.1f GFLOP/s\n", threads[i], bench_sgemm_gflops(threads[i]));
    printf("\n%-12s %6s %7s %12s %10s %9s\n", "shape", "tokens", "threads", "tokens/s", "GFLOP/s", "ms/prompt");
    for (char *sh = strtok(shapes, ","); sh; sh = strtok(NULL, ",")) {
        Model m;
        if (random_model(&m, sh, 1) < 0) { fprintf(stderr, "unknown shape %s\n", sh); return 2; }
        for (int ti = 0; ti < ntokens; ti++) {
            int T = tokens[ti];
            int *ids = kop_xmalloc(sizeof(int) * (size_t)T);
            for (int t = 0; t < T; t++) ids[t] = (t * 7919 + 13) % m.cfg.vocab_size;
            float *logits = kop_xmalloc(sizeof(float) * (size_t)m.cfg.vocab_size);
            ForwardReq req = {.ids = ids, .T = T, .logits = logits};
            for (int i = 0; i < nthreads; i++) {
                bench_set_threads(threads[i]);
                KopError err;
                model_forward(&m, &req, &err); /* warm-up */
                int reps = 0;
                double t0 = kop_now(), t;
                do {
                    model_forward(&m, &req, &err);
                    reps++;
                } while ((t = kop_now() - t0) < 2.0);
                double per = t / reps;
                printf("%-12s %6d %7d %12.0f %10.2f %9.1f\n", sh, T, threads[i], T / per,
                       model_forward_flops(&m.cfg, T, 1) / per / 1e9, per * 1e3);
                fflush(stdout);
            }
            free(ids);
            free(logits);
        }
        random_model_free(&m);
    }
    return 0;
}
