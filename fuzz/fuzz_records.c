/*
 * fuzz_records.c - the decoders of the records veclite keeps in LMDB
 * (format/records.c): schema, row record, collection state, manifest entry.
 *
 * Input: one selector byte, then the record. A damaged data.mdb must give
 * VL_ECORRUPT/VL_EVERSION, never a crash. Whatever decodes must encode
 * back: the schema, cstate and manifest encodings are canonical (encode of
 * decode gives the same fields), and a row record re-encoded from its
 * decoded values decodes to the same key and values.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += b[i];
	sink += s;
}

static int rc_ok(int rc)
{
	return rc == VL_OK || rc == VL_ECORRUPT || rc == VL_EVERSION || rc == VL_ENOMEM;
}

static void schema(const uint8_t *p, size_t n)
{
	vl_schema_rec s, s2;
	vl_diag d = { 0 };
	int rc = vl_schema_decode(p, n, &s, &d);
	if (!rc_ok(rc))
		abort();
	if (rc)
		return;
	for (uint32_t i = 0; i < s.nparams; i++)
		touch(s.params[i], strlen(s.params[i]));
	for (uint32_t i = 0; i < s.nfields; i++)
		if (vl_schema_field_find(&s, s.fields[i].name) != &s.fields[i] ||
		    vl_schema_field_by_id(&s, s.fields[i].id) != &s.fields[i])
			abort(); /* names and ids are unique */
	uint8_t *enc;
	size_t len;
	if (vl_schema_encode(&s, &enc, &len) == VL_OK) {
		/* canonical: the accepted bytes are exactly what encode writes */
		if (len != n || memcmp(enc, p, n) != 0)
			abort();
		if (vl_schema_decode(enc, len, &s2, &d) != VL_OK)
			abort();
		vl_schema_rec_free(&s2);
		free(enc);
	}
	vl_schema_rec_free(&s);
}

static void cstate(const uint8_t *p, size_t n)
{
	vl_cstate c, c2;
	vl_diag d;
	int rc = vl_cstate_decode(p, n, &c, &d);
	if (!rc_ok(rc))
		abort();
	if (rc)
		return;
	uint8_t out[VL_CSTATE_BYTES];
	vl_cstate_encode(&c, out);
	if (vl_cstate_decode(out, sizeof out, &c2, &d) != VL_OK || memcmp(&c, &c2, sizeof c) != 0)
		abort();
	/* bytes 68..71 are reserved (not checked by the reader); the rest is canonical */
	if (memcmp(out, p, 68) != 0 || memcmp(out + 72, p + 72, 8) != 0)
		abort();
}

static void manifest(const uint8_t *p, size_t n)
{
	vl_manifest m, m2;
	vl_diag d;
	int rc = vl_manifest_decode(p, n, &m, &d);
	if (!rc_ok(rc))
		abort();
	if (rc)
		return;
	uint8_t out[VL_MANIFEST_BYTES];
	vl_manifest_encode(&m, out);
	if (vl_manifest_decode(out, sizeof out, &m2, &d) != VL_OK || memcmp(&m, &m2, sizeof m) != 0)
		abort();
	if (memcmp(out, p, 58) != 0)
		abort();
}

static int same_values(const vl_rowrec *a, const vl_rowrec *b)
{
	if (a->key_len != b->key_len || memcmp(a->key, b->key, a->key_len) != 0 || a->nvalues != b->nvalues)
		return 0;
	for (uint32_t i = 0; i < a->nvalues; i++) {
		const vl_rowval *x = &a->values[i], *y = &b->values[i];
		if (x->field_id != y->field_id || x->kind != y->kind || x->len != y->len)
			return 0;
		if ((x->kind == VL_VAL_NUM || x->kind == VL_VAL_NUMTEXT) && memcmp(&x->num, &y->num, 8) != 0)
			return 0;
		if (x->len && (!x->data || !y->data || memcmp(x->data, y->data, x->len) != 0))
			return 0;
	}
	return 1;
}

static void rowrec(const uint8_t *p, size_t n, int want_text)
{
	vl_rowbuf rb = { 0 }, rb2 = { 0 };
	vl_rowrec r, r2;
	vl_diag d = { 0 };
	const uint8_t *key;
	size_t key_len;
	int krc = vl_rowrec_key(p, n, &key, &key_len);
	if (krc == VL_OK)
		touch(key, key_len);
	int rc = vl_rowrec_decode(p, n, &r, &rb, want_text, &d);
	if (!rc_ok(rc))
		abort();
	if (rc == VL_OK) {
		if (krc != VL_OK || key != r.key || key_len != r.key_len)
			abort(); /* the key-only reader agrees with the full decoder */
		touch(r.key, r.key_len);
		for (uint32_t i = 0; i < r.nvalues; i++) {
			if (r.values[i].data)
				touch(r.values[i].data, r.values[i].len);
			if (i && r.values[i].field_id <= r.values[i - 1].field_id)
				abort(); /* sorted, unique */
		}
		if (want_text) {
			uint8_t *enc;
			size_t len;
			int erc = vl_rowrec_encode(r.key, r.key_len, r.values, r.nvalues, &enc, &len, &d);
			if (erc == VL_OK) {
				if (vl_rowrec_decode(enc, len, &r2, &rb2, 1, &d) != VL_OK || !same_values(&r, &r2))
					abort();
				free(enc);
			} else if (erc != VL_ENOMEM && erc != VL_ELIMIT) {
				abort();
			}
		}
	}
	vl_rowbuf_free(&rb);
	vl_rowbuf_free(&rb2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t sel = data[0];
	/* an exact-size copy of the record, so ASan sees any read past its end */
	uint8_t *rec = malloc(size - 1 ? size - 1 : 1);
	if (!rec)
		return 0;
	memcpy(rec, data + 1, size - 1);
	switch (sel % 5) {
	case 0: schema(rec, size - 1); break;
	case 1: rowrec(rec, size - 1, 1); break;
	case 2: rowrec(rec, size - 1, 0); break;
	case 3: cstate(rec, size - 1); break;
	default: manifest(rec, size - 1); break;
	}
	free(rec);
	return 0;
}
