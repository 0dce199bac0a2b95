## src/render.mk: figures (PNG heatmaps and line plots, libpng), the summary.csv
## reader and `kop render`, with their tests.
libkop_a_SOURCES += src/raster.c src/raster.h src/font.c src/font.h \
	src/render.h src/render_plot.c src/render_png.c \
	src/summary_csv.c src/summary_csv.h
kop_SOURCES += src/cli_render.c

render_tests = tests/unit/test_render_raster tests/unit/test_render_font \
	tests/unit/test_render_png tests/unit/test_render_csv tests/unit/test_render_plot \
	tests/unit/test_render_cli
check_PROGRAMS += $(render_tests)
TESTS += $(render_tests) tests/e2e/render.sh
EXTRA_DIST += tests/e2e/render.sh tests/unit/test_render.h
tests_unit_test_render_raster_LDADD = $(KOP_LIBS)
tests_unit_test_render_font_LDADD = $(KOP_LIBS)
tests_unit_test_render_png_LDADD = $(KOP_LIBS)
tests_unit_test_render_csv_LDADD = $(KOP_LIBS)
tests_unit_test_render_plot_LDADD = $(KOP_LIBS)
tests_unit_test_render_cli_LDADD = $(KOP_LIBS)
