/* test_prompts.c: prompt files in every layout prompts.h reads, written by
 * the test; subjects not found (skipped and counted); malformed records and
 * invalid UTF-8 (errors naming file and record); subject token ranges from
 * offsets, including empty spans inside a split character.  The real
 * known_1000.json with real tokenizers is in test_tokenizer.c. */
#include "tap.h"

#include <unistd.h>

#include "prompts.h"

static char dir[256];

static const char *write_file(const char *name, const char *text)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) KOP_ABORT("cannot write %s", p);
    return p;
}

static PromptSet *load(const char *name, const char *text)
{
    KopError err = {0, ""};
    PromptSet *s = prompts_load(write_file(name, text), &err);
    if (!s) diag("%s", err.msg);
    return s;
}

static void load_fails(const char *name, const char *text, const char *want, const char *what)
{
    KopError err = {0, ""};
    PromptSet *s = prompts_load(write_file(name, text), &err);
    ok(!s && err.status == KOP_EXIT_DATA && strstr(err.msg, want), "%s: %s", what, err.msg);
    prompts_free(s);
}

static void layouts(void)
{
    PromptSet *s = load("known.json",
        "[{\"known_id\": 0, \"subject\": \"Vinson Massif\", \"attribute\": \"Antarctica\",\n"
        "  \"template\": \"{} is located in the continent\", \"prediction\": \" Antarctica. It\",\n"
        "  \"prompt\": \"Vinson Massif is located in the continent of\", \"relation_id\": \"P30\"},\n"
        " {\"known_id\": 1, \"subject\": \"Nowhere\", \"attribute\": \"Apple\", \"prompt\": \"Beats Music is owned by\"},\n"
        " {\"known_id\": 2, \"subject\": \"Audible.com\", \"attribute\": \" Amazon\", \"prompt\": \"Audible.com is owned by\"}]\n");
    if (ok(s != NULL, "known_1000 layout (JSON list) loads")) {
        is_int(s->n, 2, "known_1000: two records kept");
        is_int(s->n_skipped, 1, "known_1000: one skipped (subject not in the prompt)");
        ok(s->n_skipped == 1 && strstr(s->skipped[0], "known.json: record 1: subject \"Nowhere\" not found"),
           "the skipped record is named: %s", s->n_skipped ? s->skipped[0] : "");
        is_str(s->v[0].text, "Vinson Massif is located in the continent of", "known_1000: prompt");
        is_str(s->v[0].subject, "Vinson Massif", "known_1000: subject");
        is_str(s->v[0].target, " Antarctica", "known_1000: attribute with a leading space");
        is_str(s->v[1].target, " Amazon", "known_1000: an attribute that has its space keeps one");
        is_str(s->v[0].relation, "P30", "known_1000: relation_id");
        ok(s->v[0].id == 0 && s->v[1].id == 2 && s->v[1].record == 2 && s->v[1].line == 0, "known_1000: ids and records");
        size_t a, b;
        ok(prompt_subject_span(&s->v[1], &a, &b) == 0 && a == 0 && b == 11, "subject span of \"Audible.com\"");
        prompts_free(s);
    }

    s = load("tracing.jsonl",
        "{\"relation\": \"The mother tongue of {} is\", \"prompt\": \"The mother tongue of Danielle Darrieux is\", "
        "\"relation_id\": \"P103\", \"target_true\": \" French\", \"target_false\": \" English\", \"subject\": \"Danielle Darrieux\"}\n"
        "\n"
        "{\"prompt\": \"Edwin of Northumbria's religious values strongly emphasize\", \"subject\": \"Edwin of Northumbria\", "
        "\"target_true\": \" Christianity\", \"relation_id\": \"P140\"}\n");
    if (ok(s != NULL, "counterfact-tracing layout (JSON lines) loads")) {
        is_int(s->n, 2, "tracing: two records");
        is_str(s->v[0].target, " French", "tracing: target_true as it stands");
        ok(s->v[1].record == 1 && s->v[1].line == 3, "tracing: record 1 is on line 3 (blank lines skipped)");
        is_str(s->v[1].relation, "P140", "tracing: relation_id");
        prompts_free(s);
    }

    s = load("counterfact.json",
        "[{\"case_id\": 7, \"pararel_idx\": 2796, \"requested_rewrite\": {\"prompt\": \"The mother tongue of {} is\", "
        "\"relation_id\": \"P103\", \"target_new\": {\"str\": \"English\", \"id\": \"Q1860\"}, "
        "\"target_true\": {\"str\": \"French\", \"id\": \"Q150\"}, \"subject\": \"Danielle Darrieux\"}, "
        "\"paraphrase_prompts\": [\"x\"], \"neighborhood_prompts\": [], \"generation_prompts\": []}]");
    if (ok(s != NULL, "counterfact.json layout loads")) {
        is_str(s->v[0].text, "The mother tongue of Danielle Darrieux is", "counterfact.json: template filled");
        is_str(s->v[0].target, " French", "counterfact.json: target_true.str with a leading space");
        ok(s->v[0].id == 7 && s->v[0].relation && !strcmp(s->v[0].relation, "P103"), "counterfact.json: case_id, relation_id");
        prompts_free(s);
    }

    s = load("prompts.jsonl",
        "\xef\xbb\xbf{\"prompt\": \"Paris is the capital of\", \"subject\": \"Paris\", \"target\": \" France\"}\n"
        "{\"prompt\": \"Rome\", \"subject\": \"Rome\"}\n"
        "{\"ids\": [3, 17, 42, 5], \"subject\": [1, 2], \"target_id\": 9}\n"
        "{\"ids\": [8], \"subject\": [0, 0]}\n");
    if (ok(s != NULL, "prompts jsonl layout loads (with a byte order mark)")) {
        is_int(s->n, 4, "jsonl: four records");
        is_str(s->v[0].target, " France", "jsonl: target as it stands");
        ok(s->v[1].target == NULL, "jsonl: no target");
        ok(s->v[2].text == NULL && s->v[2].n_ids == 4 && s->v[2].ids[3] == 5 && s->v[2].subj_first == 1 &&
           s->v[2].subj_last == 2 && s->v[2].target_id == 9, "jsonl: an ids record");
        is_int(s->v[3].target_id, -1, "jsonl: ids record without target_id");
        KopError err;
        is_int(prompt_target_token(&s->v[2], NULL, &err), 9, "target token of an ids record");
        int *ids, first, last;
        ok(prompt_tokenize(&s->v[2], NULL, &ids, &first, &last, &err) == 4 && ids[1] == 17 && first == 1 && last == 2,
           "an ids record needs no tokenizer");
        free(ids);
        ok(prompt_tokenize(&s->v[0], NULL, &ids, &first, &last, &err) < 0 && strstr(err.msg, "needs a tokenizer"),
           "a text record without a tokenizer: %s", err.msg);
        TokSpan offs[1] = {{0, 1}};
        ok(prompt_subject_tokens(&s->v[2], offs, 2, &first, &last, &err) < 0 && strstr(err.msg, "do not fit 2 tokens"),
           "an ids subject beyond the tokens: %s", err.msg);
        prompts_free(s);
    }
}

