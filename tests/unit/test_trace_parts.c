/* test_trace.c: the model-independent parts of causal tracing: the noise
 * generator against values derived outside kop, the embedding standard
 * deviation, token roles, and swap partners. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "trace_noise.h"
#include "trace_roles.h"
#include "trace_swap.h"

// ---- noise --------------------------------------------------------------------

/* Expected values derived with Python's arbitrary-precision integers and its
 * math module (the definition in design/TRACING.md written out in Python,
 * masking every product to 64 bits):
 *     M = 2**64 - 1
 *     def sm(x):
 *         x = (x + 0x9E3779B97F4A7C15) & M
 *         x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
 *         x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
 *         return x ^ (x >> 31)
 *     def z(seed, p, s, i, d):
 *         h = sm(sm(sm(sm(seed ^ p) ^ s) ^ i) ^ d)
 *         u1 = ((h >> 11) + 0.5) / 2**53; u2 = (sm(h) >> 11) / 2**53
 *         return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
 * splitmix64(0) = 0xe220a8397b1dcdaf is also the published first output of
 * SplitMix64 seeded with 0 (Steele, Lea and Flood 2014; Vigna's reference C). */
static void test_noise(void)
{
    is_int((long)(trace_splitmix64(0) == 0xe220a8397b1dcdafu), 1, "splitmix64(0) = 0xe220a8397b1dcdaf");
    ok(trace_splitmix64(1) == 0x910a2dec89025cc1u, "splitmix64(1)");
    ok(trace_splitmix64(0x123456789abcdefu) == 0x157a3807a48faa9du, "splitmix64(0x123456789abcdef)");
    ok(trace_mix(5, 3) == trace_splitmix64(6), "mix(a, b) = splitmix64(a ^ b)");

    static const struct {
        uint64_t seed, p, s, i, d, h;
        double z;
    } cases[] = {
        {1, 0, 0, 0, 0, 0xe28195ddd9ee4956u, 0.13724914932873378},
        {1, 0, 0, 2, 5, 0xc49292efd1828961u, -0.45765381093120644},
        {11, 0, 2, 4, 31, 0xe7af2595d166bc1bu, -0.38215215983706313},
        {5, 1, 1, 3, 7, 0xc8b7d9d33980f28cu, 0.6961262273969919},
        {0xFFFFFFFFu, 123456, 9, 511, 1023, 0xceeb1a4aae5764c6u, 0.2785166593258789},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        ok(trace_noise_hash(cases[c].seed, cases[c].p, cases[c].s, cases[c].i, cases[c].d) == cases[c].h,
           "h(seed %llu, p %llu, s %llu, i %llu, d %llu)", (unsigned long long)cases[c].seed,
           (unsigned long long)cases[c].p, (unsigned long long)cases[c].s, (unsigned long long)cases[c].i,
           (unsigned long long)cases[c].d);
        is_float(trace_noise_z(cases[c].seed, cases[c].p, cases[c].s, cases[c].i, cases[c].d), cases[c].z,
                 1e-14, "z of case %zu", c);
    }

    /* The block for seed 11, prompt 0, sample 2, positions {1, 4} of 6, d 32:
     * each masked entry is (float)(0.3 * z); (float)(0.3 * z(11,0,2,4,31)) is
     * -0.11464564502239227 in Python's struct round trip. */
    enum { T = 6, D = 32 };
    unsigned char mask[T] = {0, 1, 0, 0, 1, 0};
    float noise[T * D], emb[T * D];
    trace_noise_fill(noise, T, D, 11, 0, 2, mask, 0.3);
    is_float(noise[4 * D + 31], -0.11464564502239227, 0, "fill: (float)(0.3 * z) at position 4, dimension 31");
    int exact = 1, zeros = 1;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < D; j++) {
            float want = mask[i] ? (float)(0.3 * trace_noise_z(11, 0, 2, (uint64_t)i, (uint64_t)j)) : 0.0f;
            exact &= noise[i * D + j] == want;
            zeros &= mask[i] || noise[i * D + j] == 0.0f;
        }
    ok(exact, "fill: every entry is (float)(sigma * z(seed, p, s, i, d)) at its own position and dimension");
    ok(zeros, "fill: unmasked positions are 0");
    for (int k = 0; k < T * D; k++) emb[k] = 0.25f * (float)(k % 7) - 0.5f;
    float before[T * D];
    memcpy(before, emb, sizeof emb);
    trace_noise_add(emb, T, D, 11, 0, 2, mask, 0.3);
    int added = 1;
    for (int k = 0; k < T * D; k++) added &= emb[k] == before[k] + noise[k];
    ok(added, "add: emb += (float)(sigma * z) at the masked rows, the others unchanged");

    /* Distribution: over 20000 draws the mean is near 0 and the variance
     * near 1 (5 standard errors: 0.035 and 0.05). */
    double sum = 0, sq = 0;
    int n = 20000;
    for (int k = 0; k < n; k++) {
        double z = trace_noise_z(1, (uint64_t)(k / 1000), 0, (uint64_t)(k % 1000 / 50), (uint64_t)(k % 50));
        sum += z;
        sq += z * z;
    }
    is_float(sum / n, 0.0, 0.035, "z has mean 0");
    is_float(sq / n - (sum / n) * (sum / n), 1.0, 0.05, "z has variance 1");
    ok(trace_noise_z(1, 0, 0, 0, 0) != trace_noise_z(1, 0, 1, 0, 0) &&
       trace_noise_z(1, 0, 0, 0, 0) != trace_noise_z(1, 1, 0, 0, 0) &&
       trace_noise_z(1, 0, 0, 0, 0) != trace_noise_z(2, 0, 0, 0, 0), "prompt, sample and seed each change the draw");
}

