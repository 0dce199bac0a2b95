/* diag.c: see diag.h. */
#include "diag.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

struct Diag {
    const char *name;
    const char *text;
    int len;
    FILE *out;
    int *line_start; /* byte offset of each line's first byte; built lazily */
    int n_lines;
    int n_errors, n_warnings, n_printed;
};

Diag *diag_new(const char *name, const char *text, size_t len, FILE *out)
{
    Diag *d = kop_xcalloc(1, sizeof *d);
    d->name = name;
    d->text = text;
    /* KopLoc offsets are ints; recipes and pipelines are small files. */
    d->len = len > (size_t)(1 << 30) ? 1 << 30 : (int)len;
    d->out = out;
    return d;
}

void diag_free(Diag *d)
{
    if (!d) return;
    free(d->line_start);
    free(d);
}

int diag_errors(const Diag *d) { return d->n_errors; }
int diag_warnings(const Diag *d) { return d->n_warnings; }

const char *diag_text(const Diag *d, size_t *len)
{
    if (len) *len = (size_t)d->len;
    return d->text;
}

static void build_lines(Diag *d)
{
    if (d->line_start) return;
    int n = 1;
    for (int i = 0; i < d->len; i++)
        if (d->text[i] == '\n') n++;
    d->line_start = kop_xmalloc(sizeof *d->line_start * (size_t)n);
    d->line_start[0] = 0;
    n = 1;
    for (int i = 0; i < d->len; i++)
        if (d->text[i] == '\n') d->line_start[n++] = i + 1;
    d->n_lines = n;
}

/* A UTF-8 continuation byte does not start a new column. */
static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

static int clamp_offset(const Diag *d, int off)
{
    return off < 0 ? 0 : off > d->len ? d->len : off;
}

/* Index of the line holding OFF.  The offset just past a final newline
 * belongs to the line that newline ends, so a report at the end of the file
 * shows the last line rather than an empty one. */
static int line_of(Diag *d, int off)
{
    build_lines(d);
    off = clamp_offset(d, off);
    int lo = 0, hi = d->n_lines - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (d->line_start[mid] <= off) lo = mid;
        else hi = mid - 1;
    }
    if (lo > 0 && off == d->len && d->line_start[lo] == d->len) lo--;
    return lo;
}

static int line_end(const Diag *d, int line)
{
    int e = d->line_start[line];
    while (e < d->len && d->text[e] != '\n') e++;
    return e;
}

void diag_line_col(Diag *d, int offset, int *line, int *col)
{
    int l = line_of(d, offset);
    int off = clamp_offset(d, offset), end = line_end(d, l);
    if (off > end) off = end;
    int c = 1;
    for (int i = d->line_start[l]; i < off; i++)
        if (!is_cont((unsigned char)d->text[i])) c++;
    *line = l + 1;
    *col = c;
}

int diag_line(Diag *d, KopLoc loc) { return line_of(d, loc.start) + 1; }

KopLoc diag_loc_at(Diag *d, int line, int col)
{
    build_lines(d);
    int l = line < 1 ? 0 : line > d->n_lines ? d->n_lines - 1 : line - 1;
    int off = d->line_start[l], end = line_end(d, l);
    for (int c = 1; c < col && off < end; c++) {
        off++;
        while (off < end && is_cont((unsigned char)d->text[off])) off++;
    }
    return (KopLoc){off, off};
}

/* Lines longer than this many characters are shown as a window of
 * DIAG_WINDOW characters around the place, cut at character boundaries and
 * marked with "...": a minified or generated file can have one line of
 * megabytes. */
enum { DIAG_LONG_LINE = 100, DIAG_WINDOW = 80, DIAG_BEFORE = 30 };

/* The byte offset N characters after (n > 0) or before (n < 0) offset i,
 * clamped to [lo, hi]. */
static int step_chars(const Diag *d, int i, int n, int lo, int hi)
{
    for (; n > 0 && i < hi; n--)
        for (i++; i < hi && is_cont((unsigned char)d->text[i]); i++) {}
    for (; n < 0 && i > lo; n++)
        for (i--; i > lo && is_cont((unsigned char)d->text[i]); i--) {}
    return i;
}

