/* tokenizer_parts.c: the pipeline sections of a tokenizer.json (normalizer,
 * pre_tokenizer, decoder, post_processor) and the tokenizer_config.json
 * beside it -> Tokenizer fields.  Each component the crate defines and kop
 * reproduces exactly is read with the crate's defaults; any other is refused
 * with a message naming the file, the JSON path and the type, never
 * approximated.  The decoder only decides how token bytes are shown (kop
 * never decodes ids back to a text it feeds anything), so an unknown decoder
 * is not an error. */
#include "tokenizer_parts.h"

#include <string.h>

#include "tok_json.h"
#include "unicode.h"

/* The crate's GPT-2 pattern (pre_tokenizers/byte_level.rs). */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* The crate's Whitespace pattern \w+|[^\w\s]+ (pre_tokenizers/whitespace.rs)
 * is compiled by the Rust regex crate, not Oniguruma: its \w and \s are
 * spelled out here as that crate defines them (regex-syntax's Unicode \w and
 * \s), so Oniguruma matches the same characters. */
#define RUST_WORD "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
static const char whitespace_pattern[] = "[" RUST_WORD "]+|[^" RUST_WORD "\\p{White_Space}]+";

static const char *type_of(json_object *o)
{
    if (!json_object_is_type(o, json_type_object)) return NULL;
    return tokjson_string(o, "type", NULL, NULL);
}

/* A boolean member: dflt when absent or null; -1 when of another type. */
static int bool_of(json_object *o, const char *key, int dflt, int *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v) { *out = dflt; return 0; }
    if (!json_object_is_type(v, json_type_boolean)) return -1;
    *out = json_object_get_boolean(v);
    return 0;
}

static int bad_bool(const char *path, const char *where, const char *key, KopError *err)
{
    return kop_fail(err, KOP_EXIT_DATA, "%s: %s.%s: expected true or false", path, where, key);
}

/* pattern: {"String": s} or {"Regex": r}. */
static TokRegex *read_pattern(const char *path, const char *where, json_object *o, KopError *err)
{
    json_object *p;
    char w[512];
    snprintf(w, sizeof w, "%s: %s.pattern", path, where);
    if (!json_object_object_get_ex(o, "pattern", &p) || !json_object_is_type(p, json_type_object)) {
        kop_fail(err, KOP_EXIT_DATA, "%s: expected {\"String\": ...} or {\"Regex\": ...}", w);
        return NULL;
    }
    size_t n;
    const char *s = tokjson_string(p, "String", &n, NULL);
    if (s) return tokre_new(s, n, 1, w, err);
    if ((s = tokjson_string(p, "Regex", &n, NULL))) return tokre_new(s, n, 0, w, err);
    kop_fail(err, KOP_EXIT_DATA, "%s: expected {\"String\": ...} or {\"Regex\": ...}", w);
    return NULL;
}

static int read_behavior(const char *path, const char *where, json_object *o, TokBehavior dflt, TokBehavior *out,
                         KopError *err)
{
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    int present;
    const char *b = tokjson_string(o, "behavior", NULL, &present);
    if (!present) { *out = dflt; return 0; }
    for (int i = 0; b && i < 5; i++)
        if (!strcmp(b, names[i])) { *out = (TokBehavior)i; return 0; }
    return kop_fail(err, KOP_EXIT_DATA,
                    "%s: %s.behavior: \"%s\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous",
                    path, where, b ? b : "?");
}

// ---- normalizer ------------------------------------------------------------------

