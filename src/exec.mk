## src/exec.mk: the executor (`kop run`): statistics, manifest, progress.
libkop_a_SOURCES += src/run.h src/run.c src/journal.h src/journal.c src/merge.h src/merge.c src/exec.h src/exec_impl.h src/exec.c src/exec_trace.c src/results.h src/results.c src/results_csv.c src/results_prompts.c src/stats.h src/stats.c src/sha256.h src/sha256.c \
	src/manifest.h src/manifest.c src/progress.h src/progress.c src/outdir.h src/outdir.c \
	src/prompt_cap.h src/prompt_cap.c src/ranks.h src/ranks.c
kop_SOURCES += src/cli_run.c src/cli_merge.c

check_PROGRAMS += tests/unit/test_run_reference tests/unit/test_stats tests/unit/test_outdir
tests_unit_test_outdir_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_outdir
tests_unit_test_run_reference_SOURCES = tests/unit/test_run_reference.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_run_reference_LDADD = $(KOP_LIBS)
tests_unit_test_stats_SOURCES = tests/unit/test_stats.c
tests_unit_test_stats_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_run_reference tests/unit/test_stats

TESTS += tests/e2e/run.sh tests/e2e/resume.sh tests/e2e/measures.sh tests/e2e/hostile.sh tests/e2e/slurm.sh
EXTRA_DIST += tests/e2e/run.sh tests/e2e/resume.sh tests/e2e/measures.sh tests/e2e/hostile.sh tests/e2e/slurm.sh \
	examples/slurm/shards.sbatch examples/slurm/merge.sbatch examples/slurm/paper.sh

check_PROGRAMS += tests/unit/test_figures
tests_unit_test_figures_SOURCES = tests/unit/test_figures.c
tests_unit_test_figures_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_figures

## MPI (ranks.h): mpirun -n 3 gives a single run's bytes; skipped without --with-mpi.
TESTS += tests/e2e/mpi.sh
EXTRA_DIST += tests/e2e/mpi.sh
