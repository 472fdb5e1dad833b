/*
 * json.h - strict RFC 8259 JSON: a DOM parser into an arena owned by one
 * document object, lookup helpers, and a compact writer.
 *
 * Strictness: exactly one value (any type) surrounded by optional
 * whitespace (space, tab, LF, CR); no comments, no trailing commas, no
 * NaN/Infinity, no leading '+' or zeros, no control characters or invalid
 * UTF-8 in strings, no lone surrogates in \u escapes, no byte-order mark.
 * Objects may repeat a key (RFC 8259 allows it); vl_json_get returns the
 * first. Nesting deeper than VL_JSON_MAX_DEPTH arrays/objects fails with
 * VL_ELIMIT; every other malformed input fails with VL_EFORMAT and a
 * vl_diag message "line L, column C: <problem>" plus the byte offset.
 *
 * Numbers keep their source text (NUL-terminated) so that vector
 * components are converted by strtof() straight from the text (correct
 * float32 rounding, no double rounding through float64).
 */
#ifndef VL_JSON_H
#define VL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "textenc.h"
#include "vl_diag.h"

#define VL_JSON_MAX_DEPTH 256

typedef enum vl_json_type {
	VL_JSON_NULL = 0,
	VL_JSON_FALSE = 1,
	VL_JSON_TRUE = 2,
	VL_JSON_NUMBER = 3,
	VL_JSON_STRING = 4,
	VL_JSON_ARRAY = 5,
	VL_JSON_OBJECT = 6
} vl_json_type;

typedef struct vl_json vl_json;
typedef struct vl_json_member vl_json_member;

/* One value. All pointers are owned by the document that parsed it and
 * stay valid until that document is reused or freed. */
struct vl_json {
	vl_json_type type;
	uint32_t reserved;
	size_t n;          /* STRING: decoded bytes; NUMBER: text bytes;
	                      ARRAY: elements; OBJECT: members; else 0 */
	uint64_t offset;   /* absolute byte offset of the value's first byte */
	union {
		const char *str;               /* STRING: decoded bytes + NUL (may hold
		                                  NUL bytes: use n); NUMBER: source text + NUL */
		const vl_json *items;          /* ARRAY: n elements, in order */
		const vl_json_member *members; /* OBJECT: n members, in source order */
	} u;
};

struct vl_json_member {
	const char *key;   /* decoded bytes + NUL */
	size_t key_len;
	vl_json value;
};

typedef struct vl_json_doc vl_json_doc;

/* A document: owns the arena that parsed values live in. Reusable: each
 * parse forgets the previous values but keeps the memory. NULL on ENOMEM. */
vl_json_doc *vl_json_doc_new(void);
void vl_json_doc_free(vl_json_doc *doc);

/*
 * Parse len bytes of text into doc; *root points at the top value.
 * base_offset is the absolute offset of text[0] (reported in errors and
 * stored in vl_json.offset); base_line the line number of text's first
 * line (1 for a whole document). Memory use is linear in len.
 * Errors: VL_EFORMAT (malformed), VL_ELIMIT (too deep), VL_ENOMEM.
 */
int vl_json_parse(vl_json_doc *doc, const void *text, size_t len, uint64_t base_offset,
                  uint64_t base_line, const vl_json **root, vl_diag *d);

/* Member `key` of an object (first match), or NULL if absent or v is not
 * an object. */
const vl_json *vl_json_get(const vl_json *v, const char *key);
const vl_json *vl_json_getn(const vl_json *v, const void *key, size_t key_len);

/* Name of a type for messages ("null", "number", ...). */
const char *vl_json_type_name(vl_json_type t);

/*
 * A number's value, bit-identical to strtof/strtod of its source text in
 * the C locale (an exact fast path for short decimals, strtof/strtod for
 * the rest: see json.c). Returns VL_OK,
 * VL_EINVAL if v is not a number, or VL_ENAN when the value overflows to
 * infinity (*out is then ±inf). Underflow to a subnormal or zero is not an
 * error: the result is the correctly rounded value.
 */
int vl_json_f32(const vl_json *v, float *out);
int vl_json_f64(const vl_json *v, double *out);
/* Is v an integer literal (no fraction or exponent)? */
int vl_json_is_integer(const vl_json *v);

/* Is text[0..n) exactly one JSON number (RFC 8259 grammar)? */
int vl_json_number_valid(const char *text, size_t n);

/* ---- writing ------------------------------------------------------------ */

/* Write bytes as a JSON string literal (quotes included). The bytes must be
 * valid UTF-8 (VL_EINVAL otherwise, nothing written); '"', '\\' and control
 * characters are escaped (\n \r \t \b \f, others \u00XX). */
int vl_json_write_string(vl_sink *s, const void *bytes, size_t n);
/* Write a value compactly (no whitespace). Numbers are written as their
 * source text. */
int vl_json_write(vl_sink *s, const vl_json *v);

#endif
