/* pickle.c: the data-only pickle interpreter (see pickle.h).  Opcode
 * semantics follow CPython's Lib/pickle.py (the _Unpickler load_* methods)
 * and Lib/pickletools.py; a MARK starts a new stack as there, so nothing
 * below a mark can be popped until the mark is consumed. */
#include "pickle.h"

#include <stdarg.h>
#include <string.h>

// ---------------------------------------------------------------------------
// The arena

typedef struct Block {
    struct Block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} Block;

struct PkArena {
    Block *head;
};

PkArena *pk_arena_new(void)
{
    return kop_xcalloc(1, sizeof(PkArena));
}

void pk_arena_free(PkArena *a)
{
    if (!a) return;
    for (Block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

static void *arena_alloc(PkArena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    Block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = kop_xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        /* A large block goes behind the current one, which keeps its room. */
        if (a->head && n > 65536) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

// ---------------------------------------------------------------------------
// Names for messages

static const char *const global_names[PKG_N][2] = {
    [PKG_ORDERED_DICT] = {"collections", "OrderedDict"},
    [PKG_REBUILD_TENSOR_V2] = {"torch._utils", "_rebuild_tensor_v2"},
    [PKG_REBUILD_PARAMETER] = {"torch._utils", "_rebuild_parameter"},
    [PKG_FLOAT_STORAGE] = {"torch", "FloatStorage"},
    [PKG_HALF_STORAGE] = {"torch", "HalfStorage"},
    [PKG_BFLOAT16_STORAGE] = {"torch", "BFloat16Storage"},
    [PKG_DOUBLE_STORAGE] = {"torch", "DoubleStorage"},
    [PKG_BOOL_STORAGE] = {"torch", "BoolStorage"},
    [PKG_BYTE_STORAGE] = {"torch", "ByteStorage"},
    [PKG_CHAR_STORAGE] = {"torch", "CharStorage"},
    [PKG_SHORT_STORAGE] = {"torch", "ShortStorage"},
    [PKG_INT_STORAGE] = {"torch", "IntStorage"},
    [PKG_LONG_STORAGE] = {"torch", "LongStorage"},
};

const char *pk_global_name(PkGlobal g)
{
    static const char *const full[PKG_N] = {
        [PKG_ORDERED_DICT] = "collections.OrderedDict",
        [PKG_REBUILD_TENSOR_V2] = "torch._utils._rebuild_tensor_v2",
        [PKG_REBUILD_PARAMETER] = "torch._utils._rebuild_parameter",
        [PKG_FLOAT_STORAGE] = "torch.FloatStorage",
        [PKG_HALF_STORAGE] = "torch.HalfStorage",
        [PKG_BFLOAT16_STORAGE] = "torch.BFloat16Storage",
        [PKG_DOUBLE_STORAGE] = "torch.DoubleStorage",
        [PKG_BOOL_STORAGE] = "torch.BoolStorage",
        [PKG_BYTE_STORAGE] = "torch.ByteStorage",
        [PKG_CHAR_STORAGE] = "torch.CharStorage",
        [PKG_SHORT_STORAGE] = "torch.ShortStorage",
        [PKG_INT_STORAGE] = "torch.IntStorage",
        [PKG_LONG_STORAGE] = "torch.LongStorage",
    };
    KOP_ASSERT(g >= 0 && g < PKG_N);
    return full[g];
}

const char *pk_kind_name(PkKind k)
{
    static const char *const names[] = {"None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict",
                                        "global", "storage", "tensor"};
    return k >= 0 && k <= PK_TENSOR ? names[k] : "?";
}

/* Opcodes this reader refuses, named for the message. */
static const char *refused_name(int op)
{
    switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 'P': return "PERSID";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    }
    return NULL;
}

// ---------------------------------------------------------------------------
// The machine

typedef struct Vm {
    PkArena *a;
    const unsigned char *buf;
    size_t len, pos, op_at;        /* op_at: offset of the opcode being run */
    const char *where;
    KopError *err;
    PkValue **stack;
    size_t sp, cap;
    size_t *marks;                 /* stack heights at each MARK */
    size_t n_marks, cap_marks;
    PkValue **memo;                /* sparse: NULL where unset */
    size_t memo_cap, memo_count;
} Vm;

static PkValue *vfail(Vm *vm, const char *fmt, ...) KOP_PRINTF(2, 3);
static PkValue *vfail(Vm *vm, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    kop_fail(vm->err, KOP_EXIT_DATA, "%s at byte %zu: %s", vm->where, vm->op_at, what);
    return NULL;
}

/* S (N bytes) quoted for a message: printable ASCII kept, at most 60 bytes. */
static const char *quoted(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap && i < 60; i++)
        out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n > 60 && k + 4 < cap) k += (size_t)snprintf(out + k, cap - k, "...");
    out[k] = 0;
    return out;
}

