/* values.h - attribute values between the API (vl_value) and row records. */
#ifndef VL_VALUES_H
#define VL_VALUES_H

#include "internal.h"

/* Validate vals against the schema and convert them (out has n entries,
 * sorted by field id). Text pointers are borrowed from vals. `row` names the
 * row in messages. */
int vl_values_to_row(const vl_store *st, const vl_schema_rec *s, const vl_value *vals, size_t n,
                     vl_rowval *out, const char *row);

/* Bytes needed to hold a record's values as vl_value (names + data). */
size_t vl_values_size(const vl_schema_rec *s, const vl_rowrec *r, const char *const *only,
                      size_t nonly, uint32_t *count);
/* Fill vals (count entries from vl_values_size) with names and data copied
 * into *pool, which advances. Only fields in `only` when nonly > 0. */
void vl_values_fill(const vl_schema_rec *s, const vl_rowrec *r, const char *const *only,
                    size_t nonly, vl_value *vals, char **pool);

/* Printable description of a key for messages ("doc:1" or hex). */
void vl_key_desc(char *buf, size_t len, const void *key, size_t klen);

#endif
