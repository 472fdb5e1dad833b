/*
 * test_faiss.c - the FAISS reader against files written by the real FAISS
 * (tests/faiss_fixtures.py, python3-faiss 1.7.3).
 *
 * For every fixture: the chain of types, metric, count and dimension; the
 * decoded vectors against FAISS's own reconstruct(), bit for bit for every
 * codec (flat, SQ, PQ, IVF with residuals) and within float rounding only
 * where a linear transform is reversed (see vec_close()); the ids; exact top-10 search over the decoded vectors against FAISS's exact
 * search (recall@10 >= 0.99); the HNSW graph against FAISS's arrays.
 * Types FAISS 1.7.3 cannot write (bf16, 8bit_direct_signed, legacy fourccs,
 * il00, HNSW without storage) are built byte by byte from the format notes.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faiss/faiss_internal.h"
#include "faiss/vl_faiss.h"
#include "util/faiss_fx.h"

/* Every fixture the script writes, in its order (checked against MANIFEST). */
static const char *const fixtures[] = {
	"flat_l2", "flat_ip", "flat_empty", "ivf_flat", "ivf_flat_ip", "ivf_flat_sparse",
	"ivf_ids_hash", "hnsw_flat", "hnsw_ip", "hnsw_empty", "idmap2", "idmap", "idmap2_hnsw",
	"sq8", "sq4", "sq6", "sqfp16", "sq8_uniform", "sq4_uniform", "sq8_direct", "pq",
	"pq_nbits6", "pq_nbits10", "ivfpq", "ivfpq_nores", "ivfpq_hnswq", "opq_ivfpq",
	"opq_hnsw_reduced", "pca_reduced", "pca_full", "pcaw", "rr", "l2norm", "itq", "pad",
	"center", "hnsw_sq", "hnsw_pq", "ivf_sq", "ivf_sq_nores", "ivf_sqfp16", "hnsw768",
	"ondisk",
};
#define NFIX (sizeof fixtures / sizeof fixtures[0])

typedef struct ref {
	uint64_t n;
	uint32_t dim;
	float *vec;
	int64_t *ids;
	uint64_t *order;    /* positions sorted by id */
} ref;

static const char *exactness_name(vl_faiss_exactness x)
{
	static const char *const names[] = { "exact", "approximate", "projected", "transformed" };
	return names[x];
}

static void chain_of(const vl_faiss_node *n, char *out, size_t cap)
{
	out[0] = 0;
	for (; n; n = n->child) {
		char s[20];
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", l ? "," : "", vl_faiss_fourcc_str(n->fourcc, s));
	}
}

static const ref *sort_ref;
static int cmp_pos(const void *a, const void *b)
{
	int64_t x = sort_ref->ids[*(const uint64_t *)a], y = sort_ref->ids[*(const uint64_t *)b];
	return x < y ? -1 : x > y;
}

static void load_ref(const char *name, const char *ext, uint32_t dim, uint64_t n, ref *r)
{
	size_t vl, il;
	r->n = n;
	r->dim = dim;
	r->vec = (float *)faiss_fx_file(name, ext, &vl);
	r->ids = (int64_t *)faiss_fx_file(name, ".ids", &il);
	cr_assert_not_null(r->vec, "%s%s missing", name, ext);
	cr_assert_eq(vl, n * dim * 4, "%s%s: %zu bytes for %llu x %u", name, ext, vl,
	             (unsigned long long)n, dim);
	cr_assert_eq(il, n * 8);
	r->order = malloc((n ? n : 1) * sizeof *r->order);
	for (uint64_t i = 0; i < n; i++)
		r->order[i] = i;
	sort_ref = r;
	qsort(r->order, n, sizeof *r->order, cmp_pos);
}

static void free_ref(ref *r)
{
	free(r->vec);
	free(r->ids);
	free(r->order);
}