/* The sample standard deviation (n - 1) over the masked rows; expected from
 * Python's statistics.stdev of the nine entries of rows 0, 4 and 4 below. */
static void test_embed_std(void)
{
    const float emb[5 * 3] = {0.5f, -1.25f, 2.0f, 3.0f, 0.25f, -0.75f, 1.5f, 1.5f, -2.5f,
                              0.0f, 4.0f, 1.0f, -3.5f, 0.75f, 0.125f};
    const int a_ids[] = {2, 0, 4, 1}, b_ids[] = {4, 3};
    const unsigned char a_mask[] = {0, 1, 1, 0}, b_mask[] = {1, 0};
    TraceTokens ps[2] = {{a_ids, a_mask, 4}, {b_ids, b_mask, 2}};
    double sd = -1;
    is_int(trace_embed_std(emb, 5, 3, ps, 2, &sd), 0, "std of two prompts' masked rows");
    is_float(sd, 1.9264920263987022, 1e-12, "= statistics.stdev (n - 1), a repeated token counted twice");
    const unsigned char none[] = {0, 0, 0, 0};
    TraceTokens empty = {a_ids, none, 4};
    is_int(trace_embed_std(emb, 5, 3, &empty, 1, &sd), -1, "no entries: -1");
    const int bad_ids[] = {5};
    const unsigned char one[] = {1};
    TraceTokens bad = {bad_ids, one, 1};
    is_int(trace_embed_std(emb, 5, 3, &bad, 1, &sd), -1, "an id outside the vocabulary: -1");
}

// ---- roles --------------------------------------------------------------------

/* The roles of each position as a string of role letters: c context, F
 * subject.first, M middle, S subject.last, A after.first, a after, L last;
 * positions separated by spaces. */
static const char *roles_str(int n, int s0, int s1, char *buf)
{
    unsigned char roles[64];
    const char letters[ROLE_N] = {'c', 'F', 'M', 'S', 'A', 'a', 'L'};
    if (trace_roles(roles, n, s0, s1) < 0) return "error";
    char *o = buf;
    for (int i = 0; i < n; i++) {
        if (i) *o++ = ' ';
        for (int r = 0; r < ROLE_N; r++)
            if (roles[i] >> r & 1u) *o++ = letters[r];
    }
    *o = '\0';
    return buf;
}

