/* fuzz_formats.c: mutation fuzzing of every input format kop reads, with
 * the project's own mutator (mutate.h), in-process, built by make check.
 *
 *   fuzz_formats FORMAT WORKDIR [-n ITERATIONS] [-s SEED] [-t SECONDS] SEED_FILE...
 *
 * FORMAT is one of
 *   recipe       a .kop recipe: parse, check, plan, token groups
 *   pipeline     a pipeline YAML: load and check (recipes it names resolve
 *                against WORKDIR, which holds r.kop)
 *   safetensors  a model.safetensors (seed: DIR/model.safetensors; its
 *                DIR/config.json goes with it): load, then one forward
 *   config       a config.json (seed: DIR/config.json, with DIR's weights)
 *   tokenizer    a tokenizer.json: load, encode, decode
 *   vocab        vocab.json + merges.txt (derived from tokenizer.json seeds;
 *                one of the two mutated each time)
 *   prompts      a prompts file (JSON list or lines): load, subjects and
 *                targets through the tokenizer of the first --tokenizer seed
 *   summary      a summary.csv: parse, arrange, draw both figures
 * Each iteration mutates seed (iteration mod count) with the stream
 * (SEED, iteration), writes it under WORKDIR/FORMAT/ and runs it.  A crash
 * or a hang (alarm, 20 s) kills the program: the input that did it is left
 * in WORKDIR/FORMAT/ and WORKDIR/FORMAT.iteration names the iteration, so
 * `-s SEED -n 1` after skipping to it reproduces it.  Errors returned by kop
 * are the expected outcome and are only counted.
 * Stops after ITERATIONS (default 200) or SECONDS, whichever comes first;
 * prints one line: iterations, inputs accepted, inputs refused. */
#include "config.h"

#include <errno.h>
#include <json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "forward.h"
#include "model.h"
#include "mutate.h"
#include "pipeline.h"
#include "prompts.h"
#include "raster.h"
#include "render.h"
#include "summary_csv.h"
#include "tokenizer.h"

static const char *workdir;
static const char *tok_seed; /* tokenizer for the prompts format */

static const char *const json_dict[] = {
    "\"", "{", "}", "[", "]", ":", ",", "null", "true", "false", "\"\\u0000\"", "\"\\ud800\"", "\\u00e9", "\\",
    "\"model\"", "\"vocab\"", "\"merges\"", "\"type\"", "\"BPE\"", "\"added_tokens\"", "\"id\"", "\"content\"",
    "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"__metadata__\"",
    "\"n_layer\"", "\"d_model\"", "\"vocab_size\"", "\"model_type\"", "\"mamba\"", "\"mamba2\"", "\"gpt2\"",
    "\"subject\"", "\"prompt\"", "\"ids\"", "\"target_id\"", "\"requested_rewrite\"", "\"target_true\"", "\"{}\"",
    "\"attribute\"", "[0, 0]", "[-1, 5]", "{}", "[]", "1e400",
};
static const char *const yaml_dict[] = {
    "models:", "recipes:", "figures:", "name:", "output:", "prompts:", "limit:", "threads:", "dir:", "arch:",
    "layers:", "tokenizer:", "file:", "archs:", "recipe:", "statement:", "lines:", "heatmap:", "title:", "- ",
    "{", "}", "[", "]", ": ", "\n  ", "\n- ", "&a ", "*a", "!!str ", "? ", "|\n  ", ">\n  ", "'", "\"", "${X}",
    "${X:-d}", "$$", "---\n", "...\n", "%YAML 1.2\n", "#", "mamba1", "gpt2", "r.kop", "../", "/dev/zero", "~",
};
static const char *const kop_dict[] = {
    "experiment", "prompt", "prompts", "counterfact", "jsonl", "ids", "subject", "block", "->", "in", "layers",
    "layer", "features", "ctx_dep", "ctx_indep", "top", "random", "output", "csv", "heatmap", "lines", "measure",
    "prob_change", "kl", "hit", "keep", "correct", "limit", "target", "attribute", "prediction", "sweep", "k", "t",
    "L", "tokens", "last", "all", "first", "relation", "[", "]", "..", "...", "+", "-", "*", "/", "%", "(", ")",
    "\"", "#", "\n", "[k-4..k+4]", "[t]", "[0..2]", "1000000000000", "-2147483648",
};
static const char *const csv_dict[] = {
    ",", "\"", "\"\"", "\n", "\r\n", "experiment", "model", "statement", "k", "t", "n", "mean", "stderr", "ci95",
    "metric", "prob_change", "kl", "nan", "inf", "-inf", "1e308", "-0", "block all -> last in layer 1",
    "block tokens[t] -> last in layer 1", "  ", "\xc2\xa0",
};

