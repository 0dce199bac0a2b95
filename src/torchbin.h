/* torchbin.h: a pytorch_model.bin (torch.save's zip format) read into the
 * same tensor table as a safetensors file (StFile, safetensors.h), so the
 * loader looks tensors up the same way whatever the format.
 *
 * The archive holds `<top>/data.pkl` (any top folder name: torch uses the
 * file's base name, "archive", ...), a pickle of the state dict, and one
 * entry `<top>/data/<key>` per storage.  tb_open maps the file read-only,
 * reads the zip (zipread.h), checks the CRC-32 of data.pkl, runs it through
 * the data-only pickle interpreter (pickle.h; nothing in the file is ever
 * executed), and requires the result to be a dict of tensors.  For each
 * tensor it then checks, before any byte is used:
 *  - its storage entry exists, is stored, and holds exactly the storage's
 *    element count times the dtype size (F32, F16, BF16);
 *  - offset, sizes and strides are non-negative and the view's last
 *    element lies inside the storage (with every product checked for
 *    overflow); a view never has more elements than its storage;
 *  - the CRC-32 of every storage used (computed in parallel).
 * A view that is contiguous in the file is used in place (StTensor.data
 * points into the mapping, as for safetensors; st_tensor_f32 copies it if
 * misaligned); any other view (a transposed weight, say) is copied
 * contiguous in its stored dtype into StFile.views.  Names sharing one
 * storage (a tied lm_head) point at the same bytes.  A big-endian archive
 * (a `byteorder` record other than "little") is refused.
 *
 * Errors name the file and, for the pickle, the byte offset (KOP_EXIT_DATA;
 * KOP_EXIT_USAGE for open or mmap failures). */
#ifndef KOP_TORCHBIN_H
#define KOP_TORCHBIN_H

#include "pickle.h"
#include "safetensors.h"

/* Map and read PATH into F (closed with st_close).  On failure *f is closed. */
int tb_open(StFile *f, const char *path, KopError *err);

/* The same on an archive already in memory, which must outlive F (F->map
 * stays NULL: st_close does not unmap it).  PATH is only for messages. */
int tb_open_mem(StFile *f, const unsigned char *map, size_t len, const char *path, KopError *err);

/* Whether the view T fits a storage of STORAGE_NUMEL elements: 0, or -1
 * with the reason written to WHY. */
int tb_check_view(const PkTensor *t, int64_t storage_numel, char *why, size_t n);

#endif
