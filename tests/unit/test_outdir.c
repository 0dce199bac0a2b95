/* test_outdir.c: output folders (src/outdir.h) and the UTF-8 and size-cap
 * helpers of src/util.h: the lock between two processes (and between this
 * process and `kop run`), names refused, links not followed, an earlier
 * run's files cleared; valid, escaped and cut UTF-8; capped reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outdir.h"
#include "tap.h"

static char tmp[256];

static char *at(const char *rel)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", tmp, rel);
    return b;
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_utf8(void)
{
    ok(kop_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14), "valid: 2-, 3- and 4-byte characters");
    ok(!kop_utf8_valid("caf\xff", 4), "invalid: a 0xFF byte");
    ok(!kop_utf8_valid("\xc0\xaf", 2), "invalid: an overlong '/'");
    ok(!kop_utf8_valid("\xed\xa0\x80", 3), "invalid: a surrogate");
    ok(!kop_utf8_valid("\xf4\x90\x80\x80", 4), "invalid: past U+10FFFF");
    ok(!kop_utf8_valid("\xc3", 1), "invalid: a character cut short");
    char *e = kop_utf8_escape("a\xff\xc3\xa9\xc3", 5);
    ok(!strcmp(e, "a\\xFF\xc3\xa9\\xC3"), "escape: bad bytes as \\xNN, good characters kept (%s)", e);
    ok(kop_utf8_valid(e, strlen(e)), "escape: the result is valid UTF-8");
    free(e);
    const char *s = "a\xd1\x8f\xd1\x8f"; /* a, then two 2-byte characters */
    ok(kop_utf8_prefix(s, 5, 2) == 1, "prefix: a cut inside a character goes back to its start");
    ok(kop_utf8_prefix(s, 5, 3) == 3, "prefix: a cut between characters stays");
    ok(kop_utf8_prefix(s, 5, 9) == 5, "prefix: a short text is whole");
    ok(kop_utf8_prefix("\xf0\x9f\x98\x80", 4, 3) == 0, "prefix: a 4-byte character cut after 3 bytes goes");
    KopError err = {0};
    char big[1100];
    memset(big, 'x', sizeof big);
    memcpy(big + 1022, "\xd1\x8f\xd1\x8f", 4);
    big[1099] = '\0';
    kop_fail(&err, 1, "%s", big);
    ok(kop_utf8_valid(err.msg, strlen(err.msg)) && strlen(err.msg) == 1022, "an error message cut short keeps whole characters (%zu bytes)",
       strlen(err.msg));
}

static void test_read_caps(void)
{
    KopError err = {0};
    size_t len;
    char *t = kop_read_file_max("/dev/zero", 1000, "a recipe", &len, &err);
    ok(!t && err.status == KOP_EXIT_DATA && strstr(err.msg, "/dev/zero: larger than 1000 bytes, the most kop reads for a recipe"),
       "a device is read up to the cap only: %s", err.msg);
    FILE *f = fopen(at("big"), "w");
    for (int i = 0; i < 3000; i++) fputc('a', f);
    fclose(f);
    err = (KopError){0};
    t = kop_read_file_max(at("big"), 2048, "a pipeline", &len, &err);
    ok(!t && strstr(err.msg, "larger than 2 KiB"), "a regular file over the cap: %s", err.msg);
    t = kop_read_file_max(at("big"), 3000, "a pipeline", &len, &err);
    ok(t && len == 3000, "a file of exactly the cap is read");
    free(t);
}

