/* bench/trace.c: the causal tracing engine (src/trace.c) on ROME's maps.
 *
 * For one random prompt per shape (random weights with real model shapes,
 * subject at positions 2..4, noise 3 std on the subject, N samples):
 *  - the residual map: `restore resid at tokens[t] in layer k` for every
 *    position t and layer k (ROME Fig. 1);
 *  - the window map: `restore mixer at tokens[t] in layers[k-5..k+4]`
 *    (GPT-2: mlp), every t and k.
 * Reports seconds per prompt (the clean and corrupted runs included),
 * GFLOP/s of the engine against the BLIS sgemm peak measured in the same
 * run, and the speedup over the definitional path (every run of every
 * sample a full forward), timed on a few runs of the map and scaled to all.
 *
 *   bench/trace [--tokens 12] [--samples 10] [--threads 2] [--naive-runs 6]
 *               [--shapes mamba-130m,mamba2-130m,gpt2-medium]
 */
#include <stdio.h>
#include <string.h>

#include "noise.h"
#include "random_model.h"
#include "trace.h"

typedef struct Map {
    TraceRun *runs;
    unsigned char *pos, *lay;
    int n;
} Map;

/* every position x every layer; window w (0: the layer alone) */
static Map map_new(int T, int L, Hook h, int before, int after)
{
    Map m = {kop_xmalloc(sizeof(TraceRun) * (size_t)T * L), kop_xcalloc((size_t)T * L, (size_t)T),
             kop_xcalloc((size_t)T * L, (size_t)L), T * L};
    for (int t = 0; t < T; t++)
        for (int k = 0; k < L; k++) {
            int r = t * L + k;
            unsigned char *p = m.pos + (size_t)r * T, *l = m.lay + (size_t)r * L;
            p[t] = 1;
            for (int j = k - before; j <= k + after; j++)
                if (j >= 0 && j < L) l[j] = 1;
            m.runs[r] = (TraceRun){.restore = {h, p, l}};
        }
    return m;
}

static void map_free(Map *m)
{
    free(m->runs); free(m->pos); free(m->lay);
}

int main(int argc, char **argv)
{
    int T = 12, N = 10, threads = 2, naive_runs = 6;
    char shapes[256] = "mamba-130m,mamba2-130m,gpt2-medium";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--tokens")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--samples")) N = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--naive-runs")) naive_runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--shapes")) snprintf(shapes, sizeof shapes, "%s", argv[i + 1]);
        else {
            fprintf(stderr, "usage: %s [--tokens T] [--samples N] [--threads n] [--naive-runs K] [--shapes a,b]\n",
                    argv[0]);
            return 2;
        }
    }
    if (T < 6 || N < 1 || threads < 1 || naive_runs < 1) {
        fprintf(stderr, "bench/trace: need --tokens >= 6, --samples, --threads and --naive-runs >= 1\n");
        return 2;
    }
    kop_tune_malloc();
    double peak = bench_sgemm_gflops(threads);
    printf("BLIS sgemm 1024^3, %d thread(s): %.1f GFLOP/s\n", threads, peak);
    printf("prompt of %d tokens, %d noise samples\n\n", T, N);
    printf("%-12s %-14s %5s %9s %8s %7s %11s %8s\n", "shape", "map", "runs", "s/prompt", "GFLOP/s", "%peak",
           "naive s/pr", "speedup");
    for (char *sh = strtok(shapes, ","); sh; sh = strtok(NULL, ",")) {
        Model m;
        if (random_model(&m, sh, 1) < 0) { fprintf(stderr, "unknown shape %s\n", sh); return 2; }
        bench_set_threads(threads);
        int L = m.cfg.n_layer, gpt2 = m.cfg.arch == ARCH_GPT2;
        int *ids = kop_xmalloc(sizeof(int) * (size_t)T);
        unsigned char *subj = kop_xcalloc((size_t)T, 1);
        for (int t = 0; t < T; t++) /* any fixed ids: the weights are random */
            ids[t] = (int)((1103515245u * (unsigned)(t + 7) + 12345u) % (unsigned)m.cfg.vocab_size);
        for (int t = 2; t <= 4; t++) subj[t] = 1;
        NoiseStd acc = {0};
        noise_std_add(&acc, &m, ids, T, subj);
        TraceCorruption cor = {.samples = N, .sigma = 3 * noise_std_value(&acc), .seed = 1, .prompt = 0, .pos = subj};
        Map maps[2] = {map_new(T, L, HOOK_RESID, 0, 0), map_new(T, L, gpt2 ? HOOK_MLP : HOOK_MIXER, 5, 4)};
        const char *names[2] = {"resid", gpt2 ? "mlp window 10" : "mixer window 10"};
        for (int k = 0; k < 2; k++) {
            Map *mp = &maps[k];
            KopError err = {0};
            double t0 = kop_now();
            TracePrompt *tp = trace_prompt_new(&m, ids, T, &cor, HOOK_BIT(mp->runs[0].restore.hook), 0, &err);
            if (!tp) { fprintf(stderr, "bench: %s\n", err.msg); return 1; }
            double *p = kop_xmalloc(sizeof(double) * (size_t)mp->n);
            if (trace_restore(tp, mp->runs, mp->n, &(TraceOut){.p_restored = p}, &err) < 0) {
                fprintf(stderr, "bench: %s\n", err.msg);
                return 1;
            }
            double sec = kop_now() - t0;
            double flops = trace_flops(tp, mp->runs, mp->n) + (N + 1) * model_forward_flops(&m.cfg, T, 1);
            /* the definitional path on naive_runs runs spread over the map */
            int nk = naive_runs < mp->n ? naive_runs : mp->n;
            TraceRun *sub = kop_xmalloc(sizeof(TraceRun) * (size_t)nk);
            for (int i = 0; i < nk; i++) sub[i] = mp->runs[(size_t)i * mp->n / nk];
            double t1 = kop_now();
            if (trace_restore_naive(tp, sub, nk, &(TraceOut){.p_restored = p}, &err) < 0) {
                fprintf(stderr, "bench: %s\n", err.msg);
                return 1;
            }
            double naive = (kop_now() - t1) / nk * mp->n;
            double gf = flops / sec / 1e9;
            printf("%-12s %-14s %5d %9.2f %8.1f %6.0f%% %11.1f %7.1fx\n", sh, names[k], mp->n, sec, gf, 100 * gf / peak,
                   naive, naive / sec);
            fflush(stdout);
            free(sub); free(p);
            trace_prompt_free(tp);
            map_free(mp);
        }
        free(ids); free(subj);
        random_model_free(&m);
    }
    return 0;
}
