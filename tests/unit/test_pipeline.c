/* test_pipeline.c: the pipeline reader (src/pipeline.c) and the checks that
 * need no model (pipeline_check in src/pipeline_run.c): what good files read
 * as, variables and which source wins, and every error with its exact
 * FILE:LINE:COL message.  Running pipelines is tested end to end in
 * tests/e2e/pipeline.sh. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "tap.h"

// ---- helpers -------------------------------------------------------------------

static char diags[8192];

/* The first line of every diagnostic printed (the FILE:LINE:COL: ... line,
 * not the source and caret lines), joined with '\n'. */
static void keep_headlines(FILE *f)
{
    char line[1024];
    diags[0] = '\0';
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        if (line[0] == ' ') continue; /* "   12 | source" and "      | ^~~" */
        if (diags[0]) strncat(diags, "\n", sizeof diags - strlen(diags) - 1);
        line[strcspn(line, "\n")] = '\0';
        strncat(diags, line, sizeof diags - strlen(diags) - 1);
    }
    fclose(f);
}

/* Read TEXT as the pipeline dir/t.yaml; diags gets the messages. */
static Pipeline *parse_sets(const char *text, const char *const *sets, int n_sets)
{
    FILE *f = tmpfile();
    KopError err = {0};
    Pipeline *p = pipeline_parse("dir/t.yaml", text, strlen(text), sets, n_sets, f, &err);
    keep_headlines(f);
    return p;
}

static Pipeline *parse(const char *text) { return parse_sets(text, NULL, 0); }

/* The one diagnostic TEXT gives (and that it fails). */
static void is_error(const char *text, const char *want, const char *what)
{
    Pipeline *p = parse(text);
    ok(p == NULL, "%s: rejected", what);
    is_str(diags, want, "%s: message", what);
    pipeline_free(p);
}

static const char *head = "models: [m]\nrecipes: [r.kop]\n";

// ---- good files -------------------------------------------------------------------

static void test_full(void)
{
    const char *text =
        "name: demo\n"
        "output: out/demo\n"
        "prompts: /data/known_1000.json\n"
        "limit: 25\n"
        "threads: 3\n"
        "models:\n"
        "  - name: m1\n"
        "    dir: models/mamba-130m\n"
        "    arch: mamba1\n"
        "    layers: 24\n"
        "    tokenizer: /tok/neox\n"
        "  - /abs/gpt2-xl/\n"
        "recipes:\n"
        "  - flow.kop\n"
        "  - {file: features.kop, archs: [mamba1, mamba2]}\n"
        "  - {file: /abs/g.kop, archs: gpt2}\n"
        "figures:\n"
        "  - recipe: flow\n"
        "    statement: \"block  subject ->\\tlast in layers[k..k+8]\"\n"
        "    models: [m1, gpt2-xl]\n"
        "    lines: a/flow.png\n"
        "    title: Subject\n"
        "  - {recipe: [w1, w3], heatmap: w.png}\n";
    Pipeline *p = parse(text);
    ok(p != NULL, "a full pipeline reads");
    if (!p) return;
    is_str(diags, "", "no diagnostics");
    is_str(p->name, "demo", "name");
    is_str(p->output, "dir/out/demo", "output is relative to the file's folder");
    is_str(p->prompts, "/data/known_1000.json", "an absolute path is kept");
    is_int(p->limit, 25, "limit");
    is_int(p->threads, 3, "threads");
    is_int(p->n_models, 2, "two models");
    is_str(p->models[0].name, "m1", "model name");
    is_str(p->models[0].dir, "dir/models/mamba-130m", "model folder resolved");
    is_int(p->models[0].arch, ARCH_MAMBA1, "arch");
    is_int(p->models[0].layers, 24, "layers");
    is_str(p->models[0].tokenizer, "/tok/neox", "tokenizer");
    is_str(p->models[1].name, "gpt2-xl", "a model given by its folder is named after it");
    is_str(p->models[1].dir, "/abs/gpt2-xl/", "... and that folder is kept");
    ok(p->models[1].arch == 0 && p->models[1].layers == 0 && !p->models[1].tokenizer, "unstated fields are 0/NULL");
    is_int(p->n_recipes, 3, "three recipes");
    is_str(p->recipes[0].path, "dir/flow.kop", "recipe resolved");
    is_int(p->recipes[0].archs, 0, "no archs: every model");
    is_int(p->recipes[1].archs, (1 << ARCH_MAMBA1) | (1 << ARCH_MAMBA2), "archs list");
    is_int(p->recipes[2].archs, 1 << ARCH_GPT2, "archs as one value");
    is_int(p->n_figures, 2, "two figures");
    const PipeFigure *f = &p->figures[0];
    ok(f->recipes.n == 1 && !strcmp(f->recipes.v[0], "flow"), "figure recipe as one value");
    ok(f->statements.n == 1, "one statement");
    is_str(f->statements.v[0], "block subject -> last in layers[k..k+8]", "statement blanks collapsed like block labels");
    ok(f->models.n == 2 && !strcmp(f->models.v[1], "gpt2-xl"), "figure models");
    is_str(f->lines, "a/flow.png", "lines");
    ok(f->heatmap == NULL, "no heatmap");
    is_str(f->title, "Subject", "title");
    f = &p->figures[1];
    ok(f->recipes.n == 2 && !strcmp(f->recipes.v[1], "w3"), "figure recipes as a list");
    ok(f->statements.n == 0 && f->models.n == 0, "no statement or model filter");
    is_str(f->heatmap, "w.png", "heatmap");
    pipeline_free(p);
}

