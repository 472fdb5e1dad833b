/*
 * test_verify.c - damaged segment files: verify finds every flipped byte;
 * open and search report corruption as errors, never crash.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segment.h"
#include "util/tstore.h"

#define DIM 16
#define N 3000

static char *dir;
static void setup(void) { dir = ts_tmpdir("verify"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(verify, .init = setup, .fini = teardown);

static size_t vals(size_t i, vl_value *v, char *buf, size_t len)
{
	snprintf(buf, len, "%zu", i % 50);
	v[0] = (vl_value){ "tag", i % 3 ? "x,y" : "z", i % 3 ? 3 : 1, 0 };
	v[1] = (vl_value){ "num", buf, strlen(buf), 0 };
	return 2;
}

/* A store with one flushed segment (+ a few deleted rows); returns the
 * segment file's path. */
static void build(char *segpath, size_t len)
{
	ts_rng rng = { 3 };
	float *v = malloc(N * DIM * sizeof *v);
	ts_vectors(&rng, v, N, DIM);
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", NULL, "tag:tag,num:numeric", NULL);
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, N, DIM, vals), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	vl_txn *t;
	const void *keys[] = { "k1", "k2" };
	size_t lens[] = { 2, 2 };
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	cr_assert_eq(vl_delete(t, c, keys, lens, 2, NULL), VL_OK);
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	vl_collection_close(c);
	vl_close(st);
	free(v);
	snprintf(segpath, len, "%s/seg/c1-s000001.vseg", dir);
	struct stat sb;
	cr_assert_eq(stat(segpath, &sb), 0, "expected segment %s", segpath);
}

