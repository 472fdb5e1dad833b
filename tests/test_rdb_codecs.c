/*
 * test_rdb_codecs.c - the pure RDB decoders (LZF, listpack, ziplist, zipmap,
 * intset), detection helpers, and reader errors on hand-made bad input.
 * Each bad input must give the expected code and name an offset.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/crc64.h"
#include "rdb/intset.h"
#include "rdb/listpack.h"
#include "rdb/lzf.h"
#include "rdb/rdb.h"
#include "rdb/rdb_detect.h"
#include "rdb/rdb_inspect.h"
#include "rdb/ziplist.h"
#include "rdb/zipmap.h"
#include "util/rdb_bytes.h"
#include "util/lzf_pack.h"
#include "util/rdb_collect.h"

static void expect_err(int rc, int code, const vl_diag *d, const char *what)
{
	cr_assert_eq(rc, code, "%s: rc %d, want %d (%s)", what, rc, code, d->msg);
	cr_assert(strstr(d->msg, "offset") != NULL, "%s: no offset in '%s'", what, d->msg);
}

Test(rdb_codecs, lzf)
{
	static const uint8_t ok[] = { 0x02, 'a', 'b', 'c', 0xe0, 0x00, 0x02 };
	static const uint8_t seed[] = { 0x00, 0x0c, 0x02, 'a', 'b', 'c', 0xe0, 0x00, 0x02 };
	rc_write_seed("fuzz_rdb_lzf", "abc4.lzf", seed, sizeof seed);
	uint8_t out[64];
	vl_diag d;
	cr_assert_eq(vl_lzf_decompress(ok, sizeof ok, out, 12, 0, &d), 0, "%s", d.msg);
	cr_assert(memcmp(out, "abcabcabcabc", 12) == 0);
	/* short back-reference (len 3, offset 1) = run */
	static const uint8_t run[] = { 0x00, 'z', 0x20, 0x00 };
	cr_assert_eq(vl_lzf_decompress(run, sizeof run, out, 4, 0, &d), 0, "%s", d.msg);
	cr_assert(memcmp(out, "zzzz", 4) == 0);
	expect_err(vl_lzf_decompress(ok, sizeof ok, out, 11, 100, &d), VL_EFORMAT, &d, "overflow");
	expect_err(vl_lzf_decompress(ok, sizeof ok, out, 13, 100, &d), VL_EFORMAT, &d, "short output");
	expect_err(vl_lzf_decompress(ok, 3, out, 12, 100, &d), VL_EFORMAT, &d, "truncated literal");
	expect_err(vl_lzf_decompress(ok, 5, out, 12, 100, &d), VL_EFORMAT, &d, "truncated ref");
	static const uint8_t before[] = { 0x00, 'a', 0x20, 0x05 };
	expect_err(vl_lzf_decompress(before, sizeof before, out, 4, 100, &d), VL_EFORMAT, &d,
	           "reference before start");
	cr_assert_eq(d.offset, 102);
}

