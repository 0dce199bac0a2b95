/* tokenizer_load.c: tokenizer.json, or vocab.json + merges.txt -> Tokenizer
 * (see tokenizer.h for what is accepted).
 *
 * The order of work: check every setting first (so an unsupported file fails
 * fast and says why), then read the vocabulary into a string -> id hash
 * table, the added tokens, the table of decoded bytes per id, and finally
 * resolve each merge "A B" to (id A, id B) -> (rank, id AB).  The loader's
 * string table borrows json-c's strings and dies with the JSON tree; the
 * Tokenizer keeps its own copy (keep_vocab) for the models that look
 * characters up while encoding.  The pipeline sections and
 * tokenizer_config.json are read in src/tokenizer_parts.c. */
#include "tokenizer_impl.h"

#include <ctype.h>
#include <string.h>
#include <sys/stat.h>

#include "tok_json.h"
#include "tokenizer_parts.h"
#include "unicode.h"

// ---- the byte-level alphabet -----------------------------------------------------

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
 * the other 68 bytes for U+0100 onwards, in byte order. */
static void byte_level_alphabet(uint32_t byte_char[256], int char_byte[324])
{
    for (int c = 0; c < 324; c++) char_byte[c] = -1;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        byte_char[b] = printable ? (uint32_t)b : (uint32_t)(256 + extra++);
        char_byte[byte_char[b]] = b;
    }
}

// ---- string -> id table ----------------------------------------------------------

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

void tokp_strmap_init(StrMap *m, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n) cap *= 2;
    m->v = kop_xcalloc(cap, sizeof *m->v);
    m->mask = cap - 1;
}

int tokp_strmap_put(StrMap *m, const char *s, size_t n, int id)
{
    size_t i = (size_t)str_hash(s, n) & m->mask;
    for (; m->v[i].s; i = (i + 1) & m->mask)
        if (m->v[i].len == n && !memcmp(m->v[i].s, s, n)) return m->v[i].id;
    m->v[i] = (StrEntry){s, n, id};
    return -1;
}

int tokp_strmap_get(const StrMap *m, const char *s, size_t n)
{
    if (!m->v) return -1;
    for (size_t i = (size_t)str_hash(s, n) & m->mask; m->v[i].s; i = (i + 1) & m->mask)
        if (m->v[i].len == n && !memcmp(m->v[i].s, s, n)) return m->v[i].id;
    return -1;
}

// ---- the loader ------------------------------------------------------------------

typedef struct Loader {
    Tokenizer *t;
    const char *path;        /* file being read, for messages */
    const char *vocab_where; /* "model.vocab" or "" (vocab.json) */
    StrMap vocab;
    size_t n_vocab;
    int max_id;
    uint32_t byte_char[256];
    int char_byte[324];
    size_t bytes_n, bytes_cap;
    char *cat;               /* scratch for "A" + "B" */
    size_t cat_cap;
} Loader;

static const char *where_sep(const Loader *L) { return L->vocab_where[0] ? ": " : ""; }

/* Integer member value in [0, TOK_MAX_ID), else -1. */
static int id_value(json_object *v)
{
    if (!json_object_is_type(v, json_type_int)) return -1;
    int64_t id = json_object_get_int64(v);
    return id >= 0 && id < TOK_MAX_ID ? (int)id : -1;
}

static int read_vocab(Loader *L, json_object *vocab, KopError *err)
{
    if (!json_object_is_type(vocab, json_type_object))
        return kop_fail(err, KOP_EXIT_DATA, "%s: %s%sexpected an object mapping tokens to ids",
                        L->path, L->vocab_where, where_sep(L));
    L->n_vocab = (size_t)json_object_object_length(vocab);
    if (L->n_vocab == 0)
        return kop_fail(err, KOP_EXIT_DATA, "%s: %s%sthe vocabulary is empty", L->path, L->vocab_where, where_sep(L));
    tokp_strmap_init(&L->vocab, L->n_vocab);
    json_object_object_foreach(vocab, key, val) {
        int id = id_value(val);
        size_t n = strlen(key);
        if (id < 0)
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s%sthe id of \"%.*s\" should be an integer from 0 to %d",
                            L->path, L->vocab_where, where_sep(L), (int)kop_utf8_prefix(key, n, 60), key, TOK_MAX_ID - 1);
        if (uni_utf8_check(key, n) < n)
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s%stoken %d is not valid UTF-8",
                            L->path, L->vocab_where, where_sep(L), id);
        tokp_strmap_put(&L->vocab, key, n, id);
        if (id > L->max_id) L->max_id = id;
    }
    return 0;
}

