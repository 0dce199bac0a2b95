/* tokenizer.c: encoding and decoding (see tokenizer.h); loading is in
 * tokenizer_load.c.
 *
 * encode: original text
 *   -> cut at raw added tokens            (offsets are original already)
 *   -> each gap: the normalizers, with origins (src/tok_text.h)
 *   -> cut at normalized added tokens
 *   -> each gap: pre-tokenizer pieces -> BPE -> tokens, each starting at the
 *      origin of its first byte
 *   -> the template's special tokens around the text (encode_special).
 * The GPT-2 / NeoX form takes a fast path (src/pretok.h, BPE over bytes)
 * that gives the same tokens as the general one (tested). */
#include "tokenizer_impl.h"

#include <limits.h>
#include <string.h>

#include "pretok.h"
#include "unicode.h"

// ---- added tokens ----------------------------------------------------------------

static int added_cmp(const void *pa, const void *pb)
{
    const AddedTok *a = pa, *b = pb;
    unsigned char ca = (unsigned char)a->text[0], cb = (unsigned char)b->text[0];
    if (ca != cb) return ca < cb ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id - b->id;
}

void tokp_added_index(AddedSet *set)
{
    if (set->n) qsort(set->v, (size_t)set->n, sizeof *set->v, added_cmp);
    int k = 0;
    for (int c = 0; c <= 256; c++) {
        while (k < set->n && (unsigned char)set->v[k].text[0] < c) k++;
        set->first[c] = k;
    }
}

/* The leftmost, then longest, added token in s[from..len): its index, and
 * its range in [*ms, *me); -1 if none. */
static int added_next(const AddedSet *a, const char *s, size_t len, size_t from, size_t *ms, size_t *me)
{
    for (size_t p = from; p < len; p++) {
        unsigned c = (unsigned char)s[p];
        for (int k = a->first[c]; k < a->first[c + 1]; k++) {
            const AddedTok *t = &a->v[k];
            if (t->len <= len - p && !memcmp(s + p, t->text, t->len)) {
                *ms = p;
                *me = p + t->len;
                return k;
            }
        }
    }
    return -1;
}

/* \w of the Rust regex crate, closely enough for single_word: letters,
 * numbers, marks (approximated by a non-zero combining class) and '_'. */
static int is_word_char(uint32_t c)
{
    return c == '_' || uni_is_letter(c) || uni_is_number(c) || uni_ccc(c) != 0;
}

static uint32_t char_before(const char *s, size_t at, size_t *start)
{
    size_t i = at - 1, n;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    *start = i;
    return uni_decode(s + i, &n);
}

/* A piece of text between added tokens (id < 0) or an added token. */
typedef struct Seg {
    size_t start, end;
    int id;
} Seg;

typedef struct SegVec {
    Seg *v;
    size_t n, cap;
} SegVec;

static void seg_push(SegVec *sv, size_t start, size_t end, int id)
{
    if (sv->n == sv->cap) sv->v = kop_xrealloc(sv->v, sizeof *sv->v * (sv->cap = sv->cap ? 2 * sv->cap : 8));
    sv->v[sv->n++] = (Seg){start, end, id};
}

/* Cut s[0..len) at the tokens of set into sv, as Hugging Face's
 * AddedVocabulary::find_matches does. */
static void split_added(const AddedSet *set, const char *s, size_t len, SegVec *sv)
{
    sv->n = 0;
    size_t pos = 0, from = 0, ms, me, n;
    int k;
    while (set->n && (k = added_next(set, s, len, from, &ms, &me)) >= 0) {
        const AddedTok *t = &set->v[k];
        from = me;
        if (t->single_word) {
            size_t st;
            int word_before = ms > 0 && is_word_char(char_before(s, ms, &st));
            int word_after = me < len && is_word_char(uni_decode(s + me, &n));
            if (word_before || word_after) continue;
        }
        if (t->lstrip) {
            size_t st;
            while (ms > pos && uni_is_space(char_before(s, ms, &st))) ms = st;
        }
        if (t->rstrip)
            while (me < len && uni_is_space(uni_decode(s + me, &n))) me += n;
        if (ms > pos) seg_push(sv, pos, ms, -1);
        seg_push(sv, ms, me, t->id);
        pos = from = me;
    }
    if (pos < len) seg_push(sv, pos, len, -1);
}

