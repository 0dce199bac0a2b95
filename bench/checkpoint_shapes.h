/* checkpoint_shapes.h: what bench/checkpoint writes for each shape it knows.
 *
 * A shape is a published checkpoint's architecture: its config.json as the
 * Hugging Face hub has it (the same keys and values, so kop reads the file
 * exactly as it reads the real one; only torch_dtype follows the dtype
 * written) and its tensors, named and shaped as transformers' save_pretrained
 * writes them, in the order of the model's state_dict.  Each tensor carries
 * how its random values are drawn, in the ranges bench/random_model.c uses:
 * uniform weights of a small standard deviation, norms at 1, biases at 0,
 * Mamba's dt bias the inverse softplus of a log-uniform dt in
 * [0.001, 0.1] and its A_log the usual log(1..N) (Mamba-2: log of U[1, 16]),
 * so activations stay finite and far from denormals through every layer.
 *
 * Shapes: mamba-130m, mamba-2.8b (state-spaces/mamba-*-hf), falcon-mamba-7b
 * (tiiuae), mamba2-130m, mamba2-2.7b (state-spaces/mamba2-*, in the
 * transformers Mamba2Config form), gpt2, gpt2-medium, gpt2-xl
 * (openai-community), and tiny ones of each family for tests
 * (mamba-tiny, falcon-mamba-tiny, mamba2-tiny, gpt2-tiny). */
#ifndef KOP_BENCH_CHECKPOINT_SHAPES_H
#define KOP_BENCH_CHECKPOINT_SHAPES_H

#include <stdint.h>
#include <stdio.h>

/* How a tensor's values are drawn (see the header). */
typedef enum {
    INIT_UNIFORM,  /* uniform, mean 0, standard deviation `value` */
    INIT_CONST,    /* every element `value` */
    INIT_DT_BIAS,  /* inverse softplus of dt, log-uniform in [0.001, 0.1] */
    INIT_A_LOG_S,  /* Mamba-1: row e, column n holds log(n + 1); `value` = d_state */
    INIT_A_LOG_H,  /* Mamba-2: log(U[1, 16]) per head */
} CkptInit;

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[4];
    CkptInit init;
    float value;
} CkptTensor;

typedef struct {
    const char *name;
    int family;   /* CKPT_MAMBA, CKPT_FALCON_MAMBA, CKPT_MAMBA2, CKPT_GPT2 */
    int d_model, n_layer, vocab;
    int d_inner, d_state, dt_rank;      /* Mamba-1 and Falcon-Mamba */
    int n_heads, head_dim, n_groups;    /* Mamba-2 (d_state above too) */
    int n_head, n_ctx;                  /* GPT-2 */
    const char *version;                /* transformers_version in the hub's config */
} CkptShape;

enum { CKPT_MAMBA, CKPT_FALCON_MAMBA, CKPT_MAMBA2, CKPT_GPT2 };

/* The shape named `name`, or NULL. */
const CkptShape *ckpt_shape(const char *name);
/* The names of all shapes, comma separated. */
const char *ckpt_shape_names(void);
/* config.json for shape s with n_layer layers, torch_dtype `torch_dtype`. */
void ckpt_write_config(FILE *f, const CkptShape *s, int n_layer, const char *torch_dtype);
/* The tensors of s with n_layer layers, in state_dict order; *n receives
 * their number.  The caller frees the array. */
CkptTensor *ckpt_tensors(const CkptShape *s, int n_layer, int *n);

#endif
