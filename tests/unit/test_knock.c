/* test_knock.c: the batched, cached knockout engine (src/knock.c) against
 * (a) every knockout case of ../shared/reference, all cases of a model at once
 * in one batch, and (b) the naive path (a full model_forward per run) on
 * random runs: random source/target sets, layer windows and feature masks;
 * and bit-identical results for 1 and 2 threads. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "expected.h"
#include "knock.h"
#include "tap.h"

static uint64_t rng = 0x1234567ull;
static int irand(int n)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (int)((rng >> 33) % (uint64_t)n);
}

static double p_of(const float *logits, int V, int id)
{
    return exp((double)logits[id] - kern_logsumexp(logits, V));
}


static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    (void)n;
}

static void reference_cases(const char *name, const Model *m)
{
    json_object *exp_ = ref_expected(name);
    json_object *tolj = ref_get(exp_, "tolerance");
    double ltol = json_object_get_double(ref_get(tolj, "logits_abs"));
    double ptol = json_object_get_double(ref_get(tolj, "prob_abs"));
    int V = m->cfg.vocab_size, L = m->cfg.n_layer, nf = model_n_features(&m->cfg);
    json_object *cases = ref_get(exp_, "cases");
    /* group the cases by prompt: one PromptRun and one batch per prompt */
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci);
        if (strcmp(json_object_get_string(ref_get(cs, "kind")), "knockout")) continue;
        int *ids, T = ref_int_array(ref_get(cs, "ids"), &ids);
        int first = 1;
        for (size_t cj = 0; cj < ci; cj++) { /* done with an earlier case of the same prompt */
            json_object *o = json_object_array_get_idx(cases, cj);
            if (!strcmp(json_object_get_string(ref_get(o, "kind")), "knockout") &&
                !strcmp(json_object_to_json_string(ref_get(o, "ids")), json_object_to_json_string(ref_get(cs, "ids"))))
                first = 0;
        }
        if (!first) { free(ids); continue; }
        KnockRun runs[32];
        json_object *which[32];
        unsigned char masks[32][2][64], chan[32][8 * 256];
        int n = 0;
        for (size_t cj = ci; cj < json_object_array_length(cases) && n < 32; cj++) {
            json_object *o = json_object_array_get_idx(cases, cj);
            if (strcmp(json_object_get_string(ref_get(o, "kind")), "knockout") ||
                strcmp(json_object_to_json_string(ref_get(o, "ids")), json_object_to_json_string(ref_get(cs, "ids"))))
                continue;
            int *s, *d, *ls, ns = ref_int_array(ref_get(ref_get(o, "edges"), "sources"), &s);
            int nd = ref_int_array(ref_get(ref_get(o, "edges"), "targets"), &d);
            int nl = ref_int_array(ref_get(o, "layers"), &ls);
            memset(masks[n], 0, sizeof masks[n]);
            for (int i = 0; i < ns; i++) masks[n][0][s[i]] = 1;
            for (int i = 0; i < nd; i++) masks[n][1][d[i]] = 1;
            runs[n] = (KnockRun){ls[0], ls[nl - 1], masks[n][0], masks[n][1], NULL};
            json_object *chans;
            if (json_object_object_get_ex(o, "channels", &chans)) {
                memset(chan[n], 0, sizeof chan[n]);
                for (int i = 0; i < nl; i++) {
                    char key[16];
                    snprintf(key, sizeof key, "%d", ls[i]);
                    int *cc, nc = ref_int_array(ref_get(chans, key), &cc);
                    for (int j = 0; j < nc; j++) chan[n][ls[i] * nf + cc[j]] = 1;
                    free(cc);
                }
                runs[n].chan = chan[n];
            }
            which[n++] = o;
            free(s); free(d); free(ls);
        }
        KopError err;
        float *clean = malloc(sizeof(float) * V), *out = malloc(sizeof(float) * V * n);
        PromptRun *p = prompt_run_new(m, ids, T, clean, &err);
        ok(p && prompt_run_knock(p, runs, n, out, &err) == 0, "%s: %d knockout cases of one prompt in one batch", name, n);
        for (int k = 0; k < n; k++) {
            const char *cname = json_object_get_string(ref_get(which[k], "name"));
            int rows, cols, target = json_object_get_int(ref_get(which[k], "target_id"));
            float *want = ref_matrix(ref_get(which[k], "logits_last"), &rows, &cols);
            double d = ref_max_diff(out + (size_t)k * V, want, V);
            ok(d <= ltol, "%s %s: batched knocked logits within %g (max diff %.3g)", name, cname, ltol, d);
            is_float(p_of(out + (size_t)k * V, V, target), json_object_get_double(ref_get(which[k], "p_knocked")), ptol,
                     "%s %s: p_knocked", name, cname);
            free(want);
        }
        (void)L;
        prompt_run_free(p);
        free(clean); free(out); free(ids);
    }
    json_object_put(exp_);
}