static void test_roles(void)
{
    char buf[256];
    is_str(roles_str(12, 2, 4, buf), "c c F M S A a a a a a L", "12 tokens, subject 2..4");
    is_str(roles_str(6, 0, 1, buf), "F S A a a L", "subject at position 0: no context");
    is_str(roles_str(5, 2, 2, buf), "c c FS A L", "a one-token subject is first and last");
    is_str(roles_str(5, 1, 2, buf), "c F S A L", "subject ending two before the last: after.first, no after");
    is_str(roles_str(5, 1, 3, buf), "c F M S L", "subject ending right before the last: neither after role");
    is_str(roles_str(1, 0, 0, buf), "FSL", "one token: subject and last");
    is_str(roles_str(4, 1, 3, buf), "c F M SL", "a subject that ends the prompt is also its last token");
    is_str(roles_str(4, 2, 1, buf), "error", "a span that runs backwards");
    is_str(roles_str(4, 1, 4, buf), "error", "a span past the end");
    is_str(trace_role_names[ROLE_SUBJ_MIDDLE], "subject.middle", "role names");
    is_str(trace_role_names[ROLE_AFTER_FIRST], "after.first", "role names");

    /* Per-prompt means: 8 tokens, subject 2..4 -> c c F M S A a L. */
    unsigned char roles[8];
    trace_roles(roles, 8, 2, 4);
    const double v[8] = {1, 3, 10, 20, 30, 7, 9, 100};
    const unsigned char present[8] = {1, 1, 1, 1, 1, 1, 0, 1};
    double mean[ROLE_N];
    int count[ROLE_N];
    trace_role_means(mean, count, roles, v, NULL, 8);
    is_float(mean[ROLE_CONTEXT], 2.0, 0, "context: mean of positions 0 and 1");
    is_int(count[ROLE_CONTEXT], 2, "context: two positions");
    is_float(mean[ROLE_SUBJ_MIDDLE], 20.0, 0, "subject.middle");
    is_float(mean[ROLE_AFTER_FIRST], 7.0, 0, "after.first");
    is_float(mean[ROLE_AFTER], 9.0, 0, "after");
    is_float(mean[ROLE_LAST], 100.0, 0, "last");
    trace_role_means(mean, count, roles, v, present, 8);
    is_int(count[ROLE_AFTER], 0, "a role whose positions were not swept adds nothing");
    trace_roles(roles, 3, 0, 0);
    trace_role_means(mean, count, roles, v, NULL, 3);
    ok(count[ROLE_CONTEXT] == 0 && count[ROLE_SUBJ_MIDDLE] == 0 && count[ROLE_AFTER] == 0,
       "roles the prompt lacks count 0");
    ok(count[ROLE_SUBJ_FIRST] == 1 && count[ROLE_SUBJ_LAST] == 1 && mean[ROLE_SUBJ_LAST] == 1.0,
       "a one-token subject counts for first and last");
}

// ---- swap partners ------------------------------------------------------------

/* A stand-in tokenizer: a token is a run of non-blanks with the blanks before
 * it (" Tower"), its id the sum of its bytes; offsets exact.  Enough to make
 * lengths and subject positions depend on the words, as BPE's do. */
static int words_encode(const void *ctx, const char *text, size_t len, int **ids, TokSpan **offs, KopError *err)
{
    (void)ctx;
    (void)err;
    int n = 0, *v = kop_xmalloc(sizeof *v * (len + 1));
    TokSpan *o = kop_xmalloc(sizeof *o * (len + 1));
    for (size_t i = 0; i < len;) {
        size_t start = i;
        while (i < len && text[i] == ' ') i++;
        while (i < len && text[i] != ' ') i++;
        int id = 0;
        for (size_t k = start; k < i; k++) id += (unsigned char)text[k];
        v[n] = id;
        o[n++] = (TokSpan){start, i};
    }
    *ids = v;
    *offs = o;
    return n;
}

static int n_encoded(const char *text)
{
    int *ids;
    TokSpan *offs;
    int n = words_encode(NULL, text, strlen(text), &ids, &offs, NULL);
    free(ids);
    free(offs);
    return n;
}

/* A text SwapPrompt tokenized by words_encode; ids owned by the caller. */
static SwapPrompt text_prompt(const char *text, const char *subject, const char *relation)
{
    SwapPrompt s = {.text = text, .text_len = strlen(text), .subject = subject, .relation = relation};
    int *ids;
    TokSpan *offs;
    s.n = words_encode(NULL, text, s.text_len, &ids, &offs, NULL);
    size_t a = (size_t)(strstr(text, subject) - text), b = a + strlen(subject);
    s.subj_first = -1;
    for (int i = 0; i < s.n; i++)
        if (tokspan_overlaps(offs[i], a, b)) {
            if (s.subj_first < 0) s.subj_first = i;
            s.subj_last = i;
        }
    s.ids = ids;
    free(offs);
    return s;
}

