## tests/local.mk: test infrastructure shared by every part of the tree.
EXTRA_DIST += tests/tap.h tests/setup.sh