static void malformed(void)
{
    load_fails("bad1.jsonl", "{\"prompt\": \"ok\", \"subject\": \"ok\"}\n{\"prompt\": \"ab\xff\", \"subject\": \"a\"}\n",
               "bad1.jsonl:2: \"prompt\" is not valid UTF-8 (byte 2)", "invalid UTF-8 in a prompt");
    load_fails("bad2.json", "[{\"prompt\": \"abc\", \"subject\": \"\xc3\"}]", "bad2.json: record 0: \"subject\" is not valid UTF-8",
               "invalid UTF-8 in a subject");
    load_fails("bad3.jsonl", "{\"prompt\": \"a\", \"subject\": \"a\"}\n\n{\"prompt\": \"a\",\n", "bad3.jsonl:3:",
               "a broken JSON line (line number)");
    load_fails("bad4.json", "[{\"prompt\": \"a\", \"subject\": \"a\"},\n {\"prompt\": }]", "bad4.json:2:",
               "broken JSON in a list");
    load_fails("bad5.jsonl", "{\"prompt\": \"abc\"}\n", "bad5.jsonl:1: expected \"prompt\" and \"subject\"",
               "a record without a subject");
    load_fails("bad6.json", "[1]", "bad6.json: record 0: expected an object", "a record that is not an object");
    load_fails("bad7.jsonl", "{\"ids\": [1, 2], \"subject\": [1, 2]}\n", "subject tokens [1, 2] are not a range within the 2 ids",
               "an ids subject out of range");
    load_fails("bad8.jsonl", "{\"ids\": [1, -2], \"subject\": [0, 0]}\n", "ids[1] is not a token id", "a negative id");
    load_fails("bad9.jsonl", "{\"prompt\": \"a\\u0000b\", \"subject\": \"a\"}\n", "holds a NUL character", "a NUL in a prompt");
    load_fails("bad10.jsonl", "{\"prompt\": \"abc\", \"subject\": \"\"}\n", "\"subject\" is empty", "an empty subject");
    load_fails("bad11.json", "[{\"requested_rewrite\": {\"prompt\": \"no hole\", \"subject\": \"x\"}}]",
               "holding \"{}\"", "a counterfact template without {}");
    load_fails("bad12.json", "{\"prompt\": \"a\", \"subject\": \"a\"} x", "bad12.json:1:", "text after a JSON line");
    load_fails("bad13.jsonl", "{\"ids\": [1], \"subject\": [0, 0], \"target_id\": \"x\"}\n", "\"target_id\" is not a token id",
               "a target_id that is a string");
    KopError err = {0, ""};
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.json", dir);
    ok(!prompts_load(missing, &err) && err.status == KOP_EXIT_USAGE && strstr(err.msg, "missing.json: cannot open"),
       "a missing file: %s", err.msg);
}