static TokNorm *new_norm(Tokenizer *t, TokNormKind kind)
{
    t->norms = kop_xrealloc(t->norms, sizeof *t->norms * (size_t)(t->n_norms + 1));
    TokNorm *n = &t->norms[t->n_norms++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    return n;
}

static int read_norm(Tokenizer *t, const char *path, const char *where, json_object *o, int depth, KopError *err)
{
    if (!o) return 0;
    const char *type = type_of(o);
    if (!type) return kop_fail(err, KOP_EXIT_DATA, "%s: %s: expected an object with a \"type\"", path, where);
    if (!strcmp(type, "NFC")) {
        new_norm(t, TOKN_NFC);
        return 0;
    }
    if (!strcmp(type, "Prepend")) {
        size_t n;
        const char *s = tokjson_string(o, "prepend", &n, NULL);
        if (!s) return kop_fail(err, KOP_EXIT_DATA, "%s: %s.prepend: expected a string", path, where);
        TokNorm *nm = new_norm(t, TOKN_PREPEND);
        nm->text = kop_xmalloc(n + 1);
        memcpy(nm->text, s, n + 1);
        nm->len = n;
        t->prefix_space = 1;
        return 0;
    }
    if (!strcmp(type, "Replace")) {
        size_t n;
        const char *s = tokjson_string(o, "content", &n, NULL);
        if (!s) return kop_fail(err, KOP_EXIT_DATA, "%s: %s.content: expected a string", path, where);
        TokRegex *re = read_pattern(path, where, o, err);
        if (!re) return -1;
        TokNorm *nm = new_norm(t, TOKN_REPLACE);
        nm->text = kop_xmalloc(n + 1);
        memcpy(nm->text, s, n + 1);
        nm->len = n;
        nm->pattern = re;
        return 0;
    }
    json_object *list;
    if (!strcmp(type, "Sequence") && depth < 8) {
        if (!json_object_object_get_ex(o, "normalizers", &list) || !json_object_is_type(list, json_type_array))
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s.normalizers: expected an array", path, where);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            char w[256];
            snprintf(w, sizeof w, "%s.normalizers[%zu]", where, i);
            if (read_norm(t, path, w, json_object_array_get_idx(list, i), depth + 1, err) < 0) return -1;
        }
        return 0;
    }
    return kop_fail(err, KOP_EXIT_DATA,
                    "%s: %s: normalizer type \"%s\" is not supported (kop reproduces NFC, Prepend, Replace and "
                    "Sequence exactly and approximates nothing)", path, where, type);
}

int tokp_read_normalizer(Tokenizer *t, const char *path, json_object *root, KopError *err)
{
    json_object *o = NULL;
    json_object_object_get_ex(root, "normalizer", &o);
    if (read_norm(t, path, "normalizer", o, 0, err) < 0) return -1;
    t->nfc = 1;
    for (int i = 0; i < t->n_norms; i++) t->nfc &= t->norms[i].kind == TOKN_NFC;
    return 0;
}

// ---- pre_tokenizer ---------------------------------------------------------------

