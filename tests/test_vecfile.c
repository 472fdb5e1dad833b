/* test_vecfile.c - vector file readers (.fvecs .bvecs .ivecs .npy IDX
 * JSON Lines JSON) and the .fvecs/.ivecs writers. Expected values come from
 * files numpy and Python's json module write, and from the raw bytes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vecfile.h"
#include "util/vftest.h"

TestSuite(vecfile, .fini = vft_cleanup);

#define NEED_PYTHON()                                                              \
	do {                                                                           \
		if (!vft_have_python())                                                    \
			cr_skip_test("/usr/bin/python3 with numpy is not available");         \
	} while (0)

static vl_vecfile *open_path(const char *path, vl_vecfmt fmt, unsigned flags)
{
	vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
	o.fmt = fmt;
	o.flags = flags;
	vl_vecfile *vf;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_vecfile_open(path, &o, &vf, &d);
	cr_assert_eq(rc, VL_OK, "%s: %s", path, d.msg);
	return vf;
}

/* Read every row (batches of `batch`); returns a malloc'd array, *rows. */
static float *read_all(vl_vecfile *vf, size_t batch, size_t *rows)
{
	uint32_t dim = vl_vecfile_info_get(vf)->dim;
	size_t cap = 1024, n = 0;
	float *all = malloc(cap * dim * sizeof(float));
	float *tmp = malloc(batch * dim * sizeof(float));
	for (;;) {
		size_t got;
		vl_diag d;
		int rc = vl_vecfile_next(vf, tmp, batch, &got, &d);
		cr_assert_eq(rc, VL_OK, "%s", d.msg);
		if (!got)
			break;
		while (n + got > cap) {
			cap *= 2;
			all = realloc(all, cap * dim * sizeof(float));
		}
		memcpy(all + n * dim, tmp, got * dim * sizeof(float));
		n += got;
	}
	free(tmp);
	*rows = n;
	return all;
}

/* The file's rows must equal `raw` (float32 bytes) bit for bit, through
 * the file reader and through memory readers with tiny chunks. */
static void check_against_raw(const char *path, vl_vecfmt fmt, const char *raw_name,
                              uint32_t dim, const char *src_type)
{
	size_t raw_len;
	float *raw = vft_read_file(vft_path(raw_name), &raw_len);
	cr_assert(raw);
	size_t want_rows = raw_len / 4 / dim;
	vl_vecfile *vf = open_path(path, fmt, 0);
	const vl_vecfile_info *in = vl_vecfile_info_get(vf);
	cr_assert_eq(in->dim, dim);
	cr_assert_str_eq(in->source_type, src_type);
	if (in->rows != UINT64_MAX)
		cr_assert_eq(in->rows, want_rows);
	size_t rows;
	float *got = read_all(vf, 37, &rows);
	cr_assert_eq(rows, want_rows, "%s", path);
	cr_assert(memcmp(got, raw, raw_len) == 0, "%s differs from numpy's values", path);
	vl_vecfile_close(vf);
	free(got);

	size_t flen;
	void *file = vft_read_file(path, &flen);
	static const size_t chunks[] = { 1, 3, 64, 4093 };
	for (size_t c = 0; c < 4; c++) {
		vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
		o.fmt = fmt;
		o.chunk = chunks[c];
		vl_diag d;
		cr_assert_eq(vl_vecfile_open_mem(file, flen, path, &o, &vf, &d), VL_OK, "%s", d.msg);
		got = read_all(vf, 1 + c * 50, &rows);
		cr_assert(rows == want_rows && memcmp(got, raw, raw_len) == 0, "chunk %zu", chunks[c]);
		vl_vecfile_close(vf);
		free(got);
	}
	free(file);
	free(raw);
}

Test(vecfile, numpy_files_bit_identical)
{
	NEED_PYTHON();
	cr_assert_eq(vft_python(
		"import sys, numpy as np\n"
		"d = sys.argv[1]\n"
		"r = np.random.default_rng(9)\n"
		"a = (r.standard_normal((300, 24)) * 10.0 ** r.integers(-40, 38, (300, 24))).astype('<f4')\n"
		"a[0, :6] = [0.0, -0.0, 1e-45, -3.4028235e38, 1.1754944e-38, 0.1]\n"
		"np.save(d + '/a.npy', a); a.tofile(d + '/a.raw')\n"
		"with open(d + '/a2.npy', 'wb') as f: np.lib.format.write_array(f, a, version=(2, 0))\n"
		"with open(d + '/a3.npy', 'wb') as f: np.lib.format.write_array(f, a, version=(3, 0))\n"
		"b = r.standard_normal((50, 7)) * 1e3\n"
		"b[0, 0] = 1.0000000596046448; b[0, 1] = 1e-320\n"
		"np.save(d + '/b.npy', b); b.astype('<f4').tofile(d + '/b.raw')\n"
		"c = (r.standard_normal((40, 9)) * 100).astype('<f2')\n"
		"c[0, :3] = [np.float16(6e-8), -0.0, 65504]\n"
		"np.save(d + '/c.npy', c); c.astype('<f4').tofile(d + '/c.raw')\n"
		"dim = np.full((300, 1), 24, dtype='<i4')\n"
		"np.hstack([dim.view('<f4'), a]).tofile(d + '/a.fvecs')\n"
		"u = r.integers(0, 256, (120, 33), dtype=np.uint8)\n"
		"rows = np.zeros((120, 37), dtype=np.uint8)\n"
		"rows[:, :4] = np.frombuffer(np.int32(33).tobytes(), dtype=np.uint8)\n"
		"rows[:, 4:] = u\n"
		"rows.tofile(d + '/u.bvecs'); u.astype('<f4').tofile(d + '/u.raw')\n"),
		0);
	check_against_raw(vft_path("a.npy"), VL_VECFMT_AUTO, "a.raw", 24, "float32");
	check_against_raw(vft_path("a2.npy"), VL_VECFMT_AUTO, "a.raw", 24, "float32");
	check_against_raw(vft_path("a3.npy"), VL_VECFMT_AUTO, "a.raw", 24, "float32");
	check_against_raw(vft_path("b.npy"), VL_VECFMT_AUTO, "b.raw", 7, "float64");
	check_against_raw(vft_path("c.npy"), VL_VECFMT_AUTO, "c.raw", 9, "float16");
	check_against_raw(vft_path("a.fvecs"), VL_VECFMT_AUTO, "a.raw", 24, "float32");
	check_against_raw(vft_path("u.bvecs"), VL_VECFMT_AUTO, "u.raw", 33, "uint8");
	vl_vecfile *vf = open_path(vft_path("b.npy"), VL_VECFMT_AUTO, 0);
	cr_assert(vl_vecfile_info_get(vf)->converted);
	vl_vecfile_close(vf);
}

