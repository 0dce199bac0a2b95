/* test_trace_map.c: ROME's token x layer map of one prompt, end to end.
 * `kop run` of a `restore resid at tokens[t] in layer k` trace of a single
 * prompt on the demo Mamba-1 model (examples/models/mamba1-facts) must give
 * one summary row per position x layer, and a heatmap whose rows are
 * labelled with the prompt's tokens, the subject's marked with '*' as ROME
 * marks them.  The expected labels are built here independently of the
 * executor, from `kop tokenize --offsets` and the subject's byte range; the
 * PNG is decoded with libpng and must be exactly the API's heatmap of the
 * summary with those labels (and differ from the one with unmarked labels,
 * so the marks are really drawn).  Two cells are definitional: restoring
 * the last token's residual after the last layer gives back p_clean, and
 * restoring a position before the subject (not corrupted) changes nothing.
 * Skips until tools/train-demo/ has made the demo model. */
#include <sys/wait.h>

#include "render.h"
#include "summary_csv.h"
#include "tap.h"
#include "test_render.h"

#define TEXT "As the story goes, Mas Zoukrei of the northern valleys speaks"
#define SUBJECT "Mas Zoukrei"
#define MAXT 64

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The token texts of TEXT from `kop tokenize --offsets`, the subject's
 * (tokens overlapping its bytes) marked with '*' when mark; the count. */
static int expected_labels(const char *kop, const char *model, const char *dir, int mark, char **labels)
{
    char cmd[16384], path[8400];
    snprintf(path, sizeof path, "%s/tok.txt", dir);
    snprintf(cmd, sizeof cmd, "'%s' tokenize '%s' --offsets --text='%s' >'%s'", kop, model, TEXT, path);
    if (sh(cmd) != 0) return -1;
    char *out = kop_read_file(path, NULL, NULL);
    if (!out) return -1;
    char *offs = strchr(out, '\n'); /* line 1: ids, line 2: start:end per token */
    int n = 0;
    size_t s0 = (size_t)(strstr(TEXT, SUBJECT) - TEXT), s1 = s0 + strlen(SUBJECT);
    for (char *p = offs ? offs + 1 : NULL; p && *p && *p != '\n' && n < MAXT;) {
        char *end;
        long a = strtol(p, &end, 10), b = *end == ':' ? strtol(end + 1, &end, 10) : -1;
        if (end == p || b < a || (size_t)b > strlen(TEXT)) break;
        int subj = (size_t)a < s1 && (size_t)b > s0;
        labels[n++] = kop_strf("%.*s%s", (int)(b - a), TEXT + a, mark && subj ? "*" : "");
        p = end + (*end == ' ');
    }
    free(out);
    return n;
}

/* The heatmap of summary with labels, drawn by the API, equal to png? */
static int same_figure(const Summary *s, char **labels, int n, const Canvas *png)
{
    SummaryPlot p;
    KopError err = {0};
    Canvas api;
    if (summary_plot(s, NULL, (const char *const *)labels, n, &p, &err) < 0) return 0;
    int same = 0;
    if (render_heatmap_canvas(&api, &p.d, &err) == 0) {
        same = api.w == png->w && api.h == png->h && !memcmp(api.px, png->px, (size_t)api.w * api.h * 3);
        raster_free(&api);
    }
    summary_plot_free(&p);
    return same;
}

