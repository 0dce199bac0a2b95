/* test_tokenizer_files.c: tokenizer files written by the test (no shared
 * files needed).  A tiny byte-level BPE tokenizer.json exercises merge
 * ranks, added tokens (special, normalized, longest first, lstrip, rstrip,
 * single_word) and offsets through NFC; its expected ids were checked against
 * Hugging Face tokenizers 0.23.2 on the same file.  Then malformed and
 * unsupported files, which must fail with a message naming the file and the
 * place, and status 1 (2 for a path that does not exist). */
#include "tap.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokenizer.h"

static char dir[256];

static const char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static const char *write_file(const char *name, const char *text, size_t len)
{
    if (len == (size_t)-1) len = strlen(text);
    const char *p = path_of(name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) KOP_ABORT("cannot write %s", p);
    return p;
}

// ---- building tokenizer.json -----------------------------------------------------

/* The pieces of a tokenizer.json; NULL fields take the tiny tokenizer's. */
typedef struct Spec {
    const char *normalizer, *pre, *decoder, *post, *model_type, *model_extra;
    const char *vocab_extra, *merges, *added;
    int drop_byte;  /* byte whose symbol is left out of the vocabulary, or -1 */
} Spec;

static const char *const tiny_vocab =
    "\"he\": 256, \"ll\": 257, \"hell\": 258, \"hello\": 259, \"lo\": 260, \"\\u0120w\": 261";
static const char *const tiny_merges = "\"h e\", \"l l\", \"l o\", \"he ll\", \"hell o\", \"\\u0120 w\"";
static const char *const tiny_added =
    "{\"id\": 262, \"content\": \"<s>\", \"special\": true, \"normalized\": false},"
    "{\"id\": 263, \"content\": \"  \", \"special\": false, \"normalized\": true},"
    "{\"id\": 264, \"content\": \"   \", \"special\": false, \"normalized\": true},"
    "{\"id\": 265, \"content\": \"e\\u0301\", \"special\": false, \"normalized\": true},"
    "{\"id\": 266, \"content\": \"[L]\", \"normalized\": false, \"lstrip\": true},"
    "{\"id\": 267, \"content\": \"[R]\", \"normalized\": false, \"rstrip\": true},"
    "{\"id\": 268, \"content\": \"[W]\", \"normalized\": false, \"single_word\": true}";

static void cat(char **buf, size_t *n, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(*buf + *n, *cap - *n, fmt, ap);
        va_end(ap);
        if ((size_t)k < *cap - *n) { *n += (size_t)k; return; }
        *buf = kop_xrealloc(*buf, *cap *= 2);
    }
}

/* The 256 byte-level symbols (GPT-2's bytes_to_unicode) as "\uXXXX": b. */
static void byte_symbols(char **buf, size_t *n, size_t *cap, int drop)
{
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        int c = printable ? b : 256 + extra++;
        if (b != drop) cat(buf, n, cap, "%s\"\\u%04x\": %d", b ? ", " : "", c, b);
    }
}

static char *make_json(const Spec *s)
{
    size_t n = 0, cap = 1 << 14;
    char *buf = kop_xmalloc(cap);
    cat(&buf, &n, &cap, "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,\n"
                        " \"added_tokens\": [%s],\n \"normalizer\": %s,\n \"pre_tokenizer\": %s,\n"
                        " \"post_processor\": %s,\n \"decoder\": %s,\n"
                        " \"model\": {\"type\": %s, \"dropout\": null, \"unk_token\": null, %s \"vocab\": {",
        s->added ? s->added : tiny_added, s->normalizer ? s->normalizer : "{\"type\": \"NFC\"}",
        s->pre ? s->pre : "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}",
        s->post ? s->post : "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true}",
        s->decoder ? s->decoder : "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true}",
        s->model_type ? s->model_type : "\"BPE\"", s->model_extra ? s->model_extra : "");
    byte_symbols(&buf, &n, &cap, s->drop_byte);
    cat(&buf, &n, &cap, ", %s},\n \"merges\": [%s]}}\n", s->vocab_extra ? s->vocab_extra : tiny_vocab,
        s->merges ? s->merges : tiny_merges);
    return buf;
}

