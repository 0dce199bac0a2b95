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
