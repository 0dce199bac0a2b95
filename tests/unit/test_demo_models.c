/* test_demo_models.c: the demo models of examples/models/ (made by
 * tools/train-demo/train_demo.py) as kop reads them.
 *
 * For each of mamba1-facts, mamba2-facts, gpt2-facts and llama-facts:
 *  - kop's logits match the training script's PyTorch forward, saved beside
 *    the model in reference_logits.json, within its tolerance (1e-3);
 *  - kop's tokenizer gives the script's ids for those prompts, special
 *    tokens included (llama-facts' tokenizer puts a BOS before every text);
 *  - kop answers at least 95 % of a sample of the facts (top-1 next token =
 *    the attribute's first token), as the script promised, on the ids of
 *    facts-ids.jsonl behind the tokenizer's leading special tokens;
 *  - model.safetensors stays within the 4 MB the demo allows.
 * And for every prompt of examples/data/facts.json, kop's tokenizer agrees
 * with the script's encoder (examples/data/facts-ids.jsonl, same order) on
 * the ids, the subject's token range and the attribute's token.
 *
 * Reads $KOP_SRCDIR/examples (set by the test harness); skips without it. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "expected.h"
#include "forward.h"
#include "prompts.h"
#include "tap.h"
#include "tokenizer.h"

#define MAX_BYTES 4000000L    /* each demo model's safetensors file */
#define SAMPLE_EVERY 5        /* facts checked for accuracy, per model */

static const char *const MODELS[] = {"mamba1", "mamba2", "gpt2", "llama"};

static char srcdir[4096];

static const char *path_in(const char *fmt, const char *name)
{
    static char buf[3][8192];
    static int k;
    char rel[512];
    k = (k + 1) % 3;
    snprintf(rel, sizeof rel, fmt, name);
    snprintf(buf[k], sizeof buf[k], "%s/%s", srcdir, rel);
    return buf[k];
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static int same_ids(const int *a, int na, const int *b, int nb)
{
    return na == nb && (na == 0 || !memcmp(a, b, sizeof(int) * (size_t)na));
}

/* Logits of the reference prompts, and their tokenization. */
static void check_reference(const char *name, const Model *m, const Tokenizer *tok)
{
    json_object *ref = json_object_from_file(path_in("examples/models/%s-facts/reference_logits.json", name));
    if (!ok(ref != NULL, "%s: reference_logits.json parses", name)) return;
    double tol = json_object_get_double(ref_get(ref_get(ref, "tolerance"), "logits_abs"));
    json_object *cases = ref_get(ref, "cases");
    int V = m->cfg.vocab_size;
    double worst = 0;
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci);
        const char *cname = json_object_get_string(ref_get(cs, "name"));
        const char *prompt = json_object_get_string(ref_get(cs, "prompt"));
        int all = json_object_get_boolean(ref_get(cs, "all_positions"));
        int *ids, T = ref_int_array(ref_get(cs, "ids"), &ids), rows, cols;
        float *want = ref_matrix(ref_get(cs, "logits"), &rows, &cols);
        float *got = kop_xmalloc(sizeof(float) * (size_t)T * V);
        ForwardReq req = {.ids = ids, .T = T, .all_positions = all, .logits = got};
        KopError err = {0};
        if (rows != (all ? T : 1) || cols != V) {
            ok(0, "%s %s: reference logits are (%d, %d), expected (%d, %d)", name, cname, rows, cols, all ? T : 1, V);
        } else if (model_forward(m, &req, &err) < 0) {
            ok(0, "%s %s: forward: %s", name, cname, err.msg);
        } else {
            double d = ref_max_diff(got, want, (size_t)rows * V);
            is_float(d, 0.0, tol, "%s %s: max |logit - PyTorch's| (%s positions)", name, cname, all ? "all" : "last");
            if (!(d <= worst)) worst = d;
        }
        int *kids = NULL, n = tokenizer_encode_special(tok, prompt, strlen(prompt), &kids, NULL, NULL, &err);
        ok(same_ids(kids, n, ids, T), "%s %s: kop's tokens of the prompt are the script's", name, cname);
        free(kids);
        free(ids);
        free(want);
        free(got);
    }
    diag("%s: largest |logit - PyTorch's| over the cases: %.3g", name, worst);
    json_object_put(ref);
}

/* Top-1 of every SAMPLE_EVERY-th fact prompt: the ids records (the shared
 * vocabulary's text tokens) behind the special tokens the model's template
 * puts first, the n_pre ids of pre. */
