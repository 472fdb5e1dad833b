/* test_json.c - the strict JSON DOM parser and writer. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util/vftest.h"

TestSuite(json, .fini = vft_cleanup);

static vl_json_doc *doc;

static const vl_json *parse_ok(const char *text)
{
	if (!doc)
		doc = vl_json_doc_new();
	cr_assert(doc);
	const vl_json *root;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_json_parse(doc, text, strlen(text), 0, 1, &root, &d);
	cr_assert_eq(rc, VL_OK, "'%s': %s", text, d.msg);
	return root;
}

/* Parse text expecting `code`; the message must contain every needle. */
static void parse_bad(const char *text, size_t len, int code, uint64_t off, const char *n1,
                      const char *n2)
{
	if (!doc)
		doc = vl_json_doc_new();
	const vl_json *root;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_json_parse(doc, text, len, 0, 1, &root, &d);
	cr_assert_eq(rc, code, "'%.*s' gave %d: %s", (int)len, text, rc, d.msg);
	cr_assert_null(root);
	cr_assert_eq(d.offset, off, "'%.*s': offset %llu: %s", (int)len, text,
	             (unsigned long long)d.offset, d.msg);
	cr_assert(strstr(d.msg, n1), "'%s' lacks '%s'", d.msg, n1);
	if (n2)
		cr_assert(strstr(d.msg, n2), "'%s' lacks '%s'", d.msg, n2);
}
#define BAD(text, code, off, n1, n2) parse_bad(text, sizeof(text) - 1, code, off, n1, n2)

Test(json, values_types_and_offsets)
{
	const vl_json *r = parse_ok(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}, \"c\": []} ");
	cr_assert_eq(r->type, VL_JSON_OBJECT);
	cr_assert_eq(r->n, 3);
	cr_assert_eq(r->offset, 1);
	const vl_json *a = vl_json_get(r, "a");
	cr_assert(a && a->type == VL_JSON_ARRAY && a->n == 6);
	cr_assert_eq(a->offset, 7);
	cr_assert_eq(a->u.items[0].type, VL_JSON_NUMBER);
	cr_assert_str_eq(a->u.items[0].u.str, "1");
	cr_assert_str_eq(a->u.items[1].u.str, "-2.5e3");
	cr_assert_eq(a->u.items[1].n, 6);
	cr_assert_eq(a->u.items[1].offset, 11);
	cr_assert_eq(a->u.items[2].type, VL_JSON_TRUE);
	cr_assert_eq(a->u.items[3].type, VL_JSON_FALSE);
	cr_assert_eq(a->u.items[4].type, VL_JSON_NULL);
	cr_assert_eq(a->u.items[5].type, VL_JSON_STRING);
	cr_assert_str_eq(a->u.items[5].u.str, "x");
	double v;
	cr_assert_eq(vl_json_f64(&a->u.items[1], &v), VL_OK);
	cr_assert_eq(v, -2500.0);
	cr_assert(vl_json_is_integer(&a->u.items[0]));
	cr_assert(!vl_json_is_integer(&a->u.items[1]));
	cr_assert_eq(vl_json_get(r, "b")->type, VL_JSON_OBJECT);
	cr_assert_eq(vl_json_get(r, "b")->n, 0);
	cr_assert_eq(vl_json_get(r, "c")->n, 0);
	cr_assert_null(vl_json_get(r, "d"));
	cr_assert_null(vl_json_get(a, "a"));
	/* scalars at the top level (RFC 8259) */
	cr_assert_eq(parse_ok("42")->type, VL_JSON_NUMBER);
	cr_assert_eq(parse_ok("\"s\"")->n, 1);
	cr_assert_eq(parse_ok("null")->type, VL_JSON_NULL);
}

Test(json, duplicate_keys_first_wins)
{
	const vl_json *r = parse_ok("{\"k\": 1, \"k\": 2}");
	cr_assert_eq(r->n, 2);
	cr_assert_str_eq(vl_json_get(r, "k")->u.str, "1");
}

