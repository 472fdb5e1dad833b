/* test_jsonl.c - JSON Lines rows: parsing, errors, writing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "util/vftest.h"

TestSuite(jsonl, .fini = vft_cleanup);

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static vl_jsonl_parser *parser(void)
{
	static vl_jsonl_parser *p;
	if (!p)
		p = vl_jsonl_parser_new();
	cr_assert(p);
	return p;
}

static vl_jsonl_row row_ok(const char *line, uint64_t lineno, uint64_t row_index)
{
	vl_jsonl_row r;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_jsonl_parse_line(parser(), line, strlen(line), lineno, 0, row_index, &r, &d);
	cr_assert_eq(rc, VL_OK, "'%s': %s", line, d.msg);
	return r;
}

static void row_bad(const char *line, int code, const char *needle)
{
	vl_jsonl_row r;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_jsonl_parse_line(parser(), line, strlen(line), 7, 1000, 6, &r, &d);
	cr_assert_eq(rc, code, "'%s' gave %d: %s", line, rc, d.msg);
	cr_assert(strstr(d.msg, "line 7"), "no line number in '%s'", d.msg);
	cr_assert(strstr(d.msg, needle), "'%s' lacks '%s'", d.msg, needle);
	cr_assert(d.offset >= 1000 && d.offset < 1000 + strlen(line) + 1, "offset %llu: %s",
	          (unsigned long long)d.offset, d.msg);
}

static const vl_jsonl_field *field(const vl_jsonl_row *r, const char *name)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return &r->fields[i];
	return NULL;
}

Test(jsonl, row_schema)
{
	vl_jsonl_row r = row_ok("{\"key\": \"doc:1\", \"vector\": [0.1, -2, 3e-3], \"fields\": "
	                        "{\"genre\": \"drama\", \"year\": 1994, \"tags\": [\"a\", \"b c\"], "
	                        "\"blob\": {\"base64\": \"AAE=\"}, \"gone\": null}}", 3, 2);
	cr_assert(r.key_given);
	cr_assert(r.key_len == 5 && memcmp(r.key, "doc:1", 5) == 0);
	cr_assert_eq(r.dim, 3);
	cr_assert(r.vector[0] == 0.1f && r.vector[1] == -2.0f && r.vector[2] == 3e-3f);
	cr_assert_eq(r.nonfinite, 0);
	cr_assert_eq(r.line, 3);
	cr_assert_eq(r.row, 2);
	cr_assert_eq(r.nfields, 4, "null fields are left out");
	const vl_jsonl_field *f = field(&r, "genre");
	cr_assert(f && f->kind == VL_JSONL_STRING && f->len == 5 && !memcmp(f->data, "drama", 5));
	f = field(&r, "year");
	cr_assert(f && f->kind == VL_JSONL_NUMBER && f->num == 1994.0);
	cr_assert_str_eq((const char *)f->data, "1994");
	f = field(&r, "tags");
	cr_assert(f && f->kind == VL_JSONL_TAGS && f->len == 5 && !memcmp(f->data, "a,b c", 5));
	f = field(&r, "blob");
	cr_assert(f && f->kind == VL_JSONL_BINARY && f->len == 2 && !memcmp(f->data, "\0\1", 2));
	cr_assert_null(field(&r, "gone"));

	/* keys: integer literal, base64, absent -> row number, null -> absent */
	r = row_ok("{\"key\": -17, \"vector\": [1]}", 1, 0);
	cr_assert(r.key_len == 3 && !memcmp(r.key, "-17", 3) && r.key_given);
	r = row_ok("{\"key_base64\": \"/wA=\", \"vector\": [1]}", 1, 0);
	cr_assert(r.key_len == 2 && !memcmp(r.key, "\xff\0", 2));
	r = row_ok("{\"vector\": [1]}", 1, 12345);
	cr_assert(r.key_len == 5 && !memcmp(r.key, "12345", 5) && !r.key_given);
	r = row_ok("{\"key\": null, \"vector\": [1], \"fields\": null}", 1, 9);
	cr_assert(r.key_len == 1 && !memcmp(r.key, "9", 1) && !r.key_given && r.nfields == 0);
	/* a bare array is a vector; \r from CRLF files is whitespace */
	r = row_ok("  [1.5, 2.5]\r", 4, 3);
	cr_assert(r.dim == 2 && r.vector[1] == 2.5f && !r.key_given);
	cr_assert(r.key_len == 1 && !memcmp(r.key, "3", 1));
	/* vector_base64: little-endian float32 */
	r = row_ok("{\"vector_base64\": \"AACAPwAAAMA=\"}", 1, 0);
	cr_assert(r.dim == 2 && r.vector[0] == 1.0f && r.vector[1] == -2.0f);
}

