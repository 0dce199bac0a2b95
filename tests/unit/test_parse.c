/* test_parse.c: unit tests of the .kop front end that the golden cases
 * (tests/parse/NAME.test) cannot reach through `kop check`: line and column
 * arithmetic, caret rendering, expression evaluation, token groups per
 * prompt, the t range and the forward-pass count, the compiled form of
 * causal traces, and the resolution of the reference statements (the edges
 * and layers in ../shared/reference/MODEL/expected.json, the restored and
 * frozen positions and layers in MODEL/trace.json, computed by an
 * independent implementation). */
#include <json-c/json.h>
#include <limits.h>
#include <string.h>

#include "check.h"
#include "tap.h"

// ---- helpers -------------------------------------------------------------------

/* Compile TEXT (no printing) for a model of n_layers (0: no plan). */
static Recipe *compile(const char *text, int n_layers, Arch arch, KopArena *ar, int *errors, int *warnings)
{
    Diag *d = diag_new("t.kop", text, strlen(text), NULL);
    CheckOptions opt = {.path = "dir/t.kop", .arch = arch};
    Recipe *r = kop_compile(&opt, n_layers, d, ar);
    if (errors) *errors = diag_errors(d);
    if (warnings) *warnings = diag_warnings(d);
    diag_free(d);
    return r;
}

/* The positions of G as "0,4,5" for a prompt of n tokens. */
static const char *positions(const GroupExpr *g, int n, int sf, int sl, int t)
{
    static char buf[512];
    unsigned char mask[64];
    int count = plan_eval_group(g, n, sf, sl, t, mask);
    if (count < 0) return "error";
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        if (mask[i]) len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d", len ? "," : "", i);
    return buf;
}

// ---- diagnostics ---------------------------------------------------------------

static void test_line_col(void)
{
    const char *text = "ab\n\xc3\xa9x\n\nlast";
    Diag *d = diag_new("f", text, strlen(text), NULL);
    int line, col;
    diag_line_col(d, 0, &line, &col);
    ok(line == 1 && col == 1, "offset 0 is 1:1");
    diag_line_col(d, 5, &line, &col);
    ok(line == 2 && col == 2, "a two-byte character is one column (got %d:%d)", line, col);
    diag_line_col(d, 7, &line, &col);
    ok(line == 3 && col == 1, "an empty line (got %d:%d)", line, col);
    diag_line_col(d, (int)strlen(text), &line, &col);
    ok(line == 4 && col == 5, "the end of a file without a final newline (got %d:%d)", line, col);
    KopLoc l = diag_loc_at(d, 2, 2);
    is_int(l.start, 5, "diag_loc_at inverts diag_line_col");
    diag_free(d);

    const char *t2 = "one\ntwo\n";
    d = diag_new("f", t2, strlen(t2), NULL);
    diag_line_col(d, (int)strlen(t2), &line, &col);
    ok(line == 2 && col == 4, "the end of a file after its final newline is on the last line (got %d:%d)",
       line, col);
    diag_free(d);
}

static void test_render(void)
{
    const char *text = "x\n\tblock \xc3\xa9t\xc3\xa9 -> last\n";
    FILE *f = tmpfile();
    Diag *d = diag_new("r.kop", text, strlen(text), f);
    diag_error(d, (KopLoc){9, 14}, "unknown token group '%s'", "\xc3\xa9t\xc3\xa9");
    diag_warning(d, (KopLoc){22, 22}, "at the end");
    is_int(diag_errors(d), 1, "one error counted");
    is_int(diag_warnings(d), 1, "one warning counted");
    diag_free(d);
    char buf[1024] = {0};
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    is_str(buf,
           "r.kop:2:8: error: unknown token group '\xc3\xa9t\xc3\xa9'\n"
           "    2 | \tblock \xc3\xa9t\xc3\xa9 -> last\n"
           "      | \t      ^~~\n"
           "r.kop:2:19: warning: at the end\n"
           "    2 | \tblock \xc3\xa9t\xc3\xa9 -> last\n"
           "      | \t                 ^\n",
           "caret and underline keep tabs and count characters");
}

