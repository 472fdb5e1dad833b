/*
 * listpack.h - read Redis listpacks (hash/zset/set/list/stream containers of
 * RDB 10+). Layout (see SPEC "RDB import"): u32 total bytes LE, u16 count LE
 * (65535 = unknown), elements (encoding, data, backlen), 0xFF.
 *
 * Pure functions. Every element is bounds-checked before it is trusted; the
 * back-length of each element and the declared count and size are verified.
 */
#ifndef VL_RDB_LISTPACK_H
#define VL_RDB_LISTPACK_H

#include "item.h"
#include "vl_diag.h"

typedef struct vl_lp_iter {
	const uint8_t *buf;
	size_t len;
	size_t pos;         /* next element */
	uint64_t base;      /* offset reported for buf[0] */
	uint32_t declared;  /* header count, 65535 = unknown */
	uint64_t seen;      /* elements returned so far */
} vl_lp_iter;

/* Check the header (size field == len, terminator) and start iterating. */
int vl_lp_open(vl_lp_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d);
/* 1 = *out holds the next element, 0 = end (count verified), <0 = error. */
int vl_lp_next(vl_lp_iter *it, vl_rdb_item *out, vl_diag *d);
/* Walk every element; *count (may be NULL) receives how many. */
int vl_lp_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *count, vl_diag *d);

#endif