static int64_t find_ref(const ref *r, int64_t id)
{
	uint64_t lo = 0, hi = r->n;
	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		int64_t v = r->ids[r->order[mid]];
		if (v == id)
			return (int64_t)r->order[mid];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * "Within float rounding" (only where a linear transform is reversed: every
 * codec decodes bit for bit). FAISS reverses x = A^T (y - b) with sgemm in
 * float32; the reader sums in double and rounds once. The sgemm result is
 * off by at most gamma_d * sum_j |A_ji| |y_j| with gamma_d ~ d * 2^-24
 * (the standard dot-product bound), and sum_j |A_ji| |y_j| <= ||y||_2 for
 * orthonormal A, which is about ||x||_2. So each component may differ by
 * 2 * (d + 2) * 2^-24 * ||x||_2 (x2 and +2 for the bias subtraction and
 * our final rounding). Observed: about a quarter of that.
 */
static int vec_close(const float *a, const float *b, uint32_t dim, int exact, uint32_t d_terms)
{
	if (exact)
		return memcmp(a, b, dim * sizeof *a) == 0;
	double na = 0, nb = 0;
	for (uint32_t i = 0; i < dim; i++) {
		na += (double)a[i] * a[i];
		nb += (double)b[i] * b[i];
	}
	double tol = 2.0 * (d_terms + 2) * ldexp(1.0, -24) * sqrt(fmax(na, nb));
	for (uint32_t i = 0; i < dim; i++)
		if (!(fabs((double)a[i] - b[i]) <= tol))
			return 0;
	return 1;
}

/* Decoded rows (with ids) equal the reference, one to one. */
static void compare(const char *name, const char *what, const float *rows, const int64_t *ids,
                    uint64_t n, uint32_t dim, const ref *r, int exact, uint32_t d_terms)
{
	cr_assert_eq(n, r->n, "%s %s: %llu rows, FAISS has %llu", name, what,
	             (unsigned long long)n, (unsigned long long)r->n);
	cr_assert_eq(dim, r->dim, "%s %s: dim %u, FAISS %u", name, what, dim, r->dim);
	uint8_t *seen = calloc(n ? n : 1, 1);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < n; i++) {
		int64_t k = find_ref(r, ids[i]);
		cr_assert(k >= 0, "%s %s: row %llu has id %lld, unknown to FAISS", name, what,
		          (unsigned long long)i, (long long)ids[i]);
		cr_assert(!seen[k], "%s %s: id %lld twice", name, what, (long long)ids[i]);
		seen[k] = 1;
		if (!vec_close(rows + i * dim, r->vec + (uint64_t)k * dim, dim, exact, d_terms)) {
			if (bad++ < 3) {
				const float *a = rows + i * dim, *b = r->vec + (uint64_t)k * dim;
				uint32_t j = 0;
				while (j < dim && a[j] == b[j])
					j++;
				if (j == dim)
					j = 0;
				cr_log_error("%s %s: id %lld component %u: %.9g vs FAISS %.9g", name, what,
				             (long long)ids[i], j, a[j], b[j]);
			}
		}
	}
	free(seen);
	cr_expect_eq(bad, 0, "%s %s: %llu of %llu vectors differ from FAISS's reconstruct (%s)",
	             name, what, (unsigned long long)bad, (unsigned long long)n,
	             exact ? "bit-exact expected" : "float rounding allowed");
}

static void read_all(const vl_faiss_index *ix, const vl_faiss_vecinfo *vi, float **rows,
                     int64_t **ids)
{
	vl_diag d;
	*rows = malloc((vi->count * vi->dim + 1) * sizeof **rows);
	*ids = malloc((vi->count ? vi->count : 1) * sizeof **ids);
	/* in two calls, to cover ranges that start inside an IVF list */
	uint64_t half = vi->count / 2;
	cr_assert_eq(vl_faiss_read(ix, vi, 0, half, *rows, *ids, &d), 0, "%s", d.msg);
	cr_assert_eq(vl_faiss_read(ix, vi, half, vi->count - half, *rows + half * vi->dim,
	                           *ids + half, &d), 0, "%s", d.msg);
}

