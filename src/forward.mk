kop_SOURCES += src/cli_logits.c
