/* prompts.c: see prompts.h. */
#include "prompts.h"

#include <limits.h>
#include <string.h>

#include "tok_json.h"
#include "unicode.h"

// ---- the set ---------------------------------------------------------------------

PromptSet *prompts_new(const char *source)
{
    PromptSet *s = kop_xcalloc(1, sizeof *s);
    s->source = kop_xstrdup(source);
    return s;
}

void prompts_free(PromptSet *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        Prompt *p = &s->v[i];
        free(p->text);
        free(p->subject);
        free(p->target);
        free(p->relation);
        free(p->ids);
    }
    for (int i = 0; i < s->n_skipped; i++) free(s->skipped[i]);
    free(s->skipped);
    free(s->v);
    free(s->source);
    free(s);
}

static Prompt *new_prompt(PromptSet *s)
{
    if ((s->n & (s->n - 1)) == 0) s->v = kop_xrealloc(s->v, sizeof *s->v * (size_t)(s->n ? 2 * s->n : 1));
    Prompt *p = &s->v[s->n++];
    memset(p, 0, sizeof *p);
    p->id = -1;
    p->target_id = -1;
    p->source = s->source;
    return p;
}

/* First occurrence of needle in hay, or NULL. */
static const char *find_bytes(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || nn > hn) return NULL;
    for (const char *p = hay; (p = memchr(p, needle[0], (size_t)(hay + hn - nn + 1 - p))); p++)
        if (!memcmp(p, needle, nn)) return p;
    return NULL;
}

int prompt_subject_span(const Prompt *p, size_t *start, size_t *end)
{
    if (!p->text || !p->subject) return -1;
    size_t sn = strlen(p->subject);
    const char *at = find_bytes(p->text, p->text_len, p->subject, sn);
    if (!at) return -1;
    *start = (size_t)(at - p->text);
    *end = *start + sn;
    return 0;
}

/* Where a record is, for messages: "FILE: record N" or "FILE:LINE". */
static void record_where(char *buf, size_t n, const char *source, int record, int line)
{
    if (line > 0) snprintf(buf, n, "%s:%d", source, line);
    else snprintf(buf, n, "%s: record %d", source, record);
}

/* A string field must be UTF-8 without NUL bytes (NUL would cut it short). */
static int check_text(const char *where, const char *field, const char *s, size_t n, int may_be_empty, KopError *err)
{
    size_t bad = uni_utf8_check(s, n);
    if (bad < n) return kop_fail(err, KOP_EXIT_DATA, "%s: \"%s\" is not valid UTF-8 (byte %zu)", where, field, bad);
    if (memchr(s, '\0', n)) return kop_fail(err, KOP_EXIT_DATA, "%s: \"%s\" holds a NUL character", where, field);
    if (n == 0 && !may_be_empty) return kop_fail(err, KOP_EXIT_DATA, "%s: \"%s\" is empty", where, field);
    return 0;
}

static char *with_space(const char *s)
{
    size_t n = strlen(s);
    char *out = kop_xmalloc(n + 2);
    out[0] = ' ';
    memcpy(out + 1, s, n + 1);
    return out;
}

/* Add a checked text record; 1 when skipped (subject not in text). */
static int add_text(PromptSet *s, const char *where, const char *text, size_t tn, const char *subject,
                    size_t sn, const char *target, size_t gn, int space_target, KopError *err)
{
    if (check_text(where, "prompt", text, tn, 0, err) < 0 || check_text(where, "subject", subject, sn, 0, err) < 0 ||
        (target && check_text(where, "target", target, gn, 1, err) < 0))
        return -1;
    if (!find_bytes(text, tn, subject, sn)) {
        char msg[1024];
        /* quoted in part, whole characters only: the message reaches manifest.yaml */
        snprintf(msg, sizeof msg, "%s: subject \"%.*s\" not found in the prompt \"%.*s\"", where,
                 (int)kop_utf8_prefix(subject, sn, 100), subject, (int)kop_utf8_prefix(text, tn, 200), text);
        s->skipped = kop_xrealloc(s->skipped, sizeof *s->skipped * (size_t)(s->n_skipped + 1));
        s->skipped[s->n_skipped++] = kop_xstrdup(msg);
        return 1;
    }
    Prompt *p = new_prompt(s);
    p->text = kop_xstrdup(text);
    p->text_len = tn;
    p->subject = kop_xstrdup(subject);
    if (target) p->target = space_target && target[0] != ' ' ? with_space(target) : kop_xstrdup(target);
    return 0;
}

