/* test_render_raster.c: the canvas primitives -- exact fills, antialiased
 * strokes that cover what they should and no more, joins that do not
 * double-blend, dashes, discs and bands with exact fractional coverage. */
#include "raster.h"
#include "tap.h"
#include "test_render.h"

#define WHITE 0xffffff
#define BLACK 0x000000

static Canvas blank(int w, int h)
{
    Canvas c;
    raster_init(&c, w, h, RGB_HEX(WHITE));
    return c;
}

static int partial(Rgb p) { return p.r > 0 && p.r < 255; }

int main(void)
{
    Canvas c = blank(40, 30);
    is_int(c.w * 100 + c.h, 4030, "canvas has the requested size");
    ok(rgb_is(raster_get(&c, 39, 29), WHITE), "canvas starts as the background colour");

    raster_fill_rect(&c, -5, -5, 3, 2, RGB_HEX(0x123456));
    ok(rgb_is(raster_get(&c, 0, 0), 0x123456) && rgb_is(raster_get(&c, 2, 1), 0x123456),
       "fill_rect sets every pixel of the clipped rectangle exactly");
    ok(rgb_is(raster_get(&c, 3, 1), WHITE) && rgb_is(raster_get(&c, 2, 2), WHITE),
       "fill_rect's right and bottom edges are exclusive");
    raster_fill_rect(&c, 100, 100, 200, 200, RGB_HEX(BLACK));
    raster_blend(&c, -1, 5, RGB_HEX(BLACK), 1.0f);
    raster_blend(&c, 5, 30, RGB_HEX(BLACK), 1.0f);
    ok(count_ink(&c, 0, 0, 40, 30) == 6, "drawing off the canvas is clipped");
    raster_free(&c);

    /* a horizontal 2-pixel line centred on a pixel boundary covers two rows */
    c = blank(40, 30);
    raster_line(&c, 5, 10.0f, 35, 10.0f, 2.0f, RGB_HEX(BLACK));
    ok(rgb_is(raster_get(&c, 20, 9), BLACK) && rgb_is(raster_get(&c, 20, 10), BLACK),
       "a 2-pixel line at y = 10 fills rows 9 and 10");
    ok(rgb_is(raster_get(&c, 20, 8), WHITE) && rgb_is(raster_get(&c, 20, 11), WHITE),
       "and leaves rows 8 and 11 untouched");
    raster_free(&c);

    /* a 1-pixel line between pixel centres is antialiased across two rows */
    c = blank(40, 30);
    raster_line(&c, 5, 10.0f, 35, 10.0f, 1.0f, RGB_HEX(BLACK));
    Rgb a = raster_get(&c, 20, 9), b = raster_get(&c, 20, 10);
    ok(partial(a) && partial(b) && abs(a.r - b.r) <= 1, "a 1-pixel line on a boundary is shared by two rows (%d, %d)", a.r, b.r);
    raster_free(&c);

    /* diagonal lines have intermediate pixels: antialiasing */
    c = blank(40, 30);
    raster_line(&c, 2, 3, 37, 25, 1.5f, RGB_HEX(BLACK));
    int npartial = 0, nfull = 0;
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            Rgb p = raster_get(&c, x, y);
            npartial += partial(p);
            nfull += p.r == 0;
        }
    ok(npartial > 30 && nfull > 10, "a diagonal line has full and partial pixels (%d full, %d partial)", nfull, npartial);
    raster_free(&c);

    /* a polyline with a collinear middle point equals the single segment:
     * the join is composited once, not twice */
    Canvas one = blank(50, 20), two = blank(50, 20);
    raster_line(&one, 3, 10.3f, 45, 10.3f, 1.0f, RGB_HEX(0x0072b2));
    float xs[3] = {3, 20, 45}, ys[3] = {10.3f, 10.3f, 10.3f};
    raster_polyline(&two, xs, ys, 3, 1.0f, RGB_HEX(0x0072b2), 0.0f, 0.0f);
    ok(!memcmp(one.px, two.px, 50 * 20 * 3), "a polyline's joins are not darker than the line");
    raster_free(&one);
    raster_free(&two);

    /* dashes leave gaps along the line */
    c = blank(60, 10);
    float dx[2] = {0, 60}, dy[2] = {5, 5};
    raster_polyline(&c, dx, dy, 2, 2.0f, RGB_HEX(BLACK), 6.0f, 4.0f);
    ok(rgb_is(raster_get(&c, 2, 4), BLACK) && rgb_is(raster_get(&c, 8, 4), WHITE) &&
       rgb_is(raster_get(&c, 12, 4), BLACK), "a dashed line is on for 6 pixels and off for 4");
    raster_free(&c);

    /* discs */
    c = blank(20, 20);
    raster_disc(&c, 10, 10, 3.0f, RGB_HEX(BLACK));
    ok(rgb_is(raster_get(&c, 10, 10), BLACK) && rgb_is(raster_get(&c, 9, 9), BLACK), "a disc covers its centre");
    ok(rgb_is(raster_get(&c, 10, 14), WHITE) && rgb_is(raster_get(&c, 14, 10), WHITE), "and nothing beyond its radius");
    raster_free(&c);

    /* bands: exact vertical coverage times opacity */
    c = blank(30, 30);
    float bx[2] = {5, 25}, top[2] = {10.5f, 10.5f}, bot[2] = {20, 20};
    raster_band(&c, bx, top, bot, 2, RGB_HEX(BLACK), 0.5f);
    is_int(raster_get(&c, 15, 15).r, 128, "inside a band of opacity 0.5, black over white is 128");
    is_int(raster_get(&c, 15, 10).r, 191, "a pixel half covered gets a quarter of the colour");
    is_int(raster_get(&c, 15, 9).r, 255, "above the band is untouched");
    is_int(raster_get(&c, 15, 20).r, 255, "below the band is untouched");
    is_int(raster_get(&c, 26, 15).r, 255, "right of the band is untouched");
    raster_free(&c);

    /* a band between crossing curves, interpolated per column */
    c = blank(30, 30);
    float cx[3] = {0, 10, 20}, ca[3] = {5, 15, 5}, cb[3] = {5, 25, 5};
    raster_band(&c, cx, ca, cb, 3, RGB_HEX(BLACK), 1.0f);
    ok(rgb_is(raster_get(&c, 10, 18), BLACK) && rgb_is(raster_get(&c, 10, 13), WHITE),
       "a band follows its curves between samples");
    raster_free(&c);
    return done_testing();
}
