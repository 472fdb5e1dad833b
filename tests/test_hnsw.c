/*
 * test_hnsw.c - the HNSW index at the index level (build, open, search,
 * verify) on Fashion-MNIST subsets, against exact brute force; structure
 * checks straight from the section bytes; corrupt files.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/hnsw.h"
#include "util/annrecall.h"
#include "util/idxseg.h"
#include "vl_bytes.h"

#define NQ 200
#define K 10

static void build(ix_seg *s, const float *vecs, size_t n, uint32_t dim, const char *storage,
                  const char *const *params, size_t np, unsigned threads, uint64_t seed)
{
	ix_opts o = { .storage = storage, .params = params, .nparams = np, .threads = threads,
		          .seed = seed };
	vl_diag d = { 0 };
	int rc = ix_seg_make(s, &vl_index_hnsw, vecs, n, dim, &o, &d);
	cr_assert_eq(rc, VL_OK, "build: %s", d.msg);
}

/* ---- recall (documented parameters: M=16, EF_CONSTRUCTION=200, EF_RUNTIME=64) */

static void recall_test(const char *storage, size_t cap)
{
	if (!vl_quant_find(storage)) {
		cr_skip_test("storage type %s is not in this build yet", storage);
		return;
	}
	ar_data ds;
	ar_load(&ds, 10000, NQ);
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, storage, NULL, 0, 2, 7);
	static const char *const ef64[] = { "EF_RUNTIME=64" };
	double r = ar_recall(&s, &ds, K, cap, NULL, ef64, 1, NULL);
	double r10 = ar_recall(&s, &ds, K, cap, NULL, NULL, 0, NULL);
	fprintf(stderr, "hnsw %s n=%zu: recall@10 %.4f at EF_RUNTIME=64, %.4f at the default 10\n",
	        storage, ds.n, r, r10);
	cr_expect_geq(r, 0.95, "%s recall@10 %.4f < 0.95", storage, r);
	cr_expect_geq(r, r10 - 1e-9, "a larger ef lowered recall");
	vl_diag d = { 0 };
	cr_expect_eq(vl_index_hnsw.verify(s.state, &d), VL_OK, "%s", d.msg);
	ix_seg_free(&s);
	ar_free(&ds);
}

Test(hnsw, recall_float32) { recall_test("float32", K); }
/* compressed storage: the engine keeps 4k candidates and re-ranks them */
Test(hnsw, recall_lvq4x8) { recall_test("lvq4x8", 4 * K); }

Test(hnsw, recall_cosine_ip)
{
	ar_data ds;
	ar_load(&ds, 4000, 50);
	vl_metric ms[] = { VL_METRIC_COSINE, VL_METRIC_IP };
	for (int i = 0; i < 2; i++) {
		ds.metric = ms[i];
		free(ds.dist);
		ds.dist = NULL;
		ix_opts o = { .metric = ms[i], .threads = 2, .seed = 3 };
		ix_seg s;
		vl_diag d = { 0 };
		cr_assert_eq(ix_seg_make(&s, &vl_index_hnsw, ds.base, ds.n, ds.dim, &o, &d), VL_OK, "%s",
		             d.msg);
		static const char *const ef[] = { "EF_RUNTIME=100" };
		double r = ar_recall(&s, &ds, K, K, NULL, ef, 1, NULL);
		fprintf(stderr, "hnsw metric %d: recall@10 %.4f at EF_RUNTIME=100\n", ms[i], r);
		/* ip on unnormalized data is not a metric space: a looser bound */
		cr_expect_geq(r, ms[i] == VL_METRIC_IP ? 0.80 : 0.95, "metric %d: recall %.4f", ms[i], r);
		ix_seg_free(&s);
	}
	ar_free(&ds);
}

/* ---- determinism and structure ------------------------------------------- */

static uint8_t *copy_section(const ix_seg *s, uint32_t kind, uint64_t *len)
{
	const uint8_t *p = ix_seg_section(s, kind, len);
	cr_assert(p || *len == 0);
	uint8_t *c = malloc(*len + 1);
	cr_assert(c);
	if (*len)
		memcpy(c, p, *len);
	return c;
}