static TokPre *new_pre(Tokenizer *t, TokPreKind kind)
{
    t->pres = kop_xrealloc(t->pres, sizeof *t->pres * (size_t)(t->n_pres + 1));
    TokPre *p = &t->pres[t->n_pres++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    return p;
}

int tokp_add_byte_level(Tokenizer *t, int add_prefix_space, int use_regex, KopError *err)
{
    TokRegex *re = NULL;
    if (use_regex && !(re = tokre_new(gpt2_pattern, sizeof gpt2_pattern - 1, 0, "the GPT-2 pattern", err)))
        return -1;
    TokPre *p = new_pre(t, TOKP_BYTE_LEVEL);
    p->add_prefix_space = add_prefix_space;
    p->pattern = re;
    t->byte_level = 1;
    if (add_prefix_space) t->prefix_space = 1;
    return 0;
}

static int read_metaspace(Tokenizer *t, const char *path, const char *where, json_object *o, KopError *err)
{
    size_t n, k;
    const char *r = tokjson_string(o, "replacement", &n, NULL);
    if (!r || n == 0 || n > 4 || uni_utf8_check(r, n) < n || (uni_decode(r, &k), k != n))
        return kop_fail(err, KOP_EXIT_DATA, "%s: %s.replacement: expected one character", path, where);
    int scheme, present, split, aps;
    const char *ps = tokjson_string(o, "prepend_scheme", NULL, &present);
    if (present) {
        if (ps && !strcmp(ps, "first")) scheme = TOK_PREPEND_FIRST;
        else if (ps && !strcmp(ps, "always")) scheme = TOK_PREPEND_ALWAYS;
        else if (ps && !strcmp(ps, "never")) scheme = TOK_PREPEND_NEVER;
        else return kop_fail(err, KOP_EXIT_DATA, "%s: %s.prepend_scheme: expected \"first\", \"always\" or \"never\"",
                             path, where);
    } else {
        // Files from before prepend_scheme say add_prefix_space.
        if (bool_of(o, "add_prefix_space", 1, &aps) < 0) return bad_bool(path, where, "add_prefix_space", err);
        scheme = aps ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
    }
    if (bool_of(o, "split", 1, &split) < 0) return bad_bool(path, where, "split", err);
    TokPre *p = new_pre(t, TOKP_METASPACE);
    memcpy(p->replacement, r, n);
    p->replacement[n] = '\0';
    p->rep_len = n;
    p->prepend_scheme = scheme;
    p->split = split;
    if (scheme != TOK_PREPEND_NEVER) t->prefix_space = 1;
    if (!t->space_mark_len) {
        memcpy(t->space_mark, r, n + 1);
        t->space_mark_len = n;
    }
    return 0;
}

static int read_pre(Tokenizer *t, const char *path, const char *where, json_object *o, int depth, KopError *err)
{
    if (!o) return 0;
    const char *type = type_of(o);
    int flag, flag2;
    if (!type) return kop_fail(err, KOP_EXIT_DATA, "%s: %s: expected an object with a \"type\"", path, where);
    if (!strcmp(type, "Split")) {
        TokBehavior b;
        if (read_behavior(path, where, o, TOKB_ISOLATED, &b, err) < 0) return -1;
        if (bool_of(o, "invert", 0, &flag) < 0) return bad_bool(path, where, "invert", err);
        TokRegex *re = read_pattern(path, where, o, err);
        if (!re) return -1;
        TokPre *p = new_pre(t, TOKP_SPLIT);
        p->behavior = b;
        p->invert = flag;
        p->pattern = re;
        return 0;
    }
    if (!strcmp(type, "Punctuation")) {
        TokBehavior b;
        if (read_behavior(path, where, o, TOKB_ISOLATED, &b, err) < 0) return -1;
        new_pre(t, TOKP_PUNCTUATION)->behavior = b;
        return 0;
    }
    if (!strcmp(type, "Digits")) {
        if (bool_of(o, "individual_digits", 0, &flag) < 0) return bad_bool(path, where, "individual_digits", err);
        new_pre(t, TOKP_DIGITS)->individual_digits = flag;
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) {
        if (bool_of(o, "add_prefix_space", 1, &flag) < 0) return bad_bool(path, where, "add_prefix_space", err);
        if (bool_of(o, "use_regex", 1, &flag2) < 0) return bad_bool(path, where, "use_regex", err);
        return tokp_add_byte_level(t, flag, flag2, err);
    }
    if (!strcmp(type, "Whitespace")) {
        TokRegex *re = tokre_new(whitespace_pattern, sizeof whitespace_pattern - 1, 0, "the Whitespace pattern", err);
        if (!re) return -1;
        new_pre(t, TOKP_WHITESPACE)->pattern = re;
        return 0;
    }
    if (!strcmp(type, "WhitespaceSplit")) {
        new_pre(t, TOKP_WHITESPACE_SPLIT);
        return 0;
    }
    if (!strcmp(type, "Metaspace")) return read_metaspace(t, path, where, o, err);
    json_object *list;
    if (!strcmp(type, "Sequence") && depth < 8) {
        if (!json_object_object_get_ex(o, "pretokenizers", &list) || !json_object_is_type(list, json_type_array))
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s.pretokenizers: expected an array", path, where);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            char w[256];
            snprintf(w, sizeof w, "%s.pretokenizers[%zu]", where, i);
            if (read_pre(t, path, w, json_object_array_get_idx(list, i), depth + 1, err) < 0) return -1;
        }
        return 0;
    }
    return kop_fail(err, KOP_EXIT_DATA,
                    "%s: %s: pre-tokenizer type \"%s\" is not supported (kop reproduces Sequence, Split, Punctuation, "
                    "Digits, ByteLevel, Whitespace, WhitespaceSplit and Metaspace exactly and approximates nothing)",
                    path, where, type);
}

