/* cli.h: one function per kop subcommand (see commands.def).  Each gets the
 * arguments after the subcommand name (argv[0] is the subcommand) and returns
 * an exit status from util.h.  Errors are printed with cli_error. */
#ifndef KOP_CLI_H
#define KOP_CLI_H

#include "util.h"

#define KOP_COMMAND(name, fn, help) int fn(int argc, char **argv);
#include "commands.def"
#undef KOP_COMMAND

/* Print "kop: error: MSG" on stderr and return err->status. */
int cli_report(const KopError *err);
/* Print "kop CMD: usage: ..." style message on stderr; returns KOP_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) KOP_PRINTF(2, 3);
/* Parse a comma-separated list of non-negative integers; returns count or -1. */
int cli_parse_ids(const char *s, int **out, KopError *err);

#endif
