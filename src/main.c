/* main.c: the kop command line.  The only file that calls exit(); every
 * subcommand is a function in src/cli_*.c listed in commands.def. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <limits.h>

#include "buildinfo.h"
#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
#define KOP_COMMAND(name, fn, help) {#name, fn, help},
#include "commands.def"
#undef KOP_COMMAND
};

int cli_report(const KopError *err)
{
    fprintf(stderr, "kop: error: %s\n", err->msg);
    return err->status ? err->status : KOP_EXIT_INTERNAL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kop %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kop --help'.\n");
    return KOP_EXIT_USAGE;
}

int cli_parse_ids(const char *s, int **out, KopError *err)
{
    int n = 0, cap = 16;
    int *ids = kop_xmalloc(sizeof *ids * (size_t)cap);
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT_MAX) {
            free(ids);
            return kop_fail(err, KOP_EXIT_USAGE, "--ids: expected a comma-separated list of token ids, got '%s'", s);
        }
        if (n == cap) ids = kop_xrealloc(ids, sizeof *ids * (size_t)(cap *= 2));
        ids[n++] = (int)v;
        p = end;
        if (*p == ',') p++;
        else if (*p) {
            free(ids);
            return kop_fail(err, KOP_EXIT_USAGE, "--ids: unexpected '%c' in '%s'", *p, s);
        }
    }
    if (n == 0) {
        free(ids);
        return kop_fail(err, KOP_EXIT_USAGE, "--ids: no token ids given");
    }
    *out = ids;
    return n;
}

static void print_version(void)
{
    printf("kop %s\n", PACKAGE_VERSION);
    printf("compiler:  %s\n", KOP_BUILD_CC);
    printf("cflags:    %s\n", KOP_BUILD_CFLAGS);
    printf("configure: %s\n", KOP_BUILD_CONFIGURE_ARGS[0] ? KOP_BUILD_CONFIGURE_ARGS : "(no options)");
    printf("BLIS:      %s (%s)\n", KOP_BLIS_SOURCE, KOP_BUILD_BLIS);
    printf("OpenMP:    %s\n", KOP_OPENMP_STATUS);
}

static void print_help(FILE *f)
{
    fprintf(f, "usage: kop COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n  kop --version   version and build configuration\n"
               "\nexit status: 0 ok, 1 bad input file, 2 usage or system error, 3 internal error\n");
}

int main(int argc, char **argv)
{
    kop_tune_malloc();
    if (argc < 2) {
        print_help(stderr);
        return KOP_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        print_version();
        return KOP_EXIT_OK;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return KOP_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            int status = commands[i].fn(argc - 1, argv + 1);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "kop: error: writing standard output: %s\n", strerror(errno));
                return KOP_EXIT_USAGE;
            }
            return status;
        }
    fprintf(stderr, "kop: unknown command '%s'\n", argv[1]);
    print_help(stderr);
    return KOP_EXIT_USAGE;
}
