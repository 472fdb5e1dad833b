/* test_records.c - LMDB record encodings: round trips, and damaged input
 * gives VL_ECORRUPT (never a crash or an oversized allocation). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "util/tstore.h"

Test(records, schema_round_trip_and_damage)
{
	vl_schema_rec s = { 0 };
	s.dim = 768;
	s.metric = VL_METRIC_COSINE;
	s.storage = 6;
	s.index = 1;
	s.created_ms = 123456789;
	char *params[] = { "GRAPH_MAX_DEGREE=32", "ALPHA=0.95" };
	s.params = params;
	s.nparams = 2;
	vl_schema_field f[2] = { { 0, VL_FIELD_TAG, "genre" }, { 1, VL_FIELD_NUMERIC, "year" } };
	s.fields = f;
	s.nfields = 2;
	s.next_field_id = 2;
	uint8_t *buf;
	size_t len;
	cr_assert_eq(vl_schema_encode(&s, &buf, &len), VL_OK);
	vl_schema_rec o;
	vl_diag d;
	cr_assert_eq(vl_schema_decode(buf, len, &o, &d), VL_OK, "%s", d.msg);
	cr_assert_eq(o.dim, 768);
	cr_assert_eq(o.nparams, 2);
	cr_assert_str_eq(o.params[1], "ALPHA=0.95");
	cr_assert_str_eq(vl_schema_field_find(&o, "year")->name, "year");
	cr_assert_eq(vl_schema_field_by_id(&o, 0)->type, VL_FIELD_TAG);
	vl_schema_rec_free(&o);
	/* every truncation and every single-byte change decodes or fails cleanly */
	for (size_t cut = 0; cut < len; cut++)
		cr_assert_neq(vl_schema_decode(buf, cut, &o, &d), VL_OK, "truncated at %zu accepted", cut);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			if (vl_schema_decode(buf, len, &o, &d) == VL_OK)
				vl_schema_rec_free(&o);
			buf[i] ^= (uint8_t)(1 << bit);
		}
	free(buf);
}

Test(records, rowrec_round_trip_with_compression)
{
	char text[5000];
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = "abcab "[i % 6];
	vl_rowval v[4] = {
		{ .field_id = 0, .kind = VL_VAL_TAG, .data = (const uint8_t *)"a,b", .len = 3 },
		{ .field_id = 2, .kind = VL_VAL_TEXT, .data = (const uint8_t *)text, .len = sizeof text },
		{ .field_id = 5, .kind = VL_VAL_NUM, .num = -2.5 },
		{ .field_id = 7, .kind = VL_VAL_NUMTEXT, .num = 1e3, .data = (const uint8_t *)"1.0e3", .len = 5 },
	};
	uint8_t *buf;
	size_t len;
	vl_diag d;
	cr_assert_eq(vl_rowrec_encode((const uint8_t *)"key\xff", 4, v, 4, &buf, &len, &d), VL_OK);
	cr_assert_lt(len, 1000, "a 5000-byte repetitive text must be compressed (record is %zu bytes)", len);
	vl_rowrec r;
	vl_rowbuf rb = { 0 };
	cr_assert_eq(vl_rowrec_decode(buf, len, &r, &rb, 1, &d), VL_OK, "%s", d.msg);
	cr_assert_eq(r.key_len, 4);
	cr_assert_eq(memcmp(r.key, "key\xff", 4), 0);
	cr_assert_eq(r.nvalues, 4);
	cr_assert_eq(r.values[1].len, sizeof text);
	cr_assert_eq(memcmp(r.values[1].data, text, sizeof text), 0);
	cr_assert_eq(r.values[2].num, -2.5);
	cr_assert_eq(r.values[3].kind, VL_VAL_NUMTEXT);
	cr_assert_eq(memcmp(r.values[3].data, "1.0e3", 5), 0);
	/* without texts: no decompression, length still known */
	cr_assert_eq(vl_rowrec_decode(buf, len, &r, &rb, 0, &d), VL_OK);
	cr_assert_null(r.values[1].data);
	cr_assert_eq(r.values[1].len, sizeof text);
	for (size_t cut = 0; cut < len; cut++)
		cr_assert_neq(vl_rowrec_decode(buf, cut, &r, &rb, 1, &d), VL_OK, "truncated at %zu accepted", cut);
	ts_rng rng = { 4 };
	for (int i = 0; i < 3000; i++) {
		size_t at = ts_next(&rng) % len;
		uint8_t old = buf[at];
		buf[at] = (uint8_t)ts_next(&rng);
		vl_rowrec_decode(buf, len, &r, &rb, 1, &d);
		buf[at] = old;
	}
	vl_rowbuf_free(&rb);
	free(buf);
}

Test(records, rowrec_refuses_implausible_text_sizes)
{
	/* a compressed text claiming 4 GiB from an 8-byte frame */
	uint8_t rec[] = { 1, 1, 0, 'k', 1, 0, 2, 0, 0x82, 0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	vl_rowrec r;
	vl_rowbuf rb = { 0 };
	vl_diag d;
	cr_assert_eq(vl_rowrec_decode(rec, sizeof rec, &r, &rb, 1, &d), VL_ECORRUPT);
	cr_assert_lt(rb.bcap, 1u << 20, "no allocation for the claimed size");
	vl_rowbuf_free(&rb);
}

Test(records, counters_and_manifest)
{
	vl_cstate c = { .next_rid = 77, .live_rows = 5, .buffer_rows = 2, .buffer_bytes = 64, .segment_rows = 3,
	                .dead_rows = 0, .manifest_gen = 9, .next_seg = 4, .flags = 1, .flush_failures = 2 };
	uint8_t b[VL_CSTATE_BYTES];
	vl_cstate_encode(&c, b);
	vl_cstate o;
	vl_diag d;
	cr_assert_eq(vl_cstate_decode(b, sizeof b, &o, &d), VL_OK);
	cr_assert_eq(memcmp(&c, &o, sizeof c), 0);
	cr_assert_eq(vl_cstate_decode(b, sizeof b - 1, &o, &d), VL_ECORRUPT);
	vl_manifest m = { .nrows = 10, .rid_min = 1, .rid_max = 10, .file_bytes = 8192, .dead_rows = 3,
	                  .created_ms = 5, .header_crc = 0xabcdef, .storage = 1, .index = 1 };
	uint8_t mb[VL_MANIFEST_BYTES];
	vl_manifest_encode(&m, mb);
	vl_manifest mo;
	cr_assert_eq(vl_manifest_decode(mb, sizeof mb, &mo, &d), VL_OK);
	cr_assert_eq(mo.header_crc, 0xabcdef);
	cr_assert_eq(mo.dead_rows, 3);
	m.dead_rows = 11; /* more dead than rows */
	vl_manifest_encode(&m, mb);
	cr_assert_eq(vl_manifest_decode(mb, sizeof mb, &mo, &d), VL_ECORRUPT);
}