/* Exact top-k over the decoded vectors vs FAISS's exact search. */
static void check_recall(const char *name, const float *rows, const int64_t *ids, uint64_t n,
                         uint32_t dim, int metric)
{
	size_t ql, gl;
	long long nq = faiss_fx_info_int(name, "nq", 0);
	float *q = (float *)faiss_fx_file(name, ".queries", &ql);
	int64_t *gt = (int64_t *)faiss_fx_file(name, ".gt", &gl);
	cr_assert(q && gt && ql == (size_t)nq * dim * 4 && gl == (size_t)nq * 10 * 8,
	          "%s: queries/gt files", name);
	if (n < 10) {
		free(q);
		free(gt);
		return;
	}
	double *dist = malloc(n * sizeof *dist);
	long hits = 0;
	for (long long qi = 0; qi < nq; qi++) {
		const float *qv = q + qi * dim;
		for (uint64_t i = 0; i < n; i++) {
			double s = 0;
			for (uint32_t j = 0; j < dim; j++) {
				double a = qv[j], b = rows[i * dim + j];
				s += metric == VL_FAISS_METRIC_IP ? -a * b : (a - b) * (a - b);
			}
			dist[i] = s;
		}
		int64_t top[10];
		for (int k = 0; k < 10; k++) {
			uint64_t best = 0;
			for (uint64_t i = 1; i < n; i++)
				if (dist[i] < dist[best])
					best = i;
			top[k] = ids[best];
			dist[best] = INFINITY;
		}
		for (int k = 0; k < 10; k++)
			for (int j = 0; j < 10; j++)
				hits += top[k] == gt[qi * 10 + j];
	}
	double recall = (double)hits / (double)(nq * 10);
	cr_expect(recall >= 0.99, "%s: recall@10 %.3f against FAISS's exact search", name, recall);
	free(dist);
	free(q);
	free(gt);
}

static void check_hnsw(const char *name, const vl_faiss_hnsw *h)
{
	size_t ll, ol, nl;
	int32_t *levels = (int32_t *)faiss_fx_file(name, ".hnsw_levels", &ll);
	uint64_t *offsets = (uint64_t *)faiss_fx_file(name, ".hnsw_offsets", &ol);
	int32_t *nb = (int32_t *)faiss_fx_file(name, ".hnsw_neighbors", &nl);
	cr_assert(levels && offsets && nb, "%s: graph files", name);
	cr_assert_eq(ll / 4, h->ntotal);
	cr_assert_eq(nl / 4, h->nneighbors);
	cr_expect_eq(h->entry_point, faiss_fx_info_int(name, "entry_point", -2));
	cr_expect_eq(h->max_level, faiss_fx_info_int(name, "max_level", -2));
	cr_expect_eq(h->efConstruction, faiss_fx_info_int(name, "efConstruction", -2));
	cr_expect_eq(h->efSearch, faiss_fx_info_int(name, "efSearch", -2));
	cr_expect_eq(h->M, 16, "%s: M derived from cum_nneighbor_per_level", name);
	cr_expect_eq(h->M0, 32);
	int32_t buf[64];
	uint64_t mismatches = 0;
	for (uint64_t i = 0; i < h->ntotal; i++) {
		cr_assert_eq(vl_faiss_hnsw_levels(h, i), levels[i]);
		uint64_t base = offsets[i];
		for (int l = 0; l < levels[i]; l++) {
			uint32_t slots = l == 0 ? 32 : 16;
			uint64_t begin = base + (l == 0 ? 0 : 32 + 16 * (uint64_t)(l - 1));
			uint32_t got = vl_faiss_hnsw_neighbors(h, i, l, buf, 64);
			uint32_t want = 0;
			while (want < slots && nb[begin + want] >= 0)
				want++;
			if (got != want || memcmp(buf, nb + begin, got * 4) != 0)
				mismatches++;
		}
		cr_assert_eq(vl_faiss_hnsw_neighbors(h, i, levels[i], buf, 64), 0);
	}
	cr_expect_eq(mismatches, 0, "%s: %llu neighbour lists differ from FAISS's", name,
	             (unsigned long long)mismatches);
	free(levels);
	free(offsets);
	free(nb);
}

/* Floats summed per output component when linear transforms are
 * reversed (0: none, the input space is bit-exact too). */
static uint32_t transform_terms(const vl_faiss_index *ix)
{
	uint32_t terms = 0;
	for (const vl_faiss_node *n = vl_faiss_root(ix); n; n = n->child)
		for (int32_t i = 0; i < n->ntransforms; i++) {
			const vl_faiss_transform *t = &n->transforms[i];
			if (t->A)
				terms += (uint32_t)t->d_out;
		}
	return terms;
}

