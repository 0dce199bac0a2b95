/* hooks.c: hook names and the application of a layer's hook ops (hooks.h). */
#include "hooks.h"

#include <string.h>

static const char *const names[HOOK_COUNT] = {"resid", "in", "conv", "ssm", "gate", "mixer", "attn", "mlp"};

const char *hook_name(Hook h)
{
    return (unsigned)h < HOOK_COUNT ? names[h] : "?";
}

int hook_from_name(const char *s)
{
    for (int h = 0; h < HOOK_COUNT; h++)
        if (!strcmp(names[h], s)) return h;
    return -1;
}

int hook_list_has(const HookList *hl, Hook h)
{
    if (hl)
        for (int k = 0; k < hl->n; k++)
            if (hl->op[k].hook == h) return 1;
    return 0;
}

void hook_apply(const HookList *hl, Hook h, float *x, int ldx, int p0, int rows, int width)
{
    if (!hl) return;
    for (int k = 0; k < hl->n; k++) {
        const HookOp *o = &hl->op[k];
        if (o->hook != h) continue;
        for (int q = 0; q < rows; q++) {
            int p = p0 + q;
            if (o->pos && !o->pos[p]) continue;
            float *v = o->vals + (size_t)p * o->ld, *r = x + (size_t)q * ldx;
            if (o->capture) memcpy(v, r, sizeof(float) * (size_t)width);
            else memcpy(r, v, sizeof(float) * (size_t)width);
        }
    }
}