static void test_defaults(void)
{
    Pipeline *p = parse(head);
    ok(p != NULL, "the smallest pipeline reads");
    if (!p) return;
    is_str(p->name, "t", "name defaults to the file name without .yaml");
    ok(p->output == NULL && p->prompts == NULL, "no output, no prompts override");
    ok(p->limit == 0 && p->threads == 0 && p->n_figures == 0, "no limit, threads or figures");
    is_str(p->models[0].name, "m", "shorthand model");
    pipeline_free(p);

    /* a file in the current folder: paths stay as written */
    KopError err = {0};
    p = pipeline_parse("t.yml", head, strlen(head), NULL, 0, NULL, &err);
    ok(p && !strcmp(p->recipes[0].path, "r.kop") && !strcmp(p->name, "t"), "t.yml in the current folder");
    pipeline_free(p);

    ok(pipeline_is_file("a/b.yaml") && pipeline_is_file("x.yml"), "pipeline_is_file: .yaml, .yml");
    ok(!pipeline_is_file("flow.kop") && !pipeline_is_file(".yaml"), "pipeline_is_file: not .kop");
}

static void test_variables(void)
{
    setenv("KOP_T_DIR", "/env/models", 1);
    setenv("KOP_T_BOTH", "from-env", 1);
    setenv("KOP_T_EMPTY", "", 1);
    unsetenv("KOP_T_UNSET");
    const char *sets[] = {"KOP_T_BOTH=first", "KOP_T_BOTH=from-set", "KOP_T_ONLY=x=y"};
    Pipeline *p = parse_sets("name: ${KOP_T_ONLY}\n"
                             "output: ${KOP_T_UNSET:-${KOP_T_DIR}/out}\n"
                             "prompts: ${KOP_T_EMPTY:-}\n"
                             "models:\n"
                             "  - {name: \"${KOP_T_BOTH}\", dir: \"${KOP_T_DIR}/m\"}\n"
                             "  - {name: b, dir: 'cost$$5 $HOME ${KOP_T_EMPTY:-dflt}'}\n"
                             "recipes: [r.kop]\n",
                             sets, 3);
    ok(p != NULL, "variables expand");
    if (!p) return;
    is_str(diags, "", "no diagnostics (every --set used)");
    is_str(p->name, "x=y", "a --set value may hold '='");
    is_str(p->output, "/env/models/out", "default used when unset, and it expands variables itself");
    ok(p->prompts == NULL, "an optional key that expands to nothing is absent");
    is_str(p->models[0].name, "from-set", "--set wins over the environment, the last --set wins");
    is_str(p->models[0].dir, "/env/models/m", "absolute after expansion: not joined to the folder");
    is_str(p->models[1].dir, "dir/cost$5 $HOME dflt", "$$ is '$', $NAME is kept, an empty value takes the default");
    pipeline_free(p);

    const char *unused[] = {"KOP_T_NOPE=1"};
    p = parse_sets(head, unused, 1);
    ok(p != NULL, "an unused --set is not an error");
    is_str(diags, "dir/t.yaml: warning: --set KOP_T_NOPE: the pipeline uses no variable of that name", "... but a warning");
    pipeline_free(p);

    KopError err = {0};
    ok(pipeline_check_set("A_1=", &err) == 0, "--set A_1= (empty value) is fine");
    ok(pipeline_check_set("1A=x", &err) < 0 && err.status == KOP_EXIT_USAGE, "--set 1A=x: bad name");
    is_str(err.msg, "--set takes NAME=VALUE (NAME: letters, digits and '_'), got '1A=x'", "--set message");
    ok(pipeline_check_set("NOEQUALS", &err) < 0, "--set without '=' is refused");
    const char *bad[] = {"=x"};
    ok(pipeline_parse("t.yaml", head, strlen(head), bad, 1, NULL, &err) == NULL, "pipeline_parse checks --set too");
}

