## src/local.mk: the core of libkop (errors, allocation, files, text) and the CLI.
libkop_a_SOURCES += src/util.c src/util.h
kop_SOURCES += src/commands.def

check_PROGRAMS += tests/unit/test_util
tests_unit_test_util_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_util

## GNU conventions of the command line (--help, --version, the man page).
TESTS += tests/e2e/help.sh
EXTRA_DIST += tests/e2e/help.sh
