/*
 * rdb.h - streaming reader of Redis RDB dump files (versions 1-12; 13 and
 * later are read as far as their structure is known).
 *
 * The reader pulls bytes from a caller-supplied read function through a
 * fixed-size window, so memory does not grow with the file: only the largest
 * value the consumer asks for is held at once (bounded by opts.max_value).
 * Chunk boundaries of the read function never matter.
 *
 * The consumer gets events through vl_rdb_handlers:
 *   aux        every AUX field ("redis-ver", "ctime", ...)
 *   db         SELECTDB; resize: RESIZEDB sizes
 *   key        one per key, before its value: db, key bytes, type, expire.
 *              Return VL_RDB_WANT to receive the value's elements,
 *              VL_RDB_SKIP to skip it cheaply (no decompression, no copies),
 *              or a negative VL_E* code to stop the parse with that code.
 *   elem       one per element of a wanted value (see vl_rdb_elem)
 *   key_end    after the value, with a summary (element count, stream and
 *              module details), whether wanted or not
 *   module_aux_begin / _item / _end   MODULE_AUX records (RediSearch, ...)
 *   function   FUNCTION2 library source; slot: SLOT_INFO
 * Any handler may be NULL. Every pointer handed to a handler (key bytes,
 * element bytes, info structs) is valid only during that call: copy what
 * you keep.
 *
 * Errors: the parse returns 0 or a negative VL_E* code and fills `d` with a
 * message that names the byte offset: VL_EFORMAT (bad magic, truncated file,
 * malformed encoding, unknown type byte), VL_EVERSION (version < 1, or a
 * newer-version construct this reader does not know), VL_ECHECKSUM (CRC64
 * trailer mismatch, unless VL_RDB_IGNORE_CHECKSUM), VL_ELIMIT (a wanted
 * value larger than opts.max_value), VL_EIO (the read function failed),
 * VL_ENOMEM, or the code a handler returned.
 */
#ifndef VL_RDB_H
#define VL_RDB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vl_diag.h"

/* Newest RDB version whose every construct this reader knows. */
#define VL_RDB_VERSION_MAX 12

/* Reads up to cap bytes into buf: returns bytes read (> 0), 0 at end of
 * input, or a negative VL_E* code (VL_EIO). Short reads are fine. */
typedef int64_t (*vl_rdb_read_fn)(void *ud, void *buf, size_t cap);

/* Adapters: ud is an int * (file descriptor), a FILE *, or a vl_rdb_mem. */
int64_t vl_rdb_read_fd(void *ud, void *buf, size_t cap);
int64_t vl_rdb_read_file(void *ud, void *buf, size_t cap);

/* An in-memory input; `chunk` > 0 limits every read to that many bytes
 * (tests and fuzzers use it to move chunk boundaries around). */
typedef struct vl_rdb_mem {
	const uint8_t *data;
	size_t len;
	size_t pos;
	size_t chunk;
} vl_rdb_mem;
int64_t vl_rdb_read_mem(void *ud, void *buf, size_t cap);

enum {
	VL_RDB_IGNORE_CHECKSUM = 1u << 0, /* a CRC mismatch is reported in the result, not an error */
	VL_RDB_STRICT_VERSION = 1u << 1   /* refuse versions > VL_RDB_VERSION_MAX at the header */
};

typedef struct vl_rdb_opts {
	uint32_t size;          /* sizeof(vl_rdb_opts) */
	uint32_t flags;         /* VL_RDB_* */
	size_t window;          /* read window in bytes; 0 = 1 MiB (min 4 KiB) */
	size_t max_value;       /* largest string or container held in memory; 0 = 512 MiB */
} vl_rdb_opts;
#define VL_RDB_OPTS_INIT { sizeof(vl_rdb_opts), 0, 0, 0 }

/* What a key holds. */
typedef enum vl_rdb_kind {
	VL_RDB_KIND_STRING = 0,
	VL_RDB_KIND_LIST,
	VL_RDB_KIND_SET,
	VL_RDB_KIND_ZSET,
	VL_RDB_KIND_HASH,
	VL_RDB_KIND_STREAM,
	VL_RDB_KIND_MODULE,
	VL_RDB_KIND_COUNT
} vl_rdb_kind;

const char *vl_rdb_kind_name(vl_rdb_kind k);

#define VL_RDB_NO_EXPIRE INT64_MIN

typedef struct vl_rdb_key {
	uint64_t db;            /* database number (last SELECTDB; 0 before any) */
	const uint8_t *key;     /* key bytes (any bytes) */
	size_t key_len;
	uint8_t type;           /* RDB object type byte (0..25) */
	vl_rdb_kind kind;
	const char *encoding;   /* "raw", "listpack", "hashtable", "ziplist", ... (static) */
	int64_t expire_ms;      /* absolute unix ms, or VL_RDB_NO_EXPIRE */
	int64_t idle_s;         /* LRU idle seconds, -1 if absent */
	int freq;               /* LFU counter, -1 if absent */
	uint64_t offset;        /* file offset of the type byte */
	uint64_t ordinal;       /* 0-based index of the key in the file */
} vl_rdb_key;