Test(jsonl, nonfinite_is_flagged)
{
	vl_jsonl_row r = row_ok("[1, 2, 1e39, -1e39]", 1, 0);
	cr_assert_eq(r.nonfinite, 3);
	cr_assert(isinf(r.vector[2]));
	/* NaN bits through base64 (0x7fc00000) */
	r = row_ok("{\"vector_base64\": \"AACAPwAAwH8=\"}", 1, 0);
	cr_assert_eq(r.nonfinite, 2);
	r = row_ok("[1e-50, -1e-46]", 1, 0); /* underflow is not an error */
	cr_assert_eq(r.nonfinite, 0);
	cr_assert(r.vector[0] == 0.0f && r.vector[1] == -0.0f && signbit(r.vector[1]));
}

Test(jsonl, blank_lines)
{
	cr_assert(vl_jsonl_blank("", 0));
	cr_assert(vl_jsonl_blank(" \t\r", 3));
	cr_assert(!vl_jsonl_blank(" [1]", 4));
}

Test(jsonl, row_errors)
{
	row_bad("{\"key\": \"a\", \"vectors\": [1]}", VL_EFORMAT, "unknown member \"vectors\"");
	row_bad("{\"vector\": [1], \"vector\": [2]}", VL_EFORMAT, "duplicate member \"vector\"");
	row_bad("{\"key\": \"a\", \"key_base64\": \"YQ==\", \"vector\": [1]}", VL_EFORMAT,
	        "both \"key\" and \"key_base64\"");
	row_bad("{\"vector\": [1], \"vector_base64\": \"AACAPw==\"}", VL_EFORMAT,
	        "both \"vector\" and \"vector_base64\"");
	row_bad("{\"key\": \"\", \"vector\": [1]}", VL_EKEY, "key is empty");
	row_bad("{\"key_base64\": \"\", \"vector\": [1]}", VL_EKEY, "key is empty");
	row_bad("{\"key\": 1.5, \"vector\": [1]}", VL_EFORMAT, "string or an integer");
	row_bad("{\"key\": 1e3, \"vector\": [1]}", VL_EFORMAT, "string or an integer");
	row_bad("{\"key\": true, \"vector\": [1]}", VL_EFORMAT, "string or an integer");
	row_bad("{\"key\": \"a\"}", VL_EFORMAT, "row has no vector");
	row_bad("{\"key\": \"a\", \"vector\": null}", VL_EFORMAT, "row has no vector");
	row_bad("{\"vector\": \"1,2\"}", VL_EFORMAT, "array of numbers, not string");
	row_bad("{\"vector\": [1, \"2\"]}", VL_EFORMAT, "component 1 is string");
	row_bad("{\"vector\": [1, null]}", VL_EFORMAT, "component 1 is null");
	row_bad("{\"vector\": []}", VL_EFORMAT, "dim 0");
	row_bad("[]", VL_EFORMAT, "dim 0");
	row_bad("{\"vector_base64\": \"AACA\"}", VL_EFORMAT, "not a multiple of 4");
	row_bad("{\"vector_base64\": \"AAC*\"}", VL_EFORMAT, "invalid character '*'");
	row_bad("{\"vector_base64\": 5}", VL_EFORMAT, "base64 string, not number");
	row_bad("{\"vector\": [1], \"fields\": [1]}", VL_EFORMAT, "fields must be an object");
	row_bad("{\"vector\": [1], \"fields\": {\"f\": true}}", VL_EFORMAT, "field \"f\": true is not");
	row_bad("{\"vector\": [1], \"fields\": {\"f\": {\"a\": 1}}}", VL_EFORMAT, "{\"base64\"");
	row_bad("{\"vector\": [1], \"fields\": {\"f\": {\"base64\": \"%%%%\"}}}", VL_EFORMAT,
	        "field \"f\": base64");
	row_bad("{\"vector\": [1], \"fields\": {\"t\": [\"a\", 2]}}", VL_EFORMAT,
	        "array element 1 is number");
	row_bad("{\"vector\": [1], \"fields\": {\"t\": [\"a\", \"b,c\"]}}", VL_EFORMAT,
	        "contains ','");
	row_bad("{\"vector\": [1], \"fields\": {\"\": 1}}", VL_EFORMAT, "1..255 bytes");
	row_bad("{\"vector\": [1], \"fields\": {\"a\\u0000b\": 1}}", VL_EFORMAT, "without NUL");
	row_bad("{\"vector\": [1], \"fields\": {\"x\": 1, \"y\": 2, \"x\": 3}}", VL_EFORMAT,
	        "field \"x\" appears twice");
	row_bad("{\"vector\": [1], \"fields\": {\"n\": 1e400}}", VL_EFORMAT, "out of the range");
	row_bad("\"just a string\"", VL_EFORMAT, "object or an array of numbers");
	row_bad("{\"vector\": [1, 2,]}", VL_EFORMAT, "line 7, column 18");
	row_bad("{\"vector\": [1]} {}", VL_EFORMAT, "after the JSON value");
}

