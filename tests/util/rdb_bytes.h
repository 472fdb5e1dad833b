/*
 * rdb_bytes.h - build RDB byte sequences by hand, from the format
 * description, for encodings Redis 7.0 no longer writes (zipmap, ziplist,
 * intset, quicklist v1, RDB 11/12 types, module values) and for damaged
 * inputs. Used by tests/test_rdb_legacy.c and the fuzz seed generator.
 */
#ifndef VL_TEST_RDB_BYTES_H
#define VL_TEST_RDB_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct rb {
	uint8_t *p;
	size_t len, cap;
} rb;

typedef struct rb_item {
	const char *s;          /* string bytes (NULL = integer) */
	size_t len;
	int64_t v;
} rb_item;

#define RB_S(str) ((rb_item){ (str), sizeof(str) - 1, 0 })
#define RB_I(n) ((rb_item){ NULL, 0, (n) })

void rb_free(rb *b);
void rb_raw(rb *b, const void *p, size_t n);
void rb_u8(rb *b, uint8_t v);
void rb_u32le(rb *b, uint32_t v);
void rb_u64le(rb *b, uint64_t v);
/* RDB length in its smallest form. */
void rb_len(rb *b, uint64_t v);
/* RDB string, raw. */
void rb_str(rb *b, const void *p, size_t n);
void rb_cstr(rb *b, const char *s);
/* "REDIS%04d" */
void rb_header(rb *b, int version);
/* 0xFF, then (version >= 5) the CRC64 of everything (crc=0: zero trailer). */
void rb_finish(rb *b, int version, int crc);

/* Container blobs, appended to out as raw bytes (wrap with rb_str). */
void rb_listpack(rb *out, const rb_item *items, size_t n);
void rb_ziplist(rb *out, const rb_item *items, size_t n);
/* Pairs: items[2i] key, items[2i+1] value (strings only). */
void rb_zipmap(rb *out, const rb_item *items, size_t n);
void rb_intset(rb *out, const int64_t *v, size_t n, unsigned width);

/* Module type id for a 9-char name. */
uint64_t rb_module_id(const char *name, unsigned encver);

#endif
