/* segwriter.c - stream sections into a segment file (see segwriter.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "segwriter.h"

#define WBUF (4u << 20)

static ssize_t sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

vl_io_hooks vl_io = { sys_pwrite, fsync };

static int io_error(vl_segw *w, int err, const char *what)
{
	int code = (err == ENOSPC || err == EDQUOT) ? VL_ENOSPC : VL_EIO;
	return vl_diag_set(w->d, code, w->off, "%s %s: %s", what, w->path, strerror(err));
}

int vl_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t r = vl_io.pwrite(fd, b, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : ENOSPC;
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int write_all(vl_segw *w, const void *p, size_t n, uint64_t off)
{
	int err = vl_pwrite_all(w->fd, p, n, off);
	return err ? io_error(w, err, "writing") : VL_OK;
}

static int flush_buf(vl_segw *w)
{
	if (!w->buf_len)
		return VL_OK;
	int rc = write_all(w, w->buf, w->buf_len, w->buf_off);
	w->buf_off += w->buf_len;
	w->buf_len = 0;
	return rc;
}

/* Path and write-behind buffer of a new writer (no file yet). */
static int writer_init(vl_segw *w, const char *path, vl_diag *d)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	w->d = d;
	w->path = strdup(path);
	w->buf = malloc(WBUF);
	if (w->path && w->buf)
		return VL_OK;
	free(w->path);
	free(w->buf);
	w->path = NULL;
	w->buf = NULL;
	return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
}

int vl_segw_create(vl_segw *w, const char *path, vl_diag *d)
{
	int rc = writer_init(w, path, d);
	if (rc)
		return rc;
	w->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		rc = io_error(w, errno, "creating");
		free(w->path);
		free(w->buf);
		w->path = NULL;
		w->buf = NULL;
		return rc;
	}
	w->off = VL_SEG_ALIGN; /* header block written last */
	w->buf_off = w->off;
	return VL_OK;
}

int vl_segw_adopt(vl_segw *w, int fd, const char *path, uint32_t kind, uint64_t row_stride,
                  uint64_t bytes, uint32_t crc, vl_diag *d)
{
	int rc = writer_init(w, path, d);
	if (rc)
		return rc;
	w->fd = fd;
	vl_seg_section *s = &w->sec[w->nsec++];
	s->kind = kind;
	s->offset = VL_SEG_ALIGN;
	s->length = bytes;
	s->row_stride = row_stride;
	s->crc = crc;
	w->off = VL_SEG_ALIGN + bytes;
	w->buf_off = w->off;
	return VL_OK;
}

int vl_segw_begin(vl_segw *w, uint32_t kind, uint32_t param, uint64_t row_stride)
{
	if (w->in_section || w->nsec >= VL_SEG_MAX_SECTIONS)
		return vl_diag_set(w->d, VL_EINVAL, VL_NO_OFFSET, "segment writer: too many sections");
	/* pad to the alignment boundary */
	uint64_t start = vl_align_up(w->off, VL_SEG_ALIGN);
	static const uint8_t zeros[64];
	while (w->off < start) {
		size_t n = start - w->off > sizeof zeros ? sizeof zeros : (size_t)(start - w->off);
		int rc = vl_segw_write(w, zeros, n);
		if (rc)
			return rc;
	}
	vl_seg_section *s = &w->sec[w->nsec];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->param = param;
	s->offset = start;
	s->row_stride = row_stride;
	w->in_section = 1;
	return VL_OK;
}

int vl_segw_write(vl_segw *w, const void *p, size_t n)
{
	const uint8_t *b = p;
	if (w->in_section)
		w->sec[w->nsec].crc = vl_crc32c(w->sec[w->nsec].crc, p, n);
	w->off += n;
	while (n) {
		size_t room = WBUF - w->buf_len;
		size_t m = n < room ? n : room;
		memcpy(w->buf + w->buf_len, b, m);
		w->buf_len += m;
		b += m;
		n -= m;
		if (w->buf_len == WBUF) {
			int rc = flush_buf(w);
			if (rc)
				return rc;
		}
	}
	return VL_OK;
}

int vl_segw_end(vl_segw *w)
{
	if (!w->in_section)
		return vl_diag_set(w->d, VL_EINVAL, VL_NO_OFFSET, "segment writer: no open section");
	vl_seg_section *s = &w->sec[w->nsec];
	s->length = w->off - s->offset;
	w->in_section = 0;
	w->nsec++;
	return VL_OK;
}

int vl_segw_sync_view(vl_segw *w)
{
	return flush_buf(w);
}

int vl_segw_finish(vl_segw *w, vl_seg_header *h)
{
	int rc;
	if (w->in_section)
		return vl_diag_set(w->d, VL_EINVAL, VL_NO_OFFSET, "segment writer: section left open");
	/* pad the file to the alignment so every section's page range is whole */
	uint64_t end = vl_align_up(w->off, VL_SEG_ALIGN);
	if (end > w->off) {
		static const uint8_t zeros[VL_SEG_ALIGN];
		if ((rc = vl_segw_write(w, zeros, (size_t)(end - w->off))))
			return rc;
	}
	if ((rc = flush_buf(w)))
		return rc;
	memcpy(h->magic, VL_SEG_MAGIC, 8);
	h->version = VL_SEG_VERSION;
	h->nsections = w->nsec;
	h->file_bytes = w->off;
	uint8_t *hdr = malloc(VL_SEG_ALIGN);
	if (!hdr)
		return vl_diag_set(w->d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	vl_seg_encode_header(h, w->sec, w->nsec, hdr);
	rc = write_all(w, hdr, VL_SEG_ALIGN, 0);
	free(hdr);
	if (rc)
		return rc;
	if (vl_io.fsync(w->fd) != 0)
		return io_error(w, errno, "fsync of");
	if (close(w->fd) != 0) {
		w->fd = -1;
		return io_error(w, errno, "closing");
	}
	w->fd = -1;
	free(w->buf);
	w->buf = NULL;
	return VL_OK;
}

void vl_segw_discard(vl_segw *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->path)
		unlink(w->path);
	w->fd = -1;
	free(w->path);
	free(w->buf);
	w->path = NULL;
	w->buf = NULL;
}
