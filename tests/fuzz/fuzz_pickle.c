/* fuzz_pickle.c: fuzzing the pytorch_model.bin reader, two ways from one
 * entry point, LLVMFuzzerTestOneInput:
 *  - input byte 0 % 3 == 0: the rest is a pickle run by pk_load alone, and
 *    every tensor it builds is checked with tb_check_view;
 *  - 1: the rest becomes <top>/data.pkl of a zip archive that also holds
 *    storages data/0..data/7 (F32, F16, BF16 in turn), read by tb_open_mem,
 *    so the whole path (zip, pickle, views, copies, CRCs) runs;
 *  - 2: the rest is a whole archive, read by tb_open_mem.
 * Every refusal must carry exit status 1 and name the input.
 *
 * Built two ways:
 *  - in make check (tests/fuzz/fuzz_pickle, with KOP_FUZZ_MAIN): a bounded,
 *    seeded run -- state dict pickles as torch writes them, a protocol 4
 *    one, hostile ones and (when ../shared is there) the data.pkl of the
 *    reference mamba_ssm checkpoints -- mutated by a fixed-seed generator
 *    (bit flips, interesting bytes and opcodes, insertions, deletions,
 *    copies, splices), printing TAP;
 *  - with libFuzzer and sanitizers: `make fuzz-pickle FUZZ_SECONDS=600`
 *    (clang; see src/load.mk), seeded with the same inputs. */
#include "torch_write.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pickle.h"
#include "torchbin.h"
#include "zipread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long n_accepted, n_refused, n_bad_errors;

static void check_refusal(const KopError *err, const char *where)
{
    n_refused++;
    if (err->status != KOP_EXIT_DATA || strncmp(err->msg, where, strlen(where))) {
        n_bad_errors++;
        fprintf(stderr, "fuzz: refusal without status 1 or the file name: %d %s\n", err->status, err->msg);
    }
}

/* Walk a value (bounded: values may contain themselves) checking tensors. */
static void walk(const PkValue *v, int depth)
{
    if (!v || depth > 8) return;
    if (v->kind == PK_TENSOR) {
        char why[256];
        (void)tb_check_view(&v->u.tensor, v->u.tensor.storage->numel, why, sizeof why);
    }
    if (v->kind == PK_TUPLE || v->kind == PK_LIST || v->kind == PK_DICT)
        for (size_t i = 0; i < v->u.seq.n && i < 64; i++) walk(v->u.seq.items[i], depth + 1);
}

static unsigned char *storage_blob(int k, size_t *len)
{
    int es = k % 3 == 0 ? 4 : 2;
    size_t n = 64 * (size_t)es;
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 37 + (size_t)k);
    *len = n;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    KopError err = {0};
    StFile f;
    if (data[0] % 3 == 2) {
        if (tb_open_mem(&f, data + 1, size - 1, "fuzz.bin", &err) == 0) {
            n_accepted++;
            st_close(&f);
        } else {
            check_refusal(&err, "fuzz.bin: ");
        }
        return 0;
    }
    if (data[0] % 3 == 0) {
        PkArena *a = pk_arena_new();
        PkValue *v = pk_load(a, data + 1, size - 1, "fuzz.pkl", &err);
        if (v) {
            n_accepted++;
            walk(v, 0);
        } else {
            check_refusal(&err, "fuzz.pkl at byte ");
        }
        pk_arena_free(a);
        return 0;
    }
    TwEntry e[10];
    char names[10][32];
    unsigned char *blobs[8];
    e[0] = (TwEntry){"fz/data.pkl", data + 1, size - 1};
    for (int k = 0; k < 8; k++) {
        size_t len;
        blobs[k] = storage_blob(k, &len);
        snprintf(names[k], sizeof names[k], "fz/data/%d", k);
        e[1 + k] = (TwEntry){names[k], blobs[k], len};
    }
    e[9] = (TwEntry){"fz/version", "3\n", 2};
    TwZipOpt o = tw_torch_style();
    size_t zlen;
    unsigned char *z = tw_zip(e, 10, &o, &zlen);
    if (tb_open_mem(&f, z, zlen, "fuzz.bin", &err) == 0) {
        n_accepted++;
        for (int i = 0; i < f.n_tensors; i++) {
            float *owned;
            const float *v = st_tensor_f32(&f, &f.tensors[i], &owned, &err);
            volatile float sink = 0;
            for (uint64_t k = 0; v && k < f.tensors[i].numel; k++) sink += v[k];
            (void)sink;
            free(owned);
        }
        st_close(&f);
    } else {
        check_refusal(&err, "fuzz.bin: ");
    }
    free(z);
    for (int k = 0; k < 8; k++) free(blobs[k]);
    return 0;
}

#ifdef KOP_FUZZ_MAIN
// ---------------------------------------------------------------------------
// The bounded run for make check

#include "tap.h"

