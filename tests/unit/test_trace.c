/* test_trace.c: the causal tracing engine (src/trace.c, src/noise.c).
 *  (a) the noise generator against values from an independent (Python)
 *      implementation of TRACING.md's definition;
 *  (b) every case of ../shared/reference/MODEL/trace.json, built from the
 *      case's prompts, corruption line and resolved restore/freeze sites,
 *      through both the efficient and the definitional path: p_clean,
 *      p_corrupt, p_restored, prob_diff and recovered;
 *  (c) the efficient path against the definitional one on random runs
 *      (every hook of each family, random positions, windows and freezes,
 *      noise and swapped ids), in small row chunks. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "expected.h"
#include "noise.h"
#include "tap.h"
#include "trace.h"

// ---------------------------------------------------------------------------
// (a) the generator

static void noise_values(void)
{
    /* python: TRACING.md's splitmix64 / mix / Box-Muller, in double */
    struct { uint64_t seed, p, s, i, d; double z; } v[] = {
        {1, 0, 0, 0, 0, 0.13724914932873378},
        {11, 0, 2, 4, 31, -0.38215215983706313},
        {5, 3, 1, 7, 1000, 1.638989165573623},
        {9223372036854775813ull, 12345, 9, 511, 4095, -0.7675144127744228},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        is_float(noise_normal(v[k].seed, v[k].p, v[k].s, v[k].i, v[k].d), v[k].z, 1e-15,
                 "noise (%llu, %llu, %llu, %llu, %llu)", (unsigned long long)v[k].seed, (unsigned long long)v[k].p,
                 (unsigned long long)v[k].s, (unsigned long long)v[k].i, (unsigned long long)v[k].d);
    float out[2 * 3];
    unsigned char pos[2] = {0, 1};
    noise_fill(out, 2, 3, 0.5, 11, 0, 2, pos);
    ok(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == (float)(0.5 * noise_normal(11, 0, 2, 1, 0)) &&
           out[5] == (float)(0.5 * noise_normal(11, 0, 2, 1, 2)),
       "noise_fill: zero off the positions, (float)(sigma z) on them");
}

// ---------------------------------------------------------------------------
// (b) the reference cases

static json_object *trace_json(const char *model)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/trace.json", ref_model_dir(model));
    json_object *o = json_object_from_file(path);
    if (!o) KOP_ABORT("cannot parse %s", path);
    return o;
}

static void site_of(json_object *o, int T, int L, TraceSite *site, unsigned char *pos, unsigned char *layers)
{
    int *p, *l, np = ref_int_array(ref_get(o, "positions"), &p), nl = ref_int_array(ref_get(o, "layers"), &l);
    int h = hook_from_name(json_object_get_string(ref_get(o, "hook")));
    if (h < 0) KOP_ABORT("trace.json: unknown hook");
    memset(pos, 0, (size_t)T);
    memset(layers, 0, (size_t)L);
    for (int i = 0; i < np; i++) pos[p[i]] = 1;
    for (int i = 0; i < nl; i++) layers[l[i]] = 1;
    *site = (TraceSite){(Hook)h, pos, layers};
    free(p);
    free(l);
}

typedef struct RefPrompt { int *ids, T, s0, s1; } RefPrompt;

/* The token group of a `corrupt` line, for the groups the reference cases
 * use (the language resolves groups in general). */
static void group_mask(const char *g, const RefPrompt *p, unsigned char *mask)
{
    for (int i = 0; i < p->T; i++) {
        int in_subj = i >= p->s0 && i <= p->s1;
        if (!strcmp(g, "subject")) mask[i] = in_subj;
        else if (!strcmp(g, "relation - last")) mask[i] = !in_subj && i != p->T - 1;
        else KOP_ABORT("test_trace: group '%s' not handled here", g);
    }
}

