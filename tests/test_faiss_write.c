/*
 * test_faiss_write.c - the FAISS writer (export --format faiss).
 *
 * Round trips through files FAISS itself wrote: re-writing a parsed
 * IndexFlat / IndexIDMap2 / IndexHNSWFlat gives back the very same bytes.
 * And files written from scratch load in the real FAISS (python3-faiss via
 * tests/faiss_check.py), which returns the same neighbours as an exact
 * brute-force search and reconstructs every vector bit for bit.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faiss/vl_faiss.h"
#include "util/faiss_fx.h"

#define CHECK "/usr/bin/python3 tests/faiss_check.py"

/* --- a parsed index as the writer's source -------------------------- */

typedef struct src {
	const vl_faiss_index *ix;
	vl_faiss_vecinfo vi;
	const vl_faiss_hnsw *h;
	const int64_t *newids;    /* replace the ids (NULL: keep) */
	/* a synthetic source instead: */
	const float *vec;
	const int64_t *ids;
	uint32_t dim;
} src;

static int src_row(void *ctx, uint64_t i, float *vec, int64_t *id)
{
	src *s = ctx;
	if (s->vec) {
		memcpy(vec, s->vec + i * s->dim, s->dim * sizeof *vec);
		*id = s->ids[i];
		return 0;
	}
	int rc = vl_faiss_read(s->ix, &s->vi, i, 1, vec, id, NULL);
	if (s->newids)
		*id = s->newids[i];
	return rc;
}

static int src_levels(void *ctx, uint64_t node)
{
	return vl_faiss_hnsw_levels(((src *)ctx)->h, node);
}

static uint32_t src_neighbors(void *ctx, uint64_t node, int level, int32_t *out, uint32_t cap)
{
	return vl_faiss_hnsw_neighbors(((src *)ctx)->h, node, level, out, cap);
}

static void tmp_path(char *out, size_t cap, const char *tag)
{
	snprintf(out, cap, "%s/w-%d-%s", faiss_fx_dir(), (int)getpid(), tag);
}

static void write_file(const char *path, const vl_faiss_write_opts *o)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	vl_diag d;
	cr_assert_eq(vl_faiss_write(f, o, &d), 0, "%s", d.msg);
	cr_assert_eq(fclose(f), 0);
}

/* Parse fixture `name`, write it back, expect identical bytes. */
static void rewrite_identical(const char *name)
{
	size_t len;
	uint8_t *orig = faiss_fx_file(name, ".index", &len);
	cr_assert_not_null(orig);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(orig, len, &ix, &d), 0, "%s", d.msg);
	src s = { .ix = ix };
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &s.vi, &d), 0, "%s", d.msg);
	const vl_faiss_node *root = vl_faiss_root(ix);
	vl_faiss_graph g;
	vl_faiss_write_opts o = {
		.dim = s.vi.dim, .count = s.vi.count, .metric_type = s.vi.metric_type,
		.with_ids = s.vi.idmap != NULL, .row = src_row, .ctx = &s,
	};
	if (s.vi.hnsw) {
		s.h = &s.vi.hnsw->hnsw;
		g = (vl_faiss_graph){
			.M = (uint32_t)s.h->M, .entry_point = s.h->entry_point,
			.max_level = s.h->max_level, .efConstruction = s.h->efConstruction,
			.efSearch = s.h->efSearch, .levels = src_levels, .neighbors = src_neighbors,
			.ctx = &s,
		};
		o.graph = &g;
	}
	char path[1200];
	tmp_path(path, sizeof path, name);
	write_file(path, &o);
	size_t wl;
	uint8_t *w = faiss_fx_slurp(path, &wl);
	cr_assert_not_null(w);
	cr_expect_eq(wl, len, "%s: rewritten %zu bytes, FAISS wrote %zu", name, wl, len);
	size_t first = 0;
	while (first < wl && first < len && w[first] == orig[first])
		first++;
	cr_expect(wl == len && first == len, "%s: first difference at byte %zu (root %s)", name,
	          first, root->kind == VL_FAISS_IDMAP2 ? "IxM2" : "other");
	unlink(path);
	free(w);
	vl_faiss_close(ix);
	free(orig);
}

