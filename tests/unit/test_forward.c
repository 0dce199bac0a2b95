/* test_forward.c: every `kind: forward` case of ../shared/reference reproduced
 * within the stated tolerance, through the library and through `kop logits`;
 * a restart from a saved residual stream; and bit-identical output for
 * OMP_NUM_THREADS=1 and 2. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expected.h"
#include "forward.h"
#include "tap.h"


static char *ids_csv(const int *ids, int T)
{
    static char buf[4096];
    size_t o = 0;
    for (int t = 0; t < T; t++) o += snprintf(buf + o, sizeof buf - o, "%s%d", t ? "," : "", ids[t]);
    return buf;
}

/* Run `kop logits`, return its stdout (malloc'd), or NULL if it failed. */
static char *run_kop(const char *env, const char *dir, const int *ids, int T, int all)
{
    const char *kop = getenv("KOP");
    if (!kop) return NULL;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s' logits '%s' --ids %s%s", env, kop, dir, ids_csv(ids, T), all ? " --all" : "");
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t got;
    while ((got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 >= cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    if (pclose(p) != 0) { free(out); return NULL; }
    return out;
}

static int parse_floats(const char *s, float *out, int max)
{
    int n = 0;
    char *end;
    while (n < max) {
        float v = strtof(s, &end);
        if (end == s) break;
        out[n++] = v;
        s = end;
    }
    return n;
}

static void check_model(const char *name)
{
    const char *dir = ref_model_dir(name);
    json_object *exp = ref_expected(name);
    double tol = json_object_get_double(ref_get(ref_get(exp, "tolerance"), "logits_abs"));
    Model m;
    KopError err = {0};
    if (!ok(model_load(&m, dir, &err) == 0, "%s: loads", name)) {
        diag("%s", err.msg);
        return;
    }
    int V = m.cfg.vocab_size, C = m.cfg.d_model, L = m.cfg.n_layer;
    json_object *cases = ref_get(exp, "cases");
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci);
        if (strcmp(json_object_get_string(ref_get(cs, "kind")), "forward")) continue;
        const char *cname = json_object_get_string(ref_get(cs, "name"));
        int *ids, T = ref_int_array(ref_get(cs, "ids"), &ids), rows, cols;
        float *want = ref_matrix(ref_get(cs, "logits"), &rows, &cols);
        is_int(rows * 1000 + cols, T * 1000 + V, "%s %s: reference shape is (T, vocab)", name, cname);

        float *all = malloc(sizeof(float) * (size_t)T * V), *last = malloc(sizeof(float) * V);
        float *resid = malloc(sizeof(float) * (size_t)(L + 1) * T * C);
        ForwardReq req = {.ids = ids, .T = T, .all_positions = 1, .logits = all, .resid_out = resid};
        ok(model_forward(&m, &req, &err) == 0, "%s %s: forward runs", name, cname);
        double d = ref_max_diff(all, want, (size_t)T * V);
        ok(d <= tol, "%s %s: logits at every position within %g of the reference (max diff %.3g)", name, cname, tol, d);

        ForwardReq lreq = {.ids = ids, .T = T, .logits = last};
        model_forward(&m, &lreq, &err);
        d = ref_max_diff(last, want + (size_t)(T - 1) * V, V);
        ok(d <= tol, "%s %s: last-position logits within tolerance (max diff %.3g)", name, cname, d);

        for (int from = 1; from <= L; from += L - 1) {
            float *again = malloc(sizeof(float) * V);
            ForwardReq rreq = {.ids = ids, .T = T, .from_layer = from, .resid_in = resid + (size_t)from * T * C,
                               .logits = again};
            model_forward(&m, &rreq, &err);
            ok(memcmp(again, last, sizeof(float) * V) == 0,
               "%s %s: restart at layer %d from the saved residual stream gives identical logits", name, cname, from);
            free(again);
        }

        char *out = run_kop("", dir, ids, T, 1);
        float *cli = malloc(sizeof(float) * (size_t)T * V);
        int got = out ? parse_floats(out, cli, T * V) : -1;
        ok(got == T * V && ref_max_diff(cli, want, (size_t)T * V) <= tol,
           "%s %s: `kop logits --all` reproduces the reference (%d numbers)", name, cname, got);
        char *t1 = run_kop("OMP_NUM_THREADS=1", dir, ids, T, 0), *t2 = run_kop("OMP_NUM_THREADS=2", dir, ids, T, 0);
        ok(t1 && t2 && !strcmp(t1, t2), "%s %s: `kop logits` bit-identical with 1 and 2 threads", name, cname);
        free(out); free(t1); free(t2); free(cli);
        free(ids); free(want); free(all); free(last); free(resid);
    }
    /* error paths: an id outside the vocabulary, an empty prompt */
    int bad[2] = {1, V};
    float tmp[1];
    ForwardReq breq = {.ids = bad, .T = 2, .logits = tmp};
    ok(model_forward(&m, &breq, &err) < 0 && strstr(err.msg, "outside the vocabulary"),
       "%s: a token id past the vocabulary is an error, not a crash", name);
    model_free(&m);
    json_object_put(exp);
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
