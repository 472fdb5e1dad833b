/* jsonl.c - JSON Lines rows: parse into reusable buffers, write (see jsonl.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

#define DIM_MAX 65535u

struct vl_jsonl_parser {
	vl_json_doc *doc;
	float *vec;                     /* the row's vector */
	size_t vec_cap;
	vl_jsonl_field *fields;         /* the row's fields */
	size_t fields_cap;
	const vl_jsonl_field **sorted;  /* for the duplicate-name check */
	size_t sorted_cap;
	uint8_t *bytes;                 /* decoded base64, joined tags */
	size_t bytes_cap, bytes_len;
	char keybuf[24];                /* decimal row number */
};

vl_jsonl_parser *vl_jsonl_parser_new(void)
{
	vl_jsonl_parser *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->doc = vl_json_doc_new();
	if (!p->doc) {
		free(p);
		return NULL;
	}
	return p;
}

void vl_jsonl_parser_free(vl_jsonl_parser *p)
{
	if (!p)
		return;
	vl_json_doc_free(p->doc);
	free(p->vec);
	free(p->fields);
	free(p->sorted);
	free(p->bytes);
	free(p);
}

int vl_jsonl_blank(const void *line, size_t len)
{
	const uint8_t *b = line;
	for (size_t i = 0; i < len; i++)
		if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n')
			return 0;
	return 1;
}

/* Grow *buf to hold at least n elements of size sz. */
static int reserve(void **buf, size_t *cap, size_t n, size_t sz)
{
	if (n <= *cap)
		return VL_OK;
	size_t c = *cap ? *cap : 16;
	while (c < n)
		c *= 2;
	if (c > SIZE_MAX / sz)
		return VL_ENOMEM;
	void *nb = realloc(*buf, c * sz);
	if (!nb)
		return VL_ENOMEM;
	*buf = nb;
	*cap = c;
	return VL_OK;
}

/* ---- errors -------------------------------------------------------------- */

/* Printable form of a member name for messages (escapes, truncated). */
static const char *show(const char *s, size_t n, char *buf, size_t cap)
{
	size_t o = 0, i = 0;
	for (; i < n && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
	}
	if (i < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
	return buf;
}

__attribute__((format(printf, 5, 6)))
static int row_fail(vl_diag *d, int code, uint64_t line, uint64_t off, const char *fmt, ...)
{
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return vl_diag_set(d, code, off, "line %llu: %s", (unsigned long long)line, msg);
}

/* ---- pieces of a row ------------------------------------------------------- */

typedef struct members {
	const vl_json *key, *key_b64, *vec, *vec_b64, *fields;
} members;

static const vl_json *nonnull(const vl_json *v)
{
	return v && v->type != VL_JSON_NULL ? v : NULL;
}

static int collect_members(const vl_json *obj, uint64_t line, members *m, vl_diag *d)
{
	static const char *const names[5] = { "key", "key_base64", "vector", "vector_base64",
	                                      "fields" };
	const vl_json **slot[5] = { &m->key, &m->key_b64, &m->vec, &m->vec_b64, &m->fields };
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < obj->n; i++) {
		const vl_json_member *mb = &obj->u.members[i];
		size_t j = 0;
		while (j < 5 && !(strlen(names[j]) == mb->key_len &&
		                  memcmp(names[j], mb->key, mb->key_len) == 0))
			j++;
		char nb[80];
		if (j == 5)
			return row_fail(d, VL_EFORMAT, line, mb->value.offset,
			                "unknown member \"%s\" (expected key, key_base64, vector, "
			                "vector_base64 or fields)", show(mb->key, mb->key_len, nb, sizeof nb));
		if (*slot[j])
			return row_fail(d, VL_EFORMAT, line, mb->value.offset, "duplicate member \"%s\"",
			                names[j]);
		*slot[j] = &mb->value;
	}
	m->key = nonnull(m->key);
	m->key_b64 = nonnull(m->key_b64);
	m->vec = nonnull(m->vec);
	m->vec_b64 = nonnull(m->vec_b64);
	m->fields = nonnull(m->fields);
	return VL_OK;
}

