/* tok_regex.h: patterns the way Hugging Face tokenizers run them.
 *
 * The crate compiles every Split / Replace pattern with Oniguruma (its
 * SysRegex is onig::Regex::new: UTF-8, no options, Oniguruma's default
 * syntax), so kop links the same library (libonig) with the same settings:
 * a pattern means the same here.  A String pattern is the crate's
 * regex::escape of the string, compiled the same way.
 *
 * tokre_find() is the crate's Pattern::find_matches over a SysRegex: it cuts
 * a text into pieces that tile it, each marked as a match or not, with the
 * onig crate's find_iter rules for empty matches (an empty match is skipped
 * when it directly follows a non-empty one; after an empty match the search
 * resumes one character further).  An empty text gives one empty non-match.
 *
 * The character predicates used by Punctuation, Digits and WhitespaceSplit
 * cut text the same way (one match per matching character), tokre_find_chars.
 *
 * Threads: a TokRegex is immutable once built; searches may run
 * concurrently (each keeps its own match region). */
#ifndef KOP_TOK_REGEX_H
#define KOP_TOK_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct TokRegex TokRegex;

/* A piece [start, end) of a text, and whether the pattern matched it. */
typedef struct TokMatch {
    size_t start, end;
    int is_match;
} TokMatch;

/* A growable list of pieces. */
typedef struct TokMatches {
    TokMatch *v;
    size_t n, cap;
} TokMatches;

/* Compile pattern[0..len) as a regex (literal = 0) or as a string to find
 * verbatim (literal = 1).  NULL and err (status 1, the message names `where`
 * and says what Oniguruma said) for a bad pattern. */
TokRegex *tokre_new(const char *pattern, size_t len, int literal, const char *where, KopError *err);
void tokre_free(TokRegex *re);

/* find_matches of re over s[0..n) into m (cleared first).  -1 and err for a
 * search the engine gives up on. */
int tokre_find(const TokRegex *re, const char *s, size_t n, TokMatches *m, KopError *err);

/* find_matches of a character predicate over s[0..n) (valid UTF-8); with
 * pred NULL, the characters equal to `only` match. */
void tokre_find_chars(int (*pred)(uint32_t c), uint32_t only, const char *s, size_t n, TokMatches *m);

/* Rust's char::is_ascii_punctuation() || the general category P*: the
 * crate's Punctuation pre-tokenizer. */
int tokre_is_punct(uint32_t c);

void tokre_matches_free(TokMatches *m);

#endif
