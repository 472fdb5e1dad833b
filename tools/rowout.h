/* rowout.h - print a row (get, export) as JSON Lines or text. */
#ifndef VL_ROWOUT_H
#define VL_ROWOUT_H

#include "cli.h"

/* Field types of a collection, to print numeric values as numbers. */
typedef struct cli_schema {
	vl_info *info;
} cli_schema;

int cli_schema_load(vl_collection *c, cli_schema *s, vl_store *st);
void cli_schema_free(cli_schema *s);
vl_field_type cli_schema_type(const cli_schema *s, const char *field);

/* One JSON Lines row: {"key": ..., "vector": [...], "fields": {...}}. */
int cli_write_row_jsonl(vl_sink *out, const cli_schema *s, const vl_record *r);

#endif
