/* raster.h: an RGB canvas and the few antialiased primitives kop's figures need.
 *
 * The model is a painter's canvas: an opaque 8-bit sRGB image, row-major,
 * three bytes a pixel, onto which shapes are composited in order with a
 * coverage in [0, 1].  Coordinates are floats in pixel units with the origin at
 * the top-left corner of the top-left pixel, so pixel (x, y) covers
 * [x, x+1) x [y, y+1) and its centre is (x + 0.5, y + 0.5).
 *
 * Antialiasing is analytic rather than supersampled: a stroke's coverage of a
 * pixel is estimated from the distance between the pixel centre and the
 * stroke's centre line (a one-pixel linear ramp at the edge), and a band's
 * from the exact vertical overlap of the pixel with the band.  That keeps the
 * code short and the output deterministic, with no dependency beyond libc.
 *
 * Filled rectangles are drawn on whole pixels with no blending, so a heatmap
 * cell is exactly its colormap colour (the tests rely on that).
 *
 * Ownership: a Canvas owns its pixel buffer; pair raster_init with
 * raster_free.  Drawing outside the canvas is clipped, never an error. */
#ifndef KOP_RASTER_H
#define KOP_RASTER_H

#include <stdint.h>

typedef struct Rgb {
    uint8_t r, g, b;
} Rgb;

#define RGB_HEX(h) ((Rgb){(uint8_t)(((h) >> 16) & 0xff), (uint8_t)(((h) >> 8) & 0xff), (uint8_t)((h) & 0xff)})

typedef struct Canvas {
    int w, h;
    uint8_t *px; /* (h, w, 3) sRGB */
} Canvas;

/* Allocate a w x h canvas filled with bg (w, h >= 1). */
void raster_init(Canvas *c, int w, int h, Rgb bg);
void raster_free(Canvas *c);

Rgb raster_get(const Canvas *c, int x, int y);
/* Composite colour over pixel (x, y) with coverage alpha in [0, 1]. */
void raster_blend(Canvas *c, int x, int y, Rgb col, float alpha);

/* Opaque rectangle over pixels [x0, x1) x [y0, y1). */
void raster_fill_rect(Canvas *c, int x0, int y0, int x1, int y1, Rgb col);
/* One-pixel outline just inside [x0, x1) x [y0, y1). */
void raster_rect_outline(Canvas *c, int x0, int y0, int x1, int y1, Rgb col);

/* A stroked polyline through n points (n >= 2), width in pixels, round joins
 * and caps.  dash_on > 0 draws a dash pattern (dash_on on, dash_off off)
 * measured along the line; dash_on == 0 draws it solid.  Each pixel is
 * composited once, so joins are not darker than the line. */
void raster_polyline(Canvas *c, const float *xs, const float *ys, int n, float width, Rgb col,
                     float dash_on, float dash_off);
void raster_line(Canvas *c, float x0, float y0, float x1, float y1, float width, Rgb col);

/* A filled disc centred at (cx, cy). */
void raster_disc(Canvas *c, float cx, float cy, float radius, Rgb col);

/* The region between two curves sampled at the same increasing xs (n >= 2):
 * for each column, from ya to yb (either order), linearly interpolated
 * between samples, composited with the given opacity. */
void raster_band(Canvas *c, const float *xs, const float *ya, const float *yb, int n, Rgb col,
                 float opacity);

#endif