static const char *write_spec(const char *name, const Spec *s)
{
    char *json = make_json(s);
    const char *p = write_file(name, json, strlen(json));
    free(json);
    return p;
}

// ---- encoding with the tiny tokenizer --------------------------------------------

static void encodes(const Tokenizer *t, const char *text, const char *want_ids, const char *want_offs)
{
    int *ids;
    TokSpan *offs;
    KopError err = {0, ""};
    char got[1024] = "", got_offs[1024] = "";
    int n = tokenizer_encode(t, text, strlen(text), &ids, &offs, &err);
    size_t k = 0, m = 0;
    for (int i = 0; i < n; i++) {
        k += (size_t)snprintf(got + k, sizeof got - k, "%s%d", i ? " " : "", ids[i]);
        m += (size_t)snprintf(got_offs + m, sizeof got_offs - m, "%s%zu:%zu", i ? " " : "", offs[i].start, offs[i].end);
    }
    is_str(got, want_ids, "tiny: ids of \"%s\"", text);
    if (want_offs) is_str(got_offs, want_offs, "tiny: offsets of \"%s\"", text);
    if (n >= 0) {
        free(ids);
        free(offs);
    }
}

static void tiny_tokenizer(void)
{
    Spec s = {.drop_byte = -1};
    KopError err = {0, ""};
    Tokenizer *t = tokenizer_load(write_spec("tokenizer.json", &s), &err);
    if (!ok(t != NULL, "the tiny tokenizer.json loads")) {
        diag("%s", err.msg);
        return;
    }
    is_int(tokenizer_n_ids(t), 269, "tiny: 269 ids");
    encodes(t, "hello", "259", "0:5");                       // h e -> he, l l -> ll, he ll, hell o
    encodes(t, "llo", "257 111", "0:2 2:3");                 // l l (rank 1) before l o (rank 2)
    encodes(t, "lo", "260", NULL);
    encodes(t, "hello world", "259 261 111 114 108 100", "0:5 5:7 7:8 8:9 9:10 10:11");
    encodes(t, "<s>hello", "262 259", "0:3 3:8");            // special token in the text
    encodes(t, "a   b", "97 264 98", "0:1 1:4 4:5");         // longest added token first
    encodes(t, "a    b", "97 264 32 98", "0:1 1:4 4:5 5:6");
    encodes(t, "cafe\xcc\x81", "99 97 102 265", "0:1 1:2 2:3 3:6");     // matched after NFC
    encodes(t, "caf\xc3\xa9", "99 97 102 265", "0:1 1:2 2:3 3:5");
    encodes(t, "x [L]", "120 266", "0:1 1:5");               // lstrip takes the space
    encodes(t, "x  [L]y", "120 266 121", "0:1 1:6 6:7");
    encodes(t, "[R] x", "267 120", "0:4 4:5");               // rstrip
    encodes(t, "a[W]b", "97 91 87 93 98", NULL);             // single_word: not inside a word
    encodes(t, "a [W] b", "97 32 268 32 98", "0:1 1:2 2:5 5:6 6:7");
    encodes(t, "\xe2\x82\xac", "226 130 172", "0:3 3:3 3:3"); // a character split over 3 tokens
    encodes(t, "", "", "");

    int ids[3] = {259, 264, 265};
    size_t len;
    char *d = tokenizer_decode(t, ids, 3, &len, &err);
    ok(d && len == 10 && !memcmp(d, "hello   \xc3\xa9", 10), "tiny: decode gives the added tokens' content");
    free(d);

    int *out;
    ok(tokenizer_encode(t, "ab\xc3(", 4, &out, NULL, &err) < 0 && err.status == KOP_EXIT_DATA &&
       strstr(err.msg, "invalid UTF-8 at byte 2"), "tiny: invalid UTF-8 is an error: %s", err.msg);
    tokenizer_free(t);

    // Without the regex, and without NFC: one piece; e + U+0301 is not "é".
    s.pre = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}";
    s.normalizer = "null";
    t = tokenizer_load(write_spec("noregex.json", &s), &err);
    if (ok(t != NULL, "tiny without regex or normalizer loads")) {
        encodes(t, "hello world", "259 261 111 114 108 100", NULL);
        encodes(t, "cafe\xcc\x81", "99 97 102 265", "0:1 1:2 2:3 3:6");  // the token's content is not NFC'd
        encodes(t, "caf\xc3\xa9", "99 97 102 195 169", "0:1 1:2 2:3 3:5 5:5");
        tokenizer_free(t);
    }

    // A byte with no token: an error when it is met, not at load.
    s = (Spec){.drop_byte = 'z'};
    t = tokenizer_load(write_spec("noz.json", &s), &err);
    if (ok(t != NULL, "tiny without 'z' loads")) {
        ok(tokenizer_encode(t, "a z", 3, &out, NULL, &err) < 0 && strstr(err.msg, "byte 0x7a at offset 2 has no token"),
           "a byte without a token is an error: %s", err.msg);
        tokenizer_free(t);
    }
}

