/* test_features.c: feature selection by static decay score against the
 * `channels` lists of ../shared/reference (ctx_dep, ctx_indep, slow 1/3), and
 * the fraction rules (floor, ties to the lower index). */
#include <stdio.h>
#include <string.h>

#include "expected.h"
#include "featsel.h"
#include "knock.h"
#include "tap.h"

static FeatKind kind_of(const char *stmt, double *F)
{
    *F = 1.0 / 3.0;
    if (strstr(stmt, "ctx_dep")) return FEAT_ALL_EXCEPT_FAST;
    if (strstr(stmt, "ctx_indep")) return FEAT_ALL_EXCEPT_SLOW;
    if (strstr(stmt, "slow 1/3")) return FEAT_SLOW;
    return FEAT_ALL;
}

int main(void)
{
    const char *names[] = {"mamba1-tiny", "falcon-mamba-tiny", "mamba2-tiny"};
    for (int mi = 0; mi < 3; mi++) {
        Model m;
        KopError err;
        if (!ok(model_load(&m, ref_model_dir(names[mi]), &err) == 0, "%s loads", names[mi])) continue;
        int n = model_n_features(&m.cfg), L = m.cfg.n_layer;
        unsigned char *mask = malloc((size_t)L * n);
        json_object *exp_ = ref_expected(names[mi]), *cases = ref_get(exp_, "cases");
        for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
            json_object *cs = json_object_array_get_idx(cases, ci), *chans;
            if (!json_object_object_get_ex(cs, "channels", &chans)) continue;
            const char *stmt = json_object_get_string(ref_get(cs, "statement"));
            double F;
            FeatKind kind = kind_of(stmt, &F); /* sets F: not inside the call's argument list */
            features_select(&m, kind, F, 1, 3, mask);
            json_object_object_foreach(chans, key, val) {
                int l = atoi(key), *want, nw = ref_int_array(val, &want);
                unsigned char *exp_mask = calloc((size_t)n, 1);
                for (int i = 0; i < nw; i++) exp_mask[want[i]] = 1;
                ok(!memcmp(exp_mask, mask + (size_t)l * n, (size_t)n), "%s '%s': layer %d selects the reference's %d features",
                   names[mi], stmt, l, nw);
                free(exp_mask);
                free(want);
            }
        }
        /* 0.33 and 1/3 select the same floor(n/3) features */
        unsigned char *m2 = malloc((size_t)L * n);
        features_select(&m, FEAT_FAST, 0.33, 0, 0, m2);
        features_select(&m, FEAT_FAST, 1.0 / 3.0, 1, 3, mask);
        ok(!memcmp(m2, mask, (size_t)L * n), "%s: fast 0.33 (decimal) = fast 1/3 (exact ratio)", names[mi]);
        int cnt = 0;
        for (int i = 0; i < n; i++) cnt += mask[i];
        is_int(cnt, n / 3, "%s: a fraction 1/3 of %d features is floor(n/3)", names[mi], n);
        features_select(&m, FEAT_ALL, 1.0, 0, 0, mask);
        cnt = 0;
        for (int i = 0; i < L * n; i++) cnt += mask[i];
        is_int(cnt, L * n, "%s: features all selects every feature of every layer", names[mi]);
        free(m2);
        free(mask);
        json_object_put(exp_);
        model_free(&m);
    }
    return done_testing();
}