static void flip(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	cr_assert(fd >= 0);
	uint8_t b;
	cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x20;
	cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static void read_layout(const char *path, vl_seg_layout *l)
{
	uint8_t buf[VL_SEG_ALIGN];
	int fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	struct stat sb;
	fstat(fd, &sb);
	cr_assert_eq(pread(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
	close(fd);
	vl_diag d;
	cr_assert_eq(vl_seg_decode_header(buf, sizeof buf, (uint64_t)sb.st_size, l, &d), VL_OK, "%s", d.msg);
}

/* Run every read operation; each must return a code, never crash. */
static int exercise(vl_store *st)
{
	vl_collection *c;
	int rc = vl_collection_open(st, "c", &c);
	if (rc)
		return rc;
	float q[DIM] = { 0.1f };
	vl_results *res = NULL;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	int r1 = vl_search(c, q, DIM, &so, &res);
	vl_results_free(res);
	so.filter = "tag == 'x' AND num < 20";
	res = NULL;
	int r2 = vl_search(c, q, DIM, &so, &res);
	vl_results_free(res);
	uint64_t n;
	int r3 = vl_count(c, "tag IN ('z')", &n);
	vl_record *rec = NULL;
	int r4 = vl_get(c, "k77", 3, &rec);
	vl_free(rec);
	vl_cursor *cur;
	int r5 = vl_cursor_open(c, &cur);
	if (!r5) {
		const vl_record *rr;
		while ((r5 = vl_cursor_next(cur, &rr)) == VL_OK && rr)
			;
		vl_cursor_close(cur);
	}
	vl_collection_close(c);
	return r1 ? r1 : r2 ? r2 : r3 ? r3 : r4 ? r4 : r5;
}

Test(verify, clean_store_is_sound)
{
	char seg[1200];
	build(seg, sizeof seg);
	vl_store *st = ts_open(dir);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "%s", vl_errmsg(st));
	cr_assert_eq(exercise(st), VL_OK, "%s", vl_errmsg(st));
	vl_close(st);
}

typedef struct collect {
	int n;
	char first[512];
} collect;
static void on_problem(void *ud, const char *p)
{
	collect *c = ud;
	if (!c->n++)
		snprintf(c->first, sizeof c->first, "%s", p);
}

Test(verify, finds_a_flipped_byte_in_every_section)
{
	char seg[1200];
	build(seg, sizeof seg);
	vl_seg_layout l;
	read_layout(seg, &l);
	char backup[1300], cmd[3000];
	snprintf(backup, sizeof backup, "%s.orig", seg);
	snprintf(cmd, sizeof cmd, "cp %s %s", seg, backup);
	cr_assert_eq(system(cmd), 0);
	for (uint32_t i = 0; i < l.h.nsections; i++) {
		if (!l.sec[i].length)
			continue;
		uint64_t off = l.sec[i].offset + l.sec[i].length / 2;
		flip(seg, off);
		vl_store *st = ts_open(dir);
		collect col = { 0 };
		int rc = vl_verify(st, on_problem, &col);
		cr_assert_eq(rc, VL_ECORRUPT, "flip in section %s at %llu not detected", vl_seg_section_name(l.sec[i].kind),
		             (unsigned long long)off);
		cr_assert(strstr(col.first, "checksum mismatch"), "report: %s", col.first);
		cr_assert(strstr(col.first, vl_seg_section_name(l.sec[i].kind)), "report names the section: %s", col.first);
		exercise(st); /* any result, but no crash */
		vl_close(st);
		/* VL_OPEN_VERIFY refuses the store at open */
		vl_open_opts o = VL_OPEN_OPTS_INIT;
		o.flags = VL_OPEN_VERIFY;
		cr_assert_eq(vl_open(dir, &o, &st), VL_ECORRUPT);
		cr_assert(strstr(vl_errmsg(NULL), "checksum"), "%s", vl_errmsg(NULL));
		snprintf(cmd, sizeof cmd, "cp %s %s", backup, seg);
		cr_assert_eq(system(cmd), 0);
	}
}

Test(verify, damaged_header_is_an_error_at_first_use)
{
	char seg[1200];
	build(seg, sizeof seg);
	flip(seg, 60); /* nrows field */
	vl_store *st = ts_open(dir);
	int rc = exercise(st);
	cr_assert_eq(rc, VL_ECORRUPT, "got %d: %s", rc, vl_errmsg(st));
	cr_assert(strstr(vl_errmsg(st), "c1-s000001.vseg"), "message names the file: %s", vl_errmsg(st));
	cr_assert(strstr(vl_errmsg(st), "header checksum"), "%s", vl_errmsg(st));
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_ECORRUPT);
	vl_close(st);
}

Test(verify, truncated_or_missing_segment_is_an_error)
{
	char seg[1200];
	build(seg, sizeof seg);
	struct stat sb;
	stat(seg, &sb);
	cr_assert_eq(truncate(seg, sb.st_size - 4096), 0);
	vl_store *st = ts_open(dir);
	cr_assert_eq(exercise(st), VL_ECORRUPT, "%s", vl_errmsg(st));
	cr_assert(strstr(vl_errmsg(st), "truncated"), "%s", vl_errmsg(st));
	vl_close(st);
	cr_assert_eq(unlink(seg), 0);
	st = ts_open(dir);
	int rc = exercise(st);
	cr_assert(rc == VL_ENOTFOUND || rc == VL_ECORRUPT, "got %d", rc);
	cr_assert(strstr(vl_errmsg(st), "c1-s000001.vseg"), "%s", vl_errmsg(st));
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_ECORRUPT);
	vl_close(st);
}

Test(verify, random_byte_flips_never_crash)
{
	char seg[1200];
	build(seg, sizeof seg);
	struct stat sb;
	stat(seg, &sb);
	char backup[1300], cmd[3000];
	snprintf(backup, sizeof backup, "%s.orig", seg);
	snprintf(cmd, sizeof cmd, "cp %s %s", seg, backup);
	cr_assert_eq(system(cmd), 0);
	ts_rng rng = { 2024 };
	for (int i = 0; i < 60; i++) {
		/* half the flips hit the header block, where structure lives */
		uint64_t off = i % 2 ? ts_next(&rng) % VL_SEG_ALIGN : ts_next(&rng) % (uint64_t)sb.st_size;
		flip(seg, off);
		flip(seg, (off * 7919) % (uint64_t)sb.st_size);
		vl_store *st = ts_open(dir);
		exercise(st);
		vl_verify(st, NULL, NULL);
		vl_close(st);
		snprintf(cmd, sizeof cmd, "cp %s %s", backup, seg);
		cr_assert_eq(system(cmd), 0);
	}
}