Test(rdb_codecs, listpack)
{
	rb b = { 0 };
	const rb_item items[] = { RB_S("hello"), RB_I(0), RB_I(127), RB_I(-4096), RB_I(4095),
		                  RB_I(-32768), RB_I(8000000), RB_I(-2000000000), RB_I(INT64_MIN),
		                  { "0123456789012345678901234567890123456789012345678901234567890123456789", 70, 0 } };
	rb_listpack(&b, items, 10);
	rc_write_seed("fuzz_rdb_listpack", "all-encodings.lp", b.p, b.len);
	uint64_t n;
	vl_diag d;
	cr_assert_eq(vl_lp_validate(b.p, b.len, 0, &n, &d), 0, "%s", d.msg);
	cr_assert_eq(n, 10);
	vl_lp_iter it;
	vl_rdb_item x;
	cr_assert_eq(vl_lp_open(&it, b.p, b.len, 0, &d), 0);
	static const char *const want[] = { "hello", "0", "127", "-4096", "4095", "-32768", "8000000",
		                            "-2000000000", "-9223372036854775808" };
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(vl_lp_next(&it, &x, &d), 1);
		cr_assert_eq(x.len, strlen(want[i]));
		cr_assert(memcmp(vl_rdb_item_ptr(&x), want[i], x.len) == 0, "item %d", i);
	}
	cr_assert_eq(vl_lp_next(&it, &x, &d), 1);
	cr_assert_eq(x.len, 70);
	cr_assert_eq(vl_lp_next(&it, &x, &d), 0);

	/* corruptions */
	uint8_t *p = b.p;
	p[4]++; /* count */
	expect_err(vl_lp_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "count");
	p[4]--;
	p[0]++; /* total bytes */
	expect_err(vl_lp_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "size");
	p[0]--;
	p[6 + 6]++; /* backlen of "hello" */
	expect_err(vl_lp_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "backlen");
	p[6 + 6]--;
	p[6] = 0xbf; /* string of 63 bytes: overruns */
	expect_err(vl_lp_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "overrun");
	p[6] = 0xf5; /* not an encoding */
	expect_err(vl_lp_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "bad encoding");
	expect_err(vl_lp_validate(p, 3, 0, NULL, &d), VL_EFORMAT, &d, "tiny");
	rb_free(&b);
}

Test(rdb_codecs, ziplist)
{
	rb b = { 0 };
	char big[300];
	memset(big, 'q', sizeof big);
	const rb_item items[] = { RB_S("a"), { big, 300, 0 }, RB_I(7), RB_I(-128), RB_I(30000),
		                  RB_I(-8000000), RB_I(2000000000), RB_I(-5000000000ll) };
	rb_ziplist(&b, items, 8);
	rc_write_seed("fuzz_rdb_ziplist", "all-encodings.zl", b.p, b.len);
	uint64_t n;
	vl_diag d;
	cr_assert_eq(vl_zl_validate(b.p, b.len, 0, &n, &d), 0, "%s", d.msg);
	cr_assert_eq(n, 8);
	vl_zl_iter it;
	vl_rdb_item x;
	cr_assert_eq(vl_zl_open(&it, b.p, b.len, 0, &d), 0);
	static const char *const want[] = { "a", NULL, "7", "-128", "30000", "-8000000", "2000000000",
		                            "-5000000000" };
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(vl_zl_next(&it, &x, &d), 1);
		if (want[i])
			cr_assert(x.len == strlen(want[i]) && memcmp(vl_rdb_item_ptr(&x), want[i], x.len) == 0,
			          "item %d", i);
		else
			cr_assert_eq(x.len, 300);
	}
	cr_assert_eq(vl_zl_next(&it, &x, &d), 0);
	/* the entry after the 300-byte string has a 5-byte prevlen */
	uint8_t *p = b.p;
	const size_t e2 = 10 + 3 + 1 + 2 + 300;
	cr_assert_eq(p[e2], 0xfe);
	p[e2 + 1]++;
	expect_err(vl_zl_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "prevlen");
	p[e2 + 1]--;
	p[4]++; /* tail */
	expect_err(vl_zl_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "tail");
	p[4]--;
	p[8]++; /* count */
	expect_err(vl_zl_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "count");
	p[8]--;
	p[11] = 0x3f; /* "a" claims 63 bytes */
	expect_err(vl_zl_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "overrun");
	p[11] = 0x81; /* 10xxxxxx other than 0x80 */
	expect_err(vl_zl_validate(p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "bad encoding");
	rb_free(&b);
}

