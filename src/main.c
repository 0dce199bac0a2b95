/* main.c: the kop command line.  The only file that calls exit() or reads
 * argv: it finds the subcommand (commands.def), splits its arguments with the
 * subcommand's option table and prints every --help from those tables, so
 * the help cannot drift from what is parsed (cli.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "buildinfo.h"
#include "cli.h"

static const CliCommand *const commands[] = {
#define KOP_COMMAND(name) &cli_##name,
#include "commands.def"
#undef KOP_COMMAND
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

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
    fprintf(stderr, "\nTry 'kop %s --help' for more information.\n", cmd);
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

const char *cli_data_dir(void)
{
    const char *env = getenv("KOP_DATADIR");
    return env && *env ? env : KOP_PKGDATADIR;
}

char *cli_find_pipeline(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 || strchr(path, '/')) return kop_xstrdup(path);
    char *dir = kop_path_join(cli_data_dir(), "pipelines");
    char *installed = kop_path_join(dir, path);
    free(dir);
    if (stat(installed, &st) == 0) return installed;
    free(installed);
    return kop_xstrdup(path);
}

// ---- help and version -----------------------------------------------------------

static void print_version(void)
{
    printf("kop %s\n", PACKAGE_VERSION);
    printf("compiler:  %s\n", KOP_BUILD_CC);
    printf("cflags:    %s\n", KOP_BUILD_CFLAGS);
    printf("configure: %s\n", KOP_BUILD_CONFIGURE_ARGS[0] ? KOP_BUILD_CONFIGURE_ARGS : "(no options)");
    printf("BLIS:      %s (%s)\n", KOP_BLIS_SOURCE, KOP_BUILD_BLIS);
    printf("OpenMP:    %s\n", KOP_OPENMP_STATUS);
    printf("MPI:       %s\n", KOP_MPI_STATUS[0] == 'y'
                                   ? KOP_MPI_STATUS ": mpirun -n N kop run spreads the prompts over N ranks"
                                   : "no (./configure --with-mpi builds it in)");
    printf("data:      %s\n", cli_data_dir());
}

/* Text with "@PKGDATADIR@" standing for cli_data_dir(). */
static void put_text(const char *s)
{
    static const char key[] = "@PKGDATADIR@";
    for (const char *at; (at = strstr(s, key)); s = at + sizeof key - 1) {
        fwrite(s, 1, (size_t)(at - s), stdout);
        fputs(cli_data_dir(), stdout);
    }
    fputs(s, stdout);
}

static void print_footer(void)
{
    printf("\nFull documentation: 'man kop'\nThe recipe language: %s/GRAMMAR.md\n", KOP_DOCDIR);
    if (PACKAGE_BUGREPORT[0]) printf("Report bugs to: <%s>\n", PACKAGE_BUGREPORT);
    if (PACKAGE_URL[0]) printf("kop home page: <%s>\n", PACKAGE_URL);
}

static const CliOption help_option = {"help", 'h', NULL, "display this help and exit"};

/* "-q, --quiet" or "    --out=DIR": the option as --help shows it. */
static int option_label(const CliOption *o, char *buf, size_t n)
{
    char sh[5] = "    ";
    if (o->short_name) snprintf(sh, sizeof sh, "-%c, ", o->short_name);
    return snprintf(buf, n, "%s--%s%s%s", sh, o->name, o->arg ? "=" : "", o->arg ? o->arg : "");
}

static void print_command_help(const CliCommand *c)
{
    const char *s = c->synopsis;
    for (int first = 1; *s; first = 0) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        printf("%s kop %s %.*s\n", first ? "Usage:" : "  or: ", c->name, (int)len, s);
        s += len + (e != NULL);
    }
    printf("%s\n\nOptions:\n", c->description);
    char label[128];
    int width = option_label(&help_option, label, sizeof label);
    for (const CliOption *o = c->options; o->name; o++) {
        int w = option_label(o, label, sizeof label);
        if (w > width) width = w;
    }
    for (const CliOption *o = c->options;; o++) {
        const CliOption *opt = o->name ? o : &help_option;
        option_label(opt, label, sizeof label);
        printf("  %-*s  %s\n", width, label, opt->help);
        if (!o->name) break;
    }
    if (c->notes) {
        putchar('\n');
        put_text(c->notes);
    }
    print_footer();
}