// ---- vocab.json + merges.txt -----------------------------------------------------

static void pair_files(void)
{
    size_t n = 0, cap = 1 << 13;
    char *v = kop_xmalloc(cap);
    cat(&v, &n, &cap, "{");
    byte_symbols(&v, &n, &cap, -1);
    cat(&v, &n, &cap, ", \"he\": 256, \"<|endoftext|>\": 257}");
    mkdir(path_of("pair"), 0700);
    write_file("pair/vocab.json", v, n);
    free(v);
    const char *merges = "#version: 0.2\nh e\r\n\n";
    write_file("pair/merges.txt", merges, strlen(merges));
    KopError err = {0, ""};
    Tokenizer *t = tokenizer_load(path_of("pair"), &err);
    if (ok(t != NULL, "a directory with vocab.json + merges.txt loads")) {
        encodes(t, "he<|endoftext|>h", "256 257 104", "0:2 2:15 15:16");
        tokenizer_free(t);
    } else {
        diag("%s", err.msg);
    }
}

// ---- malformed and unsupported files ---------------------------------------------

static void fails_with(const char *path, int status, const char *want, const char *what)
{
    KopError err = {0, ""};
    Tokenizer *t = tokenizer_load(path, &err);
    // Every message names a file (in the test's folder).
    ok(!t && err.status == status && strstr(err.msg, want) && strstr(err.msg, dir), "%s: %s", what, err.msg);
    tokenizer_free(t);
}

static void spec_fails(Spec s, const char *want, const char *what)
{
    if (!s.drop_byte) s.drop_byte = -1;
    fails_with(write_spec("bad.json", &s), KOP_EXIT_DATA, want, what);
}

static void text_fails(const char *text, const char *want, const char *what)
{
    fails_with(write_file("bad.json", text, strlen(text)), KOP_EXIT_DATA, want, what);
}

