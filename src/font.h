/* font.h: the bitmap font kop's figures are lettered with, compiled in.
 *
 * Figures must read at 100 % zoom and must not depend on fonts installed on
 * the machine that renders them, so the glyphs are data in font.c: the X11
 * "fixed" 7x13 and 7x13B faces (Misc-Fixed, public domain), ISO 8859-1
 * encoding, i.e. printable ASCII and the Latin-1 supplement (U+00A0..U+00FF,
 * which covers the accented letters of most Western-European prompts plus
 * signs such as U+00B1 and U+00D7).  Every glyph is a 7 x 13 cell; the
 * baseline is 11 pixels below the top of the cell.
 *
 * Strings are UTF-8.  A character outside the font -- another script, an
 * emoji, a control character, or a byte that is not valid UTF-8 -- is drawn
 * as a visible placeholder box of the same width, one box per code point
 * (per bad byte), so a token's text is never silently shortened and the
 * width of a label is its number of code points times FONT_W. */
#ifndef KOP_FONT_H
#define KOP_FONT_H

#include <stdint.h>
#include "raster.h"

enum { FONT_W = 7, FONT_H = 13 };

typedef enum { FONT_REGULAR = 0, FONT_BOLD = 1 } FontStyle;
/* FONT_UP: rotated a quarter turn anticlockwise, read bottom to top (y axis titles). */
typedef enum { FONT_RIGHT = 0, FONT_UP = 1 } FontDir;

/* Decode the code point at *s and advance *s past it.  Returns 0 at the end of
 * the string, the code point, or -1 for a byte that does not start a valid,
 * shortest-form UTF-8 sequence (one byte is consumed). */
int font_next_codepoint(const char **s);

/* The glyph of a code point (FONT_H rows, bit 7 = leftmost pixel), or NULL
 * when the font has none and the placeholder is drawn instead. */
const uint8_t *font_glyph(int cp, FontStyle style);
/* The placeholder drawn for characters the font lacks. */
const uint8_t *font_placeholder(void);

/* Number of character cells (code points and bad bytes) in s. */
int font_cells(const char *s);
/* Width in pixels of s drawn horizontally. */
int font_text_width(const char *s);

/* Draw s with the top-left of its first cell at (x, y) (FONT_RIGHT), or, for
 * FONT_UP, with the bottom-left of the rotated text at (x, y): the text then
 * occupies [x, x + FONT_H) x [y - width, y). */
void font_draw(Canvas *c, int x, int y, const char *s, FontStyle style, Rgb col, FontDir dir);

#endif
