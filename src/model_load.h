/* model_load.h: the loader's interface to the model files (internal).
 *
 * A family's bind() (arch.h) asks for each tensor by name with the shape
 * the config implies; the loader finds it (through the shard index when
 * there is one), checks the shape and returns its data: as fp32 for the
 * small tensors (loadp_get), in the file's dtype for weight matrices
 * (loadp_mat).  The first
 * error is the one reported, and every later call returns NULL, so bind()
 * reads straight through without checking each result. */
#ifndef KOP_MODEL_LOAD_H
#define KOP_MODEL_LOAD_H

#include <stdint.h>

#include "arch.h"

/* The tensor named by FMT..., which must exist with exactly the shape
 * (ndim, shape); its fp32 data, or NULL after recording an error. */
const float *loadp_get(ModelLoader *L, int ndim, const int64_t *shape, const char *fmt, ...) KOP_PRINTF(4, 5);
/* The same for a weight matrix, kept in its stored dtype (kernels.h);
 * {NULL} after an error. */
KernMat loadp_mat(ModelLoader *L, int ndim, const int64_t *shape, const char *fmt, ...) KOP_PRINTF(4, 5);
/* Whether the tensor named by FMT... exists (without using it). */
int loadp_present(ModelLoader *L, const char *fmt, ...) KOP_PRINTF(2, 3);
/* Record an error about the model (the first one wins). */
void loadp_fail(ModelLoader *L, const char *fmt, ...) KOP_PRINTF(2, 3);
/* The file errors about missing tensors name: the shard index or the one file. */
const char *loadp_where(const ModelLoader *L);

/* Shapes as arguments of loadp_get(): loadp_get(L, S2(rows, cols), "name") */
#define S1(a) 1, (const int64_t[]){(a)}
#define S2(a, b) 2, (const int64_t[]){(a), (b)}
#define S3(a, b, c) 3, (const int64_t[]){(a), (b), (c)}

/* Mamba families: the embedding (HF "embeddings", mamba_ssm "embedding")
 * and the final norm, shared by Mamba-1 and Mamba-2. */
void loadp_mamba_common(ModelLoader *L, Model *m);

#endif
