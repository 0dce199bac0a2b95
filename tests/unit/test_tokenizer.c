/* test_tokenizer.c: the real GPT-NeoX-20B and GPT-2 tokenizers
 * ($KOP_SHARED/tokenizers) against ids from Hugging Face tokenizers:
 * vectors.json, the tricky strings below, and every prompt of
 * $KOP_SHARED/data/known_1000.json (through a digest); the offsets rule of
 * tokenizer.h and decode round trips on all of them; subjects located in
 * every known_1000 record.
 *
 * The expected ids below and the digests were made with the Hugging Face
 * `tokenizers` 0.23.2 library (the Rust implementation, through its Node
 * binding): Tokenizer.fromFile(tokenizer.json).encode(text, null,
 * {addSpecialTokens: false}).getIds(); for GPT-2 from a tokenizer.json built
 * from vocab.json + merges.txt (ByteLevel pre-tokenizer and decoder, no
 * normalizer, "<|endoftext|>" as a special added token).
 *
 * Everything on the ids runs twice: through the GPT-2 fast path
 * (src/pretok.h, BPE over bytes) and through the general one (the crate's
 * GPT-2 pattern run by Oniguruma, byte-level characters, the character BPE),
 * which proves the fast path equal to the general one on all of it. */
#include "tap.h"

#include <json-c/json.h>

#include "prompts.h"
#include "tokenizer.h"
#include "tokenizer_impl.h"
#include "unicode.h"

enum { NEOX, GPT2 };
static const char *names[2] = {"gpt-neox-20b", "gpt2"};
static const char *const fast_names[2] = {"gpt-neox-20b", "gpt2"};
static const char *const general_names[2] = {"gpt-neox-20b (general path)", "gpt2 (general path)"};

static const struct {
    const char *text;
    const char *ids[2];  /* NEOX, GPT2 */
} extra[] = {
    {"e\xcc\x81 caf\xc3\xa9 cafe\xcc\x81 A\xcc\x8a",
     {"860 36241 36241 17732", "68 136 223 40304 26725 136 223 317 136 232"}},
    {"\xe2\x84\xab\xe2\x84\xa6 \xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8 \xea\xb0\x80\xe1\x86\xa8",
     {"18221 138 104 42984 212 42984 212", "158 226 104 158 226 99 28053 226 222 157 227 94 157 228 101 220 166 108 222 157 228 101"}},
    {"x  y   z    w     v",
     {"89 50276 90 50275 91 50274 88 50273 87", "87 220 331 220 220 1976 220 220 220 266 220 220 220 220 410"}},
    {"a\xc2\xa0""b\xe3\x80\x80""c\xe2\x80\xa8""d\xc2\x85""e\xe2\x80\x89""f",
     {"66 575 67 19409 68 40702 69 16643 70 1186 71", "64 1849 65 5099 222 66 447 101 67 126 227 68 447 231 69"}},
    {"It's 'quoted' they'RE we'll I'd don't 'S",
     {"1147 434 686 371 4225 8 597 8 1848 359 1833 309 1871 1053 626 686 52", "1026 338 705 421 5191 6 484 6 2200 356 1183 314 1549 836 470 705 50"}},
    {"\xd9\xa3\xd9\xa4 \xc2\xb2\xc2\xbd \xe2\x85\xab \xef\xbc\x91\xef\xbc\x92 123456789",
     {"149 98 149 99 1191 112 8313 3384 216 106 209 41870 3193 229 1249 16767 43784", "149 96 149 97 1587 110 23141 2343 227 104 27332 120 239 171 120 240 17031 2231 3134 4531"}},
    {"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xf0\x9f\x87\xab\xf0\x9f\x87\xb7",
     {"14931 228 104 325 224 14931 228 104 325 224 14931 228 102 22692 218 106 14931 218 117", "41840 102 447 235 41840 102 447 235 41840 100 12520 229 104 8582 229 115"}},
    {"<|endoftext|>Hello<|padding|> <|endoftext|",
     {"0 12092 1 654 93 423 1171 1156 93", "50256 15496 27 91 39231 91 29 1279 91 437 1659 5239 91"}},
    {"trailing spaces   ",
     {"7604 4837 8470 50275", "9535 4386 9029 220 220 220"}},
    {"\x0a\x0a\x0a  \x09 \x0d\x0a x",
     {"2756 50276 186 209 2379 1269", "628 198 220 220 197 220 201 198 2124"}},
    {"https://example.org/a?b=c&d=e#f",
     {"3614 1358 11667 15 2061 16 66 32 67 30 68 7 69 30 70 4 71", "5450 1378 20688 13 2398 14 64 30 65 28 66 5 67 28 68 2 69"}},
    {"Stra\xc3\x9f""e \xc7\x85""emal \xce\xa9mega na\xc3\xafve",
     {"35562 44366 209 131 216 358 267 1454 104 3937 36060", "41347 39683 68 220 131 227 368 282 7377 102 13731 41492"}},
    {"\xe0\xa5\x98\xe0\xbd\xb3\xcd\x84",
     {"24381 2483 122 49233 111 49233 112 136 219 136 212", "24231 246 156 121 111 137 226"}},
    {"   ",
     {"50275", "220 220 220"}},
    {" ",
     {"209", "220"}},
    {"\x0a",
     {"187", "198"}},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     {"49642 49642 49642 23342 5781", "24794 24794 24794 24794 24794 24794 24794 7252"}},
    {"!!!???...,,,;;;",
     {"15844 33186 16206 19396 12723 28", "10185 28358 986 9832 11 7665 26"}},
    {"x\xcc\x81\xcc\x81y",
     {"89 136 212 136 212 90", "87 136 223 136 223 88"}},
    {"\xe7\x94\x9f\xe6\xb4\xbb\xe7\x9a\x84\xe7\x9c\x9f\xe8\xb0\x9b\xe6\x98\xaf \xe5\x92\x8c\xe5\xb9\xb3",
     {"20025 46549 5225 48561 33656 238 12105 209 21458 44084", "37955 162 112 119 21410 40367 253 164 108 249 42468 10263 240 234 33176 111"}},
    {"mixed123abc 456def",
     {"37340 10683 19758 38094 1545", "76 2966 10163 39305 604 3980 4299"}},
    {"  Hello",
     {"50276 12092", "220 18435"}},
};

