/* bench/scale.c: the paper sweep on model directories at the papers' scale
 * (bench/checkpoint writes them), with load time and peak memory.
 *
 *   bench/scale [--kop PATH] [--threads 1,2] [--prompts 8] [--tokens 12]
 *               [--mem-limit GB] DIR...
 *
 * For each DIR, one Markdown table row per thread count: seconds per prompt
 * of the sweep (the prompt loop only, without loading), achieved GFLOP/s of
 * the knocked runs (the executor's own count, as bench/sweep reports it)
 * against the BLIS sgemm peak measured at the start of the same run, the
 * load time and peak resident memory of that run, and the wall time and
 * peak resident memory of `kop info DIR`.
 *
 * The sweep is bench/sweep's: four statements (subject, relation, last,
 * first -> last) plus, on the SSMs, the two feature knockouts, each over
 * every layer with a centred window of 9, on N prompts of T random token ids
 * (under 50000, so the same ids on every published shape; tiny test shapes
 * take them modulo their vocabulary; subject at positions 2..4), given
 * inline as `prompt ids`, so no tokenizer is needed.
 *
 * Every measurement runs in a fresh process (this program started again with
 * --child, or the kop binary for `kop info`), so that its peak resident set
 * (getrusage of the waited child: the pages of the mapped weight files it
 * touched included) is its own and OpenMP and BLIS start clean.  The run's
 * child does what `kop run RECIPE --model DIR --threads N` does (model_load,
 * then run_recipe), timing the load apart.  Each child's address space is
 * limited to the machine's physical memory (--mem-limit GB to change it, 0
 * for none): a model that does not fit fails its row at once (kop reports
 * the failed allocation) instead of driving the node into swap or the OOM
 * killer. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch.h"
#include "model.h"
#include "random_model.h"
#include "run.h"

/* What a child printed on its stdout and how much memory it took. */
typedef struct {
    char out[4096];
    double wall;        /* seconds from fork to exit */
    double maxrss_gb;   /* peak resident set */
    int ok;
} Child;

/* The children's address space limit in bytes (0: none). */
static unsigned long long mem_limit;

/* Runs argv (argv[0] a path) with stdout into c->out; 0 when it exited 0. */
static int spawn(char *const *argv, Child *c)
{
    memset(c, 0, sizeof *c);
    int fd[2];
    if (pipe(fd) < 0) return -1;
    double t0 = kop_now();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        struct rlimit rl = {mem_limit, mem_limit};
        if (mem_limit && setrlimit(RLIMIT_AS, &rl) < 0) perror("setrlimit");
        execv(argv[0], argv);
        fprintf(stderr, "scale: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd[0], c->out + n, sizeof c->out - 1 - n)) > 0 || (k < 0 && errno == EINTR))
        if (k > 0) n += (size_t)k;
    c->out[n] = 0;
    close(fd[0]);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) return -1;
    c->wall = kop_now() - t0;
    c->maxrss_gb = (double)ru.ru_maxrss * 1024 / 1e9; /* Linux: kilobytes */
    c->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return c->ok ? 0 : -1;
}

// ---------------------------------------------------------------------------
// The children

static int child_sgemm(int threads)
{
    printf("%.3f\n", bench_sgemm_gflops(threads));
    return 0;
}

/* The recipe: bench/sweep's statements on n prompts of t random ids. */
static int write_recipe(const char *path, int n, int t, int vocab, int features)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "experiment \"bench-scale\"\n");
    unsigned long long s = 0x2545F4914F6CDD1Dull, below = vocab < 50000 ? (unsigned long long)vocab : 50000;
    for (int p = 0; p < n; p++) {
        fprintf(f, "prompt ids [");
        for (int i = 0; i < t; i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            fprintf(f, "%s%llu", i ? ", " : "", (s >> 20) % below);
        }
        fprintf(f, "] subject [2..4]\n");
    }
    bench_sweep_statements(f, features);
    return fclose(f);
}

