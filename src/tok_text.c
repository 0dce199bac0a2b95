/* tok_text.c: see tok_text.h. */
#include "tok_text.h"

#include <string.h>

#include "unicode.h"

// ---- text with origins -----------------------------------------------------------

static void text_reserve(TokText *t, size_t n)
{
    if (n + 1 <= t->cap) return;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < n + 1) cap *= 2;
    t->s = kop_xrealloc(t->s, cap);
    t->org = kop_xrealloc(t->org, sizeof *t->org * cap);
    t->cap = cap;
}

/* Append bytes s[0..n) whose origins are org[0..n]; org[n] becomes the
 * text's end origin. */
static void text_append(TokText *t, const char *s, const size_t *org, size_t n)
{
    text_reserve(t, t->n + n);
    memcpy(t->s + t->n, s, n);
    memcpy(t->org + t->n, org, sizeof *org * n);
    t->n += n;
    t->org[t->n] = org[n];
    t->s[t->n] = '\0';
}

/* Append the bytes of one character (or inserted string) s[0..n) standing for
 * what starts at origin `first` and ends at origin `rest`. */
static void text_append_char(TokText *t, const char *s, size_t n, size_t first, size_t rest)
{
    text_reserve(t, t->n + n);
    memcpy(t->s + t->n, s, n);
    for (size_t k = 0; k < n; k++) t->org[t->n + k] = k ? rest : first;
    t->n += n;
    t->org[t->n] = rest;
    t->s[t->n] = '\0';
}

void toktext_set(TokText *t, const char *s, size_t n, size_t base)
{
    t->n = 0;
    text_reserve(t, n);
    size_t k;
    for (size_t i = 0; i < n; i += k) {
        uni_decode(s + i, &k);
        for (size_t j = 0; j < k; j++) t->org[i + j] = base + (j ? i + k : i);
    }
    memcpy(t->s, s, n);
    t->n = n;
    t->org[n] = base + n;
    t->s[n] = '\0';
}

void toktext_free(TokText *t)
{
    free(t->s);
    free(t->org);
    memset(t, 0, sizeof *t);
}

// ---- normalizers -----------------------------------------------------------------

static void nfc(TokText *t)
{
    size_t nn, *local;
    char *s = uni_nfc(t->s, t->n, 0, 1, &nn, &local);
    TokText out = {0};
    text_reserve(&out, nn);
    memcpy(out.s, s, nn + 1);
    for (size_t k = 0; k <= nn; k++) out.org[k] = t->org[local[k]];
    out.n = nn;
    free(s);
    free(local);
    toktext_free(t);
    *t = out;
}

/* NormalizedString::prepend: nothing for an empty text; the new characters
 * share the first character's origin. */
static void prepend(TokText *t, const char *s, size_t n)
{
    if (t->n == 0) return;
    TokText out = {0};
    text_append_char(&out, s, n, t->org[0], t->org[0]);
    text_append(&out, t->s, t->org, t->n);
    toktext_free(t);
    *t = out;
}

/* NormalizedString::replace: every match becomes the content. */
static int replace(TokText *t, const TokNorm *r, KopError *err)
{
    TokMatches m = {0};
    if (tokre_find(r->pattern, t->s, t->n, &m, err) < 0) {
        tokre_matches_free(&m);
        return -1;
    }
    TokText out = {0};
    text_reserve(&out, t->n);
    out.org[0] = t->org[0];
    for (size_t i = 0; i < m.n; i++) {
        TokMatch p = m.v[i];
        if (!p.is_match) text_append(&out, t->s + p.start, t->org + p.start, p.end - p.start);
        else if (r->len) text_append_char(&out, r->text, r->len, t->org[p.start], t->org[p.end]);
        else out.org[out.n] = t->org[p.end];
    }
    tokre_matches_free(&m);
    toktext_free(t);
    *t = out;
    return 0;
}

int toknorm_apply(const TokNorm *norms, int n_norms, TokText *t, KopError *err)
{
    for (int i = 0; i < n_norms; i++) {
        switch (norms[i].kind) {
        case TOKN_NFC: nfc(t); break;
        case TOKN_PREPEND: prepend(t, norms[i].text, norms[i].len); break;
        case TOKN_REPLACE:
            if (replace(t, &norms[i], err) < 0) return -1;
            break;
        }
    }
    return 0;
}

void toknorm_free(TokNorm *n)
{
    free(n->text);
    tokre_free(n->pattern);
}

// ---- splitting -------------------------------------------------------------------

