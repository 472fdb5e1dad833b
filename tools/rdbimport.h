/*
 * rdbimport.h - `veclite import-rdb`: Redis dump file -> veclite collection.
 *
 *   cmd_import_rdb.c     options, --inspect, collection setup, summary
 *   rdbimport_plan.c     key selection (db, prefix, glob) and pass 1: a
 *                        sample of the selected keys decides the vector
 *                        field, its dtype and dim, and the attribute types
 *   rdbimport_load.c     pass 2: a reader thread parses the dump into row
 *                        batches; the calling thread feeds them to one
 *                        vl_bulk load, committed only when the whole parse
 *                        (CRC trailer included) succeeded
 *
 * The contract (mapping, selection, errors, summary) is in
 * .spec-parts/rdb.md, "Import".
 */
#ifndef VL_RDBIMPORT_H
#define VL_RDBIMPORT_H

#include <signal.h>
#include <stdint.h>

#include "cli.h"
#include "rdb/rdb.h"
#include "rdb/rdb_detect.h"

/* Pass 1 reads selected keys until this many (or the end of the dump). */
#define RI_SAMPLE_KEYS 10000u
/* Distinct hash field names followed in pass 1 (the schema limit). */
#define RI_MAX_FIELDS 1024u
#define RI_FIELD_NAME_MAX 255u

typedef struct ri_fieldspec {
	char *name;             /* owned */
	int type;               /* vl_field_type, or RI_FIELD_SKIP */
} ri_fieldspec;

#define RI_FIELD_SKIP 0

typedef struct ri_opts {
	const char *dump, *store, *coll;
	int db_given, db_all;
	uint64_t db;
	cli_strs prefixes;      /* keys must start with one of them (if any) */
	const char *match;      /* Redis glob on the key (NULL = all) */
	const char *vector_field;
	vl_rdb_dtype dtype;     /* NONE = detect */
	uint32_t dim;           /* 0 = detect */
	vl_metric metric;
	int metric_given;
	ri_fieldspec *fields;
	size_t nfields;
	int strings;            /* also import string keys holding vectors */
	int strict, ignore_checksum, json, quiet;
	const char *index, *storage;
	cli_strs params;
	uint64_t sample;        /* pass 1 key budget */
	uint64_t threads;       /* index build threads (0 = all cores) */
} ri_opts;

/* An attribute field of the import: hash field name -> collection field. */
typedef struct ri_attr {
	char *name;             /* NUL-terminated copy of the field name (owned) */
	size_t len;
	vl_field_type type;
	int skip;               /* --field NAME:skip: never imported */
	uint64_t seen;          /* pass 1: values sampled */
} ri_attr;

typedef struct ri_plan {
	int hashes;             /* import hashes that hold vector_field */
	int strings;            /* import string keys holding vector bytes */
	uint8_t *vfield;        /* vector field name (bytes, owned) */
	size_t vfield_len;
	vl_rdb_dtype dtype;
	uint32_t dim;
	int db_all;
	uint64_t db;
	ri_attr *attrs;
	size_t nattrs;
	uint32_t *slots;        /* open-addressing index into attrs (by name) */
	size_t nslots;
	/* pass 1 figures, for messages and the summary */
	uint64_t sampled_keys, sampled_hashes, sampled_strings;
	int sample_complete;    /* pass 1 read the whole dump */
	int other_vector_strings; /* string keys look like vectors too (not imported) */
	int rdb_version;
	char redis_ver[64];
} ri_plan;

/* Reasons a selected key is not imported. */
enum {
	RI_SKIP_WRONG_LEN,      /* vector of another length than dim x dtype size */
	RI_SKIP_NONFINITE,      /* NaN or infinite component (also after conversion) */
	RI_SKIP_NO_VECTOR,      /* a hash without the vector field */
	RI_SKIP_BAD_KEY,        /* empty key or longer than VL_KEY_MAX */
	RI_SKIP_EXPIRED,        /* expire time already past when the import started */
	RI_SKIP_COUNT
};

