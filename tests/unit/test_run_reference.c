/* test_run_reference.c: every `kind: knockout` case of ../shared/reference
 * through the whole path a user takes -- a .kop recipe with the case's
 * prompt as inline ids and its statement as written, compiled, planned and
 * run by `kop run` -- with p_clean and p_knocked read back from rows.csv
 * within the reference's prob_abs.  Then the same recipes with several
 * prompts under --threads 1 and 2 must write byte-identical rows.csv. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expected.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/kop-run-ref.XXXXXX";

static int sh(const char *fmt, ...) KOP_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = 0;
    fclose(f);
    return s;
}

static void ids_list(FILE *f, json_object *ids)
{
    fputc('[', f);
    for (size_t i = 0; i < json_object_array_length(ids); i++)
        fprintf(f, "%s%d", i ? ", " : "", json_object_get_int(json_object_array_get_idx(ids, i)));
    fputc(']', f);
}

/* From rows.csv text: the fields target_id, p_clean, p_base and p_after of
 * the first row whose prompt column is `prompt` (the last seven fields of a
 * row are prompt,target_id,p_clean,p_base,p_after,value,metric). */
static void row_tail(char *rows, int prompt, int *target, double *pc, double *pb, double *pa)
{
    for (char *line = rows ? strchr(rows, '\n') : NULL; line && line[1]; line = strchr(line + 1, '\n')) {
        char *end = strchr(line + 1, '\n');
        size_t n = end ? (size_t)(end - line - 1) : strlen(line + 1);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf ? n : sizeof buf - 1), line + 1);
        int commas = 0;
        char *p = buf + strlen(buf);
        while (p > buf && commas < 7) if (*--p == ',') commas++;
        int pr;
        if (sscanf(p, ",%d,%d,%lf,%lf,%lf", &pr, target, pc, pb, pa) == 5 && pr == prompt) return;
    }
}

/* `kop run RECIPE --model DIR` into TMP/NAME-CASE: its rows.csv (caller
 * frees), or NULL after a failed check that shows kop's message. */
static char *run_rows(const char *kop, const char *recipe, const char *dir, const char *name, const char *cname)
{
    int rc = sh("'%s' run '%s' --model '%s' --out '%s/%s-%s' --quiet >/dev/null 2>'%s/err'", kop, recipe, dir, tmpdir,
                name, cname, tmpdir);
    char path[4200];
    if (!ok(rc == 0, "%s %s: kop run succeeds", name, cname)) {
        snprintf(path, sizeof path, "%s/err", tmpdir);
        char *e = slurp(path);
        diag("%s", e ? e : "");
        free(e);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s-%s/rows.csv", tmpdir, name, cname);
    return slurp(path);
}

static void check_model(const char *kop, const char *name)
{
    const char *dir = ref_model_dir(name);
    json_object *exp_ = ref_expected(name), *cases = ref_get(exp_, "cases");
    double ptol = json_object_get_double(ref_get(ref_get(exp_, "tolerance"), "prob_abs"));
    char path[4096];
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci);
        if (strcmp(json_object_get_string(ref_get(cs, "kind")), "knockout")) continue;
        const char *cname = json_object_get_string(ref_get(cs, "name"));
        snprintf(path, sizeof path, "%s/%s-%s.kop", tmpdir, name, cname);
        FILE *f = fopen(path, "w");
        json_object *subj = ref_get(cs, "subject_tokens");
        fprintf(f, "experiment \"%s\"\nprompt ids ", cname);
        ids_list(f, ref_get(cs, "ids"));
        fprintf(f, " subject [%d..%d]\n%s\nmeasure prob\n", json_object_get_int(json_object_array_get_idx(subj, 0)),
                json_object_get_int(json_object_array_get_idx(subj, 1)), json_object_get_string(ref_get(cs, "statement")));
        fclose(f);
        char *rows = run_rows(kop, path, dir, name, cname);
        if (!rows) continue;
        /* header, then one row: ...,prompt,target_id,p_clean,p_base,p_after,value,metric */
        int target = -1;
        double pc = -1, pb = -1, pk = -1;
        row_tail(rows, 0, &target, &pc, &pb, &pk);
        is_int(target, json_object_get_int(ref_get(cs, "target_id")), "%s %s: target is the clean top-1", name, cname);
        is_float(pc, json_object_get_double(ref_get(cs, "p_clean")), ptol, "%s %s: p_clean", name, cname);
        is_float(pk, json_object_get_double(ref_get(cs, "p_knocked")), ptol, "%s %s: p_knocked through kop run", name, cname);
        free(rows);
    }
    /* all statements of the model's cases, over both reference prompts and a
     * k sweep, with 1 and 2 threads: prompts run in parallel under 2 */
    snprintf(path, sizeof path, "%s/%s-threads.kop", tmpdir, name);
    FILE *f = fopen(path, "w");
    fprintf(f, "experiment \"threads\"\n");
    const char *done[16];
    int nd = 0;
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci);
        if (strcmp(json_object_get_string(ref_get(cs, "kind")), "knockout")) continue;
        const char *ids = json_object_to_json_string(ref_get(cs, "ids"));
        int seen = 0;
        for (int i = 0; i < nd; i++) seen |= !strcmp(done[i], ids);
        if (!seen && nd < 16) {
            done[nd++] = ids;
            json_object *subj = ref_get(cs, "subject_tokens");
            for (int rep = 0; rep < 3; rep++) {
                fprintf(f, "prompt ids ");
                ids_list(f, ref_get(cs, "ids"));
                fprintf(f, " subject [%d..%d]\n", json_object_get_int(json_object_array_get_idx(subj, 0)),
                        json_object_get_int(json_object_array_get_idx(subj, 1)));
            }
        }
    }
    fprintf(f, "block subject -> last in layers[k-1..k+1]\nblock relation -> last in layers[k..k]\n"
               "block last -> last in layers[k..L]\nmeasure kl\n");
    fclose(f);
    int rc1 = sh("OMP_NUM_THREADS=1 '%s' run '%s' --model '%s' --out '%s/t1-%s' --threads 1 --quiet >/dev/null", kop, path,
                 dir, tmpdir, name);
    int rc2 = sh("'%s' run '%s' --model '%s' --out '%s/t2-%s' --threads 2 --quiet >/dev/null", kop, path, dir, tmpdir, name);
    char p1[4200], p2[4200];
    snprintf(p1, sizeof p1, "%s/t1-%s/rows.csv", tmpdir, name);
    snprintf(p2, sizeof p2, "%s/t2-%s/rows.csv", tmpdir, name);
    char *a = slurp(p1), *b = slurp(p2);
    ok(rc1 == 0 && rc2 == 0 && a && b && strlen(a) > 200 && !strcmp(a, b),
       "%s: rows.csv of a multi-prompt k sweep is byte-identical with 1 and 2 threads", name);
    free(a);
    free(b);
    json_object_put(exp_);
}