Test(json, string_escapes_and_surrogates)
{
	const vl_json *r = parse_ok("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\", "
	                            "\"\\ud83d\\ude00\", \"x\\u0000y\", \"\xc3\xa9\xf0\x9f\x98\x80\"]");
	cr_assert_str_eq(r->u.items[0].u.str, "a\"b\\c/d\b\f\n\r\t");
	cr_assert_str_eq(r->u.items[1].u.str, "\xc3\xa9\xe2\x82\xac");
	cr_assert_str_eq(r->u.items[2].u.str, "\xf0\x9f\x98\x80");
	cr_assert_eq(r->u.items[3].n, 3);
	cr_assert(memcmp(r->u.items[3].u.str, "x\0y", 3) == 0);
	cr_assert_str_eq(r->u.items[4].u.str, "\xc3\xa9\xf0\x9f\x98\x80");
}

Test(json, float32_from_source_text)
{
	/* 1 + 2^-24 + 1e-31: just above the midpoint between 1 and the next
	 * float. Through double it lands exactly on the midpoint and then rounds
	 * to even (1.0); strtof on the text gives the correct 1 + 2^-23. */
	const vl_json *r = parse_ok("[1.0000000596046447753906250000001, 1e39, -1e39, 1e-50, 0.1]");
	float f;
	cr_assert_eq(vl_json_f32(&r->u.items[0], &f), VL_OK);
	cr_assert_eq(f, nextafterf(1.0f, 2.0f));
	cr_assert_eq((float)strtod(r->u.items[0].u.str, NULL), 1.0f, "double rounding check");
	cr_assert_eq(vl_json_f32(&r->u.items[1], &f), VL_ENAN);
	cr_assert(isinf(f) && f > 0);
	cr_assert_eq(vl_json_f32(&r->u.items[2], &f), VL_ENAN);
	cr_assert_eq(vl_json_f32(&r->u.items[3], &f), VL_OK);
	cr_assert_eq(f, 0.0f);
	cr_assert_eq(vl_json_f32(&r->u.items[4], &f), VL_OK);
	cr_assert_eq(f, 0.1f);
	cr_assert_eq(vl_json_f32(r, &f), VL_EINVAL);
}

static uint64_t rng = 0x853c49e6748fea9bull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

Test(json, number_values_equal_strtof_bit_for_bit)
{
	/* vl_json_f32/f64 take an exact fast path for short decimals: they
	 * must agree with strtof/strtod everywhere, ties and near-ties included. */
	static const char *const fixed[] = {
		"16777217", "16777219", "-16777217", "33554434", "33554435", "1677721.7",
		"0.000000059604644775390625", "1.000000059604644775390625", "3.4028235e38",
		"3.4028236e38", "3.40282357e38", "1e-38", "1.1754943e-38", "1e-45", "7e-46", "0",
		"-0", "0e22", "9007199254740993", "9007199254740992", "123456789012345678901234",
		"1e22", "1e23", "4.9e-324", "2.2250738585072011e-308", "0.1", "-0.0000001",
	};
	if (!doc)
		doc = vl_json_doc_new();
	char text[64];
	for (int i = 0; i < 400000; i++) {
		if (i < (int)(sizeof fixed / sizeof *fixed)) {
			snprintf(text, sizeof text, "%s", fixed[i]);
		} else if (i % 3 == 0) { /* midpoints of floats, written exactly */
			uint32_t u = (uint32_t)rnd() & 0x7f7fffffu;
			float f, g;
			memcpy(&f, &u, 4);
			g = nextafterf(f, INFINITY);
			snprintf(text, sizeof text, "%.*g", 1 + (int)(rnd() % 20), ((double)f + g) / 2);
		} else {
			int nd = 1 + (int)(rnd() % 20), o = 0, point = 1 + (int)(rnd() % 20);
			if (rnd() & 1)
				text[o++] = '-';
			text[o++] = (char)('1' + rnd() % 9);
			for (int k = 1; k < nd; k++) {
				if (k == point)
					text[o++] = '.';
				text[o++] = (char)('0' + rnd() % 10);
			}
			if (o && text[o - 1] == '.')
				text[o++] = '5';
			if (rnd() % 3)
				o += snprintf(text + o, sizeof text - (size_t)o, "e%d", (int)(rnd() % 90) - 45);
			text[o] = 0;
		}
		const vl_json *r;
		cr_assert_eq(vl_json_parse(doc, text, strlen(text), 0, 1, &r, NULL), VL_OK, "%s", text);
		float f, want_f = strtof(text, NULL);
		double x, want_x = strtod(text, NULL);
		vl_json_f32(r, &f);
		vl_json_f64(r, &x);
		cr_assert(memcmp(&f, &want_f, 4) == 0, "%s: %a vs strtof %a", text, f, want_f);
		cr_assert(memcmp(&x, &want_x, 8) == 0, "%s: %a vs strtod %a", text, x, want_x);
	}
}

