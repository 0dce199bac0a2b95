/* prompt_cap.h: how long a prompt kop runs, so that one long record (a
 * 100,000-character text) is skipped with a reason instead of taking all
 * the memory there is.
 *
 * A prompt costs memory linear in its length for its clean records (the
 * residual stream at every layer plus what knock.h keeps per layer and
 * position) and the forward's work rows; a t-swept statement adds knocked
 * rows quadratic in the length, which the estimate leaves out.  The cap:
 *  - GPT-2: the model's context (n_positions), which it cannot exceed;
 *  - Mamba: as many tokens as fit in PROMPT_CAP_BUDGET bytes at the
 *    estimated bytes per token, within [PROMPT_CAP_MIN, PROMPT_CAP_MAX].
 *    A fixed budget, not a share of this machine's memory: which prompts a
 *    run measures must not depend on where it runs (a batch of prompts per
 *    thread is in flight, and knocked runs add to it).
 * `kop run --max-tokens N` replaces it; `kop check --model DIR` prints it. */
#ifndef KOP_PROMPT_CAP_H
#define KOP_PROMPT_CAP_H

#include <stdio.h>

#include "model.h"

enum { PROMPT_CAP_MIN = 256, PROMPT_CAP_MAX = 1 << 20 };
#define PROMPT_CAP_BUDGET ((size_t)512 << 20)

/* Estimated bytes of memory one prompt token costs. */
size_t prompt_cap_bytes_per_token(const Config *c);
/* The default cap in tokens for this model on this machine. */
long prompt_cap_default(const Config *c);
/* One line saying what the cap is and why, for `kop check --model`. */
void prompt_cap_describe(FILE *out, const Config *c);

#endif
