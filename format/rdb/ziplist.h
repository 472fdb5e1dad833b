/*
 * ziplist.h - read Redis ziplists (RDB types 10, 12, 13 and quicklist v1
 * nodes; written by Redis 2.6-6.2). Layout: u32 zlbytes LE, u32 zltail LE,
 * u16 zllen LE (65535 = walk to count), entries {prevlen, encoding, data}, 0xFF.
 *
 * Pure functions. Each entry's prevlen must equal the previous entry's size,
 * zltail must point at the last entry, zlbytes must equal the blob size.
 */
#ifndef VL_RDB_ZIPLIST_H
#define VL_RDB_ZIPLIST_H

#include "item.h"
#include "vl_diag.h"

typedef struct vl_zl_iter {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	uint64_t base;
	size_t prev_size;   /* size of the previous entry (0 before the first) */
	size_t last_at;     /* offset of the last entry returned */
	uint32_t tail;      /* header zltail */
	uint32_t declared;  /* header zllen, 65535 = unknown */
	uint64_t seen;
} vl_zl_iter;

int vl_zl_open(vl_zl_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d);
/* 1 = *out holds the next entry, 0 = end (count and tail verified), <0 = error. */
int vl_zl_next(vl_zl_iter *it, vl_rdb_item *out, vl_diag *d);
int vl_zl_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *count, vl_diag *d);

#endif
