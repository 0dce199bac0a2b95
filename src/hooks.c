/* hooks.c: see hooks.h. */
#include "hooks.h"

#include <stdio.h>

const char *const hook_names[HOOK_N] = {
    [HOOK_RESID] = "resid", [HOOK_IN] = "in", [HOOK_CONV] = "conv", [HOOK_SSM] = "ssm",
    [HOOK_GATE] = "gate", [HOOK_MIXER] = "mixer", [HOOK_ATTN] = "attn", [HOOK_MLP] = "mlp",
};

/* Bit h set: the architecture has hook h.  New architectures: llama and
 * gpt_neox as GPT-2 (resid, attn, mlp), falcon_mamba as Mamba-1. */
#define SSM_HOOKS (1u << HOOK_RESID | 1u << HOOK_IN | 1u << HOOK_CONV | 1u << HOOK_SSM | \
                   1u << HOOK_GATE | 1u << HOOK_MIXER)
#define ATTN_HOOKS (1u << HOOK_RESID | 1u << HOOK_ATTN | 1u << HOOK_MLP)

static unsigned arch_hooks(Arch a)
{
    switch (a) {
    case ARCH_MAMBA1: return SSM_HOOKS;
    case ARCH_MAMBA2: return SSM_HOOKS;
    case ARCH_GPT2: return ATTN_HOOKS;
    }
    return 0;
}

int hook_supported(Arch a, Hook h)
{
    return h >= 0 && h < HOOK_N && (arch_hooks(a) >> h & 1u);
}

const char *hook_list(Arch a, char *buf, size_t size)
{
    unsigned set = arch_hooks(a);
    int n = 0, shown = 0;
    size_t len = 0;
    buf[0] = '\0';
    for (int h = 0; h < HOOK_N; h++) n += set >> h & 1u;
    for (int h = 0; h < HOOK_N && len < size; h++) {
        if (!(set >> h & 1u)) continue;
        const char *sep = shown == 0 ? "" : shown == n - 1 ? " and " : ", ";
        len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, hook_names[h]);
        shown++;
    }
    return buf;
}

int hook_spreads_in_layer(Hook h)
{
    return h == HOOK_IN || h == HOOK_CONV;
}
