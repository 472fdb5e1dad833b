/* test_textenc.c - base64, UTF-8 validation, shortest float formatting, sink. */
#include <criterion/criterion.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textenc.h"
#include "util/vftest.h"

TestSuite(textenc, .fini = vft_cleanup);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so failures reproduce */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* ---- base64 ------------------------------------------------------------ */

Test(textenc, b64_rfc4648_vectors)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
	                                   "Zm9vYmFy" };
	for (int i = 0; i < 7; i++) {
		char enc[16];
		size_t n = vl_b64_encode(in[i], strlen(in[i]), enc);
		cr_assert_eq(n, strlen(out[i]));
		cr_assert(memcmp(enc, out[i], n) == 0, "encode %s", in[i]);
		uint8_t dec[16];
		size_t dn;
		cr_assert_eq(vl_b64_decode(out[i], n, dec, &dn, 0, NULL), VL_OK);
		cr_assert_eq(dn, strlen(in[i]));
		cr_assert(memcmp(dec, in[i], dn) == 0);
	}
}

Test(textenc, b64_matches_python)
{
	if (!vft_have_python())
		cr_skip_test("/usr/bin/python3 with numpy is not available");
	/* Python's base64 module is the independent encoder. */
	cr_assert_eq(vft_python(
		"import sys, base64, random\n"
		"d = sys.argv[1]; random.seed(7)\n"
		"with open(d + '/b64.txt', 'w') as f:\n"
		"    for n in range(200):\n"
		"        b = bytes(random.randrange(256) for _ in range(n))\n"
		"        f.write(b.hex() + ' ' + base64.b64encode(b).decode() + '\\n')\n"), 0);
	FILE *f = fopen(vft_path("b64.txt"), "r");
	cr_assert(f);
	char hex[512], b64[512];
	int lines = 0;
	while (fscanf(f, "%511s %511s", hex, b64) == 2) {
		size_t n = strlen(hex) / 2;
		uint8_t raw[256];
		for (size_t i = 0; i < n; i++)
			sscanf(hex + 2 * i, "%2hhx", &raw[i]);
		char enc[512];
		size_t en = vl_b64_encode(raw, n, enc);
		cr_assert_eq(en, strlen(b64));
		cr_assert(memcmp(enc, b64, en) == 0, "line %d", lines);
		uint8_t dec[256];
		size_t dn;
		cr_assert_eq(vl_b64_decode(b64, en, dec, &dn, 0, NULL), VL_OK);
		cr_assert_eq(dn, n);
		cr_assert(memcmp(dec, raw, n) == 0);
		lines++;
	}
	fclose(f);
	/* n = 0 gives an empty line that fscanf skips: 199 pairs remain */
	cr_assert_eq(lines, 199);
}

static void b64_bad(const char *s, uint64_t want_off, const char *want_msg)
{
	uint8_t dec[64];
	size_t dn;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_b64_decode(s, strlen(s), dec, &dn, 100, &d);
	cr_assert_eq(rc, VL_EFORMAT, "'%s' accepted", s);
	cr_assert_eq(d.offset, 100 + want_off, "'%s': offset %llu", s, (unsigned long long)d.offset);
	cr_assert(strstr(d.msg, want_msg), "'%s': %s", s, d.msg);
}

Test(textenc, b64_rejects_bad_input)
{
	b64_bad("Zg=", 3, "multiple of 4");
	b64_bad("Zm9v!A==", 4, "invalid character '!'");
	b64_bad("Zg==Zg==", 2, "padding before the end");
	b64_bad("Z===", 1, "padding before the end");
	b64_bad("Zh==", 1, "non-zero bits");
	b64_bad("Zm9=", 2, "non-zero bits");
	b64_bad("Zm 9", 2, "invalid");
	b64_bad("Zm\x80v", 2, "invalid byte 0x80");
}

Test(textenc, b64_random_round_trip)
{
	uint8_t raw[300], dec[300];
	char enc[400];
	for (int t = 0; t < 2000; t++) {
		size_t n = rnd() % 300;
		for (size_t i = 0; i < n; i++)
			raw[i] = (uint8_t)rnd();
		size_t en = vl_b64_encode(raw, n, enc);
		cr_assert_eq(en, vl_b64_encoded_len(n));
		size_t dn;
		cr_assert_eq(vl_b64_decode(enc, en, dec, &dn, 0, NULL), VL_OK);
		cr_assert(dn == n && memcmp(raw, dec, n) == 0);
	}
}