static PkValue *new_value(Vm *vm, PkKind k)
{
    PkValue *v = arena_alloc(vm->a, sizeof *v);
    memset(v, 0, sizeof *v);
    v->kind = k;
    return v;
}

static int push(Vm *vm, PkValue *v)
{
    if (!v) return -1;
    if (vm->sp == vm->cap) {
        vm->cap = vm->cap * 2 + 64;
        vm->stack = kop_xrealloc(vm->stack, sizeof *vm->stack * vm->cap);
    }
    vm->stack[vm->sp++] = v;
    return 0;
}

static size_t floor_of(const Vm *vm)
{
    return vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
}

static PkValue *pop(Vm *vm)
{
    if (vm->sp <= floor_of(vm)) return vfail(vm, "the stack is empty (above the last MARK)");
    return vm->stack[--vm->sp];
}

static PkValue *top(Vm *vm)
{
    if (vm->sp <= floor_of(vm)) return vfail(vm, "the stack is empty (above the last MARK)");
    return vm->stack[vm->sp - 1];
}

/* Pop the last mark; *first gets the stack index of the first value above it. */
static int pop_mark(Vm *vm, size_t *first)
{
    if (!vm->n_marks) {
        vfail(vm, "no MARK to go back to");
        return -1;
    }
    *first = vm->marks[--vm->n_marks];
    return 0;
}

static const unsigned char *take(Vm *vm, uint64_t n)
{
    if (n > vm->len - vm->pos) {
        vfail(vm, "the pickle ends inside an opcode's argument (truncated?)");
        return NULL;
    }
    const unsigned char *p = vm->buf + vm->pos;
    vm->pos += (size_t)n;
    return p;
}

static int read_uint(Vm *vm, int n, uint64_t *out)
{
    const unsigned char *p = take(vm, (uint64_t)n);
    if (!p) return -1;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    *out = v;
    return 0;
}

/* A line ending in '\n' (GLOBAL, PUT, GET): its start and length without it. */
static const char *read_line(Vm *vm, size_t *n)
{
    const unsigned char *p = vm->buf + vm->pos, *nl = memchr(p, '\n', vm->len - vm->pos);
    if (!nl) {
        vfail(vm, "the pickle ends inside a line argument (truncated?)");
        return NULL;
    }
    *n = (size_t)(nl - p);
    vm->pos += *n + 1;
    return (const char *)p;
}

// ---------------------------------------------------------------------------
// Value constructors

static PkValue *make_int(Vm *vm, int64_t i)
{
    PkValue *v = new_value(vm, PK_INT);
    v->u.i = i;
    return v;
}

static PkValue *make_str(Vm *vm, PkKind k, const unsigned char *s, size_t n)
{
    PkValue *v = new_value(vm, k);
    char *c = arena_alloc(vm->a, n + 1);
    if (n) memcpy(c, s, n);
    c[n] = 0;
    v->u.str.s = c;
    v->u.str.len = n;
    return v;
}

/* A string opcode's value: a length of LEN_BYTES bytes, then the bytes. */
static PkValue *read_str(Vm *vm, PkKind k, int len_bytes)
{
    uint64_t n;
    if (read_uint(vm, len_bytes, &n) < 0) return NULL;
    const unsigned char *p = take(vm, n);
    return p ? make_str(vm, k, p, (size_t)n) : NULL;
}