Test(jsonl, key_and_dim_limits)
{
	char line[200000];
	int n = snprintf(line, sizeof line, "{\"key\": \"");
	for (int i = 0; i < 512; i++)
		line[n++] = 'k';
	snprintf(line + n, sizeof line - (size_t)n, "\", \"vector\": [1]}");
	row_bad(line, VL_EKEY, "512 bytes is longer than 511");
	line[9 + 511] = '"'; /* 511 bytes: fine */
	memmove(line + 9 + 512, line + 9 + 513, strlen(line + 9 + 513) + 1);
	vl_jsonl_row r = row_ok(line, 1, 0);
	cr_assert_eq(r.key_len, 511);

	n = 0;
	line[n++] = '[';
	for (int i = 0; i < 65536; i++) {
		line[n++] = '0';
		line[n++] = ',';
	}
	line[n - 1] = ']';
	line[n] = 0;
	row_bad(line, VL_EDIM, "65536 components, more than 65535");
	line[n - 3] = ']';
	line[n - 2] = 0;
	r = row_ok(line, 1, 0);
	cr_assert_eq(r.dim, 65535);
}

Test(jsonl, python_written_rows_parse)
{
	if (!vft_have_python())
		cr_skip_test("/usr/bin/python3 with numpy is not available");
	/* Python's json module writes the rows; the expectations file gives
	 * each key's bytes, each component's repr text (strtof of it is the
	 * expected float) or raw float32 bytes, and each field. */
	cr_assert_eq(vft_python(
		"import sys, json, random, base64, struct\n"
		"import numpy as np\n"
		"d = sys.argv[1]; random.seed(2)\n"
		"def s(n):\n"
		"    return ''.join(random.choice(['a', 'b', '\"', '\\\\', '\\n', '\\u00e9', '\\U0001F600', ' ', ':'])\n"
		"                   for _ in range(n))\n"
		"rows = open(d + '/rows.jsonl', 'w'); exp = open(d + '/rows.exp', 'w')\n"
		"for i in range(400):\n"
		"    if i % 17 == 5: rows.write('\\n   \\n')\n"
		"    o = {}; k = i % 4\n"
		"    if k == 0: key = s(random.randrange(1, 10)); o['key'] = key; kb = key.encode()\n"
		"    elif k == 1: n = random.randrange(-10**9, 10**9); o['key'] = n; kb = str(n).encode()\n"
		"    elif k == 2: kb = bytes(random.randrange(256) for _ in range(random.randrange(1, 9))); o['key_base64'] = base64.b64encode(kb).decode()\n"
		"    else: kb = b''\n"
		"    exp.write('K %s\\n' % (kb.hex() or '-'))\n"
		"    dim = 16\n"
		"    if i % 5 == 4:\n"
		"        v = np.random.default_rng(i).standard_normal(dim).astype('<f4')\n"
		"        o['vector_base64'] = base64.b64encode(v.tobytes()).decode()\n"
		"        exp.write('B %s\\n' % v.tobytes().hex())\n"
		"    else:\n"
		"        v = [random.gauss(0, 1) * 10.0 ** random.randrange(-40, 38) for _ in range(dim)]\n"
		"        v[0] = random.choice([0.0, -0.0, 1e-45, 3.4028234e38, 0.1, 1.0000000596046448])\n"
		"        o['vector'] = v\n"
		"        exp.write('V %s\\n' % ' '.join(repr(x) for x in v))\n"
		"    f = {}\n"
		"    if i % 3: f['title'] = s(random.randrange(0, 20))\n"
		"    if i % 4: f['year'] = random.choice([random.randrange(1900, 2030), random.uniform(-1e6, 1e6)])\n"
		"    if i % 5: f['tags'] = [s(random.randrange(1, 4)) for _ in range(random.randrange(0, 4))]\n"
		"    if i % 6 == 1: f['blob'] = {'base64': base64.b64encode(bytes(range(i % 7))).decode()}\n"
		"    if i % 7 == 2: f['nothing'] = None\n"
		"    if f or i % 2: o['fields'] = f\n"
		"    for name, val in f.items():\n"
		"        if val is None: continue\n"
		"        if isinstance(val, str): exp.write('F %s S %s\\n' % (name, val.encode().hex() or '-'))\n"
		"        elif isinstance(val, list): exp.write('F %s T %s\\n' % (name, ','.join(val).encode().hex() or '-'))\n"
		"        elif isinstance(val, dict): exp.write('F %s B %s\\n' % (name, base64.b64decode(val['base64']).hex() or '-'))\n"
		"        else: exp.write('F %s N %s\\n' % (name, json.dumps(val)))\n"
		"    exp.write('E\\n')\n"
		"    rows.write(json.dumps(o) + ('\\r\\n' if i % 9 == 0 else '\\n'))\n"), 0);
	size_t len;
	char *text = vft_read_file(vft_path("rows.jsonl"), &len);
	FILE *exp = fopen(vft_path("rows.exp"), "r");
	cr_assert(text && exp);
	char *line = text;
	uint64_t lineno = 0, row = 0;
	static char eline[1 << 16];
	while (line < text + len) {
		char *nl = memchr(line, '\n', (size_t)(text + len - line));
		size_t ll = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
		lineno++;
		if (vl_jsonl_blank(line, ll)) {
			line += ll + 1;
			continue;
		}
		vl_jsonl_row r;
		vl_diag d;
		int rc = vl_jsonl_parse_line(parser(), line, ll, lineno, (uint64_t)(line - text), row, &r, &d);
		cr_assert_eq(rc, VL_OK, "line %llu: %s", (unsigned long long)lineno, d.msg);
		cr_assert_eq(r.offset, (uint64_t)(line - text));
		/* key */
		cr_assert(fgets(eline, sizeof eline, exp) && eline[0] == 'K');
		char *kh = eline + 2;
		kh[strcspn(kh, "\n")] = 0;
		if (strcmp(kh, "-") == 0) {
			char num[24];
			snprintf(num, sizeof num, "%llu", (unsigned long long)row);
			cr_assert(!r.key_given && r.key_len == strlen(num) && !memcmp(r.key, num, r.key_len));
		} else {
			cr_assert(r.key_given && r.key_len == strlen(kh) / 2, "row %llu", (unsigned long long)row);
			for (size_t i = 0; i < r.key_len; i++) {
				unsigned b;
				sscanf(kh + 2 * i, "%2x", &b);
				cr_assert_eq(((const uint8_t *)r.key)[i], b);
			}
		}
		/* vector */
		cr_assert(fgets(eline, sizeof eline, exp));
		cr_assert_eq(r.dim, 16);
		if (eline[0] == 'V') {
			char *p = eline + 2;
			for (int i = 0; i < 16; i++) {
				char *end;
				float want = strtof(p, &end);
				cr_assert(end != p);
				cr_assert(memcmp(&want, &r.vector[i], 4) == 0, "row %llu comp %d: %.*s",
				          (unsigned long long)row, i, (int)(end - p), p);
				p = end;
			}
		} else {
			for (int i = 0; i < 16; i++) {
				unsigned b[4];
				sscanf(eline + 2 + 8 * i, "%2x%2x%2x%2x", &b[0], &b[1], &b[2], &b[3]);
				uint32_t u = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
				cr_assert(memcmp(&u, &r.vector[i], 4) == 0);
			}
		}
		/* fields */
		size_t nf = 0;
		while (fgets(eline, sizeof eline, exp) && eline[0] == 'F') {
			char name[64], kind[4], val[8192];
			cr_assert_eq(sscanf(eline, "F %63s %3s %8191s", name, kind, val), 3);
			const vl_jsonl_field *f = field(&r, name);
			cr_assert(f, "row %llu lacks field %s", (unsigned long long)row, name);
			if (kind[0] == 'N') {
				cr_assert_eq(f->kind, VL_JSONL_NUMBER);
				cr_assert_str_eq((const char *)f->data, val);
				cr_assert_eq(f->num, strtod(val, NULL));
			} else {
				vl_jsonl_kind want = kind[0] == 'S' ? VL_JSONL_STRING
				                   : kind[0] == 'T' ? VL_JSONL_TAGS : VL_JSONL_BINARY;
				cr_assert_eq(f->kind, want, "field %s", name);
				size_t vl = strcmp(val, "-") == 0 ? 0 : strlen(val) / 2;
				cr_assert_eq(f->len, vl, "field %s", name);
				for (size_t i = 0; i < vl; i++) {
					unsigned b;
					sscanf(val + 2 * i, "%2x", &b);
					cr_assert_eq(((const uint8_t *)f->data)[i], b);
				}
			}
			nf++;
		}
		cr_assert_eq(eline[0], 'E');
		cr_assert_eq(r.nfields, nf, "row %llu", (unsigned long long)row);
		row++;
		line += ll + 1;
	}
	cr_assert_eq(row, 400);
	fclose(exp);
	free(text);
}

