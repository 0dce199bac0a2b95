## grammar/local.mk: the .kop language: the flex scanner and bison parser,
## diagnostics, the syntax tree, the semantic pass, the plan, `kop check`,
## and their tests.
##
## grammar/kop.c, kop.h and kop-lex.c are generated into the build tree and
## shipped in the tarball (so a tarball builds without bison or flex); they
## are never committed.  They are compiled in libkopgrammar.a with the
## warnings generated code cannot avoid turned off, and their objects are
## then added to libkop.a, so every program links them through $(KOP_LIBS).

libkop_a_SOURCES += src/diag.c src/diag.h src/ast.c src/ast.h src/check.c src/check.h \
	src/plan.c src/plan.h src/plan_ops.def
kop_SOURCES += src/cli_check.c

noinst_LIBRARIES += libkopgrammar.a
libkopgrammar_a_SOURCES = grammar/kop.c grammar/kop.h grammar/kop-lex.c
libkopgrammar_a_CFLAGS = $(AM_CFLAGS) -Wno-unused-function -Wno-unused-parameter \
	-Wno-sign-compare -Wno-missing-prototypes -Wno-unused-but-set-variable
libkop_a_LIBADD = grammar/libkopgrammar_a-kop.$(OBJEXT) grammar/libkopgrammar_a-kop-lex.$(OBJEXT)

BUILT_SOURCES += grammar/kop.c grammar/kop.h grammar/kop-lex.c
MAINTAINERCLEANFILES = grammar/kop.c grammar/kop.h grammar/kop-lex.c
EXTRA_DIST += grammar/kop.y grammar/kop.l

## Bison without the POSIX-yacc mode AC_PROG_YACC asks for with -y.
KOP_BISON = $(YACC:-y=)

grammar/kop.c: grammar/kop.y
	$(AM_V_GEN)$(MKDIR_P) grammar && $(KOP_BISON) -Wall -d -o $@ $(srcdir)/grammar/kop.y
## Made with kop.c; remade through it if it alone was deleted.
grammar/kop.h: grammar/kop.c
	@test -f $@ || test -f $(srcdir)/$@ || { rm -f grammar/kop.c && $(MAKE) $(AM_MAKEFLAGS) grammar/kop.c; }
grammar/kop-lex.c: grammar/kop.l
	$(AM_V_GEN)$(MKDIR_P) grammar && $(LEX) -o $@ $(srcdir)/grammar/kop.l

## Tests: golden cases (tests/parse/*.test, read by run-golden.sh, which
## also checks every example of grammar/GRAMMAR.md) and unit tests.
KOP_GOLDEN = tests/parse/syntax.test tests/parse/errors.test tests/parse/plans.test \
	tests/parse/examples.test tests/parse/trace.test
TESTS += tests/parse/run-golden.sh tests/parse/check-usage.sh
EXTRA_DIST += tests/parse/run-golden.sh tests/parse/check-usage.sh $(KOP_GOLDEN)

check_PROGRAMS += tests/unit/test_parse
tests_unit_test_parse_SOURCES = tests/unit/test_parse.c
tests_unit_test_parse_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_parse

## Long fuzz campaigns (make check runs short seeded ones): every input
## format with kop's own mutator for FUZZ_SECONDS each, then with libFuzzer
## when clang is installed (tests/fuzz/run.sh fuzzes the front end alone):
##   make fuzz FUZZ_SECONDS=600 [FUZZ_FORMATS="recipe pipeline"]
EXTRA_DIST += tests/fuzz/fuzz_parse.c tests/fuzz/run.sh tests/fuzz/kop.dict tests/fuzz/libfuzzer.sh
FUZZ_SECONDS = 60
FUZZ_FORMATS =
fuzz: grammar/kop.c grammar/kop.h grammar/kop-lex.c tests/fuzz/fuzz_formats src/buildinfo.h
	FUZZ_CFLAGS='$(BLIS_CFLAGS) $(YAML_CFLAGS) $(PNG_CFLAGS) $(JSON_CFLAGS)' \
	FUZZ_LIBS='$(BLIS_LIBS) $(YAML_LIBS) $(PNG_LIBS) $(JSON_LIBS)' \
	$(SHELL) $(srcdir)/tests/fuzz/campaign.sh $(srcdir) $(builddir) $(FUZZ_SECONDS) $(FUZZ_FORMATS)
.PHONY: fuzz
