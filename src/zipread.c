/* zipread.c: the central directory, local headers and CRC-32 of a zip
 * archive in memory (see zipread.h).  Record layouts are those of PKWARE's
 * APPNOTE.TXT (sections 4.3.7 local header, 4.3.9 data descriptor, 4.3.12
 * central header, 4.3.14-16 zip64 and end records, 4.5.3 zip64 extra). */
#include "zipread.h"

#include <pthread.h>
#include <string.h>

enum {
    SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_DESCRIPTOR = 0x08074b50,
    SIG_END = 0x06054b50, SIG_END64 = 0x06064b50, SIG_LOCATOR64 = 0x07064b50,
    LOCAL_LEN = 30, CENTRAL_LEN = 46, END_LEN = 22, END64_LEN = 56, LOCATOR64_LEN = 20,
    FLAG_ENCRYPTED = 1, FLAG_DESCRIPTOR = 8,
    EXTRA_ZIP64 = 1,
};

static uint32_t u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32(const unsigned char *p) { return u16(p) | u16(p + 2) << 16; }
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

// ---------------------------------------------------------------------------
// CRC-32, slicing by 8 (eight table lookups per 8 bytes)

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = crc_table[t - 1][i] >> 8 ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t zip_crc32(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t a = c ^ u32(p), b = u32(p + 4);
        c = crc_table[7][a & 0xff] ^ crc_table[6][a >> 8 & 0xff] ^ crc_table[5][a >> 16 & 0xff]
            ^ crc_table[4][a >> 24] ^ crc_table[3][b & 0xff] ^ crc_table[2][b >> 8 & 0xff]
            ^ crc_table[1][b >> 16 & 0xff] ^ crc_table[0][b >> 24];
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xff] ^ c >> 8;
    return ~c;
}

// ---------------------------------------------------------------------------
// End records and the central directory

/* The zip64 extra field of a header: replaces, in order, each of the
 * 32-bit values that hold 0xFFFFFFFF (APPNOTE 4.5.3).  -1 when the field
 * is missing or too short for the values it must hold. */
static int zip64_extra(const unsigned char *x, size_t xlen, uint64_t *usize, uint64_t *csize, uint64_t *offset)
{
    while (xlen >= 4) {
        uint32_t id = u16(x), n = u16(x + 2);
        if (n > xlen - 4) return -1;
        if (id == EXTRA_ZIP64) {
            const unsigned char *q = x + 4, *end = q + n;
            uint64_t *fields[3] = {usize, csize, offset};
            for (int i = 0; i < 3; i++) {
                if (!fields[i] || *fields[i] != 0xffffffffu) continue;
                if (end - q < 8) return -1;
                *fields[i] = u64(q);
                q += 8;
            }
            return 0;
        }
        x += 4 + n;
        xlen -= 4 + n;
    }
    int need = (usize && *usize == 0xffffffffu) || (csize && *csize == 0xffffffffu)
               || (offset && *offset == 0xffffffffu);
    return need ? -1 : 0;
}

/* The end of central directory record: the last signature from which the
 * record and its comment reach exactly the end of the file. */
static int64_t find_end(const unsigned char *map, size_t len)
{
    if (len < END_LEN) return -1;
    size_t lo = len - END_LEN > 0xffff ? len - END_LEN - 0xffff : 0;
    for (size_t i = len - END_LEN + 1; i-- > lo;)
        if (u32(map + i) == SIG_END && i + END_LEN + u16(map + i + 20) == len) return (int64_t)i;
    return -1;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const ZipEntry *)a)->name, ((const ZipEntry *)b)->name);
}