/* ---- writing ---------------------------------------------------------------- */

Test(jsonl, writer_exact_text)
{
	vl_sink s;
	vl_sink_init_mem(&s);
	float v[] = { 0.1f, -2.0f, 1e-45f, 3.4028235e38f, -0.0f };
	vl_jsonl_field f[] = {
		{ "genre", 5, VL_JSONL_STRING, "dr\"ama", 6, 0 },
		{ "year", 4, VL_JSONL_NUMBER, "1994", 4, 1994 },
		{ "score", 5, VL_JSONL_NUMBER, NULL, 0, 0.1 },
		{ "bad_text", 8, VL_JSONL_NUMBER, "0x10", 4, 16 },
		{ "tags", 4, VL_JSONL_TAGS, "a,b", 3, 0 },
		{ "blob", 4, VL_JSONL_BINARY, "\0\1", 2, 0 },
		{ "latin1", 6, VL_JSONL_STRING, "caf\xe9", 4, 0 },
	};
	cr_assert_eq(vl_jsonl_write_row(&s, "doc:1", 5, v, 5, f, 7, 0), VL_OK);
	const char *want = "{\"key\":\"doc:1\",\"vector\":[0.1,-2,1e-45,3.4028235e38,-0.0],"
	                   "\"fields\":{\"genre\":\"dr\\\"ama\",\"year\":1994,\"score\":0.1,"
	                   "\"bad_text\":16,\"tags\":\"a,b\",\"blob\":{\"base64\":\"AAE=\"},"
	                   "\"latin1\":{\"base64\":\"Y2Fm6Q==\"}}}\n";
	cr_assert(s.len == strlen(want) && memcmp(s.buf, want, s.len) == 0, "%.*s", (int)s.len, s.buf);

	vl_sink_reset(&s);
	cr_assert_eq(vl_jsonl_write_row(&s, "\xff\x00", 2, v, 1, NULL, 0, VL_JSONL_VECTOR_BASE64), VL_OK);
	want = "{\"key_base64\":\"/wA=\",\"vector_base64\":\"zczMPQ==\"}\n";
	cr_assert(s.len == strlen(want) && memcmp(s.buf, want, s.len) == 0, "%.*s", (int)s.len, s.buf);

	vl_sink_reset(&s);
	cr_assert_eq(vl_jsonl_write_row(&s, NULL, 0, v, 2, NULL, 0, 0), VL_OK);
	cr_assert(s.len == strlen("{\"vector\":[0.1,-2]}\n"));

	/* refusals write nothing */
	vl_sink_reset(&s);
	float bad[] = { 1.0f, NAN };
	cr_assert_eq(vl_jsonl_write_row(&s, "k", 1, bad, 2, NULL, 0, 0), VL_ENAN);
	bad[1] = INFINITY;
	cr_assert_eq(vl_jsonl_write_row(&s, "k", 1, bad, 2, NULL, 0, 0), VL_ENAN);
	vl_jsonl_field nf = { "n", 1, VL_JSONL_NUMBER, NULL, 0, INFINITY };
	cr_assert_eq(vl_jsonl_write_row(&s, "k", 1, v, 1, &nf, 1, 0), VL_EINVAL);
	vl_jsonl_field badname = { "\xff", 1, VL_JSONL_STRING, "x", 1, 0 };
	cr_assert_eq(vl_jsonl_write_row(&s, "k", 1, v, 1, &badname, 1, 0), VL_EINVAL);
	cr_assert_eq(vl_jsonl_write_row(&s, "k", 1, v, 0, NULL, 0, 0), VL_EINVAL);
	cr_assert_eq(s.len, 0);
	vl_sink_free(&s);
}