Test(faiss_write, rewrite_flat_identical)
{
	rewrite_identical("flat_l2");
	rewrite_identical("flat_ip");
	rewrite_identical("flat_empty");
	rewrite_identical("idmap2");
}

Test(faiss_write, rewrite_hnsw_identical)
{
	rewrite_identical("hnsw_flat");
	rewrite_identical("hnsw_ip");
	rewrite_identical("hnsw_empty");
	rewrite_identical("idmap2_hnsw");
	rewrite_identical("hnsw768");
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11;
}

static float rnd(uint64_t *s)
{
	return (float)((double)lcg(s) / 9007199254740992.0 * 2.0 - 1.0);
}

static void brute_topk(const float *base, const int64_t *ids, uint64_t n, uint32_t dim,
                       const float *q, int metric, int k, int64_t *out)
{
	double *dist = malloc(n * sizeof *dist);
	for (uint64_t i = 0; i < n; i++) {
		double s = 0;
		for (uint32_t j = 0; j < dim; j++) {
			double a = q[j], b = base[i * dim + j];
			s += metric == VL_FAISS_METRIC_IP ? -a * b : (a - b) * (a - b);
		}
		dist[i] = s;
	}
	for (int r = 0; r < k; r++) {
		uint64_t best = 0;
		for (uint64_t i = 1; i < n; i++)
			if (dist[i] < dist[best])
				best = i;
		out[r] = ids[best];
		dist[best] = INFINITY;
	}
	free(dist);
}

static void write_floats(const char *path, const void *p, size_t bytes)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, bytes, f), bytes);
	fclose(f);
}