static void test_names(void)
{
    const char *bad[] = {"", "/abs.csv", "../x.csv", "a/../../x", ".", "./x.csv", "sub/", "a//b", "rows.csv",
                         "summary.csv", "manifest.yaml", "clean.csv", "prompts.csv", ".lock", "x.png.tmp", "x.tmp12-3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(outdir_name_problem(bad[i]) != NULL, "'%s' is refused as an output name", bad[i]);
    const char *good[] = {"h.png", "fig/h.png", "a.tmp.png", "sub/rows.csv", "..x.csv", "x.tmpl"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ok(outdir_name_problem(good[i]) == NULL, "'%s' is a fine output name", good[i]);
    ok(!kop_folder_name_ok("..") && !kop_folder_name_ok("") && !kop_folder_name_ok("a/b") && kop_folder_name_ok("m-1"),
       "folder names: '..', '' and 'a/b' refused, 'm-1' fine");
}

static void test_links(void)
{
    KopError err = {0};
    mkdir(at("out"), 0777);
    mkdir(at("elsewhere"), 0777);
    symlink(at("elsewhere"), at("out/sub"));
    char *p = outdir_file(at("out"), "sub/x.csv", &err);
    ok(!p && err.status == KOP_EXIT_DATA && strstr(err.msg, "sub is a symbolic link"), "a linked subfolder is refused: %s",
       err.msg);
    free(p);
    p = outdir_file(at("out"), "deep/er/x.csv", &err);
    struct stat st;
    ok(p && stat(at("out/deep/er"), &st) == 0 && S_ISDIR(st.st_mode), "subfolders are made");
    free(p);
    touch(at("elsewhere/target"));
    symlink(at("elsewhere/target"), at("out/rows.csv"));
    err = (KopError){0};
    FILE *f = outdir_create(at("out"), "rows.csv", &err);
    ok(!f && strstr(err.msg, "is a symbolic link"), "rows.csv as a link is not written through: %s", err.msg);
    if (f) fclose(f);
}

static void test_stale(void)
{
    KopError err = {0};
    OutDir o;
    mkdir(at("st"), 0777);
    ok(outdir_open(&o, at("st"), "test", &err) == 0, "open an empty folder");
    char *p = outdir_file(at("st"), "fig/a.png", &err);
    touch(p);
    free(p);
    touch(at("st/summary.csv"));
    touch(at("st/summary.csv.tmp"));
    touch(at("st/fig/a.png.tmp99-1"));
    touch(at("st/mine.png"));
    outdir_release(&o);
    ok(outdir_open(&o, at("st"), "test", &err) == 0, "open it again");
    ok(exists(at("st/fig/a.png")) && exists(at("st/summary.csv")), "opening clears nothing (a complete run may have nothing to do)");
    outdir_clear(&o);
    ok(!exists(at("st/fig/a.png")) && !exists(at("st/summary.csv")) && !exists(at("st/summary.csv.tmp")) &&
           !exists(at("st/fig/a.png.tmp99-1")),
       "the earlier run's outputs, summary and temporaries are gone");
    ok(exists(at("st/mine.png")), "a file kop did not write is kept");
    outdir_release(&o);
}

static void test_lock(void)
{
    KopError err = {0};
    OutDir o;
    ok(outdir_open(&o, at("lk"), "kop run first.kop --model m", &err) == 0, "the first run takes the lock");
    pid_t child = fork();
    if (child == 0) {
        OutDir o2;
        KopError e2 = {0};
        char want[64];
        snprintf(want, sizeof want, "pid %ld on ", (long)getppid());
        int rc = outdir_open(&o2, at("lk"), "second", &e2);
        _exit(rc < 0 && e2.status == KOP_EXIT_USAGE && strstr(e2.msg, want) && strstr(e2.msg, "kop run first.kop") &&
                      strstr(e2.msg, "started ")
                  ? 0
                  : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a second process is refused, naming the first (pid, host, start, command)");

    const char *kop = getenv("KOP"), *shared = getenv("KOP_SHARED");
    char model[512], cmd[2048];
    snprintf(model, sizeof model, "%s/reference/mamba1-tiny", shared ? shared : "");
    if (kop && shared && access(model, R_OK) == 0) {
        FILE *f = fopen(at("r.kop"), "w");
        fputs("prompt ids [1, 2, 3] subject [0..0]\nblock subject -> last in layer 0\n", f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "'%s' run '%s' --model '%s' --out '%s' --quiet 2>'%s'", kop, at("r.kop"), model, at("lk"),
                 at("err"));
        int rc = system(cmd);
        char msg[2048] = "";
        f = fopen(at("err"), "r");
        if (f) {
            size_t n = fread(msg, 1, sizeof msg - 1, f);
            msg[n] = '\0';
            fclose(f);
        }
        ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 2 && strstr(msg, "is in use by another kop run"),
           "kop run into a locked folder exits 2: %s", msg);
        ok(!exists(at("lk/rows.csv")), "and writes nothing there");
        outdir_release(&o);
        rc = system(cmd);
        ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "once released, the run goes ahead");
    } else {
        outdir_release(&o);
        ok(1, "# SKIP no kop binary or reference model");
        ok(1, "# SKIP");
        ok(1, "# SKIP");
    }
    ok(outdir_open(&o, at("lk"), "third", &err) == 0, "a lock left by a finished process is free");
    outdir_release(&o);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s/kop-outdir.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_utf8();
    test_read_caps();
    test_names();
    test_links();
    test_stale();
    test_lock();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) diag("could not remove %s", tmp);
    return done_testing();
}
