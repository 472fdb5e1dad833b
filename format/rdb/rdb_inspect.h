/*
 * rdb_inspect.h - the `veclite import-rdb --inspect` report: one streaming
 * pass over a dump that collects, in bounded memory,
 *   - the RDB version, aux fields (redis-ver, ...), checksum status;
 *   - per database: keys by type, keys with an expire time, keys by prefix
 *     (prefix = the key up to and including its last ':'; "" when it has none);
 *   - per (database, prefix) group of hashes: field names with value size
 *     statistics, candidate vector fields (dim, dtype), attribute types;
 *     strings holding vector bytes are reported as the pseudo-field "(value)";
 *   - module values by module name and MODULE_AUX records (RediSearch index
 *     definitions listed with the strings they contain).
 * Limits (beyond them, counts go to an "(other)" bucket): VL_RDB_INSPECT_*.
 *
 * The same collector drives the importer's detection pass: groups[] tells
 * which field holds vectors in which layout.
 */
#ifndef VL_RDB_INSPECT_H
#define VL_RDB_INSPECT_H

#include <stdio.h>

#include "rdb.h"
#include "rdb_detect.h"

#define VL_RDB_INSPECT_DBS 64
#define VL_RDB_INSPECT_PREFIXES 256     /* per database */
#define VL_RDB_INSPECT_GROUPS 64
#define VL_RDB_INSPECT_FIELDS 128       /* per group */
#define VL_RDB_INSPECT_MODULES 32
#define VL_RDB_INSPECT_NAME 128         /* bytes kept of a prefix or field name */

typedef struct vl_rdb_ins_prefix {
	char name[VL_RDB_INSPECT_NAME];
	size_t name_len;
	uint64_t keys;
	uint64_t by_kind[VL_RDB_KIND_COUNT];
} vl_rdb_ins_prefix;

typedef struct vl_rdb_ins_db {
	uint64_t db;
	uint64_t keys, expires;
	uint64_t by_kind[VL_RDB_KIND_COUNT];
	vl_rdb_ins_prefix *prefixes;    /* VL_RDB_INSPECT_PREFIXES entries */
	size_t nprefixes;
	uint64_t other_prefix_keys;     /* keys whose prefix did not fit */
} vl_rdb_ins_db;

typedef struct vl_rdb_ins_field {
	char name[VL_RDB_INSPECT_NAME];
	size_t name_len;
	uint64_t count;                 /* hashes having this field */
	uint64_t min_len, max_len, sum_len;
	vl_rdb_vecstat vec;
	vl_rdb_attrstat attr;
} vl_rdb_ins_field;

typedef struct vl_rdb_ins_group {
	uint64_t db;
	char prefix[VL_RDB_INSPECT_NAME];
	size_t prefix_len;
	uint64_t hashes, strings;
	vl_rdb_ins_field *fields;       /* VL_RDB_INSPECT_FIELDS entries */
	size_t nfields;
	uint64_t other_fields;          /* field occurrences that did not fit */
	vl_rdb_ins_field value;         /* string keys' values: "(value)" */
} vl_rdb_ins_group;

typedef struct vl_rdb_ins_module {
	char name[10];
	unsigned encver;
	uint64_t values;                /* keys holding this module's values */
	uint64_t aux_records, aux_items;
	char strings[512];              /* printable strings of its aux data, ", "-joined */
} vl_rdb_ins_module;

typedef struct vl_rdb_inspect {
	int version;
	char redis_ver[64];
	char aux[32][2][96];
	size_t naux;
	vl_rdb_ins_db dbs[VL_RDB_INSPECT_DBS];
	size_t ndbs;
	uint64_t other_db_keys;
	vl_rdb_ins_group groups[VL_RDB_INSPECT_GROUPS];
	size_t ngroups;
	uint64_t other_group_hashes;
	vl_rdb_ins_module modules[VL_RDB_INSPECT_MODULES];
	size_t nmodules;
	uint64_t functions, slots;
	uint64_t keys;
	vl_rdb_result res;
	int rc;                         /* parse result */
	char error[VL_DIAG_MSG];
	/* state */
	vl_rdb_ins_group *cur;          /* group of the key being read, if wanted */
	vl_rdb_ins_module *cur_mod;
} vl_rdb_inspect;

/* Allocate a zeroed collector (it is large); free with vl_rdb_inspect_free. */
vl_rdb_inspect *vl_rdb_inspect_new(void);
void vl_rdb_inspect_free(vl_rdb_inspect *in);
/* Handlers to pass to vl_rdb_parse with ud = the collector. */
const vl_rdb_handlers *vl_rdb_inspect_handlers(void);
/* Run a whole parse into `in` (rd/rd_ud as for vl_rdb_parse). Returns the
 * parse result; the collector keeps what was read before an error. */
int vl_rdb_inspect_run(vl_rdb_inspect *in, vl_rdb_read_fn rd, void *rd_ud,
                       const vl_rdb_opts *opts, vl_diag *d);
/* Print the report as text or JSON (one object). */
int vl_rdb_inspect_print(const vl_rdb_inspect *in, FILE *out, int json);

/* Key prefix: bytes up to and including the last ':' (0 if none). */
size_t vl_rdb_key_prefix_len(const uint8_t *key, size_t len);

#endif
