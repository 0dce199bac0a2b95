## bench/local.mk: benchmarks (built by `make bench`, never run by make check).
EXTRA_PROGRAMS = bench/forward bench/sweep bench/trace
## bench/tokenize [SHARED_DIR] is quick to build, so it is built with kop and
## cannot rot unnoticed; make check never runs it.
noinst_PROGRAMS += bench/tokenize
bench_tokenize_SOURCES = bench/tokenize.c
bench_tokenize_LDADD = $(KOP_LIBS)
## bench/checkpoint writes random-weight model directories at the papers'
## shapes; tests/e2e/bench-checkpoint.sh runs it on tiny shapes.
noinst_PROGRAMS += bench/checkpoint
bench_checkpoint_SOURCES = bench/checkpoint.c bench/checkpoint_shapes.c bench/checkpoint_shapes.h
bench_checkpoint_LDADD = $(KOP_LIBS)
## bench/scale DIR...: the paper sweep, load time and peak memory on them.
noinst_PROGRAMS += bench/scale
bench_scale_SOURCES = bench/scale.c bench/random_model.c bench/random_model.h
bench_scale_LDADD = $(KOP_LIBS)
bench_scale_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
TESTS += tests/e2e/bench-checkpoint.sh
EXTRA_DIST += tests/e2e/bench-checkpoint.sh bench/paper-table.sh
bench_sweep_SOURCES = bench/sweep.c bench/random_model.c bench/random_model.h
bench_sweep_LDADD = $(KOP_LIBS)
bench_sweep_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
bench_trace_SOURCES = bench/trace.c bench/random_model.c bench/random_model.h
bench_trace_LDADD = $(KOP_LIBS)
bench_trace_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
bench_forward_SOURCES = bench/forward.c bench/random_model.c bench/random_model.h
bench_forward_LDADD = $(KOP_LIBS)
bench_forward_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += bench/README.md

.PHONY: bench
bench: $(EXTRA_PROGRAMS) bench/tokenize bench/checkpoint bench/scale
