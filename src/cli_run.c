/* cli_run.c: `kop run FILE.kop --model DIR [--out DIR] [--threads N] [--quiet]`,
 * and `kop run PIPELINE.yaml [--set NAME=VALUE]... [--out DIR] [--threads N]
 * [--quiet]` (src/pipeline.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "run.h"
#include "pipeline.h"
#include "ranks.h"

/* Every model x recipe of a pipeline, with the --set values. */
static int run_pipeline(const RunOptions *o, const char *const *sets, int n_sets)
{
    KopError err = {0};
    int rc = 0;
    Pipeline *p = pipeline_load(o->recipe_path, sets, n_sets, stderr, &err);
    PipelineRunOptions po = {.out_dir = o->out_dir, .threads = o->threads, .quiet = o->quiet, .log = stdout,
                             .max_tokens = o->max_tokens};
    if (!p || pipeline_run(p, &po, &err) < 0) rc = cli_report(&err); /* rank 0 only prints (run_main) */
    pipeline_free(p);
    return rc;
}

enum { OPT_MODEL, OPT_OUT, OPT_NAME, OPT_THREADS, OPT_SET, OPT_QUIET, OPT_RESTART, OPT_SHARD, OPT_MAX_TOKENS,
       OPT_PROMPTS };
static const CliOption options[] = {
    [OPT_MODEL] = {"model", 0, "DIR", "the model folder (Hugging Face layout); for a .kop recipe"},
    [OPT_OUT] = {"out", 0, "DIR", "write the results in DIR (default: see below)"},
    [OPT_NAME] = {"name", 0, "NAME", "the model's name in the results (default: DIR's name)"},
    [OPT_THREADS] = {"threads", 0, "N", "use N threads (default: OMP_NUM_THREADS, else every core)"},
    [OPT_SET] = {"set", 0, "VAR=VALUE", "give a pipeline's ${VAR} a value (beats the environment)"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "no progress on stderr (results still reported on stdout)"},
    [OPT_RESTART] = {"restart", 0, NULL, "start over where DIR holds this run, whole or in part"},
    [OPT_SHARD] = {"shard", 0, "I/N", "measure shard I of N (default: SLURM_ARRAY_TASK_*)"},
    [OPT_MAX_TOKENS] = {"max-tokens", 0, "N", "skip prompts of more than N tokens (see kop check)"},
    [OPT_PROMPTS] = {"prompts", 0, "FILE", "read the prompts from FILE, as a pipeline's prompts:"},
    {0},
};

/* "I/N" into o's shard; -1 if it is not one. */
static int parse_shard(const char *v, RunOptions *o)
{
    char *end;
    long i = strtol(v, &end, 10);
    if (end == v || *end != '/') return -1;
    const char *n_at = end + 1;
    long n = strtol(n_at, &end, 10);
    if (end == n_at || *end || n < 1 || n > 100000 || i < 0 || i >= n) return -1;
    o->shard = (int)i;
    o->n_shards = (int)n;
    return 0;
}

/* A Slurm job array's task as the shard, when --shard is not given:
 * task SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT (ids from
 * SLURM_ARRAY_TASK_MIN, 0 unless set). */
static int shard_from_slurm(RunOptions *o)
{
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *count = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *min = getenv("SLURM_ARRAY_TASK_MIN");
    if (!id || !count || o->n_shards) return 0;
    char spec[64];
    long first = min ? strtol(min, NULL, 10) : 0;
    snprintf(spec, sizeof spec, "%ld/%s", strtol(id, NULL, 10) - first, count);
    if (parse_shard(spec, o) < 0)
        return cli_usage("run", "SLURM_ARRAY_TASK_ID %s / SLURM_ARRAY_TASK_COUNT %s (min %ld) do not make a shard", id,
                         count, first);
    return 0;
}