Test(json, syntax_errors_name_line_column_offset)
{
	BAD("[1,2,3 4]", VL_EFORMAT, 7, "line 1, column 8", "expected ',' or ']' but found '4'");
	BAD("[1,2,]", VL_EFORMAT, 5, "trailing ','", NULL);
	BAD("{\"a\":1,}", VL_EFORMAT, 7, "trailing ','", NULL);
	BAD("{\"a\" 1}", VL_EFORMAT, 5, "expected ':'", NULL);
	BAD("{1:2}", VL_EFORMAT, 1, "expected a string key", NULL);
	BAD("{'a':2}", VL_EFORMAT, 1, "expected a string key", NULL);
	BAD("[1]\n[2]", VL_EFORMAT, 4, "line 2, column 1", "after the JSON value");
	BAD("[1] x", VL_EFORMAT, 4, "unexpected 'x' after the JSON value", NULL);
	BAD("", VL_EFORMAT, 0, "empty input", NULL);
	BAD("  \n ", VL_EFORMAT, 4, "empty input", NULL);
	BAD("[", VL_EFORMAT, 1, "unexpected end of input", NULL);
	BAD("[1,\n  2,\n  x]", VL_EFORMAT, 11, "line 3, column 3", "found 'x'");
	BAD("[tru]", VL_EFORMAT, 1, "expected a JSON value", NULL);
	BAD("// c\n1", VL_EFORMAT, 0, "expected a JSON value", NULL);
	BAD("\xef\xbb\xbf[]", VL_EFORMAT, 0, "expected a JSON value", "byte 0xef");
}

Test(json, numbers_are_strict)
{
	BAD("[NaN]", VL_EFORMAT, 1, "NaN and Infinity", NULL);
	BAD("[Infinity]", VL_EFORMAT, 1, "NaN and Infinity", NULL);
	BAD("[-Infinity]", VL_EFORMAT, 1, "NaN and Infinity", NULL);
	BAD("[nan]", VL_EFORMAT, 1, "NaN and Infinity", NULL);
	BAD("[01]", VL_EFORMAT, 1, "leading zeros", NULL);
	BAD("[-01]", VL_EFORMAT, 2, "leading zeros", NULL);
	BAD("[1.]", VL_EFORMAT, 3, "digit after '.'", NULL);
	BAD("[.5]", VL_EFORMAT, 1, "expected a JSON value", NULL);
	BAD("[+1]", VL_EFORMAT, 1, "expected a JSON value", NULL);
	BAD("[1e]", VL_EFORMAT, 3, "digit in the exponent", NULL);
	BAD("[1e+]", VL_EFORMAT, 4, "digit in the exponent", NULL);
	BAD("[-]", VL_EFORMAT, 2, "digit after '-'", NULL);
	BAD("[0x10]", VL_EFORMAT, 2, "expected ',' or ']'", NULL);
	parse_ok("[0, -0, 0.5, -0.5e-7, 1E+2, 12e0, 123456789012345678901234567890]");
	cr_assert(vl_json_number_valid("-0.5e-7", 7));
	cr_assert(!vl_json_number_valid("1.", 2));
	cr_assert(!vl_json_number_valid("1 ", 2));
	cr_assert(!vl_json_number_valid("", 0));
}