// ---- files ---------------------------------------------------------------------

static int read_all(const char *path, MutBuf *b)
{
    KopError err = {0};
    size_t n;
    char *t = kop_read_file(path, &n, &err);
    if (!t) {
        fprintf(stderr, "fuzz_formats: %s\n", err.msg);
        return -1;
    }
    b->p = (unsigned char *)t;
    b->n = n;
    b->cap = n + 1;
    return 0;
}

static void write_all(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "fuzz_formats: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
}

static char *path2(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = kop_xmalloc(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* The folder of path (new string). */
static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s) return kop_xstrdup(".");
    char *d = kop_xmalloc((size_t)(s - path) + 1);
    memcpy(d, path, (size_t)(s - path));
    d[s - path] = '\0';
    return d;
}

// ---- targets: each returns 1 when kop accepted the input, 0 when it refused it ----

static FILE *devnull(void)
{
    static FILE *f;
    if (!f) f = fopen("/dev/null", "w");
    return f;
}

static int t_recipe(const MutBuf *b)
{
    if (b->n < 1) return 0;
    int layers = b->p[0] & 31;
    Arch arch = (Arch)((b->p[0] >> 6) & 3);
    const char *text = (const char *)b->p + 1;
    size_t len = b->n - 1;
    Diag *d = diag_new("fuzz.kop", text, len, NULL);
    KopArena *ar = arena_new();
    Ast *stmts = kop_parse(text, len, d, ar);
    CheckOptions opt = {.path = "fuzz/fuzz.kop", .arch = arch};
    Recipe *r = kop_compile_ast(stmts, &opt, layers, d, ar);
    if (r) {
        plan_summary(devnull(), r, NULL);
        if (layers) {
            plan_dump(devnull(), r);
            unsigned char mask[24];
            for (int i = 0; i < r->n_items && i < 32; i++)
                for (int n = 1; n <= 24; n += 7)
                    for (int t = 0; t < n; t += 5) {
                        (void)plan_eval_group(r->items[i].block->src, n, 0, n / 2, t, mask);
                        (void)plan_eval_group(r->items[i].block->dst, n, n - 1, n - 1, t, mask);
                    }
        }
    }
    arena_free(ar);
    diag_free(d);
    return r != NULL;
}

static int t_pipeline(const char *path)
{
    KopError err = {0};
    Pipeline *p = pipeline_load(path, NULL, 0, NULL, &err);
    int ok = p && pipeline_check(p, NULL, &err) == 0;
    pipeline_free(p);
    return ok;
}

static int t_model(const char *dir)
{
    KopError err = {0};
    Model m;
    if (model_load(&m, dir, &err) < 0) return 0;
    int ids[3] = {0, 1 % m.cfg.vocab_size, 2 % m.cfg.vocab_size};
    float *logits = kop_xmalloc(sizeof(float) * (size_t)m.cfg.vocab_size);
    ForwardReq req = {.ids = ids, .T = 3, .logits = logits};
    int ok = model_forward(&m, &req, &err) == 0;
    free(logits);
    model_free(&m);
    return ok;
}

static void exercise_tokenizer(const Tokenizer *t)
{
    static const char *const texts[] = {"Hello world", "  Mas Zoukrei speaks", "e\xcc\x81t\xc3\xa9 \xe2\x82\xac",
                                        "<s>[L] x [R]", "\t\n\r ", ""};
    KopError err = {0};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int *ids = NULL;
        TokSpan *offs = NULL;
        int n = tokenizer_encode(t, texts[i], strlen(texts[i]), &ids, &offs, &err);
        if (n > 0) free(tokenizer_decode(t, ids, n, NULL, &err));
        free(ids);
        free(offs);
    }
    int n_ids = tokenizer_n_ids(t);
    for (int id = -1; id < n_ids + 1 && id < 4096; id += 1 + n_ids / 64) {
        size_t len;
        (void)tokenizer_token(t, id, &len);
        free(tokenizer_decode(t, &id, 1, NULL, &err));
    }
}

static int t_tokenizer(const char *path)
{
    KopError err = {0};
    Tokenizer *t = tokenizer_load(path, &err);
    if (!t) return 0;
    exercise_tokenizer(t);
    tokenizer_free(t);
    return 1;
}

