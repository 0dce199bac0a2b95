/* trace_swap.h: swap partners, for `corrupt subject with swap`.
 *
 * An interchange corruption runs prompt p with another prompt's subject in
 * place of its own.  The partner of p is the first prompt q after p in the
 * list (wrapping around, q != p) such that (design/TRACING.md, "Swap
 * partners"):
 *  - q's subject differs from p's (text prompts: the subject strings; ids
 *    prompts: the subject's token ids);
 *  - when both records name a relation (relation_id), it is the same;
 *  - substituting q's subject into p gives an input of p's length with the
 *    subject at p's positions: for a text prompt, p's text with its first
 *    occurrence of p's subject replaced by q's subject string, tokenized, and
 *    the tokens that touch the new subject's bytes are exactly p's subject
 *    positions; for an ids prompt, p's ids with the subject span replaced by
 *    q's subject ids (q's subject has as many tokens as p's).
 * A text prompt takes subjects only from text prompts (an ids record has no
 * subject string); an ids prompt takes q's subject tokens from either kind.
 *
 * The list is the recipe's joined prompt list before `keep` and `limit` (the
 * same indices as the noise's p), so partners depend on the data alone, not
 * on what the model gets right.  Prompts that could not be tokenized have
 * ids NULL and are never partners.
 *
 * Tokenizing goes through a callback, so the module needs no model:
 * trace_tokenizer_encode() adapts a Tokenizer (ctx = the Tokenizer). */
#ifndef KOP_TRACE_SWAP_H
#define KOP_TRACE_SWAP_H

#include <stddef.h>

#include "prompts.h"
#include "tokenizer.h"
#include "util.h"

/* A prompt as swap needs it: its record and its tokens. */
typedef struct SwapPrompt {
    const char *text;            /* text prompts: the prompt (text_len bytes); NULL for ids */
    size_t text_len;
    const char *subject;         /* text prompts: the subject string */
    const char *relation;        /* relation_id, or NULL when the record names none */
    const int *ids;              /* (n) the prompt's tokens; NULL: not usable (not tokenized) */
    int n;
    int subj_first, subj_last;   /* the subject's token positions, inclusive */
} SwapPrompt;

/* The SwapPrompt of record p tokenized into ids (n) with subject span
 * first..last (borrows everything). */
SwapPrompt trace_swap_prompt(const Prompt *p, const int *ids, int n, int first, int last);

/* tokenizer_encode's contract: n >= 0 and new arrays, or -1 and err. */
typedef int (*TraceEncodeFn)(const void *ctx, const char *text, size_t len, int **ids, TokSpan **offsets,
                             KopError *err);
/* A TraceEncodeFn over tokenizer_encode; ctx is a const Tokenizer *. */
int trace_tokenizer_encode(const void *ctx, const char *text, size_t len, int **ids, TokSpan **offsets,
                           KopError *err);

/* The partner of prompts[p] (prompts[p].ids must not be NULL).  Returns q
 * >= 0 and *corrupted, a new array of prompts[p].n ids: p's input with q's
 * subject.  Returns -1 when p has no partner, with the reason (for the
 * manifest) in reason[reason_size]; -2 and err when encode fails.  encode may
 * be NULL when prompts[p] is an ids prompt. */
int trace_swap_partner(const SwapPrompt *prompts, int n_prompts, int p, TraceEncodeFn encode, const void *ctx,
                       int **corrupted, char *reason, size_t reason_size, KopError *err);

#endif
