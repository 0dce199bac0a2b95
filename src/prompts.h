/* prompts.h: prompt records and the files they come from.
 *
 * A prompt is either text (with the subject as a string, and optionally the
 * target continuation) or, for models without a tokenizer, raw token ids
 * with the subject as an inclusive token range (and optionally a target id).
 *
 * Files (prompts_load): a JSON list of records, or JSON lines (one record a
 * line, blank lines ignored); a list is recognised by its leading '['.  The
 * layout is decided per record by its fields:
 *   counterfact.json   {"case_id", "requested_rewrite": {"prompt": "... {} ...",
 *                       "subject", "target_true": {"str"}, "relation_id"}, ...}
 *                      text = the prompt with "{}" replaced by the subject
 *   ids                {"ids": [..], "subject": [a, b], "target_id": n}
 *   text records       {"prompt", "subject", ...} with the target taken from
 *                       "target" (as it stands), "target_true" (a string as it
 *                       stands, the counterfact-tracing layout, or an object
 *                       {"str"}), or "attribute" (known_1000.json);
 *                       "relation_id", and "known_id" or "case_id", are kept.
 * Targets are stored as the continuation of the prompt, leading space
 * included: a known_1000 "attribute" or a counterfact.json "str" without one
 * gets a space in front, as the ROME code does.
 *
 * Subjects: the subject is the FIRST occurrence of the subject string in the
 * text, as bytes (no normalization), and its tokens are those whose offsets
 * touch that byte range (tokspan_overlaps in tokenizer.h).  A record whose
 * subject does not occur in its text is not an error: it is skipped, counted
 * in n_skipped and described in skipped[] (file and record), for the caller
 * to report.  Anything else wrong with a record (not JSON, a missing or
 * mistyped field, text that is not valid UTF-8 or holds a NUL, a subject
 * range outside the ids) fails the whole file with an error naming the file
 * and the record (JSON lists) or line (JSON lines); status 1.
 *
 * Ownership: a PromptSet owns its prompts and all their strings and arrays. */
#ifndef KOP_PROMPTS_H
#define KOP_PROMPTS_H

#include <stddef.h>

#include "tokenizer.h"
#include "util.h"

typedef struct Prompt {
    char *text;          /* UTF-8 prompt, NUL-terminated; NULL for an ids record */
    size_t text_len;
    char *subject;       /* NULL for an ids record */
    char *target;        /* target continuation, or NULL */
    char *relation;      /* relation_id such as "P103", or NULL */
    long id;             /* known_id or case_id, -1 if none */
    int *ids;            /* (n_ids) ids record: the tokens; NULL otherwise */
    int n_ids;
    int subj_first;      /* ids record: subject tokens, inclusive */
    int subj_last;
    int target_id;       /* ids record: target token, -1 if none */
    const char *source;  /* file it came from (owned by the set) */
    int record;          /* 0-based index of the record in its file */
    int line;            /* 1-based line in a JSON lines file, 0 otherwise */
} Prompt;

typedef struct PromptSet {
    Prompt *v;
    int n;
    char *source;        /* the file, or the name given to prompts_new */
    int n_skipped;       /* records dropped because the subject was not found */
    char **skipped;      /* (n_skipped) one line each: "FILE: record N: ..." */
} PromptSet;

/* Read a prompts file (see above).  NULL and err on failure. */
PromptSet *prompts_load(const char *path, KopError *err);

/* An empty set, for prompts written inline in a recipe; source names them in
 * messages (e.g. "flow.kop"). */
PromptSet *prompts_new(const char *source);
/* Add a text prompt (target may be NULL): 0 added, 1 skipped because the
 * subject does not occur in the text, -1 and err for bad UTF-8 or an empty
 * text or subject. */
int prompts_add_text(PromptSet *s, const char *text, const char *subject, const char *target, KopError *err);
/* Add an ids prompt; target_id -1 for none.  -1 and err for a bad range. */
int prompts_add_ids(PromptSet *s, const int *ids, int n, int first, int last, int target_id, KopError *err);

void prompts_free(PromptSet *s);

/* Byte range [*start, *end) of the first occurrence of the subject in a text
 * prompt; -1 if it does not occur (or p is an ids record). */
int prompt_subject_span(const Prompt *p, size_t *start, size_t *end);

/* The subject's token range [*first, *last] in a prompt tokenized into n
 * tokens with offsets offs (ignored for ids records).  -1 and err (status 1)
 * when the subject is not found or the range does not fit n tokens. */
int prompt_subject_tokens(const Prompt *p, const TokSpan *offs, int n, int *first, int *last, KopError *err);

/* Tokens of a prompt and its subject range: a text prompt is encoded with t
 * as kop feeds it to the model (tokenizer_encode_special: a BOS first for
 * Llama, say; the subject range counts it), an ids record gives a copy of its
 * ids (t may be NULL).  Returns the token count and a new array in *ids; -1
 * and err otherwise (a text prompt with no tokenizer: status 1). */
int prompt_tokenize(const Prompt *p, const Tokenizer *t, int **ids, int *first, int *last, KopError *err);

/* The target token: target_id for ids records; for text, the answer's first
 * token as it follows the prompt, never a special token: the token after the
 * prompt's own tokens when prompt + target is encoded, or, when a token
 * straddles the boundary, the first token of the target alone (its leading
 * space left to the tokenizer when it marks spaces itself, as Llama's
 * SentencePiece form does).  -1 when the prompt has no target.  -2 and err
 * on error. */
int prompt_target_token(const Prompt *p, const Tokenizer *t, KopError *err);

#endif
