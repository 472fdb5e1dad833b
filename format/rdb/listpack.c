/* listpack.c - bounds-checked listpack reader (format in listpack.h). */
#include "listpack.h"
#include "vl_bytes.h"

enum { LP_HDR = 6, LP_END = 0xff, LP_COUNT_UNKNOWN = 65535 };

int vl_lp_open(vl_lp_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d)
{
	if (len < LP_HDR + 1)
		return vl_diag_set(d, VL_EFORMAT, base, "listpack of %zu bytes is shorter than its header",
		                   len);
	const uint32_t total = vl_ld32(buf);
	if (total != len)
		return vl_diag_set(d, VL_EFORMAT, base,
		                   "listpack header claims %u bytes but the blob has %zu", total, len);
	if (buf[len - 1] != LP_END)
		return vl_diag_set(d, VL_EFORMAT, base + len - 1, "listpack does not end with 0xFF");
	it->buf = buf;
	it->len = len;
	it->pos = LP_HDR;
	it->base = base;
	it->declared = vl_ld16(buf + 4);
	it->seen = 0;
	return 0;
}

static size_t backlen_size(size_t l)
{
	return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}

/* Size of encoding + data of the element at p (n bytes available), or 0
 * when the header itself does not fit. Sets *item. */
static size_t decode_entry(const uint8_t *p, size_t n, vl_rdb_item *item)
{
	const uint8_t b = p[0];
	if (b < 0x80) {
		vl_rdb_item_int(item, b);
		return 1;
	}
	if ((b & 0xc0) == 0x80) {
		size_t sl = b & 0x3f;
		if (1 + sl > n)
			return 0;
		vl_rdb_item_str(item, p + 1, sl);
		return 1 + sl;
	}
	if ((b & 0xe0) == 0xc0) {
		if (n < 2)
			return 0;
		int v = ((b & 0x1f) << 8) | p[1];
		vl_rdb_item_int(item, v >= 4096 ? v - 8192 : v);
		return 2;
	}
	if ((b & 0xf0) == 0xe0) {
		if (n < 2)
			return 0;
		size_t sl = ((size_t)(b & 0x0f) << 8) | p[1];
		if (2 + sl > n)
			return 0;
		vl_rdb_item_str(item, p + 2, sl);
		return 2 + sl;
	}
	switch (b) {
	case 0xf0: {
		if (n < 5)
			return 0;
		size_t sl = vl_ld32(p + 1);
		if (sl > n - 5)
			return 0;
		vl_rdb_item_str(item, p + 5, sl);
		return 5 + sl;
	}
	case 0xf1:
		if (n < 3)
			return 0;
		vl_rdb_item_int(item, (int16_t)vl_ld16(p + 1));
		return 3;
	case 0xf2: {
		if (n < 4)
			return 0;
		uint32_t u = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16;
		int32_t v = (u & 0x800000) ? (int32_t)(u | 0xff000000u) : (int32_t)u;
		vl_rdb_item_int(item, v);
		return 4;
	}
	case 0xf3:
		if (n < 5)
			return 0;
		vl_rdb_item_int(item, (int32_t)vl_ld32(p + 1));
		return 5;
	case 0xf4:
		if (n < 9)
			return 0;
		vl_rdb_item_int(item, (int64_t)vl_ld64(p + 1));
		return 9;
	default:
		return 0; /* 0xf5..0xfe are not encodings; 0xff handled by the caller */
	}
}

int vl_lp_next(vl_lp_iter *it, vl_rdb_item *out, vl_diag *d)
{
	const size_t at = it->pos;
	/* Elements never reach the terminator byte: n excludes it. */
	const size_t n = it->len - 1 - at;
	if (at >= it->len)
		return vl_diag_set(d, VL_EFORMAT, it->base + at, "listpack read past its end");
	if (it->buf[at] == LP_END) {
		if (at != it->len - 1)
			return vl_diag_set(d, VL_EFORMAT, it->base + at,
			                   "listpack terminator before the end of the blob");
		if (it->declared != LP_COUNT_UNKNOWN && it->declared != it->seen)
			return vl_diag_set(d, VL_EFORMAT, it->base,
			                   "listpack header counts %u elements but holds %llu", it->declared,
			                   (unsigned long long)it->seen);
		return 0;
	}
	const size_t l = decode_entry(it->buf + at, n, out);
	if (l == 0)
		return vl_diag_set(d, VL_EFORMAT, it->base + at,
		                   "listpack element (encoding byte 0x%02x) is invalid or overruns the blob",
		                   it->buf[at]);
	const size_t bl = backlen_size(l);
	if (bl > n - l)
		return vl_diag_set(d, VL_EFORMAT, it->base + at, "listpack element back-length overruns the blob");
	/* The back-length is read right to left, 7 bits per byte. */
	uint64_t v = 0;
	const uint8_t *q = it->buf + at + l + bl - 1;
	for (size_t i = 0; i < bl; i++, q--) {
		v |= (uint64_t)(*q & 0x7f) << (7 * i);
		if (((*q & 0x80) != 0) != (i + 1 < bl))
			return vl_diag_set(d, VL_EFORMAT, it->base + at + l,
			                   "listpack element back-length bytes are malformed");
	}
	if (v != l)
		return vl_diag_set(d, VL_EFORMAT, it->base + at + l,
		                   "listpack element back-length %llu does not match its size %zu",
		                   (unsigned long long)v, l);
	it->pos = at + l + bl;
	it->seen++;
	return 1;
}

int vl_lp_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *count, vl_diag *d)
{
	vl_lp_iter it;
	int rc = vl_lp_open(&it, buf, len, base, d);
	if (rc < 0)
		return rc;
	vl_rdb_item item;
	while ((rc = vl_lp_next(&it, &item, d)) > 0)
		;
	if (rc == 0 && count)
		*count = it.seen;
	return rc;
}
