/* util.c: see util.h. */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int kop_fail(KopError *err, int status, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = status;
    return -1;
}

int kop_fail_errno(KopError *err, const char *fmt, ...)
{
    int saved = errno;
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(saved));
    err->status = KOP_EXIT_USAGE;
    return -1;
}

void kop_abort_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kop: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *kop_xmalloc(size_t n)
{
    /* Large blocks (weights, activations) start on a cache line: BLIS packs
     * and multiplies them up to 20 % faster than at glibc's 16-byte
     * alignment (bench/README.md). */
    void *p = NULL;
    if (n >= KOP_ALIGN_FROM) {
        if (posix_memalign(&p, KOP_ALIGN, n)) p = NULL;
    } else {
        p = malloc(n ? n : 1);
    }
    if (!p) KOP_ABORT("out of memory allocating %zu bytes", n);
    return p;
}

void *kop_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) KOP_ABORT("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *kop_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) KOP_ABORT("out of memory reallocating %zu bytes", n);
    return q;
}

char *kop_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(kop_xmalloc(n), s, n);
}

char *kop_read_file(const char *path, size_t *len, KopError *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) { kop_fail_errno(err, "%s: cannot open", path); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = kop_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = kop_xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        kop_fail_errno(err, "%s: read error", path);
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

double kop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void kop_tune_malloc(void)
{
#ifdef __GLIBC__
    /* 32 MiB is the largest threshold glibc accepts on 64-bit systems (it
     * ignores larger values); the executor's biggest per-prompt buffer, the
     * knocked logits of a few hundred runs, fits under it */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

FILE *kop_open_tmp(const char *path, char **tmp, KopError *err)
{
    size_t n = strlen(path) + 8;
    *tmp = kop_xmalloc(n);
    snprintf(*tmp, n, "%s.tmp", path);
    FILE *f = fopen(*tmp, "w");
    if (!f) {
        kop_fail_errno(err, "%s: cannot write", *tmp);
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

int kop_commit_tmp(FILE *f, char *tmp, const char *path, KopError *err)
{
    int bad = ferror(f), rc = 0;
    if (fclose(f) != 0 || bad) rc = kop_fail_errno(err, "%s: write failed", path);
    else if (rename(tmp, path) < 0) rc = kop_fail_errno(err, "%s: cannot rename %s", path, tmp);
    if (rc < 0) remove(tmp);
    free(tmp);
    return rc;
}

int kop_write_file(const char *path, const char *buf, size_t len, KopError *err)
{
    char *tmp;
    FILE *f = kop_open_tmp(path, &tmp, err);
    if (!f) return -1;
    fwrite(buf, 1, len, f);
    return kop_commit_tmp(f, tmp, path, err);
}

/* mkdir -p the first n bytes of path. */
static int make_dirs(const char *path, size_t n, KopError *err)
{
    char *p = kop_xmalloc(n + 1);
    memcpy(p, path, n);
    p[n] = '\0';
    for (char *s = p + (n > 0);; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) < 0 && errno != EEXIST) {
                kop_fail_errno(err, "%s: cannot create folder", p);
                free(p);
                return -1;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return 0;
}

int kop_make_dirs(const char *path, KopError *err) { return make_dirs(path, strlen(path), err); }

int kop_make_parent_dirs(const char *path, KopError *err)
{
    const char *slash = strrchr(path, '/');
    return slash && slash != path ? make_dirs(path, (size_t)(slash - path), err) : 0;
}

const char *kop_path_base(const char *path, size_t *len)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    *len = n - b;
    return path + b;
}
