/*
 * spillw.h - a file written front to back by a background thread.
 *
 * A bulk load's spill file takes every vector of the load. Writing it from
 * the loading thread puts the kernel's copy into the page cache on that
 * thread, which is the import's bottleneck (perf, seed-scale flat import:
 * the spill's pwrite was 16% of all samples). Here the caller fills one
 * buffer while a thread writes the other, through vl_io.pwrite (the test
 * hooks). Writes stop at the first failure; its errno is returned by the
 * next append that hands a buffer over, or by finish.
 */
#ifndef VL_SPILLW_H
#define VL_SPILLW_H

#include <stddef.h>
#include <stdint.h>

typedef struct vl_spillw vl_spillw;

/* Write fd from offset off on, in buffers of buf_bytes. 0 or VL_ENOMEM.
 * Without a thread (pthread_create failed) the writes are made in place. */
int vl_spillw_new(int fd, uint64_t off, size_t buf_bytes, vl_spillw **out);
/* Append n <= buf_bytes bytes: 0, or the errno of a failed write
 * (ENOSPC for a write of zero bytes). */
int vl_spillw_append(vl_spillw *w, const void *p, size_t n);
/* Write what is buffered and wait for it: 0 or the errno of the first
 * failure. *crc: CRC-32C of every byte appended. */
int vl_spillw_finish(vl_spillw *w, uint32_t *crc);
/* Stop the thread (after its current write) and free; NULL is a no-op. */
void vl_spillw_free(vl_spillw *w);

#endif
