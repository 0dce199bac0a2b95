/* model.h: a checkpoint in Hugging Face layout, loaded for inference.
 *
 * A model directory holds config.json and model.safetensors (or shards
 * model-0000N-of-0000M.safetensors with model.safetensors.index.json), or,
 * when neither is there, torch's pytorch_model.bin (or its shards with
 * pytorch_model.bin.index.json; see torchbin.h).  model_load() reads
 * config.json (json-c), maps every weight file read-only, validates each
 * completely before any byte of tensor data is used, checks every tensor
 * the architecture needs against the shapes the config implies, and fills
 * the per-layer weight pointers below.
 *
 * Ownership: the Model owns its mappings and any converted buffers (F16 and
 * BF16 tensors are converted to fp32 once, at load).  Every weight pointer is
 * fp32, row-major, read-only, and valid until model_free().  Interventions
 * never write to weights.
 *
 * Accepted layouts:
 *  - Mamba-1: HF `MambaForCausalLM` (model_type "mamba": hidden_size,
 *    intermediate_size, state_size, conv_kernel, time_step_rank, ...) and the
 *    original mamba_ssm layout (d_model, n_layer, ssm_cfg; tensor prefix
 *    backbone.embedding instead of backbone.embeddings).
 *  - Mamba-2: HF `Mamba2ForCausalLM` (model_type "mamba2") and mamba_ssm's
 *    (ssm_cfg.layer == "Mamba2").
 *  - GPT-2: HF `GPT2LMHeadModel`, tensor names with or without "transformer.".
 * A tied lm_head absent from the file uses the embedding. */
#ifndef KOP_MODEL_H
#define KOP_MODEL_H

#include <stddef.h>
#include "util.h"

typedef enum { ARCH_MAMBA1 = 1, ARCH_MAMBA2 = 2, ARCH_GPT2 = 3 } Arch;

const char *arch_name(Arch a); /* "mamba1", "mamba2", "gpt2" */
Arch arch_from_name(const char *s); /* 0 for anything else */

typedef struct Config {
    Arch arch;
    int d_model;        /* hidden_size / n_embd / d_model */
    int n_layer;
    int vocab_size;     /* rows of the embedding matrix (padded vocab) */
    int vocab_padding;  /* rows of those past config.json's vocab_size (mamba_ssm's
                         * pad_vocab_size_multiple); their logits are computed all the same */
    float norm_eps;     /* layer_norm_epsilon */
    int tie_embeddings;
    /* Mamba-1 and Mamba-2 */
    int d_inner;        /* expand * d_model (Mamba-2: n_heads * head_dim) */
    int d_state;        /* N */
    int d_conv;         /* conv_kernel */
    int conv_bias;      /* use_conv_bias */
    int proj_bias;      /* use_bias (in_proj and out_proj) */
    int dt_rank;        /* Mamba-1 only */
    /* Mamba-2 only */
    int n_heads, head_dim, n_groups, chunk_size;
    float dt_limit_lo, dt_limit_hi; /* time_step_limit; hi may be +INFINITY */
    /* GPT-2 only */
    int n_head;         /* attention heads */
    int n_ctx;          /* n_positions: rows of wpe */
    int n_inner;        /* MLP width (n_inner or 4 * n_embd) */
} Config;

/* Mamba-1 block (HF names under backbone.layers.N.) */
typedef struct Mamba1Layer {
    const float *norm;       /* (d_model)                  norm.weight */
    const float *in_proj;    /* (2*d_inner, d_model)       mixer.in_proj.weight: rows [x | z] */
    const float *in_proj_b;  /* (2*d_inner) or NULL */
    const float *conv_w;     /* (d_inner, d_conv)          mixer.conv1d.weight (d_inner,1,d_conv) */
    const float *conv_b;     /* (d_inner) or NULL */
    const float *x_proj;     /* (dt_rank+2*d_state, d_inner) rows [dt | B | C] */
    const float *dt_proj_w;  /* (d_inner, dt_rank) */
    const float *dt_proj_b;  /* (d_inner) */
    const float *A_log;      /* (d_inner, d_state) */
    const float *A_t;        /* (d_state, d_inner) -exp(A_log) transposed, the scans' layout (model_derive) */
    const float *D;          /* (d_inner) */
    const float *out_proj;   /* (d_model, d_inner) */
    const float *out_proj_b; /* (d_model) or NULL */
} Mamba1Layer;

