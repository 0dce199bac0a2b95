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

int cli_tokenize(int argc, char **argv)
{
    const char *path = NULL, *text = NULL;
    int offsets = 0, special = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--text") && i + 1 < argc) text = argv[++i];
        else if (!strcmp(argv[i], "--offsets")) offsets = 1;
        else if (!strcmp(argv[i], "--no-special")) special = 0;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage("tokenize", "unknown or incomplete option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return cli_usage("tokenize", "unexpected argument '%s'", argv[i]);
    }
    if (!path || !text)
        return cli_usage("tokenize", "usage: kop tokenize DIR|FILE --text TEXT [--offsets] [--no-special]");
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
