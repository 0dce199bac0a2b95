/* test_knockout_ref.c: every `kind: knockout` case of ../shared/reference,
 * applied through model_forward's per-layer knockouts with the case's own
 * resolved edges, layers and channels: the knocked logits of the last
 * position and p_knocked must match.  This pins the mixer-level knockout
 * (kernels/ssm.c, kernels/attn.c) to the definitional results independently
 * of the language and the executor. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expected.h"
#include "forward.h"
#include "tap.h"

static double softmax_p(const float *logits, int V, int id)
{
    return exp((double)logits[id] - kern_logsumexp(logits, V));
}

static void check_model(const char *name)
{
    const char *dir = ref_model_dir(name);
    json_object *exp_ = ref_expected(name);
    json_object *tolj = ref_get(exp_, "tolerance");
    double ltol = json_object_get_double(ref_get(tolj, "logits_abs"));
    double ptol = json_object_get_double(ref_get(tolj, "prob_abs"));
    Model m;
    KopError err = {0};
    if (!ok(model_load(&m, dir, &err) == 0, "%s: loads", name)) return;
    int V = m.cfg.vocab_size, L = m.cfg.n_layer;
    int nch = model_n_features(&m.cfg);
    json_object *cases = ref_get(exp_, "cases");
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci);
        if (strcmp(json_object_get_string(ref_get(cs, "kind")), "knockout")) continue;
        const char *cname = json_object_get_string(ref_get(cs, "name"));
        int *ids, T = ref_int_array(ref_get(cs, "ids"), &ids);
        int *srcs, *dsts, *layers;
        int ns = ref_int_array(ref_get(ref_get(cs, "edges"), "sources"), &srcs);
        int nd = ref_int_array(ref_get(ref_get(cs, "edges"), "targets"), &dsts);
        int nl = ref_int_array(ref_get(cs, "layers"), &layers);
        unsigned char *src = calloc(T, 1), *dst = calloc(T, 1);
        for (int i = 0; i < ns; i++) src[srcs[i]] = 1;
        for (int i = 0; i < nd; i++) dst[dsts[i]] = 1;
        KernKnock *ko = calloc(L, sizeof *ko);
        const KernKnock **per = calloc(L, sizeof *per);
        unsigned char *chan = calloc((size_t)L * (nch ? nch : 1), 1);
        json_object *chans = NULL;
        json_object_object_get_ex(cs, "channels", &chans);
        for (int i = 0; i < nl; i++) {
            int l = layers[i];
            ko[l] = (KernKnock){src, dst, NULL};
            if (chans) {
                char key[16];
                snprintf(key, sizeof key, "%d", l);
                int *c, nc = ref_int_array(ref_get(chans, key), &c);
                for (int j = 0; j < nc; j++) chan[(size_t)l * nch + c[j]] = 1;
                ko[l].chan = chan + (size_t)l * nch;
                free(c);
            }
            per[l] = &ko[l];
        }
        float *clean = malloc(sizeof(float) * V), *knocked = malloc(sizeof(float) * V);
        ForwardReq rq = {.ids = ids, .T = T, .logits = clean};
        model_forward(&m, &rq, &err);
        rq.logits = knocked;
        rq.knock = per;
        model_forward(&m, &rq, &err);
        int target = json_object_get_int(ref_get(cs, "target_id")), rows, cols;
        float *want = ref_matrix(ref_get(cs, "logits_last"), &rows, &cols);
        double d = 0;
        for (int v = 0; v < V; v++) d = fmax(d, fabs((double)knocked[v] - want[v]));
        ok(d <= ltol, "%s %s: knocked logits within %g (max diff %.3g)", name, cname, ltol, d);
        is_float(softmax_p(clean, V, target), json_object_get_double(ref_get(cs, "p_clean")), ptol,
                 "%s %s: p_clean", name, cname);
        is_float(softmax_p(knocked, V, target), json_object_get_double(ref_get(cs, "p_knocked")), ptol,
                 "%s %s: p_knocked", name, cname);
        free(ids); free(srcs); free(dsts); free(layers); free(src); free(dst); free(ko); free(per); free(chan);
        free(clean); free(knocked); free(want);
    }
    model_free(&m);
    json_object_put(exp_);
}

int main(void)
{
    check_model("mamba1-tiny");
    check_model("falcon-mamba-tiny");
    check_model("mamba2-tiny");
    check_model("gpt2-tiny");
    check_model("llama-tiny");
    check_model("pythia-tiny");
    /* mamba_ssm releases: pytorch_model.bin, padded vocabulary */
    check_model("mamba1-ssm-tiny");
    check_model("mamba2-ssm-tiny");
    return done_testing();
}