/* Append bytes to the decoded-bytes blob as the text of token id. */
static void set_token_bytes(Loader *L, int id, const char *s, size_t n)
{
    Tokenizer *t = L->t;
    if (L->bytes_n + n > L->bytes_cap) {
        while (L->bytes_n + n > L->bytes_cap) L->bytes_cap = L->bytes_cap ? 2 * L->bytes_cap : 1 << 16;
        t->bytes = kop_xrealloc(t->bytes, L->bytes_cap);
    }
    if (n) memcpy(t->bytes + L->bytes_n, s, n);  // s may be NULL for an empty token
    t->tok_start[id] = (uint32_t)L->bytes_n;
    t->tok_len[id] = (uint32_t)n;
    t->known[id] = 1;
    L->bytes_n += n;
}

/* The bytes token s[0..n) stands for, in out (n bytes of room); SIZE_MAX to
 * keep it as it is.  ByteLevel: each character back to its byte (a token
 * with a character outside the alphabet is kept, as Hugging Face's decoder
 * does).  Otherwise "<0xNN>" is byte NN (byte_fallback) and the space mark
 * (Metaspace's "\u2581") a space. */
static size_t token_bytes(const Loader *L, const char *s, size_t n, char *out)
{
    const Tokenizer *t = L->t;
    size_t m = 0, k;
    if (t->byte_level) {
        for (size_t p = 0; p < n; p += k) {
            uint32_t c = uni_decode(s + p, &k);
            if (c >= 324 || L->char_byte[c] < 0) return SIZE_MAX;
            out[m++] = (char)L->char_byte[c];
        }
        return m;
    }
    unsigned hi, lo;
    if (t->byte_fallback && n == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' &&
        sscanf(s + 3, "%1x%1x", &hi, &lo) == 2 && isxdigit((unsigned char)s[3]) && isxdigit((unsigned char)s[4])) {
        out[0] = (char)(hi << 4 | lo);
        return 1;
    }
    for (size_t p = 0; p < n;) {
        if (t->space_mark_len && n - p >= t->space_mark_len && !memcmp(s + p, t->space_mark, t->space_mark_len)) {
            out[m++] = ' ';
            p += t->space_mark_len;
        } else {
            out[m++] = s[p++];
        }
    }
    return m;
}

/* Decoded bytes of every vocabulary token (token_bytes). */
static int fill_token_table(Loader *L, KopError *err)
{
    Tokenizer *t = L->t;
    t->n_ids = L->max_id + 1;
    t->tok_start = kop_xcalloc((size_t)t->n_ids, sizeof *t->tok_start);
    t->tok_len = kop_xcalloc((size_t)t->n_ids, sizeof *t->tok_len);
    t->known = kop_xcalloc((size_t)t->n_ids, 1);
    char *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i <= L->vocab.mask; i++) {
        const StrEntry *e = &L->vocab.v[i];
        if (!e->s) continue;
        if (t->known[e->id]) {
            free(buf);
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s%sid %d is given to two tokens",
                            L->path, L->vocab_where, where_sep(L), e->id);
        }
        if (cap < e->len + 1) buf = kop_xrealloc(buf, cap = 2 * e->len + 1);
        size_t n = token_bytes(L, e->s, e->len, buf);
        if (n == SIZE_MAX) set_token_bytes(L, e->id, e->s, e->len);
        else set_token_bytes(L, e->id, buf, n);
    }
    free(buf);
    for (int b = 0; b < 256; b++) {
        char sym[4];
        t->bpe.byte_id[b] = tokp_strmap_get(&L->vocab, sym, uni_encode(L->byte_char[b], sym));
    }
    return 0;
}

