/* hooks.h: the hook points causal tracing restores and freezes.
 *
 * A hook is one vector per layer l and position i of a forward pass: a
 * `restore` sets it, in the corrupted runs, to its value in the clean run; a
 * `freeze` holds it at its value in the same corrupted run without restores
 * (design/TRACING.md, "Hooks").  Restoring replaces the whole vector.
 *
 *   hook   Mamba-1 / Mamba-2                          GPT-2
 *   resid  the residual stream after layer l (before the final norm)
 *   in     x (Mamba-2: xBC) half of in_proj, before the conv      --
 *   conv   silu(conv(...)), the SSM input                         --
 *   ssm    SSM output y incl. the D skip, before gate / gated norm --
 *   gate   silu(z)                                                --
 *   mixer  out_proj output, before the residual add               --
 *   attn   --                                   attention output after c_proj (bias incl.)
 *   mlp    --                                   MLP output after c_proj (bias incl.)
 *
 * Restoring `in` or `conv` at position i also changes later positions of the
 * same layer (through the conv and the scan); `ssm`, `gate`, `mixer`, `attn`
 * and `mlp` change only position i of their layer; `resid` at layer l changes
 * position i from layer l + 1 on (hook_spreads_in_layer).
 *
 * Which architecture has which hook is decided by hook_supported() alone, so
 * that it can move into the architecture table as one column. */
#ifndef KOP_HOOKS_H
#define KOP_HOOKS_H

#include "model.h"

typedef enum {
    HOOK_RESID, HOOK_IN, HOOK_CONV, HOOK_SSM, HOOK_GATE, HOOK_MIXER, HOOK_ATTN, HOOK_MLP,
    HOOK_N
} Hook;

/* Spellings, indexed by Hook: "resid", "in", ... */
extern const char *const hook_names[HOOK_N];

/* 1 when models of architecture a have hook h; 0 otherwise (also for an
 * unknown architecture). */
int hook_supported(Arch a, Hook h);

/* The hooks of architecture a as "resid, attn and mlp", into buf. */
const char *hook_list(Arch a, char *buf, size_t size);

/* 1 when restoring h at position i changes later positions of the same
 * layer (in, conv: through the causal conv and the scan). */
int hook_spreads_in_layer(Hook h);

#endif