Test(vecfile, ivecs_int_rows)
{
	NEED_PYTHON();
	cr_assert_eq(vft_python(
		"import sys, numpy as np\n"
		"d = sys.argv[1]\n"
		"g = np.random.default_rng(1).integers(-2**31, 2**31, (77, 100), dtype=np.int64).astype('<i4')\n"
		"np.hstack([np.full((77, 1), 100, '<i4'), g]).tofile(d + '/gt.ivecs')\n"
		"g.tofile(d + '/gt.raw')\n"), 0);
	vl_vecfile *vf = open_path(vft_path("gt.ivecs"), VL_VECFMT_AUTO, 0);
	const vl_vecfile_info *in = vl_vecfile_info_get(vf);
	cr_assert(in->int_rows && in->dim == 100 && in->rows == 77);
	float f[100];
	size_t got;
	vl_diag d;
	cr_assert_eq(vl_vecfile_next(vf, f, 1, &got, &d), VL_EINVAL);
	cr_assert(strstr(d.msg, "vl_vecfile_next_i32"), "%s", d.msg);
	const vl_jsonl_row *row;
	cr_assert_eq(vl_vecfile_next_row(vf, &row, NULL), VL_EINVAL);
	int32_t *all = malloc(77 * 100 * 4);
	size_t n = 0;
	while (vl_vecfile_next_i32(vf, all + n * 100, 10, &got, &d) == VL_OK && got)
		n += got;
	cr_assert_eq(n, 77);
	size_t rl;
	void *raw = vft_read_file(vft_path("gt.raw"), &rl);
	cr_assert(rl == 77 * 400 && memcmp(raw, all, rl) == 0);
	free(raw);
	free(all);
	vl_vecfile_close(vf);

	vf = open_path(vft_path("gt.ivecs"), VL_VECFMT_FVECS, 0); /* forced: float rows */
	cr_assert(!vl_vecfile_info_get(vf)->int_rows);
	int32_t i32[100];
	cr_assert_eq(vl_vecfile_next_i32(vf, i32, 1, &got, &d), VL_EINVAL);
	vl_vecfile_close(vf);
}

Test(vecfile, fashion_mnist_idx)
{
	char path[512];
	snprintf(path, sizeof path, "%s/fmnist-test-images", vft_datadir());
	if (access(path, R_OK) != 0)
		cr_skip_test("%s is missing (make data)", path);
	/* No extension: the IDX magic identifies the file. */
	vl_vecfile *vf = open_path(path, VL_VECFMT_AUTO, 0);
	const vl_vecfile_info *in = vl_vecfile_info_get(vf);
	cr_assert_eq(in->fmt, VL_VECFMT_IDX);
	cr_assert_eq(in->dim, 784);
	cr_assert_eq(in->rows, 10000);
	cr_assert_str_eq(in->source_type, "uint8");
	size_t rows;
	float *got = read_all(vf, 1000, &rows);
	cr_assert_eq(rows, 10000);
	size_t len;
	uint8_t *raw = vft_read_file(path, &len);
	cr_assert_eq(len, 16 + 10000 * 784);
	for (size_t i = 0; i < 10000 * 784; i++)
		cr_assert_eq(got[i], (float)raw[16 + i], "pixel %zu", i);
	free(raw);
	free(got);
	vl_vecfile_close(vf);
}