static void test_closest(void)
{
    const char *names[] = {"first", "last", "subject", "relation", "context", "all"};
    is_str(diag_closest("subjet", names, 6), "subject", "subjet -> subject");
    is_str(diag_closest("lst", names, 6), "last", "lst -> last");
    ok(diag_closest("banana", names, 6) == NULL, "no suggestion for an unrelated word");
    const char *vars[] = {"k", "t", "L"};
    is_str(diag_closest("K", vars, 3), "k", "K -> k (a change of case)");
    ok(diag_closest("j", vars, 3) == NULL, "no suggestion for another single letter");
}

// ---- the scanner's edges -----------------------------------------------------

/* Statements parsed from TEXT[0..len), and errors into *errors. */
static int count_statements(const char *text, size_t len, int *errors)
{
    KopArena *ar = arena_new();
    Diag *d = diag_new("e.kop", text, len, NULL);
    int n = 0;
    for (Ast *s = kop_parse(text, len, d, ar); s; s = s->next) n++;
    *errors = diag_errors(d);
    diag_free(d);
    arena_free(ar);
    return n;
}

static void test_scanner_edges(void)
{
    int errors;
    ok(count_statements("limit 3", 7, &errors) == 1 && errors == 0, "no newline at the end");
    ok(count_statements("limit 3 # done", 14, &errors) == 1 && errors == 0, "a comment at the end, no newline");
    ok(count_statements("limit 3\r\nmeasure kl\r\n", 21, &errors) == 2 && errors == 0, "CRLF line ends");
    ok(count_statements("", 0, &errors) == 0 && errors == 0, "an empty file");
    ok(count_statements("\n\n# only a comment\n", 19, &errors) == 0 && errors == 0, "only blank lines and comments");
    ok(count_statements("limit 3\0x\nmeasure kl\n", 21, &errors) == 1 && errors == 2,
       "a NUL byte is an error, and the next line still parses");
    ok(count_statements("prompt \"a\0b\" subject \"a\"\n", 25, &errors) == 1 && errors == 1,
       "a NUL byte inside a string is an error");

    /* Nesting deeper than the parser's stack: an error, not a crash. */
    enum { DEPTH = 5000 };
    char *deep = kop_xmalloc(3 * DEPTH + 64);
    size_t n = 0;
    n += (size_t)sprintf(deep, "block ");
    for (int i = 0; i < DEPTH; i++) deep[n++] = '(';
    deep[n++] = 'a';
    for (int i = 0; i < DEPTH; i++) deep[n++] = ')';
    n += (size_t)sprintf(deep + n, " -> last in layer 0\n");
    ok(count_statements(deep, n, &errors) == 0 && errors >= 1, "deep nesting is refused");
    free(deep);
}

// ---- expressions and groups ----------------------------------------------------

static void test_expr(void)
{
    KopArena *ar = arena_new();
    int errors;
    Recipe *r = compile("prompt ids [1] subject [0]\n"
                        "block all -> last in layers[(k-7)/2..L/(k+1)]\n"
                        "block all -> last in layers[-7/2..0 - -1]\n", 4, ARCH_MAMBA1, ar, &errors, NULL);
    ok(r != NULL && errors == 0, "expressions compile");
    if (r) {
        const Block *b = &r->blocks[0];
        long v;
        ok(plan_expr_eval(b->lo, 0, 0, 4, &v) == 0 && v == -4, "(0-7)/2 rounds down to -4");
        ok(plan_expr_eval(b->hi, 3, 0, 4, &v) == 0 && v == 1, "L/(k+1) with k=3, L=4 is 1");
        ok(plan_expr_eval(b->hi, -1, 0, 4, &v) < 0, "division by zero is reported");
        ok(plan_expr_eval(r->blocks[1].lo, 0, 0, 4, &v) == 0 && v == -4, "-7/2 is -4");
        ok(plan_expr_eval(r->blocks[1].hi, 0, 0, 4, &v) == 0 && v == 1, "0 - -1 is 1");
        ok(plan_expr_eval(b->lo, LONG_MIN, 0, 4, &v) < 0, "overflow is reported");
    }
    arena_free(ar);
}