static void reference_cases(const char *name)
{
    json_object *tj = trace_json(name);
    double tol = json_object_get_double(ref_get(ref_get(tj, "tolerance"), "prob_abs"));
    Model m;
    KopError err = {0};
    if (!ok(model_load(&m, ref_model_dir(name), &err) == 0, "%s: loads", name)) return;
    int L = m.cfg.n_layer, V = m.cfg.vocab_size;
    json_object *cases = ref_get(tj, "cases");
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci);
        const char *cname = json_object_get_string(ref_get(cs, "name"));
        json_object *lines = ref_get(cs, "lines"), *pj = ref_get(cs, "prompts");
        int np = (int)json_object_array_length(pj), meas = json_object_get_int(ref_get(cs, "measured"));
        RefPrompt *pr = calloc((size_t)np, sizeof *pr);
        for (int q = 0; q < np; q++) {
            json_object *o = json_object_array_get_idx(pj, q);
            pr[q].T = ref_int_array(ref_get(o, "ids"), &pr[q].ids);
            int *st;
            ref_int_array(ref_get(o, "subject_tokens"), &st);
            pr[q].s0 = st[0];
            pr[q].s1 = st[1];
            free(st);
        }
        const RefPrompt *P = &pr[meas];
        int T = P->T;
        /* corrupt GROUP with noise SIGMA [std] samples N seed S | corrupt subject with swap */
        const char *line = json_object_get_string(json_object_array_get_idx(lines, 0));
        char group[64] = "", how[16] = "";
        int skip = 0;
        if (sscanf(line, "corrupt %63[^w]with %15s", group, how) != 2) KOP_ABORT("test_trace: line '%s'", line);
        group[strlen(group) - 1] = 0; /* the space before "with" */
        unsigned char *cpos = calloc((size_t)T, 1);
        int *swapped = NULL;
        TraceCorruption cor = {0};
        if (!strcmp(how, "swap")) {
            /* the partner: the first prompt after, wrapping, with another
             * subject of the same length at the same place */
            for (int d = 1; d < np && !swapped; d++) {
                const RefPrompt *Q = &pr[(meas + d) % np];
                int n = P->s1 - P->s0 + 1;
                if (Q->s1 - Q->s0 + 1 != n || !memcmp(Q->ids + Q->s0, P->ids + P->s0, sizeof(int) * n)) continue;
                swapped = malloc(sizeof(int) * T);
                memcpy(swapped, P->ids, sizeof(int) * T);
                memcpy(swapped + P->s0, Q->ids + Q->s0, sizeof(int) * n);
            }
            skip = !swapped;
            cor = (TraceCorruption){.samples = 1, .ids = swapped};
        } else {
            double sigma;
            int n, seed;
            const char *rest = strstr(line, "noise ") + 6;
            int is_std = strstr(line, " std ") != NULL;
            if (sscanf(rest, "%lf", &sigma) != 1 || sscanf(strstr(line, "samples ") + 8, "%d", &n) != 1 ||
                sscanf(strstr(line, "seed ") + 5, "%d", &seed) != 1)
                KOP_ABORT("test_trace: line '%s'", line);
            group_mask(group, P, cpos);
            if (is_std) {
                NoiseStd acc = {0};
                for (int q = 0; q < np; q++) {
                    unsigned char *mq = calloc((size_t)pr[q].T, 1);
                    group_mask(group, &pr[q], mq);
                    noise_std_add(&acc, &m, pr[q].ids, pr[q].T, mq);
                    free(mq);
                }
                sigma *= noise_std_value(&acc);
            }
            cor = (TraceCorruption){.samples = n, .sigma = sigma, .seed = (uint64_t)seed, .prompt = (uint64_t)meas,
                                    .pos = cpos};
        }
        if (!strcmp(how, "swap") && !ok(!skip, "%s %s: swap partner found", name, cname)) continue;
        unsigned char *rpos = malloc(T), *rlay = malloc(L), *fpos = malloc(T), *flay = malloc(L);
        TraceRun run = {0};
        site_of(ref_get(cs, "restore"), T, L, &run.restore, rpos, rlay);
        json_object *fz;
        unsigned fmask = 0;
        if (json_object_object_get_ex(cs, "freeze", &fz) && fz) {
            site_of(fz, T, L, &run.freeze, fpos, flay);
            fmask = HOOK_BIT(run.freeze.hook);
        }
        int target = json_object_get_int(ref_get(cs, "target_id"));
        TracePrompt *tp = trace_prompt_new(&m, P->ids, T, &cor, HOOK_BIT(run.restore.hook), fmask, &err);
        if (!ok(tp != NULL, "%s %s: clean and corrupted runs", name, cname)) continue;
        const float *cl = trace_clean_logits(tp);
        int top = 0;
        for (int v = 1; v < V; v++)
            if (cl[v] > cl[top]) top = v;
        ok(top == target, "%s %s: target is the clean top-1 (%d)", name, cname, top);
        double pc = trace_p_clean(tp, target), pk = trace_p_corrupt(tp, target), pr_fast, pr_naive;
        trace_restore(tp, &run, 1, &(TraceOut){.target = target, .p_restored = &pr_fast}, &err);
        trace_restore_naive(tp, &run, 1, &(TraceOut){.target = target, .p_restored = &pr_naive}, &err);
        double want_diff = json_object_get_double(ref_get(cs, "prob_diff"));
        double want_rec = json_object_get_double(ref_get(cs, "recovered"));
        is_float(pc, json_object_get_double(ref_get(cs, "p_clean")), tol, "%s %s: p_clean", name, cname);
        is_float(pk, json_object_get_double(ref_get(cs, "p_corrupt")), tol, "%s %s: p_corrupt", name, cname);
        is_float(pr_fast, json_object_get_double(ref_get(cs, "p_restored")), tol, "%s %s: p_restored", name, cname);
        is_float(pr_naive, json_object_get_double(ref_get(cs, "p_restored")), tol, "%s %s: p_restored (definitional)",
                 name, cname);
        is_float(pr_fast - pk, want_diff, tol, "%s %s: prob_diff", name, cname);
        /* recovered is a ratio: the probabilities' tolerance carries over
         * scaled by 1/|p_clean - p_corrupt| (a small denominator, as in a
         * case where the corruption barely moves p, magnifies it) */
        double den = fabs(pc - pk), tol_rec = tol * (1 + fabs(want_rec)) / (den > 1e-12 ? den : 1e-12);
        is_float((pr_fast - pk) / (pc - pk), want_rec, tol_rec < tol ? tol : tol_rec, "%s %s: recovered", name, cname);
        trace_prompt_free(tp);
        free(rpos); free(rlay); free(fpos); free(flay); free(cpos); free(swapped);
        for (int q = 0; q < np; q++) free(pr[q].ids);
        free(pr);
    }
    model_free(&m);
    json_object_put(tj);
}

