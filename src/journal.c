/* journal.c: see journal.h. */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------
// text fields: "=" then the bytes, with space, controls, '%' and DEL as %XX

static void put_text(FILE *f, const char *s)
{
    fputc('=', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == '%' || c == 0x7f) fprintf(f, "%%%02X", c);
        else fputc(c, f);
    }
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* the field at *p (up to a space or the end), decoded; NULL if malformed */
static char *get_text(char **p)
{
    char *s = *p;
    if (*s != '=') return NULL;
    s++;
    size_t n = strcspn(s, " ");
    char *out = kop_xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int a = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1, b = a >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
            if (a < 0 || b < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(a * 16 + b);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *p = s + n + (s[n] == ' ');
    return out;
}

// ---------------------------------------------------------------------------
// writing

FILE *journal_create(const char *path, const JournalHead *h, KopError *err)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        kop_fail_errno(err, "%s: cannot write", path);
        return NULL;
    }
    journal_head(f, h);
    return f;
}

void journal_head(FILE *f, const JournalHead *h)
{
    fprintf(f, "kop-journal 3\nkey %s\nshard %d %d\n", h->key, h->shard, h->n_shards);
    const char *names[] = {"recipe_path", "recipe_text", "model_dir", "model_name", "arch", "experiment"};
    const char *values[] = {h->recipe_path, h->recipe_text, h->model_dir, h->model_name, h->arch, h->experiment};
    for (int i = 0; i < 6; i++) {
        fprintf(f, "run %s ", names[i]);
        put_text(f, values[i]);
        fputc('\n', f);
    }
    fprintf(f, "run n_layer =%d\n", h->n_layer);
    fflush(f);
}

void journal_prompt(FILE *f, const PromptResult *p, long rows_bytes)
{
    fprintf(f, "P %d %d %d %d %d %a %a %d %d %d %d %a %d ", p->index, p->mine, p->used, p->T, p->target, p->p_clean,
            p->p_base, p->n_m, p->clean, p->top1, p->answer, p->p_answer, p->rank_answer);
    put_text(f, p->used ? "" : p->reason);
    fputc('\n', f);
    for (int k = 0; k < p->n_m; k++)
        fprintf(f, "M %d %d %d %a %a\n", p->m[k].item, p->m[k].t, p->m[k].metric, p->m[k].p_after, p->m[k].value);
    fprintf(f, "E %d %ld\n", p->index, rows_bytes);
}

void journal_labels(FILE *f, char *const *labels, int n)
{
    for (int i = 0; i < n; i++) {
        fputs("L ", f);
        put_text(f, labels[i]);
        fputc('\n', f);
    }
}

void journal_complete(FILE *f)
{
    fputs("C\n", f);
    fflush(f);
}

// ---------------------------------------------------------------------------
// reading

void journal_head_free(JournalHead *h)
{
    free(h->recipe_path); free(h->recipe_text); free(h->model_dir); free(h->model_name); free(h->arch);
    free(h->experiment);
    memset(h, 0, sizeof *h);
}

static int head_field(JournalHead *h, char *line)
{
    char *p = line;
    size_t n = strcspn(p, " ");
    if (!p[n]) return -1;
    p[n] = '\0';
    char *name = p;
    p += n + 1;
    if (!strcmp(name, "n_layer")) return sscanf(p, "=%d", &h->n_layer) == 1 ? 0 : -1;
    char **slot = !strcmp(name, "recipe_path") ? &h->recipe_path : !strcmp(name, "recipe_text") ? &h->recipe_text
                  : !strcmp(name, "model_dir")  ? &h->model_dir   : !strcmp(name, "model_name")  ? &h->model_name
                  : !strcmp(name, "arch")       ? &h->arch        : !strcmp(name, "experiment")  ? &h->experiment
                                                                                                : NULL;
    if (!slot) return 0; /* a field of a later version */
    free(*slot);
    return (*slot = get_text(&p)) ? 0 : -1;
}

/* Prompts read but not yet taken: the rest of their group. */
typedef struct Pending {
    PromptResult *v;
    int n, cap;
} Pending;

static void commit(Pending *pd, Results *res)
{
    for (int i = 0; i < pd->n; i++) results_add(res, &pd->v[i]);
    pd->n = 0;
}

int journal_read(const char *path, int group, JournalHead *h, Results *res, long *rows_bytes, long *journal_bytes,
                 int *complete, KopError *err)
{
    memset(h, 0, sizeof *h);
    *rows_bytes = 0;
    *complete = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        return kop_fail_errno(err, "%s: cannot read", path);
    }
    int rc = journal_read_stream(f, path, group, h, res, rows_bytes, journal_bytes, complete, err);
    fclose(f);
    return rc;
}

