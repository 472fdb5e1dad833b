/*
 * rdb_collect.h - test helper: run the RDB reader over a buffer and keep
 * every event (keys, elements, aux fields, module aux items) for checks.
 */
#ifndef VL_TEST_RDB_COLLECT_H
#define VL_TEST_RDB_COLLECT_H

#include "rdb/rdb.h"

typedef struct rc_elem {
	uint8_t *a;
	size_t a_len;
	uint8_t *b;             /* NULL when the element had none */
	size_t b_len;
	double score;
	int64_t expire_ms;
	int64_t ival;
	int module_op;
} rc_elem;

typedef struct rc_key {
	uint64_t db;
	uint8_t *key;
	size_t key_len;
	int type;
	vl_rdb_kind kind;
	const char *encoding;
	int64_t expire_ms;
	uint64_t offset;
	rc_elem *el;
	size_t nel, cap;
	vl_rdb_value_info info;
} rc_key;

typedef struct rc_dump {
	rc_key *keys;
	size_t n, cap;
	char aux[32][2][128];   /* first 32 aux fields (text, truncated) */
	size_t naux;
	rc_elem *mod;           /* module aux items */
	size_t nmod, capmod;
	vl_rdb_module_aux mods[8];
	size_t nmods;
	char function[256];
	vl_rdb_result res;
	vl_diag d;
	int rc;
	int skip_all;           /* answer SKIP to every key */
} rc_dump;

/* Parse buf with reads of at most `chunk` bytes (0 = unlimited). */
int rc_parse(rc_dump *out, const uint8_t *buf, size_t len, size_t chunk, uint32_t flags,
             size_t window);
rc_key *rc_find(rc_dump *dump, uint64_t db, const void *key, size_t key_len);
rc_key *rc_find_s(rc_dump *dump, uint64_t db, const char *key);
/* Hash field by name (NULL if absent). */
const rc_elem *rc_field(const rc_key *k, const char *field);
const char *rc_aux(const rc_dump *dump, const char *name);
void rc_free(rc_dump *dump);
/* When VECLITE_FUZZ_SEEDS is set (a folder holding fuzz/corpus/<target>/),
 * write buf there as fuzz seed `name` for `target`; fuzz_rdb seeds get its
 * two chunk-seed bytes in front. Used to refresh fuzz/corpus from tests. */
void rc_write_seed(const char *target, const char *name, const uint8_t *buf, size_t len);
/* Read a whole file (malloc'd); NULL on failure. */
uint8_t *rc_slurp(const char *path, size_t *len);

#endif