int prompts_add_text(PromptSet *s, const char *text, const char *subject, const char *target, KopError *err)
{
    char where[600];
    record_where(where, sizeof where, s->source, s->n + s->n_skipped, 0);
    int rc = add_text(s, where, text, strlen(text), subject, strlen(subject), target,
                      target ? strlen(target) : 0, 0, err);
    if (rc == 0) s->v[s->n - 1].record = s->n + s->n_skipped - 1;
    return rc;
}

static int add_ids(PromptSet *s, const char *where, const int *ids, int n, int first, int last,
                   int target_id, KopError *err)
{
    if (n < 1) return kop_fail(err, KOP_EXIT_DATA, "%s: \"ids\" is empty", where);
    if (first < 0 || last < first || last >= n)
        return kop_fail(err, KOP_EXIT_DATA, "%s: subject tokens [%d, %d] are not a range within the %d ids",
                        where, first, last, n);
    Prompt *p = new_prompt(s);
    p->ids = kop_xmalloc(sizeof *p->ids * (size_t)n);
    memcpy(p->ids, ids, sizeof *ids * (size_t)n);
    p->n_ids = n;
    p->subj_first = first;
    p->subj_last = last;
    p->target_id = target_id;
    return 0;
}

int prompts_add_ids(PromptSet *s, const int *ids, int n, int first, int last, int target_id, KopError *err)
{
    char where[600];
    int record = s->n + s->n_skipped;
    record_where(where, sizeof where, s->source, record, 0);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0) return kop_fail(err, KOP_EXIT_DATA, "%s: token id %d is negative", where, ids[i]);
    if (add_ids(s, where, ids, n, first, last, target_id, err) < 0) return -1;
    s->v[s->n - 1].record = record;
    return 0;
}

// ---- records ---------------------------------------------------------------------

