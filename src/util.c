/* util.c: see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <unistd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* A message cut at the buffer's end keeps whole characters only. */
static void trim_cut(char *buf, size_t size, int n)
{
    if (n >= 0 && (size_t)n >= size) {
        size_t len = strlen(buf);
        buf[kop_utf8_prefix(buf, len + 1, len)] = '\0'; /* "one byte more" than what is left */
    }
}

int kop_fail(KopError *err, int status, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    trim_cut(err->msg, sizeof err->msg, vsnprintf(err->msg, sizeof err->msg, fmt, ap));
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
        n += snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(saved));
    trim_cut(err->msg, sizeof err->msg, n);
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

/* "256 MiB", "8 KiB": a cap in words. */
static void size_words(char *buf, size_t n, size_t bytes)
{
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) snprintf(buf, n, "%zu MiB", bytes >> 20);
    else if (bytes >= 1024 && bytes % 1024 == 0) snprintf(buf, n, "%zu KiB", bytes >> 10);
    else snprintf(buf, n, "%zu bytes", bytes);
}

static char *too_large(const char *path, size_t max, const char *what, FILE *f, char *buf, KopError *err)
{
    char cap[32];
    size_words(cap, sizeof cap, max);
    kop_fail(err, KOP_EXIT_DATA, "%s: larger than %s, the most kop reads for %s; is this the right file?", path, cap,
             what);
    fclose(f);
    free(buf);
    return NULL;
}

char *kop_read_file_max(const char *path, size_t max, const char *what, size_t *len, KopError *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) { kop_fail_errno(err, "%s: cannot open", path); return NULL; }
    struct stat st;
    int have_st = fstat(fileno(f), &st) == 0;
    /* a regular file says its size; devices and pipes are read up to the cap */
    if (have_st && S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max)
        return too_large(path, max, what, f, NULL, err);
    size_t cap = 1 << 16, n = 0;
    char *buf = kop_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = kop_xrealloc(buf, cap = cap * 2 < max + 2 ? cap * 2 : max + 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) return too_large(path, max, what, f, buf, err);
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

char *kop_read_file(const char *path, size_t *len, KopError *err)
{
    return kop_read_file_max(path, KOP_READ_MAX, "an input file", len, err);
}

// ---- UTF-8 ------------------------------------------------------------------

/* The length of the well-formed character at s[0..n), or 0 when the bytes
 * there are not one (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t w;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) w = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        w = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        w = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < w || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < w; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return w;
}

int kop_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t w = utf8_char(u + i, n - i);
        if (!w) return 0;
        i += w;
    }
    return 1;
}

char *kop_utf8_escape(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = kop_xmalloc(4 * n + 1), *q = out;
    for (size_t i = 0; i < n;) {
        size_t w = utf8_char(u + i, n - i);
        if (w) {
            memcpy(q, u + i, w);
            q += w;
            i += w;
        } else {
            q += sprintf(q, "\\x%02X", u[i]);
            i++;
        }
    }
    *q = '\0';
    return out;
}

size_t kop_utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max) return n;
    /* only s[0..max) is looked at: the last character that starts there,
     * dropped when its lead byte says it needs more bytes than are left */
    const unsigned char *u = (const unsigned char *)s;
    size_t pos = max;
    while (pos > 0 && max - pos < 4 && (u[pos - 1] & 0xC0) == 0x80) pos--;
    if (pos == 0 || max - pos >= 4) return max; /* no lead byte near: not UTF-8 here anyway */
    pos--;
    unsigned c = u[pos];
    size_t w = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return pos + w > max ? pos : max;
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
        fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
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

int kop_folder_name_ok(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (; *s; s++)
        if (*s == '/' || (unsigned char)*s < 0x20) return 0;
    return 1;
}

long kop_first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (long)i;
    return -1;
}
