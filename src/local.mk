## src/local.mk: the core of libkop (errors, allocation, files) and the CLI.
libkop_a_SOURCES += src/util.c src/util.h
kop_SOURCES += src/commands.def
