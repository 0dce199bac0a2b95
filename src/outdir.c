/* outdir.c: see outdir.h. */
#include "config.h"
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The files every run folder holds, whatever its recipe says; an output of
 * one of these names would replace or be replaced by them. */
static const char *const standard_names[] = {
    "rows.csv", "summary.csv", "manifest.yaml", "clean.csv", "prompts.csv", "pipeline.yaml", "journal.txt", ".lock",
    ".kop-outputs",
};
enum { N_STANDARD = sizeof standard_names / sizeof standard_names[0] };
static const char index_name[] = ".kop-outputs";

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = kop_xmalloc(n);
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

// ---- names ----------------------------------------------------------------------

/* A temporary name as util.h and render_png.c make them: ends in ".tmp",
 * or ".tmp" then digits, '-' and digits. */
static int is_temporary(const char *c, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        if (memcmp(c + i, ".tmp", 4)) continue;
        size_t j = i + 4;
        while (j < n && ((c[j] >= '0' && c[j] <= '9') || c[j] == '-')) j++;
        if (j == n) return 1;
    }
    return 0;
}

const char *outdir_name_problem(const char *rel)
{
    size_t n = strlen(rel);
    if (!n) return "is empty";
    if (rel[0] == '/') return "is an absolute path: outputs are written inside the run's output folder";
    if (!strcmp(rel, ".")) return "is the output folder itself, not a file in it";
    if (rel[n - 1] == '/') return "ends in '/': it names a folder, not a file";
    for (const char *c = rel; *c;) {
        size_t k = strcspn(c, "/");
        if (k == 0) return "has an empty folder name ('//')";
        if (k == 1 && c[0] == '.') return "has a '.' component: write the path without it";
        if (k == 2 && c[0] == '.' && c[1] == '.')
            return "has a '..' component: outputs are written inside the run's output folder";
        if (is_temporary(c, k)) return "ends like a temporary file (.tmp): kop removes those";
        c += k;
        if (*c) c++;
    }
    for (int i = 0; i < N_STANDARD; i++)
        if (!strcmp(rel, standard_names[i])) {
            static char msg[N_STANDARD][96];
            snprintf(msg[i], sizeof msg[i], "is the run's own %s: choose another name", standard_names[i]);
            return msg[i];
        }
    return NULL;
}

// ---- paths inside the folder -----------------------------------------------------

/* Is the resolved path of folder SUB inside the resolved DIR? */
static int resolved_inside(const char *dir, const char *sub)
{
    char *a = realpath(dir, NULL), *b = realpath(sub, NULL);
    int ok = a && b && !strncmp(a, b, strlen(a)) && (b[strlen(a)] == '/' || b[strlen(a)] == '\0');
    free(a);
    free(b);
    return ok;
}

/* Walk the folders of REL (all but its last component) below DIR: each is a
 * real folder, made when MAKE and absent.  0; 1 when one is absent (and not
 * MAKE); -1 and err. */
static int walk_folders(const char *dir, const char *rel, int make, KopError *err)
{
    size_t dl = strlen(dir);
    char *p = kop_xmalloc(dl + strlen(rel) + 2);
    memcpy(p, dir, dl);
    p[dl] = '/';
    int rc = 0;
    for (const char *c = rel, *slash; rc == 0 && (slash = strchr(c, '/')); c = slash + 1) {
        size_t end = dl + 1 + (size_t)(slash - rel);
        memcpy(p + dl + 1, rel, (size_t)(slash - rel));
        p[end] = '\0';
        struct stat st;
        if (lstat(p, &st) < 0) {
            if (errno != ENOENT) rc = kop_fail_errno(err, "%s: cannot look at this folder", p);
            else if (!make) rc = 1;
            else if (mkdir(p, 0777) < 0 && errno != EEXIST) rc = kop_fail_errno(err, "%s: cannot create folder", p);
        } else if (S_ISLNK(st.st_mode)) {
            rc = kop_fail(err, KOP_EXIT_DATA,
                          "%s is a symbolic link: kop writes only inside the output folder %s and follows no link there",
                          p, dir);
        } else if (!S_ISDIR(st.st_mode)) {
            rc = kop_fail(err, KOP_EXIT_DATA, "%s is not a folder, but output '%s' goes inside it", p, rel);
        }
        if (rc == 0 && !resolved_inside(dir, p))
            rc = kop_fail(err, KOP_EXIT_DATA, "%s lies outside the output folder %s", p, dir);
    }
    free(p);
    return rc;
}

FILE *outdir_create(const char *dir, const char *name, KopError *err)
{
    char *path = join(dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        if (errno == ELOOP)
            kop_fail(err, KOP_EXIT_DATA, "%s is a symbolic link: kop does not write through links", path);
        else
            kop_fail_errno(err, "%s: cannot write", path);
        if (fd >= 0) close(fd);
    }
    free(path);
    return f;
}

/* Append REL to the folder's record of outputs. */
static int record_output(const char *dir, const char *rel, KopError *err)
{
    char *path = join(dir, index_name);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0666);
    int rc = 0;
    if (fd < 0) {
        rc = kop_fail_errno(err, "%s: cannot write", path);
    } else {
        size_t n = strlen(rel);
        char *line = kop_xmalloc(n + 2);
        memcpy(line, rel, n);
        line[n] = '\n';
        if (write(fd, line, n + 1) != (ssize_t)(n + 1)) rc = kop_fail_errno(err, "%s: cannot write", path);
        free(line);
        close(fd);
    }
    free(path);
    return rc;
}