int tokp_read_pre_tokenizer(Tokenizer *t, const char *path, json_object *root, KopError *err)
{
    json_object *o = NULL;
    json_object_object_get_ex(root, "pre_tokenizer", &o);
    return read_pre(t, path, "pre_tokenizer", o, 0, err);
}

// ---- decoder ---------------------------------------------------------------------

/* Only what shows a token's bytes: ByteLevel, and the character that stands
 * for a space (Replace "▁" -> " ", Metaspace). */
static void read_dec(Tokenizer *t, json_object *o, int depth)
{
    const char *type = type_of(o);
    if (!type || depth > 8) return;
    json_object *list, *pat;
    if (!strcmp(type, "ByteLevel")) t->byte_level = 1;
    if (!strcmp(type, "Metaspace")) {
        size_t n;
        const char *r = tokjson_string(o, "replacement", &n, NULL);
        if (r && n > 0 && n <= 4) { memcpy(t->space_mark, r, n); t->space_mark[n] = '\0'; t->space_mark_len = n; }
    }
    if (!strcmp(type, "Replace") && json_object_object_get_ex(o, "pattern", &pat)) {
        size_t n, m;
        const char *s = tokjson_string(pat, "String", &n, NULL), *c = tokjson_string(o, "content", &m, NULL);
        if (s && c && m == 1 && c[0] == ' ' && n > 0 && n <= 4) {
            memcpy(t->space_mark, s, n);
            t->space_mark[n] = '\0';
            t->space_mark_len = n;
        }
    }
    if (!strcmp(type, "Sequence") && json_object_object_get_ex(o, "decoders", &list) &&
        json_object_is_type(list, json_type_array))
        for (size_t i = 0; i < json_object_array_length(list); i++) read_dec(t, json_object_array_get_idx(list, i), depth + 1);
}

void tokp_read_decoder(Tokenizer *t, json_object *root)
{
    json_object *o = NULL;
    if (json_object_object_get_ex(root, "decoder", &o) && o) read_dec(t, o, 0);
}

// ---- post_processor --------------------------------------------------------------

static void append_ids(int **v, int *n, const int *ids, int k)
{
    *v = kop_xrealloc(*v, sizeof **v * (size_t)(*n + k + 1));
    memcpy(*v + *n, ids, sizeof *ids * (size_t)k);
    *n += k;
}

/* TemplateProcessing's "single": special tokens before and after $A. */
static int read_template(Tokenizer *t, const char *path, const char *where, json_object *o, KopError *err)
{
    json_object *single, *specials = NULL;
    if (!json_object_object_get_ex(o, "single", &single) || !json_object_is_type(single, json_type_array))
        return kop_fail(err, KOP_EXIT_DATA, "%s: %s.single: expected an array", path, where);
    json_object_object_get_ex(o, "special_tokens", &specials);
    int seen_a = 0;
    for (size_t i = 0; i < json_object_array_length(single); i++) {
        json_object *piece = json_object_array_get_idx(single, i), *v;
        if (json_object_object_get_ex(piece, "Sequence", &v)) {
            const char *id = tokjson_string(v, "id", NULL, NULL);
            if (!id || strcmp(id, "A") || seen_a)
                return kop_fail(err, KOP_EXIT_DATA, "%s: %s.single[%zu]: expected the sequence $A once (a single text)",
                                path, where, i);
            seen_a = 1;
            continue;
        }
        const char *name = json_object_object_get_ex(piece, "SpecialToken", &v) ? tokjson_string(v, "id", NULL, NULL) : NULL;
        json_object *sp = NULL, *ids = NULL;
        if (!name)
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s.single[%zu]: expected {\"SpecialToken\": {\"id\": ...}} or {\"Sequence\": ...}",
                            path, where, i);
        if (!specials || !json_object_object_get_ex(specials, name, &sp) ||
            !json_object_object_get_ex(sp, "ids", &ids) || !json_object_is_type(ids, json_type_array))
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s.special_tokens: no \"ids\" for \"%s\"", path, where, name);
        for (size_t k = 0; k < json_object_array_length(ids); k++) {
            json_object *x = json_object_array_get_idx(ids, k);
            int64_t id = json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : -1;
            if (id < 0 || id >= INT32_MAX)
                return kop_fail(err, KOP_EXIT_DATA, "%s: %s.special_tokens.%s.ids[%zu]: expected a token id", path, where,
                                name, k);
            int one = (int)id;
            if (seen_a) append_ids(&t->suffix_ids, &t->n_suffix, &one, 1);
            else append_ids(&t->prefix_ids, &t->n_prefix, &one, 1);
        }
    }
    if (!seen_a) return kop_fail(err, KOP_EXIT_DATA, "%s: %s.single: no $A (the text) in the template", path, where);
    return 0;
}

