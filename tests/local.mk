## tests/local.mk: test infrastructure shared by every part of the tree.
EXTRA_DIST += tests/tap.h tests/setup.sh

## Seeded fuzz runs of every input format (kop's own mutator), a few seconds
## each; `make fuzz` (grammar/local.mk) runs long campaigns.
check_PROGRAMS += tests/fuzz/fuzz_formats
tests_fuzz_fuzz_formats_SOURCES = tests/fuzz/fuzz_formats.c tests/fuzz/mutate.h
tests_fuzz_fuzz_formats_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/fuzz
tests_fuzz_fuzz_formats_LDADD = $(KOP_LIBS)
TESTS += tests/fuzz/check.sh
EXTRA_DIST += tests/fuzz/check.sh tests/fuzz/seeds.sh tests/fuzz/campaign.sh