Test(json, string_errors)
{
	BAD("[\"abc]", VL_EFORMAT, 1, "unterminated string", NULL);
	BAD("[\"a\nb\"]", VL_EFORMAT, 3, "control character 0x0a", NULL);
	BAD("[\"a\tb\"]", VL_EFORMAT, 3, "control character 0x09", NULL);
	BAD("[\"\\x\"]", VL_EFORMAT, 2, "invalid escape", "'x'");
	BAD("[\"\\u12G4\"]", VL_EFORMAT, 2, "4 hex digits", NULL);
	BAD("[\"\\u12\"]", VL_EFORMAT, 2, "4 hex digits", NULL);
	BAD("[\"\\udc00\"]", VL_EFORMAT, 2, "lone low surrogate", NULL);
	BAD("[\"\\ud800\"]", VL_EFORMAT, 2, "not followed by a low surrogate", NULL);
	BAD("[\"\\ud800\\u0041\"]", VL_EFORMAT, 2, "not followed by a low surrogate", NULL);
	BAD("[\"\\ud800x\"]", VL_EFORMAT, 2, "not followed by a low surrogate", NULL);
	BAD("[\"ab\xc0\x80\"]", VL_EFORMAT, 4, "invalid UTF-8", NULL);
	BAD("[\"\xed\xa0\x80\"]", VL_EFORMAT, 2, "invalid UTF-8", NULL);
	BAD("[\"\xff\"]", VL_EFORMAT, 2, "invalid UTF-8", NULL);
	BAD("[\"a\\", VL_EFORMAT, 1, "unterminated string", NULL);
}

static char *nested(int depth, char open, char close)
{
	char *s = malloc((size_t)depth * 2 + 1);
	for (int i = 0; i < depth; i++) {
		s[i] = open;
		s[2 * depth - 1 - i] = close;
	}
	s[2 * depth] = 0;
	return s;
}

Test(json, depth_limit)
{
	char *ok = nested(VL_JSON_MAX_DEPTH, '[', ']');
	const vl_json *r = parse_ok(ok);
	int depth = 0;
	while (r->type == VL_JSON_ARRAY && r->n) {
		r = &r->u.items[0];
		depth++;
	}
	cr_assert_eq(depth, VL_JSON_MAX_DEPTH - 1);
	free(ok);
	char *deep = nested(VL_JSON_MAX_DEPTH + 1, '[', ']');
	parse_bad(deep, strlen(deep), VL_ELIMIT, VL_JSON_MAX_DEPTH, "nested deeper than 256", NULL);
	free(deep);
	/* a hostile depth fails fast, without recursing further */
	char *huge = nested(1000000, '[', ']');
	parse_bad(huge, strlen(huge), VL_ELIMIT, VL_JSON_MAX_DEPTH, "nested deeper", NULL);
	free(huge);
}

Test(json, base_offset_and_line_in_errors)
{
	vl_json_doc *dd = vl_json_doc_new();
	const vl_json *root;
	vl_diag d;
	const char *t = "{\"a\": tru}";
	cr_assert_eq(vl_json_parse(dd, t, strlen(t), 5000, 42, &root, &d), VL_EFORMAT);
	cr_assert_eq(d.offset, 5006);
	cr_assert(strstr(d.msg, "line 42, column 7"), "%s", d.msg);
	cr_assert(strstr(d.msg, "byte offset 5006"), "%s", d.msg);
	cr_assert_eq(vl_json_parse(dd, "[7]", 3, 100, 1, &root, &d), VL_OK);
	cr_assert_eq(root->u.items[0].offset, 101);
	vl_json_doc_free(dd);
}

Test(json, document_reuse_keeps_memory_bounded)
{
	vl_json_doc *dd = vl_json_doc_new();
	char big[100000];
	size_t o = 0;
	big[o++] = '[';
	for (int i = 0; i < 9000; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "%s\"s%d\"", i ? "," : "", i);
	big[o++] = ']';
	for (int round = 0; round < 50; round++) {
		const vl_json *root;
		cr_assert_eq(vl_json_parse(dd, big, o, 0, 1, &root, NULL), VL_OK);
		cr_assert_eq(root->n, 9000);
		cr_assert_str_eq(root->u.items[8999].u.str, "s8999");
		cr_assert_eq(vl_json_parse(dd, "[1,2]", 5, 0, 1, &root, NULL), VL_OK);
		cr_assert_eq(root->n, 2);
	}
	vl_json_doc_free(dd);
}

