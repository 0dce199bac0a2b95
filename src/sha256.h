/* sha256.h: SHA-256 (FIPS 180-4), for the checksum of a model's config.json
 * in result manifests.  No dependency beyond libc. */
#ifndef KOP_SHA256_H
#define KOP_SHA256_H

#include <stddef.h>

/* hex: 65 bytes, receives 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
