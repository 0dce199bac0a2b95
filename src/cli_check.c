/* cli_check.c: `kop check FILE.kop` parses and checks a recipe and, when the
 * layer count is known (--model DIR, or --layers N for tests), lays out its
 * plan.  Diagnostics go to stderr; stdout gets a one-paragraph summary, or
 * the syntax tree (--dump-ast: parse only) or the plan (--dump-plan) that the
 * golden tests compare.  Exit 0 (warnings allowed), 1 for a bad recipe or
 * model, 2 for usage and I/O errors. */
#include "cli.h"
#include "arch.h"
#include "check.h"
#include "pipeline.h"
#include "prompt_cap.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

enum { OPT_MODEL, OPT_LAYERS, OPT_ARCH, OPT_NO_FILES, OPT_DUMP_AST, OPT_DUMP_PLAN, OPT_SET };
static const CliOption options[] = {
    [OPT_MODEL] = {"model", 0, "DIR", "the layer count and architecture of the model in DIR"},
    [OPT_LAYERS] = {"layers", 0, "N", "lay out the plan for N layers, without a model"},
    [OPT_ARCH] = {"arch", 0, "ARCH", "with --layers: mamba1, mamba2, gpt2, ..."},
    [OPT_NO_FILES] = {"no-files", 0, NULL, "do not check that prompt files exist"},
    [OPT_DUMP_AST] = {"dump-ast", 0, NULL, "parse only and print the syntax tree"},
    [OPT_DUMP_PLAN] = {"dump-plan", 0, NULL, "print the whole plan instead of the summary"},
    [OPT_SET] = {"set", 0, "VAR=VALUE", "give a pipeline's ${VAR} a value (beats the environment)"},
    {0},
};

typedef struct CheckArgs {
    const char *file, *model;
    int layers, dump_ast, dump_plan, no_files;
    Arch arch;
} CheckArgs;

static int parse_args(const CliArg *args, int n, CheckArgs *a)
{
    for (int i = 0; i < n; i++) {
        const char *v = args[i].value;
        switch (args[i].opt) {
        case OPT_DUMP_AST: a->dump_ast = 1; break;
        case OPT_DUMP_PLAN: a->dump_plan = 1; break;
        case OPT_NO_FILES: a->no_files = 1; break;
        case OPT_MODEL: a->model = v; break;
        case OPT_LAYERS: {
            char *end;
            errno = 0;
            long l = strtol(v, &end, 10);
            if (end == v || *end || errno || l < 1 || l > 100000)
                return cli_usage("check", "--layers: expected a layer count from 1 to 100000, got '%s'", v);
            a->layers = (int)l;
            break;
        }
        case OPT_ARCH:
            if (!(a->arch = arch_from_name(v)))
                return cli_usage("check", "--arch: expected %s, got '%s'", arch_list(), v);
            break;
        case OPT_SET: return cli_usage("check", "--set is for pipelines (PIPELINE.yaml), not recipes");
        default:
            if (a->file) return cli_usage("check", "expected one recipe file, got '%s' and '%s'", a->file, v);
            a->file = v;
        }
    }
    if (!a->file) return cli_usage("check", "expected a recipe file");
    if (a->model && (a->layers || a->arch))
        return cli_usage("check", "give --model DIR or --layers N/--arch, not both");
    if (a->dump_ast && a->dump_plan) return cli_usage("check", "give --dump-ast or --dump-plan, not both");
    if (a->dump_plan && !a->model && !a->layers)
        return cli_usage("check", "--dump-plan needs the layer count: give --model DIR or --layers N");
    return 0;
}

/* The model directory's last component, for messages ("gpt2-tiny"). */
static const char *model_label(const char *dir, char *buf, size_t n)
{
    size_t len;
    const char *base = kop_path_base(dir, &len);
    snprintf(buf, n, "%.*s", (int)len, base);
    return buf;
}

