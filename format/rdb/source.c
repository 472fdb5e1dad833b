/* source.c - the RDB reader's byte window, CRC feed and read adapters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc64.h"
#include "rdb_int.h"

int rdb_buf_reserve(rdb_buf *b, size_t n, vl_diag *d)
{
	if (n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < n)
		cap = cap > SIZE_MAX / 2 ? n : cap * 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory for a %zu-byte value", n);
	b->p = p;
	b->cap = cap;
	return 0;
}

void rdb_buf_free(rdb_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int src_init(rdb_src *s, vl_rdb_read_fn rd, void *ud, size_t cap, vl_diag *d)
{
	memset(s, 0, sizeof *s);
	s->read = rd;
	s->ud = ud;
	s->cap = cap;
	s->win = malloc(cap);
	if (!s->win)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory for the read window");
	return 0;
}

void src_free(rdb_src *s)
{
	free(s->win);
	s->win = NULL;
}

/* Fold win[crc_from..pos) into the CRC: those bytes are consumed for good. */
static void crc_fold(rdb_src *s)
{
	if (s->pos > s->crc_from) {
		s->crc = vl_crc64(s->crc, s->win + s->crc_from, s->pos - s->crc_from);
		s->crc_from = s->pos;
	}
}

uint64_t src_crc(rdb_src *s)
{
	crc_fold(s);
	return s->crc;
}

/* Move unread bytes to the front and read more until `want` bytes are
 * buffered or the input ends. */
static int fill(rdb_src *s, size_t want, vl_diag *d)
{
	crc_fold(s);
	if (s->pos > 0) {
		memmove(s->win, s->win + s->pos, s->end - s->pos);
		s->win_off += s->pos;
		s->end -= s->pos;
		s->pos = 0;
		s->crc_from = 0;
	}
	while (s->end < want && !s->eof) {
		int64_t n = s->read(s->ud, s->win + s->end, s->cap - s->end);
		if (n < 0)
			return vl_diag_set(d, n < VL_ECODE_MIN ? VL_EIO : (int)n, s->win_off + s->end,
			                   "reading the dump failed");
		if (n == 0)
			s->eof = 1;
		if ((uint64_t)n > s->cap - s->end)
			return vl_diag_set(d, VL_EIO, s->win_off + s->end, "read function overran its buffer");
		s->end += (size_t)n;
	}
	return 0;
}

static int truncated(rdb_src *s, uint64_t n, const char *what, vl_diag *d)
{
	return vl_diag_set(d, VL_EFORMAT, src_off(s),
	                   "file truncated: %s needs %llu bytes but the file ends after %llu bytes",
	                   what, (unsigned long long)n, (unsigned long long)(s->win_off + s->end));
}

int src_need(rdb_src *s, size_t n, const char *what, vl_diag *d)
{
	if (s->end - s->pos >= n)
		return 0;
	int rc = fill(s, n, d);
	if (rc < 0)
		return rc;
	if (s->end - s->pos < n)
		return truncated(s, n, what, d);
	return 0;
}

int src_skip(rdb_src *s, uint64_t n, const char *what, vl_diag *d)
{
	const uint64_t start = src_off(s);
	while (n > 0) {
		if (s->pos == s->end) {
			int rc = fill(s, 1, d);
			if (rc < 0)
				return rc;
			if (s->pos == s->end)
				return vl_diag_set(d, VL_EFORMAT, start,
				                   "file truncated: %s needs %llu more bytes but the file ends "
				                   "after %llu bytes",
				                   what, (unsigned long long)n, (unsigned long long)src_off(s));
		}
		size_t k = s->end - s->pos;
		if (k > n)
			k = (size_t)n;
		s->pos += k;
		n -= k;
	}
	return 0;
}

int src_copy(rdb_src *s, uint8_t *dst, size_t n, const char *what, vl_diag *d)
{
	const uint64_t start = src_off(s);
	while (n > 0) {
		if (s->pos == s->end) {
			int rc = fill(s, 1, d);
			if (rc < 0)
				return rc;
			if (s->pos == s->end)
				return vl_diag_set(d, VL_EFORMAT, start,
				                   "file truncated: %s needs %zu more bytes but the file ends "
				                   "after %llu bytes",
				                   what, n, (unsigned long long)src_off(s));
		}
		size_t k = s->end - s->pos;
		if (k > n)
			k = n;
		memcpy(dst, s->win + s->pos, k);
		s->pos += k;
		dst += k;
		n -= k;
	}
	return 0;
}

int src_more(rdb_src *s, vl_diag *d)
{
	if (s->pos < s->end)
		return 1;
	int rc = fill(s, 1, d);
	if (rc < 0)
		return rc;
	return s->pos < s->end;
}

int64_t vl_rdb_read_fd(void *ud, void *buf, size_t cap)
{
	const int fd = *(const int *)ud;
	for (;;) {
		ssize_t n = read(fd, buf, cap);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return VL_EIO;
	}
}

int64_t vl_rdb_read_file(void *ud, void *buf, size_t cap)
{
	FILE *f = ud;
	size_t n = fread(buf, 1, cap, f);
	if (n == 0 && ferror(f))
		return VL_EIO;
	return (int64_t)n;
}

int64_t vl_rdb_read_mem(void *ud, void *buf, size_t cap)
{
	vl_rdb_mem *m = ud;
	size_t n = m->len - m->pos;
	if (n > cap)
		n = cap;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	if (n == 0)
		return 0;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (int64_t)n;
}
