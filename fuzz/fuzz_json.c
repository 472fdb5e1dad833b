/*
 * fuzz_json.c - the strict JSON DOM parser (format/json.c).
 * Any input must parse or fail cleanly; number values must equal strtof /
 * strtod of their text bit for bit. A document that parses is written
 * back compactly; that text must parse again and write back identically
 * (the writer emits only what the parser accepts, and loses nothing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void touch(const vl_json *v)
{
	float f;
	double x;
	switch (v->type) {
	case VL_JSON_NUMBER: {
		vl_json_f32(v, &f);
		vl_json_f64(v, &x);
		float sf = strtof(v->u.str, NULL);
		double sx = strtod(v->u.str, NULL);
		if (!vl_json_number_valid(v->u.str, v->n) || memcmp(&f, &sf, 4) || memcmp(&x, &sx, 8))
			abort();
		break;
	}
	case VL_JSON_ARRAY:
		for (size_t i = 0; i < v->n; i++)
			touch(&v->u.items[i]);
		break;
	case VL_JSON_OBJECT:
		for (size_t i = 0; i < v->n; i++) {
			const vl_json_member *m = &v->u.members[i];
			if (vl_json_getn(v, m->key, m->key_len) == NULL)
				abort();
			touch(&m->value);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vl_json_doc *doc, *doc2;
	if (!doc) {
		doc = vl_json_doc_new();
		doc2 = vl_json_doc_new();
	}
	const vl_json *root;
	vl_diag d;
	int rc = vl_json_parse(doc, data, size, 0, 1, &root, &d);
	if (rc) {
		if (rc != VL_EFORMAT && rc != VL_ELIMIT)
			abort();
		if (d.offset > size)
			abort();
		return 0;
	}
	touch(root);
	vl_sink s1, s2;
	vl_sink_init_mem(&s1);
	vl_sink_init_mem(&s2);
	if (vl_json_write(&s1, root))
		abort();
	const vl_json *again;
	if (vl_json_parse(doc2, s1.buf ? s1.buf : "", s1.len, 0, 1, &again, &d))
		abort();
	if (vl_json_write(&s2, again) || s1.len != s2.len || memcmp(s1.buf, s2.buf, s1.len))
		abort();
	vl_sink_free(&s1);
	vl_sink_free(&s2);
	return 0;
}
