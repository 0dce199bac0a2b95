/* tokenizer.h: BPE tokenizers as Hugging Face tokenizers defines them, with
 * offsets: GPT-2, GPT-NeoX, Falcon, Llama-2 / Mistral (SentencePiece BPE
 * written as tokenizer.json) and Llama-3.
 *
 * Sources: a Hugging Face `tokenizer.json` (with the `tokenizer_config.json`
 * beside it, if any), or OpenAI's `vocab.json` + `merges.txt` pair.
 * tokenizer_load() takes a directory (tokenizer.json if present, else
 * vocab.json + merges.txt) or a file (vocab.json or merges.txt pair up with
 * the other one beside them; any other file is read as a tokenizer.json).
 *
 * What a tokenizer.json may say, and what kop does with it (each component
 * with the crate's semantics and defaults; src/tok_text.h):
 *   model           BPE (the "type" may be absent): vocab and merges, merges
 *                   as "A B" strings or ["A", "B"] pairs, ranked by position;
 *                   unk_token, fuse_unk, byte_fallback ("<0xNN>" tokens) and
 *                   ignore_merges.  dropout, a subword prefix or suffix are
 *                   refused as unsupported.
 *   normalizer      NFC, Prepend, Replace (String or Regex), Sequence of them.
 *   pre_tokenizer   Sequence, Split (String or Regex, every behaviour, invert),
 *                   Punctuation, Digits, ByteLevel (add_prefix_space,
 *                   use_regex), Whitespace, WhitespaceSplit, Metaspace
 *                   (prepend_scheme, split), or none.  Regex patterns run
 *                   through Oniguruma with the crate's settings
 *                   (src/tok_regex.h).
 *   post_processor  TemplateProcessing (its "single" template), ByteLevel
 *                   (offsets only: nothing for ids), Sequence of them.
 *   decoder         only shows token bytes: ByteLevel, or the character that
 *                   stands for a space (Metaspace, Replace "\u2581" -> " ").
 *   truncation and padding are ignored.
 *   added_tokens    matched in the text before anything else, leftmost and
 *                   longest first: those with "normalized": false in the raw
 *                   text, then the others in the normalized text (GPT-NeoX's
 *                   runs of 2 to 24 spaces).  lstrip and rstrip (the token
 *                   takes the white space beside it into its span, and
 *                   decodes without it) and single_word (only between
 *                   non-word characters, \w approximated as letters,
 *                   numbers, marks and '_') are honoured.  Special tokens
 *                   written in the text (such as "<|endoftext|>") are matched
 *                   too, as Hugging Face does.
 * Any other component or setting is an error naming the file, the JSON path
 * and the type: kop never approximates a tokenizer.  A vocab.json +
 * merges.txt pair has no normalizer, no added tokens but "<|endoftext|>" (if
 * the vocabulary has it, as GPT-2's does), and the ByteLevel steps.
 *
 * Special tokens (tokenizer_encode_special, the ids kop feeds a model):
 * transformers' default add_special_tokens=True, that is the template of the
 * post_processor; but where tokenizer_config.json sets add_bos_token or
 * add_eos_token, or names a Llama tokenizer class (LlamaTokenizer[Fast],
 * CodeLlamaTokenizer[Fast], whose add_bos_token defaults to true), the
 * template is rebuilt from those settings and the config's bos_token /
 * eos_token, as transformers' fast tokenizers do (update_post_processor).
 * A Llama class with add_prefix_space set is refused: transformers then
 * rebuilds the tokenizer from its SentencePiece model.
 *
 * Encoding: split on raw added tokens, normalize, split on normalized added
 * tokens, pre-tokenize, BPE each piece (the crate's priority-queue merges,
 * src/bpe.h).  The ids are those of Hugging Face tokenizers for the same
 * file.  Text must be valid UTF-8 (an error otherwise); an empty text has no
 * tokens (but the template's).
 *
 * Offsets: for each token a byte range [start, end) in the ORIGINAL text
 * (before normalization).  Ranges are in order, never overlap, leave no gap,
 * cover the whole text and always fall on character boundaries, so each is
 * valid UTF-8.  A token covers the characters whose first byte it produced.
 * Byte-level BPE (or byte fallback) can split a multi-byte character over
 * several tokens: the first gets the whole character, and a token made only
 * of later bytes of it gets an empty range at the character's end (it still
 * "touches" that character: see tokspan_overlaps).  Where NFC rewrote a group
 * of characters (e + U+0301 -> é), the group counts as one character.  A
 * character a normalizer or pre-tokenizer inserts (Llama's leading "\u2581")
 * belongs to the token of what follows it; a removed one (a space
 * WhitespaceSplit drops) to the token before it.  Leading spaces belong to
 * the token that holds them (" Paris" covers the space): unlike Hugging
 * Face's trim_offsets, ranges are exact, so that the ranges of the tokens cut
 * the text into the tokens' own text.  The special tokens of the template
 * have empty ranges: at 0 before the text, at its end after it.
 *
 * Decoding: ids back to bytes (byte-level characters to their bytes; for
 * SentencePiece BPE "<0xNN>" to the byte and "\u2581" to a space; added
 * tokens give their content).  Decoding a subsequence can cut a character, so
 * the result is bytes, not necessarily valid UTF-8.
 *
 * Ownership and threads: a Tokenizer is immutable after tokenizer_load();
 * encode and decode only read it and may run concurrently.  Arrays returned
 * through pointers are new and owned by the caller (free()). */