Test(hnsw, deterministic_single_thread)
{
	ar_data ds;
	ar_load(&ds, 1500, 1);
	static const char *const bp[] = { "EF_CONSTRUCTION=64" };
	uint32_t kinds[] = { VL_SEC_HNSW_META, VL_SEC_HNSW_L0, VL_SEC_HNSW_UPPER, VL_SEC_HNSW_LINKS };
	uint8_t *a[4], *b[4];
	uint64_t la[4], lb[4];
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, "float32", bp, 1, 1, 1234);
	for (int i = 0; i < 4; i++)
		a[i] = copy_section(&s, kinds[i], &la[i]);
	ix_seg_free(&s);
	build(&s, ds.base, ds.n, ds.dim, "float32", bp, 1, 1, 1234);
	for (int i = 0; i < 4; i++) {
		b[i] = copy_section(&s, kinds[i], &lb[i]);
		cr_assert_eq(la[i], lb[i]);
		cr_assert(memcmp(a[i], b[i], la[i]) == 0, "section %x differs between two 1-thread builds",
		          kinds[i]);
		free(b[i]);
	}
	ix_seg_free(&s);
	build(&s, ds.base, ds.n, ds.dim, "float32", bp, 1, 1, 99);
	uint64_t l;
	/* the seed draws the levels: the upper layers differ (layer 0 may not:
	 * with a wide efC on few rows each insertion finds its exact neighbours) */
	uint8_t *c = copy_section(&s, VL_SEC_HNSW_UPPER, &l);
	cr_expect(l != la[2] || memcmp(c, a[2], l) != 0, "the seed has no effect");
	free(c);
	ix_seg_free(&s);
	for (int i = 0; i < 4; i++)
		free(a[i]);
	ar_free(&ds);
}

/* Independent structure check from the bytes: degrees within M / 2M, ids
 * valid, upper neighbours on their level, level distribution ~ 1/M per
 * level, and every node reachable on layer 0 from the entry. */
Test(hnsw, layer_invariants)
{
	ar_data ds;
	ar_load(&ds, 4000, 1);
	static const char *const p8[] = { "M=8", "EF_CONSTRUCTION=100" };
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, "float32", p8, 2, 2, 5);
	uint64_t ml, l0l, ul, ll;
	const uint8_t *m = ix_seg_section(&s, VL_SEC_HNSW_META, &ml);
	const uint8_t *l0 = ix_seg_section(&s, VL_SEC_HNSW_L0, &l0l);
	const uint8_t *up = ix_seg_section(&s, VL_SEC_HNSW_UPPER, &ul);
	const uint8_t *ln = ix_seg_section(&s, VL_SEC_HNSW_LINKS, &ll);
	cr_assert(m && l0 && up && ml == 128);
	uint64_t n = vl_ld64(m + 16);
	uint32_t M = vl_ld32(m + 24), M0 = vl_ld32(m + 28), entry = vl_ld32(m + 40);
	cr_assert_eq(n, ds.n);
	cr_assert_eq(M, 8);
	cr_assert_eq(M0, 16);
	cr_assert_eq(l0l, n * (M0 + 1) * 4);
	uint64_t nup = vl_ld64(m + 48);
	cr_assert_eq(ul, nup * 16);
	/* about n/M nodes above layer 0 (binomial: generous bounds) */
	cr_expect(nup > n / M / 2 && nup < n / M * 2, "%llu upper nodes for n=%llu M=%u",
	          (unsigned long long)nup, (unsigned long long)n, M);
	uint8_t *lvl = calloc(n, 1);
	uint64_t *off = calloc(n, sizeof *off);
	cr_assert(lvl && off);
	for (uint64_t i = 0; i < nup; i++) {
		uint32_t v = vl_ld32(up + 16 * i);
		cr_assert(v < n);
		lvl[v] = (uint8_t)vl_ld32(up + 16 * i + 4);
		off[v] = vl_ld64(up + 16 * i + 8);
	}
	cr_expect_eq(lvl[entry], vl_ld32(m + 44), "entry is not on the top level");
	double sum_deg = 0;
	for (uint64_t v = 0; v < n; v++) {
		uint32_t deg = vl_ld32(l0 + v * (M0 + 1) * 4);
		cr_assert(deg <= M0);
		cr_assert(deg >= 1, "node %llu has no layer-0 neighbour", (unsigned long long)v);
		sum_deg += deg;
		for (uint32_t j = 0; j < deg; j++) {
			uint32_t id = vl_ld32(l0 + (v * (M0 + 1) + 1 + j) * 4);
			cr_assert(id < n && id != v);
		}
		for (uint32_t l = 1; l <= lvl[v]; l++) {
			const uint8_t *list = ln + (off[v] + (uint64_t)(l - 1) * (M + 1)) * 4;
			cr_assert(off[v] + (uint64_t)l * (M + 1) <= ll / 4);
			uint32_t d = vl_ld32(list);
			cr_assert(d <= M);
			for (uint32_t j = 0; j < d; j++) {
				uint32_t id = vl_ld32(list + 4 + 4 * j);
				cr_assert(id < n && lvl[id] >= l, "level %u neighbour %u of %llu is on level %u", l,
				          id, (unsigned long long)v, lvl[id]);
			}
		}
	}
	cr_expect(sum_deg / (double)n > 4, "average layer-0 degree %.2f", sum_deg / (double)n);
	/* reachability on layer 0 */
	uint32_t *queue = malloc(n * sizeof *queue);
	uint8_t *seen = calloc(n, 1);
	size_t head = 0, tail = 0;
	queue[tail++] = entry;
	seen[entry] = 1;
	while (head < tail) {
		uint32_t v = queue[head++];
		uint32_t deg = vl_ld32(l0 + (uint64_t)v * (M0 + 1) * 4);
		for (uint32_t j = 0; j < deg; j++) {
			uint32_t id = vl_ld32(l0 + ((uint64_t)v * (M0 + 1) + 1 + j) * 4);
			if (!seen[id]) {
				seen[id] = 1;
				queue[tail++] = id;
			}
		}
	}
	/* pruning can cut nodes off layer 0 (hnswlib leaves them so); the
	 * build's last pass reconnects every one */
	cr_expect_eq(tail, n, "only %zu of %llu reachable on layer 0", tail, (unsigned long long)n);
	vl_diag d = { 0 };
	cr_expect_eq(vl_index_hnsw.verify(s.state, &d), VL_OK, "%s", d.msg);
	char desc[256];
	vl_index_hnsw.describe(s.state, desc, sizeof desc);
	cr_expect(strstr(desc, "M=8 M0=16"), "describe: %s", desc);
	free(queue), free(seen), free(lvl), free(off);
	ix_seg_free(&s);
	ar_free(&ds);
}