/* ---- UTF-8 -------------------------------------------------------------- */

static void utf8_case(const char *s, size_t n, int valid, size_t bad)
{
	size_t off = 999;
	cr_assert_eq(vl_utf8_valid(s, n, &off), valid, "case %zu bytes", n);
	if (!valid)
		cr_assert_eq(off, bad);
}

Test(textenc, utf8_edge_cases)
{
	utf8_case("", 0, 1, 0);
	utf8_case("plain ascii text, long enough for the fast path", 47, 1, 0);
	utf8_case("\xc3\xa9t\xc3\xa9", 5, 1, 0);                /* été */
	utf8_case("\xe2\x82\xac", 3, 1, 0);                     /* € */
	utf8_case("\xf0\x9f\x98\x80", 4, 1, 0);                 /* U+1F600 */
	utf8_case("\xf4\x8f\xbf\xbf", 4, 1, 0);                 /* U+10FFFF */
	utf8_case("\xed\x9f\xbf", 3, 1, 0);                     /* U+D7FF */
	utf8_case("\xee\x80\x80", 3, 1, 0);                     /* U+E000 */
	utf8_case("ab\xc0\x80", 4, 0, 2);                       /* overlong NUL */
	utf8_case("\xc1\xbf", 2, 0, 0);                         /* overlong */
	utf8_case("x\xe0\x80\x80", 4, 0, 1);                    /* overlong 3-byte */
	utf8_case("\xe0\x9f\xbf", 3, 0, 0);                     /* overlong U+07FF */
	utf8_case("\xf0\x80\x80\x80", 4, 0, 0);                 /* overlong 4-byte */
	utf8_case("\xf0\x8f\xbf\xbf", 4, 0, 0);                 /* overlong U+FFFF */
	utf8_case("\xed\xa0\x80", 3, 0, 0);                     /* U+D800 surrogate */
	utf8_case("\xed\xbf\xbf", 3, 0, 0);                     /* U+DFFF surrogate */
	utf8_case("\xf4\x90\x80\x80", 4, 0, 0);                 /* U+110000 */
	utf8_case("\xf5\x80\x80\x80", 4, 0, 0);
	utf8_case("\xff", 1, 0, 0);
	utf8_case("abc\x80", 4, 0, 3);                          /* stray continuation */
	utf8_case("abcdefghij\xe2\x82", 12, 0, 10);             /* truncated */
	utf8_case("\xe2\x28\xa1", 3, 0, 0);                     /* bad continuation */
}

Test(textenc, utf8_matches_python)
{
	if (!vft_have_python())
		cr_skip_test("/usr/bin/python3 with numpy is not available");
	/* Python's strict UTF-8 codec decides validity of random byte strings
	 * biased towards lead/continuation bytes. */
	cr_assert_eq(vft_python(
		"import sys, random\n"
		"d = sys.argv[1]; random.seed(11)\n"
		"pool = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,\n"
		"        0xe0, 0xed, 0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xff]\n"
		"def cp():\n"
		"    c = random.choice([0x7f, 0x7ff, 0xffff, 0x10ffff])\n"
		"    c = random.randrange(c + 1)\n"
		"    return chr(c) if not 0xd800 <= c <= 0xdfff else 'x'\n"
		"with open(d + '/utf8.txt', 'w') as f:\n"
		"    for i in range(20000):\n"
		"        if i % 3 == 2:\n"
		"            b = bytes(random.choice(pool) for _ in range(random.randrange(1, 9)))\n"
		"        else:\n"
		"            b = bytearray(''.join(cp() for _ in range(random.randrange(1, 4))).encode())\n"
		"            if i % 3 == 1:\n"
		"                b[random.randrange(len(b))] = random.choice(pool)\n"
		"            b = bytes(b)\n"
		"        try:\n"
		"            b.decode('utf-8'); ok = 1; bad = 0\n"
		"        except UnicodeDecodeError as e:\n"
		"            ok = 0; bad = e.start\n"
		"        f.write('%s %d %d\\n' % (b.hex(), ok, bad))\n"), 0);
	FILE *f = fopen(vft_path("utf8.txt"), "r");
	cr_assert(f);
	char hex[64];
	int ok, bad, n = 0, nvalid = 0;
	while (fscanf(f, "%63s %d %d", hex, &ok, &bad) == 3) {
		uint8_t b[32];
		size_t len = strlen(hex) / 2;
		for (size_t i = 0; i < len; i++)
			sscanf(hex + 2 * i, "%2hhx", &b[i]);
		size_t off = 0;
		int v = vl_utf8_valid(b, len, &off);
		cr_assert_eq(v, ok, "%s", hex);
		if (!v)
			cr_assert_eq(off, (size_t)bad, "%s", hex);
		n++;
		nvalid += v;
	}
	fclose(f);
	cr_assert_eq(n, 20000);
	cr_assert(nvalid > 4000 && nvalid < 16000, "the sample should mix valid and invalid");
}