static void check_accuracy(const char *name, const Model *m, const PromptSet *facts, const int *pre, int n_pre)
{
    int V = m->cfg.vocab_size, n = 0, hits = 0;
    float *logits = kop_xmalloc(sizeof(float) * (size_t)V);
    int *ids = NULL;
    for (int i = 0; i < facts->n; i += SAMPLE_EVERY) {
        const Prompt *p = &facts->v[i];
        ids = kop_xrealloc(ids, sizeof(int) * (size_t)(n_pre + p->n_ids));
        memcpy(ids, pre, sizeof(int) * (size_t)n_pre);
        memcpy(ids + n_pre, p->ids, sizeof(int) * (size_t)p->n_ids);
        ForwardReq req = {.ids = ids, .T = n_pre + p->n_ids, .logits = logits};
        KopError err = {0};
        if (model_forward(m, &req, &err) < 0) {
            diag("%s: fact %d: %s", name, i, err.msg);
            break;
        }
        n++;
        hits += argmax(logits, V) == p->target_id;
    }
    free(ids);
    free(logits);
    ok(n > 0 && hits >= 0.95 * n, "%s: answers %d of %d sampled facts (at least 95 %%)", name, hits, n);
}

static void check_model(const char *name, const PromptSet *facts)
{
    const char *dir = path_in("examples/models/%s-facts", name);
    struct stat st;
    const char *st_path = path_in("examples/models/%s-facts/model.safetensors", name);
    ok(stat(st_path, &st) == 0 && st.st_size <= MAX_BYTES, "%s: model.safetensors is at most %ld bytes", name, MAX_BYTES);

    Model m;
    KopError err = {0};
    if (!ok(model_load(&m, dir, &err) == 0, "%s: model loads", name)) {
        diag("%s", err.msg);
        return;
    }
    Tokenizer *tok = tokenizer_load(dir, &err);
    int *pre = NULL, n_pre = -1;
    if (ok(tok != NULL, "%s: tokenizer loads", name)) {
        ok(tokenizer_n_ids(tok) <= m.cfg.vocab_size, "%s: every token id has an embedding row (%d ids, vocab_size %d)",
           name, tokenizer_n_ids(tok), m.cfg.vocab_size);
        check_reference(name, &m, tok);
        if (tokenizer_encode_special(tok, "", 0, &pre, NULL, &n_pre, &err) < 0) n_pre = -1;
        tokenizer_free(tok);
    } else {
        diag("%s", err.msg);
    }
    if (facts && n_pre >= 0) check_accuracy(name, &m, facts, pre, n_pre);
    free(pre);
    model_free(&m);
}

/* facts.json (text) against facts-ids.jsonl (the script's ids), record by record. */
static void check_facts(const PromptSet *text, const PromptSet *ids)
{
    KopError err = {0};
    Tokenizer *tok = tokenizer_load(path_in("examples/models/%s-facts/tokenizer.json", "mamba1"), &err);
    if (!ok(tok != NULL, "facts: tokenizer loads")) {
        diag("%s", err.msg);
        return;
    }
    if (!is_int(text->n, ids->n, "facts: facts.json and facts-ids.jsonl have the same number of records")) {
        tokenizer_free(tok);
        return;
    }
    int bad_ids = 0, bad_subject = 0, bad_target = 0;
    for (int i = 0; i < text->n; i++) {
        const Prompt *p = &text->v[i], *q = &ids->v[i];
        int *kids = NULL, first = -1, last = -1;
        int n = prompt_tokenize(p, tok, &kids, &first, &last, &err);
        if (!same_ids(kids, n, q->ids, q->n_ids)) {
            if (!bad_ids++) diag("record %d: \"%s\": ids differ", i, p->text);
        } else if (first != q->subj_first || last != q->subj_last) {
            if (!bad_subject++) diag("record %d: subject tokens [%d, %d], the script's [%d, %d]", i, first, last,
                                     q->subj_first, q->subj_last);
        }
        if (prompt_target_token(p, tok, &err) != q->target_id && !bad_target++)
            diag("record %d: attribute \"%s\" is not token %d", i, p->target, q->target_id);
        free(kids);
    }
    is_int(bad_ids, 0, "facts: kop's ids are the script's for all %d prompts", text->n);
    is_int(bad_subject, 0, "facts: kop's subject token ranges are the script's");
    is_int(bad_target, 0, "facts: each attribute is the script's target token");
    tokenizer_free(tok);
}

int main(void)
{
    const char *src = getenv("KOP_SRCDIR");
    if (!src || !*src) skip_all("KOP_SRCDIR not set");
    snprintf(srcdir, sizeof srcdir, "%s", src);

    KopError err = {0};
    PromptSet *text = prompts_load(path_in("examples/data/%s.json", "facts"), &err);
    if (!ok(text != NULL, "facts.json loads")) diag("%s", err.msg);
    PromptSet *ids = prompts_load(path_in("examples/data/%s-ids.jsonl", "facts"), &err);
    if (!ok(ids != NULL, "facts-ids.jsonl loads")) diag("%s", err.msg);
    if (text && ids) check_facts(text, ids);
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) check_model(MODELS[i], ids);
    prompts_free(text);
    prompts_free(ids);
    return done_testing();
}
