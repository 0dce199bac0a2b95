/* bench/checkpoint.c: a random-weight model directory with the shapes of a
 * published checkpoint, which kop loads exactly as it loads the real one.
 *
 *   bench/checkpoint SHAPE DIR [--dtype f32|bf16|f16] [--layers N]
 *                    [--shard-size SIZE] [--seed S] [--dry-run]
 *
 * DIR (made, with its parents; it must not hold anything yet) receives
 * config.json in the hub's form (checkpoint_shapes.c) and the weights as
 * save_pretrained writes them: model.safetensors, or, when they pass
 * --shard-size (default 5GB, transformers' default; decimal units, "2GB",
 * "500MB", "64KB" or bytes), shards model-0000i-of-0000n.safetensors in
 * state_dict order with model.safetensors.index.json naming each tensor's
 * shard.  Inside a file the tensors are sorted by name and packed as the
 * safetensors library packs them, so their alignment in the mapping is the
 * one real files have.  --layers N keeps the widths and vocabulary but
 * writes N layers (a quick check of a big shape's tensors).  --dry-run
 * writes nothing and prints the parameter count, size and files.  No tokenizer is
 * written: recipes on these models give their prompts as token ids.
 *
 * The values are streamed: a chunk of one tensor at a time is drawn,
 * rounded to the dtype (to nearest, ties to even) and written, so a 14 GB
 * checkpoint needs a few megabytes of memory.  Each tensor draws from its own
 * generator seeded by --seed and its index, so the files are the same for
 * the same arguments whatever the shard size.  Before writing, the free space
 * of DIR's file system is checked against the total. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>

#include "checkpoint_shapes.h"
#include "util.h"

typedef enum { DT_F32, DT_BF16, DT_F16 } Dtype;
static const char *const dtype_st[] = {"F32", "BF16", "F16"};
static const char *const dtype_torch[] = {"float32", "bfloat16", "float16"};
static const size_t dtype_size[] = {4, 2, 2};

static int die(const char *fmt, ...) KOP_PRINTF(1, 2);
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("checkpoint: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int usage(const char *msg)
{
    fprintf(stderr, "checkpoint: %s\nusage: bench/checkpoint SHAPE DIR [--dtype f32|bf16|f16] [--layers N] "
                    "[--shard-size SIZE] [--seed S] [--dry-run]\nshapes: %s\n", msg, ckpt_shape_names());
    exit(2);
}

// ---------------------------------------------------------------------------
// Values

typedef struct { uint64_t s; } Rng;

static Rng rng_for(unsigned seed, int tensor)
{
    Rng r = {0x9E3779B97F4A7C15ull ^ ((uint64_t)seed * 0x100000001B3ull) ^ ((uint64_t)(tensor + 1) * 0xBF58476D1CE4E5B9ull)};
    if (!r.s) r.s = 1;
    return r;
}

/* uniform in [-1, 1), on a grid of 2^-23: random_model.c's generator */
static float urand(Rng *r)
{
    r->s ^= r->s << 13; r->s ^= r->s >> 7; r->s ^= r->s << 17;
    return (float)((r->s >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

static float draw(const CkptTensor *t, Rng *r, uint64_t i)
{
    switch (t->init) {
    case INIT_UNIFORM: return urand(r) * t->value * 1.7320508f; /* std of U[-a, a] is a / sqrt(3) */
    case INIT_CONST: return t->value;
    case INIT_DT_BIAS: {
        float dt = expf(logf(0.001f) + (urand(r) + 1) / 2 * (logf(0.1f) - logf(0.001f)));
        return dt + logf(-expm1f(-dt)); /* inverse softplus */
    }
    case INIT_A_LOG_S: return logf((float)(i % (uint64_t)t->value) + 1.0f);
    case INIT_A_LOG_H: return logf(1.0f + 15.0f * (urand(r) + 1) / 2);
    }
    return 0.0f;
}

static uint16_t to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static uint16_t to_f16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00;          /* NaN */
    if (a >= 0x477ff000u) return sign | 0x7c00;         /* rounds to 65536 or more: inf */
    if (a < 0x38800000u) {                              /* under 2^-14: a subnormal half */
        float f;
        memcpy(&f, &a, 4);
        return sign | (uint16_t)lrintf(f * 16777216.0f); /* units of 2^-24, exact before rounding */
    }
    a += 0xfffu + ((a >> 13) & 1);
    return sign | (uint16_t)((a - 0x38000000u) >> 13);  /* exponent bias 127 -> 15 */
}

static uint64_t numel(const CkptTensor *t)
{
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
    return n;
}

/* Tensor `index`'s values, rounded to dt, written to f (named path). */
static void write_values(FILE *f, const char *path, const CkptTensor *t, int index, unsigned seed, Dtype dt)
{
    enum { CHUNK = 1 << 16 };
    static float vals[CHUNK];
    static unsigned char out[CHUNK * 4];
    Rng r = rng_for(seed, index);
    uint64_t n = numel(t);
    for (uint64_t at = 0; at < n; at += CHUNK) {
        size_t k = n - at < CHUNK ? (size_t)(n - at) : CHUNK;
        for (size_t i = 0; i < k; i++) vals[i] = draw(t, &r, at + i);
        if (dt == DT_F32) memcpy(out, vals, k * 4);
        else
            for (size_t i = 0; i < k; i++) {
                uint16_t h = dt == DT_BF16 ? to_bf16(vals[i]) : to_f16(vals[i]);
                memcpy(out + 2 * i, &h, 2);
            }
        if (fwrite(out, dtype_size[dt], k, f) != k) die("%s: write failed: %s", path, strerror(errno));
    }
}

// ---------------------------------------------------------------------------
// Files

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const CkptTensor *const *)a)->name, (*(const CkptTensor *const *)b)->name);
}