/* Every case of the model's trace.json through `kop run`: its prompts as
 * inline ids in order, its corrupt and restore lines as written; the
 * measured prompt's row gives p_clean, p_base (= p_corrupt) and p_after
 * (= p_restored), and value = prob_diff. */
static void check_traces(const char *kop, const char *name)
{
    const char *dir = ref_model_dir(name);
    char path[4096];
    snprintf(path, sizeof path, "%s/trace.json", dir);
    json_object *doc = json_object_from_file(path), *cases = doc ? ref_get(doc, "cases") : NULL;
    if (!ok(cases != NULL, "%s: trace.json read", name)) return;
    for (size_t ci = 0; ci < json_object_array_length(cases); ci++) {
        json_object *cs = json_object_array_get_idx(cases, ci), *prompts = ref_get(cs, "prompts"), *lines = ref_get(cs, "lines");
        const char *cname = json_object_get_string(ref_get(cs, "name"));
        snprintf(path, sizeof path, "%s/%s-trace-%s.kop", tmpdir, name, cname);
        FILE *f = fopen(path, "w");
        fprintf(f, "experiment \"%s\"\n", cname);
        for (size_t p = 0; p < json_object_array_length(prompts); p++) {
            json_object *pr = json_object_array_get_idx(prompts, p), *subj = ref_get(pr, "subject_tokens");
            fprintf(f, "prompt ids ");
            ids_list(f, ref_get(pr, "ids"));
            fprintf(f, " subject [%d..%d]\n", json_object_get_int(json_object_array_get_idx(subj, 0)),
                    json_object_get_int(json_object_array_get_idx(subj, 1)));
        }
        for (size_t l = 0; l < json_object_array_length(lines); l++)
            fprintf(f, "%s\n", json_object_get_string(json_object_array_get_idx(lines, l)));
        fprintf(f, "measure prob_diff\n");
        fclose(f);
        char case_name[512];
        snprintf(case_name, sizeof case_name, "trace-%s", cname);
        char *rows = run_rows(kop, path, dir, name, case_name);
        if (!rows) continue;
        int target = -1;
        double pc = -1, pb = -1, pa = -1;
        row_tail(rows, json_object_get_int(ref_get(cs, "measured")), &target, &pc, &pb, &pa);
        is_int(target, json_object_get_int(ref_get(cs, "target_id")), "%s trace %s: target", name, cname);
        is_float(pc, json_object_get_double(ref_get(cs, "p_clean")), 1e-4, "%s trace %s: p_clean", name, cname);
        is_float(pb, json_object_get_double(ref_get(cs, "p_corrupt")), 1e-4, "%s trace %s: p_corrupt", name, cname);
        is_float(pa, json_object_get_double(ref_get(cs, "p_restored")), 1e-4, "%s trace %s: p_restored", name, cname);
        is_float(pa - pb, json_object_get_double(ref_get(cs, "prob_diff")), 1e-4, "%s trace %s: p_restored - p_corrupt",
                 name, cname);
        free(rows);
    }
    json_object_put(doc);
}

int main(void)
{
    const char *kop = getenv("KOP");
    if (!kop) skip_all("KOP not set");
    ref_model_dir("mamba1-tiny"); /* skips when the shared folder is absent */
    if (!mkdtemp(tmpdir)) skip_all("cannot make a temporary folder");
    check_model(kop, "mamba1-tiny");
    check_model(kop, "falcon-mamba-tiny");
    check_model(kop, "mamba2-tiny");
    check_model(kop, "gpt2-tiny");
    check_model(kop, "llama-tiny");
    check_model(kop, "pythia-tiny");
    check_model(kop, "mamba1-ssm-tiny");
    check_model(kop, "mamba2-ssm-tiny");
    const char *traced[] = {"mamba1-tiny", "falcon-mamba-tiny", "mamba2-tiny", "gpt2-tiny", "llama-tiny", "pythia-tiny"};
    for (int i = 0; i < 6; i++) check_traces(kop, traced[i]);
    if (!getenv("KOP_KEEP_TMP")) sh("rm -rf '%s'", tmpdir);
    return done_testing();
}
