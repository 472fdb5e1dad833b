/*
 * test_leanvec.c - LeanVec storage (engine/quant/leanvec.c): PCA-reduced
 * LVQ primary level, full-dimension LVQ-8 secondary level.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/lvq.h"
#include "quant/qsearch.h"
#include "simd/fp16.h"
#include "simd/simd.h"
#include "tests/util/qtest.h"
#include "tests/util/qtype.h"
#include "vl_bytes.h"

static const char *const types[] = { "leanvec4x8", "leanvec8x8" };

/* Rows living (up to small noise) in a random rank-r subspace plus an
 * offset, so a reduction to r dims loses almost nothing. */
static float *low_rank_rows(qt_rng *r, size_t n, uint32_t dim, uint32_t rank, double noise)
{
	float *basis = qt_alloc((size_t)rank * dim * 4), *x = qt_alloc(n * dim * 4);
	for (size_t i = 0; i < (size_t)rank * dim; i++)
		basis[i] = (float)qt_gauss(r);
	for (size_t s = 0; s < n; s++)
		for (uint32_t j = 0; j < dim; j++) {
			double v = 2.0 + noise * qt_gauss(r);
			x[s * dim + j] = (float)v;
		}
	for (size_t s = 0; s < n; s++)
		for (uint32_t k = 0; k < rank; k++) {
			double z = qt_gauss(r);
			for (uint32_t j = 0; j < dim; j++)
				x[s * dim + j] += (float)(z * basis[(size_t)k * dim + j]);
		}
	free(basis);
	return x;
}

Test(leanvec, secondary_is_lvq8_within_bound)
{
	qt_rng r = { 61 };
	const uint32_t dims[] = { 2, 7, 17, 129, 300 };
	for (int t = 0; t < 2; t++)
		for (int di = 0; di < 5; di++) {
			uint32_t dim = dims[di];
			size_t n = 80;
			float *rows = low_rank_rows(&r, n, dim, dim / 2 ? dim / 2 : 1, 0.01);
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, types[t], VL_METRIC_L2, rows, n, dim, n, NULL, 0, &d),
			             VL_OK, "%s dim %u: %s", types[t], dim, d.msg);
			float *dec = qt_alloc(dim * 4);
			int32_t exp2 = (int32_t)vl_ld32(s.state + 20);
			size_t cb = s.v.sstride - VL_LVQ_TRAILER;
			for (size_t i = 0; i < n; i++) {
				s.v.ops->decode(&s.v, i, 1, dec);
				const uint8_t *row = s.v.secondary + i * s.v.sstride;
				double scale = ldexp(vl_f16_to_f32(vl_ld16(row + cb)), exp2);
				for (uint32_t j = 0; j < dim; j++) {
					double x = rows[i * dim + j];
					double slack = 1e-5 * (fabs(x) + 1);
					cr_assert(fabs(dec[j] - x) <= scale / 2 + slack, "%s dim %u [%zu][%u]: %g vs %g (scale %g)",
					          types[t], dim, i, j, dec[j], x, scale);
				}
			}
			free(dec);
			free(rows);
			qt_store_free(&s);
		}
}

/* On (nearly) low-rank data the reduction is (nearly) lossless: the primary
 * reconstruction, back-projected, is close to the original. */
Test(leanvec, primary_level_captures_low_rank_data)
{
	qt_rng r = { 62 };
	uint32_t dim = 64, rank = 8;
	size_t n = 500;
	float *rows = low_rank_rows(&r, n, dim, rank, 0.001);
	const char *p[] = { "REDUCE=8" };
	for (int t = 0; t < 2; t++) {
		qt_store s;
		vl_diag d;
		cr_assert_eq(qt_store_build(&s, types[t], VL_METRIC_L2, rows, n, dim, n, p, 1, &d), VL_OK,
		             "%s", d.msg);
		cr_assert_eq(s.v.pstride, vl_lvq_code_bytes(8, t ? 8 : 4) + VL_LVQ_TRAILER);
		float *dec = qt_alloc(dim * 4);
		double err = 0, tot = 0;
		for (size_t i = 0; i < n; i++) {
			s.v.ops->decode(&s.v, i, 0, dec);
			for (uint32_t j = 0; j < dim; j++) {
				err += ((double)dec[j] - rows[i * dim + j]) * ((double)dec[j] - rows[i * dim + j]);
				tot += ((double)rows[i * dim + j] - 2) * ((double)rows[i * dim + j] - 2);
			}
		}
		/* 4-bit codes on 8 dims: ~1/15 relative step; 8-bit: ~1/255 */
		double rel = sqrt(err / tot);
		cr_assert(rel < (t ? 0.01 : 0.08), "%s: relative reconstruction error %.4f", types[t], rel);
		free(dec);
		qt_store_free(&s);
	}
	free(rows);
}