static int add_merge(Loader *L, const char *a, size_t la, const char *b, size_t lb, int rank,
                     size_t index, int line_based, KopError *err)
{
    int ia = tokp_strmap_get(&L->vocab, a, la), ib = tokp_strmap_get(&L->vocab, b, lb);
    if (L->cat_cap < la + lb + 1) L->cat = kop_xrealloc(L->cat, L->cat_cap = 2 * (la + lb + 1));
    memcpy(L->cat, a, la);
    memcpy(L->cat + la, b, lb);
    int iab = tokp_strmap_get(&L->vocab, L->cat, la + lb);
    if (ia >= 0 && ib >= 0 && iab >= 0) {
        bpe_add_merge(&L->t->bpe, ia, ib, rank, iab);
        return 0;
    }
    const char *what = ia < 0 ? a : ib < 0 ? b : L->cat;
    int wlen = (int)(ia < 0 ? la : ib < 0 ? lb : la + lb);
    if (line_based)
        return kop_fail(err, KOP_EXIT_DATA, "%s:%zu: merge \"%.*s %.*s\": \"%.*s\" is not in the vocabulary",
                        L->path, index, (int)la, a, (int)lb, b, wlen, what);
    return kop_fail(err, KOP_EXIT_DATA, "%s: model.merges[%zu]: merge \"%.*s %.*s\": \"%.*s\" is not in the vocabulary",
                    L->path, index, (int)la, a, (int)lb, b, wlen, what);
}

/* "A B": exactly one space between two non-empty tokens. */
static int split_merge(const char *s, size_t n, size_t *sp)
{
    const char *p = memchr(s, ' ', n);
    if (!p || p == s || p == s + n - 1 || memchr(p + 1, ' ', (size_t)(s + n - (p + 1)))) return -1;
    *sp = (size_t)(p - s);
    return 0;
}

static int read_json_merges(Loader *L, json_object *merges, KopError *err)
{
    if (!json_object_is_type(merges, json_type_array))
        return kop_fail(err, KOP_EXIT_DATA, "%s: model.merges: expected an array", L->path);
    size_t n = json_object_array_length(merges);
    bpe_init(&L->t->bpe, n);
    if (fill_token_table(L, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(merges, i);
        const char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0, sp;
        if (json_object_is_type(m, json_type_string)) {
            a = json_object_get_string(m);
            size_t len = (size_t)json_object_get_string_len(m);
            if (split_merge(a, len, &sp) == 0) { b = a + sp + 1; la = sp; lb = len - sp - 1; }
        } else if (json_object_is_type(m, json_type_array) && json_object_array_length(m) == 2) {
            json_object *x = json_object_array_get_idx(m, 0), *y = json_object_array_get_idx(m, 1);
            if (json_object_is_type(x, json_type_string) && json_object_is_type(y, json_type_string)) {
                a = json_object_get_string(x);
                la = (size_t)json_object_get_string_len(x);
                b = json_object_get_string(y);
                lb = (size_t)json_object_get_string_len(y);
            }
        }
        if (!b)
            return kop_fail(err, KOP_EXIT_DATA,
                            "%s: model.merges[%zu]: expected \"A B\" (two tokens and one space) or [\"A\", \"B\"]",
                            L->path, i);
        if (add_merge(L, a, la, b, lb, (int)i, i, 0, err) < 0) return -1;
    }
    return 0;
}

static int read_merges_txt(Loader *L, const char *path, KopError *err)
{
    size_t len;
    char *buf = kop_read_file(path, &len, err);
    if (!buf) return -1;
    L->path = path;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    bpe_init(&L->t->bpe, lines);
    int rank = 0, rc = fill_token_table(L, err);
    size_t lineno = 0;
    for (char *p = buf; rc == 0 && p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        char *end = nl ? nl : buf + len;
        lineno++;
        size_t n = (size_t)(end - p);
        if (n && p[n - 1] == '\r') n--;
        size_t sp;
        if (n == 0 || (n >= 8 && !memcmp(p, "#version", 8))) {
            // blank line or the "#version: 0.2" header
        } else if (uni_utf8_check(p, n) < n) {
            rc = kop_fail(err, KOP_EXIT_DATA, "%s:%zu: not valid UTF-8", path, lineno);
        } else if (split_merge(p, n, &sp) < 0) {
            rc = kop_fail(err, KOP_EXIT_DATA, "%s:%zu: expected a merge \"A B\" (two tokens and one space), got \"%.*s\"",
                          path, lineno, (int)(n > 60 ? 60 : n), p);
        } else {
            rc = add_merge(L, p, sp, p + sp + 1, n - sp - 1, rank++, lineno, 1, err);
        }
        p = end + 1;
    }
    free(buf);
    return rc;
}

// ---- added tokens ----------------------------------------------------------------

static void add_added(Loader *L, AddedSet *set, const char *s, size_t n, int id, int lstrip, int rstrip, int single_word)
{
    set->v = kop_xrealloc(set->v, sizeof *set->v * (size_t)(set->n + 1));
    char *text = kop_xmalloc(n + 1);
    memcpy(text, s, n);
    text[n] = '\0';
    set->v[set->n++] = (AddedTok){text, n, id, (unsigned char)lstrip, (unsigned char)rstrip, (unsigned char)single_word};
    if (id > L->max_id) L->max_id = id;
}

static int bool_member(json_object *o, const char *key, int dflt, int *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v) { *out = dflt; return 0; }
    if (!json_object_is_type(v, json_type_boolean)) return -1;
    *out = json_object_get_boolean(v);
    return 0;
}