/* Bytes of scratch the row needs (decoded base64, joined tags). */
static size_t scratch_needed(const members *m)
{
	size_t need = 0;
	if (m->key_b64 && m->key_b64->type == VL_JSON_STRING)
		need += vl_b64_decoded_max(m->key_b64->n);
	if (m->vec_b64 && m->vec_b64->type == VL_JSON_STRING)
		need += vl_b64_decoded_max(m->vec_b64->n) + 16;
	if (m->fields && m->fields->type == VL_JSON_OBJECT) {
		for (size_t i = 0; i < m->fields->n; i++) {
			const vl_json *v = &m->fields->u.members[i].value;
			if (v->type == VL_JSON_ARRAY) {
				for (size_t j = 0; j < v->n; j++)
					need += v->u.items[j].n + 1;
			} else if (v->type == VL_JSON_OBJECT && v->n == 1) {
				need += vl_b64_decoded_max(v->u.members[0].value.n);
			}
		}
	}
	return need + 16;
}

static uint8_t *take(vl_jsonl_parser *p, size_t n)
{
	uint8_t *b = p->bytes + p->bytes_len;
	p->bytes_len += n;
	return b;
}

static int decode_b64(vl_jsonl_parser *p, const vl_json *s, uint64_t line, const char *what,
                      const uint8_t **out, size_t *n, vl_diag *d)
{
	if (s->type != VL_JSON_STRING)
		return row_fail(d, VL_EFORMAT, line, s->offset, "%s must be a base64 string, not %s",
		                what, vl_json_type_name(s->type));
	uint8_t *dst = p->bytes + p->bytes_len;
	vl_diag sub;
	vl_diag_clear(&sub);
	/* offsets inside the decoded JSON string only map to the file when no
	 * escapes were used; base64 text never needs escapes. +1 skips the quote. */
	int rc = vl_b64_decode(s->u.str, s->n, dst, n, s->offset + 1, &sub);
	if (rc)
		return row_fail(d, rc, line, sub.offset, "%s: %.200s", what, sub.msg);
	p->bytes_len += *n;
	*out = dst;
	return VL_OK;
}

static int parse_key(vl_jsonl_parser *p, const members *m, const vl_json *row_v,
                     uint64_t row_index, vl_jsonl_row *row, vl_diag *d)
{
	uint64_t line = row->line;
	if (m->key && m->key_b64)
		return row_fail(d, VL_EFORMAT, line, m->key_b64->offset,
		                "both \"key\" and \"key_base64\" given");
	if (m->key_b64) {
		const uint8_t *b;
		size_t n;
		int rc = decode_b64(p, m->key_b64, line, "key_base64", &b, &n, d);
		if (rc)
			return rc;
		row->key = b;
		row->key_len = n;
	} else if (m->key && m->key->type == VL_JSON_STRING) {
		row->key = m->key->u.str;
		row->key_len = m->key->n;
	} else if (m->key && vl_json_is_integer(m->key)) {
		row->key = m->key->u.str;
		row->key_len = m->key->n;
	} else if (m->key) {
		return row_fail(d, VL_EFORMAT, line, m->key->offset,
		                "key must be a string or an integer, not %s",
		                m->key->type == VL_JSON_NUMBER ? "a fractional number"
		                                               : vl_json_type_name(m->key->type));
	} else {
		int n = snprintf(p->keybuf, sizeof p->keybuf, "%llu", (unsigned long long)row_index);
		row->key = p->keybuf;
		row->key_len = (size_t)n;
		row->key_given = 0;
		return VL_OK;
	}
	row->key_given = 1;
	const vl_json *kv = m->key ? m->key : m->key_b64;
	if (row->key_len == 0)
		return row_fail(d, VL_EKEY, line, kv->offset, "key is empty");
	if (row->key_len > VL_JSONL_KEY_MAX)
		return row_fail(d, VL_EKEY, line, kv->offset, "key of %zu bytes is longer than %u",
		                row->key_len, VL_JSONL_KEY_MAX);
	(void)row_v;
	return VL_OK;
}