/* Primary distances are LVQ distances in the reduced space; secondary ones
 * are float distances to the LVQ-8 vector. Checked on every metric against
 * the decoded vectors. */
Test(leanvec, distances_match_decoded_vectors)
{
	qt_rng r = { 63 };
	const vl_metric ms[] = { VL_METRIC_L2, VL_METRIC_IP, VL_METRIC_COSINE };
	uint32_t dim = 48;
	size_t n = 60;
	float *rows = low_rank_rows(&r, n, dim, 12, 0.01), *q = low_rank_rows(&r, 1, dim, 12, 0.01);
	float *dec = qt_alloc(dim * 4);
	for (int t = 0; t < 2; t++)
		for (int mi = 0; mi < 3; mi++) {
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, types[t], ms[mi], rows, n, dim, n, NULL, 0, &d), VL_OK);
			void *qbuf = qt_alloc(s.v.qbuf_size);
			s.v.ops->prepare(&s.v, q, qbuf);
			double qn = 0;
			for (uint32_t j = 0; j < dim; j++)
				qn += (double)q[j] * q[j];
			qn = sqrt(qn);
			float prim[60];
			s.v.ops->dist_range(&s.v, qbuf, 0, n, prim);
			for (size_t i = 0; i < n; i++) {
				for (int level = 0; level < 2; level++) {
					s.v.ops->decode(&s.v, i, level, dec);
					double w = 0, mag = 0;
					for (uint32_t j = 0; j < dim; j++) {
						double qj = ms[mi] == VL_METRIC_COSINE ? q[j] / qn : q[j];
						double term = ms[mi] == VL_METRIC_L2 ? (qj - dec[j]) * (qj - dec[j]) : qj * dec[j];
						w += term;
						mag += fabs(term);
					}
					w = ms[mi] == VL_METRIC_IP ? -w : ms[mi] == VL_METRIC_COSINE ? 1 - w : w;
					float got = level ? s.v.ops->dist_secondary(&s.v, qbuf, i) : prim[i];
					/* the primary level also drops the query's component outside
					 * the subspace (l2) and quantizes the query: compare loosely */
					double tol = level ? 1e-4 * (mag + 1) : 0.05 * (mag + 1);
					cr_assert(fabs(got - w) <= tol, "%s metric %d row %zu level %d: %.6g vs %.6g",
					          types[t], ms[mi], i, level, got, w);
				}
			}
			free(qbuf);
			qt_store_free(&s);
		}
	free(rows);
	free(q);
	free(dec);
}

