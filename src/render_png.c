/* render_png.c: PNG files with libpng (see render.h).
 *
 * Writing goes through util.h's atomic writer (a temporary file beside PATH,
 * fsync, rename, fsync of the folder).  Every failure on the way -- libpng's,
 * a short write, fclose reporting a delayed ENOSPC -- removes the temporary
 * file and names the final path with strerror. */
#include "config.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "render.h"

/* What libpng's callbacks report back across the longjmp. */
typedef struct PngIo {
    FILE *f;
    int saved_errno; /* errno of the failed I/O call, 0 for a libpng-only error */
    char msg[256];
} PngIo;

static void on_png_error(png_structp png, png_const_charp msg)
{
    PngIo *io = png_get_error_ptr(png);
    snprintf(io->msg, sizeof io->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void on_png_write(png_structp png, png_bytep data, size_t n)
{
    PngIo *io = png_get_io_ptr(png);
    if (fwrite(data, 1, n, io->f) != n) {
        io->saved_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void on_png_flush(png_structp png)
{
    PngIo *io = png_get_io_ptr(png);
    if (fflush(io->f) != 0) {
        io->saved_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

/* Encode c into io->f.  0, or -1 with io filled. */
static int encode(PngIo *io, const Canvas *c, png_bytep *rows)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, io, on_png_error, on_png_warning);
    if (!png) { snprintf(io->msg, sizeof io->msg, "libpng could not start"); return -1; }
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        return -1;
    }
    png_set_write_fn(png, io, on_png_write, on_png_flush);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

int render_png_write(const char *path, const Canvas *c, KopError *err)
{
    KOP_ASSERT(c->px && c->w > 0 && c->h > 0);
    char *tmp;
    PngIo io = {.f = kop_open_tmp(path, &tmp, err)};
    if (!io.f) return -1;
    png_bytep *rows = kop_xmalloc(sizeof *rows * (size_t)c->h);
    for (int y = 0; y < c->h; y++) rows[y] = c->px + (size_t)y * (size_t)c->w * 3;
    int rc = encode(&io, c, rows);
    free(rows);
    if (rc == 0) return kop_commit_tmp(io.f, tmp, path, err);
    kop_discard_tmp(io.f, tmp);
    if (io.saved_errno)
        return kop_fail(err, KOP_EXIT_USAGE, "%s: cannot write PNG: %s", path, strerror(io.saved_errno));
    return kop_fail(err, KOP_EXIT_USAGE, "%s: cannot write PNG: %s", path, io.msg);
}

// ---- reading ------------------------------------------------------------------

int render_png_read(const char *path, Canvas *out, KopError *err)
{
    out->px = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return kop_fail_errno(err, "%s: cannot open", path);
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return kop_fail(err, KOP_EXIT_DATA, "%s: not a PNG file (bad signature)", path);
    }
    PngIo io = {.f = f};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
        free(rows);
        if (out->px) raster_free(out);
        fclose(f);
        return kop_fail(err, KOP_EXIT_DATA, "%s: bad PNG: %s", path, io.msg[0] ? io.msg : "libpng could not start");
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, 1 << 15, 1 << 15);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_read_update_info(png, info);
    int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected row size after conversion to RGB");
    raster_init(out, w, h, (Rgb){0, 0, 0});
    rows = kop_xmalloc(sizeof *rows * (size_t)h);
    for (int y = 0; y < h; y++) rows[y] = out->px + (size_t)y * (size_t)w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    fclose(f);
    return 0;
}