static void seq_add(Vm *vm, PkValue *seq, PkValue *item)
{
    if (seq->u.seq.n == seq->u.seq.cap) {
        size_t cap = seq->u.seq.cap * 2 + 4;
        PkValue **items = arena_alloc(vm->a, sizeof *items * cap);
        if (seq->u.seq.n) memcpy(items, seq->u.seq.items, sizeof *items * seq->u.seq.n);
        seq->u.seq.items = items;
        seq->u.seq.cap = cap;
    }
    seq->u.seq.items[seq->u.seq.n++] = item;
}

/* A tuple of the values stack[first..sp), which are popped. */
static PkValue *tuple_from(Vm *vm, size_t first)
{
    PkValue *t = new_value(vm, PK_TUPLE);
    size_t n = vm->sp - first;
    t->u.seq.items = arena_alloc(vm->a, sizeof *t->u.seq.items * (n ? n : 1));
    if (n) memcpy(t->u.seq.items, vm->stack + first, sizeof *t->u.seq.items * n);
    t->u.seq.n = t->u.seq.cap = n;
    vm->sp = first;
    return t;
}

// ---------------------------------------------------------------------------
// The allow-list: GLOBAL, REDUCE, BINPERSID, BUILD

static PkValue *global(Vm *vm, const char *mod, size_t nm, const char *name, size_t nn)
{
    for (int g = 0; g < PKG_N; g++)
        if (strlen(global_names[g][0]) == nm && !memcmp(global_names[g][0], mod, nm)
            && strlen(global_names[g][1]) == nn && !memcmp(global_names[g][1], name, nn)) {
            PkValue *v = new_value(vm, PK_GLOBAL);
            v->u.g = (PkGlobal)g;
            return v;
        }
    char qm[80], qn[80];
    return vfail(vm, "the pickle asks for '%s.%s', which kop refuses: it reads only tensors (collections.OrderedDict, "
                 "torch._utils._rebuild_tensor_v2 and _rebuild_parameter, torch's storage types of floats, "
                 "ints and bools) and never runs anything a checkpoint names",
                 quoted(qm, sizeof qm, mod, nm), quoted(qn, sizeof qn, name, nn));
}

static int is_empty_dict(const PkValue *v)
{
    return v->kind == PK_DICT && v->u.seq.n == 0;
}

static PkValue *rebuild_tensor(Vm *vm, const PkValue *args)
{
    size_t n = args->u.seq.n;
    PkValue *const *a = args->u.seq.items;
    if (n != 6 && n != 7)
        return vfail(vm, "_rebuild_tensor_v2 takes 6 or 7 arguments, not %zu", n);
    if (a[0]->kind != PK_STORAGE || a[1]->kind != PK_INT || a[2]->kind != PK_TUPLE || a[3]->kind != PK_TUPLE
        || a[4]->kind != PK_BOOL)
        return vfail(vm, "_rebuild_tensor_v2 expects (storage, offset, size tuple, stride tuple, requires_grad, "
                     "hooks), got a %s, %s, %s, %s, %s", pk_kind_name(a[0]->kind), pk_kind_name(a[1]->kind),
                     pk_kind_name(a[2]->kind), pk_kind_name(a[3]->kind), pk_kind_name(a[4]->kind));
    if (!is_empty_dict(a[5]) && a[5]->kind != PK_NONE)
        return vfail(vm, "a tensor with backward hooks (kop reads weights, not hooks)");
    if (n == 7 && a[6]->kind != PK_NONE && !is_empty_dict(a[6]))
        return vfail(vm, "a tensor with Python metadata (kop reads plain tensors)");
    const PkValue *size = a[2], *stride = a[3];
    if (size->u.seq.n != stride->u.seq.n || size->u.seq.n > PK_MAX_DIMS)
        return vfail(vm, "a tensor with %zu sizes and %zu strides (at most %d dimensions, as many strides as sizes)",
                     size->u.seq.n, stride->u.seq.n, PK_MAX_DIMS);
    PkValue *v = new_value(vm, PK_TENSOR);
    PkTensor *t = &v->u.tensor;
    t->storage = &a[0]->u.storage;
    t->offset = a[1]->u.i;
    t->ndim = (int)size->u.seq.n;
    for (int d = 0; d < t->ndim; d++) {
        if (size->u.seq.items[d]->kind != PK_INT || stride->u.seq.items[d]->kind != PK_INT)
            return vfail(vm, "a tensor size or stride that is not an int");
        t->size[d] = size->u.seq.items[d]->u.i;
        t->stride[d] = stride->u.seq.items[d]->u.i;
    }
    return v;
}