static void print_help(FILE *f)
{
    fprintf(f, "Usage: kop COMMAND [OPTION]... [ARG]...\n"
               "   or: kop --help | --version\n"
               "Interpretability experiments (knockouts) on Mamba-1, Mamba-2 and GPT-2\n"
               "checkpoints, on CPUs: a .kop recipe in, CSV tables and PNG figures out.\n\n"
               "Commands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nRun 'kop COMMAND --help' for the options of a command.\n\n"
               "Options:\n"
               "  -h, --help     display this help and exit\n"
               "  -V, --version  output version information (and how kop was built) and exit\n\n"
               "Exit status:\n"
               "  0  success\n"
               "  1  a bad recipe, pipeline, model, tokenizer or data file (the message names\n"
               "     the file and the place)\n"
               "  2  a usage or system error (a missing file, a failed write)\n"
               "  3  an internal error\n");
}

// ---- argument splitting ---------------------------------------------------------

enum { SPLIT_HELP = -1 };

static const CliOption *find_option(const CliCommand *c, const char *name, size_t len, char short_name)
{
    for (const CliOption *o = c->options; o->name; o++)
        if (short_name ? o->short_name == short_name : strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

/* argv[1..argc-1] (argv[0] is the subcommand) into args by c's options.
 * 0 with *n set, SPLIT_HELP for --help, or a usage status (reported). */
static int split_args(const CliCommand *c, int argc, char **argv, CliArg *args, int *n)
{
    int only_operands = 0;
    *n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_operands || a[0] != '-' || !a[1]) {
            args[(*n)++] = (CliArg){CLI_OPERAND, a, NULL};
            continue;
        }
        if (!strcmp(a, "--")) {
            only_operands = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return SPLIT_HELP;
        const CliOption *o;
        const char *value = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_option(c, a + 2, len, 0);
            if (!o) return cli_usage(c->name, "unknown option '%.*s'", (int)(len + 2), a);
            if (eq && !o->arg) return cli_usage(c->name, "--%s takes no value", o->name);
            if (eq) value = eq + 1;
        } else {
            o = a[2] ? NULL : find_option(c, NULL, 0, a[1]);
            if (!o) return cli_usage(c->name, "unknown option '%s'", a);
        }
        if (o->arg && !value) {
            if (i + 1 >= argc) return cli_usage(c->name, "%s needs a value (%s)", a, o->arg);
            value = argv[++i];
        }
        args[(*n)++] = (CliArg){(int)(o - c->options), value, a};
    }
    return 0;
}

static int run_command(const CliCommand *c, int argc, char **argv)
{
    CliArg *args = kop_xmalloc(sizeof *args * (size_t)argc);
    int n, status = split_args(c, argc, argv, args, &n);
    if (status == SPLIT_HELP) {
        print_command_help(c);
        status = KOP_EXIT_OK;
    } else if (status == 0) {
        status = c->run(args, n);
    }
    free(args);
    return status;
}

int main(int argc, char **argv)
{
    kop_tune_malloc();
    if (argc < 2) {
        print_help(stderr);
        return KOP_EXIT_USAGE;
    }
    const char *a = argv[1];
    int status = -1;
    if (!strcmp(a, "--version") || !strcmp(a, "-V") || !strcmp(a, "version")) {
        print_version();
        status = KOP_EXIT_OK;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "help")) {
        /* `kop help CMD` is `kop CMD --help` */
        const char *topic = argc > 2 ? argv[2] : NULL;
        for (int i = 0; topic && i < N_COMMANDS; i++)
            if (!strcmp(topic, commands[i]->name)) {
                print_command_help(commands[i]);
                status = KOP_EXIT_OK;
            }
        if (status < 0 && topic) {
            fprintf(stderr, "kop: no command '%s'\nTry 'kop --help' for the list.\n", topic);
            return KOP_EXIT_USAGE;
        }
        if (status < 0) {
            print_help(stdout);
            print_footer();
            status = KOP_EXIT_OK;
        }
    } else {
        for (int i = 0; i < N_COMMANDS; i++)
            if (!strcmp(a, commands[i]->name)) status = run_command(commands[i], argc - 1, argv + 1);
        if (status < 0) {
            fprintf(stderr, "kop: unknown command '%s'\nTry 'kop --help' for the list of commands.\n", a);
            return KOP_EXIT_USAGE;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "kop: error: writing standard output: %s\n", strerror(errno));
        return KOP_EXIT_USAGE;
    }
    return status;
}