Test(rdb_codecs, zipmap_and_intset)
{
	rb b = { 0 };
	const rb_item zm[] = { RB_S("k"), RB_S("v"), RB_S("kk"), RB_S("vv") };
	rb_zipmap(&b, zm, 4);
	rc_write_seed("fuzz_rdb_zipmap", "two-pairs.zm", b.p, b.len);
	uint64_t n;
	vl_diag d;
	cr_assert_eq(vl_zm_validate(b.p, b.len, 0, &n, &d), 0, "%s", d.msg);
	cr_assert_eq(n, 2);
	b.p[0] = 3;
	expect_err(vl_zm_validate(b.p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "count");
	b.p[0] = 2;
	b.p[1] = 200; /* key length past the end */
	expect_err(vl_zm_validate(b.p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "overrun");
	expect_err(vl_zm_validate(b.p, b.len - 1, 0, NULL, &d), VL_EFORMAT, &d, "no terminator");
	rb_free(&b);

	const int64_t v[] = { -3, 9, 400 };
	rb_intset(&b, v, 3, 2);
	rc_write_seed("fuzz_rdb_intset", "int16.is", b.p, b.len);
	cr_assert_eq(vl_is_validate(b.p, b.len, 0, &n, &d), 0);
	cr_assert_eq(n, 3);
	expect_err(vl_is_validate(b.p, b.len - 1, 0, NULL, &d), VL_EFORMAT, &d, "size");
	b.p[8] = 10; /* -3 -> 10: not ascending */
	b.p[9] = 0;
	expect_err(vl_is_validate(b.p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "order");
	b.p[0] = 3;
	expect_err(vl_is_validate(b.p, b.len, 0, NULL, &d), VL_EFORMAT, &d, "width");
	rb_free(&b);
}

/* --- reader-level bad input --------------------------------------- */

static int want_all(void *ud, const vl_rdb_key *k)
{
	(void)ud;
	(void)k;
	return VL_RDB_WANT;
}

static int parse_bytes(const rb *b, rc_dump *d, uint32_t flags, size_t max_value)
{
	static const vl_rdb_handlers h = { .key = want_all };
	memset(d, 0, sizeof *d);
	vl_rdb_mem m = { b->p, b->len, 0, 0 };
	vl_rdb_opts o = VL_RDB_OPTS_INIT;
	o.flags = flags;
	o.max_value = max_value;
	d->rc = vl_rdb_parse(vl_rdb_read_mem, &m, &o, &h, NULL, &d->res, &d->d);
	return d->rc;
}

Test(rdb_codecs, reader_errors)
{
	rb b = { 0 };
	rc_dump d;

	rb_header(&b, 10);
	rb_u8(&b, 8); /* type 8 was never used */
	rb_finish(&b, 10, 1);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EFORMAT, &d.d, "type 8");
	cr_assert_eq(d.d.offset, 9);
	b.len = 9;
	rb_u8(&b, 26); /* stream v4 in an RDB 10 file */
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EVERSION, &d.d, "type 26");
	memcpy(b.p + 5, "0013", 4);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EVERSION, &d.d, "v13 type 26");
	memcpy(b.p + 5, "0000", 4);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EVERSION, &d.d, "version 0");
	memcpy(b.p + 5, "00x0", 4);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EFORMAT, &d.d, "digits");

	/* a value beyond max_value: VL_ELIMIT, with no allocation of that size */
	b.len = 0;
	rb_header(&b, 10);
	rb_u8(&b, 0);
	rb_cstr(&b, "k");
	rb_len(&b, 3000000000ull);
	expect_err(parse_bytes(&b, &d, 0, 1 << 20), VL_ELIMIT, &d.d, "max_value");
	/* a lying length under the limit: truncated, not a 100 MB allocation */
	b.len -= 5;
	rb_len(&b, 100000000);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EFORMAT, &d.d, "lying length");

	/* LZF claiming more than LZF can expand to */
	b.len = 0;
	rb_header(&b, 10);
	rb_u8(&b, 0);
	rb_cstr(&b, "k");
	rb_u8(&b, 0xc3);
	rb_len(&b, 2);
	rb_len(&b, 100000);
	rb_raw(&b, "\x00x", 2);
	rb_finish(&b, 10, 1);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EFORMAT, &d.d, "lzf ratio");

	/* invalid length byte 0x82 */
	b.len = 0;
	rb_header(&b, 10);
	rb_u8(&b, 0xfe);
	rb_u8(&b, 0x82);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EFORMAT, &d.d, "length byte");
	/* before RDB 8 the same byte was a 32-bit length */
	memcpy(b.p + 5, "0007", 4);
	rb_raw(&b, "\0\0\0\1", 4);
	rb_finish(&b, 7, 1);
	cr_assert_eq(parse_bytes(&b, &d, 0, 0), 0, "%s", d.d.msg);

	/* 7.0-rc function format and pre-GA module values are refused */
	b.len = 0;
	rb_header(&b, 10);
	rb_u8(&b, 0xf6);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EUNSUPPORTED, &d.d, "0xF6");
	b.len = 9;
	rb_u8(&b, 6);
	expect_err(parse_bytes(&b, &d, 0, 0), VL_EUNSUPPORTED, &d.d, "type 6");

	/* version < 5: no trailer; RDB 13 KEY_META skipped; trailing bytes noted */
	b.len = 0;
	rb_header(&b, 4);
	rb_u8(&b, 0);
	rb_cstr(&b, "k");
	rb_cstr(&b, "v");
	rb_finish(&b, 4, 1);
	cr_assert_eq(parse_bytes(&b, &d, 0, 0), 0, "%s", d.d.msg);
	cr_assert_eq(d.res.checksum, VL_RDB_CRC_NONE);
	cr_assert_eq(d.res.keys, 1);
	b.len = 0;
	rb_header(&b, 13);
	rb_u8(&b, 0xf3);
	rb_len(&b, 1);
	rb_raw(&b, "\x01\x02\x03\x04", 4);
	rb_len(&b, 2), rb_len(&b, 5), rb_len(&b, 0);
	rb_u8(&b, 0);
	rb_cstr(&b, "k");
	rb_cstr(&b, "v");
	rb_finish(&b, 13, 1);
	rb_raw(&b, "junk", 4);
	cr_assert_eq(parse_bytes(&b, &d, 0, 0), 0, "%s", d.d.msg);
	cr_assert_eq(d.res.keys, 1);
	cr_assert_eq(d.res.trailing, 1);
	cr_assert_eq(d.res.checksum, VL_RDB_CRC_OK);
	rb_free(&b);
}

