## src/forward.mk: forward passes of Mamba-1, Mamba-2, GPT-2, Llama/Mistral and GPT-NeoX, and `kop logits`.
libkop_a_SOURCES += src/arch.h src/arch.c src/hooks.h src/hooks.c src/threads.h src/threads.c src/forward.h src/forward.c \
	src/model_mamba1.h src/model_mamba1.c src/model_mamba2.h src/model_mamba2.c src/model_gpt2.h src/model_gpt2.c \
	src/model_llama.h src/model_llama.c src/model_neox.h src/model_neox.c src/rope_attn.h src/rope_attn.c \
	src/rowexec.h src/rowexec.c src/knock.h src/knock.c src/featsel.h src/featsel.c
kop_SOURCES += src/cli_logits.c

check_PROGRAMS += tests/unit/test_forward
tests_unit_test_forward_SOURCES = tests/unit/test_forward.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_forward_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_forward

check_PROGRAMS += tests/unit/test_knockout_ref
tests_unit_test_knockout_ref_SOURCES = tests/unit/test_knockout_ref.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_knockout_ref_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_knockout_ref

check_PROGRAMS += tests/unit/test_knock
tests_unit_test_knock_SOURCES = tests/unit/test_knock.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_knock_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_knock

check_PROGRAMS += tests/unit/test_rotary_models
tests_unit_test_rotary_models_SOURCES = tests/unit/test_rotary_models.c tests/unit/safetensors_write.h \
	tests/unit/expected.h tests/unit/expected.c
tests_unit_test_rotary_models_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_rotary_models

check_PROGRAMS += tests/unit/test_features
tests_unit_test_features_SOURCES = tests/unit/test_features.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_features_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_features