static void attach_ondisk(const char *name, vl_faiss_index *ix, uint8_t **data)
{
	const char *want = faiss_fx_info(name, "ondisk");
	if (!want)
		return;
	char base[256];
	snprintf(base, sizeof base, "%s", want);
	const char *stored = vl_faiss_ondisk_name(ix);
	cr_assert_not_null(stored, "%s: no on-disk lists reported", name);
	size_t sl = strlen(stored), bl = strlen(base);
	cr_assert(sl >= bl && strcmp(stored + sl - bl, base) == 0, "%s: data file '%s'", name,
	          stored);
	vl_faiss_vecinfo vi;
	vl_diag d;
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), VL_EINVAL);
	cr_assert(strstr(d.msg, "not attached"), "%s", d.msg);
	/* the data file is found beside the index, as the importer does */
	size_t len;
	*data = faiss_fx_file(base, "", &len);
	cr_assert_not_null(*data);
	cr_assert_eq(vl_faiss_attach_ondisk(ix, *data, len ? len - 1 : 0, &d), VL_EFORMAT,
	             "a data file one byte short must be refused");
	cr_assert_not_null(vl_faiss_ondisk_name(ix));
	cr_assert_eq(vl_faiss_attach_ondisk(ix, *data, len, &d), 0, "%s", d.msg);
	cr_assert_null(vl_faiss_ondisk_name(ix));
}

static void check_fixture(const char *name)
{
	size_t len;
	uint8_t *buf = faiss_fx_file(name, ".index", &len);
	cr_assert_not_null(buf, "fixture %s missing", name);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s: %s", name, d.msg);
	const vl_faiss_node *root = vl_faiss_root(ix);
	char chain[256];
	chain_of(root, chain, sizeof chain);
	cr_expect_str_eq(chain, faiss_fx_info(name, "chain"), "%s: chain", name);
	cr_expect_eq(vl_faiss_trailing_bytes(ix), 0);
	cr_expect_leq(vl_faiss_heap_bytes(ix), 4 * len + (1 << 20));
	uint8_t *data = NULL;
	attach_ondisk(name, ix, &data);

	uint64_t n = (uint64_t)faiss_fx_info_int(name, "n", -1);
	uint32_t d_in = (uint32_t)faiss_fx_info_int(name, "d", -1);
	uint32_t stored_dim = (uint32_t)faiss_fx_info_int(name, "stored_dim", -1);
	int metric = (int)faiss_fx_info_int(name, "metric", -1);
	int exact = strcmp(faiss_fx_info(name, "compare"), "exact") == 0;
	uint32_t terms = transform_terms(ix);

	/* default space */
	vl_faiss_vecinfo vi;
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), 0, "%s: %s", name, d.msg);
	const char *space = vi.space == VL_FAISS_SPACE_INPUT ? "input" : "stored";
	cr_expect_str_eq(space, faiss_fx_info(name, "auto_space"), "%s: default space", name);
	cr_expect_eq(vi.dim, faiss_fx_info_int(name, "auto_dim", -1), "%s: dim", name);
	cr_expect_eq(vi.input_dim, d_in);
	cr_expect_eq(vi.count, n);
	cr_expect_eq(vi.metric_type, metric, "%s: metric", name);
	cr_expect_str_eq(exactness_name(vi.exactness), faiss_fx_info(name, "exactness"),
	                 "%s: exactness (%s)", name, vi.why);
	float *rows;
	int64_t *ids;
	read_all(ix, &vi, &rows, &ids);
	ref r;
	if (vi.space == VL_FAISS_SPACE_INPUT)
		load_ref(name, ".recons", d_in, n, &r);
	else
		load_ref(name, ".stored", stored_dim, n, &r);
	compare(name, "default", rows, ids, vi.count, vi.dim, &r, exact, terms);
	check_recall(name, rows, ids, vi.count, vi.dim, metric);
	free_ref(&r);
	free(rows);
	free(ids);

	/* what FAISS's reconstruct() returns */
	vl_faiss_vecinfo vin;
	int rc = vl_faiss_vectors(ix, VL_FAISS_SPACE_INPUT, &vin, &d);
	if (faiss_fx_info_int(name, "input_ok", 0)) {
		cr_assert_eq(rc, 0, "%s: %s", name, d.msg);
		cr_expect_eq(vin.dim, d_in);
		read_all(ix, &vin, &rows, &ids);
		load_ref(name, ".recons", d_in, n, &r);
		compare(name, "input space", rows, ids, vin.count, vin.dim, &r, terms == 0, terms);
		free_ref(&r);
		free(rows);
		free(ids);
	} else {
		cr_expect_eq(rc, VL_EUNSUPPORTED, "%s: FAISS cannot reconstruct, nor should we", name);
	}

	/* the transformed space of an IndexPreTransform */
	size_t sl;
	uint8_t *stored = faiss_fx_file(name, ".stored", &sl);
	if (stored) {
		free(stored);
		cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_STORED, &vi, &d), 0, "%s", d.msg);
		cr_expect_eq(vi.dim, stored_dim);
		read_all(ix, &vi, &rows, &ids);
		load_ref(name, ".stored", stored_dim, n, &r);
		compare(name, "stored space", rows, ids, vi.count, vi.dim, &r, 1, 0);
		free_ref(&r);
		free(rows);
		free(ids);
	}

	if (vi.hnsw)
		check_hnsw(name, &vi.hnsw->hnsw);
	vl_faiss_close(ix);
	free(data);
	free(buf);
}

