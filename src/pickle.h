/* pickle.h: a pickle interpreter that only builds data, for the data.pkl of
 * torch checkpoints.
 *
 * Python's unpickler is a small stack machine whose GLOBAL and REDUCE
 * opcodes import and call anything by name, which is how a pickle runs code
 * (GLOBAL 'posix system', REDUCE).  This interpreter has no way to call
 * anything: it knows protocol 2-5 opcodes for None, bools, ints, floats,
 * strings, bytes, tuples, lists and dicts (with the memo, marks and frames),
 * and a fixed allow-list of names a torch state dict needs, each of which is
 * "called" by building a value here, never by running code:
 *   collections.OrderedDict()               an empty dict
 *   torch.FloatStorage / HalfStorage / BFloat16Storage
 *                                            storage types (F32, F16, BF16),
 *                                            only inside a persistent id
 *   torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
 *       requires_grad, backward_hooks[, metadata])  a tensor view (PK_TENSOR)
 *   torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks)
 *                                            the same tensor
 * BINPERSID turns the tuple ('storage', type, key, location, numel) into a
 * PK_STORAGE, which names the archive entry data/<key>.  BUILD is accepted
 * only on a dict with a None or dict state (torch pickles a state dict's
 * _metadata attribute that way) and changes nothing.  Every other global,
 * a REDUCE on anything but the names above, backward hooks, and every other
 * opcode (INST, OBJ, NEWOBJ, EXT*, PERSID, ...) fail with the byte offset.
 *
 * Ownership: every value lives in the PkArena passed to pk_load and is freed
 * with it.  Values may be shared (the memo), and a list or dict may contain
 * itself, so walks over values must not recurse without a bound. */
#ifndef KOP_PICKLE_H
#define KOP_PICKLE_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define PK_MAX_DIMS 8

typedef enum {
    PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES,
    PK_TUPLE, PK_LIST, PK_DICT,
    PK_GLOBAL,     /* an allow-listed name (g) */
    PK_STORAGE,    /* a storage named by a persistent id (storage) */
    PK_TENSOR,     /* a view of a storage (tensor) */
} PkKind;

/* The allow-list. */
typedef enum {
    PKG_ORDERED_DICT, PKG_REBUILD_TENSOR_V2, PKG_REBUILD_PARAMETER,
    /* the storage types, in PkDtype's order: every one from here on */
    PKG_FLOAT_STORAGE, PKG_HALF_STORAGE, PKG_BFLOAT16_STORAGE, PKG_DOUBLE_STORAGE,
    PKG_BOOL_STORAGE, PKG_BYTE_STORAGE, PKG_CHAR_STORAGE, PKG_SHORT_STORAGE, PKG_INT_STORAGE, PKG_LONG_STORAGE,
    PKG_N
} PkGlobal;

/* A storage's elements.  Weights are the first three; the others are data
 * a state dict may carry beside them (GPT-NeoX's bool attention masks, int
 * counters), read as such and refused only if used as a weight. */
typedef enum { PK_F32, PK_F16, PK_BF16, PK_F64, PK_B8, PK_U8, PK_I8, PK_I16, PK_I32, PK_I64 } PkDtype;

typedef struct PkValue PkValue;

typedef struct PkStorage {
    PkDtype dtype;
    const char *key;           /* the archive entry is <top>/data/<key> */
    int64_t numel;             /* elements, as the persistent id says */
} PkStorage;

typedef struct PkTensor {
    const PkStorage *storage;
    int64_t offset;            /* in elements */
    int ndim;
    int64_t size[PK_MAX_DIMS];
    int64_t stride[PK_MAX_DIMS];  /* in elements; checked by the caller against the storage */
} PkTensor;

struct PkValue {
    PkKind kind;
    union {
        int b;                 /* PK_BOOL */
        int64_t i;             /* PK_INT (ints beyond 64 bits are refused) */
        double f;              /* PK_FLOAT */
        struct { const char *s; size_t len; } str;   /* PK_STR, PK_BYTES: NUL-terminated copy */
        struct { PkValue **items; size_t n, cap; } seq; /* PK_TUPLE, PK_LIST; PK_DICT: key, value, key, ... */
        PkGlobal g;
        PkStorage storage;
        PkTensor tensor;
    } u;
};

typedef struct PkArena PkArena;
PkArena *pk_arena_new(void);
void pk_arena_free(PkArena *a);

/* Run the pickle BUF[0..LEN) and return the value STOP leaves, or NULL with
 * err (KOP_EXIT_DATA) saying "WHERE at byte N: what".  A dict's pairs are
 * kept in order, duplicates included (the caller decides). */
PkValue *pk_load(PkArena *a, const unsigned char *buf, size_t len, const char *where, KopError *err);

/* "None", "int", "dict", "tensor", ... for messages. */
const char *pk_kind_name(PkKind k);
/* "collections.OrderedDict", ... */
const char *pk_global_name(PkGlobal g);

#endif
