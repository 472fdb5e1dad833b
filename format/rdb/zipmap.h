/*
 * zipmap.h - read Redis zipmaps (RDB type 9, hashes written by Redis < 2.6).
 * Layout: u8 count (254+ = unknown), then {len key, len value, u8 free,
 * value, free unused bytes}*, 0xFF. A len is 1 byte if < 254, else 0xFE +
 * u32 LE; 0xFF where a key length is expected ends the map.
 */
#ifndef VL_RDB_ZIPMAP_H
#define VL_RDB_ZIPMAP_H

#include "item.h"
#include "vl_diag.h"

typedef struct vl_zm_iter {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	uint64_t base;
	unsigned declared;  /* count byte; >= 254 = unknown */
	uint64_t seen;      /* pairs returned */
} vl_zm_iter;

int vl_zm_open(vl_zm_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d);
/* 1 = *field and *value hold the next pair, 0 = end, <0 = error. */
int vl_zm_next(vl_zm_iter *it, vl_rdb_item *field, vl_rdb_item *value, vl_diag *d);
int vl_zm_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *pairs, vl_diag *d);

#endif