static void random_runs(const char *name, const Model *m)
{
    int T = 11, V = m->cfg.vocab_size, L = m->cfg.n_layer, nf = model_n_features(&m->cfg);
    int ids[11];
    for (int t = 0; t < T; t++) ids[t] = irand(V);
    enum { N = 24 };
    KnockRun runs[N];
    unsigned char src[N][11], dst[N][11], *chan = calloc((size_t)N * L * (nf ? nf : 1), 1);
    for (int k = 0; k < N; k++) {
        for (int t = 0; t < T; t++) { src[k][t] = irand(3) == 0; dst[k][t] = 0; }
        int kind = k % 4; /* -> last, -> a middle token, -> a range, no target */
        if (kind == 0) dst[k][T - 1] = 1;
        if (kind == 1) dst[k][4 + irand(5)] = 1;
        if (kind == 2) for (int t = 3 + irand(3); t < T; t += 2) dst[k][t] = 1;
        int lo = irand(L + 1) - 1, hi = lo + irand(L);
        runs[k] = (KnockRun){lo, hi > L - 1 ? L - 1 : hi, src[k], dst[k], NULL};
        if (lo < 0) runs[k].lo = 0;
        if (nf && k % 3 == 1) {
            unsigned char *c = chan + (size_t)k * L * nf;
            for (int i = 0; i < L * nf; i++) c[i] = irand(2);
            runs[k].chan = c;
        }
    }
    KopError err;
    float *fast1 = malloc(sizeof(float) * V * N), *fast2 = malloc(sizeof(float) * V * N), *slow = malloc(sizeof(float) * V * N);
    set_threads(1);
    PromptRun *p = prompt_run_new(m, ids, T, NULL, &err);
    prompt_run_knock(p, runs, N, fast1, &err);
    prompt_run_free(p);
    set_threads(2);
    p = prompt_run_new(m, ids, T, NULL, &err);
    prompt_run_knock(p, runs, N, fast2, &err);
    prompt_run_knock_naive(p, runs, N, slow, &err);
    prompt_run_free(p);
    double d = ref_max_diff(fast2, slow, (size_t)V * N);
    if (getenv("KOP_TEST_VERBOSE"))
        for (int k = 0; k < N; k++)
        {
            char sm[16] = {0}, dm[16] = {0};
            for (int t = 0; t < T; t++) { sm[t] = '0' + src[k][t]; dm[t] = '0' + dst[k][t]; }
            diag("run %d: lo %d hi %d chan %d src %s dst %s diff %.3g", k, runs[k].lo, runs[k].hi, runs[k].chan != NULL,
                 sm, dm, ref_max_diff(fast2 + (size_t)k * V, slow + (size_t)k * V, V));
        }
    ok(d < 2e-4, "%s: %d random knocked runs, batched = one full forward each (max logit diff %.3g)", name, N, d);
    ok(memcmp(fast1, fast2, sizeof(float) * V * N) == 0, "%s: batched runs bit-identical with 1 and 2 threads", name);
    free(fast1); free(fast2); free(slow); free(chan);
}

/* Windows clipped at layer 0, as a centred sweep makes them: runs equal but
 * for hi share their rows up to their own hi (and the ones that reach the
 * last layer are duplicates).  Features that differ above a run's hi, or a
 * different source set, must not be shared. */
static void clipped_windows(const char *name, const Model *m)
{
    int T = 9, V = m->cfg.vocab_size, L = m->cfg.n_layer, nf = model_n_features(&m->cfg);
    int ids[9];
    for (int t = 0; t < T; t++) ids[t] = irand(V);
    enum { N = 64 };
    if (!ok(L + 7 <= N, "%s: %d layers fit the test's %d runs", name, L, N)) return;
    unsigned char subj[9] = {0, 1, 1, 1}, first[9] = {1}, last[9] = {0};
    last[T - 1] = 1;
    unsigned char *chan = calloc((size_t)2 * L * (nf ? nf : 1), 1);
    for (int i = 0; i < L * nf; i++) chan[i] = chan[L * nf + i] = (unsigned char)(i % 3 != 0);
    if (nf) chan[L * nf + (L - 1) * nf] ^= 1; /* the second mask differs on the last layer only */
    KnockRun runs[N];
    int n = 0;
    for (int hi = 0; hi < L + 2; hi++) runs[n++] = (KnockRun){0, hi, subj, last, NULL};
    runs[n++] = (KnockRun){0, 1, first, last, NULL};
    runs[n++] = (KnockRun){0, L - 1, first, last, NULL};
    if (nf) {
        runs[n++] = (KnockRun){0, 1, subj, last, chan};
        runs[n++] = (KnockRun){0, L - 1, subj, last, chan};
        runs[n++] = (KnockRun){0, L - 1, subj, last, chan + (size_t)L * nf};
    }
    KopError err;
    float *fast = malloc(sizeof(float) * V * n), *slow = malloc(sizeof(float) * V * n);
    float *clean = malloc(sizeof(float) * V);
    PromptRun *p = prompt_run_new(m, ids, T, clean, &err);
    prompt_run_knock(p, runs, n, fast, &err);
    prompt_run_knock_naive(p, runs, n, slow, &err);
    prompt_run_free(p);
    double d = ref_max_diff(fast, slow, (size_t)V * n), moved = 0;
    for (int k = 0; k < n; k++) {
        double dk = ref_max_diff(fast + (size_t)k * V, clean, V);
        if (dk > moved) moved = dk;
    }
    ok(moved > 1e-3, "%s: the knockouts move the logits (by up to %.3g)", name, moved);
    ok(d < 2e-4, "%s: %d runs with windows clipped at layer 0, shared prefixes = one full forward each (max diff %.3g)",
       name, n, d);
    double alone = 0;
    for (int k = 0; k < n; k++) alone += knock_flops(&m->cfg, T, &runs[k], 1);
    ok(knock_flops(&m->cfg, T, runs, n) < 0.7 * alone, "%s: the shared prefixes are computed once (%.0f of %.0f flops)",
       name, knock_flops(&m->cfg, T, runs, n), alone);
    free(fast); free(slow); free(chan); free(clean);
}