static int read_post(Tokenizer *t, const char *path, const char *where, json_object *o, int depth, int *templates,
                     KopError *err)
{
    if (!o) return 0;
    const char *type = type_of(o);
    if (!type) return kop_fail(err, KOP_EXIT_DATA, "%s: %s: expected an object with a \"type\"", path, where);
    if (!strcmp(type, "ByteLevel")) return 0;  // trims offsets only; ids unchanged
    if (!strcmp(type, "TemplateProcessing")) {
        if ((*templates)++)
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s: a second TemplateProcessing is not supported", path, where);
        return read_template(t, path, where, o, err);
    }
    json_object *list;
    if (!strcmp(type, "Sequence") && depth < 8) {
        if (!json_object_object_get_ex(o, "processors", &list) || !json_object_is_type(list, json_type_array))
            return kop_fail(err, KOP_EXIT_DATA, "%s: %s.processors: expected an array", path, where);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            char w[256];
            snprintf(w, sizeof w, "%s.processors[%zu]", where, i);
            if (read_post(t, path, w, json_object_array_get_idx(list, i), depth + 1, templates, err) < 0) return -1;
        }
        return 0;
    }
    return kop_fail(err, KOP_EXIT_DATA,
                    "%s: %s: post-processor type \"%s\" is not supported (kop reads TemplateProcessing, ByteLevel and "
                    "Sequence)", path, where, type);
}

int tokp_read_post_processor(Tokenizer *t, const char *path, json_object *root, KopError *err)
{
    json_object *o = NULL;
    int templates = 0;
    json_object_object_get_ex(root, "post_processor", &o);
    return read_post(t, path, "post_processor", o, 0, &templates, err);
}

// ---- tokenizer_config.json -------------------------------------------------------

/* A token in tokenizer_config.json: a string or {"content": ...}; NULL for
 * null or absent (*bad set for another type). */
static const char *config_token(json_object *cfg, const char *key, size_t *n, int *bad)
{
    json_object *v;
    *bad = 0;
    if (!json_object_object_get_ex(cfg, key, &v) || !v) return NULL;
    if (json_object_is_type(v, json_type_string)) {
        *n = (size_t)json_object_get_string_len(v);
        return json_object_get_string(v);
    }
    const char *s = json_object_is_type(v, json_type_object) ? tokjson_string(v, "content", n, NULL) : NULL;
    *bad = !s;
    return s;
}

/* The id of a special token named in the config. */
static int config_id(const Tokenizer *t, const char *cpath, const char *key, const char *s, size_t n, int *id,
                     KopError *err)
{
    const AddedSet *sets[2] = {&t->raw, &t->norm};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < sets[k]->n; i++)
            if (sets[k]->v[i].len == n && !memcmp(sets[k]->v[i].text, s, n)) { *id = sets[k]->v[i].id; return 0; }
    if ((*id = tokp_strmap_get(&t->vocab, s, n)) >= 0) return 0;
    return kop_fail(err, KOP_EXIT_DATA, "%s: %s \"%.*s\" is not a token of the tokenizer", cpath, key, (int)n, s);
}

