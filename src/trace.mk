## src/trace.mk: causal tracing: the engine (exact noise, clean, corrupted
## and restored runs) and the model-independent parts the executor uses
## (token roles, swap partners), and their tests.  The hook table
## (src/hooks.[ch]) is in src/forward.mk: the model files need it.
libkop_a_SOURCES += src/noise.h src/noise.c src/trace.h src/trace.c \
	src/trace_noise.c src/trace_noise.h src/trace_roles.c src/trace_roles.h \
	src/trace_swap.c src/trace_swap.h

check_PROGRAMS += tests/unit/test_trace tests/unit/test_trace_parts
tests_unit_test_trace_SOURCES = tests/unit/test_trace.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_trace_LDADD = $(KOP_LIBS)
tests_unit_test_trace_parts_SOURCES = tests/unit/test_trace_parts.c
tests_unit_test_trace_parts_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_trace tests/unit/test_trace_parts

## ROME's token x layer map of one prompt through `kop run` (on the demo model)
check_PROGRAMS += tests/unit/test_trace_map
tests_unit_test_trace_map_SOURCES = tests/unit/test_trace_map.c tests/unit/test_render.h
tests_unit_test_trace_map_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_trace_map