// ---- encoding --------------------------------------------------------------------

/* Tokens are recorded with the original offset where each starts; a token
 * ends where the next one starts (see tok_text.h), fixed in finish(). */
typedef struct Enc {
    const Tokenizer *t;
    int *ids;
    TokSpan *offs;
    size_t n, cap;
    BpeScratch scratch;
    int *wids;           /* (wcap) tokens of one piece */
    uint32_t *wlens;     /* (wcap) their lengths in bytes */
    size_t wcap;
    SegVec segs;
    TokText text;        /* a normalized segment */
    TokPieces pieces, spare;
} Enc;

static void enc_push(Enc *e, int id, size_t start)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 64;
        e->ids = kop_xrealloc(e->ids, sizeof *e->ids * e->cap);
        e->offs = kop_xrealloc(e->offs, sizeof *e->offs * e->cap);
    }
    e->ids[e->n] = id;
    e->offs[e->n++] = (TokSpan){start, start};
}

static void wreserve(Enc *e, size_t n)
{
    if (e->wcap >= n) return;
    e->wcap = 2 * n;
    e->wids = kop_xrealloc(e->wids, sizeof *e->wids * e->wcap);
    e->wlens = kop_xrealloc(e->wlens, sizeof *e->wlens * e->wcap);
}

/* Fast path: BPE over the bytes of piece s[i..j) (byte-level symbols). */
static int encode_bytes(Enc *e, const char *s, size_t i, size_t j, const size_t *origin, KopError *err)
{
    wreserve(e, j - i);
    int k = bpe_word(&e->t->bpe, (const unsigned char *)s + i, j - i, &e->scratch, e->wids, e->wlens);
    if (k < 0) {
        // Report the original offset of the character holding the byte.
        size_t at = i + (size_t)(-1 - k), c = at;
        while (c > i && ((unsigned char)s[c] & 0xC0) == 0x80) c--;
        return kop_fail(err, KOP_EXIT_DATA, "text: byte 0x%02x at offset %zu has no token in %s",
                        (unsigned char)s[at], origin[c], e->t->source);
    }
    for (int m = 0; m < k; m++) {
        enc_push(e, e->wids[m], origin[i]);
        i += e->wlens[m];
    }
    return 0;
}

/* The BPE model on one pre-tokenized piece s[0..n) of characters (origins
 * org), as the crate's BPE::tokenize: the whole piece if ignore_merges and it
 * is a token; else each character's token, or its bytes' <0xNN> tokens
 * (byte_fallback), or unk (consecutive ones fused with fuse_unk), then the
 * merges. */
static int encode_chars(Enc *e, const char *s, const size_t *org, size_t n, KopError *err)
{
    const Tokenizer *t = e->t;
    int id;
    if (t->ignore_merges && (id = tokp_strmap_get(&t->vocab, s, n)) >= 0) {
        enc_push(e, id, org[0]);
        return 0;
    }
    wreserve(e, n);
    int k = 0, unk_open = 0;
    size_t cl;
    for (size_t i = 0; i < n; i += cl) {
        uint32_t c = uni_decode(s + i, &cl);
        if ((id = tokp_strmap_get(&t->vocab, s + i, cl)) >= 0) {
            e->wids[k] = id;
            e->wlens[k++] = (uint32_t)cl;
            unk_open = 0;
            continue;
        }
        int fb = t->byte_fallback;
        for (size_t j = 0; fb && j < cl; j++) fb = t->fallback_id[(unsigned char)s[i + j]] >= 0;
        if (fb) {
            for (size_t j = 0; j < cl; j++) {
                e->wids[k] = t->fallback_id[(unsigned char)s[i + j]];
                e->wlens[k++] = 1;
            }
            unk_open = 0;
            continue;
        }
        if (t->bpe.unk_id < 0)
            return kop_fail(err, KOP_EXIT_DATA, "text: character U+%04X at offset %zu has no token in %s (and no unk_token)",
                            (unsigned)c, org[i], t->source);
        if (unk_open && t->fuse_unk) {
            e->wlens[k - 1] += (uint32_t)cl;
        } else {
            e->wids[k] = t->bpe.unk_id;
            e->wlens[k++] = (uint32_t)cl;
        }
        unk_open = 1;
    }
    k = bpe_merge(&t->bpe, e->wids, e->wlens, k, &e->scratch);
    size_t at = 0;
    for (int m = 0; m < k; m++) {
        enc_push(e, e->wids[m], org[at]);
        at += e->wlens[m];
    }
    return 0;
}