static void test_groups(void)
{
    KopArena *ar = arena_new();
    const char *text =
        "prompt ids [1, 2, 3] subject [0..1]\n"
        "sweep t in 1..-1 step 2\n"
        "block subject.first | subject.last -> context in layer 0\n"
        "block tokens[-3..-1] - tokens[5] -> (relation - first) | all - all in layer 0\n"
        "block tokens[t-1..t+1] -> tokens[t] in layer 0\n";
    int errors;
    Recipe *r = compile(text, 2, ARCH_MAMBA2, ar, &errors, NULL);
    ok(r && errors == 0, "groups compile");
    if (!r) {
        arena_free(ar);
        return;
    }
    const Block *b = r->blocks;
    is_str(positions(b[0].src, 8, 2, 4, 0), "2,4", "subject.first | subject.last");
    is_str(positions(b[0].dst, 8, 2, 4, 0), "0,1", "context: the tokens before the subject");
    is_str(positions(b[1].src, 8, 2, 4, 0), "6,7", "negative token indices count from the end");
    is_str(positions(b[1].dst, 8, 2, 4, 0), "1,5,6,7", "'-' binds tighter than '|'");
    is_str(positions(b[2].src, 8, 2, 4, 0), "0,1", "t-1 at t=0 is dropped, not counted from the end");
    is_str(positions(b[2].src, 8, 2, 4, 7), "6,7", "t+1 past the end is dropped");
    is_str(positions(b[2].dst, 8, 2, 4, 3), "3", "tokens[t]");
    is_str(positions(b[0].src, 8, 5, 4, 0), "error", "an inverted subject span is refused");
    is_str(positions(b[0].src, 3, 1, 3, 0), "error", "a subject past the end is refused");
    ok(!plan_group_uses_t(b[0].src) && plan_group_uses_t(b[2].src), "plan_group_uses_t");
    int first, last, stride;
    is_int(plan_t_range(r, 8, &first, &last, &stride), 4, "sweep t in 1..-1 step 2 on 8 tokens: 4 values");
    ok(first == 1 && last == 7 && stride == 2, "t = 1, 3, 5, 7");
    is_int(plan_t_range(r, 1, &first, &last, &stride), 0, "no values on a one-token prompt");
    /* block 1 and 2 do not sweep t: 2 fixed passes; block 3: one per t. */
    is_int((long)plan_forward_passes(r, 10, 8), 10 * (1 + 2 + 4), "forward passes for 10 prompts of 8 tokens");
    arena_free(ar);
}

static void test_plan(void)
{
    KopArena *ar = arena_new();
    int errors, warnings;
    Recipe *r = compile("prompt ids [1, 2] subject [0]\n"
                        "sweep k in -2..L step 2\n"
                        "block first -> last in layers[k+2..k+3]\n"
                        "block first -> last in layers[*] features all except fast 0.5\n",
                        5, ARCH_MAMBA1, ar, &errors, &warnings);
    ok(r && errors == 0, "plan builds");
    is_int(warnings, 1, "one warning for the points without layers");
    if (r) {
        is_int(r->n_k, 3, "k = 0, 2, 4 (the sweep is clipped to the model)");
        ok(r->k_first == 0 && r->k_last == 4 && r->k_stride == 2, "k runs 0..4 step 2");
        is_int(r->n_items, 4, "3 items for block 1, 1 for block 2");
        const PlanItem *it = r->items;
        ok(it[0].layer_lo == 2 && it[0].layer_hi == 3, "k=0: layers 2..3");
        ok(it[1].layer_lo == 4 && it[1].layer_hi == 4, "k=2: layers 4..4 (clipped)");
        ok(it[2].layer_lo > it[2].layer_hi, "k=4: no layers");
        ok(it[3].k == -1 && it[3].layer_lo == 0 && it[3].layer_hi == 4, "block 2: every layer, no k");
        ok(it[3].block->feat.kind == FEAT_ALL_EXCEPT_FAST && it[3].block->feat.frac == 0.5 &&
           it[3].block->feat.den == 0, "features all except fast 0.5");
        long fixed, per_t;
        plan_passes_per_prompt(r, &fixed, &per_t);
        ok(fixed == 3 && per_t == 0, "an item without layers costs no pass (%ld, %ld)", fixed, per_t);
        is_str(r->experiment, "t", "the experiment defaults to the file's stem");
    }
    r = compile("prompt ids [1] subject [0]\nsweep k in L..L+3\nblock all -> last in layer k\n",
                4, ARCH_MAMBA1, ar, &errors, NULL);
    ok(!r && errors == 1, "an empty k sweep is an error");
    r = compile("prompt ids [1] subject [0]\nblock all -> last in layer k features slow 1/3\n",
                4, ARCH_GPT2, ar, &errors, NULL);
    ok(!r && errors == 1, "features on a transformer are an error");
    r = compile("prompts jsonl \"p.jsonl\"\nblock all -> last in layer 0\n", 0, 0, ar, &errors, NULL);
    ok(r && r->n_layers == 0 && r->n_items == 0, "without a layer count: checked, no plan");
    if (r) is_str(r->prompts[0].resolved, "dir/p.jsonl", "prompt files are found beside the recipe");
    arena_free(ar);
}