// ---- errors -------------------------------------------------------------------------

static void test_errors(void)
{
    is_error("models: [m]\nrecipes: [r.kop\n",
             "dir/t.yaml:2:16: error: did not find expected ',' or ']' (while parsing a flow sequence that starts on line 2, column 10)",
             "YAML syntax");
    is_error("models: [m]\nrecipes:\n  - a\n - b\n",
             "dir/t.yaml:4:2: error: did not find expected key (while parsing a block mapping that starts on line 1, column 1)",
             "bad indentation");
    is_error("", "dir/t.yaml:1:1: error: empty pipeline: expected a mapping with 'models' and 'recipes'", "empty file");
    is_error("models: [m]\nrecipes: [r.kop]\n---\nmodels: [n]\n",
             "dir/t.yaml:4:1: error: a pipeline file holds one YAML document; this is a second one", "two documents");
    is_error("- a\n- b\n", "dir/t.yaml:1:1: error: expected a pipeline (a mapping of keys to values), found a list",
             "not a mapping");
    is_error("models: [m]\nrecipe: [r.kop]\n",
             "dir/t.yaml:2:1: error: unknown key 'recipe' in a pipeline (did you mean 'recipes'?)\n"
             "dir/t.yaml:1:1: error: missing 'recipes': the .kop files to run on every model",
             "unknown key with a hint, and the missing key at the mapping");
    is_error("models: [m]\nrecipes: [r.kop]\ncolour: red\n",
             "dir/t.yaml:3:1: error: unknown key 'colour' in a pipeline; expected name, output, prompts, limit, threads, "
             "models, recipes, figures, keep",
             "unknown key without a hint lists the keys");
    is_error("models: [m]\nrecipes: [r.kop]\nmodels: [n]\n",
             "dir/t.yaml:3:1: error: 'models' is given twice (first on line 1)", "duplicate key");
    is_error("models: m\nrecipes: []\n",
             "dir/t.yaml:1:9: error: 'models' must be a list: the model folders to run\n"
             "dir/t.yaml:2:10: error: 'recipes' is empty: the .kop files to run on every model",
             "models not a list, recipes empty");
    is_error("models:\n  - name: a\n    drr: x\nrecipes: [r.kop]\n",
             "dir/t.yaml:3:5: error: unknown key 'drr' in a model (did you mean 'dir'?)\n"
             "dir/t.yaml:2:5: error: missing 'dir': a model needs 'dir', its folder",
             "model: unknown key, missing dir");
    is_error("models:\n  - {name: a/b, dir: x, arch: mamba, layers: 0}\nrecipes: [r.kop]\n",
             "dir/t.yaml:2:12: error: a model name is one folder name: no '/', not '.' or '..'\n"
             "dir/t.yaml:2:31: error: unknown architecture 'mamba' (did you mean 'mamba1'?)\n"
             "dir/t.yaml:2:46: error: expected a layer count (a whole number from 1 to 100000), got '0'",
             "model: bad name, arch, layers");
    is_error("models: [x/m, {name: m, dir: y}, [z]]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:15: error: two models are both 'm' (the first on line 1)\n"
             "dir/t.yaml:1:34: error: expected a model (a mapping of keys to values), found a list",
             "duplicate model names, a model that is a list");
    is_error("models: [m]\nrecipes: [{archs: [gpt3]}, {file: r.kop, archs: []}]\n",
             "dir/t.yaml:2:11: error: missing 'file': a recipe needs 'file', the .kop file\n"
             "dir/t.yaml:2:20: error: unknown architecture 'gpt3' (did you mean 'gpt2'?)\n"
             "dir/t.yaml:2:49: error: 'archs' is empty: the recipe would run on no model",
             "recipes: bad arch, no file, empty archs");
    is_error("limit: 0\nthreads: two\nname: ..\nmodels: [m]\nrecipes: [r.kop]\n",
             "dir/t.yaml:3:7: error: a pipeline name is one folder name: no '/', not '.' or '..'\n"
             "dir/t.yaml:1:8: error: expected a prompt count (a whole number from 1 to 1000000000), got '0'\n"
             "dir/t.yaml:2:10: error: expected a thread count (a whole number from 1 to 4096), got 'two'",
             "limit, threads, name");
    is_error("output: {a: 1}\nmodels: [m]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:9: error: expected an output folder, found a mapping", "a mapping where a path goes");
    is_error("models: [m]\nrecipes: [r.kop]\nfigures: {recipe: a}\n",
             "dir/t.yaml:3:10: error: 'figures' must be a list of figures", "figures not a list");
    is_error("models: [m]\nrecipes: [r.kop]\nfigures:\n  - {lines: ../a.png, models: [n]}\n  - {recipe: a}\n"
             "  - {recipe: [], heatmap: x.svg}\n",
             "dir/t.yaml:4:5: error: missing 'recipe': a figure names the experiment(s) it draws\n"
             "dir/t.yaml:4:32: error: unknown model 'n'; expected m\n"
             "dir/t.yaml:4:13: error: a figure is written inside the output folder: give a relative path without '..'\n"
             "dir/t.yaml:5:5: error: a figure needs 'lines' or 'heatmap' (or both): the .png file(s) to draw\n"
             "dir/t.yaml:6:14: error: 'recipe' is empty: a figure names the experiment(s) it draws\n"
             "dir/t.yaml:6:27: warning: 'x.svg' does not end in .png, but it will be a PNG image",
             "figures");
    /* the paper's figure options and prompt set */
    is_error("models: [m]\nrecipes: [r.kop]\nfigures:\n  - {recipe: a, lines: a.png, line_by: recipes, x: deep}\n"
             "  - {recipe: a, lines: b.png, line_by: statement, panel_by: statement, band: ci, ylim: [1, 0]}\n"
             "  - {recipe: a, lines: c.png, clim: [0.3], metric: hits}\n",
             "dir/t.yaml:4:40: error: unknown line_by value 'recipes' (did you mean 'recipe'?)\n"
             "dir/t.yaml:4:52: error: unknown x axis 'deep'; expected k, depth\n"
             "dir/t.yaml:5:61: error: 'line_by' and 'panel_by' are both 'statement'\n"
             "dir/t.yaml:5:78: error: unknown band 'ci'; expected stderr, ci95, none\n"
             "dir/t.yaml:5:88: error: 'ylim' is [A, B] with A < B\n"
             "dir/t.yaml:6:52: error: unknown metric 'hits' (did you mean 'hit'?)\n"
             "dir/t.yaml:6:37: error: 'clim' is a list of two numbers: [A, B]",
             "figure options");
    is_error("models: [m]\nrecipes: [{file: r.kop, keep: mine, min_layers: 0}]\nkeep: correct\n",
             "dir/t.yaml:3:7: error: unknown keep value 'correct'; expected correct on all\n"
             "dir/t.yaml:2:31: error: unknown keep value 'mine'; expected own\n"
             "dir/t.yaml:2:49: error: expected a layer count (a whole number from 1 to 100000), got '0'",
             "keep values");
    is_error("models: [m]\nrecipes: [r.kop]\nkeep: correct on all\n",
             "dir/t.yaml:3:7: error: 'keep: correct on all' needs 'prompts:', the one prompt set every model answers",
             "keep correct on all needs prompts");
}