char *outdir_file(const char *dir, const char *rel, KopError *err)
{
    const char *why = outdir_name_problem(rel);
    if (why) {
        kop_fail(err, KOP_EXIT_DATA, "output '%s' %s", rel, why);
        return NULL;
    }
    if (walk_folders(dir, rel, 1, err) < 0 || record_output(dir, rel, err) < 0) return NULL;
    char *path = join(dir, rel);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        kop_fail(err, KOP_EXIT_DATA, "output '%s': %s is a folder", rel, path);
        free(path);
        return NULL;
    }
    return path;
}

// ---- clearing an earlier run's files -----------------------------------------------

/* Remove the temporary files of REL (REL.tmp, REL.tmpPID-N) in its folder. */
static void remove_temporaries(const char *dir, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    char *sub = NULL;
    if (slash) {
        size_t n = strlen(dir) + (size_t)(slash - rel) + 2;
        sub = kop_xmalloc(n);
        snprintf(sub, n, "%s/%.*s", dir, (int)(slash - rel), rel);
    }
    const char *folder = sub ? sub : dir, *base = slash ? slash + 1 : rel;
    size_t bl = strlen(base);
    DIR *d = opendir(folder);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n >= bl + 4 && !strncmp(e->d_name, base, bl) && !strncmp(e->d_name + bl, ".tmp", 4) &&
            is_temporary(e->d_name + bl, n - bl)) {
            char *p = join(folder, e->d_name);
            unlink(p);
            free(p);
        }
    }
    if (d) closedir(d);
    free(sub);
}

/* Remove output REL of an earlier run (a file, or a link: never what a link
 * points to) and its temporaries; a name that is not an output's, or a path
 * through a link or an absent folder, is left alone. */
static void remove_output(const char *dir, const char *rel)
{
    if (outdir_name_problem(rel) && strcmp(rel, "summary.csv")) return;
    if (walk_folders(dir, rel, 0, NULL) != 0) return;
    char *p = join(dir, rel);
    struct stat st;
    if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode)) unlink(p);
    free(p);
    remove_temporaries(dir, rel);
}

static void clear_stale(const char *dir)
{
    char *path = join(dir, index_name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        FILE *f = fdopen(fd, "r");
        char line[PATH_MAX + 2];
        while (f && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            remove_output(dir, line);
        }
        if (f) fclose(f);
        else close(fd);
    }
    unlink(path); /* a new record starts with this run */
    free(path);
    remove_output(dir, "summary.csv");
    remove_temporaries(dir, "rows.csv");
    remove_temporaries(dir, "manifest.yaml");
    remove_temporaries(dir, "clean.csv");
    remove_temporaries(dir, "pipeline.yaml");
}

// ---- the lock ----------------------------------------------------------------------

/* One line of the lock file's text ("pid 12"), or "?" */
static void lock_field(const char *text, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    snprintf(out, n, "?");
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, key, kl) && l[kl] == ' ') {
            size_t len = strcspn(l + kl + 1, "\n");
            snprintf(out, n, "%.*s", (int)kop_utf8_prefix(l + kl + 1, len, 200), l + kl + 1);
            return;
        }
}

static int locked_by_other(const char *path, int fd, KopError *err)
{
    char text[2048];
    ssize_t got = pread(fd, text, sizeof text - 1, 0);
    text[got > 0 ? got : 0] = '\0';
    char pid[32], host[256], started[64], cmd[1024];
    lock_field(text, "pid", pid, sizeof pid);
    lock_field(text, "host", host, sizeof host);
    lock_field(text, "started", started, sizeof started);
    lock_field(text, "command", cmd, sizeof cmd);
    return kop_fail(err, KOP_EXIT_USAGE,
                    "%s is in use by another kop run (pid %s on %s, started %s: %s); "
                    "wait for it to finish or choose another output folder",
                    path, pid, host, started, cmd);
}

static int take_lock(OutDir *o, const char *run_label, KopError *err)
{
    char *path = join(o->path, ".lock");
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        int rc = errno == ELOOP ? kop_fail(err, KOP_EXIT_DATA, "%s is a symbolic link: kop does not write through links", path)
                                : kop_fail_errno(err, "%s: cannot create the lock file", path);
        free(path);
        return rc;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        int rc = errno == EACCES || errno == EAGAIN ? locked_by_other(o->path, fd, err)
                                                    : kop_fail_errno(err, "%s: cannot lock", path);
        close(fd);
        free(path);
        return rc;
    }
    char host[256] = "?", started[32];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char text[2048];
    int n = snprintf(text, sizeof text, "pid %ld\nhost %s\nstarted %s\ncommand %s\n", (long)getpid(), host, started,
                     run_label ? run_label : "kop");
    if (n >= (int)sizeof text) n = (int)sizeof text - 1;
    /* the text is a courtesy for the message above; the lock is what counts */
    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) < 0) { /* a full disk: still locked */ }
    o->lock_fd = fd;
    free(path);
    return 0;
}

int outdir_open(OutDir *o, const char *path, const char *run_label, KopError *err)
{
    o->path = kop_xstrdup(path);
    o->lock_fd = -1;
    struct stat st;
    if (kop_make_dirs(path, err) < 0 || take_lock(o, run_label, err) < 0) {
        outdir_release(o);
        return -1;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        kop_fail(err, KOP_EXIT_USAGE, "%s: not a folder", path);
        outdir_release(o);
        return -1;
    }
    return 0;
}

void outdir_clear(OutDir *o)
{
    clear_stale(o->path);
}

void outdir_release(OutDir *o)
{
    if (o->lock_fd >= 0) close(o->lock_fd); /* closing releases the lock */
    o->lock_fd = -1;
    free(o->path);
    o->path = NULL;
}
