/* hooks.c: hook names and the application of a layer's hook ops (hooks.h). */
#include "hooks.h"

#include <stdio.h>
#include <string.h>

#include "arch.h"

const char *const hook_names[HOOK_N] = {"resid", "in", "conv", "ssm", "gate", "mixer", "attn", "mlp"};
#define names hook_names

static unsigned arch_hooks(int a)
{
    const ArchOps *ops = arch_ops((Arch)a);
    return ops ? ops->hooks : 0;
}

int hook_supported(int a, Hook h)
{
    return (unsigned)h < HOOK_N && (arch_hooks(a) >> h & 1u);
}

const char *hook_list(int a, char *buf, size_t size)
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