static PkValue *reduce(Vm *vm)
{
    PkValue *args = pop(vm), *fn = args ? pop(vm) : NULL;
    if (!fn) return NULL;
    if (fn->kind != PK_GLOBAL)
        return vfail(vm, "REDUCE calls a %s; kop calls nothing but the names it allows", pk_kind_name(fn->kind));
    if (args->kind != PK_TUPLE) return vfail(vm, "REDUCE with %s arguments, not a tuple", pk_kind_name(args->kind));
    switch (fn->u.g) {
    case PKG_ORDERED_DICT:
        if (args->u.seq.n) return vfail(vm, "collections.OrderedDict called with arguments");
        return new_value(vm, PK_DICT);
    case PKG_REBUILD_TENSOR_V2:
        return rebuild_tensor(vm, args);
    case PKG_REBUILD_PARAMETER: {
        PkValue *const *a = args->u.seq.items;
        if (args->u.seq.n != 3 || a[0]->kind != PK_TENSOR || a[1]->kind != PK_BOOL)
            return vfail(vm, "_rebuild_parameter expects (tensor, requires_grad, hooks)");
        if (!is_empty_dict(a[2]) && a[2]->kind != PK_NONE)
            return vfail(vm, "a parameter with backward hooks (kop reads weights, not hooks)");
        return a[0];
    }
    default:
        return vfail(vm, "REDUCE on %s; storages appear only in persistent ids", pk_global_name(fn->u.g));
    }
}

/* ('storage', storage type, key, location, numel) -> PK_STORAGE */
static PkValue *persistent(Vm *vm, const PkValue *pid)
{
    PkValue *const *a = pid->kind == PK_TUPLE ? pid->u.seq.items : NULL;
    if (!a || pid->u.seq.n != 5 || a[0]->kind != PK_STR || strcmp(a[0]->u.str.s, "storage"))
        return vfail(vm, "a persistent id that is not ('storage', type, key, location, numel)");
    if (a[1]->kind != PK_GLOBAL || a[1]->u.g < PKG_FLOAT_STORAGE)
        return vfail(vm, "a storage whose type is not one of torch's storage types");
    if (a[2]->kind != PK_STR || !a[2]->u.str.len || strlen(a[2]->u.str.s) != a[2]->u.str.len
        || a[3]->kind != PK_STR || a[4]->kind != PK_INT || a[4]->u.i < 0)
        return vfail(vm, "a storage id with a bad key, location or element count");
    PkValue *v = new_value(vm, PK_STORAGE);
    v->u.storage.dtype = (PkDtype)(PK_F32 + (a[1]->u.g - PKG_FLOAT_STORAGE));
    v->u.storage.key = a[2]->u.str.s;
    v->u.storage.numel = a[4]->u.i;
    return v;
}

/* BUILD sets an object's state.  torch pickles a state dict's _metadata
 * attribute this way; kop keeps nothing of it. */
static int build(Vm *vm)
{
    PkValue *state = pop(vm), *obj = state ? top(vm) : NULL;
    if (!obj) return -1;
    if (obj->kind != PK_DICT || (state->kind != PK_NONE && state->kind != PK_DICT)) {
        vfail(vm, "BUILD on a %s with a %s state; kop accepts it only on a dict (a state dict's _metadata)",
              pk_kind_name(obj->kind), pk_kind_name(state->kind));
        return -1;
    }
    for (size_t i = 0; state->kind == PK_DICT && i < state->u.seq.n; i += 2)
        if (state->u.seq.items[i]->kind != PK_STR) {
            vfail(vm, "BUILD with an attribute name that is not a string");
            return -1;
        }
    return 0;
}