/* Reasons a hash field value is left out of an imported row. */
enum {
	RI_DROP_UNKNOWN_FIELD,  /* field not in the schema (first seen after the sample) */
	RI_DROP_NOT_NUMERIC,    /* value of a numeric field that is not a number */
	RI_DROP_BAD_NAME,       /* field name empty, > 255 bytes or holding NUL */
	RI_DROP_EXPIRED,        /* hash field TTL (Redis 7.4+) already past */
	RI_DROP_COUNT
};

const char *ri_skip_name(int reason);
const char *ri_drop_name(int reason);

typedef struct ri_stats {
	uint64_t keys;                          /* key records in the dump */
	uint64_t not_selected;                  /* other db / prefix / pattern */
	uint64_t other_type[VL_RDB_KIND_COUNT]; /* selected keys of kinds not imported */
	uint64_t imported;                      /* rows handed to the bulk load */
	uint64_t imported_hashes, imported_strings;
	uint64_t skipped[RI_SKIP_COUNT];
	uint64_t dropped[RI_DROP_COUNT];
	uint64_t with_expire;                   /* imported keys that had a TTL (dropped) */
	char first_skip[320];                   /* first skipped key and why */
	char first_drop[320];                   /* first dropped value and why */
	vl_rdb_result res;
	double read_seconds, commit_seconds, seconds;
} ri_stats;

/* The dump as the passes read it (rdbimport_input.c). */
#define RI_PIPE_PREFIX ((size_t)64 << 20) /* bytes of a pipe kept for replay */

typedef struct ri_input {
	int fd;
	int pipe;               /* not seekable: detection passes keep a prefix */
	uint64_t size;          /* file size; 0 for a pipe */
	uint8_t *pre;           /* the kept prefix of a pipe */
	size_t pre_len, pre_cap;
	size_t pos;             /* replay position in pre */
	int tee;                /* this pass keeps what it reads (pipes) */
	int full;               /* the prefix reached RI_PIPE_PREFIX (VL_ELIMIT given) */
	volatile sig_atomic_t *stop;
} ri_input;

/* "-" is standard input. Prints the error and returns CLI_ERR on failure. */
int ri_input_open(ri_input *in, const char *path, volatile sig_atomic_t *stop);
/* Start a pass from byte 0; tee = keep a pipe's bytes for the next pass. */
int ri_input_rewind(ri_input *in, int tee);
/* vl_rdb_read_fn over the input (ud = ri_input). */
int64_t ri_input_read(void *ud, void *buf, size_t cap);
void ri_input_close(ri_input *in);

/* 1 if the key passes --db/--prefix/--match (db checked when known). */
int ri_key_selected(const ri_opts *o, const ri_plan *pl, int check_db, const vl_rdb_key *k);
/* Redis glob (*, ?, [a-z], [^...], \x) over bytes. */
int ri_glob(const char *pat, const uint8_t *s, size_t n);

/* Pass 1: fill the plan from the options and a sample of the dump.
 * Prints the reason and returns CLI_ERR when no import is possible. */
int ri_plan_build(const ri_opts *o, ri_input *in, ri_plan *pl);
void ri_plan_free(ri_plan *pl);
/* The attribute for a hash field name, or NULL. */
const ri_attr *ri_plan_attr(const ri_plan *pl, const uint8_t *name, size_t len);

/* Pass 2 into an open collection c (dim and fields already match the
 * plan), or, with c NULL, into collection o->coll created with schema
 * `create` by the bulk load (vl_bulk_begin_new). Returns CLI_OK when
 * committed; on any failure the bulk load is aborted and the message
 * printed. `stop` is set by signal handlers. */
int ri_load(const ri_opts *o, const ri_plan *pl, ri_input *in, vl_store *st, vl_collection *c,
            const vl_schema *create, ri_stats *stats, volatile sig_atomic_t *stop);

/* Wall-clock Unix time in ms (expire times are compared with it). */
int64_t ri_now_ms(void);
/* Reader flags from the options. */
uint32_t ri_rdb_flags(const ri_opts *o);

#endif
