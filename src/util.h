/* util.h: errors, assertions and allocation shared by every part of kop.
 *
 * Three tiers of failure (see doc/STYLE notes in README):
 *  - user and environment errors are returned, never fatal: a function that can
 *    fail takes a KopError *, fills it with one line naming the file, the place
 *    and what was expected, and returns -1 (or NULL).  Only src/main.c turns an
 *    error into a message and an exit status;
 *  - invariants and programmer errors go through KOP_ASSERT / KOP_ABORT, which
 *    print file:line and abort();
 *  - running out of memory is treated as an invariant failure (kop_xmalloc).
 *
 * Exit statuses of the kop command (tests assert them):
 *   0 ok, 1 bad recipe, config, model, tokenizer or data file,
 *   2 usage or system error, 3 internal error. */
#ifndef KOP_UTIL_H
#define KOP_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

enum { KOP_EXIT_OK = 0, KOP_EXIT_DATA = 1, KOP_EXIT_USAGE = 2, KOP_EXIT_INTERNAL = 3 };

typedef struct KopError {
    int status;      /* the exit status this error maps to (KOP_EXIT_*) */
    char msg[1024];  /* one line, no trailing newline */
} KopError;

#if defined(__GNUC__)
#define KOP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KOP_PRINTF(a, b)
#endif

/* Fill err (if not NULL) with status and a formatted message; returns -1 so
 * callers can write `return kop_fail(err, KOP_EXIT_DATA, "...")`. */
int kop_fail(KopError *err, int status, const char *fmt, ...) KOP_PRINTF(3, 4);
/* Like kop_fail with status KOP_EXIT_USAGE and ": strerror(errno)" appended. */
int kop_fail_errno(KopError *err, const char *fmt, ...) KOP_PRINTF(2, 3);

void kop_abort_at(const char *file, int line, const char *fmt, ...) KOP_PRINTF(3, 4);
#define KOP_ABORT(...) kop_abort_at(__FILE__, __LINE__, __VA_ARGS__)
#define KOP_ASSERT(x) \
    do { if (!(x)) kop_abort_at(__FILE__, __LINE__, "assertion failed: %s", #x); } while (0)

/* Allocation that never returns NULL (aborts with a message instead).
 * kop_xmalloc aligns blocks of KOP_ALIGN_FROM bytes or more to KOP_ALIGN. */
enum { KOP_ALIGN = 64, KOP_ALIGN_FROM = 4096 };
void *kop_xmalloc(size_t n);
void *kop_xcalloc(size_t count, size_t size);
void *kop_xrealloc(void *p, size_t n);
char *kop_xstrdup(const char *s);

/* Read a whole file into a NUL-terminated buffer (returned, caller frees);
 * *len gets its length without the NUL.  NULL and err filled on failure.
 * Every input is capped, so that a wrong path (/dev/zero, a FIFO, a huge
 * file) is an error, not a read until memory runs out: kop_read_file at
 * KOP_READ_MAX bytes, kop_read_file_max at MAX, naming the file as WHAT
 * ("recipe", "pipeline") in the message. */
enum { KOP_READ_MAX = 256 << 20, KOP_SPEC_MAX = 8 << 20 };
char *kop_read_file(const char *path, size_t *len, KopError *err);
char *kop_read_file_max(const char *path, size_t max, const char *what, size_t *len, KopError *err);

/* UTF-8 for text that reaches YAML and CSV output.  kop_utf8_valid: is
 * S[0..N) well-formed UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF)?  kop_utf8_escape: a new NUL-terminated copy of S[0..N)
 * that is, each byte outside a well-formed character written as the four
 * characters \xNN (caller frees).  kop_utf8_prefix: the length of the
 * longest prefix of S[0..N) of at most MAX bytes that does not end inside a
 * character, for cutting text short. */
int kop_utf8_valid(const char *s, size_t n);
char *kop_utf8_escape(const char *s, size_t n);
size_t kop_utf8_prefix(const char *s, size_t n, size_t max);

/* Growable text: KopBuf b = {0} is empty; b.s is NUL-terminated once
 * anything was added (NULL before); the owner frees b.s, or takes it with
 * kop_buf_take (never NULL: "" for an empty buffer). */
typedef struct KopBuf {
    char *s;
    size_t n, cap;
} KopBuf;
void kop_buf_add(KopBuf *b, const char *s, size_t n);
void kop_buf_addc(KopBuf *b, char c);
void kop_buf_addf(KopBuf *b, const char *fmt, ...) KOP_PRINTF(2, 3);
char *kop_buf_take(KopBuf *b);
/* A new formatted string (caller frees). */
char *kop_strf(const char *fmt, ...) KOP_PRINTF(1, 2);

/* DIR/NAME as a new string (caller frees); no second '/' when DIR ends with
 * one, and just NAME when DIR is empty. */
char *kop_path_join(const char *dir, const char *name);

/* Write a file whole or not at all; every file kop writes in one piece
 * (summaries, manifests, figures, pipeline outputs) goes through these.
 * kop_open_tmp creates a new file beside PATH (same folder, so the rename
 * stays on one filesystem) and returns its name in *tmp.  kop_commit_tmp
 * flushes it, fsyncs it, closes it (where a full disk may first show),
 * renames it over PATH and fsyncs the folder, so that after a crash PATH is
 * the old file or the whole new one; on any failure it removes the temporary
 * file and fails naming PATH.  kop_discard_tmp drops it unwritten.  Each
 * frees *tmp.  A symbolic link is never written through: the temporary
 * file is created anew (O_EXCL, O_NOFOLLOW) and the rename replaces a link
 * named PATH. */
FILE *kop_open_tmp(const char *path, char **tmp, KopError *err);
int kop_commit_tmp(FILE *f, char *tmp, const char *path, KopError *err);
void kop_discard_tmp(FILE *f, char *tmp);
/* The two in one: LEN bytes of BUF as the whole of PATH.  0, or -1 and err. */
int kop_write_file(const char *path, const char *buf, size_t len, KopError *err);

/* mkdir -p PATH; kop_make_parent_dirs: mkdir -p the folder PATH is in (none
 * when PATH has no folder part).  0, or -1 and err naming the folder. */
int kop_make_dirs(const char *path, KopError *err);
int kop_make_parent_dirs(const char *path, KopError *err);

/* Is S usable as one folder name (a model, experiment or pipeline name
 * that becomes a folder of results/)?  Not empty, not '.' or '..', no '/',
 * no control characters. */
int kop_folder_name_ok(const char *s);

/* The last component of PATH, trailing slashes ignored: where it starts,
 * and its length in *len (not NUL-terminated; 0 for "/" and ""). */
const char *kop_path_base(const char *path, size_t *len);

/* Keep freed blocks in the heap instead of returning each large one to the
 * kernel: the executor allocates and frees per-layer work buffers of a few
 * MB many times per prompt, and fresh pages cost a fault each (glibc only). */
void kop_tune_malloc(void);

/* The index of the first NaN or infinity of x[0..n), or -1 when all are
 * finite: logits are checked before use, since NaN weights or an overflow
 * would otherwise turn into plausible-looking numbers or wrong reasons. */
long kop_first_nonfinite(const float *x, size_t n);

/* Seconds on a monotonic clock. */
double kop_now(void);

#endif
