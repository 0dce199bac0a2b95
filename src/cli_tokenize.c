/* cli_tokenize.c: `kop tokenize DIR|FILE --text TEXT [--offsets]`.
 * Prints the ids on one line, separated by spaces; with --offsets a second
 * line of start:end byte ranges into TEXT (see tokenizer.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tokenizer.h"

enum { OPT_TEXT, OPT_OFFSETS };
static const CliOption options[] = {
    [OPT_TEXT] = {"text", 0, "TEXT", "the text to encode (UTF-8)"},
    [OPT_OFFSETS] = {"offsets", 0, NULL, "also print each token's start:end byte range in TEXT"},
    {0},
};

static int tokenize_main(const CliArg *args, int n_args)
{
    const char *path = NULL, *text = NULL;
    int offsets = 0;
    for (int i = 0; i < n_args; i++) {
        if (args[i].opt == OPT_TEXT) text = args[i].value;
        else if (args[i].opt == OPT_OFFSETS) offsets = 1;
        else if (!path) path = args[i].value;
        else return cli_usage("tokenize", "unexpected argument '%s'", args[i].value);
    }
    if (!path) return cli_usage("tokenize", "expected a model directory or a tokenizer file");
    if (!text) return cli_usage("tokenize", "give the text with --text TEXT");
    KopError err = {0, ""};
    Tokenizer *t = tokenizer_load(path, &err);
    if (!t) return cli_report(&err);
    int *ids = NULL;
    TokSpan *offs = NULL;
    int n = tokenizer_encode(t, text, strlen(text), &ids, &offs, &err);
    tokenizer_free(t);
    if (n < 0) {
        err.status = KOP_EXIT_USAGE;  // the text came from the command line
        return cli_report(&err);
    }
    for (int i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
    putchar('\n');
    if (offsets) {
        for (int i = 0; i < n; i++) printf("%s%zu:%zu", i ? " " : "", offs[i].start, offs[i].end);
        putchar('\n');
    }
    free(ids);
    free(offs);
    return KOP_EXIT_OK;
}

const CliCommand cli_tokenize = {
    .name = "tokenize",
    .synopsis = "DIR|FILE --text=TEXT [--offsets]",
    .summary = "the token ids (and byte offsets) of a text",
    .description =
        "Encode TEXT with the tokenizer of the model folder DIR (its tokenizer.json,\n"
        "else vocab.json and merges.txt) or with the tokenizer FILE, and print the\n"
        "token ids on one line.",
    .options = options,
    .run = tokenize_main,
};
