/*
 * filter.h - attribute filter expressions.
 *
 *   genre == "drama"                 tag set contains the value ('=' also works)
 *   genre != "drama"                 NOT (genre == "drama")
 *   genre IN ("drama", "comedy")     contains any of them
 *   year >= 1990 AND year < 2000     numeric comparisons: < <= > >= == !=
 *   year BETWEEN 1990 AND 1999       inclusive range
 *   NOT (a == "x" OR b > 3)          AND, OR, NOT (also &&, ||, !), parentheses
 *
 * Keywords are case-insensitive; field names are identifiers
 * ([A-Za-z_][A-Za-z0-9_.:-]*) or `back-quoted`; strings use '...' or "..."
 * with \\ and \" / \' escapes. A row without a value for a field matches no
 * comparison on it (and so matches its negation). Text fields cannot be
 * filtered (they are not indexed); using one is an error naming it.
 *
 * parse -> bind (to a schema: field ids and types) -> evaluate on row
 * records (write buffer) or compile per segment (mapped columns).
 */
#ifndef VL_FILTER_H
#define VL_FILTER_H

#include <stdint.h>

#include "internal.h"

typedef struct vl_filter vl_filter;
typedef struct vl_fseg vl_fseg;
struct vl_segmap;

#define VL_FILTER_MAX_DEPTH 64
#define VL_FILTER_MAX_LEN 65536

/* Parse; VL_EFILTER with the byte offset of the problem in d. */
int vl_filter_parse(const char *expr, vl_filter **out, vl_diag *d);
void vl_filter_free(vl_filter *f);
/* Resolve field names against a schema; VL_ESCHEMA for unknown or text fields
 * or a tag/number mismatch. */
int vl_filter_bind(vl_filter *f, const vl_schema_rec *s, vl_diag *d);
/* Evaluate on a decoded row record (bound filter). */
int vl_filter_match_rec(const vl_filter *f, const vl_rowrec *r);

/* Compile a bound filter for one segment's columns. */
int vl_fseg_new(const vl_filter *f, const struct vl_segmap *s, vl_fseg **out);
void vl_fseg_free(vl_fseg *fs);
int vl_fseg_match(const vl_fseg *fs, uint32_t row);
/* Fraction of rows matching, estimated from an even sample of up to `sample` rows. */
double vl_fseg_estimate(const vl_fseg *fs, uint64_t nrows, uint32_t sample);

#endif
