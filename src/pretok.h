/* pretok.h: the GPT-2 pre-tokenizer, by hand: the fast path of the GPT-2 /
 * NeoX form (src/tokenizer.c); every other pre-tokenizer, and this one on the
 * general path, runs through src/tok_text.h.  Tests check both paths give the
 * same ids on the shared vectors and on every known_1000 prompt.
 *
 * Byte-level BPE tokenizers (GPT-2, GPT-NeoX) first cut the text into pieces
 * with the regex
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * run by a backtracking engine (Oniguruma in Hugging Face tokenizers): at
 * each position the first alternative that matches wins, quantifiers are
 * greedy, `\s` is the White_Space property and ` ` is U+0020 only.  Every
 * character falls in one of the classes, so the pieces tile the text.  The
 * contractions are case-sensitive, as in the original.
 *
 * The one subtle alternative is `\s+(?!\S)`: a run of white space followed by
 * a non-space gives up its last character, so that " word" keeps its space;
 * a single white-space character before a non-space is matched by `\s+`. */
#ifndef KOP_PRETOK_H
#define KOP_PRETOK_H

#include <stddef.h>

/* End (exclusive) of the piece that starts at byte i of s[0..len), i < len,
 * s valid UTF-8.  The text's end is the regex's end of input. */
size_t pretok_next(const char *s, size_t len, size_t i);

#endif
