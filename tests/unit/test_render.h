/* test_render.h: helpers shared by the renderer's tests.  PNG files are
 * decoded with libpng's simplified API, independently of render_png_read, so
 * a bug in kop's own reader cannot hide one in its writer. */
#ifndef KOP_TEST_RENDER_H
#define KOP_TEST_RENDER_H

#include <dirent.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raster.h"
#include "tap.h"

/* Decode path into an RGB canvas; 0 on success. */
static inline int decode_png(const char *path, Canvas *out)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    out->px = NULL;
    if (!png_image_begin_read_from_file(&img, path)) return -1;
    img.format = PNG_FORMAT_RGB;
    raster_init(out, (int)img.width, (int)img.height, (Rgb){0, 0, 0});
    if (!png_image_finish_read(&img, NULL, out->px, 0, NULL)) {
        raster_free(out);
        return -1;
    }
    return 0;
}

static inline int rgb_is(Rgb c, uint32_t hex)
{
    Rgb w = RGB_HEX(hex);
    return c.r == w.r && c.g == w.g && c.b == w.b;
}

static inline uint32_t rgb_hex(Rgb c) { return ((uint32_t)c.r << 16) | ((uint32_t)c.g << 8) | c.b; }

/* Pixels in [x0, x1) x [y0, y1) darker than light grey: text, lines, marks. */
static inline int count_ink(const Canvas *c, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            Rgb p = raster_get(c, x, y);
            if (p.r + p.g + p.b < 3 * 160) n++;
        }
    return n;
}

/* Pixels of exactly colour hex in a region. */
static inline int count_color(const Canvas *c, int x0, int y0, int x1, int y1, uint32_t hex)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) n += rgb_is(raster_get(c, x, y), hex);
    return n;
}

/* A fresh temporary folder (a static buffer). */
static inline const char *test_tmpdir(void)
{
    static char dir[4096];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/kop-render.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        printf("Bail out! cannot create a temporary folder\n");
        exit(1);
    }
    return dir;
}

/* Number of entries in dir besides . and .. */
static inline int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Remove the files in dir (not recursive) and dir itself. */
static inline void rm_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[8192];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

#endif