/* FNV-1a over every id of every known_1000 prompt (4 bytes little-endian),
 * with 0xFFFFFFFF after each prompt, and the total number of ids. */
static const unsigned long long known_digest[2] = {0x477990ba09bbb866ull, 0xbc779be950cae206ull};
static const long known_ids[2] = {11905, 11697};

static unsigned long long fnv_u32(unsigned long long h, unsigned v)
{
    for (int k = 0; k < 4; k++) h = (h ^ ((v >> (8 * k)) & 0xFF)) * 0x100000001b3ull;
    return h;
}

static const char *ids_str(const int *ids, int n)
{
    static char buf[8192];
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k < sizeof buf - 16; i++) k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%d", i ? " " : "", ids[i]);
    return buf;
}

static int is_cont(const char *s, size_t len, size_t i) { return i < len && ((unsigned char)s[i] & 0xC0) == 0x80; }

/* The offsets rule of tokenizer.h.  Always: spans tile the text on character
 * boundaries, and the decoded ids are NFC(text) (or text, for GPT-2).  When
 * that is the text itself, token k decodes to text[d_k, d_k+1) and its span
 * must be [up(d_k), up(d_k+1)), up() moving forward to a character boundary:
 * each token covers the characters whose first byte it produced. */
static int offsets_ok(const Tokenizer *t, int normalize, const char *text, size_t len,
                      const int *ids, const TokSpan *offs, int n, const char **why)
{
    size_t pos = 0, d = 0, nn, *origin, dl;
    for (int k = 0; k < n; k++) {
        if (offs[k].start != pos || offs[k].end < offs[k].start) { *why = "spans do not tile the text"; return 0; }
        if (is_cont(text, len, offs[k].end)) { *why = "a span ends inside a character"; return 0; }
        pos = offs[k].end;
    }
    if (pos != len) { *why = "spans do not cover the text"; return 0; }
    char *norm = uni_nfc(text, len, 0, normalize, &nn, &origin);
    KopError err;
    char *dec = tokenizer_decode(t, ids, n, &dl, &err);
    int good = dec && dl == nn && !memcmp(dec, norm, nn);
    if (!good) *why = "decoded ids differ from the (normalized) text";
    for (int k = 0; good && nn == len && !memcmp(norm, text, len) && k < n; k++) {
        size_t tl, a = d, b;
        tokenizer_token(t, ids[k], &tl);
        d += tl;
        b = d;
        while (is_cont(text, len, a)) a++;
        while (is_cont(text, len, b)) b++;
        if (offs[k].start != a || offs[k].end != b) { good = 0; *why = "a span is not the characters its token starts"; }
    }
    free(dec);
    free(norm);
    free(origin);
    return good;
}

