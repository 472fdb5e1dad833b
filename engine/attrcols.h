/*
 * attrcols.h - build a segment's attribute columns (ATTR_NUM, ATTR_TAG) so
 * filtered search reads mapped columns instead of LMDB per candidate.
 */
#ifndef VL_ATTRCOLS_H
#define VL_ATTRCOLS_H

#include "io/segwriter.h"
#include "records.h"

typedef struct vl_colbuilder vl_colbuilder;

/* One column per tag and numeric field of the schema. */
int vl_colb_new(const vl_schema_rec *s, vl_colbuilder **out);
/* Add the next row's values (rows must be added in segment order). */
int vl_colb_add(vl_colbuilder *cb, const vl_rowrec *r);
/* Append one section per column. */
int vl_colb_write(vl_colbuilder *cb, vl_segw *w);
void vl_colb_free(vl_colbuilder *cb);

#endif
