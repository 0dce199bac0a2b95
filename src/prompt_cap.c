/* prompt_cap.c: see prompt_cap.h. */
#include "prompt_cap.h"

size_t prompt_cap_bytes_per_token(const Config *c)
{
    size_t L = (size_t)c->n_layer, C = (size_t)c->d_model, di = (size_t)c->d_inner, rec, work;
    /* per layer and position: the fields knock.c records */
    if (c->arch == ARCH_MAMBA1) {
        rec = 3 * di + (size_t)c->dt_rank + 2 * (size_t)c->d_state;
        work = 4 * di + 2 * C;
    } else if (c->arch == ARCH_MAMBA2) {
        size_t conv = di + 2 * (size_t)c->n_groups * c->d_state;
        rec = 2 * conv + (size_t)c->n_heads;
        work = 2 * di + conv + (size_t)c->n_heads + 2 * C;
    } else {
        rec = 3 * C;
        work = 5 * C + (size_t)(c->n_inner > 0 ? c->n_inner : 4 * c->d_model);
    }
    return sizeof(float) * ((L + 1) * C + L * rec + work);
}

long prompt_cap_default(const Config *c)
{
    if (c->arch == ARCH_GPT2 && c->n_ctx > 0) return c->n_ctx;
    size_t per = prompt_cap_bytes_per_token(c), n = PROMPT_CAP_BUDGET / (per ? per : 1);
    return n < PROMPT_CAP_MIN ? PROMPT_CAP_MIN : n > PROMPT_CAP_MAX ? PROMPT_CAP_MAX : (long)n;
}

void prompt_cap_describe(FILE *out, const Config *c)
{
    long n = prompt_cap_default(c);
    double kib = (double)prompt_cap_bytes_per_token(c) / 1024;
    if (c->arch == ARCH_GPT2 && c->n_ctx > 0)
        fprintf(out, "prompts: at most %ld tokens (the model's context, n_positions); about %.1f KiB of memory per token\n",
                n, kib);
    else
        fprintf(out, "prompts: at most %ld tokens by default (about %.1f KiB of memory per token, %zu MiB per prompt); "
                     "change it with kop run --max-tokens N\n",
                n, kib, PROMPT_CAP_BUDGET >> 20);
}