static void check_text(const Tokenizer *t, int which, const char *label, const char *text, const char *want)
{
    int *ids;
    TokSpan *offs;
    KopError err = {0, ""};
    const char *why = "";
    int n = tokenizer_encode(t, text, strlen(text), &ids, &offs, &err);
    if (!ok(n >= 0, "%s: %s encodes", names[which], label)) { diag("%s", err.msg); return; }
    is_str(ids_str(ids, n), want, "%s: %s: ids as Hugging Face's", names[which], label);
    if (!ok(offsets_ok(t, which == NEOX, text, strlen(text), ids, offs, n, &why), "%s: %s: offsets rule",
            names[which], label))
        diag("%s", why);
    free(ids);
    free(offs);
}

static void check_vectors(Tokenizer *const tok[2], const char *path)
{
    KopError err;
    size_t len;
    char *buf = kop_read_file(path, &len, &err);
    json_object *root = buf ? json_tokener_parse(buf) : NULL, *vectors;
    free(buf);
    if (!ok(root && json_object_object_get_ex(root, "vectors", &vectors), "vectors.json read")) return;
    int nv = (int)json_object_array_length(vectors);
    ok(nv >= 14, "vectors.json has %d vectors", nv);
    for (int i = 0; i < nv; i++) {
        json_object *v = json_object_array_get_idx(vectors, i), *text, *want;
        json_object_object_get_ex(v, "text", &text);
        for (int w = 0; w < 2; w++) {
            json_object_object_get_ex(v, fast_names[w], &want);
            int n = (int)json_object_array_length(want), *ids = kop_xmalloc(sizeof(int) * (size_t)(n + 1));
            for (int k = 0; k < n; k++) ids[k] = json_object_get_int(json_object_array_get_idx(want, k));
            char label[64], expect[8192];
            snprintf(label, sizeof label, "vector %d", i);
            snprintf(expect, sizeof expect, "%s", ids_str(ids, n));
            check_text(tok[w], w, label, json_object_get_string(text), expect);
            free(ids);
        }
    }
    json_object_put(root);
}

/* Every known_1000 prompt: ids digest, offsets rule, subject located. */
static void check_known(const Tokenizer *t, int which, const PromptSet *ps)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    long total = 0;
    int bad_offsets = 0, bad_subject = 0, bad_encode = 0;
    const char *why = "";
    for (int i = 0; i < ps->n; i++) {
        const Prompt *p = &ps->v[i];
        int *ids, first, last;
        TokSpan *offs;
        KopError err;
        int n = tokenizer_encode(t, p->text, p->text_len, &ids, &offs, &err);
        if (n < 0) { bad_encode++; continue; }
        for (int k = 0; k < n; k++) h = fnv_u32(h, (unsigned)ids[k]);
        h = fnv_u32(h, 0xFFFFFFFFu);
        total += n;
        if (!offsets_ok(t, which == NEOX, p->text, p->text_len, ids, offs, n, &why)) {
            if (bad_offsets++ < 3) diag("record %d: %s", p->record, why);
        }
        size_t a, b;
        // The subject tokens cover the subject, and their neighbours do not touch it.
        if (prompt_subject_tokens(p, offs, n, &first, &last, &err) < 0 || prompt_subject_span(p, &a, &b) < 0 ||
            offs[first].start > a || offs[last].end < b ||
            (first > 0 && tokspan_overlaps(offs[first - 1], a, b)) ||
            (last + 1 < n && tokspan_overlaps(offs[last + 1], a, b))) {
            if (bad_subject++ < 3) diag("record %d: subject \"%s\" not located", p->record, p->subject);
        }
        free(ids);
        free(offs);
    }
    is_int(bad_encode, 0, "%s: known_1000: every prompt encodes", names[which]);
    ok(h == known_digest[which] && total == known_ids[which],
       "%s: known_1000: ids of all %d prompts as Hugging Face's (%ld ids)", names[which], ps->n, total);
    is_int(bad_offsets, 0, "%s: known_1000: offsets rule and decode round trip on every prompt", names[which]);
    is_int(bad_subject, 0, "%s: known_1000: subject located in every record", names[which]);
}