Test(vecfile, fvecs_next_row_keys_are_row_numbers)
{
	vl_sink s;
	vl_sink_init_mem(&s);
	for (int r = 0; r < 12; r++) {
		float v[3] = { (float)r, 0.5f, -1.0f };
		cr_assert_eq(vl_fvecs_write_row(&s, v, 3), VL_OK);
	}
	vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
	o.fmt = VL_VECFMT_FVECS;
	vl_vecfile *vf;
	cr_assert_eq(vl_vecfile_open_mem(s.buf, s.len, "mem", &o, &vf, NULL), VL_OK);
	cr_assert_eq(vl_vecfile_info_get(vf)->rows, 12);
	for (int r = 0; r < 12; r++) {
		const vl_jsonl_row *row;
		cr_assert_eq(vl_vecfile_next_row(vf, &row, NULL), VL_OK);
		cr_assert(row);
		char k[16];
		snprintf(k, sizeof k, "%d", r);
		cr_assert(row->key_len == strlen(k) && !memcmp(row->key, k, row->key_len));
		cr_assert(!row->key_given && row->dim == 3 && row->vector[0] == (float)r);
		cr_assert_eq(row->offset, (uint64_t)r * 16);
		cr_assert_eq(vl_vecfile_row_index(vf), (uint64_t)r + 1);
	}
	const vl_jsonl_row *row;
	cr_assert_eq(vl_vecfile_next_row(vf, &row, NULL), VL_OK);
	cr_assert_null(row);
	vl_vecfile_close(vf);
	vl_sink_free(&s);
}

/* ---- text formats ---------------------------------------------------------------- */

Test(vecfile, python_jsonl_and_json_files)
{
	NEED_PYTHON();
	cr_assert_eq(vft_python(
		"import sys, json, random\n"
		"d = sys.argv[1]; random.seed(4)\n"
		"rows = []\n"
		"for i in range(250):\n"
		"    v = [random.gauss(0, 1) * 10.0 ** random.randrange(-30, 30) for _ in range(12)]\n"
		"    o = {'vector': v}\n"
		"    if i % 3: o['key'] = 'doc:%d' % i\n"
		"    if i % 4 == 1: o['fields'] = {'n': i, 'tag': ['x', 'y%d' % i]}\n"
		"    rows.append(o)\n"
		"with open(d + '/r.jsonl', 'w') as f:\n"
		"    f.write('\\ufeff')\n"
		"    for i, o in enumerate(rows):\n"
		"        if i % 50 == 7: f.write('\\n')\n"
		"        f.write(json.dumps(o) + '\\n')\n"
		"with open(d + '/r.json', 'w') as f: json.dump(rows, f, indent=2)\n"
		"with open(d + '/r.txt', 'w') as f:\n"
		"    for o in rows: f.write(' '.join(repr(x) for x in o['vector']) + '\\n')\n"
		"with open(d + '/one.json', 'w') as f: json.dump(rows[0]['vector'], f)\n"), 0);
	FILE *t = fopen(vft_path("r.txt"), "r");
	cr_assert(t);
	float *want = malloc(250 * 12 * sizeof(float));
	for (int i = 0; i < 250 * 12; i++) {
		char tok[64];
		cr_assert_eq(fscanf(t, "%63s", tok), 1);
		want[i] = strtof(tok, NULL);
	}
	fclose(t);
	const char *files[] = { "r.jsonl", "r.json" };
	for (int fi = 0; fi < 2; fi++) {
		vl_vecfile *vf = open_path(vft_path(files[fi]), VL_VECFMT_AUTO, 0);
		cr_assert_eq(vl_vecfile_info_get(vf)->fmt, fi ? VL_VECFMT_JSON : VL_VECFMT_JSONL);
		cr_assert_eq(vl_vecfile_info_get(vf)->dim, 12);
		for (int i = 0; i < 250; i++) {
			const vl_jsonl_row *r;
			vl_diag d;
			cr_assert_eq(vl_vecfile_next_row(vf, &r, &d), VL_OK, "%s", d.msg);
			cr_assert(r, "%s: row %d missing", files[fi], i);
			cr_assert(memcmp(r->vector, want + i * 12, 48) == 0, "%s row %d", files[fi], i);
			char k[16];
			snprintf(k, sizeof k, i % 3 ? "doc:%d" : "%d", i);
			cr_assert(r->key_len == strlen(k) && !memcmp(r->key, k, r->key_len), "%s row %d key",
			          files[fi], i);
			cr_assert_eq(r->key_given, i % 3 != 0);
			cr_assert_eq(r->nfields, i % 4 == 1 ? 2u : 0u);
			if (fi == 0)
				cr_assert_eq(r->line, (uint64_t)(i + 1 + (i + 43) / 50), "row %d", i);
		}
		const vl_jsonl_row *r;
		cr_assert_eq(vl_vecfile_next_row(vf, &r, NULL), VL_OK);
		cr_assert_null(r);
		vl_vecfile_close(vf);

		/* the same through tiny chunks, as float batches */
		size_t len;
		void *file = vft_read_file(vft_path(files[fi]), &len);
		for (size_t chunk = 1; chunk < 5000; chunk = chunk * 7 + 1) {
			vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
			o.chunk = chunk;
			vl_diag d;
			cr_assert_eq(vl_vecfile_open_mem(file, len, files[fi], &o, &vf, &d), VL_OK, "%s", d.msg);
			size_t rows;
			float *got = read_all(vf, 9, &rows);
			cr_assert(rows == 250 && memcmp(got, want, 250 * 48) == 0, "chunk %zu", chunk);
			free(got);
			vl_vecfile_close(vf);
		}
		free(file);
	}
	vl_vecfile *vf = open_path(vft_path("one.json"), VL_VECFMT_AUTO, 0);
	size_t rows;
	float *got = read_all(vf, 4, &rows);
	cr_assert(rows == 1 && memcmp(got, want, 48) == 0);
	free(got);
	vl_vecfile_close(vf);
	free(want);
}

/* ---- errors ------------------------------------------------------------------------ */