#define FX(name) Test(faiss, name) { check_fixture(#name); }
FX(flat_l2)
FX(flat_ip)
FX(flat_empty)
FX(ivf_flat)
FX(ivf_flat_ip)
FX(ivf_flat_sparse)
FX(ivf_ids_hash)
FX(hnsw_flat)
FX(hnsw_ip)
FX(hnsw_empty)
FX(idmap2)
FX(idmap)
FX(idmap2_hnsw)
FX(sq8)
FX(sq4)
FX(sq6)
FX(sqfp16)
FX(sq8_uniform)
FX(sq4_uniform)
FX(sq8_direct)
FX(pq)
FX(pq_nbits6)
FX(pq_nbits10)
FX(ivfpq)
FX(ivfpq_nores)
FX(ivfpq_hnswq)
FX(opq_ivfpq)
FX(opq_hnsw_reduced)
FX(pca_reduced)
FX(pca_full)
FX(pcaw)
FX(rr)
FX(l2norm)
FX(itq)
FX(pad)
FX(center)
FX(hnsw_sq)
FX(hnsw_pq)
FX(ivf_sq)
FX(ivf_sq_nores)
FX(ivf_sqfp16)
FX(hnsw768)
FX(ondisk)

Test(faiss, manifest_matches_tests)
{
	size_t len;
	char path[4200];
	snprintf(path, sizeof path, "%s/MANIFEST", faiss_fx_dir());
	uint8_t *raw = faiss_fx_slurp(path, &len);
	cr_assert_not_null(raw);
	char *m = calloc(1, len + 1);
	memcpy(m, raw, len);
	free(raw);
	size_t k = 0;
	for (char *line = strtok(m, "\n"); line; line = strtok(NULL, "\n"), k++) {
		cr_assert_lt(k, NFIX, "MANIFEST has more fixtures than this file tests");
		cr_expect_str_eq(line, fixtures[k]);
	}
	cr_expect_eq(k, NFIX);
	free(m);
}

Test(faiss, ivf_sparse_and_ids)
{
	size_t len;
	uint8_t *buf = faiss_fx_file("ivf_flat_sparse", ".index", &len);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	const vl_faiss_node *n = vl_faiss_root(ix);
	cr_expect(n->ivf.sparse, "FAISS 1.7.3 writes 'sprs' sizes when <= half the lists are used");
	cr_expect_eq(n->ivf.nlist, 64);
	cr_expect_leq(n->ivf.nonempty, 10);
	vl_faiss_close(ix);
	free(buf);

	buf = faiss_fx_file("ivf_ids_hash", ".index", &len);
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	n = vl_faiss_root(ix);
	cr_expect_eq(n->ivf.direct_map_type, 2);
	cr_expect_eq(n->ivf.direct_map_hash, 1000);
	cr_expect(!n->ivf.sparse);
	vl_faiss_close(ix);
	free(buf);
}

