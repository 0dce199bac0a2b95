## src/pipeline.mk: YAML pipelines (`kop run PIPELINE.yaml`, `kop check
## PIPELINE.yaml`), the pipelines and the example recipes, and their tests
## (pipeline-demo.sh and examples.sh run on the demo models of examples/models/).
libkop_a_SOURCES += src/pipeline.h src/pipeline.c src/pipeline_run.c src/pipeline_keep.c

check_PROGRAMS += tests/unit/test_pipeline
tests_unit_test_pipeline_LDADD = $(KOP_LIBS)

pipeline_e2e = tests/e2e/pipeline.sh tests/e2e/pipeline-paper.sh tests/e2e/pipeline-demo.sh tests/e2e/examples.sh \
	tests/e2e/golden.sh tests/e2e/pipeline-romba.sh
TESTS += tests/unit/test_pipeline $(pipeline_e2e)
EXTRA_DIST += $(pipeline_e2e) tests/e2e/golden.sha256

## Installed as they sit in the tree, under $(pkgdatadir)/pipelines/ and
## $(pkgdatadir)/examples/ (examples/local.mk), so the paths a pipeline gives
## relative to itself (../examples/flow.kop) hold there too; `kop run
## demo.yaml` finds them (cli_find_pipeline in src/main.c).
nobase_dist_pkgdata_DATA += \
	pipelines/README.md pipelines/demo.yaml pipelines/mamba-knockout-paper.yaml pipelines/mamba-knockout-appendix.yaml \
	pipelines/demo/window-1.kop pipelines/demo/window-3.kop pipelines/demo/window-5.kop pipelines/demo/heatmaps.kop \
	pipelines/paper/flow.kop pipelines/paper/flow-own.kop pipelines/paper/features.kop pipelines/paper/tokens.kop \
	pipelines/paper/heatmap-ids.txt \
	pipelines/paper/window-1.kop pipelines/paper/window-3.kop pipelines/paper/window-5.kop \
	pipelines/paper/window-9.kop pipelines/paper/window-12.kop pipelines/paper/window-15.kop \
	pipelines/romba.yaml pipelines/romba/trace-mamba.kop pipelines/romba/trace-attn.kop \
	pipelines/romba/trace-noise.kop pipelines/romba/blocking-mamba.kop pipelines/romba/blocking-attn.kop \
	examples/README.md examples/quickstart.kop \
	examples/flow.kop examples/features.kop examples/windows.kop examples/tokens.kop examples/trace.kop
