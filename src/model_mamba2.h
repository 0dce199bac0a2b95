/* model_mamba2.h: the weights of one Mamba-2 layer (Model.layers of a mamba2 model). */
#ifndef KOP_MODEL_MAMBA2_H
#define KOP_MODEL_MAMBA2_H

#include "model.h"

/* Mamba-2 block */
typedef struct Mamba2Layer {
    const float *norm;       /* (d_model) */
    KernMat in_proj;         /* (2*d_inner + 2*n_groups*d_state + n_heads, d_model): rows [z | xBC | dt] */
    const float *in_proj_b;  /* or NULL */
    const float *conv_w;     /* (conv_dim, d_conv), conv_dim = d_inner + 2*n_groups*d_state */
    const float *conv_b;     /* (conv_dim) or NULL */
    const float *dt_bias;    /* (n_heads) */
    const float *A_log;      /* (n_heads) */
    const float *D;          /* (n_heads) */
    const float *gnorm;      /* (d_inner) gated RMSNorm weight, mixer.norm.weight */
    KernMat out_proj;        /* (d_model, d_inner) */
    const float *out_proj_b; /* or NULL */
} Mamba2Layer;

#endif