/* ---- shortest float formatting ---------------------------------------------- */

static float f_from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static uint32_t bits_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* The JSON number grammar, checked independently of json.c. */
static int json_number_shape(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == 0;
}

static void check_f32(float x)
{
	char buf[VL_FMT_F32_MAX], ref[64];
	int n = vl_fmt_f32(x, buf);
	cr_assert_eq((size_t)n, strlen(buf));
	float back = strtof(buf, NULL);
	cr_assert_eq(bits_of(back), bits_of(x), "%08x -> '%s' -> %08x", bits_of(x), buf,
	             bits_of(back));
	int rn = snprintf(ref, sizeof ref, "%.9g", x);
	if (x == 0 && signbit(x))
		rn = 4; /* "-0.0" on purpose: see vl_fmt_f32 */
	cr_assert(n <= rn, "'%s' is longer than %%.9g '%s'", buf, ref);
	cr_assert(json_number_shape(buf), "'%s' is not a JSON number", buf);
}

Test(textenc, f32_edge_cases)
{
	static const char *const want[][2] = {
		{ "0", "0" }, { "-0", "-0.0" }, { "1e-45", "1e-45" }, { "-1e-45", "-1e-45" },
		{ "3.4028235e38", "3.4028235e38" }, { "1.1754944e-38", "1.1754944e-38" },
		{ "0.1", "0.1" }, { "100", "100" }, { "1e8", "1e8" }, { "123456790", "123456790" },
		{ "2.5", "2.5" }, { "1e-5", "1e-5" }, { "16777216", "16777216" },
		{ "0.001", "1e-3" }, { "0.0125", "0.0125" }, { "-7.5e-10", "-7.5e-10" },
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		char buf[VL_FMT_F32_MAX];
		vl_fmt_f32(strtof(want[i][0], NULL), buf);
		cr_assert_str_eq(buf, want[i][1]);
	}
	float edges[] = { 0.0f, -0.0f, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN, FLT_TRUE_MIN,
	                  f_from_bits(0x007fffff), f_from_bits(0x00000002), f_from_bits(0x00800001),
	                  1.0f, nextafterf(1.0f, 2.0f), nextafterf(1.0f, 0.0f), FLT_EPSILON,
	                  8388608.0f, 16777215.0f, 1e10f, 1e-10f, 0.3f, 1.0f / 3.0f };
	for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
		check_f32(edges[i]);
	/* every power of two: the asymmetric rounding interval */
	for (int e = -149; e <= 127; e++)
		check_f32(ldexpf(1.0f, e));
	char buf[VL_FMT_F32_MAX];
	vl_fmt_f32(f_from_bits(0x7f800000), buf);
	cr_assert_str_eq(buf, "inf");
	vl_fmt_f32(f_from_bits(0xff800000), buf);
	cr_assert_str_eq(buf, "-inf");
	vl_fmt_f32(f_from_bits(0x7fc00000), buf);
	cr_assert_str_eq(buf, "nan");
}

Test(textenc, f32_million_random_patterns)
{
	long checked = 0;
	while (checked < 1000000) {
		uint32_t u = (uint32_t)rnd();
		if (checked % 4 == 1)
			u &= 0x807fffff;   /* subnormals */
		if (((u >> 23) & 0xff) == 0xff)
			continue;
		check_f32(f_from_bits(u));
		checked++;
	}
}

