/* zipmap.c - bounds-checked zipmap reader (format in zipmap.h). */
#include "vl_bytes.h"
#include "zipmap.h"

enum { ZM_BIGLEN = 254, ZM_END = 255 };

int vl_zm_open(vl_zm_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d)
{
	if (len < 2)
		return vl_diag_set(d, VL_EFORMAT, base, "zipmap of %zu bytes is too short", len);
	if (buf[len - 1] != ZM_END)
		return vl_diag_set(d, VL_EFORMAT, base + len - 1, "zipmap does not end with 0xFF");
	it->buf = buf;
	it->len = len;
	it->pos = 1;
	it->base = base;
	it->declared = buf[0];
	it->seen = 0;
	return 0;
}

/* Read a zipmap length at it->pos. Returns 1 and *out, 0 at the end marker,
 * <0 on error. */
static int read_len(vl_zm_iter *it, size_t *out, vl_diag *d)
{
	const size_t at = it->pos;
	if (at >= it->len)
		return vl_diag_set(d, VL_EFORMAT, it->base + at, "zipmap entry truncated");
	const uint8_t b = it->buf[at];
	if (b == ZM_END)
		return 0;
	if (b < ZM_BIGLEN) {
		*out = b;
		it->pos = at + 1;
		return 1;
	}
	if (it->len - at < 5)
		return vl_diag_set(d, VL_EFORMAT, it->base + at, "zipmap length truncated");
	*out = vl_ld32(it->buf + at + 1);
	it->pos = at + 5;
	return 1;
}

static int take(vl_zm_iter *it, size_t n, vl_rdb_item *item, const char *what, vl_diag *d)
{
	/* The terminator byte is never part of an entry. */
	if (n > it->len - 1 - it->pos)
		return vl_diag_set(d, VL_EFORMAT, it->base + it->pos, "zipmap %s of %zu bytes overruns the blob",
		                   what, n);
	if (item)
		vl_rdb_item_str(item, it->buf + it->pos, n);
	it->pos += n;
	return 0;
}

int vl_zm_next(vl_zm_iter *it, vl_rdb_item *field, vl_rdb_item *value, vl_diag *d)
{
	const size_t at = it->pos;
	size_t kl, vl;
	int rc = read_len(it, &kl, d);
	if (rc <= 0) {
		if (rc < 0)
			return rc;
		if (at != it->len - 1)
			return vl_diag_set(d, VL_EFORMAT, it->base + at,
			                   "zipmap terminator before the end of the blob");
		if (it->declared < ZM_BIGLEN && it->declared != it->seen)
			return vl_diag_set(d, VL_EFORMAT, it->base, "zipmap header counts %u pairs but holds %llu",
			                   it->declared, (unsigned long long)it->seen);
		return 0;
	}
	if ((rc = take(it, kl, field, "key", d)) < 0)
		return rc;
	rc = read_len(it, &vl, d);
	if (rc == 0)
		return vl_diag_set(d, VL_EFORMAT, it->base + it->pos, "zipmap key without a value");
	if (rc < 0)
		return rc;
	if (it->pos >= it->len - 1)
		return vl_diag_set(d, VL_EFORMAT, it->base + it->pos, "zipmap free byte truncated");
	const size_t freeb = it->buf[it->pos++];
	if ((rc = take(it, vl, value, "value", d)) < 0)
		return rc;
	if ((rc = take(it, freeb, NULL, "free space", d)) < 0)
		return rc;
	it->seen++;
	return 1;
}

int vl_zm_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *pairs, vl_diag *d)
{
	vl_zm_iter it;
	int rc = vl_zm_open(&it, buf, len, base, d);
	if (rc < 0)
		return rc;
	vl_rdb_item f, v;
	while ((rc = vl_zm_next(&it, &f, &v, d)) > 0)
		;
	if (rc == 0 && pairs)
		*pairs = it.seen;
	return rc;
}
