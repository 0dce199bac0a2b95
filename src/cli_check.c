/* cli_check.c: `kop check FILE.kop` parses and checks a recipe and, when the
 * layer count is known (--model DIR, or --layers N for tests), lays out its
 * plan.  Diagnostics go to stderr; stdout gets a one-paragraph summary, or
 * the syntax tree (--dump-ast: parse only) or the plan (--dump-plan) that the
 * golden tests compare.  Exit 0 (warnings allowed), 1 for a bad recipe or
 * model, 2 for usage and I/O errors. */
#include "cli.h"
#include "check.h"
#include "pipeline.h"
#include "prompt_cap.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

static const char usage[] =
    "usage: kop check FILE.kop [--model DIR | --layers N [--arch ARCH]] [--no-files]\n"
    "                          [--dump-ast | --dump-plan]\n"
    "   or: kop check PIPELINE.yaml [--set NAME=VALUE]...\n"
    "Check a recipe and print a summary of its plan.  The plan needs the model's\n"
    "layer count: from DIR/config.json, or --layers N (ARCH: mamba1, mamba2, gpt2).\n"
    "  --no-files   do not check that prompt files exist\n"
    "  --dump-ast   parse only and print the syntax tree\n"
    "  --dump-plan  print the whole plan instead of the summary\n";

typedef struct CheckArgs {
    const char *file, *model;
    int layers, dump_ast, dump_plan, no_files;
    Arch arch;
} CheckArgs;

static int parse_args(int argc, char **argv, CheckArgs *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(s, "--dump-ast")) a->dump_ast = 1;
        else if (!strcmp(s, "--dump-plan")) a->dump_plan = 1;
        else if (!strcmp(s, "--no-files")) a->no_files = 1;
        else if (!strcmp(s, "--model") && has_value) a->model = argv[++i];
        else if (!strcmp(s, "--layers") && has_value) {
            char *end;
            errno = 0;
            long n = strtol(argv[++i], &end, 10);
            if (*end || errno || n < 1 || n > 100000)
                return cli_usage("check", "--layers: expected a layer count from 1 to 100000, got '%s'",
                                 argv[i]);
            a->layers = (int)n;
        } else if (!strcmp(s, "--arch") && has_value) {
            if (!(a->arch = arch_from_name(argv[++i])))
                return cli_usage("check", "--arch: expected mamba1, mamba2 or gpt2, got '%s'", argv[i]);
        } else if (s[0] == '-' && s[1])
            return cli_usage("check", "unknown option or missing value: '%s'", s);
        else if (a->file)
            return cli_usage("check", "expected one recipe file, got '%s' and '%s'", a->file, s);
        else a->file = s;
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
static int check_pipeline(int argc, char **argv)
{
    const char *file = NULL;
    const char **sets = kop_xcalloc((size_t)argc, sizeof *sets);
    int n_sets = 0, rc = 0;
    KopError err = {0};
    for (int i = 1; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            if (pipeline_check_set(argv[++i], &err) < 0) rc = cli_usage("check", "%s", err.msg);
            else sets[n_sets++] = argv[i];
        } else if (argv[i][0] == '-' || file) {
            rc = cli_usage("check", "usage: kop check PIPELINE.yaml [--set NAME=VALUE]...; unexpected '%s'", argv[i]);
        } else {
            file = argv[i];
        }
    }
    Pipeline *p = rc ? NULL : pipeline_load(file, sets, n_sets, stderr, &err);
    if (!rc && (!p || pipeline_check(p, stdout, &err) < 0)) rc = cli_report(&err);
    pipeline_free(p);
    free(sets);
    return rc;
}

int cli_check(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return KOP_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set")) i++;
        else if (pipeline_is_file(argv[i])) return check_pipeline(argc, argv);
    }
    CheckArgs a = {0};
    int rc = parse_args(argc, argv, &a);
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
