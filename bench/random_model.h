/* random_model.h: a Model with the shapes of a real checkpoint and random
 * weights, made in memory, for benchmarks (no files, no downloads).
 * Shapes: "mamba-130m", "mamba2-130m", "gpt2" (124M), "gpt2-medium",
 * "llama-3.2-1b" (GQA, llama3 rope scaling, tied; about 5 GB of fp32). */
#ifndef KOP_BENCH_RANDOM_MODEL_H
#define KOP_BENCH_RANDOM_MODEL_H

#include <stdio.h>

#include "model.h"

/* Returns 0, or -1 for an unknown shape name.  Free with random_model_free. */
int random_model(Model *m, const char *shape, unsigned seed);
void random_model_free(Model *m);

/* Shared by the benchmarks: "1,2,4" -> out (at most max); the sgemm GFLOP/s
 * BLIS reaches on 1024^3 with n threads, timed for about a second. */
int bench_parse_list(const char *s, int *out, int max);
/* OpenMP and BLIS both at n threads. */
void bench_set_threads(int n);
double bench_sgemm_gflops(int threads);
/* The paper sweep's statements (bench/sweep, bench/scale): four groups
 * -> last in windows of 9, with FEATURES the two feature knockouts, and
 * the measure. */
void bench_sweep_statements(FILE *f, int features);

#endif