static int stop_at_second(void *ud, const vl_rdb_key *k)
{
	int *n = ud;
	(void)k;
	return ++*n == 2 ? VL_ECANCELED : VL_RDB_SKIP;
}

Test(rdb_codecs, consumer_stops_the_parse)
{
	rb b = { 0 };
	rb_header(&b, 10);
	for (int i = 0; i < 3; i++) {
		rb_u8(&b, 0);
		rb_cstr(&b, "k");
		rb_cstr(&b, "v");
	}
	rb_finish(&b, 10, 1);
	int n = 0;
	vl_rdb_handlers h = { .key = stop_at_second };
	vl_rdb_mem m = { b.p, b.len, 0, 0 };
	vl_diag d;
	cr_assert_eq(vl_rdb_parse(vl_rdb_read_mem, &m, NULL, &h, &n, NULL, &d), VL_ECANCELED);
	cr_assert_eq(n, 2);
	cr_assert(strstr(d.msg, "consumer"), "%s", d.msg);
	rb_free(&b);
}

/* --- detection ------------------------------------------------------ */

Test(rdb_codecs, vector_detection)
{
	uint8_t v32[64], v64[128], v16[32], vb16[32];
	vl_rdb_vecstat s32 = { 0 }, s64 = { 0 }, s16 = { 0 }, sb16 = { 0 }, stext = { 0 },
	               svar = { 0 };
	uint32_t x = 12345;
	for (int k = 0; k < 50; k++) {
		for (int i = 0; i < 16; i++) {
			x = x * 1103515245u + 12345u;
			const float f = (float)((int)(x >> 8) % 20000 - 10000) / 10007.0f;
			const double g = (double)f * 1.000123;
			memcpy(v32 + 4 * i, &f, 4);
			memcpy(v64 + 8 * i, &g, 8);
			uint32_t u;
			memcpy(&u, &f, 4);
			vb16[2 * i] = (uint8_t)(u >> 16);
			vb16[2 * i + 1] = (uint8_t)(u >> 24);
			/* float16 by hand for values in [-1, 1]: sign, exponent, 10 bits */
			const float a = fabsf(f);
			int e;
			const float m = frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1) */
			uint16_t h = 0;
			if (a >= 0x1p-14f)
				h = (uint16_t)(((e - 1 + 15) << 10) | ((uint16_t)((m * 2 - 1) * 1024) & 0x3ff));
			if (f < 0)
				h |= 0x8000;
			v16[2 * i] = (uint8_t)h;
			v16[2 * i + 1] = (uint8_t)(h >> 8);
		}
		vl_rdb_vecstat_add(&s32, v32, sizeof v32);
		vl_rdb_vecstat_add(&s64, v64, sizeof v64);
		vl_rdb_vecstat_add(&s16, v16, sizeof v16);
		vl_rdb_vecstat_add(&sb16, vb16, sizeof vb16);
		vl_rdb_vecstat_add(&stext, (const uint8_t *)"some text here!!", 16);
		vl_rdb_vecstat_add(&svar, v32, (size_t)(k % 2 ? 64 : 60));
	}
	vl_rdb_dtype t;
	uint32_t dim;
	cr_assert(vl_rdb_vecstat_guess(&s32, &t, &dim));
	cr_assert(t == VL_RDB_DT_F32 && dim == 16, "%s %u", vl_rdb_dtype_name(t), dim);
	cr_assert(vl_rdb_vecstat_guess(&s64, &t, &dim));
	cr_assert(t == VL_RDB_DT_F64 && dim == 16, "%s %u", vl_rdb_dtype_name(t), dim);
	cr_assert(vl_rdb_vecstat_guess(&s16, &t, &dim));
	cr_assert(t == VL_RDB_DT_F16 && dim == 16, "%s %u", vl_rdb_dtype_name(t), dim);
	cr_assert(vl_rdb_vecstat_guess(&sb16, &t, &dim));
	cr_assert(t == VL_RDB_DT_BF16 && dim == 16, "%s %u", vl_rdb_dtype_name(t), dim);
	cr_assert_not(vl_rdb_vecstat_guess(&stext, &t, &dim));
	cr_assert_not(vl_rdb_vecstat_guess(&svar, &t, &dim));
	/* float16 conversion agrees with the bytes we made */
	float out[16];
	cr_assert_eq(vl_rdb_dtype_to_f32(VL_RDB_DT_F16, v16, 16, out), 0);
	float f0;
	memcpy(&f0, v32, 4);
	cr_assert(fabsf(out[0] - f0) < 1e-3f, "%g vs %g", out[0], f0);

	vl_rdb_attrstat num = { 0 }, tag = { 0 }, text = { 0 };
	char buf[32];
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof buf, "%d.5", i);
		vl_rdb_attrstat_add(&num, (const uint8_t *)buf, strlen(buf));
		snprintf(buf, sizeof buf, "cat-%d", i % 4);
		vl_rdb_attrstat_add(&tag, (const uint8_t *)buf, strlen(buf));
		snprintf(buf, sizeof buf, "title number %d", i);
		vl_rdb_attrstat_add(&text, (const uint8_t *)buf, strlen(buf));
	}
	cr_assert_eq(vl_rdb_attr_guess(&num), VL_RDB_ATTR_NUMERIC);
	cr_assert_eq(vl_rdb_attr_guess(&tag), VL_RDB_ATTR_TAG);
	cr_assert_eq(vl_rdb_attr_guess(&text), VL_RDB_ATTR_TEXT);
	cr_assert_not(vl_rdb_is_number((const uint8_t *)"inf", 3, NULL));
	cr_assert_not(vl_rdb_is_number((const uint8_t *)" 1", 2, NULL));
	cr_assert_eq(vl_rdb_key_prefix_len((const uint8_t *)"a:b:c", 5), 4);
	cr_assert_eq(vl_rdb_key_prefix_len((const uint8_t *)"abc", 3), 0);
}