int tokp_read_config(Tokenizer *t, const char *tokenizer_json, KopError *err)
{
    char cpath[4200];
    const char *slash = strrchr(tokenizer_json, '/');
    int dirlen = slash ? (int)(slash - tokenizer_json + 1) : 0;
    snprintf(cpath, sizeof cpath, "%.*stokenizer_config.json", dirlen, tokenizer_json);
    FILE *f = fopen(cpath, "rb");
    if (!f) return 0;  // no config: the tokenizer.json alone
    fclose(f);
    size_t len;
    char *buf = kop_read_file(cpath, &len, err);
    if (!buf) return -1;
    json_object *cfg = tokjson_parse(cpath, 1, buf, len, err);
    free(buf);
    if (!cfg) return -1;
    int rc = 0;
    if (!json_object_is_type(cfg, json_type_object)) {
        rc = kop_fail(err, KOP_EXIT_DATA, "%s: expected a JSON object", cpath);
        goto done;
    }
    const char *cls = tokjson_string(cfg, "tokenizer_class", NULL, NULL);
    // transformers' Llama tokenizers rebuild the template from these
    // settings (add_bos_token defaulting to true); other fast tokenizers do
    // when add_bos_token or add_eos_token is given.
    int llama = cls && (!strcmp(cls, "LlamaTokenizer") || !strcmp(cls, "LlamaTokenizerFast") ||
                        !strcmp(cls, "CodeLlamaTokenizer") || !strcmp(cls, "CodeLlamaTokenizerFast"));
    json_object *v;
    if (llama && json_object_object_get_ex(cfg, "add_prefix_space", &v) && v) {
        rc = kop_fail(err, KOP_EXIT_DATA,
                      "%s: add_prefix_space: transformers rebuilds a %s with add_prefix_space from its SentencePiece "
                      "model, which kop cannot do; remove the setting to use tokenizer.json as it is", cpath, cls);
        goto done;
    }
    int has_b = json_object_object_get_ex(cfg, "add_bos_token", &v) && v, has_e, add_b, add_e;
    has_e = json_object_object_get_ex(cfg, "add_eos_token", &v) && v;
    if (bool_of(cfg, "add_bos_token", llama, &add_b) < 0) { rc = bad_bool(cpath, "config", "add_bos_token", err); goto done; }
    if (bool_of(cfg, "add_eos_token", 0, &add_e) < 0) { rc = bad_bool(cpath, "config", "add_eos_token", err); goto done; }
    if (!llama && !has_b && !has_e) goto done;
    free(t->prefix_ids);
    free(t->suffix_ids);
    t->prefix_ids = t->suffix_ids = NULL;
    t->n_prefix = t->n_suffix = 0;
    static const char *const keys[2] = {"bos_token", "eos_token"};
    static const char *const llama_dflt[2] = {"<s>", "</s>"};
    int add[2] = {add_b, add_e};
    for (int k = 0; k < 2 && rc == 0; k++) {
        if (!add[k]) continue;
        size_t n = 0;
        int bad, id;
        json_object *dummy;
        const char *s = config_token(cfg, keys[k], &n, &bad);
        if (!s && llama && !json_object_object_get_ex(cfg, keys[k], &dummy)) { s = llama_dflt[k]; n = strlen(s); }
        if (bad || !s) {
            rc = kop_fail(err, KOP_EXIT_DATA, "%s: %s is true but %s is %s", cpath, k ? "add_eos_token" : "add_bos_token",
                          keys[k], bad ? "neither a string nor {\"content\": ...}" : "not set");
            break;
        }
        if ((rc = config_id(t, cpath, keys[k], s, n, &id, err)) < 0) break;
        if (k == 0) append_ids(&t->prefix_ids, &t->n_prefix, &id, 1);
        else append_ids(&t->suffix_ids, &t->n_suffix, &id, 1);
    }
done:
    json_object_put(cfg);
    return rc;
}
