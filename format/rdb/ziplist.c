/* ziplist.c - bounds-checked ziplist reader (format in ziplist.h). */
#include "vl_bytes.h"
#include "ziplist.h"

enum { ZL_HDR = 10, ZL_END = 0xff, ZL_BIG_PREVLEN = 0xfe, ZL_COUNT_UNKNOWN = 65535 };

int vl_zl_open(vl_zl_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d)
{
	if (len < ZL_HDR + 1)
		return vl_diag_set(d, VL_EFORMAT, base, "ziplist of %zu bytes is shorter than its header",
		                   len);
	const uint32_t zlbytes = vl_ld32(buf);
	if (zlbytes != len)
		return vl_diag_set(d, VL_EFORMAT, base,
		                   "ziplist header claims %u bytes but the blob has %zu", zlbytes, len);
	if (buf[len - 1] != ZL_END)
		return vl_diag_set(d, VL_EFORMAT, base + len - 1, "ziplist does not end with 0xFF");
	it->buf = buf;
	it->len = len;
	it->pos = ZL_HDR;
	it->base = base;
	it->prev_size = 0;
	it->last_at = ZL_HDR;
	it->tail = vl_ld32(buf + 4);
	it->declared = vl_ld16(buf + 8);
	it->seen = 0;
	if (it->tail >= len)
		return vl_diag_set(d, VL_EFORMAT, base + 4, "ziplist tail offset %u is outside the blob",
		                   it->tail);
	return 0;
}

/* Decode encoding+data at p (n bytes available, terminator excluded).
 * Returns their size or 0 if invalid/overrunning. */
static size_t decode_body(const uint8_t *p, size_t n, vl_rdb_item *item)
{
	const uint8_t b = p[0];
	size_t hl, sl;
	switch (b >> 6) {
	case 0:
		hl = 1;
		sl = b & 0x3f;
		goto str;
	case 1:
		if (n < 2)
			return 0;
		hl = 2;
		sl = ((size_t)(b & 0x3f) << 8) | p[1];
		goto str;
	case 2:
		if (b != 0x80 || n < 5)
			return 0;
		hl = 5;
		sl = vl_ld32be(p + 1);
		goto str;
	default:
		break;
	}
	switch (b) {
	case 0xc0:
		if (n < 3)
			return 0;
		vl_rdb_item_int(item, (int16_t)vl_ld16(p + 1));
		return 3;
	case 0xd0:
		if (n < 5)
			return 0;
		vl_rdb_item_int(item, (int32_t)vl_ld32(p + 1));
		return 5;
	case 0xe0:
		if (n < 9)
			return 0;
		vl_rdb_item_int(item, (int64_t)vl_ld64(p + 1));
		return 9;
	case 0xf0: {
		if (n < 4)
			return 0;
		uint32_t u = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16;
		vl_rdb_item_int(item, (u & 0x800000) ? (int32_t)(u | 0xff000000u) : (int32_t)u);
		return 4;
	}
	case 0xfe:
		if (n < 2)
			return 0;
		vl_rdb_item_int(item, (int8_t)p[1]);
		return 2;
	default:
		if (b >= 0xf1 && b <= 0xfd) {
			vl_rdb_item_int(item, (b & 0x0f) - 1);
			return 1;
		}
		return 0;
	}
str:
	if (sl > n - hl || hl > n)
		return 0;
	vl_rdb_item_str(item, p + hl, sl);
	return hl + sl;
}

int vl_zl_next(vl_zl_iter *it, vl_rdb_item *out, vl_diag *d)
{
	const size_t at = it->pos;
	if (at >= it->len)
		return vl_diag_set(d, VL_EFORMAT, it->base + at, "ziplist read past its end");
	if (it->buf[at] == ZL_END) {
		if (at != it->len - 1)
			return vl_diag_set(d, VL_EFORMAT, it->base + at,
			                   "ziplist terminator before the end of the blob");
		if (it->declared != ZL_COUNT_UNKNOWN && it->declared != it->seen)
			return vl_diag_set(d, VL_EFORMAT, it->base + 8,
			                   "ziplist header counts %u entries but holds %llu", it->declared,
			                   (unsigned long long)it->seen);
		if (it->tail != it->last_at)
			return vl_diag_set(d, VL_EFORMAT, it->base + 4,
			                   "ziplist tail offset %u is not the last entry (%zu)", it->tail,
			                   it->last_at);
		return 0;
	}
	const size_t n = it->len - 1 - at;
	size_t pl = 1, prev = it->buf[at];
	if (prev == ZL_BIG_PREVLEN) {
		if (n < 5)
			return vl_diag_set(d, VL_EFORMAT, it->base + at, "ziplist entry prevlen truncated");
		pl = 5;
		prev = vl_ld32(it->buf + at + 1);
	}
	if (prev != it->prev_size)
		return vl_diag_set(d, VL_EFORMAT, it->base + at,
		                   "ziplist entry prevlen %zu differs from the previous entry size %zu",
		                   prev, it->prev_size);
	if (pl >= n)
		return vl_diag_set(d, VL_EFORMAT, it->base + at, "ziplist entry overruns the blob");
	const size_t bl = decode_body(it->buf + at + pl, n - pl, out);
	if (bl == 0)
		return vl_diag_set(d, VL_EFORMAT, it->base + at + pl,
		                   "ziplist entry (encoding byte 0x%02x) is invalid or overruns the blob",
		                   it->buf[at + pl]);
	it->prev_size = pl + bl;
	it->last_at = at;
	it->pos = at + pl + bl;
	it->seen++;
	return 1;
}

int vl_zl_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *count, vl_diag *d)
{
	vl_zl_iter it;
	int rc = vl_zl_open(&it, buf, len, base, d);
	if (rc < 0)
		return rc;
	vl_rdb_item item;
	while ((rc = vl_zl_next(&it, &item, d)) > 0)
		;
	if (rc == 0 && count)
		*count = it.seen;
	return rc;
}