/* Encode text[a..b), which holds no raw added token: normalize, cut at the
 * normalized added tokens, pre-tokenize, run the model. */
static int encode_plain(Enc *e, const char *text, size_t a, size_t b, KopError *err)
{
    const Tokenizer *t = e->t;
    TokText *nt = &e->text;
    toktext_set(nt, text + a, b - a, a);
    if (toknorm_apply(t->norms, t->n_norms, nt, err) < 0) return -1;
    split_added(&t->norm, nt->s, nt->n, &e->segs);
    int rc = 0;
    for (size_t g = 0; g < e->segs.n && rc == 0; g++) {
        Seg sg = e->segs.v[g];
        if (sg.id >= 0) {
            enc_push(e, sg.id, nt->org[sg.start]);
            continue;
        }
        if (t->fast) {
            for (size_t i = sg.start; i < sg.end && rc == 0;) {
                size_t j = t->split ? sg.start + pretok_next(nt->s + sg.start, sg.end - sg.start, i - sg.start) : sg.end;
                rc = encode_bytes(e, nt->s, i, j, nt->org, err);
                i = j;
            }
            continue;
        }
        rc = tokpre_apply(t->pres, t->n_pres, nt, sg.start, sg.end, &e->pieces, &e->spare, err);
        for (size_t k = 0; k < e->pieces.n && rc == 0; k++) {
            size_t ps = e->pieces.start[k];
            rc = encode_chars(e, e->pieces.t.s + ps, e->pieces.t.org + ps, e->pieces.end[k] - ps, err);
        }
    }
    return rc;
}

static void enc_free(Enc *e)
{
    free(e->segs.v);
    free(e->wids);
    free(e->wlens);
    bpe_scratch_free(&e->scratch);
    toktext_free(&e->text);
    tokpieces_free(&e->pieces);
    tokpieces_free(&e->spare);
}

/* Each token ends where the next starts, the last at the text's end;
 * starts never go back (a clamp guards the invariant). */
static void finish_spans(Enc *e, size_t from, size_t len)
{
    for (size_t i = from + 1; i < e->n; i++)
        if (e->offs[i].start < e->offs[i - 1].start) e->offs[i].start = e->offs[i - 1].start;
    for (size_t i = from; i < e->n; i++) e->offs[i].end = i + 1 < e->n ? e->offs[i + 1].start : len;
}