Test(leanvec, parameters_and_state)
{
	const vl_quant_ops *o = vl_quant_find("leanvec4x8");
	vl_diag d;
	cr_assert_eq(o->check_param("REDUCE", "100", 768, &d), VL_OK);
	cr_assert_eq(o->check_param("LEANVEC_DIM", "100", 768, &d), VL_OK);
	cr_assert_eq(o->check_param("REDUCE", "768", 768, &d), VL_EINVAL);
	cr_assert_eq(o->check_param("REDUCE", "0", 768, &d), VL_EINVAL);
	cr_assert_eq(o->check_param("REDUCE", "10", 5000, &d), VL_EINVAL, "dim above the PCA limit");
	cr_assert_eq(o->check_param("TRAINING_THRESHOLD", "2048", 768, &d), VL_OK);
	cr_assert_eq(o->check_param("GRAPH_MAX_DEGREE", "32", 768, &d), VL_ENOTFOUND);
	/* the dim alone can rule LeanVec out, before any parameter is given */
	cr_assert_eq(o->check_schema(768, VL_METRIC_L2, NULL, 0, &d), VL_OK);
	cr_assert_eq(o->check_schema(1, VL_METRIC_L2, NULL, 0, &d), VL_EINVAL);
	cr_assert_eq(o->check_schema(4097, VL_METRIC_L2, NULL, 0, &d), VL_EINVAL);
	const char *big[] = { "REDUCE=900" };
	cr_assert_eq(o->check_schema(768, VL_METRIC_L2, big, 1, &d), VL_EINVAL);
	cr_assert(strstr(d.msg, "REDUCE"), "%s", d.msg);
	cr_assert_null(vl_quant_find("lvq4")->check_schema);
	qt_rng r = { 64 };
	uint32_t dim = 20;
	float *rows = low_rank_rows(&r, 50, dim, 5, 0.1);
	qt_store s;
	cr_assert_eq(qt_store_build(&s, "leanvec8x8", VL_METRIC_IP, rows, 50, dim, 50, NULL, 0, &d), VL_OK);
	cr_assert_eq(vl_ld32(s.state + 12), dim / 2, "REDUCE defaults to dim/2");
	/* deterministic training; a copy of the state reopens to the same encoding */
	qt_store s2;
	cr_assert_eq(qt_store_build(&s2, "leanvec8x8", VL_METRIC_IP, rows, 50, dim, 50, NULL, 0, &d), VL_OK);
	cr_assert_eq(memcmp(s.state, s2.state, s.state_len), 0);
	cr_assert_eq(memcmp(s.primary, s2.primary, 50 * s.v.pstride), 0);
	cr_assert_eq(memcmp(s.secondary, s2.secondary, 50 * s.v.sstride), 0);
	/* one level at a time gives the same bytes (the projection is skipped
	 * when only the secondary is wanted) */
	uint8_t *p1 = malloc(s.v.pstride), *s1 = malloc(s.v.sstride);
	for (size_t i = 0; i < 50; i++) {
		s.v.ops->encode(&s.v, rows + i * dim, p1, NULL);
		s.v.ops->encode(&s.v, rows + i * dim, NULL, s1);
		cr_assert_eq(memcmp(p1, s.primary + i * s.v.pstride, s.v.pstride), 0);
		cr_assert_eq(memcmp(s1, s.secondary + i * s.v.sstride, s.v.sstride), 0);
	}
	free(p1);
	free(s1);
	qt_store_free(&s2);
	/* damage: every check names the problem */
	uint8_t *bad = malloc(s.state_len);
	const size_t offs[] = { 0, 4, 5, 6, 8, 12, 17, 32 + 3, s.state_len - 1 };
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		memcpy(bad, s.state, s.state_len);
		if (offs[i] >= 32) /* a float of the state: make it NaN */
			memset(bad + (offs[i] - (offs[i] - 32) % 4), 0xff, 4);
		else
			bad[offs[i]] ^= 0x41;
		vl_qview v = { .ops = s.v.ops, .dim = dim, .metric = VL_METRIC_IP };
		vl_diag_clear(&d);
		cr_assert_eq(s.v.ops->open(&v, bad, s.state_len, &d), VL_ECORRUPT, "offset %zu accepted",
		             offs[i]);
		cr_assert(d.msg[0]);
	}
	for (int it = 0; it < 1000; it++) {
		memcpy(bad, s.state, s.state_len);
		bad[qt_below(&r, (uint32_t)s.state_len)] ^= (uint8_t)(1u << qt_below(&r, 8));
		vl_qview v = { .ops = s.v.ops, .dim = dim, .metric = VL_METRIC_IP };
		if (s.v.ops->open(&v, bad, s.state_len, NULL) == VL_OK)
			s.v.ops->close(&v);
	}
	free(bad);
	free(rows);
	qt_store_free(&s);
}

