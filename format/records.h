/*
 * records.h - encodings of the records veclite keeps in LMDB.
 *
 * Pure encode/decode functions: the decoders treat their input as untrusted
 * (a damaged data.mdb must give VL_ECORRUPT, not a crash), so the fuzzers
 * drive them directly. Layouts are in SPEC.md "LMDB databases".
 */
#ifndef VL_RECORDS_H
#define VL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "veclite.h"
#include "vl_diag.h"

#define VL_NAME_MAX 255u
#define VL_FIELDS_MAX 1024u
#define VL_PARAMS_MAX 256u
#define VL_PARAM_LEN_MAX 1024u

/* ---- collection schema ("schema" database) ---------------------------- */
typedef struct vl_schema_field {
	uint16_t id;               /* stable id, used by segment attribute columns */
	uint8_t type;              /* vl_field_type */
	char name[VL_NAME_MAX + 1];
} vl_schema_field;

typedef struct vl_schema_rec {
	uint32_t dim;
	uint8_t metric;            /* vl_metric */
	uint8_t storage;           /* vl_storage_id */
	uint8_t index;             /* vl_index_id */
	uint16_t next_field_id;
	uint64_t created_ms;
	uint32_t nparams;
	char **params;             /* "NAME=VALUE", each malloc'd */
	uint32_t nfields;
	vl_schema_field *fields;
} vl_schema_rec;

/* Encode into a malloc'd buffer. */
int vl_schema_encode(const vl_schema_rec *s, uint8_t **out, size_t *len);
/* Decode (allocates params/fields; free with vl_schema_rec_free). */
int vl_schema_decode(const uint8_t *buf, size_t len, vl_schema_rec *s, vl_diag *d);
void vl_schema_rec_free(vl_schema_rec *s);
const vl_schema_field *vl_schema_field_find(const vl_schema_rec *s, const char *name);
const vl_schema_field *vl_schema_field_by_id(const vl_schema_rec *s, uint16_t id);

/* ---- collection state ("cstate" database): counters ------------------- */
typedef struct vl_cstate {
	uint64_t next_rid;         /* next row id to assign (ids start at 1) */
	uint64_t live_rows;        /* rows visible to reads */
	uint64_t buffer_rows;      /* rows in the write buffer */
	uint64_t buffer_bytes;     /* vector bytes in the write buffer */
	uint64_t segment_rows;     /* rows held by segments, dead included */
	uint64_t dead_rows;        /* tombstoned rows in segments */
	uint64_t manifest_gen;     /* bumped whenever the segment list changes */
	uint32_t next_seg;         /* next segment id (ids start at 1) */
	uint32_t flags;            /* VL_CSTATE_* */
	uint64_t flush_failures;   /* automatic flushes that failed since the last success */
} vl_cstate;
#define VL_CSTATE_BYTES 80u
enum { VL_CSTATE_TRAINED = 1u << 0 };

void vl_cstate_encode(const vl_cstate *c, uint8_t out[VL_CSTATE_BYTES]);
int vl_cstate_decode(const uint8_t *buf, size_t len, vl_cstate *c, vl_diag *d);

/* ---- segment manifest entry ("segs" database) ------------------------- */
typedef struct vl_manifest {
	uint64_t nrows;
	uint64_t rid_min, rid_max;
	uint64_t file_bytes;
	uint64_t dead_rows;        /* tombstoned rows in this segment */
	uint64_t created_ms;
	uint32_t header_crc;       /* must equal the file's header CRC */
	uint8_t storage, index;
	uint16_t reserved;
} vl_manifest;
#define VL_MANIFEST_BYTES 64u

void vl_manifest_encode(const vl_manifest *m, uint8_t out[VL_MANIFEST_BYTES]);
int vl_manifest_decode(const uint8_t *buf, size_t len, vl_manifest *m, vl_diag *d);

/* ---- row record ("rows" database): key and attribute values ----------- */
enum vl_val_kind {
	VL_VAL_TAG = 1,            /* bytes */
	VL_VAL_TEXT = 2,           /* bytes, possibly zstd-compressed */
	VL_VAL_NUM = 3,            /* f64 */
	VL_VAL_NUMTEXT = 4         /* f64 + its original decimal text */
};
#define VL_VAL_ZSTD 0x80u      /* payload is zstd-compressed (text only) */
#define VL_TEXT_COMPRESS_MIN 128u /* texts at least this long are compressed when it saves space */
/* Level 1: on KB-sized prose it compresses as well as level 3 (ratio 1.90
 * against 1.89 on the seed dump's texts) at 1.6x the speed. */
#define VL_TEXT_ZSTD_LEVEL 1

typedef struct vl_rowval {
	uint16_t field_id;
	uint8_t kind;              /* vl_val_kind, without VL_VAL_ZSTD */
	double num;
	const uint8_t *data;       /* decoded bytes (text decompressed), or NULL */
	size_t len;
} vl_rowval;

typedef struct vl_rowrec {
	const uint8_t *key;
	size_t key_len;
	uint32_t nvalues;
	vl_rowval *values;         /* owned by the decoder scratch (see below) */
} vl_rowrec;

/* Scratch for decoding: grows as needed, reused across calls. */
typedef struct vl_rowbuf {
	vl_rowval *vals;
	size_t vcap;
	uint8_t *bytes;            /* decompressed texts */
	size_t bcap, blen;
} vl_rowbuf;
void vl_rowbuf_free(vl_rowbuf *b);

/* Encode a key + values (values sorted by field id, unique) into a malloc'd
 * buffer, compressing long texts with zstd. */
int vl_rowrec_encode(const uint8_t *key, size_t key_len, const vl_rowval *vals, uint32_t n,
                     uint8_t **out, size_t *len, vl_diag *d);
/* Decode; byte pointers point into buf or into rb. With want_text == 0,
 * compressed texts are not decompressed (data NULL, len = raw length). */
int vl_rowrec_decode(const uint8_t *buf, size_t len, vl_rowrec *r, vl_rowbuf *rb, int want_text,
                     vl_diag *d);
/* Only the key (no allocation). */
int vl_rowrec_key(const uint8_t *buf, size_t len, const uint8_t **key, size_t *key_len);

#endif
