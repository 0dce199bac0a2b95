/* safetensors.h: read-only access to one .safetensors file.
 *
 * The format: an unsigned 64-bit little-endian header length N, then N bytes
 * of JSON (an object mapping each tensor name to {"dtype", "shape",
 * "data_offsets": [begin, end]}, plus an optional "__metadata__" object of
 * strings), then the data section.  Offsets are relative to the start of the
 * data section, and the header may be padded with trailing spaces.
 *
 * The format has no magic number or checksum, so st_open() trusts nothing: it
 * maps the file (PROT_READ, MAP_PRIVATE) and checks, before returning, that
 * the header length fits in the file, the header is a JSON object, every
 * dtype is one the format defines, every shape times the dtype size equals
 * its byte range (without overflowing), every range lies inside the data
 * section and no two ranges overlap.  After a successful st_open() every
 * StTensor.data points at exactly nbytes readable bytes.
 *
 * Dtypes are split in two: all the ones the format defines are "known" (an
 * unknown one makes the whole file invalid), but only F32, F16 and BF16 can
 * be read as weights (st_tensor_f32); the others (I64, F64, U8, BOOL, ...)
 * are rejected by name when a caller asks for such a tensor.
 *
 * Ownership: the StFile owns its mapping, its tensor table and the names in
 * it; st_close() releases them all.  st_tensor_f32() may return memory the
 * caller then owns (see there). */
#ifndef KOP_SAFETENSORS_H
#define KOP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "kernels.h"
#include "util.h"

#define ST_MAX_DIMS 8

typedef enum {
    ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_F8_E8M0,
    ST_I16, ST_U16, ST_F16, ST_BF16,
    ST_I32, ST_U32, ST_F32,
    ST_I64, ST_U64, ST_F64,
    ST_N_DTYPES
} StDtype;

typedef struct StTensor {
    const char *name;              /* owned by the StFile */
    StDtype dtype;
    int ndim;                      /* 0 (a scalar) .. ST_MAX_DIMS */
    int64_t shape[ST_MAX_DIMS];
    uint64_t numel;                /* product of shape (1 for a scalar) */
    const unsigned char *data;     /* into the mapping: nbytes bytes */
    size_t nbytes;
} StTensor;

typedef struct StFile {
    char *path;
    void *map;                     /* the whole file, read-only */
    size_t map_len;
    StTensor *tensors;             /* sorted by name (st_find bisects) */
    int n_tensors;
    void *views;                   /* torch .bin files (torchbin.h): the tensors that are not
                                    * contiguous in the file, copied contiguous; or NULL */
} StFile;

/* Map and validate PATH.  On failure err says what is wrong with which file
 * (KOP_EXIT_DATA for a malformed file, KOP_EXIT_USAGE for open or mmap
 * failures) and *f is left closed. */
int st_open(StFile *f, const char *path, KopError *err);
void st_close(StFile *f);

/* The tensor called NAME, or NULL. */
const StTensor *st_find(const StFile *f, const char *name);

const char *st_dtype_name(StDtype d);   /* "F32", "BF16", ... */
size_t st_dtype_size(StDtype d);        /* bytes per element */

/* The tensor's values as fp32.  An F32 tensor that is aligned in the
 * mapping (4 bytes; KOP_ALIGN for one of KOP_ALIGN_FROM bytes or more, since
 * BLIS is markedly slower on weights that are not) is returned in place
 * (*owned = NULL); a misaligned F32 tensor is copied and F16 / BF16 tensors
 * are converted into a new buffer, returned
 * both as the result and in *owned, which the caller frees.  Any other dtype
 * fails with an error naming FILE's path, the tensor and its dtype. */
const float *st_tensor_f32(const StFile *f, const StTensor *t, float **owned, KopError *err);

/* Whether st_tensor_f32 copies this F32 tensor (its alignment). */
int st_f32_copied(const StTensor *t);
/* The tensor as a weight matrix in its stored dtype (kernels.h): an F32
 * tensor as st_tensor_f32 gives it (*owned as there), an F16 or BF16 one
 * always in place (*owned = NULL).  Any other dtype fails as in
 * st_tensor_f32. */
KernMat st_tensor_mat(const StFile *f, const StTensor *t, void **owned, KopError *err);
/* ST_F16 -> KERN_F16, ST_BF16 -> KERN_BF16, anything else KERN_F32. */
KernDtype st_kern_dtype(StDtype d);

#endif
