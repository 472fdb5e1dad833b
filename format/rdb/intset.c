/* intset.c - intset reader (format in intset.h). */
#include "intset.h"
#include "vl_bytes.h"

static int64_t load(const uint8_t *p, uint32_t width)
{
	switch (width) {
	case 2:
		return (int16_t)vl_ld16(p);
	case 4:
		return (int32_t)vl_ld32(p);
	default:
		return (int64_t)vl_ld64(p);
	}
}

int vl_is_open(vl_is_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d)
{
	if (len < 8)
		return vl_diag_set(d, VL_EFORMAT, base, "intset of %zu bytes is shorter than its header", len);
	const uint32_t width = vl_ld32(buf), count = vl_ld32(buf + 4);
	if (width != 2 && width != 4 && width != 8)
		return vl_diag_set(d, VL_EFORMAT, base, "intset encoding %u is not 2, 4 or 8", width);
	if ((len - 8) / width != count || (len - 8) % width != 0)
		return vl_diag_set(d, VL_EFORMAT, base + 4,
		                   "intset counts %u integers of %u bytes but the blob has %zu bytes", count,
		                   width, len);
	for (uint32_t i = 1; i < count; i++)
		if (load(buf + 8 + (size_t)i * width, width) <= load(buf + 8 + (size_t)(i - 1) * width, width))
			return vl_diag_set(d, VL_EFORMAT, base + 8 + (uint64_t)i * width,
			                   "intset element %u is not greater than the one before", i);
	it->buf = buf;
	it->width = width;
	it->count = count;
	it->next = 0;
	it->base = base;
	it->prev = 0;
	return 0;
}

int vl_is_next(vl_is_iter *it, vl_rdb_item *out)
{
	if (it->next >= it->count)
		return 0;
	vl_rdb_item_int(out, load(it->buf + 8 + (size_t)it->next * it->width, it->width));
	it->next++;
	return 1;
}

int vl_is_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *count, vl_diag *d)
{
	vl_is_iter it;
	int rc = vl_is_open(&it, buf, len, base, d);
	if (rc == 0 && count)
		*count = it.count;
	return rc;
}