static char *describe(const char *path)
{
	static char line[256];
	char cmd[1400];
	snprintf(cmd, sizeof cmd, CHECK " describe '%s'", path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	line[0] = 0;
	if (!fgets(line, sizeof line, p))
		line[0] = 0;
	cr_assert_eq(pclose(p), 0, "faiss.read_index failed on %s", path);
	line[strcspn(line, "\n")] = 0;
	return line;
}

static int64_t *faiss_search(const char *index, const char *queries, int k, size_t nq)
{
	char cmd[4000], out[1300];
	snprintf(out, sizeof out, "%s.ids", index);
	snprintf(cmd, sizeof cmd, CHECK " search '%s' '%s' %d '%s'", index, queries, k, out);
	cr_assert_eq(faiss_fx_run(cmd), 0, "%s", cmd);
	size_t len;
	int64_t *ids = (int64_t *)faiss_fx_slurp(out, &len);
	cr_assert(ids && len == nq * (size_t)k * 8);
	unlink(out);
	return ids;
}

/* IndexIDMap2 over IndexFlatIP written from scratch: FAISS loads it, finds
 * the exact neighbours and reconstructs each vector by its 62-bit id. */
Test(faiss_write, faiss_reads_idmap2_flat)
{
	enum { N = 300, D = 24, NQ = 15, K = 10 };
	uint64_t seed = 9;
	float *vec = malloc(N * D * sizeof *vec), q[NQ * D];
	int64_t ids[N];
	for (int i = 0; i < N * D; i++)
		vec[i] = rnd(&seed);
	for (int i = 0; i < NQ * D; i++)
		q[i] = rnd(&seed);
	for (int i = 0; i < N; i++)
		ids[i] = (int64_t)(lcg(&seed) >> 1) + (i == 0 ? INT64_MAX - (1ll << 52) : 0);
	src s = { .vec = vec, .ids = ids, .dim = D };
	vl_faiss_write_opts o = { .dim = D, .count = N, .metric_type = VL_FAISS_METRIC_IP,
	                          .with_ids = 1, .row = src_row, .ctx = &s };
	char path[1200], qpath[1300], idpath[1300], rpath[1300], cmd[5000];
	tmp_path(path, sizeof path, "idmap2_ip.index");
	write_file(path, &o);
	cr_expect_str_eq(describe(path), "IndexIDMap2 24 300 0");

	snprintf(qpath, sizeof qpath, "%s.q", path);
	write_floats(qpath, q, sizeof q);
	int64_t *got = faiss_search(path, qpath, K, NQ);
	for (int qi = 0; qi < NQ; qi++) {
		int64_t want[K];
		brute_topk(vec, ids, N, D, q + qi * D, VL_FAISS_METRIC_IP, K, want);
		cr_expect_eq(memcmp(want, got + qi * K, sizeof want), 0,
		             "query %d: FAISS's neighbours differ from exact search", qi);
	}
	free(got);

	snprintf(idpath, sizeof idpath, "%s.ids_in", path);
	snprintf(rpath, sizeof rpath, "%s.rec", path);
	write_floats(idpath, ids, sizeof ids);
	snprintf(cmd, sizeof cmd, CHECK " reconstruct '%s' '%s' '%s'", path, idpath, rpath);
	cr_assert_eq(faiss_fx_run(cmd), 0);
	size_t rl;
	float *rec = (float *)faiss_fx_slurp(rpath, &rl);
	cr_assert(rec && rl == N * D * 4);
	cr_expect_eq(memcmp(rec, vec, rl), 0, "FAISS's reconstruct differs from what was written");
	free(rec);
	unlink(path);
	unlink(qpath);
	unlink(idpath);
	unlink(rpath);
	free(vec);
}

/* A graph built here (a ring: every node linked to its 8 nearest ring
 * positions, one level): FAISS loads it, and with efSearch >= n its search
 * is exhaustive, so it must return the exact neighbours. */
typedef struct ring {
	uint32_t n;
} ring;

static int ring_levels(void *ctx, uint64_t node)
{
	(void)ctx;
	(void)node;
	return 1;
}

static uint32_t ring_neighbors(void *ctx, uint64_t node, int level, int32_t *out, uint32_t cap)
{
	uint32_t n = ((ring *)ctx)->n, k = 0;
	for (int off = -4; off <= 4 && k < cap; off++)
		if (off)
			out[k++] = (int32_t)((node + n + (uint64_t)off) % n);
	return k;
}

Test(faiss_write, faiss_reads_synthetic_hnsw)
{
	enum { N = 60, D = 8, NQ = 10, K = 5 };
	uint64_t seed = 3;
	float vec[N * D], q[NQ * D];
	int64_t ids[N];
	for (int i = 0; i < N * D; i++)
		vec[i] = rnd(&seed);
	for (int i = 0; i < NQ * D; i++)
		q[i] = rnd(&seed);
	for (int i = 0; i < N; i++)
		ids[i] = 1000 + i;
	ring r = { N };
	src s = { .vec = vec, .ids = ids, .dim = D };
	vl_faiss_graph g = { .M = 4, .entry_point = 0, .max_level = 0, .efConstruction = 40,
	                     .efSearch = 64, .levels = ring_levels, .neighbors = ring_neighbors,
	                     .ctx = &r };
	vl_faiss_write_opts o = { .dim = D, .count = N, .metric_type = VL_FAISS_METRIC_L2,
	                          .with_ids = 1, .graph = &g, .row = src_row, .ctx = &s };
	char path[1200], qpath[1300];
	tmp_path(path, sizeof path, "ring.index");
	write_file(path, &o);
	cr_expect_str_eq(describe(path), "IndexIDMap2 8 60 1");
	snprintf(qpath, sizeof qpath, "%s.q", path);
	write_floats(qpath, q, sizeof q);
	int64_t *got = faiss_search(path, qpath, K, NQ);
	for (int qi = 0; qi < NQ; qi++) {
		int64_t want[K];
		brute_topk(vec, ids, N, D, q + qi * D, VL_FAISS_METRIC_L2, K, want);
		cr_expect_eq(memcmp(want, got + qi * K, sizeof want), 0, "query %d", qi);
	}
	free(got);

	/* and our own reader sees the same graph */
	size_t len;
	uint8_t *buf = faiss_fx_slurp(path, &len);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	vl_faiss_vecinfo vi;
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), 0);
	cr_assert_not_null(vi.hnsw);
	int32_t nb[16];
	cr_expect_eq(vl_faiss_hnsw_neighbors(&vi.hnsw->hnsw, 0, 0, nb, 16), 8);
	cr_expect(nb[0] == N - 4 && nb[7] == 4);
	cr_expect_eq(vi.hnsw->hnsw.M, 4);
	cr_expect_eq(vi.hnsw->hnsw.efSearch, 64);
	vl_faiss_close(ix);
	free(buf);
	unlink(path);
	unlink(qpath);
}