/* Open bytes as a file named `name`; expect open to fail with code and needles. */
static void open_bad(const void *bytes, size_t len, const char *name, int code, const char *n1,
                     const char *n2)
{
	vl_vecfile *vf = NULL;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_vecfile_open_mem(bytes, len, name, NULL, &vf, &d);
	cr_assert_eq(rc, code, "%s: got %d: %s", name, rc, d.msg);
	cr_assert_null(vf);
	cr_assert(strstr(d.msg, name), "no file name in '%s'", d.msg);
	cr_assert(strstr(d.msg, n1), "'%s' lacks '%s'", d.msg, n1);
	if (n2)
		cr_assert(strstr(d.msg, n2), "'%s' lacks '%s'", d.msg, n2);
}

/* Read all rows; expect `good` rows and then error `code` mentioning needles;
 * the error is final unless `skippable`. */
static void read_bad_ex(const void *bytes, size_t len, const char *name, size_t good, int code,
                        const char *n1, const char *n2, int skippable)
{
	vl_vecfile *vf;
	vl_diag d;
	vl_diag_clear(&d);
	cr_assert_eq(vl_vecfile_open_mem(bytes, len, name, NULL, &vf, &d), VL_OK, "%s: %s", name,
	             d.msg);
	uint32_t dim = vl_vecfile_info_get(vf)->dim;
	float *buf = malloc((good + 8) * dim * sizeof(float));
	size_t got, n = 0;
	int rc;
	while ((rc = vl_vecfile_next(vf, buf, good + 8, &got, &d)) == VL_OK && got)
		n += got;
	cr_assert_eq(n, good, "%s: %zu good rows", name, n);
	cr_assert_eq(rc, code, "%s: %d: %s", name, rc, d.msg);
	cr_assert(strstr(d.msg, name) && strstr(d.msg, n1), "'%s' lacks '%s'", d.msg, n1);
	if (n2)
		cr_assert(strstr(d.msg, n2), "'%s' lacks '%s'", d.msg, n2);
	cr_assert(strstr(d.msg, "byte offset"), "'%s' has no offset", d.msg);
	cr_assert_eq(vl_vecfile_skippable(vf), skippable, "%s: skippable", name);
	if (!skippable) { /* a final error repeats */
		cr_assert_eq(vl_vecfile_next(vf, buf, 1, &got, NULL), code);
		cr_assert_eq(got, 0);
		cr_assert_eq(vl_vecfile_skippable(vf), 0);
	} else {
		cr_assert_neq(vl_vecfile_next(vf, buf, 1, &got, NULL), code);
	}
	free(buf);
	vl_vecfile_close(vf);
}

static void read_bad(const void *bytes, size_t len, const char *name, size_t good, int code,
                     const char *n1, const char *n2)
{
	read_bad_ex(bytes, len, name, good, code, n1, n2, 0);
}

/* n fvecs rows of dim d, row r filled with r. */
static size_t make_fvecs(uint8_t *out, int n, uint32_t dim)
{
	vl_sink s;
	vl_sink_init_mem(&s);
	float v[64];
	for (int r = 0; r < n; r++) {
		for (uint32_t i = 0; i < dim; i++)
			v[i] = (float)r;
		vl_fvecs_write_row(&s, v, dim);
	}
	memcpy(out, s.buf, s.len);
	size_t len = s.len;
	vl_sink_free(&s);
	return len;
}

Test(vecfile, xvecs_errors)
{
	uint8_t f[4096] = { 0 };
	open_bad(f, 0, "e.fvecs", VL_EFORMAT, "empty file", NULL);
	size_t len = make_fvecs(f, 10, 4); /* 20 bytes per row */
	read_bad(f, len - 3, "t.fvecs", 9, VL_EFORMAT, "row 9: truncated row", "offset 180");
	read_bad(f, len + 2, "t2.fvecs", 10, VL_EFORMAT, "row 10: truncated row", "4-byte dim");
	open_bad(f, 2, "short.fvecs", VL_EFORMAT, "row 0", "truncated");
	uint8_t z[8] = { 0 };
	open_bad(z, 8, "z.fvecs", VL_EFORMAT, "row 0: dim 0", NULL);
	uint8_t neg[8] = { 0xff, 0xff, 0xff, 0xff };
	open_bad(neg, 8, "neg.ivecs", VL_EFORMAT, "negative dim -1", NULL);
	uint8_t big[8] = { 0x70, 0x11, 0x01, 0x00 }; /* 70000 */
	open_bad(big, 8, "big.bvecs", VL_EDIM, "dim 70000 exceeds the maximum 65535", NULL);
	/* row 5 claims dim 3 */
	f[5 * 20] = 3;
	read_bad(f, len, "d.fvecs", 5, VL_EDIM, "row 5: row has dim 3 but the first row has dim 4",
	         "offset 100");
	f[5 * 20] = 0;
	read_bad(f, len, "d0.fvecs", 5, VL_EFORMAT, "row 5: dim 0", "offset 100");
}