static int check_dim(size_t dim, uint64_t line, uint64_t off, vl_diag *d)
{
	if (dim == 0)
		return row_fail(d, VL_EFORMAT, line, off, "vector is empty (dim 0)");
	if (dim > DIM_MAX)
		return row_fail(d, VL_EDIM, line, off, "vector has %zu components, more than %u", dim,
		                DIM_MAX);
	return VL_OK;
}

static int vector_from_array(vl_jsonl_parser *p, const vl_json *a, vl_jsonl_row *row,
                             vl_diag *d)
{
	int rc = check_dim(a->n, row->line, a->offset, d);
	if (rc)
		return rc;
	if (reserve((void **)&p->vec, &p->vec_cap, a->n, sizeof(float)))
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	for (size_t i = 0; i < a->n; i++) {
		const vl_json *e = &a->u.items[i];
		if (e->type != VL_JSON_NUMBER)
			return row_fail(d, VL_EFORMAT, row->line, e->offset,
			                "vector component %zu is %s, not a number", i,
			                vl_json_type_name(e->type));
		if (vl_json_f32(e, &p->vec[i]) && !row->nonfinite)
			row->nonfinite = (uint32_t)i + 1;
	}
	row->vector = p->vec;
	row->dim = (uint32_t)a->n;
	return VL_OK;
}