int main(void)
{
    const char *kop = getenv("KOP"), *src = getenv("KOP_SRCDIR");
    if (!kop || !*kop || !src || !*src) skip_all("KOP or KOP_SRCDIR not set: run through make check");
    char model[4096], path[8400], cmd[16384];
    snprintf(model, sizeof model, "%s/examples/models/mamba1-facts", src);
    snprintf(path, sizeof path, "%s/config.json", model);
    if (access(path, R_OK) != 0) skip_all("the demo Mamba-1 model is absent (made by tools/train-demo/train_demo.py)");
    const char *dir = test_tmpdir();

    snprintf(path, sizeof path, "%s/map.kop", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "experiment \"rome-map\"\nprompt \"%s\" subject \"%s\"\nlimit 1\n"
               "corrupt subject with noise 3 std samples 3 seed 1\nrestore resid at tokens[t] in layer k\n"
               "output heatmap \"map.png\"\n", TEXT, SUBJECT);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' run '%s/map.kop' --model '%s' --out '%s/out' --quiet >/dev/null", kop, dir, model,
             dir);
    if (!ok(sh(cmd) == 0, "kop run of a one-prompt residual trace")) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        sh(cmd);
        return done_testing();
    }

    char *marked[MAXT] = {0}, *plain[MAXT] = {0};
    int T = expected_labels(kop, model, dir, 1, marked);
    ok(expected_labels(kop, model, dir, 0, plain) == T && T >= 6, "the prompt has %d tokens", T);
    snprintf(path, sizeof path, "%s/config.json", model);
    char *config = kop_read_file(path, NULL, NULL), *nl = config ? strstr(config, "\"num_hidden_layers\":") : NULL;
    int L = nl ? atoi(nl + strlen("\"num_hidden_layers\":")) : 0;
    free(config);
    ok(L > 0 && L < 16, "the demo model has %d layers", L);

    Summary s;
    KopError err = {0};
    snprintf(path, sizeof path, "%s/out/summary.csv", dir);
    int read = summary_read(path, &s, &err) == 0;
    ok(read, "summary.csv reads%s%s", read ? "" : ": ", read ? "" : err.msg);
    if (read) {
        unsigned char seen[MAXT][16] = {{0}};
        int good = s.n_rows == T * L;
        for (int i = 0; i < s.n_rows; i++) {
            const SummaryRow *r = &s.rows[i];
            if (!r->has_k || !r->has_t || r->k < 0 || r->k >= L || r->t < 0 || r->t >= T || r->n != 1 ||
                seen[r->t][r->k]++)
                good = 0;
        }
        ok(good, "summary.csv has one row per token x layer: %d rows for %d x %d", s.n_rows, T, L);

        Canvas png;
        snprintf(path, sizeof path, "%s/out/map.png", dir);
        int decoded = decode_png(path, &png) == 0;
        ok(decoded, "map.png decodes");
        if (decoded) {
            SummaryPlot p;
            Canvas api;
            int sized = 0;
            if (summary_plot(&s, NULL, (const char *const *)marked, T, &p, &err) == 0) {
                if (render_heatmap_canvas(&api, &p.d, &err) == 0) {
                    sized = api.w == png.w && api.h == png.h && p.d.n_rows == T;
                    raster_free(&api);
                }
                summary_plot_free(&p);
            }
            ok(sized, "map.png is %d x %d, the size of a %d-row heatmap", png.w, png.h, T);
            ok(same_figure(&s, marked, T, &png), "its rows are labelled with the tokens, the subject's marked '*'");
            ok(!same_figure(&s, plain, T, &png), "... and the marks are drawn (unmarked labels give another figure)");
            raster_free(&png);
        }
        summary_free(&s);
    }

    /* rows.csv: experiment,model,statement,k,t,layer_lo,layer_hi,prompt,target_id,p_clean,p_base,p_after,value */
    snprintf(path, sizeof path, "%s/out/rows.csv", dir);
    char *rows = kop_read_file(path, NULL, NULL);
    int last_ok = 0, ctx_ok = 0, n_ctx = 0;
    for (char *line = rows ? strchr(rows, '\n') : NULL; line && line[1];) {
        line++;
        int k, t;
        double pc, pb, pa;
        char *c = line;
        for (int comma = 0; comma < 3 && c; comma++) c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL;
        if (c && sscanf(c, "%d,%d,%*d,%*d,%*d,%*d,%lf,%lf,%lf", &k, &t, &pc, &pb, &pa) == 5) {
            if (t == T - 1 && k == L - 1) last_ok = fabs(pa - pc) <= 1e-5 && fabs(pc - pb) > 0.01;
            if (t == 0) {
                n_ctx++;
                ctx_ok += fabs(pa - pb) <= 1e-6;
            }
        }
        line = strchr(line, '\n');
    }
    free(rows);
    ok(last_ok, "restoring the last token after the last layer gives back p_clean (and the corruption moved it)");
    ok(n_ctx == L && ctx_ok == L, "restoring the first token (before the subject, not corrupted) changes nothing");

    for (int i = 0; i < MAXT; i++) {
        free(marked[i]);
        free(plain[i]);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
    return done_testing();
}