// ---------------------------------------------------------------------------
// (c) efficient = definitional on random runs

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    kern_set_blas_threads(n);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int irand(int n)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (int)((rng >> 33) % (uint64_t)n);
}

/* each(): counts calls, checks that a run's samples come in order, keeps
 * the logits of the last run's last sample */
typedef struct Each { int calls, in_order, last_run, last_s; float *last; int V, n, N; } Each;
static void each_count(void *ctx, int run, int s, const float *logits)
{
    Each *e = ctx;
    if (!e->calls) e->in_order = 1, e->last_run = -1;
    if (run == e->last_run && s != e->last_s + 1) e->in_order = 0;
    if (run != e->last_run && s != 0) e->in_order = 0;
    e->last_run = run;
    e->last_s = s;
    e->calls++;
    if (run == e->n - 1 && s == e->N - 1) memcpy(e->last, logits, sizeof(float) * e->V);
}

static void random_runs(const char *name, int swap)
{
    Model m;
    KopError err = {0};
    if (model_load(&m, ref_model_dir(name), &err) != 0) {
        ok(0, "%s: loads", name);
        return;
    }
    const ArchOps *ops = arch_ops(m.cfg.arch);
    int L = m.cfg.n_layer, V = m.cfg.vocab_size, T = 9, n = 0;
    int ids[9], cids[9];
    for (int i = 0; i < T; i++) ids[i] = cids[i] = irand(V);
    unsigned char cpos[9] = {0, 0, 1, 1, 1, 0, 0, 0, 0};
    for (int i = 2; i <= 4; i++) cids[i] = irand(V);
    TraceCorruption cor = swap ? (TraceCorruption){.samples = 1, .ids = cids}
                               : (TraceCorruption){.samples = 3, .sigma = 0.4, .seed = 7, .prompt = 3, .pos = cpos};
    enum { MAXR = 64 };
    TraceRun runs[MAXR];
    unsigned char pos[MAXR][9], lay[MAXR][32], fpos[MAXR][9], flay[MAXR][32];
    if (L > 32) KOP_ABORT("test_trace: %s has more layers than this test holds", name);
    unsigned seen = 0;
    for (int h = 0; h < HOOK_COUNT; h++) {
        if (!(ops->hooks & HOOK_BIT(h))) continue;
        for (int rep = 0; rep < 6 && n < MAXR; rep++, n++) {
            memset(pos[n], 0, 9);
            memset(lay[n], 0, 32);
            int np = 1 + irand(3);
            for (int i = 0; i < np; i++) pos[n][irand(T)] = 1;
            if (rep == 0) { memset(pos[n], 0, 9); pos[n][T - 1] = 1; }  /* the last row alone */
            int l0 = irand(L), l1 = l0 + irand(L - l0);
            if (rep == 1) l0 = l1 = L - 1;                             /* the last layer (resid: no rows) */
            for (int l = l0; l <= l1; l++) lay[n][l] = 1;
            runs[n] = (TraceRun){.restore = {(Hook)h, pos[n], lay[n]}};
            if (rep >= 3) { /* a freeze of another random hook */
                int fh;
                do fh = irand(HOOK_COUNT); while (!(ops->hooks & HOOK_BIT(fh)));
                memset(fpos[n], 0, 9);
                memset(flay[n], 0, 32);
                fpos[n][irand(T)] = fpos[n][T - 1] = 1;
                for (int l = irand(L); l < L; l++) flay[n][l] = 1;
                runs[n].freeze = (TraceSite){(Hook)fh, fpos[n], flay[n]};
            }
            seen |= HOOK_BIT(h);
        }
    }
    runs[n++] = (TraceRun){.restore = {HOOK_RESID, NULL, lay[0]}}; /* restores nothing: the corrupted run */
    TracePrompt *tp = trace_prompt_new(&m, ids, T, &cor, 0, 0, &err); /* hooks captured on demand */
    trace_set_row_budget(tp, 17);                                     /* many chunks */
    int target = 0, N = trace_samples(tp);
    const float *cl = trace_clean_logits(tp);
    for (int v = 1; v < V; v++)
        if (cl[v] > cl[target]) target = v;
    double *pf = malloc(sizeof(double) * n), *pn = malloc(sizeof(double) * n);
    float *lf = malloc(sizeof(float) * (size_t)n * N * V), *ln = malloc(sizeof(float) * (size_t)n * N * V);
    Each ea = {.last = malloc(sizeof(float) * V), .V = V, .n = n, .N = N};
    int sf = trace_restore(tp, runs, n, &(TraceOut){target, pf, lf, each_count, &ea}, &err);
    int sn = trace_restore_naive(tp, runs, n, &(TraceOut){.target = target, .p_restored = pn, .logits = ln}, &err);
    ok(sf == 0 && sn == 0, "%s%s: both paths run", name, swap ? " (swap)" : "");
    ok(seen == ops->hooks, "%s: every hook of the family exercised", name);
    ok(ea.calls == n * N && ea.in_order && !memcmp(ea.last, lf + (size_t)(n * N - 1) * V, sizeof(float) * V),
       "%s: each() called once per run and sample, samples in order, with the run's logits", name);
    free(ea.last);
    double dl = ref_max_diff(lf, ln, (size_t)n * N * V), dp = 0, moved = 0;
    for (int k = 0; k < n; k++) {
        dp = fmax(dp, fabs(pf[k] - pn[k]));
        moved = fmax(moved, fabs(pn[k] - trace_p_corrupt(tp, target)));
    }
    ok(dl < 2e-4, "%s%s: %d random runs x %d samples, efficient = definitional (max logit diff %.3g)", name,
       swap ? " (swap)" : "", n, N, dl);
    ok(dp < 1e-5, "%s%s: p_restored equal (max diff %.3g)", name, swap ? " (swap)" : "", dp);
    ok(moved > 1e-3, "%s%s: the restores change the result (max |p_restored - p_corrupt| %.3g)", name,
       swap ? " (swap)" : "", moved);
    ok(pf[n - 1] == trace_p_corrupt(tp, target), "%s: a run restoring nothing is the corrupted run", name);
    /* bit-identical for 1 and 2 threads */
    float *l1 = malloc(sizeof(float) * (size_t)n * N * V);
    set_threads(1);
    trace_restore(tp, runs, n, &(TraceOut){.target = target, .logits = l1}, &err);
    set_threads(2);
    trace_restore(tp, runs, n, &(TraceOut){.target = target, .logits = lf}, &err);
    ok(!memcmp(l1, lf, sizeof(float) * (size_t)n * N * V), "%s%s: bit-identical for 1 and 2 threads", name,
       swap ? " (swap)" : "");
    free(l1);
    /* a hook the family lacks is an error, not a crash */
    TraceRun bad = {.restore = {ops->hooks & HOOK_BIT(HOOK_ATTN) ? HOOK_SSM : HOOK_ATTN, pos[0], lay[0]}};
    KopError e2 = {0};
    ok(trace_restore(tp, &bad, 1, &(TraceOut){.target = target}, &e2) < 0 && strstr(e2.msg, "has no hook"),
       "%s: a missing hook is an error (%s)", name, e2.msg);
    ok(trace_restore(tp, runs, 1, &(TraceOut){.target = V}, &e2) < 0 && strstr(e2.msg, "outside the vocabulary"),
       "%s: a target outside the vocabulary is an error (%s)", name, e2.msg);
    trace_prompt_free(tp);
    free(pf); free(pn); free(lf); free(ln);
    model_free(&m);
}

/* A reference model of a family this build does not read (yet) is
 * skipped with a note; one it reads must pass every case. */
static int supported(const char *name)
{
    Config c;
    KopError err = {0};
    if (config_load(&c, ref_model_dir(name), &err) == 0) return 1;
    if (!strstr(err.msg, "unknown model_type")) return ok(0, "%s: config loads (%s)", name, err.msg);
    diag("%s skipped: %s", name, err.msg);
    return 0;
}

int main(void)
{
    /* decided before any test runs: a plan of 0 after tests is a TAP error */
    shared_dir_or_skip("reference/mamba1-tiny/config.json");
    noise_values();
    const char *models[] = {"mamba1-tiny",       "mamba2-tiny", "gpt2-tiny",
                            "falcon-mamba-tiny", "llama-tiny",  "pythia-tiny"};
    for (int i = 0; i < 6; i++) {
        if (!supported(models[i])) continue;
        reference_cases(models[i]);
        random_runs(models[i], 0);
        random_runs(models[i], 1);
    }
    return done_testing();
}