#ifndef KOP_TOKENIZER_H
#define KOP_TOKENIZER_H

#include <stddef.h>
#include "util.h"

typedef struct Tokenizer Tokenizer;

/* Byte range [start, end) of a token in the original text. */
typedef struct TokSpan {
    size_t start, end;
} TokSpan;

/* Load from a directory or a file (see above); NULL and err on failure:
 * status 1 for a malformed or unsupported file, 2 when a file can't be read. */
Tokenizer *tokenizer_load(const char *path_or_dir, KopError *err);
void tokenizer_free(Tokenizer *t);

/* Encode text[0..len) without special tokens (Hugging Face's
 * add_special_tokens=False).  Returns the number of tokens n >= 0 and new
 * arrays *ids (n ids) and, when offsets is not NULL, *offsets (n spans); -1
 * and err (status 1) when the text is not valid UTF-8 or a character has no
 * token (and there is no unk token). */
int tokenizer_encode(const Tokenizer *t, const char *text, size_t len,
                     int **ids, TokSpan **offsets, KopError *err);

/* The ids kop feeds a model: the text's tokens (tokenizer_encode) inside the
 * special tokens of the post-processor's template (see above).  *n_prefix
 * (when not NULL) gets the count of special tokens before the text's tokens;
 * special tokens have empty spans (at 0 before the text, at len after it),
 * so the text's spans are those tokenizer_encode gives. */
int tokenizer_encode_special(const Tokenizer *t, const char *text, size_t len,
                             int **ids, TokSpan **offsets, int *n_prefix, KopError *err);

/* How many special tokens the template puts before and after a text. */
void tokenizer_special_counts(const Tokenizer *t, int *n_prefix, int *n_suffix);

/* Whether the tokenizer marks a word's leading space itself (a Prepend
 * normalizer, Metaspace prepending, or ByteLevel add_prefix_space): then
 * " Paris" as a continuation is encoded as "Paris" is. */
int tokenizer_adds_prefix_space(const Tokenizer *t);

/* Decode n ids to a new NUL-terminated buffer of *len bytes (len may be
 * NULL); NULL and err (status 1) for an id that is not in the vocabulary. */
char *tokenizer_decode(const Tokenizer *t, const int *ids, int n, size_t *len, KopError *err);

/* The decoded bytes of one token (not NUL-terminated, borrowed from t) and
 * their count in *len; NULL if id is not in the vocabulary. */
const char *tokenizer_token(const Tokenizer *t, int id, size_t *len);

/* One more than the largest id (vocabulary and added tokens). */
int tokenizer_n_ids(const Tokenizer *t);

/* What was loaded, for messages and manifests: "DIR/tokenizer.json" or
 * "DIR/vocab.json + DIR/merges.txt". */
const char *tokenizer_source(const Tokenizer *t);

/* Whether token span s touches the byte range [a, b) of the text: a
 * non-empty span overlaps it, an empty span at p (a token inside the
 * character that ends at p) touches it when a < p <= b. */
int tokspan_overlaps(TokSpan s, size_t a, size_t b);

#endif
