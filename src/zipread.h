/* zipread.h: read-only access to the stored entries of a zip archive held
 * in memory (an mmapped pytorch_model.bin).
 *
 * torch.save writes a zip archive of uncompressed ("stored") entries: the
 * pickle `<top>/data.pkl`, one entry per storage `<top>/data/<key>`, and a
 * few small records.  Its writer (miniz) sets general-purpose bit 3, so the
 * local headers carry zero CRC and sizes and a data descriptor follows each
 * entry's data; it always writes the zip64 end records.  Both shapes, and
 * the plain one (sizes in the local header), are read here.
 *
 * Nothing in the archive is trusted: zip_open() checks the end of central
 * directory records (zip64 ones included), that the central directory lies
 * inside the file, that every entry's name is unique and its sizes and
 * local header offset fit before the central directory.  An entry is used
 * only through zip_entry_data(), which checks its local header against the
 * central directory (signature, name, method, sizes or data descriptor) and
 * that the entry is stored, not compressed; zip_verify_crc() then checks the
 * CRC-32 of the entries a caller uses.  Errors name the archive's path.
 *
 * Ownership: the Zip borrows the mapping (which must outlive it) and owns
 * its entry table; zip_close() frees the table. */
#ifndef KOP_ZIPREAD_H
#define KOP_ZIPREAD_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

typedef struct ZipEntry {
    char *name;                    /* NUL-free, owned by the Zip */
    uint64_t header_offset;        /* of the local file header */
    uint64_t size;                 /* compressed size (== uncompressed when stored) */
    uint64_t usize;                /* uncompressed size */
    uint32_t crc;                  /* CRC-32 from the central directory */
    uint16_t method, flags;
    const unsigned char *data;     /* set by zip_entry_data: size bytes */
} ZipEntry;

typedef struct Zip {
    const char *path;              /* borrowed, for messages */
    const unsigned char *map;      /* the whole archive */
    size_t len;
    uint64_t cd_offset;            /* where the central directory starts: entry data ends before */
    ZipEntry *entries;             /* sorted by name */
    int n_entries;
} Zip;

/* Read the central directory of the archive MAP[0..LEN).  PATH names it in
 * errors (KOP_EXIT_DATA).  On failure *z is left closed. */
int zip_open(Zip *z, const unsigned char *map, size_t len, const char *path, KopError *err);
void zip_close(Zip *z);

/* The entry called NAME, or NULL. */
ZipEntry *zip_find(const Zip *z, const char *name);

/* Check E's local header against the central directory, require it stored,
 * and return its data (E->size bytes; also kept in E->data). */
const unsigned char *zip_entry_data(const Zip *z, ZipEntry *e, KopError *err);

/* Verify the CRC-32 of the N entries ES (each already through
 * zip_entry_data); the checksums are computed in parallel. */
int zip_verify_crc(const Zip *z, ZipEntry *const *es, int n, KopError *err);

/* CRC-32 (ISO-HDLC, the zip one) of N bytes, continuing from CRC (0 to start). */
uint32_t zip_crc32(uint32_t crc, const void *buf, size_t n);

#endif