Test(textenc, f32_fast_path_matches_bignum_reference)
{
	/* Every exponent (the fast path's k choice and 128-bit ranges depend on
	 * it), with edge and random mantissas, both signs. */
	static const uint32_t edge[] = { 0, 1, 2, 3, 0x7fffff, 0x7ffffe, 0x400000, 0x3fffff };
	char fast[VL_FMT_F32_MAX], ref[VL_FMT_F32_MAX];
	for (uint32_t be = 0; be < 255; be++)
		for (int i = 0; i < 200; i++) {
			uint32_t m = i < 8 ? edge[i] : (uint32_t)rnd() & 0x7fffff;
			uint32_t u = (uint32_t)(i & 1) << 31 | be << 23 | m;
			vl_fmt_f32(f_from_bits(u), fast);
			vl_fmt_f32_ref(f_from_bits(u), ref);
			cr_assert_str_eq(fast, ref, "%08x", u);
		}
}

/* Split decimal text into significant digits (no leading/trailing zeros)
 * and the exponent of the first digit: "0.00120" -> "12", -3. */
static void sig_digits(const char *s, char *dg, int *exp10)
{
	int n = 0, point = -1, e = 0, lead = 1, pos = 0, first = 0;
	for (; *s && *s != 'e' && *s != 'E'; s++) {
		if (*s == '-')
			continue;
		if (*s == '.') {
			point = pos;
			continue;
		}
		if (lead && *s == '0') {
			pos++;
			continue;
		}
		if (lead)
			first = pos;
		lead = 0;
		dg[n++] = *s;
		pos++;
	}
	if (*s)
		e = atoi(s + 1);
	if (point < 0)
		point = pos;
	while (n > 1 && dg[n - 1] == '0')
		n--;
	dg[n] = 0;
	*exp10 = n ? point - first - 1 + e : 0;
}

Test(textenc, f32_digits_match_numpy)
{
	if (!vft_have_python())
		cr_skip_test("/usr/bin/python3 with numpy is not available");
	/* numpy's Dragon4 in unique mode is an independent shortest-digits
	 * implementation: the digit strings must be identical. */
	cr_assert_eq(vft_python(
		"import sys, numpy as np\n"
		"d = sys.argv[1]\n"
		"r = np.random.default_rng(5)\n"
		"u = r.integers(0, 2**32, 60000, dtype=np.uint64).astype(np.uint32)\n"
		"u[::3] &= 0x807fffff\n"
		"u = u[((u >> 23) & 0xff) != 0xff]\n"
		"u = u[(u & 0x7fffffff) != 0]\n"
		"f = u.view(np.float32)\n"
		"with open(d + '/digits.txt', 'w') as o:\n"
		"    for b, x in zip(u, f):\n"
		"        o.write('%08x %s\\n' % (b, np.format_float_scientific(x, unique=True, trim='-')))\n"),
		0);
	FILE *f = fopen(vft_path("digits.txt"), "r");
	cr_assert(f);
	unsigned u;
	char ref[64];
	int n = 0;
	while (fscanf(f, "%x %63s", &u, ref) == 2) {
		char buf[VL_FMT_F32_MAX], d1[32], d2[32];
		int e1, e2;
		vl_fmt_f32(f_from_bits(u), buf);
		sig_digits(buf, d1, &e1);
		sig_digits(ref, d2, &e2);
		cr_assert(strcmp(d1, d2) == 0 && e1 == e2, "%08x: ours '%s' numpy '%s'", u, buf, ref);
		n++;
	}
	fclose(f);
	cr_assert(n > 50000);
}