/* Every binary16 pattern against numpy's conversion. */
Test(faiss, fp16_all_patterns)
{
	size_t len;
	float *table = (float *)faiss_fx_file("fp16_table", ".f32", &len);
	cr_assert(table && len == 65536 * 4);
	uint8_t *codes = malloc(2 * 65536);
	for (uint32_t i = 0; i < 65536; i++)
		vl_st16(codes + 2 * i, (uint16_t)i);
	vl_faiss_sq sq = { .qtype = VL_FAISS_QT_FP16, .d = 65536, .code_size = 2 * 65536 };
	float *out = malloc(65536 * sizeof *out);
	vl_fx_sq_decode(&sq, codes, out);
	cr_expect_eq(memcmp(out, table, 65536 * 4), 0);
	free(out);
	free(codes);
	free(table);
}

/* --- byte-built files ------------------------------------------------ */

typedef struct bb {
	uint8_t b[4096];
	size_t n;
} bb;

static void bb_put(bb *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}
static void bb_u8(bb *o, uint8_t v) { bb_put(o, &v, 1); }
static void bb_u32(bb *o, uint32_t v) { uint8_t t[4]; vl_st32(t, v); bb_put(o, t, 4); }
static void bb_u64(bb *o, uint64_t v) { uint8_t t[8]; vl_st64(t, v); bb_put(o, t, 8); }
static void bb_f32(bb *o, float v) { uint8_t t[4]; vl_stf32(t, v); bb_put(o, t, 4); }
static void bb_cc(bb *o, const char *s) { bb_put(o, s, 4); }
static void bb_header(bb *o, int32_t d, int64_t ntotal, int32_t metric)
{
	bb_u32(o, (uint32_t)d);
	bb_u64(o, (uint64_t)ntotal);
	bb_u64(o, 1 << 20);
	bb_u64(o, 1 << 20);
	bb_u8(o, 1);
	bb_u32(o, (uint32_t)metric);
}

/* IxSQ with the 1.9+ types: bf16 keeps the top 16 bits of a float32;
 * 8bit_direct_signed stores c = x + 128. */
Test(faiss, sq_bf16_and_direct_signed)
{
	const float vals[4] = { 1.5f, -2.25f, 3.0f * 1048576.0f, -0.0f };
	bb o = { .n = 0 };
	bb_cc(&o, "IxSQ");
	bb_header(&o, 4, 2, 1);
	bb_u32(&o, VL_FAISS_QT_BF16);
	bb_u32(&o, 0);
	bb_f32(&o, 0);
	bb_u64(&o, 4);
	bb_u64(&o, 8);
	bb_u64(&o, 0);     /* trained: none */
	bb_u64(&o, 16);    /* codes */
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < 4; i++) {
			uint32_t u;
			float v = r ? -vals[i] : vals[i];
			memcpy(&u, &v, 4);
			uint8_t t[2];
			vl_st16(t, (uint16_t)(u >> 16));
			bb_put(&o, t, 2);
		}
	vl_faiss_index *ix;
	vl_faiss_vecinfo vi;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(o.b, o.n, &ix, &d), 0, "%s", d.msg);
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), 0, "%s", d.msg);
	cr_expect_eq(vi.exactness, VL_FAISS_APPROX);
	float out[8];
	cr_assert_eq(vl_faiss_read(ix, &vi, 0, 2, out, NULL, &d), 0, "%s", d.msg);
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(memcmp(&out[i], &vals[i], 4), 0, "bf16 %d: %g", i, out[i]);
		float neg = -vals[i];
		cr_expect_eq(memcmp(&out[4 + i], &neg, 4), 0);
	}
	vl_faiss_close(ix);

	/* same file, qtype 8bit_direct_signed, code_size d */
	o.n = 0;
	bb_cc(&o, "IxSQ");
	bb_header(&o, 4, 1, 0);
	bb_u32(&o, VL_FAISS_QT_8BIT_DIRECT_SIGNED);
	bb_u32(&o, 0);
	bb_f32(&o, 0);
	bb_u64(&o, 4);
	bb_u64(&o, 4);
	bb_u64(&o, 0);
	bb_u64(&o, 4);
	const uint8_t codes[4] = { 0, 128, 255, 1 };
	bb_put(&o, codes, 4);
	cr_assert_eq(vl_faiss_open(o.b, o.n, &ix, &d), 0, "%s", d.msg);
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), 0, "%s", d.msg);
	cr_expect_eq(vi.metric_type, VL_FAISS_METRIC_IP);
	cr_assert_eq(vl_faiss_read(ix, &vi, 0, 1, out, NULL, &d), 0, "%s", d.msg);
	cr_expect(out[0] == -128.0f && out[1] == 0.0f && out[2] == 127.0f && out[3] == -127.0f,
	          "%g %g %g %g", out[0], out[1], out[2], out[3]);
	vl_faiss_close(ix);

	/* an unknown quantizer type is named */
	o.b[37] = 42;  /* qtype byte: fourcc 4 + header 33 */
	cr_assert_eq(vl_faiss_open(o.b, o.n, &ix, &d), VL_EUNSUPPORTED);
	cr_expect(strstr(d.msg, "quantizer type 42"), "%s", d.msg);
}

