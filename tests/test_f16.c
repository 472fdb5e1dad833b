/*
 * test_f16.c - float16 storage (engine/quant/f16.c).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qsearch.h"
#include "simd/fp16.h"
#include "simd/simd.h"
#include "tests/util/qtest.h"
#include "tests/util/qtype.h"

/* Half spacing at |x| (the ulp of the nearest half). */
static double half_ulp(double x)
{
	double a = fabs(x);
	if (a < ldexp(1, -14))
		return ldexp(1, -24);
	int e;
	frexp(a, &e);
	return ldexp(1, e - 11);
}

Test(f16, encode_rounds_to_nearest_half)
{
	qt_rng r = { 41 };
	const uint32_t dims[] = { 1, 7, 15, 17, 129, 768 };
	for (int di = 0; di < 6; di++) {
		uint32_t dim = dims[di];
		size_t n = 20;
		float *rows = qt_alloc(n * dim * 4);
		for (size_t i = 0; i < n * dim; i++)
			rows[i] = (float)(qt_gauss(&r) * pow(10, (int)qt_below(&r, 10) - 5));
		rows[0] = 1e-40f;   /* float denormal */
		rows[dim - 1] = -0.0f;
		qt_store s;
		vl_diag d;
		cr_assert_eq(qt_store_build(&s, "float16", VL_METRIC_L2, rows, n, dim, 0, NULL, 0, &d), VL_OK);
		cr_assert_eq(s.v.pstride % 16, 0);
		cr_assert_geq(s.v.pstride, 2 * dim);
		float *dec = qt_alloc(dim * 4);
		for (size_t i = 0; i < n; i++) {
			s.v.ops->decode(&s.v, i, 0, dec);
			for (uint32_t j = 0; j < dim; j++) {
				double x = rows[i * dim + j];
				cr_assert(fabs(dec[j] - x) <= half_ulp(x) / 2, "dim %u [%zu][%u]: %.9g -> %.9g", dim,
				          i, j, x, dec[j]);
				cr_assert_eq(vl_f16_from_f32(dec[j]), vl_f16_from_f32((float)x));
			}
			/* padding is zero */
			for (size_t b = 2 * dim; b < s.v.pstride; b++)
				cr_assert_eq(s.v.primary[i * s.v.pstride + b], 0);
		}
		free(dec);
		free(rows);
		qt_store_free(&s);
	}
}

Test(f16, saturates_and_sanitizes)
{
	float rows[6] = { 1e6f, -1e6f, NAN, INFINITY, 65519.0f, 65520.0f };
	qt_store s;
	vl_diag d;
	cr_assert_eq(qt_store_build(&s, "float16", VL_METRIC_L2, rows, 1, 6, 0, NULL, 0, &d), VL_OK);
	float dec[6];
	s.v.ops->decode(&s.v, 0, 0, dec);
	cr_assert_eq(dec[0], 65504.0f);
	cr_assert_eq(dec[1], -65504.0f);
	cr_assert_eq(dec[2], 0.0f);
	cr_assert_eq(dec[3], 0.0f);
	cr_assert_eq(dec[4], 65504.0f);
	cr_assert_eq(dec[5], 65504.0f, "65520 rounds to inf in IEEE; storage saturates");
	qt_store_free(&s);
	const vl_quant_ops *o = vl_quant_find("float16");
	cr_assert_eq(o->check_param("TRAINING_THRESHOLD", "10", 8, &d), VL_ENOTFOUND);
	vl_qview v = { .ops = o, .dim = 4, .metric = VL_METRIC_L2 };
	uint8_t junk[4] = { 1, 2, 3, 4 };
	cr_assert_eq(o->open(&v, junk, 4, &d), VL_ECORRUPT);
}