/* The options into o and the --set values into sets; 0 or a usage status. */
static int parse_args(const CliArg *args, int n, RunOptions *o, const char **sets, int *n_sets)
{
    for (int i = 0; i < n; i++) {
        const char *v = args[i].value;
        switch (args[i].opt) {
        case OPT_MODEL: o->model_dir = v; break;
        case OPT_OUT: o->out_dir = v; break;
        case OPT_NAME:
            o->model_label = v;
            if (!kop_folder_name_ok(v)) /* it names a folder of results/EXPERIMENT/ */
                return cli_usage("run", "--name takes one folder name (not empty, '.' or '..', no '/'), got '%s'", v);
            break;
        case OPT_MAX_TOKENS: {
            char *end;
            long t = strtol(v, &end, 10);
            if (end == v || *end || t < 1 || t > (1L << 30))
                return cli_usage("run", "--max-tokens takes a positive number of tokens, got '%s'", v);
            o->max_tokens = t;
            break;
        }
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
        case OPT_RESTART: o->restart = 1; break;
        case OPT_PROMPTS: o->prompts = v; break;
        case OPT_SHARD:
            if (parse_shard(v, o) < 0)
                return cli_usage("run", "--shard takes I/N with 0 <= I < N <= 100000, got '%s'", v);
            break;
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
        if (o->n_shards > 1) return cli_usage("run", "--shard is for .kop recipes; run a pipeline's recipes one by one to shard them");
        if (o->prompts) return cli_usage("run", "--prompts is for .kop recipes; a pipeline names its prompts with 'prompts:'");
        return run_pipeline(o, sets, n_sets);
    }
    if (n_sets) return cli_usage("run", "--set is for pipelines (PIPELINE.yaml), not recipes");
    if (!o->recipe_path) return cli_usage("run", "expected a recipe (FILE.kop) or a pipeline (PIPELINE.yaml)");
    if (!o->model_dir) return cli_usage("run", "a recipe runs on a model: give --model DIR");
    KopError err = {0};
    if (o->n_shards > 1 && ranks_size() > 1)
        return cli_usage("run", "--shard and MPI ranks do not combine: under mpirun each rank measures its own shard");
    if (run_recipe(o, &err) < 0) return cli_report(&err);
    return 0;
}

static int run_main(const CliArg *args, int n)
{
    int rc = ranks_start();
    if (rc) return rc;
    ranks_quiet();
    RunOptions o = {.log = stdout};
    const char **sets = kop_xcalloc((size_t)n + 1, sizeof *sets);
    char *found = NULL;
    int n_sets = 0;
    rc = parse_args(args, n, &o, sets, &n_sets);
    if (!rc) rc = shard_from_slurm(&o);
    if (!rc && o.recipe_path && pipeline_is_file(o.recipe_path)) o.recipe_path = found = cli_find_pipeline(o.recipe_path);
    if (!rc) rc = run(&o, sets, n_sets);
    free(found);
    free(sets);
    ranks_end();
    return rc;
}

const CliCommand cli_run = {
    .name = "run",
    .synopsis = "FILE.kop --model=DIR [OPTION]...\nPIPELINE.yaml [--set=VAR=VALUE]... [OPTION]...",
    .summary = "run an experiment (a recipe on a model) or a pipeline (models x recipes)",
    .description =
        "Run the recipe FILE.kop on the model in DIR, or every recipe of a pipeline on\n"
        "every model it names, and write rows.csv, summary.csv, manifest.yaml and the\n"
        "recipe's figures.  A run killed and started again with the same command\n"
        "resumes where it stopped; a complete one has nothing to do.  With --shard I/N\n"
        "it measures every N-th group of prompts into its own folder, and\n"
        "`kop merge` joins the shards' folders into the run's results.",
    .options = options,
    .notes =
        "--out defaults to results/EXPERIMENT/MODEL for a recipe (MODEL.shard-I-of-N\n"
        "for a shard), and to the\n"
        "pipeline's 'output' (else results/NAME) for a pipeline.\n\n"
        "A PIPELINE.yaml named without a folder and not found in the current folder\n"
        "is taken from the installed pipelines (demo.yaml: the examples on the demo\n"
        "models; mamba-knockout-paper.yaml: the paper's figure set, on your models) in\n"
        "  @PKGDATADIR@/pipelines\n"
        "(the environment variable KOP_DATADIR, when set, replaces that folder's parent).\n",
    .run = run_main,
};