/* Non-negative int value, else -1. */
static long nonneg_int(json_object *v)
{
    if (!v || !json_object_is_type(v, json_type_int)) return -1;
    int64_t x = json_object_get_int64(v);
    return x >= 0 && x <= INT_MAX ? (long)x : -1;
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int read_ids_record(PromptSet *s, const char *where, json_object *r, KopError *err)
{
    json_object *ids = member(r, "ids"), *subj = member(r, "subject"), *tid = member(r, "target_id");
    if (!json_object_is_type(ids, json_type_array) || !json_object_is_type(subj, json_type_array) ||
        json_object_array_length(subj) != 2)
        return kop_fail(err, KOP_EXIT_DATA, "%s: expected \"ids\": [..] with \"subject\": [first, last]", where);
    size_t n = json_object_array_length(ids);
    if (n > INT_MAX) return kop_fail(err, KOP_EXIT_DATA, "%s: too many ids", where);
    int *v = kop_xmalloc(sizeof *v * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        long x = nonneg_int(json_object_array_get_idx(ids, i));
        if (x < 0) {
            free(v);
            return kop_fail(err, KOP_EXIT_DATA, "%s: ids[%zu] is not a token id (a non-negative integer)", where, i);
        }
        v[i] = (int)x;
    }
    long a = nonneg_int(json_object_array_get_idx(subj, 0)), b = nonneg_int(json_object_array_get_idx(subj, 1));
    long t = tid ? nonneg_int(tid) : -1;
    int rc;
    if (tid && t < 0) rc = kop_fail(err, KOP_EXIT_DATA, "%s: \"target_id\" is not a token id", where);
    else rc = add_ids(s, where, v, (int)n, (int)(a < 0 ? -1 : a), (int)(b < 0 ? -1 : b), (int)t, err);
    free(v);
    return rc;
}

/* The target of a text record and whether it needs a leading space. */
static const char *record_target(json_object *r, size_t *n, int *space)
{
    const char *t;
    json_object *tt = member(r, "target_true");
    *space = 0;
    if ((t = tokjson_string(r, "target", n, NULL))) return t;
    if ((t = tokjson_string(r, "target_true", n, NULL))) return t;
    if (tt && json_object_is_type(tt, json_type_object) && (t = tokjson_string(tt, "str", n, NULL))) {
        *space = 1;
        return t;
    }
    *space = 1;
    return tokjson_string(r, "attribute", n, NULL);
}

/* counterfact.json: requested_rewrite.prompt is a template with "{}". */
static int read_rewrite_record(PromptSet *s, const char *where, json_object *rw, KopError *err)
{
    size_t tn, sn, gn = 0;
    int space;
    const char *tmpl = json_object_is_type(rw, json_type_object) ? tokjson_string(rw, "prompt", &tn, NULL) : NULL;
    const char *subj = tmpl ? tokjson_string(rw, "subject", &sn, NULL) : NULL;
    const char *hole = tmpl ? find_bytes(tmpl, tn, "{}", 2) : NULL;
    if (!tmpl || !subj || !hole)
        return kop_fail(err, KOP_EXIT_DATA,
                        "%s: expected \"requested_rewrite\" with a \"prompt\" holding \"{}\" and a \"subject\"", where);
    const char *target = record_target(rw, &gn, &space);
    size_t pre = (size_t)(hole - tmpl), n = tn - 2 + sn;
    char *text = kop_xmalloc(n + 1);
    memcpy(text, tmpl, pre);
    memcpy(text + pre, subj, sn);
    memcpy(text + pre + sn, hole + 2, tn - pre - 2);
    text[n] = '\0';
    int rc = add_text(s, where, text, n, subj, sn, target, gn, space, err);
    free(text);
    return rc;
}

static int read_record(PromptSet *s, json_object *r, int record, int line, KopError *err)
{
    char where[600];
    record_where(where, sizeof where, s->source, record, line);
    if (!json_object_is_type(r, json_type_object)) return kop_fail(err, KOP_EXIT_DATA, "%s: expected an object", where);
    int n_before = s->n, rc;
    json_object *rw = member(r, "requested_rewrite"), *fields = r;
    if (rw) {
        rc = read_rewrite_record(s, where, rw, err);
        fields = rw;  // relation_id lives there, case_id outside
    } else if (member(r, "ids")) {
        rc = read_ids_record(s, where, r, err);
    } else {
        size_t tn, sn, gn = 0;
        int space;
        const char *text = tokjson_string(r, "prompt", &tn, NULL), *subj = tokjson_string(r, "subject", &sn, NULL);
        if (!text || !subj)
            return kop_fail(err, KOP_EXIT_DATA,
                            "%s: expected \"prompt\" and \"subject\" strings, \"ids\" with \"subject\", or \"requested_rewrite\"",
                            where);
        const char *target = record_target(r, &gn, &space);
        rc = add_text(s, where, text, tn, subj, sn, target, gn, space, err);
    }
    if (rc < 0 || s->n == n_before) return rc;
    Prompt *p = &s->v[s->n - 1];
    p->record = record;
    p->line = line;
    const char *rel = tokjson_string(fields, "relation_id", NULL, NULL);
    if (rel) p->relation = kop_xstrdup(rel);
    json_object *id = member(r, "known_id");
    if (!id) id = member(r, "case_id");
    if (json_object_is_type(id, json_type_int)) p->id = (long)json_object_get_int64(id);
    return 0;
}

// ---- files -----------------------------------------------------------------------

static int read_list(PromptSet *s, const char *buf, size_t len, KopError *err)
{
    json_object *root = tokjson_parse(s->source, 1, buf, len, err);
    if (!root) return -1;
    int rc = 0;
    if (!json_object_is_type(root, json_type_array))
        rc = kop_fail(err, KOP_EXIT_DATA, "%s: expected a JSON list of records", s->source);
    size_t n = rc ? 0 : json_object_array_length(root);
    for (size_t i = 0; i < n && rc >= 0; i++) rc = read_record(s, json_object_array_get_idx(root, i), (int)i, 0, err);
    json_object_put(root);
    return rc < 0 ? -1 : 0;
}

static int read_lines(PromptSet *s, const char *buf, size_t len, KopError *err)
{
    int line = 0, record = 0;
    for (const char *p = buf; p < buf + len;) {
        const char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        const char *end = nl ? nl : buf + len;
        line++;
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < end) {
            json_object *r = tokjson_parse(s->source, line, p, (size_t)(end - p), err);
            if (!r) return -1;
            int rc = read_record(s, r, record++, line, err);
            json_object_put(r);
            if (rc < 0) return -1;
        }
        p = end + 1;
    }
    return 0;
}

PromptSet *prompts_load(const char *path, KopError *err)
{
    size_t len;
    char *buf = kop_read_file(path, &len, err);
    if (!buf) return NULL;
    PromptSet *s = prompts_new(path);
    size_t i = len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0;  // a UTF-8 byte order mark
    size_t start = i;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')) i++;
    int rc = i < len && buf[i] == '[' ? read_list(s, buf + start, len - start, err)
                                      : read_lines(s, buf + start, len - start, err);
    free(buf);
    if (rc < 0) {
        prompts_free(s);
        return NULL;
    }
    return s;
}

// ---- subjects and targets --------------------------------------------------------

