/* cli_tokenize.c: `kop tokenize DIR|FILE --text TEXT [--offsets] [--no-special]`.
 * Prints the ids kop feeds a model for TEXT on one line, separated by
 * spaces: the text's tokens inside the special tokens of the tokenizer's
 * template (a Llama BOS, say); --no-special leaves those out.  With
 * --offsets a second line of start:end byte ranges into TEXT (see
 * tokenizer.h; a special token's range is empty). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tokenizer.h"

enum { OPT_TEXT, OPT_OFFSETS, OPT_NO_SPECIAL };
static const CliOption options[] = {
    [OPT_TEXT] = {"text", 0, "TEXT", "the text to encode (UTF-8)"},
    [OPT_OFFSETS] = {"offsets", 0, NULL, "also print each token's start:end byte range in TEXT"},
    [OPT_NO_SPECIAL] = {"no-special", 0, NULL, "leave out the template's special tokens (BOS, EOS)"},
    {0},
};

static int tokenize_main(const CliArg *args, int n_args)
{
    const char *path = NULL, *text = NULL;
    int offsets = 0, special = 1;
    for (int i = 0; i < n_args; i++) {
        if (args[i].opt == OPT_TEXT) text = args[i].value;
        else if (args[i].opt == OPT_OFFSETS) offsets = 1;
        else if (args[i].opt == OPT_NO_SPECIAL) special = 0;
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
    int n = special ? tokenizer_encode_special(t, text, strlen(text), &ids, &offs, NULL, &err)
                    : tokenizer_encode(t, text, strlen(text), &ids, &offs, &err);
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
    .synopsis = "DIR|FILE --text=TEXT [--offsets] [--no-special]",
    .summary = "the token ids (and byte offsets) of a text",
    .description =
        "Encode TEXT with the tokenizer of the model folder DIR (its tokenizer.json,\n"
        "else vocab.json and merges.txt) or with the tokenizer FILE, and print the\n"
        "token ids kop feeds the model on one line: the text's tokens inside the\n"
        "special tokens of the tokenizer's template (a Llama BOS, say).",
    .options = options,
    .run = tokenize_main,
};