static void random_bytes(uint8_t *b, size_t n, int utf8)
{
	static const char *const pieces[] = { "a", "Z", "\"", "\\", "\n", "\x01", "\xc3\xa9",
	                                      "\xf0\x9f\x98\x80", ",", " " };
	size_t o = 0;
	while (o < n) {
		if (utf8) {
			const char *pc = pieces[rnd() % 10];
			size_t l = strlen(pc);
			if (o + l > n)
				break;
			memcpy(b + o, pc, l);
			o += l;
		} else {
			b[o++] = (uint8_t)rnd();
		}
	}
	for (; o < n; o++)
		b[o] = 'x';
}

/* Write random rows, parse them back: identical keys, bits and fields. */
Test(jsonl, writer_parser_round_trip)
{
	vl_sink s;
	vl_sink_init_mem(&s);
	for (int t = 0; t < 500; t++) {
		uint8_t key[40], vals[3][40];
		size_t kl = 1 + rnd() % 40;
		random_bytes(key, kl, t % 3 != 0);
		uint32_t dim = 1 + (uint32_t)(rnd() % 64);
		float vec[64];
		for (uint32_t i = 0; i < dim; i++) {
			uint32_t u;
			do
				u = (uint32_t)rnd();
			while (((u >> 23) & 0xff) == 0xff);
			memcpy(&vec[i], &u, 4);
		}
		vl_jsonl_field f[4];
		size_t vl[3];
		for (int i = 0; i < 3; i++) {
			vl[i] = rnd() % 40;
			random_bytes(vals[i], vl[i], i != 2 || t % 2);
		}
		f[0] = (vl_jsonl_field){ "s", 1, VL_JSONL_STRING, vals[0], vl[0], 0 };
		f[1] = (vl_jsonl_field){ "b", 1, VL_JSONL_BINARY, vals[1], vl[1], 0 };
		f[2] = (vl_jsonl_field){ "maybe_utf8", 10, VL_JSONL_STRING, vals[2], vl[2], 0 };
		double num;
		uint64_t nu = rnd();
		memcpy(&num, &nu, 8);
		if (!isfinite(num))
			num = 1.5;
		f[3] = (vl_jsonl_field){ "num", 3, VL_JSONL_NUMBER, NULL, 0, num };
		vl_sink_reset(&s);
		unsigned flags = t % 4 == 3 ? VL_JSONL_VECTOR_BASE64 : 0;
		cr_assert_eq(vl_jsonl_write_row(&s, key, kl, vec, dim, f, 4, flags), VL_OK);
		cr_assert_eq(s.buf[s.len - 1], '\n');
		cr_assert_null(memchr(s.buf, '\n', s.len - 1), "one line per row");
		vl_jsonl_row r;
		vl_diag d;
		cr_assert_eq(vl_jsonl_parse_line(parser(), s.buf, s.len - 1, 1, 0, 0, &r, &d), VL_OK,
		             "%s\n%.*s", d.msg, (int)s.len, s.buf);
		cr_assert(r.key_len == kl && memcmp(r.key, key, kl) == 0);
		cr_assert(r.dim == dim && memcmp(r.vector, vec, 4 * dim) == 0);
		cr_assert_eq(r.nfields, 4);
		for (int i = 0; i < 3; i++)
			cr_assert(r.fields[i].len == vl[i] && memcmp(r.fields[i].data, vals[i], vl[i]) == 0);
		cr_assert_eq(r.fields[1].kind, VL_JSONL_BINARY);
		cr_assert_eq(r.fields[3].kind, VL_JSONL_NUMBER);
		cr_assert(memcmp(&r.fields[3].num, &num, 8) == 0);
	}
	vl_sink_free(&s);
}