static size_t find_bytes(const uint8_t *buf, size_t len, const void *pat, size_t pl)
{
	for (size_t i = 0; i + pl <= len; i++)
		if (memcmp(buf + i, pat, pl) == 0)
			return i;
	return (size_t)-1;
}

/* Decode every row of buf and compare with the same rows of ref_name. */
static void same_vectors_as(const uint8_t *buf, size_t len, const char *ref_name,
                            int32_t want_metric)
{
	size_t rl;
	uint8_t *rbuf = faiss_fx_file(ref_name, ".index", &rl);
	vl_faiss_index *a, *b;
	vl_faiss_vecinfo va, vb;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &a, &d), 0, "%s", d.msg);
	cr_assert_eq(vl_faiss_open(rbuf, rl, &b, &d), 0, "%s", d.msg);
	cr_assert_eq(vl_faiss_vectors(a, VL_FAISS_SPACE_AUTO, &va, &d), 0, "%s", d.msg);
	cr_assert_eq(vl_faiss_vectors(b, VL_FAISS_SPACE_AUTO, &vb, &d), 0, "%s", d.msg);
	cr_assert_eq(va.count, vb.count);
	cr_expect_eq(va.metric_type, want_metric);
	float *x, *y;
	int64_t *ix, *iy;
	read_all(a, &va, &x, &ix);
	read_all(b, &vb, &y, &iy);
	cr_expect_eq(memcmp(x, y, va.count * va.dim * 4), 0);
	cr_expect_eq(memcmp(ix, iy, va.count * 8), 0);
	free(x);
	free(y);
	free(ix);
	free(iy);
	vl_faiss_close(a);
	vl_faiss_close(b);
	free(rbuf);
}

/* Legacy fourccs: IxPo (same layout as IxPq), IxPQ (no trailer), both
 * forced to L2; IwSQ (IwSq without the by_residual byte, residual). */
Test(faiss, legacy_fourccs)
{
	size_t len;
	uint8_t *buf = faiss_fx_file("pq", ".index", &len);
	memcpy(buf, "IxPo", 4);
	buf[33] = 0;  /* metric_type byte: claim inner product */
	same_vectors_as(buf, len, "pq", VL_FAISS_METRIC_L2);
	memcpy(buf, "IxPQ", 4);
	same_vectors_as(buf, len - 9, "pq", VL_FAISS_METRIC_L2);
	free(buf);

	buf = faiss_fx_file("ivf_sq", ".index", &len);
	uint8_t pat[20];
	memcpy(pat, "ilar", 4);
	vl_st64(pat + 4, 16);
	vl_st64(pat + 12, 32);
	size_t at = find_bytes(buf, len, pat, 20);
	cr_assert_neq(at, (size_t)-1);
	cr_assert_eq(buf[at - 1], 1, "by_residual byte before the lists");
	memmove(buf + at - 1, buf + at, len - at);
	memcpy(buf, "IwSQ", 4);
	same_vectors_as(buf, len - 1, "ivf_sq", VL_FAISS_METRIC_L2);
	free(buf);
}

/* IVF written without lists ('il00') and HNSW without storage ('null'):
 * they parse, and say they hold no vectors. */
