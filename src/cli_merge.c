/* cli_merge.c: `kop merge OUT DIR...` (src/merge.h). */
#include <stdio.h>

#include "cli.h"
#include "merge.h"

static int merge_main(const CliArg *args, int n)
{
    if (n < 2) return cli_usage("merge", "expected the output folder and at least one shard folder");
    char **dirs = kop_xmalloc(sizeof *dirs * (size_t)n);
    for (int i = 1; i < n; i++) dirs[i - 1] = (char *)args[i].value;
    KopError err = {0};
    int rc = merge_run(args[0].value, dirs, n - 1, stdout, &err) < 0 ? cli_report(&err) : KOP_EXIT_OK;
    free(dirs);
    return rc;
}

static const CliOption options[] = {{0}};

const CliCommand cli_merge = {
    .name = "merge",
    .synopsis = "OUT DIR...",
    .summary = "join the shards of a run (kop run --shard I/N) into its results",
    .description =
        "Join the folders DIR... of the N shards of one run (kop run --shard I/N, each\n"
        "complete) into OUT: rows.csv, summary.csv and the recipe's figures, the same\n"
        "bytes as the run gives in one piece, and a manifest.yaml.",
    .options = options,
    .run = merge_main,
};