static void test_swap_text(void)
{
    SwapPrompt ps[6] = {
        text_prompt("The Eiffel Tower is in the city of", "The Eiffel Tower", "P131"),
        text_prompt("The Eiffel Tower stands in", "The Eiffel Tower", "P131"),   /* same subject */
        text_prompt("The Colosseum is in the city of", "The Colosseum", "P131"), /* one token shorter */
        text_prompt("Danielle Darrieux speaks", "Danielle Darrieux", "P1412"),   /* another relation */
        text_prompt("The Big Ben is in the city of", "The Big Ben", "P131"),     /* fits */
        text_prompt("The Colosseum was built by", "The Colosseum", NULL),        /* no relation */
    };
    int *cor = NULL;
    char why[256];
    KopError err = {0};
    int q = trace_swap_partner(ps, 6, 0, words_encode, NULL, &cor, why, sizeof why, &err);
    is_int(q, 4, "text: the first prompt after p with another subject, relation, length and positions");
    int *want, n;
    TokSpan *offs;
    const char *subst = "The Big Ben is in the city of";
    n = words_encode(NULL, subst, strlen(subst), &want, &offs, NULL);
    ok(q == 4 && n == ps[0].n && !memcmp(cor, want, sizeof *want * (size_t)n),
       "the corrupted ids are p's text with q's subject, tokenized");
    free(want);
    free(offs);
    free(cor);

    /* From prompt 2 (The Colosseum, 2 tokens + "is in the city of"): 3 has
     * another relation, 4 "The Big Ben" makes the prompt one token longer, 5
     * has the same subject, 0 and 1 have a three-token subject too: none. */
    ok(n_encoded("The Big Ben is in the city of") != ps[2].n, "(the stand-in tokenizer: Big Ben is longer)");
    q = trace_swap_partner(ps, 6, 2, words_encode, NULL, &cor, why, sizeof why, &err);
    is_int(q, -1, "text: no partner when no subject keeps the length");
    is_str(why, "swap: none of the 3 subjects that could replace this one keeps the prompt's length and "
                "subject positions", "with the reason");

    /* Wrapping around: from 4, prompt 5 has no relation, so relations do not
     * restrict it, but its subject is shorter; 0 is the next that fits. */
    q = trace_swap_partner(ps, 6, 4, words_encode, NULL, &cor, why, sizeof why, &err);
    is_int(q, 0, "text: the search wraps around to the start of the list");
    free(cor);
    /* From 3 (P1412): 4, 0, 1, 2 name P131; 5 names none, so it may. */
    q = trace_swap_partner(ps, 6, 3, words_encode, NULL, &cor, why, sizeof why, &err);
    ok(q == 5 && n_encoded("The Colosseum speaks") == 3, "text: a record without relation_id is not restricted");
    free(cor);
    q = trace_swap_partner(ps, 5, 3, words_encode, NULL, &cor, why, sizeof why, &err);
    is_int(q, -1, "text: a relation no other prompt has");
    is_str(why, "swap: no other text prompt of relation P1412 has a different subject", "with the reason");
    for (int i = 0; i < 6; i++) free((int *)ps[i].ids);

    SwapPrompt same[2] = {text_prompt("A b c", "b", NULL), text_prompt("A b d", "b", NULL)};
    q = trace_swap_partner(same, 2, 1, words_encode, NULL, &cor, why, sizeof why, &err);
    is_str(why, "swap: every other text prompt has the same subject", "only the same subject");
    q = trace_swap_partner(same, 1, 0, words_encode, NULL, &cor, why, sizeof why, &err);
    is_str(why, "swap: no other text prompt to take a subject from", "one prompt alone");
    for (int i = 0; i < 2; i++) free((int *)same[i].ids);
}