Test(leanvec, recall_fashion_mnist, .timeout = 180)
{
	size_t n, nq;
	uint32_t dim, dq;
	float *base = qt_load_idx("fmnist-train-images", 0, 10000, &n, &dim);
	float *qs = qt_load_idx("fmnist-test-images", 0, 120, &nq, &dq);
	cr_assert(base && qs, "Fashion-MNIST missing: run `make data`");
	uint32_t *gt = malloc(nq * 10 * sizeof *gt);
	double *kth = malloc(nq * sizeof *kth);
	for (size_t i = 0; i < nq; i++)
		qt_exact_topk(VL_METRIC_L2, qs + i * dim, base, n, dim, 10, gt + i * 10, &kth[i]);
	for (int t = 0; t < 2; t++) {
		qt_store s;
		vl_diag d;
		cr_assert_eq(qt_store_build(&s, types[t], VL_METRIC_L2, base, n, dim, 10240, NULL, 0, &d), VL_OK,
		             "%s", d.msg);
		double rn = 0, rs = 0;
		uint32_t ids[10];
		for (size_t i = 0; i < nq; i++) {
			const float *q = qs + i * dim;
			vl_quant_search(&s.v, base, q, 10, 1, VL_QRERANK_NONE, ids, NULL);
			rn += qt_recall(VL_METRIC_L2, q, base, dim, ids, 10, kth[i]);
			vl_quant_search(&s.v, base, q, 10, 4, VL_QRERANK_SECONDARY, ids, NULL);
			rs += qt_recall(VL_METRIC_L2, q, base, dim, ids, 10, kth[i]);
		}
		fprintf(stderr, "fmnist %s (784 -> %u): recall@10 primary %.4f, +secondary x4 %.4f\n",
		        types[t], vl_ld32(s.state + 12), rn / nq, rs / nq);
		/* PCA to 392 of 784 dims keeps most of Fashion-MNIST's variance */
		cr_expect_geq(rs / nq, 0.98, "%s with re-rank", types[t]);
		cr_expect_geq(rn / nq, 0.85, "%s primary only", types[t]);
		qt_store_free(&s);
	}
	free(gt);
	free(kth);
	free(base);
	free(qs);
}

/*
 * encode_rows (blocks of rows projected as one matrix product) writes the
 * bytes encode writes row by row, at every kernel level, for both levels
 * together or one at a time, across block boundaries; and the batched
 * re-rank gives dist_secondary's values.
 */
Test(leanvec, encode_rows_equals_encode_on_every_level)
{
	qt_rng r = { 69 };
	const vl_metric metrics[] = { VL_METRIC_L2, VL_METRIC_COSINE };
	const uint32_t dims[] = { 7, 17, 129, 200 };
	for (int di = 0; di < 4; di++) {
		uint32_t dim = dims[di];
		size_t n = di == 3 ? 40 : 71; /* not a multiple of the block */
		float *rows = low_rank_rows(&r, n, dim, dim < 10 ? 2 : 6, 0.3);
		for (int t = 0; t < 2; t++)
			for (int mi = 0; mi < 2; mi++)
				for (int lvl = VL_SIMD_SCALAR; lvl <= (int)vl_simd_cpu_level(); lvl++) {
					cr_assert_eq(vl_simd_force((vl_simd_level)lvl), 0);
					qt_store s;
					vl_diag d;
					cr_assert_eq(qt_store_build(&s, types[t], metrics[mi], rows, n, dim, n, NULL, 0, &d),
					             VL_OK, "%s", d.msg);
					const vl_quant_ops *o = s.v.ops;
					size_t ps = s.v.pstride, ss = s.v.sstride;
					uint8_t *p = malloc(n * ps), *sec = malloc(n * ss);
					for (int mode = 0; mode < 3; mode++) { /* both, primary only, secondary only */
						memset(p, 0xa5, n * ps);
						memset(sec, 0xa5, n * ss);
						o->encode_rows(&s.v, rows, n, mode != 2 ? p : NULL, mode != 1 ? sec : NULL);
						for (size_t i = 0; i < n; i++) {
							uint8_t p1[1024], s1[1024];
							cr_assert(ps <= sizeof p1 && ss <= sizeof s1);
							o->encode(&s.v, rows + i * dim, p1, s1);
							if (mode != 2)
								cr_assert_eq(memcmp(p + i * ps, p1, ps), 0,
								             "%s metric %d dim %u level %d mode %d: primary row %zu", types[t],
								             metrics[mi], dim, lvl, mode, i);
							if (mode != 1)
								cr_assert_eq(memcmp(sec + i * ss, s1, ss), 0,
								             "%s dim %u level %d mode %d: secondary row %zu", types[t], dim,
								             lvl, mode, i);
						}
					}
					/* re-ranking: batched = row by row */
					void *qbuf = qt_alloc(s.v.qbuf_size);
					o->prepare(&s.v, rows + (n - 1) * dim, qbuf);
					uint32_t ids[50];
					float got[50];
					for (int i = 0; i < 50; i++)
						ids[i] = qt_below(&r, (uint32_t)n);
					o->dist_secondary_rows(&s.v, qbuf, ids, 50, got);
					for (int i = 0; i < 50; i++)
						cr_assert_eq(got[i], o->dist_secondary(&s.v, qbuf, ids[i]));
					free(qbuf);
					free(p);
					free(sec);
					qt_store_free(&s);
				}
		free(rows);
	}
}