typedef struct { unsigned char *p; size_t n; } Seed;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void add_seed(Seed *s, int *n, const unsigned char *p, size_t len)
{
    s[*n].p = malloc(len + 1);
    memcpy(s[*n].p, p, len);
    s[*n].n = len;
    (*n)++;
}

/* data.pkl of a reference checkpoint, read with the zip reader. */
static void reference_seed(Seed *s, int *n, const char *model)
{
    const char *shared = getenv("KOP_SHARED");
    if (!shared) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/reference/%s/pytorch_model.bin", shared, model);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        return;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return;
    Zip z;
    KopError err = {0};
    if (zip_open(&z, map, (size_t)st.st_size, path, &err) == 0) {
        ZipEntry *e = zip_find(&z, "pytorch_model/data.pkl");
        if (e && zip_entry_data(&z, e, &err)) add_seed(s, n, e->data, (size_t)e->size);
        zip_close(&z);
    }
    munmap(map, (size_t)st.st_size);
}

static size_t mutate(unsigned char *buf, size_t n, size_t cap, const Seed *seeds, int n_seeds)
{
    static const unsigned char interesting[] = {0, 1, 0x7f, 0x80, 0xff, '(', ')', '.', 'R', 'Q', 'b', 'c', 'h', 'q',
                                                'r', 'j', 't', 'u', 's', 'a', 'e', 'X', 'K', 'M', 'J', 0x8a, 0x8c,
                                                0x93, 0x94, 0x95, 0x85, 0x86, 0x87, '}', ']', 'N', 0x88, 0x89, '0',
                                                '1', '2', 'G', 'T', 'U', 'B', 'C', 0x8d, 0x8e, 'p', 'g', 'l', 'd'};
    int rounds = next() % 4 ? 1 : 2 + (int)(next() % 3);
    for (int r = 0; r < rounds; r++) {
        size_t at = n ? (size_t)(next() % n) : 0;
        switch (next() % 7) {
        case 0: if (n) buf[at] ^= (unsigned char)(1u << (next() % 8)); break;
        case 1: if (n) buf[at] = interesting[next() % sizeof interesting]; break;
        case 2: /* insert a byte */
            if (n < cap) {
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = next() % 2 ? interesting[next() % sizeof interesting] : (unsigned char)next();
                n++;
            }
            break;
        case 3: { /* delete a range */
            size_t k = n - at < 16 ? n - at : (size_t)(next() % 16);
            memmove(buf + at, buf + at + k, n - at - k);
            n -= k;
            break;
        }
        case 4: { /* copy a range elsewhere (repeats opcodes, shares memo indices) */
            if (!n) break;
            size_t from = (size_t)(next() % n), k = (size_t)(next() % 32);
            if (k > n - from) k = n - from;
            if (n + k > cap) break;
            unsigned char tmp[32];
            memcpy(tmp, buf + from, k);
            memmove(buf + at + k, buf + at, n - at);
            memcpy(buf + at, tmp, k);
            n += k;
            break;
        }
        case 5: { /* splice: the tail of another seed */
            const Seed *o = &seeds[next() % (uint64_t)n_seeds];
            if (!o->n) break;
            size_t from = (size_t)(next() % o->n), k = o->n - from;
            if (at + k > cap) k = cap - at;
            memcpy(buf + at, o->p + from, k);
            n = at + k;
            break;
        }
        case 6: /* a length or count byte made large */
            if (n) buf[at] = (unsigned char)(0xf0 | next());
            break;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    /* fuzz_pickle --seeds DIR: write the seeds for libFuzzer (make fuzz-pickle). */
    const char *seed_dir = argc > 2 && !strcmp(argv[1], "--seeds") ? argv[2] : NULL;
    long iterations = argc > 1 && !seed_dir ? atol(argv[1]) : 30000;
    Seed seeds[32];
    int n_seeds = 0;
    TwTensor t[] = {
        {"a", "0", "FloatStorage", 64, 0, 2, {8, 8}, {8, 1}, 0, -1},
        {"a_t", "0", "FloatStorage", 64, 4, 2, {6, 7}, {1, 8}, 1, -1},
        {"h", "1", "HalfStorage", 64, 3, 1, {9}, {2}, 0, -1},
        {"b", "2", "BFloat16Storage", 64, 0, 3, {2, 4, 8}, {32, 8, 1}, 0, -1},
        {"tied", "", "", 0, 0, 0, {0}, {0}, 0, 0},
        {"s", "3", "FloatStorage", 64, 63, 0, {0}, {0}, 0, -1},
    };
    TwBuf b = {0};
    tw_state_dict(&b, t, 6);
    add_seed(seeds, &n_seeds, b.p, b.n);
    b.n = 0;
    tw_state_dict(&b, t + 2, 2);
    add_seed(seeds, &n_seeds, b.p, b.n);
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 4); tw_op(&b, 0x95); tw_le(&b, 30, 8);
    tw_short_str(&b, "collections"); tw_op(&b, 0x94); tw_short_str(&b, "OrderedDict"); tw_op(&b, 0x94);
    tw_op(&b, 0x93); tw_op(&b, 0x94); tw_op(&b, ')'); tw_op(&b, 'R'); tw_op(&b, 0x94);
    tw_op(&b, '}'); tw_short_str(&b, "_metadata"); tw_op(&b, '}'); tw_op(&b, 's'); tw_op(&b, 'b'); tw_op(&b, '.');
    add_seed(seeds, &n_seeds, b.p, b.n);
    b.n = 0;
    tw_op(&b, 0x80); tw_u8(&b, 2); tw_global(&b, "posix", "system"); tw_str(&b, "true"); tw_op(&b, 0x85);
    tw_op(&b, 'R'); tw_op(&b, '.');
    add_seed(seeds, &n_seeds, b.p, b.n);
    free(b.p);
    int n_own = n_seeds;
    /* A whole archive (run as mode 2 below; as a pickle it is refused). */
    TwBuf pk = {0};
    tw_state_dict(&pk, t, 6);
    TwEntry ae[5] = {{"archive/data.pkl", pk.p, pk.n}};
    unsigned char *blob[3];
    char an[3][32];
    for (int k = 0; k < 3; k++) {
        size_t len;
        blob[k] = storage_blob(k, &len);
        snprintf(an[k], sizeof an[k], "archive/data/%d", k);
        ae[1 + k] = (TwEntry){an[k], blob[k], len};
    }
    ae[4] = (TwEntry){"archive/data/3", blob[0], 256};
    TwZipOpt ao = tw_torch_style();
    size_t alen;
    unsigned char *arch = tw_zip(ae, 5, &ao, &alen);
    Seed archive_seed = {arch, alen};
    free(pk.p);
    for (int k = 0; k < 3; k++) free(blob[k]);
    reference_seed(seeds, &n_seeds, "mamba1-ssm-tiny");
    reference_seed(seeds, &n_seeds, "mamba2-ssm-tiny");
    int n_ref = n_seeds - n_own;

    size_t cap = 1 << 16;
    if (seed_dir) {
        for (int s = 0; s <= n_seeds; s++)
            for (int mode = 0; mode < 3; mode++) {
                const Seed *sd = s < n_seeds ? &seeds[s] : &archive_seed;
                if ((mode == 2) != (s == n_seeds)) continue;
                unsigned char *p = malloc(sd->n + 1);
                p[0] = (unsigned char)mode;
                memcpy(p + 1, sd->p, sd->n);
                char path[4096];
                snprintf(path, sizeof path, "%s/seed-%d-%d", seed_dir, s, mode);
                tw_write_file(path, p, sd->n + 1);
                free(p);
            }
        printf("%d seeds written to %s\n", 2 * n_seeds + 1, seed_dir);
        return 0;
    }
    /* The seeds themselves, both ways. */
    unsigned char *buf = malloc(cap + 1);
    for (int s = 0; s < n_seeds; s++)
        for (int mode = 0; mode < 2; mode++) {
            size_t n = seeds[s].n < cap ? seeds[s].n : cap;
            buf[0] = (unsigned char)mode;
            memcpy(buf + 1, seeds[s].p, n);
            LLVMFuzzerTestOneInput(buf, n + 1);
        }
    buf[0] = 2;
    memcpy(buf + 1, archive_seed.p, archive_seed.n);
    LLVMFuzzerTestOneInput(buf, archive_seed.n + 1);
    long seed_accepted = n_accepted;
    /* All but the hostile seed read; the reference pickles' storages are not
     * in the fuzz archive, so they read only as pickles. */
    is_int((int)seed_accepted, 2 * (n_seeds - 1) - n_ref + 1, "the %d seeds (%d from ../shared) and an archive run",
           n_seeds, n_ref);
    double t0 = kop_now();
    for (long i = 0; i < iterations; i++) {
        buf[0] = (unsigned char)(next() % 3);
        const Seed *s = buf[0] == 2 ? &archive_seed : &seeds[next() % (uint64_t)n_seeds];
        size_t n = s->n < cap ? s->n : cap;
        memcpy(buf + 1, s->p, n);
        n = mutate(buf + 1, n, cap, seeds, n_seeds);
        LLVMFuzzerTestOneInput(buf, n + 1);
    }
    ok(n_bad_errors == 0, "%ld mutated inputs in %.2f s: %ld read, %ld refused, every refusal with status 1 naming "
       "the input", iterations, kop_now() - t0, n_accepted - seed_accepted, n_refused - (2L * n_seeds + 1 - seed_accepted));
    ok(n_accepted > seed_accepted && n_refused > 0, "mutations both kept inputs readable and broke them");
    for (int s = 0; s < n_seeds; s++) free(seeds[s].p);
    free(arch);
    free(buf);
    return done_testing();
}
#endif