static int t_prompts(const char *path, const Tokenizer *tok)
{
    KopError err = {0};
    PromptSet *s = prompts_load(path, &err);
    if (!s) return 0;
    for (int i = 0; i < s->n; i++) {
        const Prompt *p = &s->v[i];
        size_t a, b;
        (void)prompt_subject_span(p, &a, &b);
        if (!tok) continue;
        int *ids = NULL, first, last;
        err = (KopError){0};
        if (prompt_tokenize(p, tok, &ids, &first, &last, &err) >= 0) free(ids);
        (void)prompt_target_token(p, tok, &err);
    }
    prompts_free(s);
    return 1;
}

static int t_summary(const MutBuf *b)
{
    KopError err = {0};
    Summary s;
    if (summary_parse((const char *)b->p, b->n, "fuzz.csv", &s, &err) < 0) return 0;
    SummaryPlot sp;
    static const char *const labels[] = {" ", "", "  Mas", "\xff"};
    int ok = summary_plot(&s, NULL, labels, 4, &sp, &err) == 0;
    if (ok) {
        Canvas c;
        if (render_heatmap_canvas(&c, &sp.d, &err) == 0) raster_free(&c);
        if (render_lines_canvas(&c, &sp.d, &err) == 0) raster_free(&c);
        summary_plot_free(&sp);
    }
    summary_free(&s);
    return ok;
}

// ---- vocab.json + merges.txt from a tokenizer.json ------------------------------

static int derive_pair(const MutBuf *tokjson, MutBuf *vocab, MutBuf *merges)
{
    json_object *root = json_tokener_parse((const char *)tokjson->p), *model, *v, *m;
    if (!root || !json_object_object_get_ex(root, "model", &model) || !json_object_object_get_ex(model, "vocab", &v) ||
        !json_object_object_get_ex(model, "merges", &m)) {
        json_object_put(root);
        return -1;
    }
    const char *vs = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    *vocab = (MutBuf){0};
    mb_splice(vocab, 0, 0, vs, strlen(vs));
    *merges = (MutBuf){0};
    mb_splice(merges, 0, 0, "#version: 0.2\n", 14);
    for (size_t i = 0; i < json_object_array_length(m); i++) {
        json_object *e = json_object_array_get_idx(m, i);
        if (json_object_is_type(e, json_type_string)) {
            mb_splice(merges, merges->n, 0, json_object_get_string(e), strlen(json_object_get_string(e)));
        } else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2) {
            const char *a = json_object_get_string(json_object_array_get_idx(e, 0));
            const char *c = json_object_get_string(json_object_array_get_idx(e, 1));
            mb_splice(merges, merges->n, 0, a, strlen(a));
            mb_splice(merges, merges->n, 0, " ", 1);
            mb_splice(merges, merges->n, 0, c, strlen(c));
        }
        mb_splice(merges, merges->n, 0, "\n", 1);
    }
    json_object_put(root);
    return 0;
}

enum { RECIPE, PIPELINE, SAFETENSORS, CONFIG, TOKENIZER, VOCAB, PROMPTS, SUMMARY, N_FORMATS };
static const char *const names[] = {"recipe", "pipeline", "safetensors", "config", "tokenizer", "vocab", "prompts",
                                    "summary"};

/* Write input b where format fmt is read from (dir: WORKDIR/FORMAT; the
 * companion file of a model goes beside it) and run it.  si: the seed it
 * came from (vocab: which of the pair).  1 accepted, 0 refused. */
static int run_one(int fmt, const char *dir, const MutBuf *bp, const char *companion, int si, const MutBuf *seeds,
                   const Tokenizer *tok)
{
    const MutBuf b = *bp;
    int ok = 0;
    switch (fmt) {
    case RECIPE: {
        char *p = path2(dir, "fuzz.kop");
        write_all(p, b.p, b.n);
        free(p);
        ok = t_recipe(bp);
        break;
    }
    case PIPELINE: {
        char *p = path2(workdir, "fuzz.yaml");
        write_all(p, b.p, b.n);
        ok = t_pipeline(p);
        free(p);
        break;
    }
    case SAFETENSORS: case CONFIG: {
        char *p = path2(dir, fmt == SAFETENSORS ? "model.safetensors" : "config.json");
        char *q = path2(dir, fmt == SAFETENSORS ? "config.json" : "model.safetensors");
        write_all(p, b.p, b.n);
        MutBuf c;
        if (read_all(companion, &c) < 0) exit(2);
        write_all(q, c.p, c.n);
        free(c.p);
        ok = t_model(dir);
        free(p);
        free(q);
        break;
    }
    case TOKENIZER: {
        char *p = path2(dir, "tokenizer.json");
        write_all(p, b.p, b.n);
        ok = t_tokenizer(p);
        free(p);
        break;
    }
    case VOCAB: {
        int base = si & ~1; /* vocab: seeds come in pairs (vocab, merges) */
        char *pv = path2(dir, "vocab.json"), *pm = path2(dir, "merges.txt");
        write_all(pv, si == base ? b.p : seeds[base].p, si == base ? b.n : seeds[base].n);
        write_all(pm, si != base ? b.p : seeds[base + 1].p, si != base ? b.n : seeds[base + 1].n);
        ok = t_tokenizer(dir);
        free(pv);
        free(pm);
        break;
    }
    case PROMPTS: {
        char *p = path2(dir, "prompts.json");
        write_all(p, b.p, b.n);
        ok = t_prompts(p, tok);
        free(p);
        break;
    }
    case SUMMARY: {
        char *p = path2(dir, "summary.csv");
        write_all(p, b.p, b.n);
        free(p);
        ok = t_summary(bp);
        break;
    }
    }
    return ok;
}

