/* hooks.h: the named internal values causal tracing reads and overwrites.
 *
 * A hook is one vector per layer and position (TRACING.md "Hooks"):
 *   resid  the residual stream after the layer (every family)
 *   in     Mamba-1: x half of in_proj, before the conv;  Mamba-2: xBC
 *   conv   silu(conv(in)), the SSM input
 *   ssm    the SSM output y incl. the D skip, before the gate (gated norm)
 *   gate   silu(z)
 *   mixer  out_proj output, before the residual add
 *   attn   attention output after c_proj (bias included)   (transformers)
 *   mlp    MLP output after c_proj (bias included)         (transformers)
 * Which hooks a family has, and their widths, are in its ArchOps (arch.h).
 *
 * What happens at a hook point is data, a list of HookOps per layer: each
 * either copies the hook's value at chosen positions out (capture: the
 * clean run's values for a restore, the corrupted run's for a freeze) or
 * puts given vectors there (replace).  The model code only calls
 * rows_hook() (arch.h) at each point; with no ops it does nothing.  Ops of a
 * layer act in list order, so a later replace of the same value wins. */
#ifndef KOP_HOOKS_H
#define KOP_HOOKS_H

#include <stddef.h>

typedef enum Hook {
    HOOK_RESID, HOOK_IN, HOOK_CONV, HOOK_SSM, HOOK_GATE, HOOK_MIXER, HOOK_ATTN, HOOK_MLP,
    HOOK_COUNT
} Hook;
#define HOOK_N HOOK_COUNT

/* Spellings, indexed by Hook: "resid", "in", ... */
extern const char *const hook_names[HOOK_N];

#define HOOK_BIT(h) (1u << (h))

/* "resid", "in", ...; "?" out of range */
const char *hook_name(Hook h);
/* the hook named s, or -1 */
int hook_from_name(const char *s);

/* 1 when models of architecture a (an Arch, model.h) have hook h: the
 * family's ArchOps.hooks; 0 for an unknown architecture. */
int hook_supported(int a, Hook h);
/* The hooks of architecture a as "resid, attn and mlp", into buf. */
const char *hook_list(int a, char *buf, size_t size);
/* 1 when restoring h at position i changes later positions of the same
 * layer (in, conv: through the causal conv and the scan). */
int hook_spreads_in_layer(Hook h);

/* One action at one hook point of one layer.  Positions are the rows of
 * the forward (the prompt's positions; for a batch of prompts, rows of the
 * batch); vals row p (of ld floats) holds position p's vector. */
typedef struct HookOp {
    Hook hook;
    int capture;              /* 1: vals[p] = hook value; 0: hook value = vals[p] */
    const unsigned char *pos; /* (rows) positions acted on; NULL = every position */
    float *vals;              /* (rows, ld); read only when replacing */
    int ld;
} HookOp;

/* The ops of one layer (of one run, in a row recomputation). */
typedef struct HookList {
    int n;
    const HookOp *op;
} HookList;

/* Whether hl has an op on hook h (hl may be NULL). */
int hook_list_has(const HookList *hl, Hook h);

/* Apply hl's ops on hook h to rows [0, rows) of x (ld ldx, width floats
 * each), row q being position p0 + q. */
void hook_apply(const HookList *hl, Hook h, float *x, int ldx, int p0, int rows, int width);

#endif
