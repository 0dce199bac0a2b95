/* model_gpt2.h: the weights of one GPT-2 layer (Model.layers of a gpt2 model). */
#ifndef KOP_MODEL_GPT2_H
#define KOP_MODEL_GPT2_H

#include "model.h"

/* GPT-2 block (h.N.); Conv1D weights are stored [in, out] */
typedef struct Gpt2Layer {
    const float *ln1_w, *ln1_b;           /* (C) */
    KernMat attn_w; const float *attn_b;        /* (C, 3C), (3C)  c_attn */
    KernMat attn_proj_w; const float *attn_proj_b; /* (C, C), (C)  attn.c_proj */
    const float *ln2_w, *ln2_b;           /* (C) */
    KernMat fc_w; const float *fc_b;            /* (C, n_inner), (n_inner)  mlp.c_fc */
    KernMat fc_proj_w; const float *fc_proj_b;  /* (n_inner, C), (C)  mlp.c_proj */
} Gpt2Layer;

#endif
