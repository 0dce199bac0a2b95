/* arch.c: the list of families (see arch.h) and what is common to all. */
#include "arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* One line per family, in the order messages list them. */
static const ArchOps *const table[] = {&arch_mamba1, &arch_falcon_mamba, &arch_mamba2, &arch_gpt2, &arch_llama,
                                       &arch_mistral, &arch_neox};
enum { N_ARCH = sizeof table / sizeof table[0] };

const ArchOps *arch_ops(Arch a)
{
    for (int i = 0; i < N_ARCH; i++)
        if (table[i]->arch == a) return table[i];
    return NULL;
}

const ArchOps *arch_by_name(const char *s)
{
    for (int i = 0; i < N_ARCH; i++)
        if (!strcmp(table[i]->name, s)) return table[i];
    return NULL;
}

int arch_names(const char *const **names)
{
    static const char *list[N_ARCH];
    for (int i = 0; i < N_ARCH; i++) list[i] = table[i]->name;
    *names = list;
    return N_ARCH;
}

const char *arch_list(void)
{
    static char text[256];
    if (!text[0])
        for (int i = 0, k = 0; i < N_ARCH && k < (int)sizeof text; i++)
            k += snprintf(text + k, sizeof text - (size_t)k, "%s%s", i == 0 ? "" : i + 1 < N_ARCH ? ", " : " or ",
                          table[i]->name);
    return text;
}

const char *arch_name(Arch a)
{
    const ArchOps *o = arch_ops(a);
    return o ? o->name : "unknown";
}

Arch arch_from_name(const char *s)
{
    const ArchOps *o = arch_by_name(s);
    return o ? o->arch : 0;
}

int arch_attn_hook_width(const Config *c, Hook h)
{
    return h == HOOK_RESID || h == HOOK_ATTN || h == HOOK_MLP ? c->d_model : 0;
}

int model_n_features(const Config *c)
{
    const ArchOps *o = arch_ops(c->arch);
    return o && o->n_features ? o->n_features(c) : 0;
}

void scratch_reserve(Scratch *s, const Config *c, int rows, int threads, int T)
{
    const ArchOps *ops = arch_ops(c->arch);
    int width = ops->scratch_width(c);
    size_t tw = ops->thread_floats ? ops->thread_floats(c, T) : 0;
    if (threads < 1) threads = 1;
    if (rows > s->rows || width > s->width) {
        if (rows < s->rows) rows = s->rows;
        if (width < s->width) width = s->width;
        size_t n = (size_t)(rows > 0 ? rows : 1) * width * sizeof(float);
        free(s->a); free(s->b); free(s->c); free(s->d);
        s->a = kop_xmalloc(n);
        s->b = kop_xmalloc(n);
        s->c = kop_xmalloc(n);
        s->d = kop_xmalloc(n);
        s->rows = rows;
        s->width = width;
    }
    if (threads > s->threads || tw > s->tw_stride) {
        if (threads < s->threads) threads = s->threads;
        if (tw < s->tw_stride) tw = s->tw_stride;
        free(s->tw);
        s->tw = kop_xmalloc(sizeof(float) * (size_t)threads * (tw ? tw : 1));
        s->threads = threads;
        s->tw_stride = tw;
    }
}

float *scratch_thread(const Scratch *s)
{
#ifdef _OPENMP
    int id = omp_get_thread_num();
#else
    int id = 0;
#endif
    return s->tw + (size_t)id * s->tw_stride;
}

void scratch_release(Scratch *s)
{
    free(s->a); free(s->b); free(s->c); free(s->d); free(s->tw);
    memset(s, 0, sizeof *s);
}

void rows_hook(const RowRun *runs, int nruns, int R, Hook h, float *buf, int ld, int width)
{
    for (int k = 0; k < nruns; k++)
        if (runs[k].hooks) {
            int n = (k + 1 < nruns ? runs[k + 1].row0 : R) - runs[k].row0;
            hook_apply(runs[k].hooks, h, buf + (size_t)runs[k].row0 * ld, ld, runs[k].t0, n, width);
        }
}

int rows_hooked(const RowRun *runs, int nruns, Hook h)
{
    for (int k = 0; k < nruns; k++)
        if (hook_list_has(runs[k].hooks, h)) return 1;
    return 0;
}
