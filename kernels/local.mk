## kernels/local.mk: numeric kernels (pure functions) and their tests.
libkop_a_SOURCES += kernels/kernels.h kernels/fastexp.h kernels/gemm.c kernels/widen.c kernels/norm.c kernels/conv.c \
	kernels/ssm.c kernels/attn.c kernels/rope.c

check_PROGRAMS += tests/unit/test_kernels
tests_unit_test_kernels_SOURCES = tests/unit/test_kernels.c
tests_unit_test_kernels_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_kernels
