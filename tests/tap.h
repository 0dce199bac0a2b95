/* tap.h: a minimal TAP producer for kop's C unit tests (Automake's
 * tap-driver.sh reads it).  A test program calls plan() or no_plan(), then
 * ok()/is_float()/is_int(), then returns done_testing(), which is non-zero when
 * any assertion failed, so a failing test can never exit 0. */
#ifndef KOP_TAP_H
#define KOP_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned = -1;

static inline void plan(int n) { tap_planned = n; printf("1..%d\n", n); }

/* Skip the whole program (e.g. ../shared/reference absent): exit 0, TAP skip. */
static inline void skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);
    exit(0);
}

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
    tap_n++;
    if (!cond) tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

static inline int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vok(cond, fmt, ap);
    va_end(ap);
    return cond;
}

static inline void diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* |got - want| <= tol (NaN never passes). */
static inline int is_float(double got, double want, double tol, const char *fmt, ...)
{
    int cond = fabs(got - want) <= tol;
    va_list ap;
    va_start(ap, fmt);
    tap_vok(cond, fmt, ap);
    va_end(ap);
    if (!cond) diag("  got %.9g, want %.9g (tolerance %g)", got, want, tol);
    return cond;
}

static inline int is_int(long got, long want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vok(got == want, fmt, ap);
    va_end(ap);
    if (got != want) diag("  got %ld, want %ld", got, want);
    return got == want;
}

static inline int is_str(const char *got, const char *want, const char *fmt, ...)
{
    int cond = got && want && !strcmp(got, want);
    va_list ap;
    va_start(ap, fmt);
    tap_vok(cond, fmt, ap);
    va_end(ap);
    if (!cond) diag("  got '%s', want '%s'", got ? got : "(null)", want ? want : "(null)");
    return cond;
}

static inline int done_testing(void)
{
    if (tap_planned < 0) printf("1..%d\n", tap_n);
    else if (tap_planned != tap_n) {
        printf("# planned %d tests but ran %d\n", tap_planned, tap_n);
        return 1;
    }
    if (tap_n == 0) {
        printf("# no assertions ran\n");
        return 1;
    }
    return tap_failed ? 1 : 0;
}

/* The shared folder with reference checkpoints and tokenizers
 * ($KOP_SHARED, set by the test harness).  Skips the whole program when it is
 * absent, as a fresh tarball build outside the project workspace would be. */
static inline const char *shared_dir_or_skip(const char *sub)
{
    static char path[4096];
    const char *root = getenv("KOP_SHARED");
    if (!root || !*root) skip_all("KOP_SHARED not set");
    snprintf(path, sizeof path, "%s/%s", root, sub);
    FILE *f = fopen(path, "r");
    if (!f) {
        static char why[4200];
        snprintf(why, sizeof why, "%s absent", path);
        skip_all(why);
    }
    fclose(f);
    return path;
}

#endif