static void inline_and_subjects(void)
{
    KopError err = {0, ""};
    PromptSet *s = prompts_new("inline.kop");
    is_int(prompts_add_text(s, "The Big Bang Theory premieres on", "Big Bang Theory", " CBS", &err), 0, "inline text prompt added");
    is_int(prompts_add_text(s, "abc", "zzz", NULL, &err), 1, "inline prompt with a missing subject is skipped");
    is_int(prompts_add_text(s, "a\xff", "a", NULL, &err), -1, "inline prompt with bad UTF-8 fails");
    is_int(prompts_add_ids(s, (int[]){4, 5, 6}, 3, 0, 1, -1, &err), 0, "inline ids prompt added");
    is_int(prompts_add_ids(s, (int[]){4, 5}, 2, 1, 3, -1, &err), -1, "inline ids prompt with a bad range fails");
    ok(s->n == 2 && s->n_skipped == 1 && strstr(s->skipped[0], "inline.kop: record 1"), "inline: counts and names");
    ok(s->v[1].record == 2, "inline: records are numbered in order of addition");

    int first, last;
    // "The| Big| Bang| Theory| premieres| on" -- subject at bytes 4..19.
    TokSpan offs[] = {{0, 3}, {3, 7}, {7, 12}, {12, 19}, {19, 29}, {29, 32}};
    ok(prompt_subject_tokens(&s->v[0], offs, 6, &first, &last, &err) == 0 && first == 1 && last == 3,
       "subject tokens 1..3 (the leading space belongs to the token)");
    prompts_free(s);

    // A character split over tokens: the empty span at its end belongs to it.
    s = prompts_new("split");
    prompts_add_text(s, "\xe2\x82\xac" "abc", "\xe2\x82\xac", NULL, &err);
    prompts_add_text(s, "\xe2\x82\xac" "abc", "abc", NULL, &err);
    TokSpan split[] = {{0, 3}, {3, 3}, {3, 6}};
    ok(prompt_subject_tokens(&s->v[0], split, 3, &first, &last, &err) == 0 && first == 0 && last == 1,
       "a subject that is a split character takes its empty-span token");
    ok(prompt_subject_tokens(&s->v[1], split, 3, &first, &last, &err) == 0 && first == 2 && last == 2,
       "the next subject does not");
    ok(tokspan_overlaps((TokSpan){3, 3}, 0, 3) && !tokspan_overlaps((TokSpan){3, 3}, 3, 6) &&
       tokspan_overlaps((TokSpan){2, 5}, 4, 9) && !tokspan_overlaps((TokSpan){2, 4}, 4, 9),
       "tokspan_overlaps: empty spans touch the character before them");
    TokSpan wrong[] = {{0, 1}};
    ok(prompt_subject_tokens(&s->v[1], wrong, 1, &first, &last, &err) < 0 && strstr(err.msg, "no token overlaps"),
       "offsets that miss the subject: %s", err.msg);
    prompts_free(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/kop-prompts-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) KOP_ABORT("mkdtemp failed");
    layouts();
    malformed();
    inline_and_subjects();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) diag("could not remove %s", dir);
    return done_testing();
}
