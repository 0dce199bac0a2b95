/* cli_info.c: `kop info DIR` loads a model (so every check of model_load
 * runs) and prints what it found, one `key: value` per line.  Keys are
 * stable (tests and scripts grep them); the ones that belong to one
 * architecture appear only for it. */
#include "cli.h"
#include "model.h"

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
    switch (c->arch) {
    case ARCH_MAMBA1:
        printf("d_inner: %d\nd_state: %d\nd_conv: %d\ndt_rank: %d\n", c->d_inner, c->d_state, c->d_conv,
               c->dt_rank);
        break;
    case ARCH_MAMBA2:
        printf("d_inner: %d\nd_state: %d\nd_conv: %d\nn_heads: %d\nhead_dim: %d\nn_groups: %d\nchunk_size: %d\n",
               c->d_inner, c->d_state, c->d_conv, c->n_heads, c->head_dim, c->n_groups, c->chunk_size);
        printf("dt_limit: %g %g\n", c->dt_limit_lo, c->dt_limit_hi);
        break;
    case ARCH_GPT2:
        printf("n_head: %d\nhead_dim: %d\nn_ctx: %d\nn_inner: %d\n", c->n_head, c->d_model / c->n_head, c->n_ctx,
               c->n_inner);
        break;
    }
    if (c->arch != ARCH_GPT2)
        printf("conv_bias: %s\nproj_bias: %s\n", c->conv_bias ? "yes" : "no", c->proj_bias ? "yes" : "no");
    printf("norm_eps: %g\n", c->norm_eps);
    printf("lm_head: %s\n", m->lm_head == m->embed ? "tied" : "separate");
    printf("params: %zu\n", m->n_params);
    printf("dtype: %s\n", m->weight_dtype);
}

int cli_info(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: kop info DIR\n"
               "Load the model in DIR (config.json + safetensors or pytorch_model.bin) and print\n"
               "its architecture, dimensions, parameter count and weight dtype, one 'key: value'\n"
               "per line.  vocab_size counts every embedding row; vocab_padding says how many of\n"
               "them only pad the vocabulary (mamba_ssm's pad_vocab_size_multiple).\n");
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