/* One safetensors file holding the n tensors ts, which point into the
 * model's list `all` (a tensor's place there picks its generator). */
static void write_safetensors(const char *path, CkptTensor **ts, int n, const CkptTensor *all, unsigned seed, Dtype dt)
{
    qsort(ts, (size_t)n, sizeof *ts, by_name);
    size_t cap = 256 + (size_t)n * 256, len = 0;
    char *h = kop_xmalloc(cap);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const CkptTensor *t = ts[i];
        uint64_t bytes = numel(t) * dtype_size[dt];
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name, dtype_st[dt]);
        for (int d = 0; d < t->ndim; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                                (unsigned long long)(off + bytes));
        off += bytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    if (len >= cap) die("%s: header longer than %zu bytes", path, cap);
    while (len % 8) h[len++] = ' '; /* the safetensors library pads to 8 */
    FILE *f = fopen(path, "wb");
    if (!f) die("%s: cannot create: %s", path, strerror(errno));
    setvbuf(f, NULL, _IOFBF, 1 << 22);
    unsigned char n8[8];
    for (int i = 0; i < 8; i++) n8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    if (fwrite(n8, 1, 8, f) != 8 || fwrite(h, 1, len, f) != len) die("%s: write failed: %s", path, strerror(errno));
    for (int i = 0; i < n; i++) write_values(f, path, ts[i], (int)(ts[i] - all), seed, dt);
    if (fclose(f) != 0) die("%s: write failed: %s", path, strerror(errno));
    free(h);
}

static void write_index(const char *path, const CkptTensor *ts, int n, const int *shard, int n_shards, uint64_t total)
{
    CkptTensor const **sorted = kop_xmalloc(sizeof *sorted * (size_t)n);
    for (int i = 0; i < n; i++) sorted[i] = &ts[i];
    qsort(sorted, (size_t)n, sizeof *sorted, by_name);
    FILE *f = fopen(path, "w");
    if (!f) die("%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {\n", (unsigned long long)total);
    for (int i = 0; i < n; i++)
        fprintf(f, "    \"%s\": \"model-%05d-of-%05d.safetensors\"%s\n", sorted[i]->name, shard[sorted[i] - ts] + 1,
                n_shards, i + 1 < n ? "," : "");
    fprintf(f, "  }\n}\n");
    if (fclose(f) != 0) die("%s: write failed: %s", path, strerror(errno));
    free(sorted);
}

/* DIR and its parents; DIR must be new or empty. */
static void make_dir(const char *dir)
{
    char *p = kop_xstrdup(dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0777) < 0 && errno != EEXIST) die("%s: cannot create: %s", p, strerror(errno));
            *s = '/';
        }
    if (mkdir(p, 0777) < 0 && errno != EEXIST) die("%s: cannot create: %s", p, strerror(errno));
    free(p);
    DIR *d = opendir(dir);
    if (!d) die("%s: cannot open: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            die("%s is not empty (it holds %s); remove it or name a new directory", dir, e->d_name);
    closedir(d);
}

/* "5GB", "500MB", "64KB", "123" -> bytes (decimal units, as transformers'
 * max_shard_size); 0 when it is not a size. */
static uint64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    double unit = !strcmp(end, "GB") ? 1e9 : !strcmp(end, "MB") ? 1e6 : !strcmp(end, "KB") ? 1e3 : !*end ? 1 : 0;
    return end == s || v <= 0 || unit == 0 ? 0 : (uint64_t)(v * unit);
}