/* ---- filters ------------------------------------------------------------------ */

Test(hnsw, filtered_recall)
{
	ar_data ds;
	ar_load(&ds, 5000, NQ);
	ix_seg s;
	static const char *const bp[] = { "EF_CONSTRUCTION=100" };
	build(&s, ds.base, ds.n, ds.dim, "float32", bp, 1, 2, 11);
	uint32_t pm[] = { 500000, 100000, 20000 };
	static const char *const ef[] = { "EF_RUNTIME=64" };
	for (int i = 0; i < 3; i++) {
		vl_accept acc = { ar_pct_accept, &pm[i], pm[i] / 1e6 };
		size_t shorts;
		double r = ar_recall(&s, &ds, K, K, &acc, ef, 1, &shorts);
		fprintf(stderr, "hnsw filter %.1f%%: recall@10 %.4f, %zu short answers\n", pm[i] / 1e4, r,
		        shorts);
		cr_expect_geq(r, 0.95, "selectivity %.1f%%: recall %.4f", pm[i] / 1e4, r);
		/* hnswlib semantics: the search goes on until ef accepted rows are held */
		cr_expect_eq(shorts, 0, "selectivity %.1f%%: %zu queries got fewer than k", pm[i] / 1e4,
		             shorts);
	}
	uint32_t none = 0;
	vl_accept acc0 = { ar_pct_accept, &none, 0.0 };
	vl_topk t;
	vl_diag d = { 0 };
	cr_assert_eq(ix_seg_search(&s, ds.queries, K, K, &acc0, NULL, 0, &t, NULL, &d), VL_OK);
	cr_expect_eq(t.n, 0);
	vl_topk_free(&t);
	ix_seg_free(&s);
	ar_free(&ds);
}

/* ---- parameters, cancel, corruption ------------------------------------------- */

