/* cli.h: the kop subcommands (see commands.def) and what they share.
 *
 * src/main.c owns argv: it finds the subcommand, splits its arguments with
 * the subcommand's option table (GNU style: --name VALUE, --name=VALUE, a
 * short -x for some, "--" ends the options, options and operands in any
 * order), answers --help from the same table, and reports unknown options
 * and missing values.  A subcommand gets the result as a list of CliArg in
 * command-line order, checks what only it knows (a number's range, which
 * options go together) and returns an exit status from util.h; none of them
 * calls exit().  Every subcommand lives in src/cli_NAME.c. */
#ifndef KOP_CLI_H
#define KOP_CLI_H

#include "util.h"

/* One option of a subcommand: its parser entry and its --help line. */
typedef struct CliOption {
    const char *name;  /* the long name without "--": "model" */
    char short_name;   /* 'q' for -q, or 0 */
    const char *arg;   /* the value's name ("DIR") when it takes one; NULL for a flag */
    const char *help;  /* one line */
} CliOption;

enum { CLI_OPERAND = -1 };

/* One command-line argument after main.c's split. */
typedef struct CliArg {
    int opt;           /* index into the subcommand's options, or CLI_OPERAND */
    const char *value; /* the option's value or the operand itself; NULL for a flag */
    const char *name;  /* how the option was written ("--model", "-q"), for messages */
} CliArg;

typedef struct CliCommand {
    const char *name;
    const char *synopsis;    /* the forms after "kop NAME ", one a line */
    const char *summary;     /* one line for `kop --help` */
    const char *description; /* what it does: lines under the usage */
    const CliOption *options;/* ends with {0}; --help is added by main.c */
    const char *notes;       /* after the options, or NULL; "@PKGDATADIR@" is
                              * replaced by cli_data_dir() */
    int (*run)(const CliArg *args, int n_args);
} CliCommand;

#define KOP_COMMAND(name) extern const CliCommand cli_##name;
#include "commands.def"
#undef KOP_COMMAND

/* Print "kop: error: MSG" on stderr and return err->status. */
int cli_report(const KopError *err);
/* Print "kop CMD: MSG" and a pointer to `kop CMD --help` on stderr; returns
 * KOP_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) KOP_PRINTF(2, 3);
/* Parse a comma-separated list of non-negative integers; returns count or -1. */
int cli_parse_ids(const char *s, int **out, KopError *err);
/* Where the installed pipelines and examples are: $KOP_DATADIR, else the
 * configured $(pkgdatadir). */
const char *cli_data_dir(void);
/* A pipeline named on the command line: PATH itself when it exists or names
 * a folder; else, for a bare NAME.yaml, DATADIR/pipelines/NAME.yaml when
 * that exists (the installed pipelines).  A new string (caller frees). */
char *cli_find_pipeline(const char *path);

#endif
