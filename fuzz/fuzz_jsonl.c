/*
 * fuzz_jsonl.c - JSON Lines rows (format/jsonl.c).
 * Any line must parse or fail cleanly with a message starting "line N". A row
 * that parses (and is finite) is written by the export writer and parsed
 * again: key bytes, vector bits and field bytes must survive.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vl_jsonl_parser *p, *p2;
	if (!p) {
		p = vl_jsonl_parser_new();
		p2 = vl_jsonl_parser_new();
	}
	vl_jsonl_row r, r2;
	vl_diag d;
	int rc = vl_jsonl_parse_line(p, data, size, 3, 100, 41, &r, &d);
	if (rc) {
		if (strncmp(d.msg, "line ", 5) != 0)
			abort();
		return 0;
	}
	if (r.key_len == 0 || r.key_len > VL_JSONL_KEY_MAX || r.dim == 0 || r.dim > 65535)
		abort();
	vl_sink s;
	vl_sink_init_mem(&s);
	unsigned flags = size & 1 ? VL_JSONL_VECTOR_BASE64 : 0;
	rc = vl_jsonl_write_row(&s, r.key, r.key_len, r.vector, r.dim, r.fields, r.nfields, flags);
	if (r.nonfinite) {
		if (rc != VL_ENAN || s.len)
			abort();
		vl_sink_free(&s);
		return 0;
	}
	if (rc || s.len == 0 || s.buf[s.len - 1] != '\n' || memchr(s.buf, '\n', s.len - 1))
		abort();
	if (vl_jsonl_parse_line(p2, s.buf, s.len - 1, 1, 0, 41, &r2, &d))
		abort();
	if (r2.key_len != r.key_len || memcmp(r2.key, r.key, r.key_len))
		abort();
	if (r2.dim != r.dim || memcmp(r2.vector, r.vector, 4 * (size_t)r.dim))
		abort();
	if (r2.nfields != r.nfields)
		abort();
	for (size_t i = 0; i < r.nfields; i++) {
		const vl_jsonl_field *a = &r.fields[i], *b = &r2.fields[i];
		if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len))
			abort();
		if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)))
			abort();
		if (a->kind == VL_JSONL_NUMBER && memcmp(&a->num, &b->num, sizeof a->num))
			abort();
	}
	vl_sink_free(&s);
	return 0;
}
