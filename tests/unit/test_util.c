/* test_util.c: util.h's text buffer, path join and atomic writer.  The
 * writer is what every output of kop goes through, so its promises are
 * checked on the file system: the old file stays whole when a write fails,
 * no temporary file is left either way, and errors name the final path. */
#include "util.h"

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void test_buf(void)
{
    KopBuf b = {0};
    char *empty = kop_buf_take(&b);
    ok(empty && !strcmp(empty, ""), "an empty buffer gives \"\"");
    free(empty);

    /* grow across several doublings; the text must be exactly what went in */
    char want[3000];
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        kop_buf_addf(&b, "%d,", i);
        n += (size_t)snprintf(want + n, sizeof want - n, "%d,", i);
    }
    kop_buf_add(&b, "ab\0cd", 2);
    kop_buf_addc(&b, '!');
    memcpy(want + n, "ab!", 4);
    n += 3;
    ok(b.n == n && strlen(b.s) == n && !strcmp(b.s, want), "addf, add and addc append in order (%zu bytes)", b.n);
    char *s = kop_buf_take(&b);
    ok(b.s == NULL && b.n == 0 && b.cap == 0, "take leaves the buffer empty");
    free(s);

    char *f = kop_strf("%s-%03d-%c", "x", 7, 'z');
    ok(!strcmp(f, "x-007-z"), "kop_strf formats: %s", f);
    free(f);
}

static void test_join(void)
{
    static const char *const cases[][3] = {
        {"models/m", "config.json", "models/m/config.json"},
        {"models/m/", "config.json", "models/m/config.json"},
        {"/", "x", "/x"},
        {"", "x", "x"},
        {".", "rows.csv", "./rows.csv"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = kop_path_join(cases[i][0], cases[i][1]);
        ok(!strcmp(s, cases[i][2]), "join('%s', '%s') = '%s'", cases[i][0], cases[i][1], s);
        free(s);
    }
}

static void test_writer(const char *dir)
{
    KopError err = {0};
    char *path = kop_path_join(dir, "out.txt");
    ok(kop_write_file(path, "first\n", 6, &err) == 0, "a file is written");
    size_t len;
    char *text = kop_read_file(path, &len, &err);
    ok(text && len == 6 && !memcmp(text, "first\n", 6), "with its contents");
    free(text);
    ok(kop_write_file(path, "second\n", 7, &err) == 0 && (text = kop_read_file(path, &len, &err)) &&
           len == 7 && !memcmp(text, "second\n", 7),
       "and replaced whole");
    free(text);
    is_int(dir_entries(dir), 1, "no temporary file is left");

    /* a discarded write leaves the old file */
    char *tmp;
    FILE *f = kop_open_tmp(path, &tmp, &err);
    ok(f != NULL, "a temporary file opens beside the target");
    fputs("half", f);
    is_int(dir_entries(dir), 2, "under another name");
    kop_discard_tmp(f, tmp);
    text = kop_read_file(path, &len, &err);
    ok(text && len == 7 && dir_entries(dir) == 1, "discarding it leaves the old file alone");
    free(text);

    char *missing = kop_path_join(dir, "no/such/folder/x.csv");
    ok(kop_write_file(missing, "x", 1, &err) == -1 && err.status == KOP_EXIT_USAGE && strstr(err.msg, missing) &&
           strstr(err.msg, "No such file"),
       "a missing folder is reported with the path and the reason: %s", err.msg);
    free(missing);

    /* a folder under the final name: the rename fails, the temporary goes */
    char *sub = kop_path_join(dir, "sub");
    mkdir(sub, 0755);
    ok(kop_write_file(sub, "x", 1, &err) == -1 && strstr(err.msg, sub), "a folder in the way is reported: %s", err.msg);
    rmdir(sub);
    is_int(dir_entries(dir), 1, "and its temporary file is removed");
    free(sub);

    /* a full disk, simulated with a file-size limit (EFBIG instead of ENOSPC):
     * the data is buffered, so the failure shows at commit time */
    static char big[1 << 16];
    memset(big, 'x', sizeof big);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 20000;
    signal(SIGXFSZ, SIG_IGN);
    int limited = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    int rc = kop_write_file(path, big, sizeof big, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    if (limited) {
        ok(rc == -1 && strstr(err.msg, path) && strstr(err.msg, "too large"),
           "a write that runs out of space fails naming the path: %s", err.msg);
        text = kop_read_file(path, &len, &err);
        ok(text && len == 7 && !memcmp(text, "second\n", 7), "the previous file is intact");
        free(text);
        is_int(dir_entries(dir), 1, "and no truncated temporary file is left");
    }
    unlink(path);
    free(path);
}

int main(void)
{
    test_buf();
    test_join();
    char tmpl[] = "/tmp/kop-util.XXXXXX";
    const char *dir = mkdtemp(tmpl);
    if (!dir) {
        printf("Bail out! cannot create a temporary folder\n");
        return 1;
    }
    test_writer(dir);
    rmdir(dir);
    return done_testing();
}
