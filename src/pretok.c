/* pretok.c: see pretok.h. */
#include "pretok.h"

#include <stdint.h>

#include "unicode.h"

enum { CL_LETTER, CL_NUMBER, CL_SPACE, CL_OTHER };

static int class_of(uint32_t c)
{
    if (c < 0x80) {  // ASCII without table look-ups
        if ((c | 0x20) - 'a' < 26) return CL_LETTER;
        if (c - '0' < 10) return CL_NUMBER;
        if (c == ' ' || (c >= '\t' && c <= '\r')) return CL_SPACE;
        return CL_OTHER;
    }
    if (uni_is_letter(c)) return CL_LETTER;
    if (uni_is_number(c)) return CL_NUMBER;
    if (uni_is_space(c)) return CL_SPACE;
    return CL_OTHER;
}

/* Class of the character at s[i] (i < len) and its length in *n. */
static int class_at(const char *s, size_t i, size_t *n) { return class_of(uni_decode(s + i, n)); }

/* End of the run of characters of class cl starting at i. */
static size_t run_end(const char *s, size_t len, size_t i, int cl)
{
    size_t n;
    while (i < len && class_at(s, i, &n) == cl) i += n;
    return i;
}

/* Length of a contraction ('s 't 're 've 'm 'll 'd) at s[i], or 0. */
static size_t contraction(const char *s, size_t len, size_t i)
{
    if (s[i] != '\'' || i + 1 >= len) return 0;
    char a = s[i + 1], b = i + 2 < len ? s[i + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

size_t pretok_next(const char *s, size_t len, size_t i)
{
    size_t n, k = contraction(s, len, i);
    if (k) return i + k;
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: with the optional space
    // taken when a non-space follows it; without it, a space matches none.
    size_t j = (s[i] == ' ' && i + 1 < len) ? i + 1 : i;
    int cl = class_at(s, j, &n);
    if (cl != CL_SPACE) return run_end(s, len, j + n, cl);
    // `\s+(?!\S)` then `\s+`.
    size_t end = i, last = i;
    while (end < len && class_at(s, end, &n) == CL_SPACE) {
        last = end;
        end += n;
    }
    if (end == len) return end;      // white space up to the end
    return last > i ? last : end;    // leave the last one to the next piece
}
