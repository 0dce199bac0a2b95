## src/load.mk: checkpoint loading (safetensors, pytorch_model.bin + config.json), `kop info`,
## and their tests.
libkop_a_SOURCES += src/safetensors.c src/safetensors.h src/config.c src/model_load.c src/model_load.h src/model.h \
	src/zipread.c src/zipread.h src/pickle.c src/pickle.h src/torchbin.c src/torchbin.h
kop_SOURCES += src/cli_info.c

check_PROGRAMS += tests/unit/test_safetensors tests/unit/test_model_load
tests_unit_test_safetensors_SOURCES = tests/unit/test_safetensors.c tests/unit/safetensors_write.h
tests_unit_test_safetensors_LDADD = $(KOP_LIBS)
tests_unit_test_model_load_SOURCES = tests/unit/test_model_load.c tests/unit/safetensors_write.h
tests_unit_test_model_load_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_safetensors tests/unit/test_model_load tests/e2e/info.sh
EXTRA_DIST += tests/e2e/info.sh

## pytorch_model.bin: the zip reader, the data-only pickle interpreter and the
## tensor table, against archives written by tests/unit/torch_write.h.
check_PROGRAMS += tests/unit/test_torchbin
tests_unit_test_torchbin_SOURCES = tests/unit/test_torchbin.c tests/unit/torch_write.h tests/unit/safetensors_write.h
tests_unit_test_torchbin_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_torchbin

## The pickle reader's fuzz target: a bounded, seeded run in make check, and
## the libFuzzer build (clang, sanitizers; not part of make check):
##   make fuzz-pickle FUZZ_SECONDS=600
check_PROGRAMS += tests/fuzz/fuzz_pickle
tests_fuzz_fuzz_pickle_SOURCES = tests/fuzz/fuzz_pickle.c tests/unit/torch_write.h
tests_fuzz_fuzz_pickle_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit -DKOP_FUZZ_MAIN
tests_fuzz_fuzz_pickle_LDADD = $(KOP_LIBS)
TESTS += tests/fuzz/fuzz_pickle
KOP_FUZZ_PICKLE_SRC = src/pickle.c src/zipread.c src/torchbin.c src/safetensors.c src/util.c
fuzz-pickle: tests/fuzz/fuzz_pickle$(EXEEXT)
	$(MKDIR_P) fuzz/pickle-corpus fuzz/pickle-seeds
	KOP_SHARED="$${KOP_SHARED:-$(abs_top_srcdir)/../shared}" tests/fuzz/fuzz_pickle --seeds fuzz/pickle-seeds
	$${CLANG:-clang} -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -I$(srcdir)/src -I$(srcdir)/tests/unit \
	  $$(pkg-config --cflags json-c) -o fuzz/fuzz_pickle $(srcdir)/tests/fuzz/fuzz_pickle.c \
	  $(addprefix $(srcdir)/,$(KOP_FUZZ_PICKLE_SRC)) $$(pkg-config --libs json-c) -lpthread -lm
	cd fuzz && ./fuzz_pickle -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -print_final_stats=1 pickle-corpus pickle-seeds
.PHONY: fuzz-pickle
