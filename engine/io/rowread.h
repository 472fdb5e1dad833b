/*
 * rowread.h - read scattered fixed-size rows of a file in one batch.
 *
 * Re-ranking from disk (DiskANN style) needs the full-precision rows of a
 * few dozen candidates that are usually not in memory. Three ways to get
 * them, chosen by the RERANK_IO search parameter:
 *   mmap   the segment mapping (page faults, one 4 KiB read each);
 *   pread  one pread per row, in sequence;
 *   uring  all rows submitted at once to an io_uring (one per thread, made
 *          on first use), so the device works on them in parallel.
 * io_uring often is unavailable (old kernels, containers that forbid it):
 * the first failed io_uring_queue_init switches the process to pread.
 */
#ifndef VL_ROWREAD_H
#define VL_ROWREAD_H

#include <stddef.h>
#include <stdint.h>

#include "vl_diag.h"

typedef enum vl_rowio { VL_ROWIO_MMAP = 0, VL_ROWIO_PREAD = 1, VL_ROWIO_URING = 2 } vl_rowio;

/* Read n rows of len bytes at the given file offsets into out (n * len
 * bytes). With VL_ROWIO_URING falls back to pread when io_uring cannot be
 * set up. VL_EIO on a failed or short read. */
int vl_rowread(int fd, const uint64_t *offsets, size_t n, size_t len, void *out, vl_rowio mode,
               vl_diag *d);
/* Whether io_uring works in this process (sets it up on first call). */
int vl_rowread_uring_available(void);

#endif
