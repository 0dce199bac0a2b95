/* cli_run.c: `kop run FILE.kop --model DIR [--out DIR] [--threads N] [--quiet]`,
 * and `kop run PIPELINE.yaml [--set NAME=VALUE]... [--out DIR] [--threads N]
 * [--quiet]` (src/pipeline.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "run.h"
#include "pipeline.h"

/* Every model x recipe of a pipeline, with the --set values. */
static int run_pipeline(const RunOptions *o, const char *const *sets, int n_sets)
{
    KopError err = {0};
    int rc = 0;
    Pipeline *p = pipeline_load(o->recipe_path, sets, n_sets, stderr, &err);
    PipelineRunOptions po = {.out_dir = o->out_dir, .threads = o->threads, .quiet = o->quiet, .log = stdout};
    if (!p || pipeline_run(p, &po, &err) < 0) rc = cli_report(&err);
    pipeline_free(p);
    return rc;
}

enum { OPT_MODEL, OPT_OUT, OPT_NAME, OPT_THREADS, OPT_SET, OPT_QUIET };
static const CliOption options[] = {
    [OPT_MODEL] = {"model", 0, "DIR", "the model folder (Hugging Face layout); for a .kop recipe"},
    [OPT_OUT] = {"out", 0, "DIR", "write the results in DIR (default: see below)"},
    [OPT_NAME] = {"name", 0, "NAME", "the model's name in the results (default: DIR's last part)"},
    [OPT_THREADS] = {"threads", 0, "N", "use N threads (default: OMP_NUM_THREADS, else every core)"},
    [OPT_SET] = {"set", 0, "VAR=VALUE", "give a pipeline's ${VAR} a value (beats the environment)"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "no progress bar and no log lines"},
    {0},
};

/* The options into o and the --set values into sets; 0 or a usage status. */
static int parse_args(const CliArg *args, int n, RunOptions *o, const char **sets, int *n_sets)
{
    for (int i = 0; i < n; i++) {
        const char *v = args[i].value;
        switch (args[i].opt) {
        case OPT_MODEL: o->model_dir = v; break;
        case OPT_OUT: o->out_dir = v; break;
        case OPT_NAME: o->model_label = v; break;
        case OPT_THREADS: {
            char *end;
            long t = strtol(v, &end, 10);
            if (end == v || *end || t < 1 || t > 4096)
                return cli_usage("run", "--threads takes a number from 1 to 4096, got '%s'", v);
            o->threads = (int)t;
            break;
        }
        case OPT_SET: {
            KopError err = {0};
            if (pipeline_check_set(v, &err) < 0) return cli_usage("run", "%s", err.msg);
            sets[(*n_sets)++] = v;
            break;
        }
        case OPT_QUIET: o->quiet = 1; break;
        default:
            if (o->recipe_path) return cli_usage("run", "unexpected argument '%s' (one recipe or pipeline at a time)", v);
            o->recipe_path = v;
        }
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
    if (!o->recipe_path) return cli_usage("run", "expected a recipe (FILE.kop) or a pipeline (PIPELINE.yaml)");
    if (!o->model_dir) return cli_usage("run", "a recipe runs on a model: give --model DIR");
    KopError err = {0};
    if (run_recipe(o, &err) < 0) return cli_report(&err);
    return 0;
}

static int run_main(const CliArg *args, int n)
{
    RunOptions o = {.log = stdout};
    const char **sets = kop_xcalloc((size_t)n + 1, sizeof *sets);
    char *found = NULL;
    int n_sets = 0;
    int rc = parse_args(args, n, &o, sets, &n_sets);
    if (!rc && o.recipe_path && pipeline_is_file(o.recipe_path)) o.recipe_path = found = cli_find_pipeline(o.recipe_path);
    if (!rc) rc = run(&o, sets, n_sets);
    free(found);
    free(sets);
    return rc;
}

const CliCommand cli_run = {
    .name = "run",
    .synopsis = "FILE.kop --model=DIR [OPTION]...\nPIPELINE.yaml [--set=VAR=VALUE]... [OPTION]...",
    .summary = "run an experiment (a recipe on a model) or a pipeline (models x recipes)",
    .description =
        "Run the recipe FILE.kop on the model in DIR, or every recipe of a pipeline on\n"
        "every model it names, and write rows.csv, summary.csv, manifest.yaml and the\n"
        "recipe's figures.",
    .options = options,
    .notes =
        "--out defaults to results/EXPERIMENT/MODEL for a recipe, and to the\n"
        "pipeline's 'output' (else results/NAME) for a pipeline.\n\n"
        "A PIPELINE.yaml named without a folder and not found in the current folder\n"
        "is taken from the installed pipelines (demo.yaml: the examples on the demo\n"
        "models; mamba-knockout-paper.yaml: the paper's figure set, on your models) in\n"
        "  @PKGDATADIR@/pipelines\n"
        "(the environment variable KOP_DATADIR, when set, replaces that folder's parent).\n",
    .run = run_main,
};