static int read_central(Zip *z, uint64_t n, uint64_t cd_size, KopError *err)
{
    const unsigned char *p = z->map + z->cd_offset, *end = p + cd_size;
    z->entries = kop_xcalloc(n ? (size_t)n : 1, sizeof *z->entries);
    for (uint64_t i = 0; i < n; i++) {
        if (end - p < CENTRAL_LEN || u32(p) != SIG_CENTRAL)
            return kop_fail(err, KOP_EXIT_DATA, "%s: central directory entry %llu is missing or damaged", z->path,
                            (unsigned long long)i);
        size_t nlen = u16(p + 28), xlen = u16(p + 30), clen = u16(p + 32);
        if ((size_t)(end - p) - CENTRAL_LEN < nlen + xlen + clen)
            return kop_fail(err, KOP_EXIT_DATA, "%s: central directory entry %llu runs past the directory", z->path,
                            (unsigned long long)i);
        ZipEntry *e = &z->entries[z->n_entries++];
        e->name = kop_xmalloc(nlen + 1);
        memcpy(e->name, p + CENTRAL_LEN, nlen);
        e->name[nlen] = 0;
        if (strlen(e->name) != nlen)
            return kop_fail(err, KOP_EXIT_DATA, "%s: entry %llu has a NUL byte in its name", z->path,
                            (unsigned long long)i);
        e->flags = (uint16_t)u16(p + 8);
        e->method = (uint16_t)u16(p + 10);
        e->crc = u32(p + 16);
        e->size = u32(p + 20);
        e->usize = u32(p + 24);
        e->header_offset = u32(p + 42);
        uint32_t disk = u16(p + 34);
        if (zip64_extra(p + CENTRAL_LEN + nlen, xlen, &e->usize, &e->size, &e->header_offset) < 0)
            return kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s': zip64 extra field missing or too short", z->path,
                            e->name);
        if (disk != 0 && disk != 0xffff)
            return kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s' is on disk %u of a multi-part archive", z->path,
                            e->name, disk);
        if (e->header_offset >= z->cd_offset || e->size > z->cd_offset - e->header_offset)
            return kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s' (%llu bytes at offset %llu) does not fit before the "
                            "central directory (offset %llu)", z->path, e->name, (unsigned long long)e->size,
                            (unsigned long long)e->header_offset, (unsigned long long)z->cd_offset);
        p += CENTRAL_LEN + nlen + xlen + clen;
    }
    qsort(z->entries, (size_t)z->n_entries, sizeof *z->entries, cmp_entry);
    for (int i = 1; i < z->n_entries; i++)
        if (!strcmp(z->entries[i - 1].name, z->entries[i].name))
            return kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s' appears twice", z->path, z->entries[i].name);
    return 0;
}

int zip_open(Zip *z, const unsigned char *map, size_t len, const char *path, KopError *err)
{
    memset(z, 0, sizeof *z);
    z->path = path;
    z->map = map;
    z->len = len;
    if (len < 4 || u32(map) != SIG_LOCAL)
        return kop_fail(err, KOP_EXIT_DATA, "%s: not a zip archive (kop reads the zip checkpoints torch.save has "
                        "written since torch 1.6)", path);
    int64_t eo = find_end(map, len);
    if (eo < 0)
        return kop_fail(err, KOP_EXIT_DATA, "%s: no end of central directory record (the archive is truncated?)", path);
    const unsigned char *e = map + eo;
    uint64_t n = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
    uint64_t limit = (uint64_t)eo;  /* the central directory ends before this */
    if (u16(e + 4) != 0 || u16(e + 6) != 0 || u16(e + 8) != u16(e + 10))
        return kop_fail(err, KOP_EXIT_DATA, "%s: a multi-part archive; kop reads single-file archives", path);
    if (eo >= LOCATOR64_LEN && u32(map + eo - LOCATOR64_LEN) == SIG_LOCATOR64) {
        const unsigned char *loc = map + eo - LOCATOR64_LEN;
        uint64_t o64 = u64(loc + 8);
        if (o64 > (uint64_t)eo - LOCATOR64_LEN || (uint64_t)eo - LOCATOR64_LEN - o64 < END64_LEN
            || u32(map + o64) != SIG_END64)
            return kop_fail(err, KOP_EXIT_DATA, "%s: the zip64 end of central directory record is missing", path);
        const unsigned char *e64 = map + o64;
        if (u32(e64 + 16) != 0 || u32(e64 + 20) != 0 || u64(e64 + 24) != u64(e64 + 32))
            return kop_fail(err, KOP_EXIT_DATA, "%s: a multi-part archive; kop reads single-file archives", path);
        n = u64(e64 + 32);
        cd_size = u64(e64 + 40);
        cd_offset = u64(e64 + 48);
        limit = o64;
    } else if (n == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
        return kop_fail(err, KOP_EXIT_DATA, "%s: the zip64 end of central directory locator is missing", path);
    }
    if (cd_offset > limit || cd_size > limit - cd_offset)
        return kop_fail(err, KOP_EXIT_DATA, "%s: the central directory (%llu bytes at offset %llu) lies outside the "
                        "archive (%zu bytes; truncated?)", path, (unsigned long long)cd_size,
                        (unsigned long long)cd_offset, len);
    if (n > cd_size / CENTRAL_LEN)
        return kop_fail(err, KOP_EXIT_DATA, "%s: %llu entries cannot fit in a central directory of %llu bytes", path,
                        (unsigned long long)n, (unsigned long long)cd_size);
    z->cd_offset = cd_offset;
    if (read_central(z, n, cd_size, err) < 0) {
        zip_close(z);
        return -1;
    }
    return 0;
}

void zip_close(Zip *z)
{
    for (int i = 0; i < z->n_entries; i++) free(z->entries[i].name);
    free(z->entries);
    memset(z, 0, sizeof *z);
}