// ---- libFuzzer ---------------------------------------------------------------------

#ifdef KOP_LIBFUZZER
/* Built by tests/fuzz/libfuzzer.sh with clang -fsanitize=fuzzer: the same
 * targets, with coverage-guided inputs.  The environment says which:
 * FUZZ_FORMAT (any but vocab), FUZZ_WORKDIR, FUZZ_COMPANION (the model file
 * that goes beside a mutated safetensors or config.json), FUZZ_TOKENIZER. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lf_format = -1;
static char *lf_dir;
static const char *lf_companion;
static Tokenizer *lf_tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *f = getenv("FUZZ_FORMAT");
    for (int i = 0; f && i < N_FORMATS; i++)
        if (!strcmp(f, names[i]) && i != VOCAB) lf_format = i;
    if (lf_format < 0) {
        fprintf(stderr, "fuzz_formats: set FUZZ_FORMAT to recipe, pipeline, safetensors, config, tokenizer, prompts or summary\n");
        exit(2);
    }
    workdir = getenv("FUZZ_WORKDIR") ? getenv("FUZZ_WORKDIR") : "fuzz-work";
    mkdir(workdir, 0777);
    lf_dir = path2(workdir, names[lf_format]);
    mkdir(lf_dir, 0777);
    static const char r_kop[] = "prompt ids [1, 2, 3, 4] subject [1..2]\nblock subject -> last in layers[k..k]\n";
    char *r = path2(workdir, "r.kop"), *r2 = path2(workdir, "r2.kop");
    write_all(r, r_kop, sizeof r_kop - 1);
    write_all(r2, r_kop, sizeof r_kop - 1);
    free(r);
    free(r2);
    lf_companion = getenv("FUZZ_COMPANION");
    if ((lf_format == SAFETENSORS || lf_format == CONFIG) && !lf_companion) {
        fprintf(stderr, "fuzz_formats: set FUZZ_COMPANION to the model's other file\n");
        exit(2);
    }
    KopError err = {0};
    if (getenv("FUZZ_TOKENIZER")) lf_tok = tokenizer_load(getenv("FUZZ_TOKENIZER"), &err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MutBuf b = {0};
    mb_splice(&b, 0, 0, data, size);
    mb_reserve(&b, b.n + 1);
    b.p[b.n] = '\0';
    (void)run_one(lf_format, lf_dir, &b, lf_companion, 0, NULL, lf_tok);
    free(b.p);
    return 0;
}
#else

// ---- main ------------------------------------------------------------------------

static int usage(void)
{
    fprintf(stderr, "usage: fuzz_formats FORMAT WORKDIR [-n ITERATIONS] [-s SEED] [-t SECONDS] [--tokenizer FILE] SEED_FILE...\n"
                    "FORMAT: recipe pipeline safetensors config tokenizer vocab prompts summary\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 4) return usage();
    const char *format = argv[1];
    workdir = argv[2];
    long iterations = 200;
    uint64_t seed = 1;
    double seconds = 0;
    const char **files = kop_xcalloc((size_t)argc, sizeof *files);
    int n_files = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) iterations = atol(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) tok_seed = argv[++i];
        else files[n_files++] = argv[i];
    }
    if (!n_files) return usage();

    int fmt = -1;
    for (int i = 0; i < N_FORMATS; i++)
        if (!strcmp(format, names[i])) fmt = i;
    if (fmt < 0) return usage();

    /* seeds; for vocab, two per tokenizer.json (vocab, merges) */
    MutBuf *seeds = kop_xcalloc((size_t)n_files * 2, sizeof *seeds);
    char **companion = kop_xcalloc((size_t)n_files * 2, sizeof *companion);
    int n_seeds = 0;
    for (int i = 0; i < n_files; i++) {
        MutBuf b;
        if (read_all(files[i], &b) < 0) return 2;
        if (fmt == RECIPE) { /* the first byte picks the model: 4 layers of mamba1 */
            mb_splice(&b, 0, 0, "\x44", 1);
        }
        if (fmt == VOCAB) {
            if (derive_pair(&b, &seeds[n_seeds], &seeds[n_seeds + 1]) < 0) {
                fprintf(stderr, "fuzz_formats: %s: no model.vocab and model.merges\n", files[i]);
                return 2;
            }
            free(b.p);
            n_seeds += 2;
            continue;
        }
        if (fmt == SAFETENSORS || fmt == CONFIG) {
            char *d = dir_of(files[i]);
            companion[n_seeds] = path2(d, fmt == SAFETENSORS ? "config.json" : "model.safetensors");
            free(d);
        }
        seeds[n_seeds++] = b;
    }
    MutSeeds all = {seeds, n_seeds};

    char *dir = path2(workdir, names[fmt]);
    mkdir(workdir, 0777);
    mkdir(dir, 0777);
    char *iter_file = kop_xmalloc(strlen(workdir) + 32);
    sprintf(iter_file, "%s/%s.iteration", workdir, names[fmt]);
    char *recipe = path2(workdir, "r.kop"), *recipe2 = path2(workdir, "r2.kop"); /* for pipelines to name */
    static const char r_kop[] = "prompt ids [1, 2, 3, 4] subject [1..2]\nblock subject -> last in layers[k..k]\n"
                                "output heatmap \"h.png\"\n";
    write_all(recipe, r_kop, sizeof r_kop - 1);
    write_all(recipe2, r_kop, sizeof r_kop - 1);
    Tokenizer *tok = NULL;
    if (tok_seed) {
        KopError err = {0};
        tok = tokenizer_load(tok_seed, &err);
        if (!tok) {
            fprintf(stderr, "fuzz_formats: %s\n", err.msg);
            return 2;
        }
    }

    /* a safetensors header is the first 8 + N bytes; the weights after it
     * are only numbers, so edits go to the header and a little past it */
    size_t focus = 0;
    const char *const *dict = json_dict;
    int n_dict = (int)(sizeof json_dict / sizeof json_dict[0]);
    if (fmt == RECIPE) dict = kop_dict, n_dict = (int)(sizeof kop_dict / sizeof kop_dict[0]);
    if (fmt == PIPELINE) dict = yaml_dict, n_dict = (int)(sizeof yaml_dict / sizeof yaml_dict[0]);
    if (fmt == SUMMARY) dict = csv_dict, n_dict = (int)(sizeof csv_dict / sizeof csv_dict[0]);

    MutBuf b = {0};
    long accepted = 0, it;
    double t0 = kop_now();
    for (it = 0; it < iterations && (seconds <= 0 || kop_now() - t0 < seconds); it++) {
        int si = (int)(it % n_seeds);
        if (fmt == VOCAB) si = (int)(it % (n_seeds / 2)) * 2 + (int)((it / (n_seeds / 2)) % 2);
        const MutBuf *s = &seeds[si];
        if (fmt == SAFETENSORS && s->n >= 8) {
            uint64_t h = 0;
            for (int k = 7; k >= 0; k--) h = h << 8 | s->p[k];
            focus = h < s->n ? (size_t)h + 8 + 64 : s->n;
        }
        mutate(&b, s, seed, (uint64_t)it, focus, dict, n_dict, &all);
        FILE *f = fopen(iter_file, "w");
        if (f) {
            fprintf(f, "%ld\n", it);
            fclose(f);
        }
        alarm(20); /* a hang is a failure too */
        int ok = run_one(fmt, dir, &b, si < 0 ? NULL : companion[si], si, seeds, tok);
        alarm(0);
        accepted += ok;
    }
    printf("fuzz %s: %ld inputs (seed %llu), %ld accepted, %ld refused with an error, no crash\n", names[fmt], it,
           (unsigned long long)seed, accepted, it - accepted);
    unlink(iter_file);
    tokenizer_free(tok);
    for (int i = 0; i < n_seeds; i++) {
        free(seeds[i].p);
        free(companion[i]);
    }
    free(seeds);
    free(companion);
    free(b.p);
    free(files);
    free(dir);
    free(iter_file);
    free(recipe);
    free(recipe2);
    return 0;
}
#endif