/* One element of a wanted value:
 *   string: a = the value
 *   list, set: a = member
 *   zset: a = member, score
 *   hash: a = field, b = value, expire_ms = field TTL (types 22-25) or none
 *   module: module_op = 1 SINT / 2 UINT (ival), 3 FLOAT / 4 DOUBLE (score),
 *           5 STRING (a); streams deliver no elements (summary only). */
typedef struct vl_rdb_elem {
	const uint8_t *a;
	size_t a_len;
	const uint8_t *b;
	size_t b_len;
	double score;
	int64_t expire_ms;
	int64_t ival;
	int module_op;
	uint64_t index;         /* 0-based position in the value */
} vl_rdb_elem;

/* After each value, wanted or not. */
typedef struct vl_rdb_value_info {
	uint64_t elems;         /* strings 1; lists/sets: members; hashes/zsets: pairs;
	                           streams: live entries; modules: opcode items */
	uint64_t file_bytes;    /* bytes the value took in the file (after the key) */
	uint64_t max_elem_len;  /* largest member/field/value seen (wanted values only) */
	uint64_t stream_nodes, stream_groups, stream_consumers, stream_pending;
	uint64_t module_id;     /* 64-bit module type id */
	char module_name[10];   /* 9-char module type name, NUL-terminated */
	unsigned module_encver; /* encoding version (low 10 bits of the id) */
} vl_rdb_value_info;

typedef struct vl_rdb_module_aux {
	uint64_t module_id;
	char module_name[10];
	unsigned module_encver;
	uint64_t when;          /* 1 = before keys, 2 = after keys */
	uint64_t offset;        /* file offset of the 0xF7 opcode */
	uint64_t items;         /* opcode items (in _end only) */
} vl_rdb_module_aux;

enum { VL_RDB_SKIP = 0, VL_RDB_WANT = 1 };

typedef struct vl_rdb_handlers {
	int (*aux)(void *ud, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen);
	int (*db)(void *ud, uint64_t db);
	int (*resize)(void *ud, uint64_t db, uint64_t keys, uint64_t expires);
	int (*key)(void *ud, const vl_rdb_key *k);
	int (*elem)(void *ud, const vl_rdb_key *k, const vl_rdb_elem *e);
	int (*key_end)(void *ud, const vl_rdb_key *k, const vl_rdb_value_info *info);
	int (*module_aux_begin)(void *ud, const vl_rdb_module_aux *m);   /* WANT/SKIP/<0 */
	int (*module_aux_item)(void *ud, const vl_rdb_module_aux *m, const vl_rdb_elem *e);
	int (*module_aux_end)(void *ud, const vl_rdb_module_aux *m);
	int (*function)(void *ud, const uint8_t *code, size_t len);
	int (*slot)(void *ud, uint64_t slot, uint64_t keys, uint64_t expires);
} vl_rdb_handlers;

typedef enum vl_rdb_checksum {
	VL_RDB_CRC_NONE = 0,        /* version < 5: no trailer */
	VL_RDB_CRC_DISABLED,        /* all-zero trailer (rdbchecksum no) */
	VL_RDB_CRC_OK,
	VL_RDB_CRC_MISMATCH         /* only returned under VL_RDB_IGNORE_CHECKSUM */
} vl_rdb_checksum;

const char *vl_rdb_checksum_name(vl_rdb_checksum c);

typedef struct vl_rdb_result {
	int version;
	vl_rdb_checksum checksum;
	uint64_t crc_stored, crc_computed;
	uint64_t bytes;         /* bytes read through the EOF trailer */
	uint64_t keys;          /* key records read */
	uint64_t lzf_strings;   /* LZF-compressed strings decoded (wanted values only) */
	uint64_t trailing;      /* 1 if bytes follow the trailer (ignored) */
} vl_rdb_result;

/* Parse a whole dump. res (may be NULL) is filled as far as the parse got. */
int vl_rdb_parse(vl_rdb_read_fn rd, void *rd_ud, const vl_rdb_opts *opts,
                 const vl_rdb_handlers *h, void *ud, vl_rdb_result *res, vl_diag *d);

/* Module type ids: 9 chars over A-Z a-z 0-9 - _ packed 6 bits each, then
 * 10 bits of encoding version. name must hold 10 bytes. */
void vl_rdb_module_name(uint64_t id, char name[10], unsigned *encver);
/* Inverse, for tests: returns 0 or VL_EINVAL for a name not 9 valid chars. */
int vl_rdb_module_id(const char *name, unsigned encver, uint64_t *id);

#endif
