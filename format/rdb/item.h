/*
 * item.h - one element read out of a Redis container encoding
 * (listpack, ziplist, zipmap, intset).
 *
 * Containers store small integers in binary; Redis treats them as the decimal
 * text of the number, so an integer element is also given as text in `num`.
 * Use vl_rdb_item_ptr() for the bytes: an item copied by value stays valid.
 */
#ifndef VL_RDB_ITEM_H
#define VL_RDB_ITEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct vl_rdb_item {
	const uint8_t *s;   /* string bytes inside the container (NULL for integers) */
	size_t len;         /* bytes of the element (decimal text length for integers) */
	int is_int;         /* stored as an integer encoding */
	int64_t ival;       /* the integer when is_int */
	char num[24];       /* decimal text of ival when is_int */
} vl_rdb_item;

static inline void vl_rdb_item_int(vl_rdb_item *it, int64_t v)
{
	it->s = NULL;
	it->is_int = 1;
	it->ival = v;
	it->len = (size_t)snprintf(it->num, sizeof it->num, "%lld", (long long)v);
}

static inline void vl_rdb_item_str(vl_rdb_item *it, const uint8_t *s, size_t len)
{
	it->s = s;
	it->len = len;
	it->is_int = 0;
	it->ival = 0;
	it->num[0] = 0;
}

static inline const uint8_t *vl_rdb_item_ptr(const vl_rdb_item *it)
{
	return it->is_int ? (const uint8_t *)it->num : it->s;
}

#endif
