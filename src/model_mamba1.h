/* model_mamba1.h: the weights of one Mamba-1 layer (Model.layers of a mamba1 model). */
#ifndef KOP_MODEL_MAMBA1_H
#define KOP_MODEL_MAMBA1_H

#include "model.h"

/* Mamba-1 block (HF names under backbone.layers.N.) */
typedef struct Mamba1Layer {
    const float *norm;       /* (d_model)                  norm.weight */
    KernMat in_proj;         /* (2*d_inner, d_model)       mixer.in_proj.weight: rows [x | z] */
    const float *in_proj_b;  /* (2*d_inner) or NULL */
    const float *conv_w;     /* (d_inner, d_conv)          mixer.conv1d.weight (d_inner,1,d_conv) */
    const float *conv_b;     /* (d_inner) or NULL */
    KernMat x_proj;          /* (dt_rank+2*d_state, d_inner) rows [dt | B | C] */
    KernMat dt_proj_w;       /* (d_inner, dt_rank) */
    const float *dt_proj_b;  /* (d_inner) */
    const float *A_log;      /* (d_inner, d_state) */
    const float *A_t;        /* (d_state, d_inner) -exp(A_log) transposed, the scans' layout (model_derive) */
    const float *D;          /* (d_inner) */
    KernMat out_proj;        /* (d_model, d_inner) */
    const float *out_proj_b; /* (d_model) or NULL */
} Mamba1Layer;

#endif