Test(jsonl, python_reads_written_rows)
{
	if (!vft_have_python())
		cr_skip_test("/usr/bin/python3 with numpy is not available");
	/* C writes rows and the raw float32 bits; Python's json module must
	 * read every line, and exact rational arithmetic checks that each
	 * component's text lies in the float32's rounding interval (strtof
	 * reads it back exactly) and has numpy's shortest digit count. */
	FILE *out = fopen(vft_path("w.jsonl"), "w");
	FILE *bits = fopen(vft_path("w.bits"), "wb");
	cr_assert(out && bits);
	vl_sink s;
	vl_sink_init_file(&s, out);
	for (int t = 0; t < 300; t++) {
		float vec[32];
		for (int i = 0; i < 32; i++) {
			uint32_t u;
			do
				u = (uint32_t)rnd();
			while (((u >> 23) & 0xff) == 0xff);
			if (i % 5 == 1)
				u &= 0x807fffff;
			if (i == 0)
				u = (uint32_t[]){ 0, 0x80000000u, 1, 0x7f7fffffu, 0x00800000u }[t % 5];
			memcpy(&vec[i], &u, 4);
		}
		char key[16];
		int kl = snprintf(key, sizeof key, "k\"%d", t);
		vl_jsonl_field f = { "t", 1, VL_JSONL_STRING, "x\ny", 3, 0 };
		cr_assert_eq(vl_jsonl_write_row(&s, key, (size_t)kl, vec, 32, &f, 1, 0), VL_OK);
		fwrite(vec, 4, 32, bits);
	}
	fclose(out);
	fclose(bits);
	cr_assert_eq(vft_python(
		"import sys, json\n"
		"import numpy as np\n"
		"from fractions import Fraction\n"
		"np.seterr(all='ignore')\n"
		"d = sys.argv[1]\n"
		"bits = np.fromfile(d + '/w.bits', dtype='<u4').reshape(-1, 32)\n"
		"def bad(c): raise ValueError(c)\n"
		"def ok(text, u):\n"
		"    x = np.uint32(u).view(np.float32)\n"
		"    neg = bool(u >> 31)\n"
		"    if text.startswith('-') != neg: return False\n"
		"    t = abs(Fraction(text)); a = abs(x)\n"
		"    fx = Fraction(float(a))\n"
		"    dn = Fraction(float(np.nextafter(a, np.float32(0)))) if a != 0 else -fx\n"
		"    up = np.nextafter(a, np.float32(np.inf))\n"
		"    up = Fraction(float(up)) if np.isfinite(up) else fx + (fx - dn)\n"
		"    lo = (fx + dn) / 2; hi = (fx + up) / 2\n"
		"    if a == 0: return t == 0\n"
		"    even = (u & 1) == 0\n"
		"    if not (lo < t < hi or (even and (t == lo or t == hi))): return False\n"
		"    m = text.lstrip('-').split('e')[0].replace('.', '').strip('0')\n"
		"    ref = np.format_float_scientific(a, unique=True, trim='-').split('e')[0].replace('.', '')\n"
		"    return len(m) == len(ref)\n"
		"n = 0\n"
		"for i, line in enumerate(open(d + '/w.jsonl', encoding='utf-8')):\n"
		"    o = json.loads(line, parse_float=str, parse_int=str, parse_constant=bad)\n"
		"    assert o['key'] == 'k\"%d' % i, o['key']\n"
		"    assert o['fields'] == {'t': 'x\\ny'}\n"
		"    assert len(o['vector']) == 32\n"
		"    for j, text in enumerate(o['vector']):\n"
		"        if not ok(text, int(bits[i, j])):\n"
		"            print('row', i, 'comp', j, text, hex(bits[i, j])); sys.exit(1)\n"
		"        n += 1\n"
		"assert n == 300 * 32\n"), 0);
}
