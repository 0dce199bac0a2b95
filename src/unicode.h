/* unicode.h: the little of Unicode a byte-level BPE tokenizer needs.
 *
 * UTF-8: uni_utf8_check() validates strictly (no overlong forms, no
 * surrogates, nothing above U+10FFFF), as Rust's str does; every other
 * function here assumes text that passed it.
 *
 * Classes: uni_is_letter (\p{L}), uni_is_number (\p{N}) and uni_is_space
 * (\s of the Rust `regex` crate = the White_Space property) drive the GPT-2
 * pre-tokenizer regex.  The tables are generated from the Unicode Character
 * Database by tools/gen-unicode-tables.py (src/unicode_tables.h, committed).
 *
 * NFC with offsets: uni_nfc() normalizes a text and says, for every byte it
 * produced, where that byte came from in the input.  The input is cut into
 * units at the points where NFC cannot reach across (a starter that nothing
 * composes with), so NFC(text) is the concatenation of NFC(unit).  A unit that
 * NFC leaves alone is split further into its characters.  origin[k] is then
 * the input offset where a token starting at output byte k starts:
 *   - the unit's (or character's) first input byte, for the unit's first
 *     output byte;
 *   - the unit's end, for every later output byte.
 * So a token covers exactly the units whose first byte it holds, token ranges
 * tile the input without gaps or overlaps, and a token made only of bytes
 * from the middle of a character (byte-level BPE can split one) gets an empty
 * range at that character's end.  origin[out_len] is the end of the input. */
#ifndef KOP_UNICODE_H
#define KOP_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Unicode version the tables were generated from, e.g. "15.0.0". */
const char *uni_version(void);

/* len if s[0..len) is valid UTF-8, else the offset of the first bad byte. */
size_t uni_utf8_check(const char *s, size_t len);

/* Decode the character at s[0..] (valid UTF-8, at least one byte); *n gets its
 * length in bytes. */
uint32_t uni_decode(const char *s, size_t *n);
/* Encode c into out (4 bytes of room); returns the length. */
size_t uni_encode(uint32_t c, char *out);

int uni_is_letter(uint32_t c);
int uni_is_number(uint32_t c);
int uni_is_space(uint32_t c);
int uni_ccc(uint32_t c);  /* canonical combining class */

/* NFC of s[0..len) (valid UTF-8).  Returns a new NUL-terminated buffer, its
 * length in *out_len, and in *origin a new array of *out_len + 1 offsets as
 * described above, each plus `base` (the input's offset in a larger text).
 * With normalize = 0 the text is copied unchanged and only the per-character
 * origins are computed. */
char *uni_nfc(const char *s, size_t len, size_t base, int normalize,
              size_t *out_len, size_t **origin);

#endif