static int read_added(Loader *L, json_object *root, KopError *err)
{
    json_object *arr;
    if (!json_object_object_get_ex(root, "added_tokens", &arr) || !arr) return 0;
    if (!json_object_is_type(arr, json_type_array))
        return kop_fail(err, KOP_EXIT_DATA, "%s: added_tokens: expected an array", L->path);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *a = json_object_array_get_idx(arr, i), *idv = NULL;
        size_t n = 0;
        const char *s = json_object_is_type(a, json_type_object) ? tokjson_string(a, "content", &n, NULL) : NULL;
        int id = -1, special, normalized, lstrip, rstrip, single;
        if (s && json_object_object_get_ex(a, "id", &idv)) id = id_value(idv);
        if (!s || n == 0 || uni_utf8_check(s, n) < n || id < 0)
            return kop_fail(err, KOP_EXIT_DATA,
                            "%s: added_tokens[%zu]: expected an object with \"id\" (0 to %d) and \"content\" (non-empty UTF-8)",
                            L->path, i, TOK_MAX_ID - 1);
        if (bool_member(a, "special", 0, &special) < 0 || bool_member(a, "normalized", !special, &normalized) < 0 ||
            bool_member(a, "lstrip", 0, &lstrip) < 0 || bool_member(a, "rstrip", 0, &rstrip) < 0 ||
            bool_member(a, "single_word", 0, &single) < 0)
            return kop_fail(err, KOP_EXIT_DATA,
                            "%s: added_tokens[%zu]: special, normalized, lstrip, rstrip and single_word must be true or false",
                            L->path, i);
        if (normalized && L->t->n_norms) {
            // Matched in the normalized text, so normalized too (as
            // AddedVocabulary does).
            TokText nt = {0};
            toktext_set(&nt, s, n, 0);
            if (toknorm_apply(L->t->norms, L->t->n_norms, &nt, err) < 0) {
                toktext_free(&nt);
                return -1;
            }
            if (nt.n) add_added(L, &L->t->norm, nt.s, nt.n, id, lstrip, rstrip, single);
            toktext_free(&nt);
        } else {
            add_added(L, normalized ? &L->t->norm : &L->t->raw, s, n, id, lstrip, rstrip, single);
        }
    }
    return 0;
}

/* After the token table exists: added tokens decode to their content. */
static void added_token_bytes(Loader *L)
{
    const AddedSet *sets[2] = {&L->t->raw, &L->t->norm};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < sets[k]->n; i++) set_token_bytes(L, sets[k]->v[i].id, sets[k]->v[i].text, sets[k]->v[i].len);
    tokp_added_index(&L->t->raw);
    tokp_added_index(&L->t->norm);
}

// ---- tokenizer.json settings -----------------------------------------------------

/* Model options: byte_fallback, fuse_unk and ignore_merges are read; those
 * kop does not implement must be absent, null, false or empty. */