/* A NULL diag is allowed everywhere (errors still return their code). */
Test(rdb_codecs, null_diag)
{
	rb b = { 0 }, blob = { 0 };
	rb_header(&b, 10);
	const rb_item lp[] = { RB_S("f"), RB_S("v") };
	rb_listpack(&blob, lp, 2);
	blob.p[4] = 7; /* wrong count */
	rb_u8(&b, 16);
	rb_cstr(&b, "h");
	rb_str(&b, blob.p, blob.len);
	rb_finish(&b, 10, 1);
	static const vl_rdb_handlers h = { .key = want_all };
	vl_rdb_mem m = { b.p, b.len, 0, 0 };
	cr_assert_eq(vl_rdb_parse(vl_rdb_read_mem, &m, NULL, &h, NULL, NULL, NULL), VL_EFORMAT);
	m.pos = 0;
	cr_assert_eq(vl_rdb_parse(vl_rdb_read_mem, &m, NULL, NULL, NULL, NULL, NULL), 0);
	rb_free(&b);
	rb_free(&blob);
}

/* ---- the fast paths: CRC-64 folding and word-copy LZF ------------------------------------ */

static uint64_t cx_state = 12345;

static uint64_t cx_next(void)
{
	cx_state ^= cx_state << 13;
	cx_state ^= cx_state >> 7;
	cx_state ^= cx_state << 17;
	return cx_state;
}

