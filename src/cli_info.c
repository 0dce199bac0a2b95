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
    printf("vocab_padding: %d\n", c->vocab_padding);
    arch_ops(c->arch)->print_config(c, stdout);
    printf("norm_eps: %g\n", c->norm_eps);
    printf("lm_head: %s\n", m->lm_head == m->embed ? "tied" : "separate");
    printf("params: %zu\n", m->n_params);
    printf("dtype: %s\n", m->weight_dtype);
}

static int info_main(const CliArg *args, int n)
{
    if (n != 1) return cli_usage("info", "expected one model directory, got %d arguments", n);
    Model m;
    KopError err = {0};
    if (model_load(&m, args[0].value, &err) < 0) return cli_report(&err);
    print_model(&m);
    model_free(&m);
    return KOP_EXIT_OK;
}

static const CliOption options[] = {{0}};

const CliCommand cli_info = {
    .name = "info",
    .synopsis = "DIR",
    .summary = "a model's architecture, dimensions, parameter count and weight dtype",
    .description =
        "Load the model in DIR (config.json and safetensors or pytorch_model.bin, every\n"
        "check included) and print its architecture, dimensions, parameter count and\n"
        "weight dtype, one 'key: value' per line.  vocab_size counts every embedding\n"
        "row; vocab_padding says how many of them only pad the vocabulary (mamba_ssm's\n"
        "pad_vocab_size_multiple).",
    .options = options,
    .run = info_main,
};