/* Several prompts in one batched clean forward: their records, clean
 * logits and knocked runs equal those of each prompt alone (GPT-2's
 * positions, the convolutions and the scans restart at each prompt). */
static void batched_prompts(const char *name, const Model *m)
{
    enum { P = 3, N = 6 };
    int T[P] = {7, 11, 4}, V = m->cfg.vocab_size, L = m->cfg.n_layer;
    int ids[P][11];
    const int *idp[P];
    for (int q = 0; q < P; q++) {
        for (int t = 0; t < T[q]; t++) ids[q][t] = irand(V);
        idp[q] = ids[q];
    }
    KopError err = {0};
    PromptRun *batch[P];
    float *clean_b = malloc(sizeof(float) * V * P), *clean_1 = malloc(sizeof(float) * V);
    float *kb = malloc(sizeof(float) * V * N), *k1 = malloc(sizeof(float) * V * N);
    if (!ok(prompt_runs_new(m, P, idp, T, clean_b, batch, NULL, &err) == 0, "%s: %d prompts in one clean forward", name, P))
        return;
    double dc = 0, dk = 0, moved = 0;
    for (int q = P - 1; q >= 0; q--) { /* freed out of order: the records are shared */
        unsigned char src[11] = {0}, dst[11] = {0};
        src[1] = src[2] = 1;
        dst[T[q] - 1] = 1;
        KnockRun runs[N];
        for (int k = 0; k < N; k++) runs[k] = (KnockRun){k * L / N, k * L / N + 1, src, dst, NULL};
        PromptRun *one = prompt_run_new(m, ids[q], T[q], clean_1, &err);
        double d = ref_max_diff(clean_b + (size_t)q * V, clean_1, V);
        if (d > dc) dc = d;
        prompt_run_knock(batch[q], runs, N, kb, &err);
        prompt_run_knock(one, runs, N, k1, &err);
        d = ref_max_diff(kb, k1, (size_t)V * N);
        if (d > dk) dk = d;
        for (int k = 0; k < N; k++) {
            d = ref_max_diff(kb + (size_t)k * V, clean_1, V);
            if (d > moved) moved = d;
        }
        prompt_run_free(one);
        prompt_run_free(batch[q]);
    }
    ok(dc < 1e-4, "%s: batched clean logits = each prompt alone (max diff %.3g)", name, dc);
    ok(moved > 1e-3 && dk < 2e-4, "%s: knocked runs from batched records = from a prompt's own (max diff %.3g; they move the logits by %.3g)",
       name, dk, moved);
    if (m->cfg.arch == ARCH_GPT2) {
        int longT[2] = {3, m->cfg.n_ctx + 1}, *big = calloc((size_t)longT[1], sizeof(int));
        const int *lp[2] = {ids[0], big};
        PromptRun *out[2] = {batch[0], batch[0]};
        err = (KopError){0};
        ok(prompt_runs_new(m, 2, lp, longT, NULL, out, NULL, &err) < 0 && !out[0] && !out[1] && strstr(err.msg, "n_positions"),
           "%s: a batch with a prompt longer than the context fails as a whole, naming the limit", name);
        free(big);
    }
    free(clean_b); free(clean_1); free(kb); free(k1);
}

int main(void)
{
    const char *names[] = {"mamba1-tiny", "falcon-mamba-tiny", "mamba2-tiny", "gpt2-tiny", "llama-tiny", "pythia-tiny"};
    for (int i = 0; i < 6; i++) {
        Model m;
        KopError err;
        if (!ok(model_load(&m, ref_model_dir(names[i]), &err) == 0, "%s loads", names[i])) continue;
        reference_cases(names[i], &m);
        random_runs(names[i], &m);
        clipped_windows(names[i], &m);
        batched_prompts(names[i], &m);
        model_free(&m);
    }
    return done_testing();
}