Test(rdb_codecs, crc64_clmul_matches_reference)
{
	enum { BIG = 1 << 20 };
	uint8_t *buf = malloc(BIG + 64);
	for (size_t i = 0; i < BIG + 64; i++)
		buf[i] = (uint8_t)cx_next();
	cr_assert_eq(vl_crc64_table(0, "123456789", 9), 0xe9c6d914c4b8d9caull);
	cr_assert_eq(vl_crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caull);
	if (!vl_crc64_clmul_available())
		cr_skip_test("no PCLMULQDQ on this CPU (the table path is what runs)");
	cr_assert_eq(vl_crc64_clmul(0, "123456789", 9), 0xe9c6d914c4b8d9caull);
	/* every length up to 600 (the fold loop, the 16-byte tail, the byte
	 * tail), every alignment, running CRCs */
	for (size_t len = 0; len <= 600; len++) {
		const size_t at = len % 16;
		const uint64_t init = cx_next();
		const uint64_t want = vl_crc64_bitwise(init, buf + at, len);
		cr_assert_eq(vl_crc64_clmul(init, buf + at, len), want, "len %zu", len);
		cr_assert_eq(vl_crc64_table(init, buf + at, len), want, "table len %zu", len);
	}
	/* large buffers, split anywhere */
	const uint64_t whole = vl_crc64_table(0, buf, BIG);
	cr_assert_eq(vl_crc64_clmul(0, buf, BIG), whole);
	for (int k = 0; k < 20; k++) {
		size_t cut = (size_t)(cx_next() % BIG);
		cr_assert_eq(vl_crc64_clmul(vl_crc64_clmul(0, buf, cut), buf + cut, BIG - cut), whole, "cut %zu", cut);
	}
	free(buf);
}

