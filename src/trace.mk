## src/trace.mk: the model-independent parts of causal tracing (noise,
## embedding std, token roles, swap partners) and their tests.  The hook
## table (src/hooks.[ch]) is in grammar/local.mk: the checker needs it.
libkop_a_SOURCES += src/trace_noise.c src/trace_noise.h src/trace_roles.c src/trace_roles.h \
	src/trace_swap.c src/trace_swap.h

check_PROGRAMS += tests/unit/test_trace
tests_unit_test_trace_SOURCES = tests/unit/test_trace.c
tests_unit_test_trace_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_trace
