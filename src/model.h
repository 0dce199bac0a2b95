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
 * Ownership: the Model owns its mappings and any buffers it made.  Weight
 * matrices (KernMat: the embedding, the head and every projection) stay in
 * the dtype of the file, F32 in place in the mapping and F16 or BF16 two
 * bytes an element, widened by the products as they use them (kernels.h);
 * so a BF16 model needs about its file size in memory.  The small tensors
 * (norms, biases, convolutions, SSM parameters) are fp32 pointers, converted
 * once at load when stored in another dtype.  Everything is row-major,
 * read-only and valid until model_free(); interventions never write to
 * weights.
 *
 * Accepted layouts:
 *  - Mamba-1: HF `MambaForCausalLM` (model_type "mamba": hidden_size,
 *    intermediate_size, state_size, conv_kernel, time_step_rank, ...) and the
 *    original mamba_ssm layout (d_model, n_layer, ssm_cfg; tensor prefix
 *    backbone.embedding instead of backbone.embeddings).
 *  - Falcon-Mamba: HF `FalconMambaForCausalLM` (model_type "falcon_mamba"):
 *    Mamba-1 names and keys plus mixer_rms_eps; run by the Mamba-1 code with
 *    Config.bcdt_norm set.
 *  - Mamba-2: HF `Mamba2ForCausalLM` (model_type "mamba2") and mamba_ssm's
 *    (ssm_cfg.layer == "Mamba2").
 *  - GPT-2: HF `GPT2LMHeadModel`, tensor names with or without "transformer.".
 *  - Llama and Mistral: HF `LlamaForCausalLM` / `MistralForCausalLM`
 *    (model_type "llama" / "mistral"), GPT-NeoX: HF `GPTNeoXForCausalLM`
 *    (model_type "gpt_neox", Pythia).
 * A tied lm_head absent from the file uses the embedding. */
#ifndef KOP_MODEL_H
#define KOP_MODEL_H

#include <stddef.h>
#include "kernels.h"
#include "util.h"

typedef enum {
    ARCH_MAMBA1 = 1, ARCH_MAMBA2 = 2, ARCH_GPT2 = 3, ARCH_FALCON_MAMBA = 4, ARCH_LLAMA = 5, ARCH_MISTRAL = 6, ARCH_NEOX = 7
} Arch;

/* The family's name ("mamba1", ...; arch.h) and back (0 for anything else). */
const char *arch_name(Arch a);
Arch arch_from_name(const char *s);

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
    int bcdt_norm;      /* Falcon-Mamba: dt, B and C each through a weightless RMSNorm after x_proj */
    float mixer_rms_eps; /* its eps */
    /* Mamba-2 (head_dim also the attention families') */
    int n_heads, head_dim, n_groups, chunk_size;
    float dt_limit_lo, dt_limit_hi; /* time_step_limit; hi may be +INFINITY */
    /* GPT-2 and the rotary attention families */
    int n_head;         /* attention (query) heads */
    int n_ctx;          /* GPT-2 n_positions: rows of wpe; 0 = no limit (rotary) */
    int n_inner;        /* MLP width (n_inner or 4 * n_embd; intermediate_size) */
    /* Llama, Mistral, GPT-NeoX: rotary attention */
    int n_kv_head;      /* key/value heads (num_key_value_heads; == n_head without GQA) */
    int rope_dims;      /* dims of each head that rotate (head_dim; NeoX: head_dim * rotary_pct) */
    float rope_theta;   /* rope_theta / rotary_emb_base */
    /* rope_scaling of type llama3; rope_factor 0 = none */
    float rope_factor, rope_low_freq, rope_high_freq, rope_orig_ctx;
    int sliding_window; /* Mistral: a query sees its last sliding_window keys; 0 = all */
    int attn_bias;      /* attention projections carry biases (attention_bias) */
    int mlp_bias;       /* Llama mlp_bias */
    int parallel_residual; /* NeoX use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x)) */
} Config;

typedef struct Model {
    Config cfg;
    char *dir;               /* the model directory as given */
    KernMat embed;           /* (vocab_size, d_model)  embeddings / wte */
    const float *pos_embed;  /* (n_ctx, d_model)  GPT-2 wpe; NULL otherwise */
    const float *norm_f;     /* (d_model) final norm weight */
    const float *norm_f_b;   /* (d_model) GPT-2 ln_f / GPT-NeoX final_layer_norm bias; NULL otherwise */
    KernMat lm_head;         /* (vocab_size, d_model); the embedding's data when tied */
    void *layers;            /* (n_layer) the family's layer table (Mamba1Layer, ... in model_*.h) */
    char weight_dtype[8];    /* dtype of the stored weights: "F32", "F16", "BF16" (or "mixed") */
    size_t n_params;         /* parameters stored (a tied head counted once) */
    size_t bytes_mapped;     /* weight bytes used in place from the files' mappings */
    size_t bytes_copied;     /* weight bytes the loader converted or realigned into its own buffers */
    void *priv;              /* loader-owned storage (mappings, converted buffers) */
    float *derived;          /* model_derive's tensors, freed by model_free */
} Model;

/* Compute the tensors the forward passes use in another form than stored
 * (Mamba-1's A_t, the rotary frequencies), once per model rather than once
 * per call.  Called by model_load unless MODEL_LOAD_DESCRIBE; a model built
 * by hand (bench/) calls it itself. */
void model_derive(Model *m);
/* Floats model_derive allocates for M's config. */
size_t model_derived_floats(const Config *c);

/* Free what every Model owns whoever built it (layer tables, dir, derived)
 * and clear *m; the builder frees priv first.  model_free calls it. */
void model_release(Model *m);

/* Read only config.json of DIR (no weights): for `kop check --model`. */
int config_load(Config *cfg, const char *dir, KopError *err);

/* Load DIR; on failure err names the file and what is wrong (status 1 for a
 * bad model, 2 for an I/O error) and *m is left freed. */
int model_load(Model *m, const char *dir, KopError *err);
/* model_load with flags.  MODEL_LOAD_DESCRIBE, for callers that describe
 * the model without running it (`kop info`): no model_derive, and no F32
 * weight copied to aligned memory (bytes_copied counts those a run copies
 * all the same), so that nothing but the headers is read. */
enum { MODEL_LOAD_DESCRIBE = 1 };
int model_load_flags(Model *m, const char *dir, int flags, KopError *err);
void model_free(Model *m);

#endif
