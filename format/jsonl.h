/*
 * jsonl.h - JSON Lines rows: the format `veclite load` reads and
 * `veclite export` writes. One JSON value per line:
 *
 *   {"key": "doc:1", "vector": [0.1, 0.2], "fields": {"genre": "drama",
 *    "year": 1994, "tags": ["a", "b"], "blob": {"base64": "AAE="}}}
 *
 * Members of a row object (all others are an error):
 *   key            string (any UTF-8), or an integer literal (kept as its
 *                  decimal text); null = absent
 *   key_base64     base64 of arbitrary key bytes (instead of key)
 *   vector         array of numbers, each converted by strtof() from its
 *                  source text
 *   vector_base64  base64 of little-endian float32 values (instead of vector)
 *   fields         object: name -> string | number | array of strings (tags,
 *                  joined with ',') | {"base64": "..."} (binary) | null (absent)
 * A row may also be a bare array of numbers (a vector without key or fields).
 * Without a key the row's key is its 0-based row number in decimal.
 * Full rules and error codes: .spec-parts/vecfile.md.
 */
#ifndef VL_JSONL_H
#define VL_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "textenc.h"
#include "vl_diag.h"

#define VL_JSONL_NAME_MAX 255u   /* field name bytes */
#define VL_JSONL_KEY_MAX 511u    /* key bytes (VL_KEY_MAX) */

typedef enum vl_jsonl_kind {
	VL_JSONL_STRING = 1,   /* data/len: the string's bytes */
	VL_JSONL_NUMBER = 2,   /* data/len: the number's source text (NUL-terminated); num: value */
	VL_JSONL_BINARY = 3,   /* data/len: the decoded bytes of {"base64": ...} */
	VL_JSONL_TAGS = 4      /* data/len: the array's strings joined with ',' */
} vl_jsonl_kind;

typedef struct vl_jsonl_field {
	const char *name;      /* NUL-terminated, 1..255 bytes, no NUL inside */
	size_t name_len;
	vl_jsonl_kind kind;
	const void *data;
	size_t len;
	double num;            /* NUMBER only */
} vl_jsonl_field;

typedef struct vl_jsonl_row {
	const void *key;       /* 1..511 bytes */
	size_t key_len;
	int key_given;         /* 0: the row had no key; key is the decimal row number */
	const float *vector;   /* dim floats */
	uint32_t dim;
	uint32_t nonfinite;    /* 0 if every component is finite, else 1 + the index
	                          of the first NaN/Inf (an overflowing literal such as
	                          1e39 reads as Inf) */
	const vl_jsonl_field *fields;  /* in source order, null-valued fields left out */
	size_t nfields;
	uint64_t line;         /* 1-based line number of the row */
	uint64_t offset;       /* absolute byte offset of the row's first byte */
	uint64_t row;          /* 0-based row number */
} vl_jsonl_row;

/* A reusable parser: owns the JSON document and every buffer a row points
 * into; a row stays valid until the parser's next parse or free. */
typedef struct vl_jsonl_parser vl_jsonl_parser;

vl_jsonl_parser *vl_jsonl_parser_new(void);
void vl_jsonl_parser_free(vl_jsonl_parser *p);

/* Is the line empty or only whitespace (such lines are skipped)? */
int vl_jsonl_blank(const void *line, size_t len);

/*
 * Parse one line (without its '\n'; a trailing '\r' is whitespace) into
 * *row. lineno/offset locate it in its file (for errors and row->line,
 * row->offset); row_index is its 0-based row number (the default key).
 * Errors (vl_diag text starts "line N"): VL_EFORMAT malformed JSON or row,
 * VL_ELIMIT nesting too deep, VL_EKEY empty or oversized key, VL_EDIM more
 * than 65535 components, VL_ENOMEM. Non-finite components are not an
 * error here: see row->nonfinite.
 */
int vl_jsonl_parse_line(vl_jsonl_parser *p, const void *line, size_t len, uint64_t lineno,
                        uint64_t offset, uint64_t row_index, vl_jsonl_row *row, vl_diag *d);

/* The same for a value already parsed (e.g. an element of a JSON array file);
 * v must stay valid while the row is used. */
int vl_jsonl_row_from_json(vl_jsonl_parser *p, const vl_json *v, uint64_t lineno,
                           uint64_t row_index, vl_jsonl_row *row, vl_diag *d);

/* ---- writing ------------------------------------------------------------ */

enum {
	VL_JSONL_VECTOR_BASE64 = 1u << 0   /* write "vector_base64" instead of "vector" */
};

/*
 * Write one row and its '\n'. A key that is not valid UTF-8 goes out as
 * "key_base64" (key_len 0: no key member); STRING/TAGS values that are not
 * valid UTF-8 as {"base64": ...}; NUMBER values as their text when it is a
 * valid JSON number, else as the shortest text of num. Vector components
 * use the shortest text that strtof() reads back bit for bit.
 * Errors (nothing written): VL_ENAN for a non-finite component,
 * VL_EINVAL for a non-finite number without valid text, a field name that
 * is empty or not UTF-8, or dim 0; VL_EIO / VL_ENOMEM from the sink.
 */
int vl_jsonl_write_row(vl_sink *s, const void *key, size_t key_len, const float *vec,
                       uint32_t dim, const vl_jsonl_field *fields, size_t nfields,
                       unsigned flags);

#endif
