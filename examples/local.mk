## examples/local.mk: the demo models and their facts (made by
## tools/train-demo/train_demo.py and committed; the build never runs it),
## and the test that kop reads them as the training script's PyTorch did.
## The models and facts are installed under $(pkgdatadir)/examples/ (the
## recipes beside them, src/pipeline.mk); reference_logits.json, the training
## script's logits, serve only the tests.
nobase_dist_pkgdata_DATA += \
	examples/models/mamba1-facts/config.json examples/models/mamba1-facts/model.safetensors \
	examples/models/mamba1-facts/tokenizer.json \
	examples/models/mamba2-facts/config.json examples/models/mamba2-facts/model.safetensors \
	examples/models/mamba2-facts/tokenizer.json \
	examples/models/gpt2-facts/config.json examples/models/gpt2-facts/model.safetensors \
	examples/models/gpt2-facts/tokenizer.json \
	examples/models/llama-facts/config.json examples/models/llama-facts/model.safetensors \
	examples/models/llama-facts/tokenizer.json \
	examples/data/facts.json examples/data/facts-ids.jsonl
EXTRA_DIST += \
	examples/models/mamba1-facts/reference_logits.json examples/models/mamba2-facts/reference_logits.json \
	examples/models/gpt2-facts/reference_logits.json examples/models/llama-facts/reference_logits.json \
	tools/train-demo/README.md tools/train-demo/train_demo.py tools/train-demo/facts.py \
	tools/train-demo/bpe.py tools/train-demo/models.py tools/train-demo/safetensors_io.py \
	tools/train-demo/check_reference.py

check_PROGRAMS += tests/unit/test_demo_models
tests_unit_test_demo_models_SOURCES = tests/unit/test_demo_models.c tests/unit/expected.h tests/unit/expected.c
tests_unit_test_demo_models_LDADD = $(KOP_LIBS)
TESTS += tests/unit/test_demo_models

# the quick start on the demo Mamba-1 model shows the paper's flow
TESTS += tests/e2e/demo-flow.sh
EXTRA_DIST += tests/e2e/demo-flow.sh

# ROME's residual trace by token role on the demo Mamba-1 model shows where the facts are recalled
TESTS += tests/e2e/demo-trace.sh
EXTRA_DIST += tests/e2e/demo-trace.sh
# the same flow experiment on the demo Llama, and its prompts with a BOS
TESTS += tests/e2e/demo-flow-llama.sh tests/e2e/demo-bos.sh
EXTRA_DIST += tests/e2e/demo-flow-llama.sh tests/e2e/demo-bos.sh

# the rows of `kop run` do not depend on the thread count
TESTS += tests/e2e/run-threads.sh
EXTRA_DIST += tests/e2e/run-threads.sh