int prompt_subject_tokens(const Prompt *p, const TokSpan *offs, int n, int *first, int *last, KopError *err)
{
    char where[600];
    record_where(where, sizeof where, p->source, p->record, p->line);
    if (p->ids) {
        if (p->subj_last >= n)
            return kop_fail(err, KOP_EXIT_DATA, "%s: subject tokens [%d, %d] do not fit %d tokens",
                            where, p->subj_first, p->subj_last, n);
        *first = p->subj_first;
        *last = p->subj_last;
        return 0;
    }
    size_t a, b;
    if (prompt_subject_span(p, &a, &b) < 0)
        return kop_fail(err, KOP_EXIT_DATA, "%s: subject \"%.*s\" not found in the prompt", where,
                        (int)kop_utf8_prefix(p->subject ? p->subject : "", p->subject ? strlen(p->subject) : 0, 100),
                        p->subject ? p->subject : "");
    *first = -1;
    for (int i = 0; i < n; i++) {
        if (!tokspan_overlaps(offs[i], a, b)) continue;
        if (*first < 0) *first = i;
        *last = i;
    }
    if (*first < 0)
        return kop_fail(err, KOP_EXIT_DATA, "%s: no token overlaps the subject at bytes %zu..%zu", where, a, b);
    return 0;
}

int prompt_tokenize(const Prompt *p, const Tokenizer *t, int **ids, int *first, int *last, KopError *err)
{
    if (p->ids) {
        *ids = kop_xmalloc(sizeof **ids * (size_t)p->n_ids);
        memcpy(*ids, p->ids, sizeof **ids * (size_t)p->n_ids);
        *first = p->subj_first;
        *last = p->subj_last;
        return p->n_ids;
    }
    char where[600];
    record_where(where, sizeof where, p->source, p->record, p->line);
    if (!t) return kop_fail(err, KOP_EXIT_DATA, "%s: a text prompt needs a tokenizer, and the model has none", where);
    TokSpan *offs;
    int n_pre, n_suf;
    int n = tokenizer_encode_special(t, p->text, p->text_len, ids, &offs, &n_pre, err);
    if (n < 0) return -1;
    tokenizer_special_counts(t, NULL, &n_suf);
    // The subject is searched among the text's tokens only: a special token
    // (a BOS, an EOS) is never part of it.
    int rc = prompt_subject_tokens(p, offs + n_pre, n - n_pre - n_suf, first, last, err);
    free(offs);
    if (rc < 0) {
        free(*ids);
        *ids = NULL;
        return -1;
    }
    *first += n_pre;
    *last += n_pre;
    return n;
}

/* The first token of the target alone: without special tokens, and without
 * its leading space where the tokenizer marks a word's space itself (so
 * " Paris" is encoded as "Paris" is, "\u2581Paris"). */
static int target_alone(const Prompt *p, const Tokenizer *t, KopError *err)
{
    const char *s = p->target;
    if (tokenizer_adds_prefix_space(t) && s[0] == ' ' && s[1]) s++;
    int *ids;
    int n = tokenizer_encode(t, s, strlen(s), &ids, NULL, err);
    if (n < 0) return -2;
    int id = n > 0 ? ids[0] : -1;
    free(ids);
    return id;
}

int prompt_target_token(const Prompt *p, const Tokenizer *t, KopError *err)
{
    if (p->ids || !p->target) return p->target_id;
    if (!t) {
        kop_fail(err, KOP_EXIT_DATA, "%s: a text target needs a tokenizer", p->source);
        return -2;
    }
    if (!p->target[0]) return -1;
    // The token that follows the prompt's tokens when prompt and target are
    // encoded together (no special tokens): what the model is asked to
    // predict, with each tokenizer's own space convention.
    size_t tn = strlen(p->target), n = p->text_len + tn;
    char *joint = kop_xmalloc(n + 1);
    memcpy(joint, p->text, p->text_len);
    memcpy(joint + p->text_len, p->target, tn + 1);
    int *pid = NULL, *jid = NULL;
    int np = tokenizer_encode(t, p->text, p->text_len, &pid, NULL, err);
    int nj = np < 0 ? -1 : tokenizer_encode(t, joint, n, &jid, NULL, err);
    free(joint);
    int id = -2;
    if (np >= 0 && nj >= 0) {
        int prefix = nj > np;
        for (int i = 0; prefix && i < np; i++) prefix = pid[i] == jid[i];
        // A token across the boundary: the target encoded alone instead.
        id = prefix ? jid[np] : target_alone(p, t, err);
    }
    free(pid);
    free(jid);
    return id;
}
