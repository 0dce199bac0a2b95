/* model_neox.h: the weights of one GPT-NeoX layer (Model.layers of a
 * gpt_neox model, Pythia). */
#ifndef KOP_MODEL_NEOX_H
#define KOP_MODEL_NEOX_H

#include "model.h"

/* GPT-NeoX layer (HF names under gpt_neox.layers.N.); nn.Linear weights
 * (out, in); I the MLP width.  Attention biases are NULL when
 * attention_bias is false. */
typedef struct NeoxLayer {
    const float *ln1_w, *ln1_b;      /* (C)  input_layernorm */
    KernMat qkv_w; const float *qkv_b;     /* (3C, C), (3C)  attention.query_key_value: rows per head [q k v] */
    KernMat dense_w; const float *dense_b; /* (C, C), (C)  attention.dense */
    const float *ln2_w, *ln2_b;      /* (C)  post_attention_layernorm */
    KernMat fc_w; const float *fc_b;       /* (I, C), (I)  mlp.dense_h_to_4h */
    KernMat proj_w; const float *proj_b;   /* (C, I), (C)  mlp.dense_4h_to_h */
} NeoxLayer;

#endif
