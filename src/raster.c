/* raster.c: see raster.h. */
#include "raster.h"

#include <math.h>
#include <string.h>

#include "util.h"

void raster_init(Canvas *c, int w, int h, Rgb bg)
{
    KOP_ASSERT(w >= 1 && h >= 1);
    c->w = w;
    c->h = h;
    c->px = kop_xmalloc((size_t)w * (size_t)h * 3);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        c->px[3 * i] = bg.r;
        c->px[3 * i + 1] = bg.g;
        c->px[3 * i + 2] = bg.b;
    }
}

void raster_free(Canvas *c)
{
    free(c->px);
    c->px = NULL;
    c->w = c->h = 0;
}

Rgb raster_get(const Canvas *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return (Rgb){0, 0, 0};
    const uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    return (Rgb){p[0], p[1], p[2]};
}

static uint8_t mix(uint8_t under, uint8_t over, float a)
{
    float v = (float)under + ((float)over - (float)under) * a;
    return (uint8_t)(v + 0.5f);
}

void raster_blend(Canvas *c, int x, int y, Rgb col, float alpha)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h || !(alpha > 0.0f)) return;
    if (alpha > 1.0f) alpha = 1.0f;
    uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    p[0] = mix(p[0], col.r, alpha);
    p[1] = mix(p[1], col.g, alpha);
    p[2] = mix(p[2], col.b, alpha);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void raster_fill_rect(Canvas *c, int x0, int y0, int x1, int y1, Rgb col)
{
    x0 = clampi(x0, 0, c->w);
    x1 = clampi(x1, 0, c->w);
    y0 = clampi(y0, 0, c->h);
    y1 = clampi(y1, 0, c->h);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
            p[0] = col.r;
            p[1] = col.g;
            p[2] = col.b;
        }
}

void raster_rect_outline(Canvas *c, int x0, int y0, int x1, int y1, Rgb col)
{
    if (x1 <= x0 || y1 <= y0) return;
    raster_fill_rect(c, x0, y0, x1, y0 + 1, col);
    raster_fill_rect(c, x0, y1 - 1, x1, y1, col);
    raster_fill_rect(c, x0, y0, x0 + 1, y1, col);
    raster_fill_rect(c, x1 - 1, y0, x1, y1, col);
}

// ---- strokes ------------------------------------------------------------------

/* Coverage of a pixel whose centre is at distance d from a centre line of
 * half-width hw: full inside, a one-pixel ramp across the edge. */
static float edge_coverage(float d, float hw)
{
    float cov = hw + 0.5f - d;
    return cov < 0.0f ? 0.0f : cov > 1.0f ? 1.0f : cov;
}

void raster_polyline(Canvas *c, const float *xs, const float *ys, int n, float width, Rgb col,
                     float dash_on, float dash_off)
{
    KOP_ASSERT(n >= 2 && width > 0.0f);
    float hw = 0.5f * width, pad = hw + 1.0f;
    float bx0 = xs[0], bx1 = xs[0], by0 = ys[0], by1 = ys[0];
    for (int i = 1; i < n; i++) {
        bx0 = fminf(bx0, xs[i]);
        bx1 = fmaxf(bx1, xs[i]);
        by0 = fminf(by0, ys[i]);
        by1 = fmaxf(by1, ys[i]);
    }
    int mx0 = clampi((int)floorf(bx0 - pad), 0, c->w), mx1 = clampi((int)ceilf(bx1 + pad), 0, c->w);
    int my0 = clampi((int)floorf(by0 - pad), 0, c->h), my1 = clampi((int)ceilf(by1 + pad), 0, c->h);
    if (mx1 <= mx0 || my1 <= my0) return;
    int mw = mx1 - mx0, mh = my1 - my0;
    /* Coverage is accumulated as a maximum over segments and composited once,
     * so the overlapping round caps at each join do not double-blend. */
    float *mask = kop_xcalloc((size_t)mw * (size_t)mh, sizeof *mask);
    float period = dash_on + dash_off, along = 0.0f;
    for (int i = 0; i + 1 < n; i++) {
        float ax = xs[i], ay = ys[i], dx = xs[i + 1] - ax, dy = ys[i + 1] - ay;
        float len2 = dx * dx + dy * dy, len = sqrtf(len2);
        int x0 = clampi((int)floorf(fminf(ax, xs[i + 1]) - pad), mx0, mx1);
        int x1 = clampi((int)ceilf(fmaxf(ax, xs[i + 1]) + pad), mx0, mx1);
        int y0 = clampi((int)floorf(fminf(ay, ys[i + 1]) - pad), my0, my1);
        int y1 = clampi((int)ceilf(fmaxf(ay, ys[i + 1]) + pad), my0, my1);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                float px = (float)x + 0.5f - ax, py = (float)y + 0.5f - ay;
                float t = len2 > 0.0f ? (px * dx + py * dy) / len2 : 0.0f;
                t = t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
                if (dash_on > 0.0f && fmodf(along + t * len, period) >= dash_on) continue;
                float ex = px - t * dx, ey = py - t * dy;
                float cov = edge_coverage(sqrtf(ex * ex + ey * ey), hw);
                float *m = &mask[(size_t)(y - my0) * (size_t)mw + (size_t)(x - mx0)];
                if (cov > *m) *m = cov;
            }
        along += len;
    }
    for (int y = 0; y < mh; y++)
        for (int x = 0; x < mw; x++)
            raster_blend(c, mx0 + x, my0 + y, col, mask[(size_t)y * (size_t)mw + (size_t)x]);
    free(mask);
}

void raster_line(Canvas *c, float x0, float y0, float x1, float y1, float width, Rgb col)
{
    float xs[2] = {x0, x1}, ys[2] = {y0, y1};
    raster_polyline(c, xs, ys, 2, width, col, 0.0f, 0.0f);
}

void raster_disc(Canvas *c, float cx, float cy, float radius, Rgb col)
{
    int x0 = (int)floorf(cx - radius - 1.0f), x1 = (int)ceilf(cx + radius + 1.0f);
    int y0 = (int)floorf(cy - radius - 1.0f), y1 = (int)ceilf(cy + radius + 1.0f);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
            raster_blend(c, x, y, col, edge_coverage(sqrtf(dx * dx + dy * dy), radius - 0.5f));
        }
}

// ---- bands --------------------------------------------------------------------

void raster_band(Canvas *c, const float *xs, const float *ya, const float *yb, int n, Rgb col,
                 float opacity)
{
    KOP_ASSERT(n >= 2);
    int px0 = clampi((int)floorf(xs[0]), 0, c->w), px1 = clampi((int)ceilf(xs[n - 1]), 0, c->w);
    int j = 0;
    for (int px = px0; px < px1; px++) {
        float cx = (float)px + 0.5f;
        if (cx < xs[0] || cx > xs[n - 1]) continue;
        while (j + 2 < n && cx > xs[j + 1]) j++;
        float span = xs[j + 1] - xs[j], t = span > 0.0f ? (cx - xs[j]) / span : 0.0f;
        float a = ya[j] + t * (ya[j + 1] - ya[j]), b = yb[j] + t * (yb[j + 1] - yb[j]);
        float top = fminf(a, b), bot = fmaxf(a, b);
        int y0 = clampi((int)floorf(top), 0, c->h), y1 = clampi((int)ceilf(bot), 0, c->h);
        for (int y = y0; y < y1; y++) {
            /* exact vertical overlap of pixel row [y, y+1) with [top, bot] */
            float cov = fminf((float)y + 1.0f, bot) - fmaxf((float)y, top);
            raster_blend(c, px, y, col, opacity * cov);
        }
    }
}