int main(void)
{
    char root[4096], path[4200];
    snprintf(root, sizeof root, "%s", shared_dir_or_skip("tokenizers/vectors.json"));
    *strrchr(root, '/') = '\0';
    Tokenizer *tok[2];
    KopError err = {0, ""};
    for (int pass = 0; pass < 2; pass++) {
    names[0] = pass ? general_names[0] : fast_names[0];
    names[1] = pass ? general_names[1] : fast_names[1];
    for (int w = 0; w < 2; w++) {
        snprintf(path, sizeof path, "%s/%s", root, fast_names[w]);
        tok[w] = tokenizer_load(path, &err);
        if (!ok(tok[w] != NULL, "%s loads from its directory", names[w])) {
            diag("%s", err.msg);
            return done_testing();
        }
        if (pass) tokp_disable_fast_path(tok[w]);
    }
    ok(strstr(tokenizer_source(tok[NEOX]), "tokenizer.json") != NULL, "gpt-neox-20b: read tokenizer.json");
    ok(strstr(tokenizer_source(tok[GPT2]), "merges.txt") != NULL, "gpt2: read vocab.json + merges.txt");
    is_int(tokenizer_n_ids(tok[NEOX]), 50277, "gpt-neox-20b: 50277 ids (50254 + added tokens)");
    is_int(tokenizer_n_ids(tok[GPT2]), 50257, "gpt2: 50257 ids");

    snprintf(path, sizeof path, "%s/vectors.json", root);
    check_vectors(tok, path);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "extra string %zu", i);
        for (int w = 0; w < 2; w++) check_text(tok[w], w, label, extra[i].text, extra[i].ids[w]);
    }

    // Decoding: single tokens, and an id outside the vocabulary.
    size_t len;
    const char *b = tokenizer_token(tok[GPT2], 18435, &len);
    ok(b && len == 6 && !memcmp(b, " Hello", 6), "gpt2: token 18435 decodes to \" Hello\"");
    b = tokenizer_token(tok[NEOX], 50276, &len);
    ok(b && len == 2 && !memcmp(b, "  ", 2), "gpt-neox-20b: added token 50276 decodes to two spaces");
    int bad_ids[2] = {12092, 60000};
    ok(!tokenizer_decode(tok[NEOX], bad_ids, 2, &len, &err) && strstr(err.msg, "60000"),
       "decode of an unknown id fails: %s", err.msg);
    ok(!tokenizer_token(tok[NEOX], -1, &len) && !tokenizer_token(tok[NEOX], 50277, &len), "no token for -1 or 50277");

    // The same files through their file names.
    snprintf(path, sizeof path, "%s/gpt2/merges.txt", root);
    Tokenizer *t2 = tokenizer_load(path, &err);
    int *ids;
    ok(t2 && tokenizer_encode(t2, "Hello world", 11, &ids, NULL, &err) == 2 && ids[1] == 995,
       "gpt2 loads from merges.txt's path");
    if (t2) free(ids);
    tokenizer_free(t2);

    // known_1000: every record loads, every subject is found.
    snprintf(path, sizeof path, "%s/../data/known_1000.json", root);
    PromptSet *ps = prompts_load(path, &err);
    if (ok(ps != NULL, "known_1000.json loads")) {
        is_int(ps->n, 1209, "known_1000.json: 1209 records");
        is_int(ps->n_skipped, 0, "known_1000.json: no record skipped");
        is_str(ps->v[0].target, " Antarctica", "known_1000.json: the attribute is the target, with a space");
        int *kid, first = -1, last = -1;
        int n = prompt_tokenize(&ps->v[0], tok[NEOX], &kid, &first, &last, &err);
        ok(n == 10 && first == 0 && last == 3, "gpt-neox-20b: \"Vinson Massif\" is tokens 0..3 of record 0");
        if (n >= 0) free(kid);
        is_int(prompt_target_token(&ps->v[0], tok[GPT2], &err), 30185, "gpt2: target \" Antarctica\" is token 30185");
        for (int w = 0; w < 2; w++) check_known(tok[w], w, ps);
        prompts_free(ps);
    } else {
        diag("%s", err.msg);
    }
    tokenizer_free(tok[NEOX]);
    tokenizer_free(tok[GPT2]);
    }
    return done_testing();
}