/* The HNSW of a FAISS fixture re-written under new ids: FAISS searching our
 * file returns exactly what it returns on its own file, through the ids. */
Test(faiss_write, faiss_reads_rewritten_hnsw)
{
	size_t len;
	uint8_t *orig = faiss_fx_file("hnsw_flat", ".index", &len);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(orig, len, &ix, &d), 0, "%s", d.msg);
	src s = { .ix = ix };
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &s.vi, &d), 0);
	s.h = &s.vi.hnsw->hnsw;
	int64_t *newids = malloc(s.vi.count * sizeof *newids);
	for (uint64_t i = 0; i < s.vi.count; i++)
		newids[i] = (int64_t)(s.vi.count - i) * 1000003 + (1ll << 40);
	s.newids = newids;
	vl_faiss_graph g = { .M = (uint32_t)s.h->M, .entry_point = s.h->entry_point,
	                     .max_level = s.h->max_level, .efConstruction = s.h->efConstruction,
	                     .efSearch = s.h->efSearch, .levels = src_levels,
	                     .neighbors = src_neighbors, .ctx = &s };
	vl_faiss_write_opts o = { .dim = s.vi.dim, .count = s.vi.count,
	                          .metric_type = s.vi.metric_type, .with_ids = 1, .graph = &g,
	                          .row = src_row, .ctx = &s };
	char path[1200], qpath[1300], opath[1300];
	tmp_path(path, sizeof path, "hnsw_ids.index");
	write_file(path, &o);
	snprintf(qpath, sizeof qpath, "%s/hnsw_flat.queries", faiss_fx_dir());
	snprintf(opath, sizeof opath, "%s/hnsw_flat.index", faiss_fx_dir());
	size_t nq = (size_t)faiss_fx_info_int("hnsw_flat", "nq", 0);
	int64_t *mine = faiss_search(path, qpath, 10, nq);
	int64_t *theirs = faiss_search(opath, qpath, 10, nq);
	for (size_t i = 0; i < nq * 10; i++) {
		cr_assert(theirs[i] >= 0);
		cr_expect_eq(mine[i], newids[theirs[i]], "result %zu", i);
	}
	free(mine);
	free(theirs);
	unlink(path);
	free(newids);
	vl_faiss_close(ix);
	free(orig);
}

static int failing_row(void *ctx, uint64_t i, float *vec, int64_t *id)
{
	(void)ctx;
	vec[0] = 0;
	*id = 0;
	return i == 3 ? VL_EIO : 0;
}

static uint32_t bad_neighbors(void *ctx, uint64_t node, int level, int32_t *out, uint32_t cap)
{
	out[0] = 99;
	return 1;
}

Test(faiss_write, refuses_bad_input)
{
	FILE *f = tmpfile();
	vl_diag d;
	vl_faiss_write_opts o = { .dim = 1, .count = 5, .metric_type = 1, .row = failing_row };
	cr_expect_eq(vl_faiss_write(f, &o, &d), VL_EIO, "row errors propagate");
	o.dim = 0;
	cr_expect_eq(vl_faiss_write(f, &o, &d), VL_EINVAL);
	o.dim = 1;
	o.metric_type = 7;
	cr_expect_eq(vl_faiss_write(f, &o, &d), VL_EINVAL);
	o.metric_type = 1;
	ring r = { 5 };
	vl_faiss_graph g = { .M = 4, .entry_point = 0, .max_level = 0, .levels = ring_levels,
	                     .neighbors = bad_neighbors, .ctx = &r };
	o.graph = &g;
	o.count = 3;
	cr_expect_eq(vl_faiss_write(f, &o, &d), VL_EINVAL, "neighbour 99 of 3 nodes");
	cr_expect(strstr(d.msg, "neighbour 99"), "%s", d.msg);
	g.neighbors = ring_neighbors;
	g.max_level = 2;
	cr_expect_eq(vl_faiss_write(f, &o, &d), VL_EINVAL, "max_level disagrees with the levels");
	fclose(f);
}
