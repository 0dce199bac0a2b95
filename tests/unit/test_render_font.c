/* test_render_font.c: the embedded font covers printable ASCII and Latin-1,
 * decodes UTF-8 strictly, and draws anything else as a visible placeholder,
 * one per character, never dropping it. */
#include "font.h"
#include "tap.h"
#include "test_render.h"

static int popcount_glyph(const uint8_t *g)
{
    int n = 0;
    for (int y = 0; y < FONT_H; y++)
        for (int b = 0; b < 8; b++) n += (g[y] >> b) & 1;
    return n;
}

/* Ink of one drawn string on a fresh canvas. */
static int ink_of(const char *s, FontStyle st, FontDir dir, int *w, int *h)
{
    Canvas c;
    raster_init(&c, 200, 200, RGB_HEX(0xffffff));
    font_draw(&c, 20, dir == FONT_UP ? 150 : 20, s, st, RGB_HEX(0x000000), dir);
    int n = 0, x0 = 999, x1 = -1, y0 = 999, y1 = -1;
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 200; x++)
            if (raster_get(&c, x, y).r == 0) {
                n++;
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
    if (w) *w = x1 - x0 + 1;
    if (h) *h = y1 - y0 + 1;
    raster_free(&c);
    return n;
}

int main(void)
{
    int missing = 0;
    for (int cp = 33; cp < 127; cp++) {
        const uint8_t *g = font_glyph(cp, FONT_REGULAR), *gb = font_glyph(cp, FONT_BOLD);
        if (!g || !gb || !popcount_glyph(g) || !popcount_glyph(gb)) missing++;
    }
    is_int(missing, 0, "every printable ASCII character has a regular and a bold glyph with ink");
    ok(font_glyph(' ', FONT_REGULAR) && popcount_glyph(font_glyph(' ', FONT_REGULAR)) == 0, "space is blank");
    missing = 0;
    for (int cp = 161; cp < 256; cp++)
        if (!font_glyph(cp, FONT_REGULAR) || !popcount_glyph(font_glyph(cp, FONT_REGULAR))) missing++;
    is_int(missing, 0, "every Latin-1 character from U+00A1 has a glyph");
    ok(!font_glyph(0x7f, FONT_REGULAR) && !font_glyph(0x85, FONT_REGULAR) && !font_glyph('\n', FONT_REGULAR) &&
       !font_glyph(0x20ac, FONT_REGULAR), "control characters and U+20AC have no glyph");
    ok(memcmp(font_glyph('A', FONT_REGULAR), font_glyph('A', FONT_BOLD), FONT_H) != 0, "bold differs from regular");

    /* UTF-8 decoding */
    const char *s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
    int cps[5];
    for (int i = 0; i < 5; i++) cps[i] = font_next_codepoint(&s);
    ok(cps[0] == 0xe9 && cps[1] == 0x20ac && cps[2] == 0x1f600 && cps[3] == 'z' && cps[4] == 0,
       "two-, three- and four-byte sequences decode, then the end");
    s = "\xc0\x80";
    int o1 = font_next_codepoint(&s), o2 = font_next_codepoint(&s);
    ok(o1 == -1 && o2 == -1 && *s == '\0', "an overlong NUL is two bad bytes");
    s = "\xed\xa0\x80";
    ok(font_next_codepoint(&s) == -1, "a UTF-16 surrogate is not UTF-8");
    s = "\xe2\x82";
    o1 = font_next_codepoint(&s);
    o2 = font_next_codepoint(&s);
    ok(o1 == -1 && o2 == -1 && font_next_codepoint(&s) == 0, "a truncated sequence at the end is bad bytes, never read past");
    is_int(font_cells("a\xe2\x82\xac" "b"), 3, "a three-byte character is one cell");
    is_int(font_text_width("Tower \xc3\xa9"), 7 * FONT_W, "width counts characters, not bytes");

    /* drawing */
    int w, h;
    is_int(ink_of("A", FONT_REGULAR, FONT_RIGHT, &w, &h), popcount_glyph(font_glyph('A', FONT_REGULAR)),
           "drawing 'A' sets exactly its glyph's pixels");
    ok(w <= FONT_W && h <= FONT_H && h > w, "'A' fits its 7 x 13 cell, upright");
    is_int(ink_of("A", FONT_REGULAR, FONT_UP, &w, &h), popcount_glyph(font_glyph('A', FONT_REGULAR)),
           "rotated 'A' has the same pixels");
    ok(w > h, "rotated text lies on its side (%d x %d)", w, h);
    int ph = popcount_glyph(font_placeholder());
    ok(ph > 10, "the placeholder has ink");
    is_int(ink_of("\xe2\x82\xac", FONT_REGULAR, FONT_RIGHT, NULL, NULL), ph, "a character outside the font draws the placeholder");
    is_int(ink_of("\x01", FONT_REGULAR, FONT_RIGHT, NULL, NULL), ph, "so does a control character");
    is_int(ink_of("\xff\xfe", FONT_REGULAR, FONT_RIGHT, NULL, NULL), 2 * ph, "and each byte of invalid UTF-8");
    is_int(ink_of("x\xe6\x97\xa5\xe6\x9c\xacy", FONT_REGULAR, FONT_RIGHT, &w, NULL),
           popcount_glyph(font_glyph('x', FONT_REGULAR)) + 2 * ph + popcount_glyph(font_glyph('y', FONT_REGULAR)),
           "CJK characters inside a label are kept, one placeholder each");
    ok(w > 3 * FONT_W, "and the label keeps its four cells of width");
    ok(ink_of("\xc3\xa9", FONT_REGULAR, FONT_RIGHT, NULL, NULL) == popcount_glyph(font_glyph(0xe9, FONT_REGULAR)),
       "a Latin-1 letter in UTF-8 draws its own glyph");
    return done_testing();
}
