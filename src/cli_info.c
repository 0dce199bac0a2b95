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
    printf("lm_head: %s\n", m->lm_head.data == m->embed.data ? "tied" : "separate");
    printf("params: %zu\n", m->n_params);
    printf("dtype: %s\n", m->weight_dtype);
    double mib = 1.0 / (1 << 20), derived = sizeof(float) * (double)model_derived_floats(c);
    printf("weight_memory: %.1f MiB (%.1f MiB used in place from the files, %.1f MiB copied: converted or "
           "realigned; kop run adds %.1f MiB derived)\n",
           (double)(m->bytes_mapped + m->bytes_copied) * mib, (double)m->bytes_mapped * mib,
           (double)m->bytes_copied * mib, derived * mib);
}

static int info_main(const CliArg *args, int n)
{
    if (n != 1) return cli_usage("info", "expected one model directory, got %d arguments", n);
    Model m;
    KopError err = {0};
    if (model_load_flags(&m, args[0].value, MODEL_LOAD_DESCRIBE, &err) < 0) return cli_report(&err);
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
        "pad_vocab_size_multiple).  weight_memory is what the weights take in memory:\n"
        "weight matrices stay in the file's dtype (F32 in place, BF16 and F16 two bytes\n"
        "an element), small tensors stored in BF16 or F16 are converted to F32, and an\n"
        "F32 tensor that is not 64-byte aligned in its file is copied to aligned memory\n"
        "by kop run (BLIS is about 10 % slower on it).  kop info itself reads only the\n"
        "files' headers.",
    .options = options,
    .run = info_main,
};
