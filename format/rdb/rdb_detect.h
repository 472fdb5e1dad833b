/*
 * rdb_detect.h - pure helpers that guess, from the values of a hash field
 * (or of string keys) across many keys, whether it holds vectors and of
 * which element type and dimension, and what attribute type the other
 * fields are. Rules are in SPEC ("RDB import: detection"); summary:
 *
 * Vector field: at least 90% of its values have one length L (>= 4 bytes;
 * the others are wrong-length vectors the importer counts and skips), at
 * least one sampled value is not printable UTF-8 text, and one element type
 * fits: a type fits when L is a multiple of its size, at most 10% of the
 * sampled values hold a NaN/infinite element (a wrong type gives NaN/inf in
 * most values: float16 read from float32 bits has 1 in 32 elements
 * non-finite), and >= 99% of the finite
 * sampled elements are 0 or have magnitude in [2^-40, 2^40].
 * Preference: float64 when it fits and >= 99% of the sampled values have
 * all float32-view low words zero (float64 values that are exact float32s);
 * when both float32 and bfloat16 fit: float32 if >= 99% of the sampled
 * values have every float32 low half zero (float32 values that are exact
 * bfloat16s, e.g. small integers such as pixel values), else bfloat16
 * (float32 data with full mantissas never fits bfloat16: its low halves
 * are random bits, most of them implausible bfloat16s); else float32;
 * else float64; else bfloat16; else float16.
 *
 * Attribute field: numeric when every value parses fully as a finite decimal
 * number (<= 64 bytes); tag when every value is <= 64 bytes of UTF-8 without
 * whitespace or control characters and the field has <= 256 distinct values,
 * at most 16 or at most a quarter of its values; text otherwise.
 */
#ifndef VL_RDB_DETECT_H
#define VL_RDB_DETECT_H

#include <stddef.h>
#include <stdint.h>

typedef enum vl_rdb_dtype {
	VL_RDB_DT_NONE = 0,
	VL_RDB_DT_F32,
	VL_RDB_DT_F64,
	VL_RDB_DT_F16,
	VL_RDB_DT_BF16,
	VL_RDB_DT_COUNT
} vl_rdb_dtype;

const char *vl_rdb_dtype_name(vl_rdb_dtype t);      /* "float32", ... */
size_t vl_rdb_dtype_size(vl_rdb_dtype t);            /* bytes per element, 0 for NONE */
vl_rdb_dtype vl_rdb_dtype_parse(const char *name);   /* NONE if unknown */

/* Element i of a blob of type t as float (no bounds checks: i < len/size). */
double vl_rdb_dtype_load(vl_rdb_dtype t, const uint8_t *blob, size_t i);
/* Convert a whole blob to float32 (dim = len / size). Returns the number of
 * non-finite results (NaN, or values beyond float32 range). */
size_t vl_rdb_dtype_to_f32(vl_rdb_dtype t, const uint8_t *blob, size_t dim, float *out);

/* How many values per field get their content examined (lengths: all). */
#define VL_RDB_SAMPLE_VALUES 2000u

/* Distinct value lengths remembered per field (others are counted together). */
#define VL_RDB_VEC_LENS 4
/* Share of a field's values that must have its most common length. */
#define VL_RDB_VEC_MODAL_PCT 90u
/* Share of sampled values that may hold NaN/inf for a type to fit. */
#define VL_RDB_VEC_BAD_PCT 10u

typedef struct vl_rdb_vecstat {
	uint64_t values;
	uint64_t min_len, max_len;
	uint64_t lens[VL_RDB_VEC_LENS], len_count[VL_RDB_VEC_LENS];
	uint64_t other_lens;            /* values whose length is not in lens[] */
	uint64_t text_values;           /* values that are printable UTF-8 */
	uint64_t sampled;
	uint64_t tested[VL_RDB_DT_COUNT];     /* sampled values whose length is a multiple */
	uint64_t bad_values[VL_RDB_DT_COUNT]; /* ... of which hold a non-finite element */
	uint64_t elems[VL_RDB_DT_COUNT], good[VL_RDB_DT_COUNT], nonfinite[VL_RDB_DT_COUNT];
	uint64_t f32_low_words_zero;    /* sampled values whose float64 low words are all 0 */
	uint64_t bf16_pairs_zero;       /* sampled values whose float32 low halves are all 0 */
} vl_rdb_vecstat;

void vl_rdb_vecstat_add(vl_rdb_vecstat *s, const uint8_t *v, size_t len);
/* The most common value length (0 when no values) and how many have it. */
uint64_t vl_rdb_vecstat_modal_len(const vl_rdb_vecstat *s, uint64_t *count);
/* 1 and *dt, *dim when the field looks like a vector field, else 0. */
int vl_rdb_vecstat_guess(const vl_rdb_vecstat *s, vl_rdb_dtype *dt, uint32_t *dim);
/* 1 when values of type t fit (as defined above). */
int vl_rdb_vecstat_fits(const vl_rdb_vecstat *s, vl_rdb_dtype t);

#define VL_RDB_TAG_MAX_LEN 64u
#define VL_RDB_TAG_MAX_DISTINCT 256u

typedef enum vl_rdb_attr { VL_RDB_ATTR_TAG = 1, VL_RDB_ATTR_TEXT = 2, VL_RDB_ATTR_NUMERIC = 3 } vl_rdb_attr;

typedef struct vl_rdb_attrstat {
	uint64_t values;
	uint64_t numeric;
	uint64_t tagish;
	uint64_t binary;                /* not valid UTF-8 or holds control characters */
	uint64_t distinct_hash[VL_RDB_TAG_MAX_DISTINCT];
	uint32_t ndistinct;
	int distinct_overflow;
} vl_rdb_attrstat;

void vl_rdb_attrstat_add(vl_rdb_attrstat *s, const uint8_t *v, size_t len);
vl_rdb_attr vl_rdb_attr_guess(const vl_rdb_attrstat *s);
const char *vl_rdb_attr_name(vl_rdb_attr a);

/* 1 if the bytes are valid UTF-8 with no control characters except \t \n \r. */
int vl_rdb_is_text(const uint8_t *v, size_t len);
/* 1 if the bytes are a decimal number strtod accepts fully and is finite. */
int vl_rdb_is_number(const uint8_t *v, size_t len, double *out);

#endif