Test(textenc, f64_round_trip_and_python_repr)
{
	char buf[VL_FMT_F64_MAX];
	for (int i = 0; i < 100000; i++) {
		uint64_t u = rnd();
		double x;
		memcpy(&x, &u, 8);
		if (!isfinite(x))
			continue;
		vl_fmt_f64(x, buf);
		double back = strtod(buf, NULL);
		cr_assert(memcmp(&back, &x, 8) == 0, "'%s'", buf);
		cr_assert(json_number_shape(buf), "'%s'", buf);
	}
	double edges[] = { 0.1, 5e-324, DBL_MAX, DBL_MIN, 1e21, 1e22, 123.456, -0.0, 1994 };
	const char *want[] = { "0.1", "5e-324", "1.7976931348623157e308", "2.2250738585072014e-308",
	                       "1e21", "1e22", "123.456", "-0.0", "1994" };
	for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
		vl_fmt_f64(edges[i], buf);
		cr_assert_str_eq(buf, want[i]);
	}
	if (!vft_have_python())
		return;
	/* Python's repr is shortest round-trip for doubles: same digits. */
	cr_assert_eq(vft_python(
		"import sys, random, struct\n"
		"d = sys.argv[1]; random.seed(3)\n"
		"with open(d + '/repr.txt', 'w') as o:\n"
		"    n = 0\n"
		"    while n < 20000:\n"
		"        b = random.getrandbits(64)\n"
		"        x = struct.unpack('<d', struct.pack('<Q', b))[0]\n"
		"        if x != x or x in (float('inf'), float('-inf')) or x == 0: continue\n"
		"        o.write('%016x %s\\n' % (b, repr(x))); n += 1\n"), 0);
	FILE *f = fopen(vft_path("repr.txt"), "r");
	cr_assert(f);
	unsigned long long u;
	char ref[64];
	int n = 0;
	while (fscanf(f, "%llx %63s", &u, ref) == 2) {
		double x;
		uint64_t b = u;
		memcpy(&x, &b, 8);
		char d1[32], d2[32];
		int e1, e2;
		vl_fmt_f64(x, buf);
		sig_digits(buf, d1, &e1);
		sig_digits(ref, d2, &e2);
		cr_assert(strcmp(d1, d2) == 0 && e1 == e2, "ours '%s' python '%s'", buf, ref);
		n++;
	}
	fclose(f);
	cr_assert_eq(n, 20000);
}

Test(textenc, strtof_ignores_locale_decimal_comma)
{
	static const char *const locs[] = { "de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR" };
	const char *set = NULL;
	for (size_t i = 0; i < 4 && !set; i++)
		set = setlocale(LC_NUMERIC, locs[i]);
	if (!set)
		cr_skip_test("no decimal-comma locale is installed");
	cr_assert_neq(strtof("2.5", NULL), 2.5f, "the locale should use a decimal comma");
	/* The C locale object is used whatever the process locale is. */
	cr_assert_eq(vl_strtof_c("2.5", NULL), 2.5f);
	cr_assert_eq(vl_strtod_c("-0.125e1", NULL), -1.25);
}

/* ---- sink ---------------------------------------------------------------- */

Test(textenc, sink_memory_and_file)
{
	vl_sink s;
	vl_sink_init_mem(&s);
	for (int i = 0; i < 10000; i++)
		cr_assert_eq(vl_sink_puts(&s, "0123456789"), VL_OK);
	cr_assert_eq(s.len, 100000u);
	cr_assert(memcmp(s.buf + 99990, "0123456789", 10) == 0);
	vl_sink_reset(&s);
	cr_assert_eq(vl_sink_b64(&s, "foobar", 6), VL_OK);
	cr_assert(s.len == 8 && memcmp(s.buf, "Zm9vYmFy", 8) == 0);
	vl_sink_free(&s);

	/* a long base64 run crosses the encoder's 768-byte pieces */
	uint8_t raw[5000];
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (uint8_t)(i * 7);
	vl_sink_init_mem(&s);
	vl_sink_b64(&s, raw, sizeof raw);
	uint8_t back[5000];
	size_t bn;
	cr_assert_eq(vl_b64_decode(s.buf, s.len, back, &bn, 0, NULL), VL_OK);
	cr_assert(bn == sizeof raw && memcmp(back, raw, bn) == 0);
	vl_sink_free(&s);

	FILE *fp = fopen(vft_path("sink.txt"), "w");
	cr_assert(fp);
	vl_sink_init_file(&s, fp);
	vl_sink_puts(&s, "hello ");
	vl_sink_write(&s, "world", 5);
	cr_assert_eq(s.err, 0);
	fclose(fp);
	size_t n;
	char *txt = vft_read_file(vft_path("sink.txt"), &n);
	cr_assert_str_eq(txt, "hello world");
	free(txt);

	/* write errors are sticky */
	fp = fopen("/dev/full", "w");
	if (fp) {
		setvbuf(fp, NULL, _IONBF, 0);
		vl_sink_init_file(&s, fp);
		cr_assert_eq(vl_sink_puts(&s, "x"), VL_EIO);
		cr_assert_eq(vl_sink_puts(&s, "y"), VL_EIO);
		fclose(fp);
	}
}