static int vector_from_b64(vl_jsonl_parser *p, const vl_json *s, vl_jsonl_row *row, vl_diag *d)
{
	const uint8_t *b;
	size_t n;
	int rc = decode_b64(p, s, row->line, "vector_base64", &b, &n, d);
	if (rc)
		return rc;
	if (n % 4)
		return row_fail(d, VL_EFORMAT, row->line, s->offset,
		                "vector_base64 holds %zu bytes, not a multiple of 4 (float32)", n);
	if ((rc = check_dim(n / 4, row->line, s->offset, d)))
		return rc;
	if (reserve((void **)&p->vec, &p->vec_cap, n / 4, sizeof(float)))
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	for (size_t i = 0; i < n / 4; i++) {
		uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
		             (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
		memcpy(&p->vec[i], &u, 4);
		if (!isfinite(p->vec[i]) && !row->nonfinite)
			row->nonfinite = (uint32_t)i + 1;
	}
	row->vector = p->vec;
	row->dim = (uint32_t)(n / 4);
	return VL_OK;
}

static int parse_vector(vl_jsonl_parser *p, const members *m, const vl_json *obj,
                        vl_jsonl_row *row, vl_diag *d)
{
	if (m->vec && m->vec_b64)
		return row_fail(d, VL_EFORMAT, row->line, m->vec_b64->offset,
		                "both \"vector\" and \"vector_base64\" given");
	if (m->vec_b64)
		return vector_from_b64(p, m->vec_b64, row, d);
	if (!m->vec)
		return row_fail(d, VL_EFORMAT, row->line, obj->offset,
		                "row has no vector (expected \"vector\" or \"vector_base64\")");
	if (m->vec->type != VL_JSON_ARRAY)
		return row_fail(d, VL_EFORMAT, row->line, m->vec->offset,
		                "vector must be an array of numbers, not %s",
		                vl_json_type_name(m->vec->type));
	return vector_from_array(p, m->vec, row, d);
}

/* Tags: an array of strings joined with ','. */
static int field_tags(vl_jsonl_parser *p, const vl_json *a, const char *fname, uint64_t line,
                      vl_jsonl_field *f, vl_diag *d)
{
	uint8_t *dst = p->bytes + p->bytes_len;
	size_t o = 0;
	for (size_t i = 0; i < a->n; i++) {
		const vl_json *e = &a->u.items[i];
		if (e->type != VL_JSON_STRING)
			return row_fail(d, VL_EFORMAT, line, e->offset,
			                "field \"%s\": array element %zu is %s; arrays hold tag strings",
			                fname, i, vl_json_type_name(e->type));
		if (memchr(e->u.str, ',', e->n))
			return row_fail(d, VL_EFORMAT, line, e->offset,
			                "field \"%s\": tag %zu contains ',' (the tag separator)", fname, i);
		if (i)
			dst[o++] = ',';
		memcpy(dst + o, e->u.str, e->n);
		o += e->n;
	}
	take(p, o);
	f->kind = VL_JSONL_TAGS;
	f->data = dst;
	f->len = o;
	return VL_OK;
}

static int field_value(vl_jsonl_parser *p, const vl_json *v, const char *fname, uint64_t line,
                       vl_jsonl_field *f, vl_diag *d)
{
	const vl_json *b64;
	switch (v->type) {
	case VL_JSON_STRING:
		f->kind = VL_JSONL_STRING;
		f->data = v->u.str;
		f->len = v->n;
		return VL_OK;
	case VL_JSON_NUMBER:
		f->kind = VL_JSONL_NUMBER;
		f->data = v->u.str;
		f->len = v->n;
		if (vl_json_f64(v, &f->num))
			return row_fail(d, VL_EFORMAT, line, v->offset,
			                "field \"%s\": number %.40s is out of the range of a double",
			                fname, v->u.str);
		return VL_OK;
	case VL_JSON_ARRAY:
		return field_tags(p, v, fname, line, f, d);
	case VL_JSON_OBJECT:
		b64 = vl_json_get(v, "base64");
		if (v->n != 1 || !b64)
			return row_fail(d, VL_EFORMAT, line, v->offset,
			                "field \"%s\": an object value must be {\"base64\": \"...\"}", fname);
		f->kind = VL_JSONL_BINARY;
		char what[300];
		snprintf(what, sizeof what, "field \"%s\"", fname);
		const uint8_t *bytes = NULL;
		int rc = decode_b64(p, b64, line, what, &bytes, &f->len, d);
		f->data = bytes;
		return rc;
	default:
		return row_fail(d, VL_EFORMAT, line, v->offset,
		                "field \"%s\": %s is not a supported value (string, number, array of "
		                "strings, {\"base64\": ...} or null)", fname, vl_json_type_name(v->type));
	}
}

static int cmp_field_name(const void *a, const void *b)
{
	const vl_jsonl_field *x = *(const vl_jsonl_field *const *)a;
	const vl_jsonl_field *y = *(const vl_jsonl_field *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Sorting pointers finds a repeated name in O(n log n), so a row with very
 * many fields cannot make the check quadratic. */
static int check_duplicates(vl_jsonl_parser *p, const vl_json *obj, uint64_t line, size_t n,
                            vl_diag *d)
{
	if (n < 2)
		return VL_OK;
	if (reserve((void **)&p->sorted, &p->sorted_cap, n, sizeof *p->sorted))
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	for (size_t i = 0; i < n; i++)
		p->sorted[i] = &p->fields[i];
	qsort(p->sorted, n, sizeof *p->sorted, cmp_field_name);
	for (size_t i = 1; i < n; i++)
		if (cmp_field_name(&p->sorted[i - 1], &p->sorted[i]) == 0) {
			char nb[80];
			return row_fail(d, VL_EFORMAT, line, obj->offset, "field \"%s\" appears twice",
			                show(p->sorted[i]->name, p->sorted[i]->name_len, nb, sizeof nb));
		}
	return VL_OK;
}

static int parse_fields(vl_jsonl_parser *p, const vl_json *obj, vl_jsonl_row *row, vl_diag *d)
{
	if (obj->type != VL_JSON_OBJECT)
		return row_fail(d, VL_EFORMAT, row->line, obj->offset,
		                "fields must be an object, not %s", vl_json_type_name(obj->type));
	if (reserve((void **)&p->fields, &p->fields_cap, obj->n, sizeof *p->fields))
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < obj->n; i++) {
		const vl_json_member *mb = &obj->u.members[i];
		char nb[80];
		const char *shown = show(mb->key, mb->key_len, nb, sizeof nb);
		if (mb->key_len == 0 || mb->key_len > VL_JSONL_NAME_MAX ||
		    memchr(mb->key, 0, mb->key_len))
			return row_fail(d, VL_EFORMAT, row->line, mb->value.offset,
			                "field name \"%s\" must be 1..%u bytes without NUL", shown,
			                VL_JSONL_NAME_MAX);
		if (mb->value.type == VL_JSON_NULL)
			continue;
		vl_jsonl_field *f = &p->fields[n];
		memset(f, 0, sizeof *f);
		f->name = mb->key;
		f->name_len = mb->key_len;
		int rc = field_value(p, &mb->value, shown, row->line, f, d);
		if (rc)
			return rc;
		n++;
	}
	int rc = check_duplicates(p, obj, row->line, n, d);
	if (rc)
		return rc;
	row->fields = p->fields;
	row->nfields = n;
	return VL_OK;
}

/* ---- rows ------------------------------------------------------------------ */

static int row_from_object(vl_jsonl_parser *p, const vl_json *v, uint64_t row_index,
                           vl_jsonl_row *row, vl_diag *d)
{
	members m;
	int rc = collect_members(v, row->line, &m, d);
	if (rc)
		return rc;
	if (reserve((void **)&p->bytes, &p->bytes_cap, scratch_needed(&m), 1))
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	p->bytes_len = 0;
	if ((rc = parse_key(p, &m, v, row_index, row, d)))
		return rc;
	if ((rc = parse_vector(p, &m, v, row, d)))
		return rc;
	if (m.fields && (rc = parse_fields(p, m.fields, row, d)))
		return rc;
	return VL_OK;
}

int vl_jsonl_row_from_json(vl_jsonl_parser *p, const vl_json *v, uint64_t lineno,
                           uint64_t row_index, vl_jsonl_row *row, vl_diag *d)
{
	memset(row, 0, sizeof *row);
	row->line = lineno;
	row->offset = v->offset;
	row->row = row_index;
	if (v->type == VL_JSON_OBJECT)
		return row_from_object(p, v, row_index, row, d);
	if (v->type == VL_JSON_ARRAY) {
		members m = { 0 };
		int rc = parse_key(p, &m, v, row_index, row, d);
		return rc ? rc : vector_from_array(p, v, row, d);
	}
	return row_fail(d, VL_EFORMAT, lineno, v->offset,
	                "a row must be an object or an array of numbers, not %s",
	                vl_json_type_name(v->type));
}

int vl_jsonl_parse_line(vl_jsonl_parser *p, const void *line, size_t len, uint64_t lineno,
                        uint64_t offset, uint64_t row_index, vl_jsonl_row *row, vl_diag *d)
{
	const vl_json *root;
	memset(row, 0, sizeof *row);
	int rc = vl_json_parse(p->doc, line, len, offset, lineno, &root, d);
	if (rc)
		return rc;
	return vl_jsonl_row_from_json(p, root, lineno, row_index, row, d);
}

/* ---- writing ------------------------------------------------------------- */

static int write_bytes_value(vl_sink *s, const void *data, size_t len, int b64_only)
{
	if (!b64_only && vl_utf8_valid(data, len, NULL))
		return vl_json_write_string(s, data, len);
	vl_sink_puts(s, "{\"base64\":\"");
	vl_sink_b64(s, data, len);
	return vl_sink_puts(s, "\"}");
}

static int number_text_ok(const vl_jsonl_field *f)
{
	return f->data && vl_json_number_valid(f->data, f->len);
}

static int check_row(const void *key, size_t key_len, const float *vec, uint32_t dim,
                     const vl_jsonl_field *fields, size_t nfields)
{
	if (dim == 0 || !vec || (key_len && !key))
		return VL_EINVAL;
	for (uint32_t i = 0; i < dim; i++)
		if (!isfinite(vec[i]))
			return VL_ENAN;
	for (size_t i = 0; i < nfields; i++) {
		const vl_jsonl_field *f = &fields[i];
		if (!f->name || f->name_len == 0 || !vl_utf8_valid(f->name, f->name_len, NULL))
			return VL_EINVAL;
		if (f->kind == VL_JSONL_NUMBER && !number_text_ok(f) && !isfinite(f->num))
			return VL_EINVAL;
		if (f->kind < VL_JSONL_STRING || f->kind > VL_JSONL_TAGS || (f->len && !f->data))
			return VL_EINVAL;
	}
	return VL_OK;
}

static int write_vector(vl_sink *s, const float *vec, uint32_t dim, unsigned flags)
{
	if (flags & VL_JSONL_VECTOR_BASE64) {
		uint8_t le[4 * 192];
		vl_sink_puts(s, "\"vector_base64\":\"");
		/* 192 floats = 768 bytes, a multiple of 3: pieces concatenate cleanly */
		for (uint32_t i = 0; i < dim; i += 192) {
			uint32_t k = dim - i < 192 ? dim - i : 192;
			memcpy(le, vec + i, 4 * (size_t)k); /* little-endian host (vl_bytes.h) */
			vl_sink_b64(s, le, 4 * (size_t)k);
		}
		return vl_sink_putc(s, '"');
	}
	/* Components are gathered in a local buffer: one sink write per 4 KiB
	 * instead of two per component. */
	char text[4096];
	size_t o = 0;
	vl_sink_puts(s, "\"vector\":[");
	for (uint32_t i = 0; i < dim; i++) {
		if (o > sizeof text - VL_FMT_F32_MAX - 1) {
			vl_sink_write(s, text, o);
			o = 0;
		}
		if (i)
			text[o++] = ',';
		o += (size_t)vl_fmt_f32(vec[i], text + o);
	}
	text[o++] = ']';
	return vl_sink_write(s, text, o);
}

static int write_field(vl_sink *s, const vl_jsonl_field *f)
{
	vl_json_write_string(s, f->name, f->name_len);
	vl_sink_putc(s, ':');
	if (f->kind == VL_JSONL_NUMBER) {
		if (number_text_ok(f))
			return vl_sink_write(s, f->data, f->len);
		char num[VL_FMT_F64_MAX];
		int n = vl_fmt_f64(f->num, num);
		return vl_sink_write(s, num, (size_t)n);
	}
	return write_bytes_value(s, f->data ? f->data : "", f->len, f->kind == VL_JSONL_BINARY);
}

int vl_jsonl_write_row(vl_sink *s, const void *key, size_t key_len, const float *vec,
                       uint32_t dim, const vl_jsonl_field *fields, size_t nfields,
                       unsigned flags)
{
	int rc = check_row(key, key_len, vec, dim, fields, nfields);
	if (rc)
		return rc;
	vl_sink_putc(s, '{');
	if (key_len) {
		if (vl_utf8_valid(key, key_len, NULL)) {
			vl_sink_puts(s, "\"key\":");
			vl_json_write_string(s, key, key_len);
		} else {
			vl_sink_puts(s, "\"key_base64\":\"");
			vl_sink_b64(s, key, key_len);
			vl_sink_putc(s, '"');
		}
		vl_sink_putc(s, ',');
	}
	write_vector(s, vec, dim, flags);
	if (nfields) {
		vl_sink_puts(s, ",\"fields\":{");
		for (size_t i = 0; i < nfields; i++) {
			if (i)
				vl_sink_putc(s, ',');
			write_field(s, &fields[i]);
		}
		vl_sink_putc(s, '}');
	}
	return vl_sink_puts(s, "}\n");
}