static void test_variable_errors(void)
{
    unsetenv("KOP_T_UNSET");
    setenv("KOP_T_EMPTY", "", 1);
    is_error("output: ${KOP_T_UNSET}/x\nmodels: [m]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:9: error: undefined variable 'KOP_T_UNSET': set it with --set KOP_T_UNSET=VALUE or in the "
             "environment, or give a default: ${KOP_T_UNSET:-DEFAULT}",
             "undefined variable, at its column");
    is_error("models: [m]\nrecipes: [\"a/${KOP_T_UNSET}\"]\n",
             "dir/t.yaml:2:14: error: undefined variable 'KOP_T_UNSET': set it with --set KOP_T_UNSET=VALUE or in the "
             "environment, or give a default: ${KOP_T_UNSET:-DEFAULT}",
             "undefined variable in a quoted value, at its column");
    is_error("output: a${9x}\nmodels: [m]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:10: error: expected a variable name after '${' (letters, digits and '_', not starting with a digit)",
             "bad variable name");
    is_error("output: ${X:-${Y}\nmodels: [m]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:9: error: unterminated '${': close it with '}'", "unterminated default");
    is_error("output: ${X-y}\nmodels: [m]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:9: error: expected '}' or ':-DEFAULT}' after '${X'", "'-' without ':'");
    is_error("output: ${ABC\nmodels: [m]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:9: error: unterminated '${ABC': close it with '}'", "unterminated variable");
    is_error("models: [{name: \"${KOP_T_EMPTY}\", dir: x}]\nrecipes: [r.kop]\n",
             "dir/t.yaml:1:17: error: 'name' is empty: a model needs a name (the folder of its results)",
             "a required value that expands to nothing");
}