Test(hnsw, parameters)
{
	vl_diag d = { 0 };
	const vl_index_ops *h = vl_index_find("hnsw");
	cr_assert(h == &vl_index_hnsw);
	cr_assert(vl_index_by_id(VL_INDEX_HNSW) == h);
	cr_expect_eq(h->check_param("M", "32", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(h->check_param("M", "1", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect(strstr(d.msg, "M=1"), "%s", d.msg);
	cr_expect_eq(h->check_param("M", "5000", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(h->check_param("EF_CONSTRUCTION", "0", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(h->check_param("EF_CONSTRUCTION", "x", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(h->check_param("EF_RUNTIME", "100", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(h->check_param("GRAPH_MAX_DEGREE", "10", 8, VL_METRIC_L2, &d), VL_ENOTFOUND);
	cr_expect_eq(h->check_runtime_param("EF_RUNTIME", "500", &d), VL_OK);
	cr_expect_eq(h->check_runtime_param("EF_RUNTIME", "-1", &d), VL_EINVAL);
	cr_expect_eq(h->check_runtime_param("M", "8", &d), VL_ENOTFOUND);
	const char *const *def = h->defaults(8, VL_METRIC_L2);
	int seen = 0;
	for (size_t i = 0; def[i]; i++)
		seen += !strcmp(def[i], "M=16") + !strcmp(def[i], "EF_CONSTRUCTION=200") +
		        !strcmp(def[i], "EF_RUNTIME=10");
	cr_expect_eq(seen, 3);
	/* levels: P(level >= 1) = 1/M */
	uint64_t above = 0;
	for (uint64_t v = 0; v < 100000; v++)
		above += hnsw_level(1, v, 16) >= 1;
	cr_expect(above > 5500 && above < 7000, "%llu of 100000 above layer 0", (unsigned long long)above);
}

static int cancel_after(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	int *calls = ud;
	cr_expect(strcmp(phase, "hnsw") == 0, "phase %s", phase);
	cr_expect(done <= total);
	return ++*calls >= 1;
}

Test(hnsw, cancel)
{
	ar_data ds;
	ar_load(&ds, 5000, 1);
	int calls = 0;
	ix_opts o = { .threads = 2, .progress = cancel_after, .progress_ud = &calls };
	ix_seg s;
	vl_diag d = { 0 };
	static const char *const p[] = { "EF_CONSTRUCTION=20" };
	o.params = p;
	o.nparams = 1;
	int rc = ix_seg_make(&s, &vl_index_hnsw, ds.base, ds.n, ds.dim, &o, &d);
	cr_expect_eq(rc, VL_ECANCELED, "rc %d: %s", rc, d.msg);
	cr_expect_geq(calls, 1);
	ar_free(&ds);
}

static void poke(const char *path, uint64_t off, const void *p, size_t n)
{
	FILE *f = fopen(path, "r+b");
	cr_assert(f);
	cr_assert(fseek(f, (long)off, SEEK_SET) == 0);
	cr_assert(fwrite(p, 1, n, f) == n);
	fclose(f);
}

static void expect_open_fails(const char *path, const char *what)
{
	ix_seg s;
	vl_diag d = { 0 };
	cr_expect_eq(ix_seg_open_file(&s, &vl_index_hnsw, path, &d), VL_ECORRUPT, "%s accepted", what);
	cr_expect(strstr(d.msg, "hnsw"), "%s: %s", what, d.msg);
	s.path[0] = 0;
	ix_seg_free(&s);
}

Test(hnsw, corrupt_sections)
{
	ar_data ds;
	ar_load(&ds, 1500, 20);
	ix_opts o = { .threads = 1, .keep_file = 1 };
	ix_seg s;
	vl_diag d = { 0 };
	cr_assert_eq(ix_seg_make(&s, &vl_index_hnsw, ds.base, ds.n, ds.dim, &o, &d), VL_OK);
	char path[256];
	snprintf(path, sizeof path, "%s", s.path);
	uint64_t moff = vl_seg_find(&s.lay, VL_SEC_HNSW_META, 0)->offset;
	uint64_t l0off = vl_seg_find(&s.lay, VL_SEC_HNSW_L0, 0)->offset;
	uint64_t upoff = vl_seg_find(&s.lay, VL_SEC_HNSW_UPPER, 0)->offset;
	s.path[0] = 0;
	ix_seg_free(&s);

	/* layer-0 ids and a degree out of range: open succeeds, search skips
	 * them, verify names the node */
	uint8_t junk[64];
	for (int i = 0; i < 64; i++)
		junk[i] = (uint8_t)(0x80 + i * 37);
	poke(path, l0off + 33 * 4 * 10 + 4, junk, sizeof junk);
	uint8_t big[4];
	vl_st32(big, 999);
	poke(path, l0off + 33 * 4 * 11, big, 4);
	cr_assert_eq(ix_seg_open_file(&s, &vl_index_hnsw, path, &d), VL_OK, "%s", d.msg);
	static const char *const ef[] = { "EF_RUNTIME=200" };
	for (size_t q = 0; q < ds.nq; q++) {
		vl_topk t;
		cr_assert_eq(ix_seg_search(&s, ds.queries + q * ds.dim, K, K, NULL, ef, 1, &t, NULL, &d),
		             VL_OK);
		for (size_t i = 0; i < t.n; i++)
			cr_assert(t.a[i].row < ds.n);
		vl_topk_free(&t);
	}
	cr_expect_eq(vl_index_hnsw.verify(s.state, &d), VL_ECORRUPT);
	cr_expect(strstr(d.msg, "node 10") || strstr(d.msg, "node 11"), "%s", d.msg);
	s.path[0] = 0;
	ix_seg_free(&s);

	/* upper table: node ids not ascending */
	uint8_t e[8];
	vl_st32(e, 0xfffffff0u);
	poke(path, upoff, e, 4);
	expect_open_fails(path, "bad upper table");
	/* entry out of range, degree bound, magic */
	vl_st32(e, 5000000);
	poke(path, moff + 40, e, 4);
	expect_open_fails(path, "entry out of range");
	vl_st32(e, 1);
	poke(path, moff + 24, e, 4);
	expect_open_fails(path, "M=1");
	poke(path, moff, "XXXXXXXX", 8);
	expect_open_fails(path, "bad magic");
	unlink(path);
	ar_free(&ds);
}