static int encode(const Tokenizer *t, const char *text, size_t len, int special, int **ids, TokSpan **offsets,
                  KopError *err)
{
    if (len > INT_MAX) return kop_fail(err, KOP_EXIT_DATA, "text: too long to tokenize (%zu bytes)", len);
    size_t bad = uni_utf8_check(text, len);
    if (bad < len) return kop_fail(err, KOP_EXIT_DATA, "text: invalid UTF-8 at byte %zu", bad);
    Enc e = {.t = t};
    if (special)
        for (int i = 0; i < t->n_prefix; i++) enc_push(&e, t->prefix_ids[i], 0);
    size_t first = e.n;
    SegVec raw = {NULL, 0, 0};
    split_added(&t->raw, text, len, &raw);
    int rc = 0;
    for (size_t g = 0; g < raw.n && rc == 0; g++) {
        if (raw.v[g].id >= 0) enc_push(&e, raw.v[g].id, raw.v[g].start);
        else rc = encode_plain(&e, text, raw.v[g].start, raw.v[g].end, err);
    }
    free(raw.v);
    enc_free(&e);
    if (rc < 0) {
        free(e.ids);
        free(e.offs);
        return -1;
    }
    if (e.n > first) {
        // The text's tokens tile it: the first starts at 0.
        e.offs[first].start = 0;
        finish_spans(&e, first, len);
    }
    if (special)
        for (int i = 0; i < t->n_suffix; i++) {
            enc_push(&e, t->suffix_ids[i], len);
            e.offs[e.n - 1].end = len;
        }
    *ids = e.ids ? e.ids : kop_xmalloc(sizeof(int));
    if (offsets) *offsets = e.offs ? e.offs : kop_xmalloc(sizeof(TokSpan));
    else free(e.offs);
    return (int)e.n;
}

int tokenizer_encode(const Tokenizer *t, const char *text, size_t len,
                     int **ids, TokSpan **offsets, KopError *err)
{
    return encode(t, text, len, 0, ids, offsets, err);
}

int tokenizer_encode_special(const Tokenizer *t, const char *text, size_t len,
                             int **ids, TokSpan **offsets, int *n_prefix, KopError *err)
{
    if (n_prefix) *n_prefix = t->n_prefix;
    return encode(t, text, len, 1, ids, offsets, err);
}

void tokenizer_special_counts(const Tokenizer *t, int *n_prefix, int *n_suffix)
{
    if (n_prefix) *n_prefix = t->n_prefix;
    if (n_suffix) *n_suffix = t->n_suffix;
}

int tokenizer_adds_prefix_space(const Tokenizer *t) { return t->prefix_space; }

void tokp_disable_fast_path(Tokenizer *t) { t->fast = 0; }

// ---- decoding and queries --------------------------------------------------------

const char *tokenizer_token(const Tokenizer *t, int id, size_t *len)
{
    if (id < 0 || id >= t->n_ids || !t->known[id]) return NULL;
    *len = t->tok_len[id];
    return t->bytes + t->tok_start[id];
}

char *tokenizer_decode(const Tokenizer *t, const int *ids, int n, size_t *len, KopError *err)
{
    size_t total = 0, l;
    for (int i = 0; i < n; i++) {
        if (!tokenizer_token(t, ids[i], &l)) {
            kop_fail(err, KOP_EXIT_DATA, "token %d (position %d) is not in the vocabulary of %s",
                     ids[i], i, t->source);
            return NULL;
        }
        total += l;
    }
    char *out = kop_xmalloc(total + 1), *p = out;
    for (int i = 0; i < n; i++) {
        const char *b = tokenizer_token(t, ids[i], &l);
        memcpy(p, b, l);
        p += l;
    }
    *p = '\0';
    if (len) *len = total;
    return out;
}

int tokenizer_n_ids(const Tokenizer *t) { return t->n_ids; }
const char *tokenizer_source(const Tokenizer *t) { return t->source; }

int tokspan_overlaps(TokSpan s, size_t a, size_t b)
{
    if (s.start == s.end) return a < s.start && s.start <= b;
    return s.start < b && a < s.end;
}

static void added_free(AddedSet *set)
{
    for (int i = 0; i < set->n; i++) free(set->v[i].text);
    free(set->v);
}

void tokenizer_free(Tokenizer *t)
{
    if (!t) return;
    bpe_free(&t->bpe);
    for (int i = 0; i < t->n_norms; i++) toknorm_free(&t->norms[i]);
    free(t->norms);
    for (int i = 0; i < t->n_pres; i++) tokpre_free(&t->pres[i]);
    free(t->pres);
    free(t->prefix_ids);
    free(t->suffix_ids);
    free(t->vocab.v);
    free(t->vocab_blob);
    added_free(&t->raw);
    added_free(&t->norm);
    free(t->tok_start);
    free(t->tok_len);
    free(t->known);
    free(t->bytes);
    free(t->source);
    free(t);
}
