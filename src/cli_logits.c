/* cli_logits.c: `kop logits DIR --ids I,J,.. [--all]` prints the logits of
 * the last position (or of every position, one line each) with 9 significant
 * digits, enough to round-trip every fp32 value. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "forward.h"

enum { OPT_IDS, OPT_ALL };
static const CliOption options[] = {
    [OPT_IDS] = {"ids", 0, "I,J,...", "the token ids of the input, comma-separated"},
    [OPT_ALL] = {"all", 0, NULL, "print the logits of every position, one line each"},
    {0},
};

static int logits_main(const CliArg *args, int n)
{
    const char *dir = NULL, *ids_arg = NULL;
    int all = 0;
    for (int i = 0; i < n; i++) {
        if (args[i].opt == OPT_IDS) ids_arg = args[i].value;
        else if (args[i].opt == OPT_ALL) all = 1;
        else if (!dir) dir = args[i].value;
        else return cli_usage("logits", "unexpected argument '%s'", args[i].value);
    }
    if (!dir) return cli_usage("logits", "expected a model directory");
    if (!ids_arg) return cli_usage("logits", "give the input with --ids I,J,...");

    KopError err = {0};
    int *ids = NULL;
    int T = cli_parse_ids(ids_arg, &ids, &err);
    if (T < 0) return cli_report(&err);
    Model m;
    if (model_load(&m, dir, &err) < 0) {
        free(ids);
        return cli_report(&err);
    }
    int V = m.cfg.vocab_size, rows = all ? T : 1;
    float *logits = kop_xmalloc((size_t)rows * V * sizeof(float));
    ForwardReq req = {.ids = ids, .T = T, .all_positions = all, .logits = logits};
    int status = 0;
    long bad = -1;
    if (model_forward(&m, &req, &err) < 0) status = cli_report(&err);
    else if ((bad = kop_first_nonfinite(logits, (size_t)rows * V)) >= 0) {
        kop_fail(&err, KOP_EXIT_DATA,
                 "%s: the logits are not finite (%g for token %ld at position %ld): the weights hold NaN or "
                 "infinite values, or the activations overflow",
                 dir, logits[bad], bad % V, all ? bad / V : T - 1);
        status = cli_report(&err);
    } else
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < V; v++)
                printf("%.9g%c", logits[(size_t)r * V + v], v + 1 < V ? ' ' : '\n');
    free(logits);
    free(ids);
    model_free(&m);
    return status;
}

const CliCommand cli_logits = {
    .name = "logits",
    .synopsis = "DIR --ids=I,J,... [--all]",
    .summary = "the logits of the last position (or of every position) for token ids",
    .description =
        "Run the model in DIR on the token ids and print the logits of the last\n"
        "position, space-separated, with 9 significant digits (enough to round-trip\n"
        "every fp32 value).",
    .options = options,
    .run = logits_main,
};