size_t tok_split_ranges(const TokMatch *m, size_t n, TokBehavior b, size_t *start, size_t *end)
{
    size_t k = 0;
    int prev = 0;
    switch (b) {
    case TOKB_ISOLATED:
    case TOKB_REMOVED:
        for (size_t i = 0; i < n; i++) {
            if (b == TOKB_REMOVED && m[i].is_match) continue;
            start[k] = m[i].start;
            end[k++] = m[i].end;
        }
        break;
    case TOKB_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            if (m[i].is_match == prev && k) end[k - 1] = m[i].end;
            else { start[k] = m[i].start; end[k++] = m[i].end; }
            prev = m[i].is_match;
        }
        break;
    case TOKB_MERGED_WITH_PREVIOUS:
        for (size_t i = 0; i < n; i++) {
            if (m[i].is_match && !prev && k) end[k - 1] = m[i].end;
            else { start[k] = m[i].start; end[k++] = m[i].end; }
            prev = m[i].is_match;
        }
        break;
    case TOKB_MERGED_WITH_NEXT:
        // The same fold from the right, then reversed.
        for (size_t i = n; i-- > 0;) {
            if (m[i].is_match && !prev && k) start[k - 1] = m[i].start;
            else { start[k] = m[i].start; end[k++] = m[i].end; }
            prev = m[i].is_match;
        }
        for (size_t i = 0; i < k / 2; i++) {
            size_t s = start[i], e = end[i];
            start[i] = start[k - 1 - i]; end[i] = end[k - 1 - i];
            start[k - 1 - i] = s; end[k - 1 - i] = e;
        }
        break;
    }
    // Empty pieces are dropped (PreTokenizedString::split).
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (end[i] > start[i]) { start[w] = start[i]; end[w++] = end[i]; }
    return w;
}

// ---- pre-tokenizers --------------------------------------------------------------

static void pieces_clear(TokPieces *p)
{
    p->t.n = 0;
    p->n = 0;
}

/* A new piece: bytes s[0..n) with origins org[0..n]. */
static void pieces_add(TokPieces *p, const char *s, const size_t *org, size_t n)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->start = kop_xrealloc(p->start, sizeof *p->start * p->cap);
        p->end = kop_xrealloc(p->end, sizeof *p->end * p->cap);
        p->org_end = kop_xrealloc(p->org_end, sizeof *p->org_end * p->cap);
    }
    p->org_end[p->n] = org[n];
    p->start[p->n] = p->t.n;
    text_append(&p->t, s, org, n);
    p->end[p->n++] = p->t.n;
}

void tokpieces_free(TokPieces *p)
{
    toktext_free(&p->t);
    free(p->start);
    free(p->end);
    free(p->org_end);
    memset(p, 0, sizeof *p);
}

uint32_t tok_byte_char(unsigned char b)
{
    // GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for
    // themselves, the other 68 for U+0100 onwards in byte order.
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (printable) return b;
    int before = b < '!' ? b : b <= 0xA0 ? 33 + (b - 0x7F) : 33 + 34;  // 0..32, 127..160, 173
    return 256u + (uint32_t)before;
}

/* Scratch per call: the matches, the ranges and a rewritten piece. */
typedef struct PreWork {
    TokMatches m;
    size_t *rs, *re, cap;
    TokText tx;
} PreWork;

/* Split piece s[0..n) (origins org) by the pieces in w->m and behaviour b. */
static void emit_split(PreWork *w, TokBehavior b, int invert, const char *s, const size_t *org, TokPieces *out)
{
    if (w->cap < w->m.n) {
        w->cap = 2 * w->m.n;
        w->rs = kop_xrealloc(w->rs, sizeof *w->rs * w->cap);
        w->re = kop_xrealloc(w->re, sizeof *w->re * w->cap);
    }
    if (invert)
        for (size_t i = 0; i < w->m.n; i++) w->m.v[i].is_match = !w->m.v[i].is_match;
    size_t k = tok_split_ranges(w->m.v, w->m.n, b, w->rs, w->re);
    for (size_t i = 0; i < k; i++) pieces_add(out, s + w->rs[i], org + w->rs[i], w->re[i] - w->rs[i]);
}

static int is_ws(uint32_t c) { return uni_is_space(c); }

/* ByteLevel: a leading space if asked, the GPT-2 regex if asked, then every
 * byte as its byte-level character. */
static int byte_level(const TokPre *p, PreWork *w, const char *s, const size_t *org, size_t n, TokPieces *out,
                      KopError *err)
{
    TokText *tx = &w->tx;
    tx->n = 0;
    if (p->add_prefix_space && s[0] != ' ') text_append_char(tx, " ", 1, org[0], org[0]);
    text_append(tx, s, org, n);
    size_t one[1] = {0}, two[1] = {tx->n}, k = 1, *rs = one, *re = two;
    if (p->pattern) {
        if (tokre_find(p->pattern, tx->s, tx->n, &w->m, err) < 0) return -1;
        if (w->cap < w->m.n) {
            w->cap = 2 * w->m.n;
            w->rs = kop_xrealloc(w->rs, sizeof *w->rs * w->cap);
            w->re = kop_xrealloc(w->re, sizeof *w->re * w->cap);
        }
        k = tok_split_ranges(w->m.v, w->m.n, TOKB_ISOLATED, w->rs, w->re);
        rs = w->rs;
        re = w->re;
    }
    for (size_t i = 0; i < k; i++) {
        TokText piece = {0};
        for (size_t j = rs[i]; j < re[i]; j++) {
            char u[4];
            size_t ul = uni_encode(tok_byte_char((unsigned char)tx->s[j]), u);
            text_append_char(&piece, u, ul, tx->org[j], tx->org[j + 1]);
        }
        if (piece.n) pieces_add(out, piece.s, piece.org, piece.n);
        toktext_free(&piece);
    }
    return 0;
}

