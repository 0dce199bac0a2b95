/* model_llama.h: the weights of one Llama / Mistral layer (Model.layers of a
 * llama or mistral model). */
#ifndef KOP_MODEL_LLAMA_H
#define KOP_MODEL_LLAMA_H

#include "model.h"

/* Llama decoder layer (HF names under model.layers.N.); nn.Linear weights
 * (out, in); NH query heads and NKV key/value heads of HS dims; I the MLP
 * width.  Biases are NULL unless attention_bias / mlp_bias. */
typedef struct LlamaLayer {
    const float *attn_norm;          /* (C)  input_layernorm.weight */
    KernMat wq; const float *bq;           /* (NH*HS, C), (NH*HS)  self_attn.q_proj */
    KernMat wk; const float *bk;           /* (NKV*HS, C), (NKV*HS)  self_attn.k_proj */
    KernMat wv; const float *bv;           /* (NKV*HS, C), (NKV*HS)  self_attn.v_proj */
    KernMat wo; const float *bo;           /* (C, NH*HS), (C)  self_attn.o_proj */
    const float *mlp_norm;           /* (C)  post_attention_layernorm.weight */
    KernMat w_gate; const float *b_gate;   /* (I, C), (I)  mlp.gate_proj */
    KernMat w_up; const float *b_up;       /* (I, C), (I)  mlp.up_proj */
    KernMat w_down; const float *b_down;   /* (C, I), (C)  mlp.down_proj */
} LlamaLayer;

#endif