// ---- the reference statements -------------------------------------------------

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static const char *int_list(json_object *arr)
{
    static char buf[512];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d", i ? "," : "",
                                json_object_get_int(json_object_array_get_idx(arr, i)));
    return buf;
}

/* $KOP_SHARED/reference/MODEL/FILE, or NULL after a skipped test naming it. */
static json_object *reference_doc(const char *model, const char *file)
{
    const char *root = getenv("KOP_SHARED");
    char path[4096];
    snprintf(path, sizeof path, "%s/reference/%s/%s", root ? root : "", model, file);
    json_object *doc = root ? json_object_from_file(path) : NULL;
    if (!doc) ok(1, "# SKIP %s absent", path);
    return doc;
}

static void test_reference(void)
{
    const char *models[] = {"mamba1-tiny", "falcon-mamba-tiny", "mamba2-tiny", "gpt2-tiny", "llama-tiny", "pythia-tiny"};
    const Arch arch[] = {ARCH_MAMBA1, ARCH_FALCON_MAMBA, ARCH_MAMBA2, ARCH_GPT2, ARCH_LLAMA, ARCH_NEOX};
    for (int m = 0; m < 6; m++) {
        json_object *doc = reference_doc(models[m], "expected.json");
        if (!doc) continue;
        json_object *cases = get(doc, "cases");
        for (size_t i = 0; i < json_object_array_length(cases); i++) {
            json_object *c = json_object_array_get_idx(cases, i);
            if (strcmp(json_object_get_string(get(c, "kind")), "knockout")) continue;
            const char *stmt = json_object_get_string(get(c, "statement"));
            json_object *subj = get(c, "subject_tokens"), *edges = get(c, "edges");
            int n = (int)json_object_array_length(get(c, "ids"));
            int sf = json_object_get_int(json_object_array_get_idx(subj, 0));
            int sl = json_object_get_int(json_object_array_get_idx(subj, 1));
            char text[1024];
            snprintf(text, sizeof text, "prompt ids [0] subject [0]\n%s\n", stmt);
            KopArena *ar = arena_new();
            Recipe *r = compile(text, 3, arch[m], ar, NULL, NULL);
            if (!ok(r && r->n_items == 1, "%s: '%s' compiles to one item", models[m], stmt)) {
                arena_free(ar);
                continue;
            }
            const PlanItem *it = &r->items[0];
            char want[512], got[512];
            snprintf(want, sizeof want, "%s", int_list(get(edges, "sources")));
            snprintf(got, sizeof got, "%s", positions(it->block->src, n, sf, sl, 0));
            is_str(got, want, "%s: sources of '%s'", models[m], stmt);
            snprintf(want, sizeof want, "%s", int_list(get(edges, "targets")));
            snprintf(got, sizeof got, "%s", positions(it->block->dst, n, sf, sl, 0));
            is_str(got, want, "%s: targets of '%s'", models[m], stmt);
            json_object *layers = get(c, "layers");
            int lo = json_object_get_int(json_object_array_get_idx(layers, 0));
            int hi = json_object_get_int(json_object_array_get_idx(layers, json_object_array_length(layers) - 1));
            ok(it->layer_lo == lo && it->layer_hi == hi, "%s: layers of '%s' are %d..%d (got %d..%d)",
               models[m], stmt, lo, hi, it->layer_lo, it->layer_hi);
            arena_free(ar);
        }
        json_object_put(doc);
    }
}

// ---- causal tracing -----------------------------------------------------------

