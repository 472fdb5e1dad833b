/*
 * intset.h - read Redis intsets (RDB type 11): u32 encoding LE (2, 4 or 8
 * bytes per integer), u32 count LE, count signed LE integers sorted strictly
 * ascending. The blob must be exactly 8 + count * encoding bytes.
 */
#ifndef VL_RDB_INTSET_H
#define VL_RDB_INTSET_H

#include "item.h"
#include "vl_diag.h"

typedef struct vl_is_iter {
	const uint8_t *buf;
	uint32_t width;
	uint32_t count;
	uint32_t next;
	uint64_t base;
	int64_t prev;
} vl_is_iter;

/* Validates size, encoding and ordering of the whole set up front. */
int vl_is_open(vl_is_iter *it, const uint8_t *buf, size_t len, uint64_t base, vl_diag *d);
/* 1 = *out holds the next integer, 0 = end. */
int vl_is_next(vl_is_iter *it, vl_rdb_item *out);
int vl_is_validate(const uint8_t *buf, size_t len, uint64_t base, uint64_t *count, vl_diag *d);

#endif
