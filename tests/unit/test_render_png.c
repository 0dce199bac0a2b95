/* test_render_png.c: PNG files round-trip exactly, and a failed write --
 * missing folder, a folder in the way, a file-size limit standing in for a
 * full disk -- names the path and leaves the previous file intact and no
 * temporary file behind. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "render.h"
#include "tap.h"
#include "test_render.h"

/* A canvas of noise: incompressible, so its PNG is large. */
static void noise(Canvas *c, int w, int h, unsigned seed)
{
    raster_init(c, w, h, RGB_HEX(0));
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        seed = seed * 1103515245u + 12345u;
        c->px[i] = (uint8_t)(seed >> 16);
    }
}

int main(void)
{
    const char *dir = test_tmpdir();
    char path[4200], bad[4200];
    snprintf(path, sizeof path, "%s/a.png", dir);
    KopError err = {0};

    Canvas c, d, e;
    noise(&c, 37, 23, 1);
    ok(render_png_write(path, &c, &err) == 0, "a PNG is written");
    ok(decode_png(path, &d) == 0, "libpng decodes it");
    ok(d.w == 37 && d.h == 23, "with the canvas's size (%d x %d)", d.w, d.h);
    ok(!memcmp(c.px, d.px, (size_t)37 * 23 * 3), "and exactly its pixels");
    raster_free(&d);
    ok(render_png_read(path, &e, &err) == 0 && e.w == 37 && !memcmp(c.px, e.px, (size_t)37 * 23 * 3),
       "render_png_read gives the same pixels");
    raster_free(&e);
    is_int(dir_entries(dir), 1, "no temporary file is left after a good write");
    struct stat st;
    mode_t um = umask(022);
    umask(um);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~um), "the file gets the usual permissions (%o)",
       (unsigned)(st.st_mode & 0777));

    /* a folder that does not exist */
    snprintf(bad, sizeof bad, "%s/no/such/folder/x.png", dir);
    ok(render_png_write(bad, &c, &err) == -1, "writing into a missing folder fails");
    ok(strstr(err.msg, bad) && strstr(err.msg, "No such file"), "naming the path and the reason: %s", err.msg);
    is_int(err.status, KOP_EXIT_USAGE, "as a system error (exit status 2)");

    /* a folder where the file should go: the rename fails */
    snprintf(bad, sizeof bad, "%s/sub", dir);
    mkdir(bad, 0755);
    ok(render_png_write(bad, &c, &err) == -1 && strstr(err.msg, bad), "a folder in the way is reported: %s", err.msg);
    rmdir(bad);
    is_int(dir_entries(dir), 1, "and its temporary file is removed");

    /* a full disk, simulated with a file-size limit (EFBIG instead of ENOSPC) */
    Canvas big;
    noise(&big, 300, 300, 2);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 20000;
    signal(SIGXFSZ, SIG_IGN);
    int limited = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    int rc = render_png_write(path, &big, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    if (!limited) skip_all("cannot set RLIMIT_FSIZE");
    ok(rc == -1, "a write that runs out of space fails");
    ok(strstr(err.msg, path) && strstr(err.msg, "too large"), "naming the path and the reason: %s", err.msg);
    ok(decode_png(path, &d) == 0 && d.w == 37 && !memcmp(c.px, d.px, (size_t)37 * 23 * 3),
       "the previous file under that name is intact");
    raster_free(&d);
    is_int(dir_entries(dir), 1, "and no truncated temporary file is left");
    char fresh[4200];
    snprintf(fresh, sizeof fresh, "%s/fresh.png", dir);
    setrlimit(RLIMIT_FSIZE, &lim);
    rc = render_png_write(fresh, &big, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    ok(rc == -1 && access(fresh, F_OK) != 0, "a failed new file leaves nothing under its name");
    raster_free(&big);

    /* reading bad files */
    FILE *f = fopen(path, "r+b");
    unsigned char head[60];
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    snprintf(bad, sizeof bad, "%s/truncated.png", dir);
    f = fopen(bad, "wb");
    fwrite(head, 1, got, f);
    fclose(f);
    ok(render_png_read(bad, &e, &err) == -1 && err.status == KOP_EXIT_DATA && strstr(err.msg, bad),
       "a truncated PNG is an error, not a crash: %s", err.msg);
    f = fopen(bad, "wb");
    fputs("experiment,model\n", f);
    fclose(f);
    ok(render_png_read(bad, &e, &err) == -1 && strstr(err.msg, "not a PNG"), "a text file is not a PNG: %s", err.msg);
    raster_free(&c);
    rm_tmpdir(dir);
    return done_testing();
}
