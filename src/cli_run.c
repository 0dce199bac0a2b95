/* cli_run.c: `kop run FILE.kop --model DIR [--out DIR] [--threads N] [--quiet]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exec.h"

int cli_run(int argc, char **argv)
{
    RunOptions o = {.log = stdout};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model") && i + 1 < argc) o.model_dir = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) o.out_dir = argv[++i];
        else if (!strcmp(a, "--name") && i + 1 < argc) o.model_label = argv[++i];
        else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 4096) return cli_usage("run", "--threads takes a positive number, got '%s'", argv[i]);
            o.threads = (int)n;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) o.quiet = 1;
        else if (a[0] == '-') return cli_usage("run", "unknown option '%s'", a);
        else if (!o.recipe_path) o.recipe_path = a;
        else return cli_usage("run", "unexpected argument '%s'", a);
    }
    if (!o.recipe_path || !o.model_dir)
        return cli_usage("run", "usage: kop run FILE.kop --model DIR [--out DIR] [--name NAME] [--threads N] [--quiet]");
    KopError err = {0};
    if (exec_run(&o, &err) < 0) return cli_report(&err);
    return 0;
}