int main(int argc, char **argv)
{
    const char *shape_name = NULL, *dir = NULL;
    Dtype dt = DT_F32;
    uint64_t shard_size = 5000000000ull;
    unsigned seed = 1;
    int layers = 0, dry = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            if (i + 1 >= argc) usage("an option needs a value");
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--dtype")) {
                if (!strcmp(v, "f32")) dt = DT_F32;
                else if (!strcmp(v, "bf16")) dt = DT_BF16;
                else if (!strcmp(v, "f16")) dt = DT_F16;
                else usage("--dtype takes f32, bf16 or f16");
            } else if (!strcmp(a, "--shard-size")) {
                if (!(shard_size = parse_size(v))) usage("--shard-size takes a size such as 5GB, 500MB or 65536");
            } else if (!strcmp(a, "--layers")) {
                long l = strtol(v, &end, 10);
                if (end == v || *end || l < 1 || l > 1000) usage("--layers takes a number from 1 to 1000");
                layers = (int)l;
            } else if (!strcmp(a, "--seed")) {
                unsigned long s = strtoul(v, &end, 10);
                if (end == v || *end) usage("--seed takes a number");
                seed = (unsigned)s;
            } else {
                usage("unknown option");
            }
        } else if (!shape_name) {
            shape_name = a;
        } else if (!dir) {
            dir = a;
        } else {
            usage("expected one SHAPE and one DIR");
        }
    }
    if (!dir) usage("expected a SHAPE and a DIR");
    const CkptShape *s = ckpt_shape(shape_name);
    if (!s) {
        fprintf(stderr, "checkpoint: unknown shape '%s'\n", shape_name);
        usage("choose one of the shapes below");
    }
    int L = layers ? layers : s->n_layer, n;
    CkptTensor *ts = ckpt_tensors(s, L, &n);

    /* save_pretrained's split: a new shard when the next tensor would overflow
     * this one (a tensor bigger than the limit gets a shard of its own) */
    int *shard = kop_xmalloc(sizeof *shard * (size_t)n), n_shards = 1;
    uint64_t total = 0, in_shard = 0, params = 0;
    for (int i = 0; i < n; i++) {
        uint64_t bytes = numel(&ts[i]) * dtype_size[dt];
        if (in_shard > 0 && in_shard + bytes > shard_size) {
            n_shards++;
            in_shard = 0;
        }
        shard[i] = n_shards - 1;
        in_shard += bytes;
        total += bytes;
        params += numel(&ts[i]);
    }

    if (dry) {
        printf("%s: %s, %d layers, %s: %llu parameters, %.3f GB in %d file%s (not written)\n", dir, s->name, L,
               dtype_st[dt], (unsigned long long)params, (double)total / 1e9, n_shards, n_shards == 1 ? "" : "s");
        free(shard);
        free(ts);
        return 0;
    }
    make_dir(dir);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < total + (1u << 20))
        die("%s: %.2f GB free, the checkpoint needs %.2f GB", dir, (double)vfs.f_bavail * vfs.f_frsize / 1e9,
            (double)total / 1e9);
    double t0 = kop_now();
    char *path = kop_path_join(dir, "config.json");
    FILE *f = fopen(path, "w");
    if (!f) die("%s: cannot create: %s", path, strerror(errno));
    ckpt_write_config(f, s, L, dtype_torch[dt]);
    if (fclose(f) != 0) die("%s: write failed: %s", path, strerror(errno));
    free(path);

    CkptTensor **group = kop_xmalloc(sizeof *group * (size_t)n);
    for (int k = 0; k < n_shards; k++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (shard[i] == k) group[m++] = &ts[i];
        char name[64];
        if (n_shards == 1) snprintf(name, sizeof name, "model.safetensors");
        else snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k + 1, n_shards);
        path = kop_path_join(dir, name);
        write_safetensors(path, group, m, ts, seed, dt);
        free(path);
    }
    if (n_shards > 1) {
        path = kop_path_join(dir, "model.safetensors.index.json");
        write_index(path, ts, n, shard, n_shards, total);
        free(path);
    }
    double secs = kop_now() - t0;
    printf("%s: %s, %d layers, %s: %llu parameters, %.3f GB in %d file%s; %.1f s (%.0f MB/s)\n", dir, s->name, L,
           dtype_st[dt], (unsigned long long)params, (double)total / 1e9, n_shards, n_shards == 1 ? "" : "s", secs,
           (double)total / 1e6 / (secs > 0 ? secs : 1));
    free(group);
    free(shard);
    free(ts);
    return 0;
}