/* Mamba-2 block */
typedef struct Mamba2Layer {
    const float *norm;       /* (d_model) */
    const float *in_proj;    /* (2*d_inner + 2*n_groups*d_state + n_heads, d_model): rows [z | xBC | dt] */
    const float *in_proj_b;  /* or NULL */
    const float *conv_w;     /* (conv_dim, d_conv), conv_dim = d_inner + 2*n_groups*d_state */
    const float *conv_b;     /* (conv_dim) or NULL */
    const float *dt_bias;    /* (n_heads) */
    const float *A_log;      /* (n_heads) */
    const float *D;          /* (n_heads) */
    const float *gnorm;      /* (d_inner) gated RMSNorm weight, mixer.norm.weight */
    const float *out_proj;   /* (d_model, d_inner) */
    const float *out_proj_b; /* or NULL */
} Mamba2Layer;

/* GPT-2 block (h.N.); Conv1D weights are stored [in, out] */
typedef struct Gpt2Layer {
    const float *ln1_w, *ln1_b;           /* (C) */
    const float *attn_w, *attn_b;         /* (C, 3C), (3C)  c_attn */
    const float *attn_proj_w, *attn_proj_b; /* (C, C), (C)  attn.c_proj */
    const float *ln2_w, *ln2_b;           /* (C) */
    const float *fc_w, *fc_b;             /* (C, n_inner), (n_inner)  mlp.c_fc */
    const float *fc_proj_w, *fc_proj_b;   /* (n_inner, C), (C)  mlp.c_proj */
} Gpt2Layer;

typedef struct Model {
    Config cfg;
    char *dir;               /* the model directory as given */
    const float *embed;      /* (vocab_size, d_model)  embeddings / wte */
    const float *pos_embed;  /* (n_ctx, d_model)  GPT-2 wpe; NULL otherwise */
    const float *norm_f;     /* (d_model) final norm weight */
    const float *norm_f_b;   /* (d_model) GPT-2 ln_f bias; NULL otherwise */
    const float *lm_head;    /* (vocab_size, d_model); == embed when tied */
    const float *lm_head_t;  /* (d_model, vocab_size) lm_head transposed (model_derive): BLIS packs
                              * this layout faster for the wide vocabulary product */
    Mamba1Layer *mamba1;     /* (n_layer) when arch == ARCH_MAMBA1, else NULL */
    Mamba2Layer *mamba2;     /* (n_layer) when arch == ARCH_MAMBA2 */
    Gpt2Layer *gpt2;         /* (n_layer) when arch == ARCH_GPT2 */
    char weight_dtype[8];    /* dtype of the stored weights: "F32", "F16", "BF16" (or "mixed") */
    size_t n_params;         /* parameters stored (a tied head counted once) */
    void *priv;              /* loader-owned storage (mappings, converted buffers) */
    float *derived;          /* model_derive's tensors, freed by model_free */
} Model;

/* Compute the tensors the forward passes use in another form than stored
 * (lm_head_t, Mamba-1's A_t), once per model rather than once per call.
 * Called by model_load; a model built by hand (bench/) calls it itself. */
void model_derive(Model *m);

/* Free what every Model owns whoever built it (layer tables, dir, derived)
 * and clear *m; the builder frees priv first.  model_free calls it. */
void model_release(Model *m);

/* Read only config.json of DIR (no weights): for `kop check --model`. */
int config_load(Config *cfg, const char *dir, KopError *err);

/* Load DIR; on failure err names the file and what is wrong (status 1 for a
 * bad model, 2 for an I/O error) and *m is left freed. */
int model_load(Model *m, const char *dir, KopError *err);
void model_free(Model *m);

#endif