// ---- checks without models ---------------------------------------------------------

static char tmpdir[] = "/tmp/kop-test-pipeline.XXXXXX";

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) ok(0, "cannot write %s", path);
}

/* Read and check TEXT as TMPDIR/p.yaml; 0 or -1, diags gets the messages. */
static int check(const char *text, char *out, size_t out_len)
{
    write_file("p.yaml", text);
    char path[256];
    snprintf(path, sizeof path, "%s/p.yaml", tmpdir);
    FILE *f = tmpfile();
    KopError err = {0};
    Pipeline *p = pipeline_load(path, NULL, 0, f, &err);
    int rc = -1;
    FILE *o = tmpfile();
    if (p) rc = pipeline_check(p, o, &err);
    rewind(o);
    size_t n = fread(out, 1, out_len - 1, o);
    out[n] = '\0';
    fclose(o);
    keep_headlines(f);
    /* the diagnostics name TMPDIR: drop it */
    for (char *s; (s = strstr(diags, tmpdir));) memmove(s, s + strlen(tmpdir) + 1, strlen(s + strlen(tmpdir) + 1) + 1);
    pipeline_free(p);
    return rc;
}

static void test_check(void)
{
    if (!mkdtemp(tmpdir)) {
        ok(0, "mkdtemp");
        return;
    }
    write_file("flow.kop", "experiment \"flow\"\nprompt ids [1, 2, 3, 4] subject [1..2]\nsweep k in 0..L-3\n"
                           "block subject -> last in layers[k..k+2]\nblock last -> last in layers[k..k+2]\n");
    write_file("feat.kop", "experiment \"feat\"\nprompt ids [1, 2, 3] subject [1]\nblock subject -> last in layer k features ctx_dep\n");
    write_file("prob.kop", "experiment \"prob\"\nprompt ids [1, 2, 3] subject [1]\nblock subject -> last in layer k\nmeasure prob\n");
    write_file("bad.kop", "experiment \"bad\"\nprompt ids [1, 2] subject [0]\nblok subject -> last in layer k\n");
    write_file("file.kop", "prompts counterfact \"known_1000.json\"\nblock subject -> last in layer k\n");
    char out[4096];

    const char *good = "models:\n"
                       "  - {name: m1, dir: nowhere/m1, arch: mamba1, layers: 24}\n"
                       "  - {name: g, dir: nowhere/g, arch: gpt2}\n"
                       "recipes:\n"
                       "  - flow.kop\n"
                       "  - {file: feat.kop, archs: [mamba1, mamba2]}\n"
                       "figures:\n"
                       "  - {recipe: flow, statement: \"block last -> last in layers[k..k+2]\", lines: a.png}\n"
                       "  - {recipe: [flow, feat], models: [m1], heatmap: b.png}\n";
    is_int(check(good, out, sizeof out), 0, "a good pipeline checks without its models");
    is_str(diags, "", "... with no diagnostics");
    ok(strstr(out, "pipeline p: 2 models x 2 recipes = 3 runs, 2 figures\n") != NULL, "summary: runs and figures");
    ok(strstr(out, "(absent): every recipe\n") && strstr(out, "(absent): 1 recipe, not feat\n"),
       "summary: which recipes each model runs");

    is_int(check("models: [{name: g, dir: x, arch: gpt2, layers: 12}]\nrecipes: [feat.kop, flow.kop]\n", out, sizeof out), -1,
           "features on a GPT-2 model");
    is_str(diags,
           "feat.kop:3:34: error: 'features' selects SSM channels, but g is a transformer (gpt2)\n"
           "p.yaml:2:11: error: this recipe does not compile for model 'g' (gpt2, 12 layers; see above)",
           "... reported in the recipe and at the recipe's entry");

    is_int(check("models: [{name: m, dir: x, layers: 2}]\nrecipes: [flow.kop, bad.kop, missing.kop]\n", out, sizeof out), -1,
           "recipe errors");
    is_str(diags,
           "flow.kop:3:1: error: the sweep of k is empty for a model of 2 layers (0..1)\n"
           "p.yaml:2:11: error: this recipe does not compile for model 'm' (2 layers; see above)\n"
           "bad.kop:3:1: error: unknown statement 'blok' (did you mean 'block'?)\n"
           "p.yaml:2:21: error: this recipe has errors (above)\n"
           "p.yaml:2:30: error: cannot read this recipe: missing.kop: cannot open: No such file or directory",
           "... a window wider than the model, a recipe error, a missing recipe");

    is_int(check("models: [m]\nrecipes: [file.kop]\n", out, sizeof out), -1, "a recipe's prompts file is checked");
    is_int(check("prompts: ${KOP_T_NO:-known.json}\nmodels: [m]\nrecipes: [file.kop]\n", out, sizeof out), 0,
           "... unless the pipeline's prompts replace it (and that file is not needed to check)");
    ok(strstr(out, "  prompts: ") && strstr(out, "known.json (absent), instead of the recipes' own\n"),
       "summary names the prompts file");

    is_int(check("models: [{name: m, dir: x}]\nrecipes: [flow.kop, {file: prob.kop}, {file: flow.kop}]\n"
                 "figures:\n"
                 "  - {recipe: flw, lines: a.png}\n"
                 "  - {recipe: flow, statement: \"block first -> last\", lines: b.png}\n"
                 "  - {recipe: [flow, prob], lines: c.png}\n"
                 "  - {recipe: prob, lines: a.png, heatmap: a.png}\n",
                 out, sizeof out),
           -1, "figure errors");
    is_str(diags,
           "p.yaml:2:46: error: this recipe's experiment is 'flow', like the recipe on line 2: their results would share "
           "a folder\n"
           "p.yaml:4:14: error: unknown experiment 'flw' (did you mean 'flow'?)\n"
           "p.yaml:5:31: error: no statement 'block first -> last' in flow; its statements are: "
           "'block subject -> last in layers[k..k+2]', 'block last -> last in layers[k..k+2]'\n"
           "p.yaml:6:21: error: 'prob' measures prob but 'flow' measures prob_change: a figure shows one metric\n"
           "p.yaml:7:5: error: this figure writes 'a.png', as the figure on line 4 does\n"
           "p.yaml:7:5: error: 'lines' and 'heatmap' are both 'a.png'",
           "... unknown experiment, statement, mixed metrics, duplicate experiment and figure files");

    is_int(check("models: [{name: g, dir: x, arch: gpt2}]\nrecipes: [{file: feat.kop, archs: [mamba1]}, flow.kop]\n"
                 "figures:\n  - {recipe: feat, models: [g], lines: a.png}\n",
                 out, sizeof out),
           -1, "a figure of a recipe no model runs");
    is_str(diags,
           "p.yaml:4:29: error: model 'g' (gpt2) runs none of this figure's recipes (see their 'archs')\n"
           "p.yaml:4:5: error: no model runs this figure's recipes (see their 'archs')",
           "... named at the model and at the figure");

    const char *names[] = {"p.yaml", "flow.kop", "feat.kop", "prob.kop", "bad.kop", "file.kop"};
    for (int i = 0; i < 6; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

/* Falcon-Mamba is an architecture of its own in models and recipes. */
static void test_falcon_mamba(void)
{
    Pipeline *p = parse("models:\n  - {name: f, dir: fm7b, arch: falcon_mamba}\n"
                        "recipes:\n  - {file: feat.kop, archs: [mamba1, falcon_mamba]}\n");
    ok(p && p->models[0].arch == ARCH_FALCON_MAMBA, "arch: falcon_mamba");
    ok(p && p->recipes[0].archs == ((1u << ARCH_MAMBA1) | (1u << ARCH_FALCON_MAMBA)), "archs: [mamba1, falcon_mamba]");
    pipeline_free(p);
    is_error("models:\n  - {name: f, dir: x, arch: falcon-mamba}\nrecipes: [r.kop]\n",
             "dir/t.yaml:2:29: error: unknown architecture 'falcon-mamba' (did you mean 'falcon_mamba'?)",
             "a hyphen for the underscore");
}

int main(void)
{
    test_full();
    test_falcon_mamba();
    test_defaults();
    test_variables();
    test_errors();
    test_variable_errors();
    test_check();
    return done_testing();
}
