/* cli_run.c: `kop run FILE.kop --model DIR [--out DIR] [--threads N] [--quiet]`,
 * and `kop run PIPELINE.yaml [--set NAME=VALUE]... [--out DIR] [--threads N]
 * [--quiet]` (src/pipeline.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exec.h"
#include "pipeline.h"

/* Every model x recipe of a pipeline, with the --set values. */
static int run_pipeline(const RunOptions *o, const char *const *sets, int n_sets)
{
    KopError err = {0};
    int rc = 0;
    Pipeline *p = pipeline_load(o->recipe_path, sets, n_sets, stderr, &err);
    PipelineRunOptions po = {.out_dir = o->out_dir, .threads = o->threads, .quiet = o->quiet, .log = stdout,
                             .max_tokens = o->max_tokens};
    if (!p || pipeline_run(p, &po, &err) < 0) rc = cli_report(&err);
    pipeline_free(p);
    return rc;
}

/* The options into o and the --set values into sets; 0 or a usage status. */
static int parse_args(int argc, char **argv, RunOptions *o, const char **sets, int *n_sets)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model") && i + 1 < argc) o->model_dir = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) o->out_dir = argv[++i];
        else if (!strcmp(a, "--name") && i + 1 < argc) {
            o->model_label = argv[++i];
            if (!kop_folder_name_ok(o->model_label)) /* it names a folder of results/EXPERIMENT/ */
                return cli_usage("run", "--name takes one folder name (not empty, '.' or '..', no '/'), got '%s'",
                                 o->model_label);
        }
        else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 4096) return cli_usage("run", "--threads takes a positive number, got '%s'", argv[i]);
            o->threads = (int)n;
        } else if (!strcmp(a, "--max-tokens") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > (1L << 30))
                return cli_usage("run", "--max-tokens takes a positive number of tokens, got '%s'", argv[i]);
            o->max_tokens = n;
        } else if (!strcmp(a, "--set") && i + 1 < argc) {
            KopError err = {0};
            if (pipeline_check_set(argv[++i], &err) < 0) return cli_usage("run", "%s", err.msg);
            sets[(*n_sets)++] = argv[i];
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) o->quiet = 1;
        else if (a[0] == '-') return cli_usage("run", "unknown option '%s'", a);
        else if (!o->recipe_path) o->recipe_path = a;
        else return cli_usage("run", "unexpected argument '%s'", a);
    }
    return 0;
}

/* A pipeline, or one recipe on one model. */
static int run(const RunOptions *o, const char *const *sets, int n_sets)
{
    if (o->recipe_path && pipeline_is_file(o->recipe_path)) {
        if (o->model_dir || o->model_label)
            return cli_usage("run", "a pipeline names its own models: --model and --name are for .kop recipes");
        return run_pipeline(o, sets, n_sets);
    }
    if (n_sets) return cli_usage("run", "--set is for pipelines (PIPELINE.yaml), not recipes");
    if (!o->recipe_path || !o->model_dir)
        return cli_usage("run", "usage: kop run FILE.kop --model DIR [--out DIR] [--name NAME] [--threads N] [--max-tokens N] [--quiet]\n"
                                "   or: kop run PIPELINE.yaml [--set NAME=VALUE]... [--out DIR] [--threads N] [--max-tokens N] [--quiet]");
    KopError err = {0};
    if (exec_run(o, &err) < 0) return cli_report(&err);
    return 0;
}

int cli_run(int argc, char **argv)
{
    RunOptions o = {.log = stdout};
    const char **sets = kop_xcalloc((size_t)argc, sizeof *sets);
    int n_sets = 0;
    int rc = parse_args(argc, argv, &o, sets, &n_sets);
    if (!rc) rc = run(&o, sets, n_sets);
    free(sets);
    return rc;
}