ZipEntry *zip_find(const Zip *z, const char *name)
{
    if (!z->n_entries) return NULL;
    ZipEntry key = {.name = (char *)name};
    return bsearch(&key, z->entries, (size_t)z->n_entries, sizeof key, cmp_entry);
}

// ---------------------------------------------------------------------------
// Entries

/* A local value must equal the central one; with a data descriptor (bit 3)
 * it may also be 0, the descriptor then holding the value. */
static int local_agrees(uint64_t local, uint64_t central, int descriptor)
{
    return local == central || (descriptor && local == 0);
}

/* The data descriptor after the data (APPNOTE 4.3.9): an optional
 * signature, the CRC, then both sizes in 4 bytes, or in 8 for zip64. */
static int check_descriptor(const Zip *z, const ZipEntry *e, uint64_t at, KopError *err)
{
    const unsigned char *p = z->map + at;
    uint64_t room = z->cd_offset - at;
    if (room >= 4 && u32(p) == SIG_DESCRIPTOR) {
        p += 4;
        room -= 4;
    }
    int ok = 0;
    if (room >= 12 && u32(p) == e->crc && u32(p + 4) == e->size && u32(p + 8) == e->usize) ok = 1;
    if (!ok && room >= 20 && u32(p) == e->crc && u64(p + 4) == e->size && u64(p + 12) == e->usize) ok = 1;
    if (!ok)
        return kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s': the data descriptor disagrees with the central directory",
                        z->path, e->name);
    return 0;
}

const unsigned char *zip_entry_data(const Zip *z, ZipEntry *e, KopError *err)
{
    if (e->data) return e->data;
    uint64_t o = e->header_offset;
    const unsigned char *p = z->map + o;
    if (z->cd_offset - o < LOCAL_LEN || u32(p) != SIG_LOCAL) {
        kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s': no local header at offset %llu", z->path, e->name,
                 (unsigned long long)o);
        return NULL;
    }
    uint32_t flags = u16(p + 6), method = u16(p + 8);
    size_t nlen = u16(p + 26), xlen = u16(p + 28);
    uint64_t data_at = o + LOCAL_LEN + nlen + xlen;
    if (data_at > z->cd_offset || memcmp(p + LOCAL_LEN, e->name, nlen) || nlen != strlen(e->name)) {
        kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s': the local header names another file than the central directory",
                 z->path, e->name);
        return NULL;
    }
    if ((e->flags | flags) & FLAG_ENCRYPTED) {
        kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s' is encrypted", z->path, e->name);
        return NULL;
    }
    if (method != e->method || (flags & FLAG_DESCRIPTOR) != (e->flags & FLAG_DESCRIPTOR)) {
        kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s': local header and central directory disagree on the method or "
                 "flags", z->path, e->name);
        return NULL;
    }
    if (method != 0 || e->size != e->usize) {
        kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s' is compressed (method %u); kop reads stored entries, as "
                 "torch.save writes them", z->path, e->name, method);
        return NULL;
    }
    int desc = (flags & FLAG_DESCRIPTOR) != 0;
    uint64_t lcrc = u32(p + 14), lsize = u32(p + 18), lusize = u32(p + 22);
    if (zip64_extra(p + LOCAL_LEN + nlen, xlen, &lusize, &lsize, NULL) < 0 || !local_agrees(lcrc, e->crc, desc)
        || !local_agrees(lsize, e->size, desc) || !local_agrees(lusize, e->usize, desc)) {
        kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s': the local header's CRC or sizes disagree with the central "
                 "directory", z->path, e->name);
        return NULL;
    }
    if (e->size > z->cd_offset - data_at) {
        kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s' (%llu bytes) runs into the central directory (truncated?)",
                 z->path, e->name, (unsigned long long)e->size);
        return NULL;
    }
    if (desc && check_descriptor(z, e, data_at + e->size, err) < 0) return NULL;
    e->data = z->map + data_at;
    return e->data;
}

int zip_verify_crc(const Zip *z, ZipEntry *const *es, int n, KopError *err)
{
    uint32_t *got = kop_xmalloc(sizeof *got * (size_t)(n ? n : 1));
    pthread_once(&crc_once, crc_init);
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++) got[i] = zip_crc32(0, es[i]->data, (size_t)es[i]->size);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        KOP_ASSERT(es[i]->data);
        if (got[i] != es[i]->crc)
            rc = kop_fail(err, KOP_EXIT_DATA, "%s: entry '%s': CRC-32 is %08x but the archive records %08x (the file "
                          "is damaged)", z->path, es[i]->name, got[i], es[i]->crc);
    }
    free(got);
    return rc;
}
