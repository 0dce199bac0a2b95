kop_SOURCES += src/cli_info.c
