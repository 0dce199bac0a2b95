/* features.c: see featsel.h. */
#include "featsel.h"

#include <math.h>
#include <string.h>

#include "arch.h"

void features_scores(const Model *m, int l, double *scores)
{
    const ArchOps *ops = arch_ops(m->cfg.arch);
    if (ops->feature_scores) ops->feature_scores(m, l, scores);
}

/* order[] = feature indices sorted by score, descending (slow first) or
 * ascending (fast first); equal scores keep the lower index first. */
static void rank(const double *scores, int n, int slow_first, int *order)
{
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) { /* stable insertion sort: n is at most a few thousand */
        int v = order[i], j = i - 1;
        while (j >= 0 && (slow_first ? scores[order[j]] < scores[v] : scores[order[j]] > scores[v])) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}

void features_select(const Model *m, FeatKind kind, double F, long num, long den, unsigned char *mask)
{
    const Config *c = &m->cfg;
    int n = model_n_features(c), L = c->n_layer;
    double *scores = kop_xmalloc(sizeof(double) * (size_t)(n ? n : 1));
    int *order = kop_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    /* a decimal F: floor(n F), guarding against 0.333... landing a hair under an integer */
    int count = den > 0 ? (int)((long long)n * num / den) : (int)floor(n * F + 1e-9);
    for (int l = 0; l < L; l++) {
        unsigned char *ml = mask + (size_t)l * n;
        if (kind == FEAT_ALL) {
            memset(ml, 1, (size_t)n);
            continue;
        }
        features_scores(m, l, scores);
        int slow = kind == FEAT_SLOW || kind == FEAT_ALL_EXCEPT_SLOW;
        int except = kind == FEAT_ALL_EXCEPT_SLOW || kind == FEAT_ALL_EXCEPT_FAST;
        rank(scores, n, slow, order);
        memset(ml, except, (size_t)n);
        for (int i = 0; i < count; i++) ml[order[i]] = !except;
    }
    free(scores);
    free(order);
}
