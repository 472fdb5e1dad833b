/* rowout.c - row output shared by get and export (see rowout.h). */
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "rowout.h"

int cli_schema_load(vl_collection *c, cli_schema *s, vl_store *st)
{
	int rc = vl_collection_info(c, &s->info);
	return rc ? cli_fail(st, rc, "info") : CLI_OK;
}

void cli_schema_free(cli_schema *s)
{
	vl_info_free(s->info);
	s->info = NULL;
}

vl_field_type cli_schema_type(const cli_schema *s, const char *field)
{
	for (size_t i = 0; i < s->info->nfields; i++)
		if (!strcmp(s->info->fields[i].name, field))
			return s->info->fields[i].type;
	return VL_FIELD_TEXT;
}

int cli_write_row_jsonl(vl_sink *out, const cli_schema *s, const vl_record *r)
{
	vl_jsonl_field stackf[32] = { 0 }, *f = stackf;
	if (r->nvalues > 32 && !(f = malloc(r->nvalues * sizeof *f)))
		return VL_ENOMEM;
	for (uint32_t i = 0; i < r->nvalues; i++) {
		const vl_value *v = &r->values[i];
		vl_field_type t = cli_schema_type(s, v->field);
		f[i] = (vl_jsonl_field){ .name = v->field, .name_len = strlen(v->field), .data = v->data,
		                         .len = v->len, .num = v->num };
		f[i].kind = t == VL_FIELD_NUMERIC ? VL_JSONL_NUMBER : VL_JSONL_STRING;
		if (t == VL_FIELD_NUMERIC && !v->data)
			f[i].len = 0;
	}
	int rc = vl_jsonl_write_row(out, r->key, r->key_len, r->vector, r->dim, f, r->nvalues, 0);
	if (f != stackf)
		free(f);
	return rc;
}