Test(vecfile, nonfinite_rows_are_reported_and_skippable)
{
	uint8_t f[4096];
	size_t len = make_fvecs(f, 10, 4);
	float nan = NAN, inf = -INFINITY;
	memcpy(f + 3 * 20 + 4 + 2 * 4, &nan, 4);
	memcpy(f + 7 * 20 + 4, &inf, 4);
	vl_vecfile *vf;
	cr_assert_eq(vl_vecfile_open_mem(f, len, "n.fvecs", NULL, &vf, NULL), VL_OK);
	float buf[40];
	size_t got;
	vl_diag d;
	cr_assert_eq(vl_vecfile_next(vf, buf, 10, &got, &d), VL_OK);
	cr_assert_eq(got, 3, "rows before the bad one come first");
	cr_assert_eq(vl_vecfile_next(vf, buf, 10, &got, &d), VL_ENAN);
	cr_assert_eq(got, 0);
	cr_assert(strstr(d.msg, "n.fvecs: row 3: component 2 is NaN"), "%s", d.msg);
	cr_assert_eq(d.offset, 60);
	cr_assert_eq(vl_vecfile_next(vf, buf, 10, &got, &d), VL_OK);
	cr_assert(got == 3 && buf[0] == 4.0f && buf[8] == 6.0f, "reading goes on after VL_ENAN");
	cr_assert_eq(vl_vecfile_next(vf, buf, 10, &got, &d), VL_ENAN);
	cr_assert(strstr(d.msg, "row 7: component 0 is infinite"), "%s", d.msg);
	cr_assert_eq(vl_vecfile_next(vf, buf, 10, &got, &d), VL_OK);
	cr_assert(got == 2 && buf[0] == 8.0f && buf[4] == 9.0f);
	cr_assert_eq(vl_vecfile_next(vf, buf, 10, &got, &d), VL_OK);
	cr_assert_eq(got, 0);
	vl_vecfile_close(vf);

	vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
	o.flags = VL_VECFILE_ALLOW_NONFINITE;
	cr_assert_eq(vl_vecfile_open_mem(f, len, "n.fvecs", &o, &vf, NULL), VL_OK);
	cr_assert_eq(vl_vecfile_next(vf, buf, 10, &got, &d), VL_OK);
	cr_assert(got == 10 && isnan(buf[3 * 4 + 2]) && isinf(buf[7 * 4]));
	vl_vecfile_close(vf);

	const char *jl = "{\"key\":\"a\",\"vector\":[1,2]}\n\n{\"vector\":[1e39,2]}\n[3,4]\n";
	cr_assert_eq(vl_vecfile_open_mem(jl, strlen(jl), "n.jsonl", NULL, &vf, NULL), VL_OK);
	const vl_jsonl_row *r;
	cr_assert_eq(vl_vecfile_next_row(vf, &r, &d), VL_OK);
	cr_assert_eq(vl_vecfile_next_row(vf, &r, &d), VL_ENAN);
	cr_assert(strstr(d.msg, "row 1 (line 3): component 0 is infinite"), "%s", d.msg);
	cr_assert_eq(vl_vecfile_next_row(vf, &r, &d), VL_OK);
	cr_assert(r && r->vector[0] == 3.0f && r->row == 2 && r->line == 4);
	vl_vecfile_close(vf);
}

/* An npy file with the given header dict and data bytes. */
static size_t make_npy(uint8_t *out, int major, const char *dict, const void *data,
                       size_t dlen)
{
	size_t pre = major == 1 ? 10 : 12, hl = strlen(dict);
	memcpy(out, "\x93NUMPY", 6);
	out[6] = (uint8_t)major;
	out[7] = 0;
	out[8] = (uint8_t)hl;
	out[9] = (uint8_t)(hl >> 8);
	if (major > 1)
		out[10] = out[11] = 0;
	memcpy(out + pre, dict, hl);
	memcpy(out + pre + hl, data, dlen);
	return pre + hl + dlen;
}

#define NPY_BAD(dict, code, n1, n2)                                                  \
	do {                                                                             \
		size_t l_ = make_npy(buf, 1, dict, data, sizeof data);                      \
		open_bad(buf, l_, "h.npy", code, n1, n2);                                    \
	} while (0)