Test(json, writer_escapes)
{
	vl_sink s;
	vl_sink_init_mem(&s);
	cr_assert_eq(vl_json_write_string(&s, "a\"\\\n\x01\x1f/\xc3\xa9", 9), VL_OK);
	cr_assert_eq(s.len, strlen("\"a\\\"\\\\\\n\\u0001\\u001f/\xc3\xa9\""));
	cr_assert(memcmp(s.buf, "\"a\\\"\\\\\\n\\u0001\\u001f/\xc3\xa9\"", s.len) == 0);
	vl_sink_reset(&s);
	cr_assert_eq(vl_json_write_string(&s, "\xff", 1), VL_EINVAL);
	cr_assert_eq(s.len, 0);
	vl_sink_free(&s);
}

Test(json, python_documents_round_trip)
{
	if (!vft_have_python())
		cr_skip_test("/usr/bin/python3 with numpy is not available");
	/* Python writes random documents with ASCII escapes (\uXXXX, surrogate
	 * pairs) and indentation; parsing them and writing them back compactly
	 * must give exactly Python's compact non-ASCII dump. */
	cr_assert_eq(vft_python(
		"import sys, json, random\n"
		"d = sys.argv[1]; random.seed(1)\n"
		"def s():\n"
		"    return ''.join(random.choice(['a', 'Z', '\"', '\\\\', '/', '\\n', '\\t', '\\x01',\n"
		"        '\\x1f', '\\x7f', '\\u00e9', '\\u20ac', '\\U0001F600', '\\uffff', ' '])\n"
		"        for _ in range(random.randrange(8)))\n"
		"def v(depth):\n"
		"    r = random.randrange(9 if depth < 6 else 6)\n"
		"    if r == 0: return None\n"
		"    if r == 1: return random.random() < 0.5\n"
		"    if r == 2: return random.randrange(-10**20, 10**20)\n"
		"    if r == 3: return random.uniform(-1e30, 1e30) * 10.0 ** random.randrange(-300, 0)\n"
		"    if r == 4 or r == 5: return s()\n"
		"    if r == 6: return [v(depth + 1) for _ in range(random.randrange(5))]\n"
		"    return {s(): v(depth + 1) for _ in range(random.randrange(5))}\n"
		"docs = [v(0) for _ in range(300)]\n"
		"with open(d + '/in.json', 'w') as f:\n"
		"    for x in docs: f.write(json.dumps(x, indent=1) + '\\0')\n"
		"with open(d + '/out.json', 'w', encoding='utf-8') as f:\n"
		"    for x in docs: f.write(json.dumps(x, ensure_ascii=False, separators=(',', ':')) + '\\0')\n"),
		0);
	size_t in_len, out_len;
	char *in = vft_read_file(vft_path("in.json"), &in_len);
	char *out = vft_read_file(vft_path("out.json"), &out_len);
	cr_assert(in && out);
	vl_json_doc *dd = vl_json_doc_new();
	vl_sink s;
	vl_sink_init_mem(&s);
	char *ip = in, *op = out;
	int n = 0;
	while (ip < in + in_len) {
		size_t il = strlen(ip), ol = strlen(op);
		const vl_json *root;
		vl_diag d;
		cr_assert_eq(vl_json_parse(dd, ip, il, 0, 1, &root, &d), VL_OK, "doc %d: %s", n, d.msg);
		vl_sink_reset(&s);
		cr_assert_eq(vl_json_write(&s, root), VL_OK);
		cr_assert(s.len == ol && memcmp(s.buf, op, ol) == 0, "doc %d:\nours   %.*s\npython %s", n,
		          (int)s.len, s.buf, op);
		ip += il + 1;
		op += ol + 1;
		n++;
	}
	cr_assert_eq(n, 300);
	vl_sink_free(&s);
	vl_json_doc_free(dd);
	free(in);
	free(out);
}