// ---------------------------------------------------------------------------
// The memo

static int memo_put(Vm *vm, uint64_t idx)
{
    PkValue *v = top(vm);
    if (!v) return -1;
    /* An honest pickle numbers memo entries from 0, one per opcode at most. */
    if (idx > vm->len) {
        vfail(vm, "memo index %llu is out of range", (unsigned long long)idx);
        return -1;
    }
    if (idx >= vm->memo_cap) {
        size_t cap = vm->memo_cap * 2 + 64;
        if (cap <= idx) cap = (size_t)idx + 1;
        vm->memo = kop_xrealloc(vm->memo, sizeof *vm->memo * cap);
        memset(vm->memo + vm->memo_cap, 0, sizeof *vm->memo * (cap - vm->memo_cap));
        vm->memo_cap = cap;
    }
    if (!vm->memo[idx]) vm->memo_count++;
    vm->memo[idx] = v;
    return 0;
}

static PkValue *memo_get(Vm *vm, uint64_t idx)
{
    if (idx >= vm->memo_cap || !vm->memo[idx])
        return vfail(vm, "memo entry %llu was never stored", (unsigned long long)idx);
    return vm->memo[idx];
}

/* The decimal argument of PUT and GET. */
static int read_decimal(Vm *vm, uint64_t *out)
{
    size_t n;
    const char *s = read_line(vm, &n);
    if (!s) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10) {
            vfail(vm, "a memo index that is not a decimal number");
            return -1;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (!n) {
        vfail(vm, "an empty memo index");
        return -1;
    }
    *out = v;
    return 0;
}

// ---------------------------------------------------------------------------
// The loop