Test(vecfile, npy_header_errors)
{
	uint8_t buf[1024];
	float data[6] = { 1, 2, 3, 4, 5, 6 };
	NPY_BAD("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }\n", VL_EUNSUPPORTED,
	        "dtype '<i4' is not supported", "'<f4'");
	NPY_BAD("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", VL_EUNSUPPORTED,
	        "big-endian", NULL);
	NPY_BAD("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n",
	        VL_EUNSUPPORTED, "structured", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", VL_EUNSUPPORTED,
	        "fortran_order True", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", VL_EUNSUPPORTED,
	        "shape (6,)", "2-D");
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }\n", VL_EUNSUPPORTED,
	        "shape (1, 2, 3)", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (6, 0), }\n", VL_EFORMAT,
	        "dim 0", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 65536), }\n", VL_EDIM,
	        "dim 65536", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }\n", VL_EFORMAT,
	        "no rows", NULL);
	NPY_BAD("{'descr': '<f4', 'shape': (2, 3), }\n", VL_EFORMAT, "lacks the key 'fortran_order'",
	        NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}\n", VL_EFORMAT,
	        "unknown key 'x'", NULL);
	NPY_BAD("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\n",
	        VL_EFORMAT, "repeats key 'descr'", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': maybe, 'shape': (2, 3)}\n", VL_EFORMAT,
	        "malformed npy header: expected True or False", "offset 44");
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2; 3)}\n", VL_EFORMAT,
	        "',' or ')'", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x\n", VL_EFORMAT,
	        "only padding", NULL);
	NPY_BAD("['descr']\n", VL_EFORMAT, "'{'", NULL);
	NPY_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3)}",
	        VL_EFORMAT, "overflows", NULL);

	size_t l = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
	                    data, sizeof data);
	buf[6] = 4;
	open_bad(buf, l, "v.npy", VL_EUNSUPPORTED, "version 4.0", NULL);
	buf[6] = 1;
	buf[0] = 0x92;
	open_bad(buf, l, "m.npy", VL_EFORMAT, "not an npy file", NULL);
	buf[0] = 0x93;
	open_bad(buf, 9, "tr.npy", VL_EFORMAT, "truncated npy header", NULL);
	open_bad(buf, 30, "tr2.npy", VL_EFORMAT, "truncated npy header", NULL);
	/* data: truncated, then trailing bytes */
	read_bad(buf, l - 1, "d.npy", 1, VL_EFORMAT, "row 1: truncated row", "2 rows of dim 3");
	uint8_t big[1024];
	memcpy(big, buf, l);
	big[l] = 0;
	read_bad(big, l + 5, "x.npy", 2, VL_EFORMAT, "5 unexpected bytes after the last row", NULL);
	/* version 2.0 header, data fine */
	l = make_npy(buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data,
	             sizeof data);
	vl_vecfile *vf;
	cr_assert_eq(vl_vecfile_open_mem(buf, l, "ok.npy", NULL, &vf, NULL), VL_OK);
	float out[6];
	size_t got;
	cr_assert_eq(vl_vecfile_next(vf, out, 2, &got, NULL), VL_OK);
	cr_assert(got == 2 && memcmp(out, data, sizeof data) == 0);
	vl_vecfile_close(vf);

	/* the pure parser on its own */
	vl_npy_header h;
	vl_diag d;
	cr_assert_eq(vl_npy_parse_header(buf, 12, &h, &d), VL_EFORMAT);
	cr_assert(strstr(d.msg, "truncated"), "%s", d.msg);
	cr_assert_eq(vl_npy_parse_header(buf, l, &h, &d), VL_OK);
	cr_assert(h.major == 2 && h.rows == 2 && h.dim == 3 && h.dtype == VL_NPY_F4);
	cr_assert_eq(h.header_bytes, l - sizeof data);
	cr_assert_eq(h.data_bytes, sizeof data);
}

Test(vecfile, half_floats_exact)
{
	/* every binary16 value converts exactly: compare with ldexp arithmetic */
	for (uint32_t h = 0; h < 65536; h++) {
		float f = vl_half_to_float((uint16_t)h);
		uint32_t e = (h >> 10) & 31, m = h & 1023;
		double want = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY)
		                                              : ldexp(1024 + m, (int)e - 25);
		if (h & 0x8000)
			want = -want;
		if (isnan(want))
			cr_assert(isnan(f));
		else
			cr_assert_eq((double)f, want, "%04x", h);
		if (h == 0x8000)
			cr_assert(signbit(f));
	}
}

Test(vecfile, idx_errors)
{
	uint8_t b[64] = { 0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2 };
	for (int i = 16; i < 24; i++)
		b[i] = (uint8_t)i;
	vl_vecfile *vf;
	cr_assert_eq(vl_vecfile_open_mem(b, 24, "ok-idx3-ubyte", NULL, &vf, NULL), VL_OK);
	cr_assert_eq(vl_vecfile_info_get(vf)->dim, 4);
	vl_vecfile_close(vf);
	read_bad(b, 23, "t-idx3-ubyte", 1, VL_EFORMAT, "row 1: truncated row", NULL);
	read_bad(b, 26, "x-idx3-ubyte", 2, VL_EFORMAT, "2 unexpected bytes", NULL);
	b[2] = 0x0d;
	open_bad(b, 24, "f-idx3-ubyte", VL_EUNSUPPORTED, "element type 0x0d", NULL);
	b[2] = 0x08;
	b[3] = 1;
	open_bad(b, 24, "l-idx3-ubyte", VL_EUNSUPPORTED, "1 dimensions", NULL);
	b[3] = 3;
	b[0] = 1;
	open_bad(b, 24, "m-idx3-ubyte", VL_EFORMAT, "not an IDX file", NULL);
	b[0] = 0;
	open_bad(b, 10, "h-idx3-ubyte", VL_EFORMAT, "truncated IDX header", NULL);
	b[7] = 0;
	open_bad(b, 24, "n-idx3-ubyte", VL_EFORMAT, "no rows", NULL);
	b[7] = 2;
	b[11] = 0;
	open_bad(b, 24, "z-idx3-ubyte", VL_EFORMAT, "dim 0", NULL);
	b[10] = 1; /* 256 x 2 */
	b[11] = 0;
	b[14] = 1; /* x 256 = 65536 */
	b[15] = 0;
	open_bad(b, 24, "big-idx3-ubyte", VL_EDIM, "dim 65536", NULL);
}

