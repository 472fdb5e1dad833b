/*
 * segwriter.h - write a segment file section by section.
 *
 * The file is written under tmp/, each section starting on a VL_SEG_ALIGN
 * boundary with its CRC-32C computed as it streams; finish() writes the
 * header and section table at offset 0 and fsyncs. The engine then renames
 * it into seg/ and fsyncs the directory (see engine/segfile.c).
 * All writes go through vl_io_hooks so tests can inject ENOSPC/EIO.
 */
#ifndef VL_SEGWRITER_H
#define VL_SEGWRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "segment.h"
#include "vl_diag.h"

/* Failure injection for tests: replace to simulate full or failing disks. */
typedef struct vl_io_hooks {
	ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	int (*fsync)(int fd);
} vl_io_hooks;
extern vl_io_hooks vl_io;
/* Write all n bytes at off through vl_io.pwrite (continuing short writes,
 * retrying EINTR): 0, or the errno of the failure (ENOSPC for a write of
 * zero bytes). */
int vl_pwrite_all(int fd, const void *p, size_t n, uint64_t off);

typedef struct vl_segw {
	int fd;
	char *path;                /* the temp file */
	uint64_t off;              /* next byte to write */
	vl_seg_section sec[VL_SEG_MAX_SECTIONS];
	uint32_t nsec;
	int in_section;
	uint8_t *buf;              /* write-behind buffer */
	size_t buf_len;
	uint64_t buf_off;          /* file offset of buf[0] */
	vl_diag *d;
} vl_segw;

/* Create `path` (O_EXCL) and reserve the header block. */
int vl_segw_create(vl_segw *w, const char *path, vl_diag *d);
/* Continue a file that already holds one finished section at VL_SEG_ALIGN
 * (bytes long, CRC-32C crc; the header block is left to finish()), such as
 * a bulk load's vectors spilled in place. On success the writer owns fd and
 * path (finish() closes it, discard() closes and unlinks it); on failure the
 * caller still does. */
int vl_segw_adopt(vl_segw *w, int fd, const char *path, uint32_t kind, uint64_t row_stride,
                  uint64_t bytes, uint32_t crc, vl_diag *d);
int vl_segw_begin(vl_segw *w, uint32_t kind, uint32_t param, uint64_t row_stride);
int vl_segw_write(vl_segw *w, const void *p, size_t n);
int vl_segw_end(vl_segw *w);
/* Flush buffered bytes so the file can be mmap'd up to w->off. */
int vl_segw_sync_view(vl_segw *w);
/* Fill h->nsections/file_bytes, write header+table, fsync, close. The caller
 * sets the other header fields. The file stays at w->path. */
int vl_segw_finish(vl_segw *w, vl_seg_header *h);
/* Close and unlink the temp file (after an error, or to abandon). */
void vl_segw_discard(vl_segw *w);

#endif