static void test_swap_ids(void)
{
    /* The prompts of the reference swap cases (swap-0, swap-1 in each
     * ../shared/reference trace.json): each is the other's partner. */
    const int a[] = {11, 2, 2, 50, 31, 8, 19}, b[] = {11, 20, 20, 56, 31, 8, 19};
    const int c[] = {4, 9, 31, 8, 19}, d[] = {4, 2, 2, 50, 31};
    SwapPrompt ps[4] = {
        {.ids = a, .n = 7, .subj_first = 1, .subj_last = 3},
        {.ids = b, .n = 7, .subj_first = 1, .subj_last = 3},
        {.ids = c, .n = 5, .subj_first = 1, .subj_last = 1},
        {.ids = d, .n = 5, .subj_first = 1, .subj_last = 3}, /* a's subject again */
    };
    int *cor = NULL;
    char why[256];
    KopError err = {0};
    int q = trace_swap_partner(ps, 2, 0, NULL, NULL, &cor, why, sizeof why, &err);
    const int want0[] = {11, 20, 20, 56, 31, 8, 19};
    ok(q == 1 && !memcmp(cor, want0, sizeof want0), "ids: partner of swap-0 is prompt 1, its subject spliced in");
    free(cor);
    q = trace_swap_partner(ps, 2, 1, NULL, NULL, &cor, why, sizeof why, &err);
    ok(q == 0 && !memcmp(cor, a, sizeof a), "ids: partner of swap-1 is prompt 0 (wrapping)");
    free(cor);
    /* From 1: 2's subject has one token, 3's is 1's own length and differs. */
    q = trace_swap_partner(ps, 4, 1, NULL, NULL, &cor, why, sizeof why, &err);
    const int want1[] = {11, 2, 2, 50, 31, 8, 19};
    ok(q == 3 && !memcmp(cor, want1, sizeof want1), "ids: a subject of another length is passed over");
    free(cor);
    /* From 3: prompt 0 has the same subject ids, 1 differs and fits. */
    q = trace_swap_partner(ps, 4, 3, NULL, NULL, &cor, why, sizeof why, &err);
    const int want3[] = {4, 20, 20, 56, 31};
    ok(q == 1 && !memcmp(cor, want3, sizeof want3), "ids: the same subject ids are passed over");
    free(cor);
    ps[1].ids = NULL;
    q = trace_swap_partner(ps, 4, 3, NULL, NULL, &cor, why, sizeof why, &err);
    ok(q == -1, "ids: a prompt that was not tokenized is never a partner");
    is_str(why, "swap: none of the 1 subjects that could replace this one keeps the prompt's length and subject "
                "positions", "with the reason");
}

/* trace_tokenizer_encode with the demo model's tokenizer: "Kel Ostra" takes
 * two more tokens than "Mas Zoukrei" in this sentence (14 against 12, `kop
 * tokenize`), "Bae Pithlak" as many: the partner is the third prompt, and the
 * corrupted ids are those of its sentence encoded directly. */
static void test_swap_tokenizer(const char *srcdir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/models/gpt2-facts", srcdir);
    KopError err = {0};
    Tokenizer *t = tokenizer_load(path, &err);
    if (!ok(t != NULL, "demo tokenizer loads (%s)", err.msg)) return;
    Prompt recs[3] = {
        {.text = "As the story goes, Mas Zoukrei of the northern valleys speaks", .subject = "Mas Zoukrei"},
        {.text = "As the story goes, Kel Ostra of the northern valleys speaks", .subject = "Kel Ostra"},
        {.text = "As the story goes, Bae Pithlak of the northern valleys speaks", .subject = "Bae Pithlak"},
    };
    SwapPrompt ps[3];
    int *ids[3];
    for (int i = 0; i < 3; i++) {
        recs[i].text_len = strlen(recs[i].text);
        int first, last, n = prompt_tokenize(&recs[i], t, &ids[i], &first, &last, &err);
        ps[i] = trace_swap_prompt(&recs[i], ids[i], n, first, last);
    }
    ok(ps[0].n == 12 && ps[1].n == 14 && ps[2].n == 12, "(the three prompts have 12, 14 and 12 tokens)");
    int *cor = NULL, *want;
    char why[256];
    int q = trace_swap_partner(ps, 3, 0, trace_tokenizer_encode, t, &cor, why, sizeof why, &err);
    int n = tokenizer_encode(t, recs[2].text, recs[2].text_len, &want, NULL, &err);
    ok(q == 2 && n == 12 && !memcmp(cor, want, sizeof *want * (size_t)n),
       "tokenizer: the partner keeps the length; its sentence, encoded");
    free(cor);
    free(want);
    q = trace_swap_partner(ps, 3, 1, trace_tokenizer_encode, t, &cor, why, sizeof why, &err);
    is_int(q, -1, "tokenizer: no two-token subject fits where 'Kel Ostra' takes four");
    for (int i = 0; i < 3; i++) free(ids[i]);
    tokenizer_free(t);
}

int main(void)
{
    const char *srcdir = getenv("KOP_SRCDIR");
    test_noise();
    test_embed_std();
    test_roles();
    test_swap_text();
    test_swap_ids();
    test_swap_tokenizer(srcdir ? srcdir : ".");
    return done_testing();
}