static void lzf_both(const uint8_t *in, size_t n, const char *what)
{
	uint8_t *z = malloc(n + n / 32 + 16);
	const size_t zl = tu_lzf_compress(in, n, z);
	uint8_t *ref = malloc(n + 1), *fast = malloc(n + VL_LZF_SLACK);
	vl_diag d1, d2;
	cr_assert_eq(vl_lzf_decompress(z, zl, ref, n, 0, &d1), 0, "%s: %s", what, d1.msg);
	cr_assert(n == 0 || memcmp(ref, in, n) == 0, "%s: round trip", what);
	cr_assert_eq(vl_lzf_decompress_fast(z, zl, fast, n, 0, &d2), 0, "%s: %s", what, d2.msg);
	cr_assert(n == 0 || memcmp(fast, in, n) == 0, "%s: fast round trip", what);
	/* damaged streams: both decoders agree on code, offset and message */
	for (int k = 0; k < 200 && zl; k++) {
		uint8_t *bad = malloc(zl);
		memcpy(bad, z, zl);
		bad[cx_next() % zl] ^= (uint8_t)(1u << (cx_next() % 8));
		size_t cut = k % 4 == 0 ? (size_t)(cx_next() % zl) : zl;
		size_t outn = k % 5 == 0 ? n + 1 - (size_t)(cx_next() % 3) : n;
		uint8_t *o1 = malloc(outn + 1), *o2 = malloc(outn + VL_LZF_SLACK);
		int r1 = vl_lzf_decompress(bad, cut, o1, outn, 1000, &d1);
		int r2 = vl_lzf_decompress_fast(bad, cut, o2, outn, 1000, &d2);
		cr_assert_eq(r1, r2, "%s: damaged #%d", what, k);
		if (r1)
			cr_assert_str_eq(d1.msg, d2.msg, "%s: damaged #%d", what, k);
		else
			cr_assert(outn == 0 || memcmp(o1, o2, outn) == 0, "%s: damaged #%d output", what, k);
		free(o1);
		free(o2);
		free(bad);
	}
	free(z);
	free(ref);
	free(fast);
}

Test(rdb_codecs, lzf_fast_matches_reference)
{
	enum { N = 200000 };
	uint8_t *b = malloc(N);
	/* text-like: words from a small vocabulary (short and long matches) */
	static const char *const words[] = { "vector ", "store ", "the ", "a ", "embedding ", "redis " };
	size_t n = 0;
	while (n < N) {
		const char *w = words[cx_next() % 6];
		size_t l = strlen(w);
		if (l > N - n)
			l = N - n;
		memcpy(b + n, w, l);
		n += l;
	}
	lzf_both(b, N, "text");
	/* runs (overlapping references of distance 1..15) and random bytes */
	for (size_t i = 0; i < N;) {
		size_t period = 1 + cx_next() % 15, len = cx_next() % 600;
		for (size_t j = 0; j < len && i < N; j++, i++)
			b[i] = j < period ? (uint8_t)cx_next() : b[i - period];
		for (size_t j = 0; j < cx_next() % 40 && i < N; j++, i++)
			b[i] = (uint8_t)cx_next();
	}
	lzf_both(b, N, "runs");
	for (size_t i = 0; i < N; i++)
		b[i] = (uint8_t)cx_next();
	lzf_both(b, 5000, "random");
	for (size_t len = 0; len < 80; len++)
		lzf_both(b + 7, len, "short");
	memset(b, 0, N);
	lzf_both(b, N, "zeros");
	free(b);
}

/* What real dumps hold besides clean vectors: a few wrong-length and NaN
 * vectors (skipped later, they must not hide the field), and float32
 * vectors of small integers (pixels) whose low halves are zero, which also
 * read as plausible bfloat16s of twice the dim. */