/* LONG1 / LONG4: a little-endian two's complement integer of N bytes. */
static PkValue *read_long(Vm *vm, int len_bytes)
{
    uint64_t n;
    if (read_uint(vm, len_bytes, &n) < 0) return NULL;
    if (n > 8) return vfail(vm, "an integer of %llu bytes (kop reads up to 64 bits)", (unsigned long long)n);
    const unsigned char *p = take(vm, n);
    if (!p) return NULL;
    uint64_t v = 0;
    for (int i = (int)n - 1; i >= 0; i--) v = v << 8 | p[i];
    if (n && n < 8 && (p[n - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * n);
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return make_int(vm, s);
}

static PkValue *read_float(Vm *vm)
{
    const unsigned char *p = take(vm, 8);
    if (!p) return NULL;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | p[i];   /* big-endian */
    PkValue *v = new_value(vm, PK_FLOAT);
    memcpy(&v->u.f, &bits, sizeof bits);
    return v;
}

/* Run one opcode; 1 at STOP, 0 to go on, -1 on error. */
static int step(Vm *vm)
{
    uint64_t n;
    size_t first;
    PkValue *v, *w;
    if (vm->pos >= vm->len) {
        vm->op_at = vm->pos;
        vfail(vm, "the pickle ends without STOP (truncated?)");
        return -1;
    }
    vm->op_at = vm->pos;
    int op = vm->buf[vm->pos++];
    if (vm->op_at == 0 && op != 0x80) {
        vfail(vm, "not a protocol 2-5 pickle (no PROTO opcode first)");
        return -1;
    }
    switch (op) {
    case 0x80: /* PROTO */
        if (read_uint(vm, 1, &n) < 0) return -1;
        if (n < 2 || n > 5) {
            vfail(vm, "pickle protocol %llu (kop reads protocols 2 to 5)", (unsigned long long)n);
            return -1;
        }
        return 0;
    case 0x95: /* FRAME: only a hint for buffered readers */
        if (read_uint(vm, 8, &n) < 0) return -1;
        if (n > vm->len - vm->pos) {
            vfail(vm, "a frame of %llu bytes runs past the end of the pickle", (unsigned long long)n);
            return -1;
        }
        return 0;
    case '.': /* STOP */
        if (vm->n_marks || vm->sp != 1) {
            vfail(vm, "STOP with %zu values and %zu marks on the stack (expected one value)", vm->sp, vm->n_marks);
            return -1;
        }
        if (vm->pos != vm->len) {
            vfail(vm, "%zu bytes after STOP", vm->len - vm->pos);
            return -1;
        }
        return 1;
    case '(': /* MARK */
        if (vm->n_marks == vm->cap_marks) {
            vm->cap_marks = vm->cap_marks * 2 + 16;
            vm->marks = kop_xrealloc(vm->marks, sizeof *vm->marks * vm->cap_marks);
        }
        vm->marks[vm->n_marks++] = vm->sp;
        return 0;
    case '0': /* POP */
        return pop(vm) ? 0 : -1;
    case '1': /* POP_MARK */
        if (pop_mark(vm, &first) < 0) return -1;
        vm->sp = first;
        return 0;
    case '2': /* DUP */
        return push(vm, top(vm));
    case ')': return push(vm, new_value(vm, PK_TUPLE));
    case ']': return push(vm, new_value(vm, PK_LIST));
    case '}': return push(vm, new_value(vm, PK_DICT));
    case 't': /* TUPLE */
        if (pop_mark(vm, &first) < 0) return -1;
        return push(vm, tuple_from(vm, first));
    case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
        if (vm->sp < floor_of(vm) + (size_t)(op - 0x84)) {
            vfail(vm, "TUPLE%d with fewer values on the stack", op - 0x84);
            return -1;
        }
        return push(vm, tuple_from(vm, vm->sp - (size_t)(op - 0x84)));
    case 'l': case 'd': /* LIST, DICT */
        if (pop_mark(vm, &first) < 0) return -1;
        if (op == 'd' && (vm->sp - first) % 2) {
            vfail(vm, "DICT with an odd number of values");
            return -1;
        }
        v = tuple_from(vm, first);
        v->kind = op == 'l' ? PK_LIST : PK_DICT;
        return push(vm, v);
    case 'a': /* APPEND */
        if (!(w = pop(vm)) || !(v = top(vm))) return -1;
        if (v->kind != PK_LIST) {
            vfail(vm, "APPEND to a %s", pk_kind_name(v->kind));
            return -1;
        }
        seq_add(vm, v, w);
        return 0;
    case 's': /* SETITEM */
        if (!(w = pop(vm)) || !(v = pop(vm)) || !top(vm)) return -1;
        if (top(vm)->kind != PK_DICT) {
            vfail(vm, "SETITEM on a %s", pk_kind_name(top(vm)->kind));
            return -1;
        }
        seq_add(vm, top(vm), v);
        seq_add(vm, top(vm), w);
        return 0;
    case 'e': case 'u': /* APPENDS, SETITEMS */
        if (pop_mark(vm, &first) < 0) return -1;
        if (first <= floor_of(vm)) {
            vfail(vm, "%s with nothing below the MARK", op == 'e' ? "APPENDS" : "SETITEMS");
            return -1;
        }
        v = vm->stack[first - 1];
        if (v->kind != (op == 'e' ? PK_LIST : PK_DICT)) {
            vfail(vm, "%s on a %s", op == 'e' ? "APPENDS" : "SETITEMS", pk_kind_name(v->kind));
            return -1;
        }
        if (op == 'u' && (vm->sp - first) % 2) {
            vfail(vm, "SETITEMS with an odd number of values");
            return -1;
        }
        for (size_t i = first; i < vm->sp; i++) seq_add(vm, v, vm->stack[i]);
        vm->sp = first;
        return 0;
    case 'N': return push(vm, new_value(vm, PK_NONE));
    case 0x88: case 0x89: /* NEWTRUE, NEWFALSE */
        v = new_value(vm, PK_BOOL);
        v->u.b = op == 0x88;
        return push(vm, v);
    case 'J': /* BININT */
        if (read_uint(vm, 4, &n) < 0) return -1;
        return push(vm, make_int(vm, (int32_t)(uint32_t)n));
    case 'K': case 'M': /* BININT1, BININT2 */
        if (read_uint(vm, op == 'K' ? 1 : 2, &n) < 0) return -1;
        return push(vm, make_int(vm, (int64_t)n));
    case 0x8a: return push(vm, read_long(vm, 1));
    case 0x8b: return push(vm, read_long(vm, 4));
    case 'G': return push(vm, read_float(vm));
    case 0x8c: return push(vm, read_str(vm, PK_STR, 1));  /* SHORT_BINUNICODE */
    case 'X': return push(vm, read_str(vm, PK_STR, 4));   /* BINUNICODE */
    case 0x8d: return push(vm, read_str(vm, PK_STR, 8));  /* BINUNICODE8 */
    case 'U': return push(vm, read_str(vm, PK_STR, 1));   /* SHORT_BINSTRING */
    case 'T': /* BINSTRING: a signed 4-byte length */
        if (vm->len - vm->pos >= 4 && (vm->buf[vm->pos + 3] & 0x80)) {
            vfail(vm, "BINSTRING with a negative length");
            return -1;
        }
        return push(vm, read_str(vm, PK_STR, 4));
    case 'C': return push(vm, read_str(vm, PK_BYTES, 1));  /* SHORT_BINBYTES */
    case 'B': return push(vm, read_str(vm, PK_BYTES, 4));  /* BINBYTES */
    case 0x8e: return push(vm, read_str(vm, PK_BYTES, 8)); /* BINBYTES8 */
    case 'c': { /* GLOBAL: "module\nname\n" */
        size_t nm, nn;
        const char *mod = read_line(vm, &nm), *name = mod ? read_line(vm, &nn) : NULL;
        if (!name) return -1;
        return push(vm, global(vm, mod, nm, name, nn));
    }
    case 0x93: /* STACK_GLOBAL */
        if (!(w = pop(vm)) || !(v = pop(vm))) return -1;
        if (v->kind != PK_STR || w->kind != PK_STR) {
            vfail(vm, "STACK_GLOBAL with a %s and a %s, not two strings", pk_kind_name(v->kind), pk_kind_name(w->kind));
            return -1;
        }
        return push(vm, global(vm, v->u.str.s, v->u.str.len, w->u.str.s, w->u.str.len));
    case 0x94: /* MEMOIZE */
        return memo_put(vm, vm->memo_count);
    case 'p': return read_decimal(vm, &n) < 0 ? -1 : memo_put(vm, n);
    case 'q': return read_uint(vm, 1, &n) < 0 ? -1 : memo_put(vm, n);
    case 'r': return read_uint(vm, 4, &n) < 0 ? -1 : memo_put(vm, n);
    case 'g': return read_decimal(vm, &n) < 0 ? -1 : push(vm, memo_get(vm, n));
    case 'h': return read_uint(vm, 1, &n) < 0 ? -1 : push(vm, memo_get(vm, n));
    case 'j': return read_uint(vm, 4, &n) < 0 ? -1 : push(vm, memo_get(vm, n));
    case 'R': return push(vm, reduce(vm));
    case 'Q': /* BINPERSID */
        if (!(v = pop(vm))) return -1;
        return push(vm, persistent(vm, v));
    case 'b': return build(vm);
    default: {
        const char *name = refused_name(op);
        if (name) vfail(vm, "opcode %s is not one kop's data-only pickle reader runs", name);
        else vfail(vm, "unknown opcode 0x%02x (the file is not a pickle, or is damaged)", op);
        return -1;
    }
    }
}

PkValue *pk_load(PkArena *a, const unsigned char *buf, size_t len, const char *where, KopError *err)
{
    Vm vm = {.a = a, .buf = buf, .len = len, .where = where, .err = err};
    int rc;
    while ((rc = step(&vm)) == 0) {}
    PkValue *result = rc > 0 ? vm.stack[0] : NULL;
    free(vm.stack);
    free(vm.marks);
    free(vm.memo);
    return result;
}
