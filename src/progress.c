/* progress.c: see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "util.h"

static void fmt_time(char *buf, size_t n, double s)
{
    if (s < 0 || s != s) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

void progress_start(Progress *p, const char *what, long total, int quiet)
{
    *p = (Progress){.what = what, .total = total, .quiet = quiet, .last_decile = 0};
    p->tty = isatty(2);
    p->t0 = p->last_draw = kop_now();
}

void progress_update(Progress *p, long done)
{
    p->done = done;
    if (p->quiet || p->total <= 0) return;
    double now = kop_now(), el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32], elapsed[32];
    fmt_time(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : -1);
    fmt_time(elapsed, sizeof elapsed, el);
    if (p->tty) {
        if (now - p->last_draw < 0.1 && done < p->total) return;
        p->last_draw = now;
        char bar[31];
        int fill = (int)(30 * done / p->total);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r[%s] %ld/%ld %s  %.2f/s  ETA %s ", bar, done, p->total, p->what, rate, eta);
        fflush(stderr);
    } else {
        int decile = (int)(10 * done / p->total);
        if (decile > p->last_decile) {
            p->last_decile = decile;
            fprintf(stderr, "kop: %3d%% %ld/%ld %s, %.2f/s, %s elapsed, ETA %s\n", decile * 10, done, p->total,
                    p->what, rate, elapsed, eta);
        }
    }
}

void progress_end(Progress *p)
{
    if (!p->quiet && p->tty && p->total > 0) fputc('\n', stderr);
}