Test(rdb_codecs, vector_detection_tolerates_real_data)
{
	enum { DIM = 32, N = 300 };
	float v[DIM];
	vl_rdb_vecstat mixed = { 0 }, pixels = { 0 }, nans = { 0 }, halfbad = { 0 };
	for (int k = 0; k < N; k++) {
		for (int i = 0; i < DIM; i++)
			v[i] = (float)((int)(cx_next() % 2001) - 1000) / 997.0f;
		/* 3% one float short, 2% with a NaN */
		vl_rdb_vecstat_add(&mixed, (const uint8_t *)v, k % 33 == 0 ? sizeof v - 4 : sizeof v);
		if (k % 50 == 0)
			v[5] = NAN;
		vl_rdb_vecstat_add(&nans, (const uint8_t *)v, sizeof v);
		vl_rdb_vecstat_add(&halfbad, (const uint8_t *)v, k % 2 ? sizeof v : sizeof v - 8);
		for (int i = 0; i < DIM; i++)
			v[i] = (float)(cx_next() % 256);
		vl_rdb_vecstat_add(&pixels, (const uint8_t *)v, sizeof v);
	}
	vl_rdb_dtype t;
	uint32_t dim;
	uint64_t cnt;
	cr_assert(vl_rdb_vecstat_guess(&mixed, &t, &dim));
	cr_assert(t == VL_RDB_DT_F32 && dim == DIM, "%s %u", vl_rdb_dtype_name(t), dim);
	cr_assert_eq(vl_rdb_vecstat_modal_len(&mixed, &cnt), sizeof v);
	cr_assert_eq(cnt, N - (N + 32) / 33);
	cr_assert(vl_rdb_vecstat_guess(&nans, &t, &dim));
	cr_assert(t == VL_RDB_DT_F32 && dim == DIM, "%s %u", vl_rdb_dtype_name(t), dim);
	cr_assert(vl_rdb_vecstat_guess(&pixels, &t, &dim));
	cr_assert(t == VL_RDB_DT_F32 && dim == DIM, "pixels: %s %u", vl_rdb_dtype_name(t), dim);
	cr_assert_not(vl_rdb_vecstat_guess(&halfbad, &t, &dim), "no length holds 90%% of the values");
}

/* float32 blobs: a bit-exact copy, and every non-finite component counted
 * wherever it sits (the vector block and the tail). */
Test(rdb_codecs, dtype_to_f32_counts_nonfinite)
{
	for (size_t dim = 1; dim <= 37; dim++) {
		float v[37], out[37];
		for (size_t i = 0; i < dim; i++)
			v[i] = (float)i * 0.5f - 3.0f;
		cr_assert_eq(vl_rdb_dtype_to_f32(VL_RDB_DT_F32, (const uint8_t *)v, dim, out), 0);
		cr_assert(memcmp(v, out, dim * 4) == 0);
		for (size_t at = 0; at < dim; at++) {
			float w[37];
			memcpy(w, v, sizeof w);
			w[at] = at % 3 == 0 ? NAN : at % 3 == 1 ? INFINITY : -INFINITY;
			w[dim - 1] = dim - 1 == at ? w[at] : -NAN;
			const size_t want = dim - 1 == at ? 1 : 2;
			cr_assert_eq(vl_rdb_dtype_to_f32(VL_RDB_DT_F32, (const uint8_t *)w, dim, out), want,
			             "dim %zu at %zu", dim, at);
			cr_assert(memcmp(w, out, dim * 4) == 0, "bit-exact copy");
		}
	}
	/* the largest finite and the smallest subnormal are finite */
	const float edge[2] = { 3.4028235e38f, 1e-45f };
	float o2[2];
	cr_assert_eq(vl_rdb_dtype_to_f32(VL_RDB_DT_F32, (const uint8_t *)edge, 2, o2), 0);
	/* float64 beyond float32's range becomes inf: counted */
	const double big[2] = { 1e39, 1.0 };
	cr_assert_eq(vl_rdb_dtype_to_f32(VL_RDB_DT_F64, (const uint8_t *)big, 2, o2), 1);
}
