/* featsel.h: which SSM features a `features ...` clause knocks out.
 *
 * The features of a layer are its independent SSM channels (Mamba-1: the
 * d_inner channels; Mamba-2: the heads).  Each gets a static decay score from
 * its weights alone (LANGUAGE.md "Features"): Mamba-1
 * sum_n exp(-exp(A_log[e,n])), Mamba-2 exp(-exp(A_log[h])), i.e. |A-bar|_1 at
 * delta = 1.  High scores decay slowly (carry context), low ones fast.  A
 * fraction F of n features is floor(n F) of them; ties go to the lower index.
 *
 *   FEAT_ALL                  every feature
 *   FEAT_SLOW / FEAT_FAST     the slowest- / fastest-decaying fraction F
 *   FEAT_ALL_EXCEPT_SLOW/FAST every feature but that fraction
 *   ctx_dep  = all except fast 1/3  (the Mamba Knockout paper's code)
 *   ctx_indep = all except slow 1/3 */
#ifndef KOP_FEATSEL_H
#define KOP_FEATSEL_H

#include "model.h"

typedef enum FeatKind {
    FEAT_ALL = 0,
    FEAT_SLOW,
    FEAT_FAST,
    FEAT_ALL_EXCEPT_SLOW,
    FEAT_ALL_EXCEPT_FAST,
} FeatKind;

/* Decay scores of layer l's features: scores (model_n_features). */
void features_scores(const Model *m, int l, double *scores);

/* mask (n_layer, n_features): 1 = knocked out.  F in (0, 1]; when F was
 * written as a ratio num/den (den > 0) the count floor(n num / den) is exact,
 * else floor(n F). */
void features_select(const Model *m, FeatKind kind, double F, long num, long den, unsigned char *mask);

#endif
