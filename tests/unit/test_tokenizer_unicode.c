/* test_tokenizer_unicode.c: the Unicode layer under the tokenizer (no shared
 * files needed): strict UTF-8, the classes the GPT-2 regex uses, NFC (cases
 * taken from the UCD's NormalizationTest.txt), the origin map that carries
 * offsets through NFC, and the pre-tokenizer's pieces. */
#include "tap.h"

#include "pretok.h"
#include "unicode.h"

static void utf8(const char *s, size_t len, size_t want, const char *what)
{
    is_int((long)uni_utf8_check(s, len), (long)want, "UTF-8: %s", what);
}

static void nfc(const char *in, const char *want, const char *what)
{
    size_t n, *origin;
    char *out = uni_nfc(in, strlen(in), 0, 1, &n, &origin);
    ok(n == strlen(want) && !memcmp(out, want, n), "NFC: %s", what);
    free(out);
    free(origin);
}

static void origins(const char *in, int normalize, const char *want, const char *what)
{
    size_t n, *origin;
    char *out = uni_nfc(in, strlen(in), 10, normalize, &n, &origin);
    char buf[256];
    size_t k = 0;
    for (size_t i = 0; i <= n; i++) k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%zu", i ? " " : "", origin[i]);
    is_str(buf, want, "origins: %s", what);
    free(out);
    free(origin);
}

/* s with control characters escaped, for test names. */
static const char *esc(const char *s)
{
    static char buf[512];
    size_t k = 0;
    for (; *s && k < sizeof buf - 8; s++) {
        if ((unsigned char)*s < 0x20) k += (size_t)snprintf(buf + k, sizeof buf - k, "\\x%02x", (unsigned char)*s);
        else buf[k++] = *s;
    }
    buf[k] = '\0';
    return buf;
}

/* Pieces of s joined with '|'. */
static void pieces(const char *s, const char *want)
{
    char buf[512];
    size_t len = strlen(s), k = 0;
    for (size_t i = 0; i < len;) {
        size_t j = pretok_next(s, len, i);
        if (j <= i || j > len) break;
        if (i) buf[k++] = '|';
        memcpy(buf + k, s + i, j - i);
        k += j - i;
        i = j;
    }
    buf[k] = '\0';
    is_str(buf, want, "pre-tokenizer pieces of \"%s\"", esc(s));
}

int main(void)
{
    ok(strcmp(uni_version(), "15.0.0") >= 0, "tables from Unicode %s", uni_version());

    utf8("plain", 5, 5, "ASCII");
    utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\xa6\x99", 14, 14, "2, 3 and 4-byte characters");
    utf8("\xc0\x80", 2, 0, "overlong NUL");
    utf8("a\xe0\x80\xaf", 4, 1, "overlong 3-byte form");
    utf8("ab\xed\xa0\x80", 5, 2, "a UTF-16 surrogate");
    utf8("\xf4\x90\x80\x80", 4, 0, "above U+10FFFF");
    utf8("a\xe2\x82", 3, 1, "a truncated character");
    utf8("\x80z", 2, 0, "a lone continuation byte");
    utf8("xy\xff", 3, 2, "byte 0xFF");
    utf8("a\0b", 3, 3, "NUL is valid UTF-8");

    ok(uni_is_letter('a') && uni_is_letter(0xE9) && uni_is_letter(0x4E2D) && uni_is_letter(0x1C5),
       "letters: a, e-acute, CJK, titlecase");
    ok(!uni_is_letter('_') && !uni_is_letter('1') && !uni_is_letter(0x301), "not letters: _, 1, a combining mark");
    ok(uni_is_number('7') && uni_is_number(0x663) && uni_is_number(0xBD) && uni_is_number(0x216B) && uni_is_number(0xFF11),
       "numbers: Nd (ASCII, Arabic-Indic, fullwidth), No (one half), Nl (roman twelve)");
    ok(uni_is_space(' ') && uni_is_space('\t') && uni_is_space(0x85) && uni_is_space(0xA0) && uni_is_space(0x2028) &&
       uni_is_space(0x3000) && uni_is_space(0x1680),
       "White_Space: space, tab, NEL, NBSP, line separator, ideographic and ogham spaces");
    ok(!uni_is_space(0x200B) && !uni_is_space(0xFEFF) && !uni_is_space(0x180E) && !uni_is_space(0x1F),
       "not White_Space: ZWSP, BOM, Mongolian vowel separator, U+001F");
    is_int(uni_ccc(0x301), 230, "combining class of U+0301");
    is_int(uni_ccc(0x328), 202, "combining class of U+0328");

    nfc("e\xcc\x81", "\xc3\xa9", "e + acute composes");
    nfc("\xe2\x84\xab", "\xc3\x85", "angstrom sign (singleton) becomes A-ring");
    nfc("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81", "Hangul L V T jamo compose");
    nfc("\xea\xb0\x80\xe1\x86\xa8", "\xea\xb0\x81", "Hangul LV syllable + T");
    nfc("a\xcc\x81\xcc\xa8", "\xc4\x85\xcc\x81", "marks reordered by class, then composed");
    nfc("\xe1\xb8\x8b\xcc\xa3", "\xe1\xb8\x8d\xcc\x87", "d-dot-above + dot-below (NormalizationTest)");
    nfc("\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc", "composition exclusion stays decomposed");
    nfc("\xe0\xbd\xb3", "\xe0\xbd\xb1\xe0\xbd\xb2", "Tibetan II (non-starter decomposition)");
    nfc("\xcd\x84", "\xcc\x88\xcc\x81", "U+0344 decomposes");
    nfc("\xcc\x81" "e", "\xcc\x81" "e", "a leading mark is left alone");
    nfc("x\xcc\x81\xcc\x81y", "x\xcc\x81\xcc\x81y", "marks without a composite are left alone");

    origins("xe\xcc\x81y", 1, "10 11 14 14 15", "a rewritten group is one unit (input at offset 10)");
    origins("a\xe2\x82\xac" "b", 1, "10 11 14 14 14 15", "later bytes of a character start at its end");
    origins("e\xcc\x81", 0, "10 11 13 13", "without NFC each character is a unit");
    origins("x\xcc\x81y", 1, "10 11 13 13 14", "a group NFC leaves alone is split into characters");
    origins("", 1, "10", "empty text");

    pieces("Hello world", "Hello| world");
    pieces("I'm they'RE we'll", "I|'m| they|'|RE| we|'ll");
    pieces("'s'S''", "'s|'|S|''");
    pieces("a  b", "a| | b");
    pieces("a\n\nb", "a|\n|\n|b");
    pieces("x   ", "x|   ");
    pieces("  ", "  ");
    pieces("123abc 456 7", "123|abc| 456| 7");
    pieces("!!x ?? ", "!!|x| ??| ");
    pieces("a\xc2\xa0" "b", "a|\xc2\xa0|b");
    pieces("\xe4\xb8\xad\xe6\x96\x87 \xe5\xad\x97", "\xe4\xb8\xad\xe6\x96\x87| \xe5\xad\x97");
    pieces(" \t x", " \t| x");
    return done_testing();
}
