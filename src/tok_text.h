/* tok_text.h: normalizers and pre-tokenizers of Hugging Face tokenizers,
 * on text that remembers where each byte came from.
 *
 * A TokText is bytes s[0..n) plus org[0..n]: org[k] is the offset in the
 * ORIGINAL text where a token starting at byte k starts (src/unicode.h says
 * how NFC sets it; a character inserted by a normalizer or a pre-tokenizer
 * takes the origin of what it replaces or precedes; a byte-level character
 * takes that of its byte).  Origins never decrease, so a token's byte range
 * in the original is [org of its first byte, org of the next token's first
 * byte): token ranges still tile the text, whatever was inserted or removed
 * (removed characters go to the token before them).
 *
 * Normalizers (TokNorm, applied in order): NFC, Prepend, Replace (String or
 * Regex pattern).  Pre-tokenizers (TokPre, applied in order to every piece
 * the previous one produced, as the crate's Sequence does): Split, Punctuation,
 * Digits, ByteLevel, Whitespace, WhitespaceSplit, Metaspace, each with the
 * crate's semantics (the files of pre_tokenizers/ and NormalizedString::split in
 * tokenizer/normalizer.rs): the pattern's pieces are grouped by the
 * SplitDelimiterBehavior, empty pieces are dropped.  ByteLevel rewrites each
 * byte of a piece as its byte-level character (GPT-2's bytes_to_unicode), so
 * the pre-tokenizers after it see that text, as in the crate.
 *
 * Where kop differs from the crate: Metaspace's prepend_scheme "first" asks
 * whether a piece starts at original offset 0, and kop answers with the
 * origin of the piece's first byte.  The crate uses the offset of the
 * piece's slice, which differs only for a piece never split before Metaspace
 * whose leading characters a Replace normalizer deleted (no tokenizer the
 * papers use has both). */
#ifndef KOP_TOK_TEXT_H
#define KOP_TOK_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "tok_regex.h"
#include "util.h"

typedef struct TokText {
    char *s;          /* (n) bytes, NUL-terminated */
    size_t *org;      /* (n + 1) origins */
    size_t n, cap;
} TokText;

typedef enum { TOKN_NFC, TOKN_PREPEND, TOKN_REPLACE } TokNormKind;

typedef struct TokNorm {
    TokNormKind kind;
    char *text;       /* Prepend: what to prepend; Replace: the content */
    size_t len;
    TokRegex *pattern;/* Replace */
} TokNorm;

typedef enum {
    TOKB_REMOVED, TOKB_ISOLATED, TOKB_MERGED_WITH_PREVIOUS, TOKB_MERGED_WITH_NEXT, TOKB_CONTIGUOUS
} TokBehavior;

typedef enum {
    TOKP_SPLIT, TOKP_PUNCTUATION, TOKP_DIGITS, TOKP_BYTE_LEVEL, TOKP_WHITESPACE, TOKP_WHITESPACE_SPLIT,
    TOKP_METASPACE
} TokPreKind;

enum { TOK_PREPEND_NEVER, TOK_PREPEND_FIRST, TOK_PREPEND_ALWAYS };

typedef struct TokPre {
    TokPreKind kind;
    TokBehavior behavior;   /* Split, Punctuation */
    int invert;             /* Split */
    TokRegex *pattern;      /* Split; ByteLevel with use_regex; Whitespace */
    int individual_digits;  /* Digits */
    int add_prefix_space;   /* ByteLevel */
    char replacement[5];    /* Metaspace: the character, UTF-8 */
    size_t rep_len;
    int prepend_scheme;     /* Metaspace: TOK_PREPEND_* */
    int split;              /* Metaspace */
} TokPre;

/* Pieces of text: ranges of one TokText. */
typedef struct TokPieces {
    TokText t;
    size_t *start, *end;  /* (n) piece i is t.s[start[i] .. end[i]) */
    size_t *org_end;      /* (n) the original offset where piece i ends (its
                             first byte's is t.org[start[i]]) */
    size_t n, cap;
} TokPieces;

/* Make t a copy of s[0..n) whose byte k came from base + k (characters keep
 * one origin: a later byte of a character gets the character's end). */
void toktext_set(TokText *t, const char *s, size_t n, size_t base);
void toktext_free(TokText *t);

/* Apply the normalizers to t in place.  -1 and err on a failed search. */
int toknorm_apply(const TokNorm *norms, int n_norms, TokText *t, KopError *err);
void toknorm_free(TokNorm *n);

/* Pre-tokenize text[a..b) of t (one segment between added tokens) into out
 * (cleared first).  -1 and err on a failed search. */
int tokpre_apply(const TokPre *pres, int n_pres, const TokText *t, size_t a, size_t b, TokPieces *out,
                 TokPieces *scratch, KopError *err);
void tokpre_free(TokPre *p);
void tokpieces_free(TokPieces *p);

/* The byte-level character of each byte (GPT-2's bytes_to_unicode). */
uint32_t tok_byte_char(unsigned char b);

/* Group the pieces of m[0..n) by behaviour b into ranges [start[i], end[i]),
 * dropping the removed and the empty ones, as NormalizedString::split does;
 * returns how many (at most n).  Offsets are relative to the split text. */
size_t tok_split_ranges(const TokMatch *m, size_t n, TokBehavior b, size_t *start, size_t *end);

#endif
