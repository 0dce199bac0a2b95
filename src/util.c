/* util.c: see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
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
    /* the pid and a counter keep concurrent writers (threads, processes of
     * a pipeline) apart; O_EXCL catches a stale file of the same name */
    static _Atomic int counter;
    size_t n = strlen(path) + 48;
    *tmp = kop_xmalloc(n);
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(*tmp, n, "%s.tmp%ld-%d", path, (long)getpid(), counter++);
        fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        kop_fail_errno(err, "%s: cannot create", path);
        if (fd >= 0) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

/* fsync the folder PATH is in, so that a rename into it is on disk.  File
 * systems that cannot sync a folder say EINVAL; that is not a failure. */
static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? kop_xmalloc((size_t)(slash - path) + 2) : NULL;
    if (dir) {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    free(dir);
    if (fd < 0) return -1;
    if (fsync(fd) < 0 && errno != EINVAL) rc = -1;
    close(fd);
    return rc;
}

int kop_commit_tmp(FILE *f, char *tmp, const char *path, KopError *err)
{
    int rc = 0;
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) rc = kop_fail_errno(err, "%s: cannot write", path);
    if (fclose(f) != 0 && rc == 0) rc = kop_fail_errno(err, "%s: cannot write", path);
    if (rc == 0 && rename(tmp, path) != 0) rc = kop_fail_errno(err, "%s: cannot rename %s to it", path, tmp);
    if (rc < 0) unlink(tmp);
    else if (sync_parent(path) < 0) rc = kop_fail_errno(err, "%s: cannot sync its folder", path);
    free(tmp);
    return rc;
}

void kop_discard_tmp(FILE *f, char *tmp)
{
    fclose(f);
    unlink(tmp);
    free(tmp);
}

int kop_write_file(const char *path, const char *buf, size_t len, KopError *err)
{
    char *tmp;
    FILE *f = kop_open_tmp(path, &tmp, err);
    if (!f) return -1;
    fwrite(buf, 1, len, f);
    return kop_commit_tmp(f, tmp, path, err);
}

// ---- text ---------------------------------------------------------------------

static void buf_reserve(KopBuf *b, size_t extra)
{
    if (b->s && b->n + extra < b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (b->n + extra >= cap) cap *= 2;
    b->s = kop_xrealloc(b->s, b->cap = cap);
}

void kop_buf_add(KopBuf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

void kop_buf_addc(KopBuf *b, char c) { kop_buf_add(b, &c, 1); }

static void buf_vaddf(KopBuf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    KOP_ASSERT(n >= 0);
    buf_reserve(b, (size_t)n);
    vsnprintf(b->s + b->n, (size_t)n + 1, fmt, again);
    va_end(again);
    b->n += (size_t)n;
}

void kop_buf_addf(KopBuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(b, fmt, ap);
    va_end(ap);
}

char *kop_buf_take(KopBuf *b)
{
    if (!b->s) kop_buf_add(b, "", 0);
    char *s = b->s;
    *b = (KopBuf){0};
    return s;
}

char *kop_strf(const char *fmt, ...)
{
    KopBuf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    return kop_buf_take(&b);
}

char *kop_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int sep = a > 0 && dir[a - 1] != '/';
    char *s = kop_xmalloc(a + (size_t)sep + b + 1);
    memcpy(s, dir, a);
    if (sep) s[a] = '/';
    memcpy(s + a + (size_t)sep, name, b + 1);
    return s;
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