/* The source line, then a caret under loc.start and '~' under the rest of
 * the range (clipped to the line).  Tabs are copied into the underline so
 * it stays aligned whatever the tab width. */
static void show_source(Diag *d, KopLoc loc, int line)
{
    int l = line - 1;
    int s = d->line_start[l], e = line_end(d, l);
    int start = clamp_offset(d, loc.start), end = clamp_offset(d, loc.end);
    if (start > e) start = e;
    if (end > e) end = e;
    if (end <= start) end = start + 1; /* a zero-width place still gets its caret */
    int ws = s, we = e; /* the window shown */
    if (step_chars(d, s, DIAG_LONG_LINE, s, e) < e) {
        ws = step_chars(d, start, -DIAG_BEFORE, s, e);
        we = step_chars(d, ws, DIAG_WINDOW, s, e);
        if (end > we) end = we + 1;
    }
    const char *pre = ws > s ? "..." : "", *post = we < e ? "..." : "";
    fprintf(d->out, "%5d | %s", line, pre);
    for (int i = ws; i < we; i++) {
        unsigned char c = (unsigned char)d->text[i];
        fputc(c == '\0' || c == '\r' ? ' ' : c, d->out);
    }
    fprintf(d->out, "%s\n      | %s", post, *pre ? "   " : "");
    for (int i = ws; i < end && i <= e; i++) {
        unsigned char c = i < e ? (unsigned char)d->text[i] : ' ';
        if (is_cont(c)) continue;
        if (i < start) fputc(c == '\t' ? '\t' : ' ', d->out);
        else fputc(i == start ? '^' : '~', d->out);
    }
    fputc('\n', d->out);
}

static void report(Diag *d, const char *kind, KopLoc loc, const char *fmt, va_list ap)
{
    if (!d->out) return;
    if (d->n_printed == DIAG_MAX_PRINTED) {
        fprintf(d->out, "%s: too many errors; the rest are not shown\n", d->name);
        d->n_printed++;
    }
    if (d->n_printed > DIAG_MAX_PRINTED) return;
    d->n_printed++;
    int line, col;
    diag_line_col(d, loc.start, &line, &col);
    /* messages quote names and values from the file: at most a few lines */
    char msg[1024];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n >= (int)sizeof msg) msg[kop_utf8_prefix(msg, sizeof msg, sizeof msg - 4)] = '\0', strcat(msg, "...");
    fprintf(d->out, "%s:%d:%d: %s: %s\n", d->name, line, col, kind, msg);
    show_source(d, loc, line);
}

void diag_error(Diag *d, KopLoc loc, const char *fmt, ...)
{
    va_list ap;
    d->n_errors++;
    va_start(ap, fmt);
    report(d, "error", loc, fmt, ap);
    va_end(ap);
}

void diag_warning(Diag *d, KopLoc loc, const char *fmt, ...)
{
    va_list ap;
    d->n_warnings++;
    va_start(ap, fmt);
    report(d, "warning", loc, fmt, ap);
    va_end(ap);
}

/* Damerau-free Levenshtein distance, capped: names are short keywords. */
static int edit_distance(const char *a, const char *b)
{
    enum { MAXW = 32 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= MAXW || lb >= MAXW) return MAXW;
    int row[MAXW + 1];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *diag_closest(const char *word, const char *const *names, int n)
{
    const char *best = NULL;
    int best_d = 0;
    size_t lw = strlen(word);
    /* Allow about one typo per three letters, at most three.  Any one- or
     * two-letter word is one edit from many others: suggest only a change
     * of case for those ('K' for 'k'). */
    int limit = lw <= 2 ? 0 : lw <= 3 ? 1 : lw <= 6 ? 2 : 3;
    for (int i = 0; i < n; i++) {
        int dist = lw <= 2 ? (strcasecmp(word, names[i]) ? 1 : 0) : edit_distance(word, names[i]);
        if (dist <= limit && (!best || dist < best_d)) {
            best = names[i];
            best_d = dist;
        }
    }
    return best;
}