Test(vecfile, jsonl_errors)
{
	const char *t1 = "[1,2]\n\n[3,4]\n[5]\n";
	read_bad_ex(t1, strlen(t1), "a.jsonl", 2, VL_EDIM, "row 2: line 4: vector has dim 1",
	            "offset 13", 1);
	const char *t2 = "[1,2]\n{\"vector\": [3, 4}\n";
	read_bad_ex(t2, strlen(t2), "b.jsonl", 1, VL_EFORMAT, "row 1: line 2, column 17", "offset 22",
	            1);
	const char *t3 = "[1,2]\n{\"key\": \"\", \"vector\": [3, 4]}\n";
	read_bad_ex(t3, strlen(t3), "c.jsonl", 1, VL_EKEY, "row 1: line 2: key is empty", NULL, 1);
	open_bad("\n \n\r\n", 5, "blank.jsonl", VL_EFORMAT, "no rows", NULL);
	open_bad("{\"vector\": []}\n", 15, "d0.jsonl", VL_EFORMAT, "row 0: line 1: vector is empty",
	         NULL);
	/* line length limit */
	char big[400];
	memset(big, ' ', sizeof big);
	memcpy(big, "[1,2]\n[", 7);
	big[sizeof big - 2] = ']';
	big[sizeof big - 1] = '\n';
	vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
	o.line_max = 100;
	o.chunk = 16;
	vl_vecfile *vf;
	cr_assert_eq(vl_vecfile_open_mem(big, sizeof big, "long.jsonl", &o, &vf, NULL), VL_OK);
	float out[4];
	size_t got;
	vl_diag d;
	cr_assert_eq(vl_vecfile_next(vf, out, 2, &got, &d), VL_OK);
	cr_assert_eq(got, 1);
	cr_assert_eq(vl_vecfile_next(vf, out, 2, &got, &d), VL_ELIMIT);
	cr_assert(strstr(d.msg, "row 1: line 2 is longer than 100 bytes"), "%s", d.msg);
	vl_vecfile_close(vf);
}

Test(vecfile, json_errors)
{
	const char *t1 = "[[1,2],\n [3,4],\n]";
	read_bad(t1, strlen(t1), "a.json", 2, VL_EFORMAT, "line 3: trailing ','", NULL);
	const char *t2 = "[[1,2]] [";
	read_bad(t2, strlen(t2), "b.json", 1, VL_EFORMAT, "unexpected '[' after the JSON array",
	         NULL);
	const char *t3 = "[[1,2] [3,4]]";
	read_bad(t3, strlen(t3), "c.json", 1, VL_EFORMAT, "expected ',' or ']' after a row", NULL);
	const char *t4 = "[[1,2],\n[3,4]";
	read_bad(t4, strlen(t4), "d.json", 2, VL_EFORMAT, "line 2: the array is not closed", NULL);
	const char *t5 = "[[1,2],\n\"x\"]";
	read_bad_ex(t5, strlen(t5), "e.json", 1, VL_EFORMAT, "row 1: line 2: a row must be", NULL, 1);
	const char *t6 = "[[1,2],\n [3,\n 4,]]";
	read_bad(t6, strlen(t6), "f.json", 1, VL_EFORMAT, "row 1: line 3", "trailing ','");
	open_bad("{\"vector\": [1]}", 15, "o.json", VL_EFORMAT, "holds one array", "'{'");
	open_bad("  []  ", 6, "empty.json", VL_EFORMAT, "no rows", NULL);
	open_bad("[[]]", 4, "d0.json", VL_EFORMAT, "dim 0", NULL);
	open_bad("[1, 2", 5, "u.json", VL_EFORMAT, "line 1", NULL);
}

Test(vecfile, row_errors_can_be_skipped)
{
	/* JSON Lines: bad lines are consumed; row numbers (and default keys)
	 * still count them. */
	const char *t = "[1,2]\n{\"vector\": [3}\n[4]\n\n{\"vector\": [5, 6], \"x\": 1}\n"
	                "[7,1e39]\n[8,9]\n";
	vl_vecfile *vf;
	cr_assert_eq(vl_vecfile_open_mem(t, strlen(t), "s.jsonl", NULL, &vf, NULL), VL_OK);
	static const struct { int rc; const char *msg; float first; uint64_t row; } want[] = {
		{ VL_OK, NULL, 1, 0 },
		{ VL_EFORMAT, "row 1: line 2, column 14", 0, 0 },
		{ VL_EDIM, "row 2: line 3: vector has dim 1", 0, 0 },
		{ VL_EFORMAT, "row 3: line 5: unknown member \"x\"", 0, 0 },
		{ VL_ENAN, "row 4 (line 6): component 1 is infinite", 0, 0 },
		{ VL_OK, NULL, 8, 5 },
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		const vl_jsonl_row *r;
		vl_diag d;
		vl_diag_clear(&d);
		int rc = vl_vecfile_next_row(vf, &r, &d);
		cr_assert_eq(rc, want[i].rc, "step %zu: %d %s", i, rc, d.msg);
		if (rc) {
			cr_assert(strstr(d.msg, want[i].msg), "step %zu: %s", i, d.msg);
			cr_assert(vl_vecfile_skippable(vf));
		} else {
			cr_assert(r && r->vector[0] == want[i].first && r->row == want[i].row);
			cr_assert(!vl_vecfile_skippable(vf));
		}
	}
	const vl_jsonl_row *r;
	cr_assert_eq(vl_vecfile_next_row(vf, &r, NULL), VL_OK);
	cr_assert_null(r);
	vl_vecfile_close(vf);

	/* batches deliver the good rows around the bad ones */
	cr_assert_eq(vl_vecfile_open_mem(t, strlen(t), "s.jsonl", NULL, &vf, NULL), VL_OK);
	float out[20];
	size_t got, total = 0;
	int errors = 0;
	for (;;) {
		int rc = vl_vecfile_next(vf, out, 10, &got, NULL);
		if (rc) {
			cr_assert(vl_vecfile_skippable(vf));
			errors++;
			continue;
		}
		if (!got)
			break;
		total += got;
	}
	cr_assert(total == 2 && errors == 4);
	vl_vecfile_close(vf);

	/* binary framing errors are final */
	uint8_t f[4096];
	size_t len = make_fvecs(f, 4, 4);
	f[2 * 20] = 3;
	read_bad(f, len, "final.fvecs", 2, VL_EDIM, "row 2", NULL);
}