static int run_check(const CheckArgs *a, const char *text, size_t len, Diag *d)
{
    char label[256];
    CheckOptions opt = {.path = a->file, .arch = a->arch, .check_files = !a->no_files};
    int n_layers = a->layers;
    Config cfg;
    if (a->model) {
        KopError err = {0};
        if (config_load(&cfg, a->model, &err) < 0) return cli_report(&err);
        n_layers = cfg.n_layer;
        opt.arch = cfg.arch;
        opt.model_name = model_label(a->model, label, sizeof label);
    }
    KopArena *ar = arena_new();
    int status = KOP_EXIT_DATA;
    Ast *stmts = kop_parse(text, len, d, ar);
    if (a->dump_ast) {
        if (!diag_errors(d)) {
            ast_dump(stdout, d, stmts);
            status = KOP_EXIT_OK;
        }
    } else {
        Recipe *r = kop_compile_ast(stmts, &opt, n_layers, d, ar);
        if (r) {
            if (a->dump_plan) plan_dump(stdout, r);
            else plan_summary(stdout, r, opt.model_name);
            if (a->model && !a->dump_plan) prompt_cap_describe(stdout, &cfg);
            status = KOP_EXIT_OK;
        }
    }
    arena_free(ar);
    return status;
}

/* `kop check PIPELINE.yaml [--set NAME=VALUE]...`: the pipeline and every
 * recipe it names, without the models (src/pipeline.h). */
static int check_pipeline(const CliArg *args, int n)
{
    const char *file = NULL;
    const char **sets = kop_xcalloc((size_t)n + 1, sizeof *sets);
    int n_sets = 0, rc = 0;
    KopError err = {0};
    for (int i = 0; i < n && !rc; i++) {
        if (args[i].opt == OPT_SET) {
            if (pipeline_check_set(args[i].value, &err) < 0) rc = cli_usage("check", "%s", err.msg);
            else sets[n_sets++] = args[i].value;
        } else if (args[i].opt != CLI_OPERAND) {
            rc = cli_usage("check", "%s is for recipes; a pipeline takes only --set", args[i].name);
        } else if (file) {
            rc = cli_usage("check", "expected one pipeline, got '%s' and '%s'", file, args[i].value);
        } else {
            file = args[i].value;
        }
    }
    char *found = rc ? NULL : cli_find_pipeline(file);
    Pipeline *p = rc ? NULL : pipeline_load(found, sets, n_sets, stderr, &err);
    if (!rc && (!p || pipeline_check(p, stdout, &err) < 0)) rc = cli_report(&err);
    pipeline_free(p);
    free(found);
    free(sets);
    return rc;
}

static int check_main(const CliArg *args, int n)
{
    for (int i = 0; i < n; i++)
        if (args[i].opt == CLI_OPERAND && pipeline_is_file(args[i].value)) return check_pipeline(args, n);
    CheckArgs a = {0};
    int rc = parse_args(args, n, &a);
    if (rc) return rc;
    KopError err = {0};
    size_t len;
    char *text = kop_read_file_max(a.file, KOP_SPEC_MAX, "a recipe", &len, &err);
    if (!text) return cli_report(&err);
    Diag *d = diag_new(a.file, text, len, stderr);
    int status = run_check(&a, text, len, d);
    diag_free(d);
    free(text);
    return status;
}

const CliCommand cli_check = {
    .name = "check",
    .synopsis = "FILE.kop [--model=DIR | --layers=N [--arch=ARCH]] [OPTION]...\nPIPELINE.yaml [--set=VAR=VALUE]...",
    .summary = "check a recipe (or a pipeline and its recipes) and summarize its plan",
    .description =
        "Parse and check the recipe FILE.kop and print a one-paragraph summary of its\n"
        "plan; mistakes go to stderr as FILE:LINE:COL: error: ..., every one in one run.\n"
        "The plan needs the model's layer count: from --model, or --layers.  For a\n"
        "pipeline, check the YAML and compile every recipe for every model (using each\n"
        "model's arch and layers), without reading the models.",
    .options = options,
    .notes =
        "Exit status 0 when the recipe is good (warnings allowed), 1 when it is not.\n"
        "A PIPELINE.yaml named without a folder and not found in the current folder\n"
        "is taken from the installed pipelines, as kop run does:\n"
        "  @PKGDATADIR@/pipelines\n",
    .run = check_main,
};
