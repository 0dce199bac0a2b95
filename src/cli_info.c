/* cli_info.c: `kop info DIR` loads a model (so every check of model_load
 * runs) and prints what it found, one `key: value` per line.  Keys are
 * stable (tests and scripts grep them); the ones that belong to one
 * architecture appear only for it. */
#include "cli.h"
#include "arch.h"

#include <string.h>

static void print_model(const Model *m)
{
    const Config *c = &m->cfg;
    printf("model: %s\n", m->dir);
    printf("arch: %s\n", arch_name(c->arch));
    printf("d_model: %d\n", c->d_model);
    printf("n_layer: %d\n", c->n_layer);
    printf("vocab_size: %d\n", c->vocab_size);
    arch_ops(c->arch)->print_config(c, stdout);
    printf("norm_eps: %g\n", c->norm_eps);
    printf("lm_head: %s\n", m->lm_head == m->embed ? "tied" : "separate");
    printf("params: %zu\n", m->n_params);
    printf("dtype: %s\n", m->weight_dtype);
}

int cli_info(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: kop info DIR\n"
               "Load the model in DIR (config.json + safetensors) and print its architecture,\n"
               "dimensions, parameter count and weight dtype, one 'key: value' per line.\n");
        return KOP_EXIT_OK;
    }
    if (argc != 2) return cli_usage("info", "expected one model directory, got %d arguments", argc - 1);
    if (argv[1][0] == '-') return cli_usage("info", "unknown option '%s'", argv[1]);
    Model m;
    KopError err = {0};
    if (model_load(&m, argv[1], &err) < 0) return cli_report(&err);
    print_model(&m);
    model_free(&m);
    return KOP_EXIT_OK;
}
