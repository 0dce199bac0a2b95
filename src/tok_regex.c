/* tok_regex.c: see tok_regex.h. */
#include "tok_regex.h"

#include <pthread.h>
#include <string.h>

#include <oniguruma.h>

#include "unicode.h"

struct TokRegex {
    regex_t *re;
};

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t onig_compile_lock = PTHREAD_MUTEX_INITIALIZER;
static int punct_ctype = -1;

static void onig_setup(void)
{
    OnigEncoding enc[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(enc, 1);
    static const char name[] = "P";
    punct_ctype = ONIGENC_PROPERTY_NAME_TO_CTYPE(ONIG_ENCODING_UTF8, (OnigUChar *)name,
                                                 (OnigUChar *)name + 1);
}

/* Rust's regex::escape: a backslash before each meta character. */
static char *escape(const char *s, size_t len, size_t *out_len)
{
    static const char meta[] = "\\.+*?()|[]{}^$#&-~";
    char *out = kop_xmalloc(2 * len + 1), *p = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] && strchr(meta, s[i])) *p++ = '\\';
        *p++ = s[i];
    }
    *out_len = (size_t)(p - out);
    return out;
}

TokRegex *tokre_new(const char *pattern, size_t len, int literal, const char *where, KopError *err)
{
    pthread_once(&onig_once, onig_setup);
    size_t n = len;
    char *esc = literal ? escape(pattern, len, &n) : NULL;
    const char *p = esc ? esc : pattern;
    regex_t *re = NULL;
    OnigErrorInfo info;
    // onig_new is not thread-safe (the onig crate holds a lock around it too).
    pthread_mutex_lock(&onig_compile_lock);
    int rc = onig_new(&re, (const OnigUChar *)p, (const OnigUChar *)p + n, ONIG_OPTION_NONE,
                      ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
    pthread_mutex_unlock(&onig_compile_lock);
    free(esc);
    if (rc != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, rc, &info);
        kop_fail(err, KOP_EXIT_DATA, "%s: the pattern \"%.*s\" does not compile (Oniguruma: %s)", where,
                 (int)(len > 200 ? 200 : len), pattern, (const char *)msg);
        return NULL;
    }
    TokRegex *r = kop_xmalloc(sizeof *r);
    r->re = re;
    return r;
}

void tokre_free(TokRegex *re)
{
    if (!re) return;
    onig_free(re->re);
    free(re);
}

static void push(TokMatches *m, size_t a, size_t b, int is_match)
{
    if (m->n == m->cap) m->v = kop_xrealloc(m->v, sizeof *m->v * (m->cap = m->cap ? 2 * m->cap : 16));
    m->v[m->n++] = (TokMatch){a, b, is_match};
}

static size_t char_len(const char *s, size_t i, size_t n)
{
    if (i >= n) return 1;  // the onig crate steps one byte past the end
    size_t k;
    uni_decode(s + i, &k);
    return k;
}

int tokre_find(const TokRegex *re, const char *s, size_t n, TokMatches *m, KopError *err)
{
    m->n = 0;
    if (n == 0) {
        push(m, 0, 0, 0);
        return 0;
    }
    OnigRegion *region = onig_region_new();
    const OnigUChar *str = (const OnigUChar *)s, *end = str + n;
    size_t prev = 0, last_end = 0;
    int skip_next_empty = 0, rc = 0;
    while (last_end <= n) {
        onig_region_clear(region);
        int r = onig_search(re->re, str, end, str + last_end, end, region, ONIG_OPTION_NONE);
        if (r == ONIG_MISMATCH) break;
        if (r < 0) {
            OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
            onig_error_code_to_str(msg, r);
            rc = kop_fail(err, KOP_EXIT_DATA, "text: the tokenizer's pattern search failed (Oniguruma: %s)",
                          (const char *)msg);
            break;
        }
        size_t ms = (size_t)region->beg[0], me = (size_t)region->end[0];
        last_end = me;
        if (ms == me) {
            last_end += char_len(s, last_end, n);
            if (skip_next_empty) {
                skip_next_empty = 0;
                continue;
            }
        } else {
            skip_next_empty = 1;
        }
        if (prev != ms) push(m, prev, ms, 0);
        push(m, ms, me, 1);
        prev = me;
    }
    onig_region_free(region, 1);
    if (rc == 0 && prev != n) push(m, prev, n, 0);
    return rc;
}

void tokre_find_chars(int (*pred)(uint32_t c), uint32_t only, const char *s, size_t n, TokMatches *m)
{
    m->n = 0;
    if (n == 0) {
        push(m, 0, 0, 0);
        return;
    }
    size_t last = 0, k;
    for (size_t i = 0; i < n; i += k) {
        uint32_t c = uni_decode(s + i, &k);
        if (pred ? !pred(c) : c != only) continue;
        if (last < i) push(m, last, i, 0);
        push(m, i, i + k, 1);
        last = i + k;
    }
    if (last < n) push(m, last, n, 0);
}

int tokre_is_punct(uint32_t c)
{
    if (c < 0x80) return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
                         (c >= '{' && c <= '~');
    pthread_once(&onig_once, onig_setup);
    return punct_ctype >= 0 && ONIGENC_IS_CODE_CTYPE(ONIG_ENCODING_UTF8, c, (unsigned)punct_ctype);
}

void tokre_matches_free(TokMatches *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}