/* Metaspace: spaces become the replacement, which is prepended as the scheme
 * says, then (split) each replacement starts a piece. */
static void metaspace(const TokPre *p, PreWork *w, const char *s, const size_t *org, size_t n, TokPieces *out)
{
    TokText *tx = &w->tx;
    tx->n = 0;
    text_reserve(tx, n);
    tx->org[0] = org[0];
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') text_append_char(tx, p->replacement, p->rep_len, org[i], org[i + 1]);
        else text_append(tx, s + i, org + i, 1);
    }
    int needs = tx->n < p->rep_len || memcmp(tx->s, p->replacement, p->rep_len) != 0;
    if (needs && (p->prepend_scheme == TOK_PREPEND_ALWAYS ||
                  (p->prepend_scheme == TOK_PREPEND_FIRST && org[0] == 0))) {
        TokText pre = {0};
        text_append_char(&pre, p->replacement, p->rep_len, tx->org[0], tx->org[0]);
        text_append(&pre, tx->s, tx->org, tx->n);
        toktext_free(tx);
        *tx = pre;
    }
    if (!p->split) {
        pieces_add(out, tx->s, tx->org, tx->n);
        return;
    }
    size_t k;
    tokre_find_chars(NULL, uni_decode(p->replacement, &k), tx->s, tx->n, &w->m);
    emit_split(w, TOKB_MERGED_WITH_NEXT, 0, tx->s, tx->org, out);
}

static int pre_one(const TokPre *p, PreWork *w, const char *s, const size_t *org, size_t n, TokPieces *out,
                   KopError *err)
{
    switch (p->kind) {
    case TOKP_SPLIT:
    case TOKP_WHITESPACE:
        if (tokre_find(p->pattern, s, n, &w->m, err) < 0) return -1;
        if (p->kind == TOKP_WHITESPACE) emit_split(w, TOKB_REMOVED, 1, s, org, out);
        else emit_split(w, p->behavior, p->invert, s, org, out);
        return 0;
    case TOKP_PUNCTUATION:
        tokre_find_chars(tokre_is_punct, 0, s, n, &w->m);
        emit_split(w, p->behavior, 0, s, org, out);
        return 0;
    case TOKP_DIGITS:
        tokre_find_chars(uni_is_number, 0, s, n, &w->m);
        emit_split(w, p->individual_digits ? TOKB_ISOLATED : TOKB_CONTIGUOUS, 0, s, org, out);
        return 0;
    case TOKP_WHITESPACE_SPLIT:
        tokre_find_chars(is_ws, 0, s, n, &w->m);
        emit_split(w, TOKB_REMOVED, 0, s, org, out);
        return 0;
    case TOKP_BYTE_LEVEL:
        return byte_level(p, w, s, org, n, out, err);
    case TOKP_METASPACE:
        metaspace(p, w, s, org, n, out);
        return 0;
    }
    return 0;
}

int tokpre_apply(const TokPre *pres, int n_pres, const TokText *t, size_t a, size_t b, TokPieces *out,
                 TokPieces *scratch, KopError *err)
{
    pieces_clear(out);
    if (a == b) return 0;
    pieces_add(out, t->s + a, t->org + a, b - a);
    PreWork w = {0};
    int rc = 0;
    for (int i = 0; i < n_pres && rc == 0; i++) {
        pieces_clear(scratch);
        for (size_t k = 0; k < out->n && rc == 0; k++) {
            // The piece's own end origin in place of the next piece's start.
            size_t s = out->start[k], e = out->end[k], keep = out->t.org[e];
            out->t.org[e] = out->org_end[k];
            rc = pre_one(&pres[i], &w, out->t.s + s, out->t.org + s, e - s, scratch, err);
            out->t.org[e] = keep;
        }
        TokPieces tmp = *out;
        *out = *scratch;
        *scratch = tmp;
    }
    tokre_matches_free(&w.m);
    free(w.rs);
    free(w.re);
    toktext_free(&w.tx);
    return rc;
}

void tokpre_free(TokPre *p) { tokre_free(p->pattern); }