static void malformed(void)
{
    text_fails("{ \"model\": nope }", "bad.json:1:13: invalid JSON", "not JSON (with line and column)");
    text_fails("{\n \"model\": {\"vocab\": {\"a\"", "bad.json:2:", "truncated JSON");
    text_fails("{} {}", "unexpected text after the JSON value", "two JSON values");
    text_fails("[1, 2]", "expected a JSON object", "a list instead of an object");
    text_fails("{\"version\": \"1.0\"}", "expected an object \"model\"", "no model");
    text_fails("", "invalid JSON", "an empty file");
    spec_fails((Spec){.model_type = "\"WordPiece\""}, "model.type \"WordPiece\" is not supported", "a WordPiece model");
    spec_fails((Spec){.model_type = "\"Unigram\""}, "model.type \"Unigram\" is not supported", "a Unigram model");
    spec_fails((Spec){.normalizer = "{\"type\": \"Lowercase\"}"},
               "normalizer: normalizer type \"Lowercase\" is not supported", "a Lowercase normalizer");
    spec_fails((Spec){.normalizer = "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}]}"},
               "normalizer.normalizers[0]: normalizer type \"NFKC\"", "NFKC in a Sequence");
    spec_fails((Spec){.pre = "{\"type\": \"BertPreTokenizer\"}"},
               "pre_tokenizer: pre-tokenizer type \"BertPreTokenizer\" is not supported", "a BERT pre-tokenizer");
    spec_fails((Spec){.pre = "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\"}, {\"type\": \"UnicodeScripts\"}]}"},
               "pre_tokenizer.pretokenizers[1]: pre-tokenizer type \"UnicodeScripts\"", "UnicodeScripts in a Sequence");
    spec_fails((Spec){.pre = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Sideways\"}"},
               "pre_tokenizer.behavior: \"Sideways\" is not one of", "an unknown split behaviour");
    spec_fails((Spec){.pre = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a\"}, \"behavior\": \"Isolated\"}"},
               "pre_tokenizer.pattern: the pattern \"(a\" does not compile (Oniguruma:", "a regex that does not compile");
    spec_fails((Spec){.pre = "{\"type\": \"Split\", \"pattern\": \"a\", \"behavior\": \"Isolated\"}"},
               "pre_tokenizer.pattern: expected {\"String\": ...} or {\"Regex\": ...}", "a bare pattern string");
    spec_fails((Spec){.pre = "{\"type\": \"Metaspace\", \"replacement\": \"ab\"}"},
               "pre_tokenizer.replacement: expected one character", "a Metaspace replacement of two characters");
    spec_fails((Spec){.post = "{\"type\": \"TemplateProcessing\"}"}, "post_processor.single: expected an array",
               "a template without single");
    spec_fails((Spec){.post = "{\"type\": \"BertProcessing\"}"}, "post_processor: post-processor type \"BertProcessing\"",
               "a BERT post-processor");
    spec_fails((Spec){.post = "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<x>\", \"type_id\": 0}}, "
                              "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\": {}}"},
               "post_processor.special_tokens: no \"ids\" for \"<x>\"", "a template token without ids");
    spec_fails((Spec){.post = "{\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\": {\"id\": \"B\", \"type_id\": 0}}]}"},
               "post_processor.single[0]: expected the sequence $A once", "a template over $B");
    spec_fails((Spec){.model_extra = "\"dropout\": 0.1,"}, "model.dropout: 0.1 is not supported", "BPE dropout");
    spec_fails((Spec){.model_extra = "\"end_of_word_suffix\": \"</w>\","}, "model.end_of_word_suffix", "a word suffix");
    spec_fails((Spec){.model_extra = "\"byte_fallback\": 1,"}, "model.byte_fallback: expected true or false",
               "byte_fallback not a boolean");
    spec_fails((Spec){.model_extra = "\"continuing_subword_prefix\": \"##\","}, "model.continuing_subword_prefix",
               "a subword prefix");
    spec_fails((Spec){.vocab_extra = "\"he\": -3"}, "the id of \"he\" should be an integer", "a negative id");
    spec_fails((Spec){.vocab_extra = "\"he\": \"256\""}, "the id of \"he\" should be an integer", "an id as a string");
    spec_fails((Spec){.vocab_extra = "\"he\": 99999999"}, "should be an integer from 0 to 16777215", "an id too large");
    spec_fails((Spec){.vocab_extra = "\"he\": 5", .merges = "\"h e\""}, "id 5 is given to two tokens", "a duplicate id");
    spec_fails((Spec){.merges = "\"h e\", \"hello\""}, "model.merges[1]: expected \"A B\"", "a merge without a space");
    spec_fails((Spec){.merges = "\"h  e\""}, "model.merges[0]: expected \"A B\"", "a merge with two spaces");
    spec_fails((Spec){.merges = "[\"h\", 3]"}, "model.merges[0]: expected", "a merge pair with a number");
    spec_fails((Spec){.merges = "\"h e\", \"zz q\""}, "model.merges[1]: merge \"zz q\": \"zz\" is not in the vocabulary",
               "a merge of an unknown token");
    spec_fails((Spec){.merges = "[\"h\", \"x\"]"}, "merge \"h x\": \"hx\" is not in the vocabulary",
               "a merge whose result is unknown");
    spec_fails((Spec){.added = "{\"id\": 300}"}, "added_tokens[0]: expected an object with \"id\"", "an added token without content");
    spec_fails((Spec){.added = "{\"id\": 300, \"content\": \"x\", \"lstrip\": 1}"}, "added_tokens[0]: special, normalized",
               "a flag that is not a boolean");
    text_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, "
               "\"decoder\": {\"type\": \"ByteLevel\"}}",
               "model.vocab: expected an object", "a vocab that is a list");
    text_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, "
               "\"decoder\": {\"type\": \"ByteLevel\"}}",
               "the vocabulary is empty", "an empty vocab");
    text_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": {}}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, "
               "\"decoder\": {\"type\": \"ByteLevel\"}}",
               "model.merges: expected an array", "merges that are an object");
    text_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\xff\": 0}, \"merges\": []}, "
               "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}}",
               "model.vocab: token 0 is not valid UTF-8", "a vocab token that is not UTF-8");

    // The vocab.json + merges.txt pair.
    mkdir(path_of("badpair"), 0700);
    write_file("badpair/vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}", (size_t)-1);
    write_file("badpair/merges.txt", "#version: 0.2\na b\nabc\n", (size_t)-1);
    fails_with(path_of("badpair"), KOP_EXIT_DATA, "merges.txt:3: expected a merge \"A B\"", "merges.txt with a bad line");
    write_file("badpair/merges.txt", "a b\nb q\n", (size_t)-1);
    fails_with(path_of("badpair"), KOP_EXIT_DATA, "merges.txt:2: merge \"b q\": \"q\" is not in the vocabulary",
               "merges.txt with an unknown token");
    write_file("badpair/merges.txt", "a \xff\n", (size_t)-1);
    fails_with(path_of("badpair"), KOP_EXIT_DATA, "merges.txt:1: not valid UTF-8", "merges.txt with bad UTF-8");
    unlink(path_of("badpair/merges.txt"));
    fails_with(path_of("badpair"), KOP_EXIT_DATA, "no tokenizer.json, nor vocab.json with merges.txt",
               "a directory without tokenizer files");
    fails_with(path_of("badpair/vocab.json"), KOP_EXIT_USAGE, "merges.txt: cannot open", "vocab.json without merges.txt");
    write_file("badpair/vocab.json", "[\"a\"]", (size_t)-1);
    fails_with(path_of("badpair/vocab.json"), KOP_EXIT_DATA, "expected an object mapping tokens to ids",
               "vocab.json that is a list");
    fails_with(path_of("does-not-exist"), KOP_EXIT_USAGE, "cannot open", "a path that does not exist");
}

static void cleanup(void)
{
    static const char *const names[] = {"tokenizer.json", "noregex.json", "noz.json", "bad.json", "pair/vocab.json",
                                        "pair/merges.txt", "pair", "badpair/vocab.json", "badpair"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(path_of(names[i]));
    rmdir(dir);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/kop-tok-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) KOP_ABORT("mkdtemp failed");
    tiny_tokenizer();
    pair_files();
    malformed();
    cleanup();
    return done_testing();
}