Test(f16, distances_match_decoded_vectors_on_every_level)
{
	qt_rng r = { 42 };
	const vl_metric ms[] = { VL_METRIC_L2, VL_METRIC_IP, VL_METRIC_COSINE };
	for (int mi = 0; mi < 3; mi++)
		for (int lvl = 0; lvl <= (int)vl_simd_cpu_level(); lvl++) {
			cr_assert_eq(vl_simd_force((vl_simd_level)lvl), 0);
			uint32_t dim = 1 + qt_below(&r, 300);
			size_t n = 40;
			float *rows = qt_alloc(n * dim * 4), *q = qt_alloc(dim * 4), *dec = qt_alloc(dim * 4);
			for (size_t i = 0; i < n * dim; i++)
				rows[i] = (float)(qt_gauss(&r) * 3 + 1);
			for (uint32_t j = 0; j < dim; j++)
				q[j] = (float)qt_gauss(&r);
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, "float16", ms[mi], rows, n, dim, 0, NULL, 0, &d), VL_OK);
			void *qbuf = qt_alloc(s.v.qbuf_size);
			s.v.ops->prepare(&s.v, q, qbuf);
			float got[40];
			s.v.ops->dist_range(&s.v, qbuf, 0, n, got);
			double qn = 0;
			for (uint32_t j = 0; j < dim; j++)
				qn += (double)q[j] * q[j];
			qn = sqrt(qn);
			for (size_t i = 0; i < n; i++) {
				s.v.ops->decode(&s.v, i, 0, dec);
				double w = 0, mag = 0;
				for (uint32_t j = 0; j < dim; j++) {
					double qj = ms[mi] == VL_METRIC_COSINE ? q[j] / qn : q[j];
					double t = ms[mi] == VL_METRIC_L2 ? (qj - dec[j]) * (qj - dec[j]) : qj * dec[j];
					w += t;
					mag += fabs(t);
				}
				w = ms[mi] == VL_METRIC_IP ? -w : ms[mi] == VL_METRIC_COSINE ? 1 - w : w;
				cr_assert(fabs(got[i] - w) <= 1e-5 * (mag + 1), "metric %d level %d row %zu: %.8g vs %.8g",
				          ms[mi], lvl, i, got[i], w);
				cr_assert_eq(s.v.ops->dist(&s.v, qbuf, i), got[i]);
				uint32_t id = (uint32_t)i;
				float g;
				s.v.ops->dist_rows(&s.v, qbuf, &id, 1, &g);
				cr_assert_eq(g, got[i]);
			}
			free(qbuf);
			free(rows);
			free(q);
			free(dec);
			qt_store_free(&s);
		}
}

Test(f16, recall_fashion_mnist, .timeout = 60)
{
	size_t n, nq;
	uint32_t dim, dq;
	float *base = qt_load_idx("fmnist-train-images", 0, 5000, &n, &dim);
	float *qs = qt_load_idx("fmnist-test-images", 0, 100, &nq, &dq);
	cr_assert(base && qs, "Fashion-MNIST missing: run `make data`");
	qt_store s;
	vl_diag d;
	cr_assert_eq(qt_store_build(&s, "float16", VL_METRIC_L2, base, n, dim, 0, NULL, 0, &d), VL_OK);
	double sum = 0;
	for (size_t i = 0; i < nq; i++) {
		uint32_t gt[10], ids[10];
		double kth;
		qt_exact_topk(VL_METRIC_L2, qs + i * dim, base, n, dim, 10, gt, &kth);
		cr_assert_eq(vl_quant_search(&s.v, base, qs + i * dim, 10, 1, VL_QRERANK_NONE, ids, NULL),
		             VL_OK);
		sum += qt_recall(VL_METRIC_L2, qs + i * dim, base, dim, ids, 10, kth);
	}
	/* pixel values 0..255 are exact in half precision: the scan is exact */
	cr_assert_geq(sum / nq, 0.999, "float16 recall %.4f", sum / nq);
	qt_store_free(&s);
	free(base);
	free(qs);
}
