## doc/local.mk: the manual page and the documents installed in $(docdir)
## (the figures of README.md stay in the tarball only).  The pipelines and
## examples are installed by src/pipeline.mk and examples/local.mk.
dist_man_MANS = doc/kop.1
dist_doc_DATA += README.md NEWS ChangeLog grammar/GRAMMAR.md

## The man page against `kop --help` and the sources.
TESTS += tests/e2e/man.sh
EXTRA_DIST += tests/e2e/man.sh

## Installed pipelines found by name (the source tree standing in for
## $(pkgdatadir)).
TESTS += tests/e2e/datadir.sh
EXTRA_DIST += tests/e2e/datadir.sh

## `make install` into a scratch folder and run the installed pipelines from
## there: slow, so make check runs it only when KOP_TEST_INSTALL is set
## (`make check KOP_TEST_INSTALL=1`); it is exported to the test's environment.
TESTS += tests/install.sh
EXTRA_DIST += tests/install.sh
AM_TESTS_ENVIRONMENT += KOP_TEST_INSTALL='$(KOP_TEST_INSTALL)'; export KOP_TEST_INSTALL; \
	MAKE='$(MAKE)'; export MAKE;