/* Prints "load_s prompts runs seconds flops dtype". */
static int child_run(const char *dir, int threads, int n_prompts, int tokens)
{
    kop_tune_malloc(); /* as kop's main does */
    char tmp[] = "/tmp/kop-scale.XXXXXX";
    if (!mkdtemp(tmp)) { perror("mkdtemp"); return 2; }
    char recipe[256], out[256], cmd[300];
    snprintf(recipe, sizeof recipe, "%s/sweep.kop", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    KopError err = {0};
    Model m;
    double t0 = kop_now();
    if (model_load(&m, dir, &err) < 0) {
        fprintf(stderr, "scale: %s\n", err.msg);
        return 1;
    }
    double load = kop_now() - t0;
    if (write_recipe(recipe, n_prompts, tokens, m.cfg.vocab_size, model_n_features(&m.cfg) > 0)) { perror(recipe); return 2; }
    RunStats st = {0};
    RunOptions o = {.recipe_path = recipe, .model_dir = dir, .model = &m, .out_dir = out, .threads = threads,
                    .quiet = 1, .stats = &st};
    int rc = run_recipe(&o, &err);
    if (rc < 0) fprintf(stderr, "scale: %s\n", err.msg);
    else printf("%.3f %d %ld %.4f %.6g %s\n", load, st.prompts, st.runs, st.seconds, st.knock_flops, m.weight_dtype);
    model_free(&m);
    if (system(cmd) != 0) fprintf(stderr, "scale: could not remove %s\n", tmp);
    return rc < 0;
}

// ---------------------------------------------------------------------------
// The table

static void usage(void)
{
    fprintf(stderr, "usage: bench/scale [--kop PATH] [--threads 1,2] [--prompts 8] [--tokens 12] [--mem-limit GB] DIR...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--child-sgemm")) return child_sgemm(atoi(argv[2]));
    if (argc >= 6 && !strcmp(argv[1], "--child-run"))
        return child_run(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    int threads[8] = {1, 2}, nthreads = 2, n_prompts = 8, tokens = 12, first_dir = argc;
    char kop[4096], self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0) { perror("/proc/self/exe"); return 2; }
    mem_limit = (unsigned long long)sysconf(_SC_PHYS_PAGES) * (unsigned long long)sysconf(_SC_PAGESIZE);
    self[k] = 0;
    char here[4096];
    snprintf(here, sizeof here, "%s", self);
    snprintf(kop, sizeof kop, "%s/../kop", dirname(here)); /* bench/scale beside the build's kop */
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2)) { first_dir = i; break; }
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(argv[i - 1], "--threads")) nthreads = bench_parse_list(v, threads, 8);
        else if (!strcmp(argv[i - 1], "--prompts")) n_prompts = atoi(v);
        else if (!strcmp(argv[i - 1], "--tokens")) tokens = atoi(v);
        else if (!strcmp(argv[i - 1], "--kop")) snprintf(kop, sizeof kop, "%s", v);
        else if (!strcmp(argv[i - 1], "--mem-limit")) mem_limit = (unsigned long long)(atof(v) * 1e9);
        else usage();
    }
    if (first_dir >= argc || nthreads < 1 || n_prompts < 1 || tokens < 6) usage();
    if (access(kop, X_OK) < 0) {
        fprintf(stderr, "scale: no kop binary at %s (give --kop PATH)\n", kop);
        return 2;
    }

    for (int d = first_dir; d < argc; d++) { /* before a minute of measuring */
        char cfg[4200];
        snprintf(cfg, sizeof cfg, "%s/config.json", argv[d]);
        if (access(cfg, R_OK) < 0) {
            fprintf(stderr, "scale: %s: no config.json there (not a model directory)\n", argv[d]);
            return 2;
        }
    }

    double peak[8];
    for (int i = 0; i < nthreads; i++) {
        char t[16];
        snprintf(t, sizeof t, "%d", threads[i]);
        char *av[] = {self, "--child-sgemm", t, NULL};
        Child c;
        if (spawn(av, &c) < 0) { fprintf(stderr, "scale: the sgemm measurement failed\n"); return 1; }
        peak[i] = atof(c.out);
        printf("BLIS sgemm 1024^3, %d thread(s): %.1f GFLOP/s\n", threads[i], peak[i]);
    }
    printf("\n%d prompt%s of %d random token ids each\n\n", n_prompts, n_prompts == 1 ? "" : "s", tokens);
    printf("| shape | dtype | threads | s/prompt | GFLOP/s | %% sgemm peak | load s | peak RSS GB "
           "| kop info s | kop info RSS GB |\n|---|---|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    int failed = 0;
    for (int d = first_dir; d < argc; d++) {
        char *dir = argv[d], label[4096];
        snprintf(label, sizeof label, "%s", dir);
        char *name = basename(label);
        char *iav[] = {kop, "info", dir, NULL};
        Child info;
        if (spawn(iav, &info) < 0) {
            fprintf(stderr, "scale: kop info %s failed\n", dir);
            failed = 1;
            continue;
        }
        for (int i = 0; i < nthreads; i++) {
            char t[16], p[16], tk[16];
            snprintf(t, sizeof t, "%d", threads[i]);
            snprintf(p, sizeof p, "%d", n_prompts);
            snprintf(tk, sizeof tk, "%d", tokens);
            char *av[] = {self, "--child-run", dir, t, p, tk, NULL};
            Child c;
            double load = 0, secs = 0, flops = 0;
            int prompts = 0;
            long runs = 0;
            char dtype[16] = "?";
            if (spawn(av, &c) < 0
                || sscanf(c.out, "%lf %d %ld %lf %lf %15s", &load, &prompts, &runs, &secs, &flops, dtype) != 6
                || prompts < 1) {
                fprintf(stderr, "scale: the sweep on %s at %d thread(s) failed\n", dir, threads[i]);
                failed = 1;
                continue;
            }
            double per = secs / prompts, gf = flops / secs / 1e9;
            printf("| %s | %s | %d | %.3f | %.1f | %.0f %% | %.2f | %.2f | %.2f | %.2f |\n", name, dtype, threads[i],
                   per, gf, 100 * gf / peak[i], load, c.maxrss_gb, info.wall, info.maxrss_gb);
            fflush(stdout);
        }
    }
    return failed;
}