static int check_model_options(Loader *L, json_object *model, KopError *err)
{
    static const char *const unsupported[] = {"dropout", "continuing_subword_prefix", "end_of_word_suffix"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        json_object *v;
        if (!json_object_object_get_ex(model, unsupported[i], &v) || !v) continue;
        int off = (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) ||
                  (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0) ||
                  ((json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) &&
                   json_object_get_double(v) == 0.0);
        if (!off)
            return kop_fail(err, KOP_EXIT_DATA, "%s: model.%s: %s is not supported", L->path, unsupported[i],
                            json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
    static const char *const flags[] = {"byte_fallback", "fuse_unk", "ignore_merges"};
    int *dest[] = {&L->t->byte_fallback, &L->t->fuse_unk, &L->t->ignore_merges};
    for (int i = 0; i < 3; i++)
        if (bool_member(model, flags[i], 0, dest[i]) < 0)
            return kop_fail(err, KOP_EXIT_DATA, "%s: model.%s: expected true or false", L->path, flags[i]);
    return 0;
}

/* The vocabulary outlives the JSON: strings copied into one blob, and the
 * ids of the byte_fallback tokens "<0xNN>". */
static void keep_vocab(Loader *L)
{
    Tokenizer *t = L->t;
    size_t total = 0;
    for (size_t i = 0; i <= L->vocab.mask; i++) total += L->vocab.v[i].s ? L->vocab.v[i].len + 1 : 0;
    t->vocab_blob = kop_xmalloc(total + 1);
    tokp_strmap_init(&t->vocab, L->n_vocab);
    char *p = t->vocab_blob;
    for (size_t i = 0; i <= L->vocab.mask; i++) {
        const StrEntry *e = &L->vocab.v[i];
        if (!e->s) continue;
        memcpy(p, e->s, e->len);
        p[e->len] = '\0';
        tokp_strmap_put(&t->vocab, p, e->len, e->id);
        p += e->len + 1;
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->fallback_id[b] = tokp_strmap_get(&t->vocab, name, 6);
    }
}

/* The GPT-2 / NeoX form, which the fast path handles: NFC or nothing, one
 * ByteLevel step without a prefix space, plain BPE. */
static void choose_path(Tokenizer *t)
{
    t->fast = t->nfc && t->n_pres == 1 && t->pres[0].kind == TOKP_BYTE_LEVEL && !t->pres[0].add_prefix_space &&
              !t->ignore_merges && !t->byte_fallback && !t->fuse_unk;
    t->split = t->fast && t->pres[0].pattern != NULL;
}

static int read_tokenizer_json(Loader *L, json_object *root, KopError *err)
{
    json_object *model, *vocab, *merges;
    if (!json_object_is_type(root, json_type_object))
        return kop_fail(err, KOP_EXIT_DATA, "%s: expected a JSON object (a Hugging Face tokenizer.json)", L->path);
    if (!json_object_object_get_ex(root, "model", &model) || !json_object_is_type(model, json_type_object))
        return kop_fail(err, KOP_EXIT_DATA, "%s: expected an object \"model\" (a Hugging Face tokenizer.json)", L->path);
    int present;
    const char *type = tokjson_string(model, "type", NULL, &present);
    if (present && (!type || strcmp(type, "BPE")))
        return kop_fail(err, KOP_EXIT_DATA, "%s: model.type \"%s\" is not supported (kop reads BPE tokenizers)",
                        L->path, type ? type : "?");
    if (!json_object_object_get_ex(model, "vocab", &vocab) || !json_object_object_get_ex(model, "merges", &merges))
        return kop_fail(err, KOP_EXIT_DATA, "%s: model: expected \"vocab\" and \"merges\" (a BPE model)", L->path);
    tokp_read_decoder(L->t, root);
    if (tokp_read_normalizer(L->t, L->path, root, err) < 0 || tokp_read_pre_tokenizer(L->t, L->path, root, err) < 0 ||
        tokp_read_post_processor(L->t, L->path, root, err) < 0 || check_model_options(L, model, err) < 0 ||
        read_vocab(L, vocab, err) < 0 || read_added(L, root, err) < 0 || read_json_merges(L, merges, err) < 0)
        return -1;
    size_t n;
    const char *unk = tokjson_string(model, "unk_token", &n, NULL);
    if (unk) L->t->bpe.unk_id = tokp_strmap_get(&L->vocab, unk, n);
    keep_vocab(L);
    if (tokp_read_config(L->t, L->path, err) < 0) return -1;
    const int *sp[2] = {L->t->prefix_ids, L->t->suffix_ids}, ns[2] = {L->t->n_prefix, L->t->n_suffix};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < ns[k]; i++)
            if (sp[k][i] >= L->t->n_ids)
                return kop_fail(err, KOP_EXIT_DATA, "%s: post_processor: special token id %d is not in the vocabulary",
                                L->path, sp[k][i]);
    return 0;
}

// ---- entry points ----------------------------------------------------------------

static Tokenizer *loader_start(Loader *L, const char *source)
{
    memset(L, 0, sizeof *L);
    L->t = kop_xcalloc(1, sizeof *L->t);
    L->t->source = kop_xstrdup(source);
    L->vocab_where = "";
    byte_level_alphabet(L->byte_char, L->char_byte);
    return L->t;
}

static Tokenizer *loader_finish(Loader *L, int rc)
{
    free(L->vocab.v);
    free(L->cat);
    if (rc < 0) {
        tokenizer_free(L->t);
        return NULL;
    }
    added_token_bytes(L);
    choose_path(L->t);
    return L->t;
}

static json_object *read_json_file(const char *path, KopError *err)
{
    size_t len;
    char *buf = kop_read_file(path, &len, err);
    if (!buf) return NULL;
    json_object *root = tokjson_parse(path, 1, buf, len, err);
    free(buf);
    return root;
}

static Tokenizer *load_tokenizer_json(const char *path, KopError *err)
{
    json_object *root = read_json_file(path, err);
    if (!root) return NULL;
    Loader L;
    loader_start(&L, path);
    L.path = path;
    L.vocab_where = "model.vocab";
    int rc = read_tokenizer_json(&L, root, err);
    Tokenizer *t = loader_finish(&L, rc);
    json_object_put(root);
    return t;
}

static Tokenizer *load_pair(const char *vocab_path, const char *merges_path, KopError *err)
{
    json_object *root = read_json_file(vocab_path, err);
    if (!root) return NULL;
    char source[8300];
    snprintf(source, sizeof source, "%s + %s", vocab_path, merges_path);
    Loader L;
    loader_start(&L, source);
    L.path = vocab_path;
    L.t->nfc = 1;
    int rc = tokp_add_byte_level(L.t, 0, 1, err);
    if (rc == 0) rc = read_vocab(&L, root, err);
    if (rc == 0) {
        // GPT-2's end-of-text token, matched in text as transformers does.
        static const char eot[] = "<|endoftext|>";
        int id = tokp_strmap_get(&L.vocab, eot, sizeof eot - 1);
        if (id >= 0) add_added(&L, &L.t->raw, eot, sizeof eot - 1, id, 0, 0, 0);
        rc = read_merges_txt(&L, merges_path, err);
        if (rc == 0) keep_vocab(&L);
    }
    Tokenizer *t = loader_finish(&L, rc);
    json_object_put(root);
    return t;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The tokenizer in folder DIR: its tokenizer.json, else vocab.json with
 * merges.txt.  DIR may be "" (the current folder). */
static Tokenizer *load_dir(const char *dir, const char *named, KopError *err)
{
    char *json = kop_path_join(dir, "tokenizer.json");
    char *vocab = kop_path_join(dir, "vocab.json"), *merges = kop_path_join(dir, "merges.txt");
    Tokenizer *t = NULL;
    if (!named && is_file(json)) t = load_tokenizer_json(json, err);
    else if (named || (is_file(vocab) && is_file(merges))) t = load_pair(vocab, merges, err);
    else kop_fail(err, KOP_EXIT_DATA, "%s: no tokenizer.json, nor vocab.json with merges.txt", dir);
    free(json);
    free(vocab);
    free(merges);
    return t;
}

Tokenizer *tokenizer_load(const char *path, KopError *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        kop_fail_errno(err, "%s: cannot open", path);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) return load_dir(path, NULL, err);
    size_t len;
    const char *base = kop_path_base(path, &len);
    if (!strcmp(base, "vocab.json") || !strcmp(base, "merges.txt")) {
        /* one of the pair names the other, beside it */
        char *dir = kop_xmalloc((size_t)(base - path) + 1);
        memcpy(dir, path, (size_t)(base - path));
        dir[base - path] = '\0';
        Tokenizer *t = load_dir(dir, base, err);
        free(dir);
        return t;
    }
    return load_tokenizer_json(path, err);
}