static void test_trace_plan(void)
{
    KopArena *ar = arena_new();
    int errors, warnings;
    Recipe *r = compile("prompt ids [1, 2, 3, 4, 5, 6] subject [1..2]\n"
                        "corrupt relation - last with noise 2.5 std seed 2147483647 samples 7\n"
                        "restore conv at tokens[t] in layers[k-1..k+1] freeze ssm at last in layers[k+1..L-1]\n"
                        "restore gate at subject.last in layers[*]\n"
                        "aggregate t by role\n",
                        4, ARCH_MAMBA2, ar, &errors, &warnings);
    ok(r && errors == 0 && plan_is_trace(r), "a trace compiles");
    is_int(warnings, 1, "one warning: the freeze at k = 3 has no layers");
    if (r) {
        const Corruption *c = &r->corrupt;
        ok(c->kind == CORRUPT_NOISE && c->sigma == 2.5 && c->sigma_is_std && c->samples == 7 &&
           c->seed == 2147483647u, "corrupt: noise 2.5 std, 7 samples, seed 2147483647 (the largest)");
        is_str(positions(c->group, 6, 1, 2, 0), "0,3,4", "corrupt: relation - last on 6 tokens");
        ok(r->aggregate_roles && r->metric == METRIC_PROB_DIFF && r->n_items == 0,
           "aggregate by role; prob_diff by default; no knockout items");
        is_int(r->n_restore_items, 5, "4 items for the k sweep, 1 for the restore without k");
        const RestoreItem *it = r->restore_items;
        const Restore *rs = it[0].restore;
        ok(rs->index == 1 && rs->uses_k && rs->uses_t && rs->has_freeze && rs->restore.hook == HOOK_CONV &&
           rs->freeze.hook == HOOK_SSM, "restore 1: conv, sweeps k and t, freezes ssm");
        ok(it[0].k == 0 && it[0].layer_lo == 0 && it[0].layer_hi == 1 && it[0].freeze_lo == 1 &&
           it[0].freeze_hi == 3, "k=0: restore 0..1, freeze 1..3");
        ok(it[3].k == 3 && it[3].layer_lo == 2 && it[3].layer_hi == 3 && it[3].freeze_lo > it[3].freeze_hi,
           "k=3: restore 2..3, nothing frozen");
        is_str(positions(rs->restore.at, 6, 1, 2, 4), "4", "tokens[t] at t = 4");
        ok(it[4].k == -1 && !it[4].restore->has_freeze && it[4].restore->restore.hook == HOOK_GATE &&
           it[4].layer_lo == 0 && it[4].layer_hi == 3 && it[4].freeze_lo > it[4].freeze_hi,
           "restore 2: gate in every layer, no k, no freeze");
        is_str(it[4].restore->label, "restore gate at subject.last in layers[*]", "labels are the source text");
        long fixed, per_t;
        plan_passes_per_prompt(r, &fixed, &per_t);
        ok(fixed == 7 && per_t == 28, "restored passes: 7 samples x 1 item, and x 4 items per t (%ld, %ld)", fixed,
           per_t);
        is_int((long)plan_forward_passes(r, 10, 6), 10 * (1 + 7 + 7 + 28 * 6), "forward passes for 10 prompts");
    }
    r = compile("prompt ids [1, 2, 3] subject [1]\ncorrupt subject with swap\nrestore resid at last in layer 0\n",
                3, ARCH_GPT2, ar, &errors, NULL);
    ok(r && r->corrupt.kind == CORRUPT_SWAP && r->corrupt.samples == 1 && plan_base_passes(r) == 1,
       "swap: one corrupted run");
    r = compile("prompt ids [1, 2, 3] subject [1]\ncorrupt subject with noise 0.25\nrestore resid at last in layer 0\n",
                3, ARCH_GPT2, ar, &errors, NULL);
    ok(r && r->corrupt.sigma == 0.25 && !r->corrupt.sigma_is_std && r->corrupt.samples == 10 && r->corrupt.seed == 1,
       "noise: an absolute level, 10 samples and seed 1 by default");
    r = compile("prompt ids [1, 2, 3] subject [1]\ncorrupt subject with noise 1\nrestore attn at last in layer 0\n",
                3, ARCH_MAMBA1, ar, &errors, NULL);
    ok(!r && errors == 1, "a hook the architecture lacks is an error");
    for (Hook h = 0; h < HOOK_N; h++) {
        int ssm = h != HOOK_ATTN && h != HOOK_MLP, attn = h == HOOK_RESID || h == HOOK_ATTN || h == HOOK_MLP;
        ok(hook_supported(ARCH_MAMBA1, h) == ssm && hook_supported(ARCH_MAMBA2, h) == ssm &&
           hook_supported(ARCH_GPT2, h) == attn && !hook_supported(0, h), "hook %s per architecture", hook_names[h]);
    }
    arena_free(ar);
}

