/* values.c - attribute value conversion and validation (see values.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

void vl_key_desc(char *buf, size_t len, const void *key, size_t klen)
{
	const uint8_t *k = key;
	int printable = 1;
	for (size_t i = 0; i < klen; i++)
		printable &= k[i] >= 0x20 && k[i] < 0x7f;
	if (printable) {
		snprintf(buf, len, "'%.*s'", (int)(klen > 80 ? 80 : klen), (const char *)k);
		return;
	}
	size_t o = 0;
	o += (size_t)snprintf(buf + o, len - o, "0x");
	for (size_t i = 0; i < klen && i < 40 && o + 3 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%02x", k[i]);
}

static int parse_num(const void *data, size_t len, double *out)
{
	char tmp[128];
	if (len == 0 || len >= sizeof tmp)
		return -1;
	memcpy(tmp, data, len);
	tmp[len] = 0;
	char *end;
	errno = 0;
	double x = strtod(tmp, &end);
	if (*end || errno == ERANGE || !isfinite(x) || tmp[0] == ' ' || tmp[0] == '\t')
		return -1;
	*out = x;
	return 0;
}

int vl_values_to_row(const vl_store *st, const vl_schema_rec *s, const vl_value *vals, size_t n,
                     vl_rowval *out, const char *row)
{
	for (size_t i = 0; i < n; i++) {
		const vl_value *v = &vals[i];
		if (!v->field)
			return vl_fail(st, VL_ESCHEMA, "%s: value %zu has no field name", row, i);
		const vl_schema_field *f = vl_schema_field_find(s, v->field);
		if (!f)
			return vl_fail(st, VL_ESCHEMA, "%s: unknown field '%s'", row, v->field);
		vl_rowval *o = &out[i];
		memset(o, 0, sizeof *o);
		o->field_id = f->id;
		if (f->type == VL_FIELD_NUMERIC) {
			if (v->data) {
				if (parse_num(v->data, v->len, &o->num))
					return vl_fail(st, VL_ESCHEMA, "%s: field '%s' is numeric but '%.*s' is not a finite number",
					               row, v->field, (int)(v->len > 40 ? 40 : v->len), (const char *)v->data);
				o->kind = VL_VAL_NUMTEXT;
				o->data = v->data;
				o->len = v->len;
			} else {
				if (!isfinite(v->num))
					return vl_fail(st, VL_ESCHEMA, "%s: field '%s' holds a non-finite number", row, v->field);
				o->kind = VL_VAL_NUM;
				o->num = v->num;
			}
		} else {
			if (!v->data && v->len)
				return vl_fail(st, VL_ESCHEMA, "%s: field '%s' needs a string value", row, v->field);
			if (v->len > UINT32_MAX)
				return vl_fail(st, VL_ELIMIT, "%s: field '%s' value is larger than 4 GiB", row, v->field);
			o->kind = f->type == VL_FIELD_TAG ? VL_VAL_TAG : VL_VAL_TEXT;
			o->data = v->data ? v->data : (const void *)"";
			o->len = v->len;
		}
	}
	/* sort by field id (rows carry few values) and reject duplicates */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1].field_id > out[j].field_id; j--) {
			vl_rowval t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	for (size_t i = 1; i < n; i++)
		if (out[i].field_id == out[i - 1].field_id) {
			const vl_schema_field *f = vl_schema_field_by_id(s, out[i].field_id);
			return vl_fail(st, VL_ESCHEMA, "%s: field '%s' is given twice", row, f ? f->name : "?");
		}
	return VL_OK;
}

static int wanted(const char *name, const char *const *only, size_t nonly)
{
	if (!nonly)
		return 1;
	for (size_t i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return 1;
	return 0;
}

size_t vl_values_size(const vl_schema_rec *s, const vl_rowrec *r, const char *const *only,
                      size_t nonly, uint32_t *count)
{
	size_t bytes = 0;
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->nvalues; i++) {
		const vl_schema_field *f = vl_schema_field_by_id(s, r->values[i].field_id);
		if (!f || !wanted(f->name, only, nonly))
			continue;
		n++;
		bytes += sizeof(vl_value) + strlen(f->name) + 1 + r->values[i].len + 1;
	}
	*count = n;
	return bytes;
}

void vl_values_fill(const vl_schema_rec *s, const vl_rowrec *r, const char *const *only,
                    size_t nonly, vl_value *vals, char **pool)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < r->nvalues; i++) {
		const vl_rowval *rv = &r->values[i];
		const vl_schema_field *f = vl_schema_field_by_id(s, rv->field_id);
		if (!f || !wanted(f->name, only, nonly))
			continue;
		vl_value *v = &vals[k++];
		size_t nl = strlen(f->name);
		memcpy(*pool, f->name, nl + 1);
		v->field = *pool;
		*pool += nl + 1;
		v->num = rv->num;
		v->data = NULL;
		v->len = 0;
		if (rv->data) {
			memcpy(*pool, rv->data, rv->len);
			(*pool)[rv->len] = 0; /* convenience: texts are NUL-terminated too */
			v->data = *pool;
			v->len = rv->len;
			*pool += rv->len + 1;
		}
	}
}