Test(vecfile, format_detection)
{
	cr_assert_eq(vl_vecfmt_from_path("/a/b.FVECS"), VL_VECFMT_FVECS);
	cr_assert_eq(vl_vecfmt_from_path("x.bvecs"), VL_VECFMT_BVECS);
	cr_assert_eq(vl_vecfmt_from_path("gt.ivecs"), VL_VECFMT_IVECS);
	cr_assert_eq(vl_vecfmt_from_path("v.npy"), VL_VECFMT_NPY);
	cr_assert_eq(vl_vecfmt_from_path("r.jsonl"), VL_VECFMT_JSONL);
	cr_assert_eq(vl_vecfmt_from_path("r.ndjson"), VL_VECFMT_JSONL);
	cr_assert_eq(vl_vecfmt_from_path("r.json"), VL_VECFMT_JSON);
	cr_assert_eq(vl_vecfmt_from_path("train-images-idx3-ubyte"), VL_VECFMT_IDX);
	cr_assert_eq(vl_vecfmt_from_path("data.bin"), VL_VECFMT_AUTO);
	cr_assert_eq(vl_vecfmt_from_path(NULL), VL_VECFMT_AUTO);
	vl_vecfmt f;
	cr_assert(vl_vecfmt_from_name("ndjson", &f) == VL_OK && f == VL_VECFMT_JSONL);
	cr_assert(vl_vecfmt_from_name("NPY", &f) == VL_OK && f == VL_VECFMT_NPY);
	cr_assert_eq(vl_vecfmt_from_name("csv", &f), VL_EINVAL);
	cr_assert_str_eq(vl_vecfmt_name(VL_VECFMT_IDX), "idx");
	open_bad("[1,2]\n", 6, "data.bin", VL_EINVAL, "cannot tell the vector format", NULL);
	vl_diag d;
	vl_vecfile *vf;
	cr_assert_eq(vl_vecfile_open("/nonexistent/x.fvecs", NULL, &vf, &d), VL_EIO);
	cr_assert(strstr(d.msg, "/nonexistent/x.fvecs: cannot open"), "%s", d.msg);
}

Test(vecfile, pipe_input)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	uint8_t f[4096];
	size_t len = make_fvecs(f, 50, 16);
	cr_assert_eq(write(fds[1], f, len), (ssize_t)len);
	close(fds[1]);
	vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
	o.fmt = VL_VECFMT_FVECS;
	o.chunk = 100;
	vl_vecfile *vf;
	vl_diag d;
	cr_assert_eq(vl_vecfile_open_fd(fds[0], "stdin", &o, &vf, &d), VL_OK, "%s", d.msg);
	cr_assert_eq(vl_vecfile_info_get(vf)->rows, UINT64_MAX);
	size_t rows;
	float *got = read_all(vf, 7, &rows);
	cr_assert_eq(rows, 50);
	for (int r = 0; r < 50; r++)
		cr_assert_eq(got[r * 16 + 15], (float)r);
	free(got);
	vl_vecfile_close(vf);
	close(fds[0]);
}

Test(vecfile, writers_match_numpy)
{
	NEED_PYTHON();
	FILE *fv = fopen(vft_path("w.fvecs"), "wb");
	FILE *iv = fopen(vft_path("w.ivecs"), "wb");
	FILE *raw = fopen(vft_path("w.raw"), "wb");
	cr_assert(fv && iv && raw);
	vl_sink sf, si;
	vl_sink_init_file(&sf, fv);
	vl_sink_init_file(&si, iv);
	for (int r = 0; r < 40; r++) {
		float v[10];
		int32_t iv32[10];
		for (int i = 0; i < 10; i++) {
			v[i] = (float)r / (float)(i + 1) - 3.0f;
			iv32[i] = r * 1000 - i;
		}
		cr_assert_eq(vl_fvecs_write_row(&sf, v, 10), VL_OK);
		cr_assert_eq(vl_ivecs_write_row(&si, iv32, 10), VL_OK);
		fwrite(v, 4, 10, raw);
	}
	cr_assert_eq(vl_fvecs_write_row(&sf, NULL, 10), VL_EINVAL);
	float one = 1;
	cr_assert_eq(vl_fvecs_write_row(&sf, &one, 0), VL_EINVAL);
	cr_assert_eq(vl_fvecs_write_row(&sf, &one, 65536), VL_EINVAL);
	fclose(fv);
	fclose(iv);
	fclose(raw);
	cr_assert_eq(vft_python(
		"import sys, numpy as np\n"
		"d = sys.argv[1]\n"
		"a = np.fromfile(d + '/w.fvecs', dtype='<i4').reshape(40, 11)\n"
		"assert (a[:, 0] == 10).all()\n"
		"assert a[:, 1:].tobytes() == open(d + '/w.raw', 'rb').read()\n"
		"g = np.fromfile(d + '/w.ivecs', dtype='<i4').reshape(40, 11)\n"
		"assert (g[:, 0] == 10).all()\n"
		"want = np.array([[r * 1000 - i for i in range(10)] for r in range(40)])\n"
		"assert (g[:, 1:] == want).all()\n"), 0);
}