/* Each case of MODEL/trace.json: its lines, with its prompts inline, resolve
 * to the restored (and frozen) positions and layers the reference used. */
static void test_trace_reference(void)
{
    const char *models[] = {"mamba1-tiny", "mamba2-tiny", "gpt2-tiny", "falcon-mamba-tiny", "llama-tiny",
                            "pythia-tiny"};
    const Arch arch[] = {ARCH_MAMBA1, ARCH_MAMBA2, ARCH_GPT2, ARCH_MAMBA1, 0, 0};
    for (int m = 0; m < 6; m++) {
        json_object *doc = reference_doc(models[m], "trace.json");
        if (!doc) continue;
        json_object *cases = get(doc, "cases");
        for (size_t i = 0; i < json_object_array_length(cases); i++) {
            json_object *c = json_object_array_get_idx(cases, i), *prompts = get(c, "prompts");
            const char *name = json_object_get_string(get(c, "name"));
            char text[4096];
            size_t len = 0;
            for (size_t j = 0; j < json_object_array_length(prompts); j++) {
                json_object *pr = json_object_array_get_idx(prompts, j), *subj = get(pr, "subject_tokens");
                len += (size_t)snprintf(text + len, sizeof text - len, "prompt ids [%s] subject [%d..%d]\n",
                                        int_list(get(pr, "ids")), json_object_get_int(json_object_array_get_idx(subj, 0)),
                                        json_object_get_int(json_object_array_get_idx(subj, 1)));
            }
            json_object *lines = get(c, "lines");
            for (size_t j = 0; j < json_object_array_length(lines); j++)
                len += (size_t)snprintf(text + len, sizeof text - len, "%s\n",
                                        json_object_get_string(json_object_array_get_idx(lines, j)));
            KopArena *ar = arena_new();
            Recipe *r = compile(text, 3, arch[m], ar, NULL, NULL);
            if (!ok(r && r->n_restore_items == 1, "%s %s: compiles to one restore", models[m], name)) {
                arena_free(ar);
                continue;
            }
            json_object *pr = json_object_array_get_idx(prompts, (size_t)json_object_get_int(get(c, "measured")));
            json_object *subj = get(pr, "subject_tokens");
            int n = (int)json_object_array_length(get(pr, "ids"));
            int sf = json_object_get_int(json_object_array_get_idx(subj, 0));
            int sl = json_object_get_int(json_object_array_get_idx(subj, 1));
            const RestoreItem *it = &r->restore_items[0];
            const char *sites[2] = {"restore", "freeze"};
            for (int f = 0; f < 2; f++) {
                json_object *want = get(c, sites[f]);
                if (f && !want) {
                    ok(!it->restore->has_freeze, "%s %s: no freeze", models[m], name);
                    continue;
                }
                const HookSite *site = f ? &it->restore->freeze : &it->restore->restore;
                int lo = f ? it->freeze_lo : it->layer_lo, hi = f ? it->freeze_hi : it->layer_hi;
                char got[512], wl[512];
                snprintf(got, sizeof got, "%s", positions(site->at, n, sf, sl, 0));
                ok(f == it->restore->has_freeze || f == 0, "%s %s: %s present", models[m], name, sites[f]);
                is_str(hook_names[site->hook], json_object_get_string(get(want, "hook")), "%s %s: %s hook", models[m],
                       name, sites[f]);
                is_str(got, int_list(get(want, "positions")), "%s %s: %s positions", models[m], name, sites[f]);
                snprintf(wl, sizeof wl, "%s", int_list(get(want, "layers")));
                len = 0;
                got[0] = '\0';
                for (int l = lo; l <= hi; l++) len += (size_t)snprintf(got + len, sizeof got - len, "%s%d", len ? "," : "", l);
                is_str(got, wl, "%s %s: %s layers", models[m], name, sites[f]);
            }
            arena_free(ar);
        }
        json_object_put(doc);
    }
}

int main(void)
{
    test_line_col();
    test_render();
    test_closest();
    test_scanner_edges();
    test_expr();
    test_groups();
    test_plan();
    test_reference();
    test_trace_plan();
    test_trace_reference();
    return done_testing();
}
