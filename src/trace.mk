## src/trace.mk: the causal tracing engine (noise, clean/corrupted/restored
## runs) and its tests.
libkop_a_SOURCES += src/noise.h src/noise.c src/trace.h src/trace.c

check_PROGRAMS += tests/unit/test_trace
tests_unit_test_trace_SOURCES = tests/unit/test_trace.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_trace_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_trace