int journal_read_text(const char *text, size_t len, const char *name, JournalHead *h, Results *res, KopError *err)
{
    long rows_bytes, journal_bytes;
    int complete;
    memset(h, 0, sizeof *h);
    FILE *f = len ? fmemopen((void *)text, len, "r") : NULL;
    if (!f) return kop_fail(err, KOP_EXIT_INTERNAL, "%s: empty or unreadable journal text", name);
    int rc = journal_read_stream(f, name, 1, h, res, &rows_bytes, &journal_bytes, &complete, err);
    fclose(f);
    if (rc > 0 && !complete) return kop_fail(err, KOP_EXIT_INTERNAL, "%s: the journal text is cut short", name);
    return rc;
}

int journal_read_stream(FILE *f, const char *path, int group, JournalHead *h, Results *res, long *rows_bytes,
                        long *journal_bytes, int *complete, KopError *err)
{
    memset(h, 0, sizeof *h);
    *rows_bytes = 0;
    *complete = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, bad = 0, have_key = 0;
    PromptResult cur = {0};
    int in_prompt = 0, want_m = 0, cap_m = 0;
    Pending pd = {0};
    *journal_bytes = 0;
    while (!bad && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len == 0 || line[len - 1] != '\n') break; /* a line cut by a kill: what follows is not there */
        line[len - 1] = '\0';
        if (lineno == 1) {
            bad = strcmp(line, "kop-journal 3") != 0;
        } else if (!strncmp(line, "key ", 4)) {
            bad = strlen(line + 4) != 64;
            if (!bad) memcpy(h->key, line + 4, 65);
            have_key = 1;
        } else if (!strncmp(line, "shard ", 6)) {
            bad = sscanf(line + 6, "%d %d", &h->shard, &h->n_shards) != 2;
        } else if (!strncmp(line, "run ", 4)) {
            bad = head_field(h, line + 4) < 0;
        } else if (line[0] == 'P' && line[1] == ' ') {
            int used, mine, n;
            char *p = line + 2;
            int off = 0;
            free(cur.m);
            memset(&cur, 0, sizeof cur);
            cap_m = 0;
            if (sscanf(p, "%d %d %d %d %d %la %la %d %d %d %d %la %d %n", &cur.index, &mine, &used, &cur.T, &cur.target,
                       &cur.p_clean, &cur.p_base, &n, &cur.clean, &cur.top1, &cur.answer, &cur.p_answer,
                       &cur.rank_answer, &off) < 13 ||
                n < 0) {
                bad = 1;
                break;
            }
            p += off;
            char *reason = get_text(&p);
            if (!reason) {
                bad = 1;
                break;
            }
            snprintf(cur.reason, sizeof cur.reason, "%s", reason);
            free(reason);
            cur.mine = mine;
            cur.used = used;
            want_m = n;
            cur.m = kop_xmalloc(sizeof *cur.m * (size_t)(n ? n : 1));
            cap_m = n;
            in_prompt = 1;
        } else if (line[0] == 'M' && line[1] == ' ') {
            Measure m;
            if (!in_prompt || cur.n_m >= cap_m || sscanf(line + 2, "%d %d %d %la %la", &m.item, &m.t, &m.metric, &m.p_after, &m.value) != 5 ||
                m.metric < 0 || (res->recipe && m.metric >= res->recipe->n_metrics)) {
                bad = 1;
                break;
            }
            cur.m[cur.n_m++] = m;
        } else if (line[0] == 'E' && line[1] == ' ') {
            int index;
            long bytes;
            if (!in_prompt || sscanf(line + 2, "%d %ld", &index, &bytes) != 2 || index != cur.index || cur.n_m != want_m) {
                bad = 1;
                break;
            }
            if (pd.n == pd.cap) pd.v = kop_xrealloc(pd.v, sizeof *pd.v * (size_t)(pd.cap = 2 * pd.cap + 8));
            pd.v[pd.n++] = cur; /* takes cur.m */
            memset(&cur, 0, sizeof cur);
            in_prompt = 0;
            if ((index + 1) % group == 0) { /* a whole group: kept */
                commit(&pd, res);
                *rows_bytes = bytes;
                *journal_bytes = ftell(f);
            }
        } else if (line[0] == 'L' && line[1] == ' ') {
            char *p = line + 2, *label = get_text(&p);
            if (!label) {
                bad = 1;
                break;
            }
            res->t_labels = kop_xrealloc(res->t_labels, sizeof *res->t_labels * (size_t)(res->n_t_labels + 1));
            res->t_labels[res->n_t_labels++] = label;
        } else if (!strcmp(line, "C")) {
            commit(&pd, res);
            *complete = 1;
        } else {
            bad = 1;
        }
    }
    free(cur.m);
    for (int i = 0; i < pd.n; i++) free(pd.v[i].m);
    free(pd.v);
    free(line);
    if (bad || !have_key) {
        journal_head_free(h);
        return kop_fail(err, KOP_EXIT_DATA, "%s:%d: not a kop journal line (the file is damaged; run again with --restart)",
                        path, lineno);
    }
    return 1;
}