Test(faiss, indexes_without_vectors)
{
	size_t len;
	uint8_t *buf = faiss_fx_file("ivf_flat", ".index", &len);
	size_t at = find_bytes(buf, len, "ilar", 4);
	cr_assert_neq(at, (size_t)-1);
	memcpy(buf + at, "il00", 4);
	vl_faiss_index *ix;
	vl_faiss_vecinfo vi;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, at + 4, &ix, &d), 0, "%s", d.msg);
	cr_expect_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), VL_EUNSUPPORTED);
	cr_expect(strstr(d.msg, "il00"), "%s", d.msg);
	vl_faiss_close(ix);
	free(buf);

	buf = faiss_fx_file("hnsw_flat", ".index", &len);
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	size_t storage = vl_faiss_root(ix)->child->offset;
	vl_faiss_close(ix);
	memcpy(buf + storage, "null", 4);
	cr_assert_eq(vl_faiss_open(buf, storage + 4, &ix, &d), 0, "%s", d.msg);
	cr_expect_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), VL_EUNSUPPORTED);
	cr_expect_eq(vl_faiss_root(ix)->hnsw.ntotal, 1000, "the graph is still there");
	vl_faiss_close(ix);
	free(buf);
}

static char *inspect_to_string(const char *name, int format)
{
	size_t len, sz;
	char *text = NULL;
	uint8_t *buf = faiss_fx_file(name, ".index", &len);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	FILE *f = open_memstream(&text, &sz);
	cr_assert_eq(vl_faiss_inspect(ix, f, format), 0);
	fclose(f);
	vl_faiss_close(ix);
	free(buf);
	return text;
}

Test(faiss, inspect_text)
{
	char *t = inspect_to_string("opq_hnsw_reduced", VL_FAISS_INSPECT_TEXT);
	const char *want[] = {
		"fourcc=IxPT", "class=IndexPreTransform", "d=32", "ntotal=1000", "metric=L2",
		"fourcc=LTra", "d_in=32", "d_out=16", "orthonormal=yes", "reverse=projection",
		"fourcc=IHNf", "M=16", "efConstruction=40", "efSearch=16", "fourcc=IxF2",
		"exactness=transformed", "dim=16", "space=stored", "exactness=projected",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_expect(strstr(t, want[i]), "inspect text lacks '%s':\n%s", want[i], t);
	free(t);
	t = inspect_to_string("ivfpq", VL_FAISS_INSPECT_TEXT);
	const char *want2[] = { "fourcc=IwPQ", "nlist=16", "by_residual=yes", "pq_M=8",
	                        "pq_nbits=8", "invlists=ilar", "quantizer:", "ids=inverted lists",
	                        "exactness=approximate" };
	for (size_t i = 0; i < sizeof want2 / sizeof want2[0]; i++)
		cr_expect(strstr(t, want2[i]), "inspect text lacks '%s':\n%s", want2[i], t);
	free(t);
}

/* JSON output parses with Python's json module, for every fixture. */
Test(faiss, inspect_json_is_valid)
{
	char path[4200], cmd[8600];
	snprintf(path, sizeof path, "%s/inspect-%d.json", faiss_fx_dir(), (int)getpid());
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (size_t k = 0; k < NFIX; k++) {
		if (strcmp(fixtures[k], "ondisk") == 0)
			continue;  /* inspect without the data file: covered below */
		char *t = inspect_to_string(fixtures[k], VL_FAISS_INSPECT_JSON);
		fputs(t, f);
		free(t);
	}
	char *t = inspect_to_string("ondisk", VL_FAISS_INSPECT_JSON);
	cr_expect(strstr(t, "\"data_attached\":false"), "%s", t);
	cr_expect(strstr(t, "not attached"), "%s", t);
	fputs(t, f);
	free(t);
	fclose(f);
	snprintf(cmd, sizeof cmd,
	         "/usr/bin/python3 -c 'import json,sys\n"
	         "n=0\n"
	         "for line in open(sys.argv[1]):\n"
	         "    o=json.loads(line); n+=1\n"
	         "    assert o[\"index\"][\"d\"]>0\n"
	         "assert n==%zu, n' '%s'", NFIX, path);
	cr_expect_eq(faiss_fx_run(cmd), 0, "inspect JSON does not parse (%s)", path);
	unlink(path);
}
