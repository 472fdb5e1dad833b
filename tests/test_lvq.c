/*
 * test_lvq.c - the LVQ storage types (engine/quant/lvq.c, lvq_codec.c).
 *
 * Error bounds are checked against the constants stored in each row: one
 * level within scale/2 per component, two levels within scale2/2 (scale2 =
 * scale / (2^B2 - 1)), plus a few float ulps. Distances are checked against
 * double-precision distances to the decoded vectors, recall against exact
 * brute force on Fashion-MNIST.
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

static const char *const lvq_types[] = { "lvq8", "lvq4", "lvq4x4", "lvq4x8", "lvq8x8" };
#define NTYPES 5
static const uint32_t dims[] = { 1, 7, 15, 17, 129, 768 };
#define NDIMS 6

static void bits_of(const char *t, uint32_t *b1, uint32_t *b2)
{
	*b1 = t[3] == '8' ? 8 : 4;
	*b2 = strlen(t) > 4 ? (uint32_t)(t[5] - '0') : 0;
}

/* Row constants in true units. */
static void row_consts(const qt_store *s, size_t row, double *scale, double *bias)
{
	const uint8_t *p = s->v.primary + row * s->v.pstride;
	int32_t exp = (int32_t)vl_ld32(s->state + 12);
	size_t cb = s->v.pstride - VL_LVQ_TRAILER;
	*scale = ldexp(vl_f16_to_f32(vl_ld16(p + cb)), exp);
	*bias = ldexp(vl_f16_to_f32(vl_ld16(p + cb + 2)), exp);
}

/*
 * Check every row of s against its original: one level within scale/2,
 * two levels within scale/(2^B2-1)/2. Returns the largest error seen, in
 * units of the bound (<= 1 passes).
 */
static double check_bounds(const qt_store *s, const float *rows, size_t n, int normalize)
{
	uint32_t dim = s->v.dim, b1, b2;
	bits_of(s->v.ops->name, &b1, &b2);
	float *dec = qt_alloc(dim * 4), *x = qt_alloc(dim * 4), *mean = qt_alloc(dim * 4);
	for (uint32_t j = 0; j < dim; j++)
		mean[j] = vl_ldf32(s->state + 32 + 4 * j);
	double worst = 0;
	for (size_t r = 0; r < n; r++) {
		double nn = 0;
		for (uint32_t j = 0; j < dim; j++)
			nn += (double)rows[r * dim + j] * rows[r * dim + j];
		for (uint32_t j = 0; j < dim; j++)
			x[j] = normalize && nn > 0 ? (float)(rows[r * dim + j] / sqrt(nn)) : rows[r * dim + j];
		double scale, bias;
		row_consts(s, r, &scale, &bias);
		for (int level = 1; level <= (b2 ? 2 : 1); level++) {
			s->v.ops->decode(&s->v, r, level == 2, dec);
			double bound = level == 1 ? scale / 2 : scale / ((1u << b2) - 1) / 2;
			for (uint32_t j = 0; j < dim; j++) {
				double err = fabs((double)dec[j] - x[j]);
				double slack = 8 * FLT_EPSILON * (fabs(x[j]) + fabs(mean[j]) + fabs(dec[j]) +
				                                  fabs(bias) + scale * (1u << b1));
				cr_assert(err <= bound + slack,
				          "%s dim %u row %zu comp %u level %d: |%.9g - %.9g| = %.3g > %.3g + %.3g",
				          s->v.ops->name, dim, r, j, level, dec[j], x[j], err, bound, slack);
				if (bound > 0 && err / (bound + slack) > worst)
					worst = err / (bound + slack);
			}
		}
		/* the grid is not wastefully wide: the scale is the row's range over
		 * 2^B1-1, rounded up to a half (or 1 unit for a constant row) */
		double lo = INFINITY, hi = -INFINITY;
		for (uint32_t j = 0; j < dim; j++) {
			double y = (double)x[j] - mean[j];
			lo = y < lo ? y : lo;
			hi = y > hi ? y : hi;
		}
		int32_t exp = (int32_t)vl_ld32(s->state + 12);
		double need = (hi - bias) / ((1u << b1) - 1);
		if (need > 7e-5 * ldexp(1, exp))
			cr_assert(scale <= need * (1 + 1.0 / 512) + ldexp(1, exp - 24),
			          "%s row %zu: scale %.9g for a needed %.9g", s->v.ops->name, r, scale, need);
	}
	free(dec);
	free(x);
	free(mean);
	return worst;
}

static float *random_rows(qt_rng *r, size_t n, uint32_t dim, double offset, double scale)
{
	float *x = qt_alloc((size_t)n * dim * 4);
	for (size_t i = 0; i < n * dim; i++)
		x[i] = (float)(offset + scale * qt_gauss(r) * (1 + (i % dim) % 5));
	return x;
}

Test(lvq, error_bound_random_all_types_and_dims)
{
	qt_rng r = { 21 };
	for (int t = 0; t < NTYPES; t++)
		for (int di = 0; di < NDIMS; di++) {
			uint32_t dim = dims[di];
			size_t n = 60;
			float *rows = random_rows(&r, n, dim, 0.3, 1.7);
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, lvq_types[t], VL_METRIC_L2, rows, n, dim, n, NULL, 0, &d),
			             VL_OK, "%s", d.msg);
			check_bounds(&s, rows, n, 0);
			qt_store_free(&s);
			free(rows);
		}
}

/* Vectors designed to break a careless encoder, encoded with a state
 * trained on ordinary data of the same magnitude. */
Test(lvq, error_bound_adversarial)
{
	qt_rng r = { 22 };
	for (int t = 0; t < NTYPES; t++)
		for (int di = 0; di < NDIMS; di++) {
			uint32_t dim = dims[di];
			enum { NADV = 10 };
			float *rows = qt_alloc((size_t)NADV * dim * 4);
			for (uint32_t j = 0; j < dim; j++) {
				rows[0 * dim + j] = 3.25f;                          /* constant */
				rows[1 * dim + j] = 0.0f;                           /* all zero */
				rows[2 * dim + j] = j % 2 ? -0.0f : 0.0f;           /* +-0 */
				rows[3 * dim + j] = j % 3 ? 1e-40f : -2e-42f;       /* float denormals */
				rows[4 * dim + j] = j % 2 ? 5000.0f : -5000.0f;     /* huge range */
				rows[5 * dim + j] = (float)(qt_gauss(&r) * 1e3);    /* wide spread */
				rows[6 * dim + j] = j == dim / 2 ? 4000.0f : 1e-3f; /* one spike */
				rows[7 * dim + j] = 1.0f + (float)j * 1e-7f;        /* nearly constant */
				rows[8 * dim + j] = (float)qt_gauss(&r);            /* ordinary */
				/* far from the mean with a small range: the half-rounded bias
				 * must not land above the minimum */
				rows[9 * dim + j] = 3001.7f + 0.37f * (float)((j * 7) % 11);
			}
			qt_store s;
			vl_diag d;
			/* trained on all of them: the exponent must cover the huge ones */
			cr_assert_eq(qt_store_build(&s, lvq_types[t], VL_METRIC_L2, rows, NADV, dim, NADV,
			                            NULL, 0, &d),
			             VL_OK, "%s", d.msg);
			check_bounds(&s, rows, NADV, 0);
			qt_store_free(&s);
			free(rows);
		}
}

/* Vectors far from the trained mean with a tiny spread: the bias is a
 * large half whose rounding step dwarfs the grid step, so it must be
 * rounded down (never above the minimum) for the bound to hold. */
Test(lvq, error_bound_far_from_mean)
{
	qt_rng r = { 30 };
	for (int t = 0; t < NTYPES; t++)
		for (int di = 1; di < NDIMS; di++) {
			uint32_t dim = dims[di];
			size_t ntrain = 50, n = 62;
			float *rows = random_rows(&r, n, dim, 0, 1);
			double *mean = calloc(dim, sizeof *mean);
			for (size_t i = 0; i < ntrain; i++)
				for (uint32_t j = 0; j < dim; j++)
					mean[j] += rows[i * dim + j] / (double)ntrain;
			for (size_t i = ntrain; i < n; i++)
				for (uint32_t j = 0; j < dim; j++)
					rows[i * dim + j] = (float)(mean[j] + 30.0 * (double)(i - ntrain + 1) / 7 +
					                            1e-3 * (double)((j * 5 + i) % 7));
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, lvq_types[t], VL_METRIC_L2, rows, n, dim, ntrain, NULL,
			                            0, &d),
			             VL_OK, "%s", d.msg);
			check_bounds(&s, rows, n, 0);
			qt_store_free(&s);
			free(rows);
			free(mean);
		}
}

/* Tiny and huge magnitudes: the learned exponent keeps half precision. */
Test(lvq, error_bound_extreme_magnitudes)
{
	qt_rng r = { 23 };
	const double scales[] = { 1e-30, 1e-6, 1e6, 1e25 };
	for (int t = 0; t < NTYPES; t++)
		for (int si = 0; si < 4; si++) {
			uint32_t dim = 129;
			float *rows = random_rows(&r, 20, dim, 0, scales[si]);
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, lvq_types[t], VL_METRIC_L2, rows, 20, dim, 20, NULL, 0, &d),
			             VL_OK, "%s", d.msg);
			check_bounds(&s, rows, 20, 0);
			/* and the precision is real: the scale is near range / (2^B - 1) */
			double scale, bias;
			row_consts(&s, 0, &scale, &bias);
			cr_assert(scale < scales[si] * 20, "%s scale %.3g for data of scale %.3g",
			          lvq_types[t], scale, scales[si]);
			qt_store_free(&s);
			free(rows);
		}
}

Test(lvq, cosine_encodes_unit_vectors)
{
	qt_rng r = { 24 };
	for (int t = 0; t < NTYPES; t++) {
		uint32_t dim = 17;
		float *rows = random_rows(&r, 30, dim, 2.0, 5.0);
		qt_store s;
		vl_diag d;
		cr_assert_eq(qt_store_build(&s, lvq_types[t], VL_METRIC_COSINE, rows, 30, dim, 30, NULL, 0, &d),
		             VL_OK, "%s", d.msg);
		check_bounds(&s, rows, 30, 1);
		qt_store_free(&s);
		free(rows);
	}
}

Test(lvq, nan_input_does_not_crash)
{
	for (int t = 0; t < NTYPES; t++) {
		uint32_t dim = 40;
		float *rows = qt_alloc(2 * dim * 4);
		for (uint32_t j = 0; j < dim; j++) {
			rows[j] = (float)j;
			rows[dim + j] = j % 3 ? NAN : (j % 2 ? INFINITY : -INFINITY);
		}
		qt_store s;
		vl_diag d;
		cr_assert_eq(qt_store_build(&s, lvq_types[t], VL_METRIC_L2, rows, 2, dim, 1, NULL, 0, &d),
		             VL_OK, "%s", d.msg);
		float out[40];
		s.v.ops->decode(&s.v, 1, 1, out);
		for (uint32_t j = 0; j < dim; j++)
			cr_assert(isfinite(out[j]), "%s: NaN input decoded to %g", lvq_types[t], out[j]);
		qt_store_free(&s);
		free(rows);
	}
}

/* Kernel distances against double-precision distances to the decoded
 * vectors. The query is quantized (int8 for 4-bit codes, int16 for 8-bit),
 * which bounds the difference by |b| * unit * scale * (2^B1-1)/2 * dim *
 * alpha/2 (worst case, every rounding error aligned). */
Test(lvq, primary_distances_match_decoded_vectors)
{
	qt_rng r = { 25 };
	const vl_metric metrics[] = { VL_METRIC_L2, VL_METRIC_IP, VL_METRIC_COSINE };
	for (int t = 0; t < NTYPES; t++)
		for (int mi = 0; mi < 3; mi++)
			for (int di = 0; di < NDIMS; di++) {
				uint32_t dim = dims[di], b1, b2;
				bits_of(lvq_types[t], &b1, &b2);
				size_t n = 50;
				float *rows = random_rows(&r, n, dim, 0.5, 1.0);
				float *q = random_rows(&r, 1, dim, 0.2, 1.0);
				qt_store s;
				vl_diag d;
				cr_assert_eq(qt_store_build(&s, lvq_types[t], metrics[mi], rows, n, dim, n, NULL, 0, &d),
				             VL_OK);
				const vl_quant_ops *o = s.v.ops;
				void *qbuf = qt_alloc(s.v.qbuf_size);
				o->prepare(&s.v, q, qbuf);
				const vl_lvq_query *lq = qbuf;
				float *dist = qt_alloc(n * 4), *dec = qt_alloc(dim * 4);
				o->dist_range(&s.v, qbuf, 0, n, dist);
				double qn = 0;
				for (uint32_t j = 0; j < dim; j++)
					qn += (double)q[j] * q[j];
				qn = sqrt(qn);
				for (size_t i = 0; i < n; i++) {
					o->decode(&s.v, i, 0, dec);
					double want = 0;
					for (uint32_t j = 0; j < dim; j++) {
						double qj = metrics[mi] == VL_METRIC_COSINE ? q[j] / qn : q[j];
						want += metrics[mi] == VL_METRIC_L2 ? (qj - dec[j]) * (qj - dec[j]) : qj * dec[j];
					}
					if (metrics[mi] == VL_METRIC_IP)
						want = -want;
					else if (metrics[mi] == VL_METRIC_COSINE)
						want = 1 - want;
					double scale, bias;
					row_consts(&s, i, &scale, &bias);
					double alpha = lq->alpha / ldexp(1, (int32_t)vl_ld32(s.state + 12));
					double qerr = fabs(lq->b) * scale * ((1u << b1) - 1) / 2.0 * dim * alpha / 2;
					double tol = qerr + 1e-5 * (fabs(want) + fabs(lq->a) + 1);
					cr_assert(fabs(dist[i] - want) <= tol,
					          "%s metric %d dim %u row %zu: kernel %.7g vs decoded %.7g (tol %.3g)",
					          lvq_types[t], metrics[mi], dim, i, dist[i], want, tol);
					/* the single-row and gather forms agree with the scan */
					uint32_t id = (uint32_t)i;
					float g;
					o->dist_rows(&s.v, qbuf, &id, 1, &g);
					cr_assert_eq(g, dist[i]);
					cr_assert_eq(o->dist(&s.v, qbuf, i), dist[i]);
					/* the re-rank level is the float distance to the two-level vector */
					if (o->dist_secondary) {
						o->decode(&s.v, i, 1, dec);
						double w2 = 0;
						for (uint32_t j = 0; j < dim; j++) {
							double qj = metrics[mi] == VL_METRIC_COSINE ? q[j] / qn : q[j];
							w2 += metrics[mi] == VL_METRIC_L2 ? (qj - dec[j]) * (qj - dec[j]) : qj * dec[j];
						}
						w2 = metrics[mi] == VL_METRIC_IP ? -w2 : metrics[mi] == VL_METRIC_COSINE ? 1 - w2 : w2;
						float got = o->dist_secondary(&s.v, qbuf, i);
						cr_assert(fabs(got - w2) <= 1e-4 * (fabs(w2) + 1),
						          "%s secondary row %zu: %.7g vs %.7g", lvq_types[t], i, got, w2);
					}
				}
				free(qbuf);
				free(dist);
				free(dec);
				free(q);
				free(rows);
				qt_store_free(&s);
			}
}

/* Every SIMD level gives the scalar level's distances through the full
 * storage path (prepare + scan + gather). */
Test(lvq, every_simd_level_matches_scalar)
{
	qt_rng r = { 26 };
	uint32_t dim = 131;
	size_t n = 70;
	float *rows = random_rows(&r, n, dim, 0.1, 1.0), *q = random_rows(&r, 1, dim, 0, 1);
	for (int t = 0; t < NTYPES; t++) {
		float want[70], got[70];
		for (int lvl = VL_SIMD_SCALAR; lvl <= (int)vl_simd_cpu_level(); lvl++) {
			cr_assert_eq(vl_simd_force((vl_simd_level)lvl), 0);
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, lvq_types[t], VL_METRIC_L2, rows, n, dim, n, NULL, 0, &d),
			             VL_OK);
			void *qbuf = qt_alloc(s.v.qbuf_size);
			s.v.ops->prepare(&s.v, q, qbuf);
			s.v.ops->dist_range(&s.v, qbuf, 0, n, lvl ? got : want);
			if (lvl) /* bit for bit: exact integer kernels, same float finish */
				for (size_t i = 0; i < n; i++)
					cr_assert_eq(got[i], want[i], "%s level %d row %zu: %.9g vs %.9g", lvq_types[t],
					             lvl, i, got[i], want[i]);
			free(qbuf);
			qt_store_free(&s);
		}
	}
	free(rows);
	free(q);
}

/* The trained state is all a reader needs: a second view opened from a copy
 * of the bytes encodes identically, also vectors not seen in training, and
 * training is deterministic. */
Test(lvq, trained_state_is_stable_across_reopen)
{
	qt_rng r = { 27 };
	uint32_t dim = 33;
	float *rows = random_rows(&r, 300, dim, 1.0, 2.0);
	for (int t = 0; t < NTYPES; t++) {
		qt_store a, b;
		vl_diag d;
		cr_assert_eq(qt_store_build(&a, lvq_types[t], VL_METRIC_L2, rows, 100, dim, 100, NULL, 0, &d),
		             VL_OK);
		cr_assert_eq(qt_store_build(&b, lvq_types[t], VL_METRIC_L2, rows, 100, dim, 100, NULL, 0, &d),
		             VL_OK);
		cr_assert_eq(a.state_len, b.state_len);
		cr_assert_eq(memcmp(a.state, b.state, a.state_len), 0, "training is not deterministic");
		/* "reopen": a fresh view over a copy of the serialized state */
		uint8_t *copy = malloc(a.state_len);
		memcpy(copy, a.state, a.state_len);
		vl_qview v2 = { .ops = a.v.ops, .dim = dim, .metric = VL_METRIC_L2 };
		cr_assert_eq(a.v.ops->open(&v2, copy, a.state_len, &d), VL_OK, "%s", d.msg);
		free(copy); /* the view keeps its own copy */
		cr_assert_eq(v2.pstride, a.v.pstride);
		cr_assert_eq(v2.sstride, a.v.sstride);
		uint8_t *p1 = qt_alloc(a.v.pstride), *p2 = qt_alloc(a.v.pstride);
		uint8_t *s1 = qt_alloc(a.v.sstride + 1), *s2 = qt_alloc(a.v.sstride + 1);
		for (size_t i = 100; i < 300; i++) { /* inserted after training */
			a.v.ops->encode(&a.v, rows + i * dim, p1, a.v.sstride ? s1 : NULL);
			a.v.ops->encode(&v2, rows + i * dim, p2, a.v.sstride ? s2 : NULL);
			cr_assert_eq(memcmp(p1, p2, a.v.pstride), 0);
			cr_assert_eq(memcmp(s1, s2, a.v.sstride), 0);
			/* one level at a time (a writer's two passes) gives the same bytes */
			if (a.v.sstride) {
				memset(s2, 0xa5, a.v.sstride);
				a.v.ops->encode(&v2, rows + i * dim, NULL, s2);
				cr_assert_eq(memcmp(s1, s2, a.v.sstride), 0, "secondary alone differs");
			}
			memset(p2, 0xa5, a.v.pstride);
			a.v.ops->encode(&v2, rows + i * dim, p2, NULL);
			cr_assert_eq(memcmp(p1, p2, a.v.pstride), 0, "primary alone differs");
		}
		/* a later vector decodes around the trained mean */
		v2.primary = p2;
		v2.secondary = a.v.sstride ? s2 : NULL;
		v2.nrows = 1;
		float dec[33], dec1[33];
		a.v.ops->decode(&v2, 0, 1, dec);
		a.v.primary = p1;
		a.v.secondary = a.v.sstride ? s1 : NULL;
		a.v.ops->decode(&a.v, 0, 1, dec1);
		cr_assert_eq(memcmp(dec, dec1, sizeof dec), 0);
		double lo = INFINITY, hi = -INFINITY;
		for (uint32_t j = 0; j < dim; j++) {
			lo = fmin(lo, rows[299 * dim + j]);
			hi = fmax(hi, rows[299 * dim + j]);
		}
		for (uint32_t j = 0; j < dim; j++)
			cr_assert(fabs(dec[j] - rows[299 * dim + j]) <= (hi - lo) / 15 + 1e-5,
			          "decode of a post-training vector is off: %g vs %g", dec[j], rows[299 * dim + j]);
		a.v.primary = a.primary;
		a.v.secondary = a.secondary;
		a.v.ops->close(&v2);
		free(p1);
		free(p2);
		free(s1);
		free(s2);
		qt_store_free(&a);
		qt_store_free(&b);
	}
	free(rows);
}

Test(lvq, corrupt_state_is_rejected)
{
	qt_rng r = { 28 };
	uint32_t dim = 9;
	float *rows = random_rows(&r, 10, dim, 0, 1);
	qt_store s;
	vl_diag d;
	cr_assert_eq(qt_store_build(&s, "lvq4x8", VL_METRIC_IP, rows, 10, dim, 10, NULL, 0, &d), VL_OK);
	const vl_quant_ops *o = s.v.ops;
	uint8_t *bad = malloc(s.state_len + 4);
	struct {
		size_t off;
		uint8_t val;
		const char *why;
	} cases[] = {
		{ 0, 'X', "magic" },     { 4, 3, "storage" },      { 5, 1, "metric" },
		{ 6, 8, "bits" },        { 8, 10, "dim" },         { 14, 0x7f, "exponent" },
		{ 25, 1, "reserved" },   { 35, 0x7f, "NaN mean" }, /* exponent bits of mean[0] -> inf/NaN */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memcpy(bad, s.state, s.state_len);
		bad[cases[i].off] = cases[i].val;
		if (cases[i].off == 35)
			bad[34] = 0xc0;
		vl_qview v = { .ops = o, .dim = dim, .metric = VL_METRIC_IP };
		vl_diag_clear(&d);
		cr_assert_eq(o->open(&v, bad, s.state_len, &d), VL_ECORRUPT, "%s accepted", cases[i].why);
		cr_assert(d.msg[0], "no message for %s", cases[i].why);
	}
	vl_qview v = { .ops = o, .dim = dim, .metric = VL_METRIC_IP };
	cr_assert_eq(o->open(&v, s.state, s.state_len - 1, &d), VL_ECORRUPT);
	cr_assert_eq(o->open(&v, s.state, 3, &d), VL_ECORRUPT);
	cr_assert_eq(o->open(&v, NULL, 0, &d), VL_ECORRUPT);
	/* random damage never crashes: it opens or fails cleanly */
	for (int it = 0; it < 2000; it++) {
		memcpy(bad, s.state, s.state_len);
		bad[qt_below(&r, (uint32_t)s.state_len)] ^= (uint8_t)(1u << qt_below(&r, 8));
		vl_qview w = { .ops = o, .dim = dim, .metric = VL_METRIC_IP };
		if (o->open(&w, bad, s.state_len, NULL) == VL_OK)
			o->close(&w);
	}
	free(bad);
	free(rows);
	qt_store_free(&s);
}

Test(lvq, parameters)
{
	const vl_quant_ops *o = vl_quant_find("lvq4");
	vl_diag d;
	cr_assert_eq(o->check_param("TRAINING_THRESHOLD", "5000", 128, &d), VL_OK);
	cr_assert_eq(o->check_param("TRAINING_THRESHOLD", "0", 128, &d), VL_EINVAL);
	cr_assert_eq(o->check_param("TRAINING_THRESHOLD", "102400", 128, &d), VL_EINVAL);
	cr_assert_eq(o->check_param("TRAINING_THRESHOLD", "12x", 128, &d), VL_EINVAL);
	cr_assert(strstr(d.msg, "TRAINING_THRESHOLD"), "%s", d.msg);
	cr_assert_eq(o->check_param("REDUCE", "64", 128, &d), VL_ENOTFOUND);
	const char *p[] = { "TRAINING_THRESHOLD=777" };
	cr_assert_eq(o->train_rows(128, p, 1), 777);
	cr_assert_eq(o->train_rows(128, NULL, 0), 10240);
	/* strides follow from (dim, state): 4-bit rows pad to 64 components */
	qt_rng r = { 29 };
	float *rows = random_rows(&r, 4, 768, 0, 1);
	qt_store s;
	cr_assert_eq(qt_store_build(&s, "lvq4x8", VL_METRIC_L2, rows, 4, 768, 4, NULL, 0, &d), VL_OK);
	cr_assert_eq(s.v.pstride, 384 + 16);
	cr_assert_eq(s.v.sstride, 768);
	qt_store_free(&s);
	cr_assert_eq(qt_store_build(&s, "lvq8", VL_METRIC_L2, rows, 4, 768, 4, NULL, 0, &d), VL_OK);
	cr_assert_eq(s.v.pstride, 768 + 16);
	cr_assert_eq(s.v.sstride, 0);
	cr_assert_null(s.v.ops->dist_secondary);
	qt_store_free(&s);
	free(rows);
}

/* ---- recall on Fashion-MNIST ------------------------------------------- */

#define NBASE 10000
#define NQ 200
#define K 10

typedef struct fm {
	float *base, *queries;
	size_t n, nq;
	uint32_t dim;
	uint32_t *gt;
	double *kth;
} fm;

static int fm_load(fm *f, vl_metric m)
{
	f->base = qt_load_idx("fmnist-train-images", 0, NBASE, &f->n, &f->dim);
	uint32_t dq;
	f->queries = qt_load_idx("fmnist-test-images", 0, NQ, &f->nq, &dq);
	if (!f->base || !f->queries)
		return -1;
	f->gt = malloc(f->nq * K * sizeof *f->gt);
	f->kth = malloc(f->nq * sizeof *f->kth);
	for (size_t i = 0; i < f->nq; i++)
		qt_exact_topk(m, f->queries + i * f->dim, f->base, f->n, f->dim, K, f->gt + i * K,
		              &f->kth[i]);
	return 0;
}

static void fm_free(fm *f)
{
	free(f->base);
	free(f->queries);
	free(f->gt);
	free(f->kth);
}

static double fm_recall(const fm *f, const char *type, vl_metric m, vl_qrerank mode,
                        uint32_t oversample)
{
	qt_store s;
	vl_diag d;
	cr_assert_eq(qt_store_build(&s, type, m, f->base, f->n, f->dim, 10240, NULL, 0, &d), VL_OK,
	             "%s: %s", type, d.msg);
	double sum = 0;
	uint32_t ids[K];
	for (size_t i = 0; i < f->nq; i++) {
		const float *q = f->queries + i * f->dim;
		cr_assert_eq(vl_quant_search(&s.v, f->base, q, K, oversample, mode, ids, NULL), VL_OK);
		sum += qt_recall(m, q, f->base, f->dim, ids, K, f->kth[i]);
	}
	qt_store_free(&s);
	return sum / (double)f->nq;
}

Test(lvq, recall_fashion_mnist_l2, .timeout = 120)
{
	fm f = { 0 };
	cr_assert_eq(fm_load(&f, VL_METRIC_L2), 0, "Fashion-MNIST missing: run `make data`");
	double r8 = fm_recall(&f, "lvq8", VL_METRIC_L2, VL_QRERANK_FULL, 4);
	double r4x8 = fm_recall(&f, "lvq4x8", VL_METRIC_L2, VL_QRERANK_SECONDARY, 4);
	double r4 = fm_recall(&f, "lvq4", VL_METRIC_L2, VL_QRERANK_NONE, 1);
	double r8n = fm_recall(&f, "lvq8", VL_METRIC_L2, VL_QRERANK_NONE, 1);
	double r4x4 = fm_recall(&f, "lvq4x4", VL_METRIC_L2, VL_QRERANK_SECONDARY, 4);
	double r8x8 = fm_recall(&f, "lvq8x8", VL_METRIC_L2, VL_QRERANK_SECONDARY, 4);
	fprintf(stderr,
	        "fmnist %zux%u, %zu queries, recall@10 (l2): lvq8+full %.4f lvq4x8+secondary %.4f "
	        "lvq4 %.4f lvq8 %.4f lvq4x4+secondary %.4f lvq8x8+secondary %.4f\n",
	        f.n, f.dim, f.nq, r8, r4x8, r4, r8n, r4x4, r8x8);
	cr_expect_geq(r8, 0.99);
	cr_expect_geq(r4x8, 0.99);
	cr_expect_geq(r4, 0.80);
	cr_expect_geq(r8n, r4, "8 bits should not be worse than 4");
	fm_free(&f);
}

Test(lvq, recall_fashion_mnist_ip_cosine, .timeout = 120)
{
	const vl_metric ms[] = { VL_METRIC_IP, VL_METRIC_COSINE };
	for (int i = 0; i < 2; i++) {
		fm f = { 0 };
		cr_assert_eq(fm_load(&f, ms[i]), 0, "Fashion-MNIST missing: run `make data`");
		double r8 = fm_recall(&f, "lvq8", ms[i], VL_QRERANK_FULL, 4);
		double r4x8 = fm_recall(&f, "lvq4x8", ms[i], VL_QRERANK_SECONDARY, 4);
		double r4 = fm_recall(&f, "lvq4", ms[i], VL_QRERANK_NONE, 1);
		fprintf(stderr, "fmnist recall@10 (%s): lvq8+full %.4f lvq4x8+secondary %.4f lvq4 %.4f\n",
		        i ? "cosine" : "ip", r8, r4x8, r4);
		cr_expect_geq(r8, 0.99);
		cr_expect_geq(r4x8, 0.99);
		cr_expect_geq(r4, 0.80);
		fm_free(&f);
	}
}

/* The quantized query decoded from a prepared buffer: r_i of component i. */
static int32_t prepared_q(const vl_lvq_query *lq, size_t i)
{
	const int8_t *qc = (const int8_t *)lq + lq->qoff;
	return lq->bits == 4 ? qc[vl_lvq4_qpos(i)] : 128 * qc[i] + qc[lq->code_bytes + i];
}

/*
 * prepare writes the same bytes at every kernel level (the whole query
 * buffer: constants, integer query, float vector), encode the same rows;
 * and the integer query is the float one rounded half to even on the grid
 * alpha = max|u| / qmax (qmax 127 for 4-bit codes, 8127 or the int32 bound
 * for 8-bit ones), with the padding zero.
 */
Test(lvq, prepare_is_the_same_bytes_on_every_level)
{
	qt_rng r = { 31 };
	const vl_metric metrics[] = { VL_METRIC_L2, VL_METRIC_IP, VL_METRIC_COSINE };
	for (int t = 0; t < NTYPES; t++)
		for (int mi = 0; mi < 3; mi++)
			for (int di = 0; di < NDIMS; di++) {
				uint32_t dim = dims[di];
				size_t n = 24;
				float *rows = random_rows(&r, n, dim, 0.5, 1.0);
				float *q = random_rows(&r, 1, dim, di % 2 ? 3.0 : 0.1, 1.0);
				uint8_t *want = NULL, *wprim = NULL, *wsec = NULL;
				size_t qsize = 0;
				for (int lvl = VL_SIMD_SCALAR; lvl <= (int)vl_simd_cpu_level(); lvl++) {
					cr_assert_eq(vl_simd_force((vl_simd_level)lvl), 0);
					qt_store s;
					vl_diag d;
					cr_assert_eq(qt_store_build(&s, lvq_types[t], metrics[mi], rows, n, dim, n, NULL, 0,
					                            &d),
					             VL_OK, "%s", d.msg);
					uint8_t *qbuf = qt_alloc(s.v.qbuf_size);
					memset(qbuf, 0xee, s.v.qbuf_size); /* prepare must not depend on old bytes */
					s.v.ops->prepare(&s.v, q, qbuf);
					if (lvl == VL_SIMD_SCALAR) {
						want = qbuf;
						qsize = s.v.qbuf_size;
						wprim = malloc(n * s.v.pstride);
						memcpy(wprim, s.primary, n * s.v.pstride);
						if (s.v.sstride) {
							wsec = malloc(n * s.v.sstride);
							memcpy(wsec, s.secondary, n * s.v.sstride);
						}
						const vl_lvq_query *lq = (const vl_lvq_query *)(const void *)qbuf;
						const float *u = (const float *)(const void *)(qbuf + lq->uoff);
						double amax = 0;
						for (uint32_t j = 0; j < dim; j++)
							amax = fmax(amax, fabs(u[j]));
						size_t cb = lq->code_bytes;
						double qmax = lq->bits == 4 ? 127
						              : fmin(8127, floor(2147483647.0 / (255.0 * (double)cb)) - 64);
						for (uint32_t j = 0; j < dim; j++) {
							double e = amax > 0 ? nearbyint(fmin(fmax(u[j] * (qmax / amax), -qmax), qmax))
							                    : 0;
							cr_assert_eq(prepared_q(lq, j), (int32_t)e,
							             "%s metric %d dim %u comp %u: %.9g -> %d, want %.0f",
							             lvq_types[t], metrics[mi], dim, j, u[j], prepared_q(lq, j), e);
						}
						for (size_t j = dim; j < (lq->bits == 4 ? 2 * cb : cb); j++)
							cr_assert_eq(prepared_q(lq, j), 0, "padding component %zu", j);
					} else {
						cr_assert_eq(s.v.qbuf_size, qsize);
						for (size_t i = 0; i < qsize; i++)
							cr_assert_eq(qbuf[i], want[i],
							             "%s metric %d dim %u level %d: query byte %zu differs",
							             lvq_types[t], metrics[mi], dim, lvl, i);
						cr_assert_eq(memcmp(s.primary, wprim, n * s.v.pstride), 0,
						             "%s level %d: primary rows differ", lvq_types[t], lvl);
						if (s.v.sstride)
							cr_assert_eq(memcmp(s.secondary, wsec, n * s.v.sstride), 0,
							             "%s level %d: secondary rows differ", lvq_types[t], lvl);
						free(qbuf);
					}
					qt_store_free(&s);
				}
				free(want);
				free(wprim);
				free(wsec);
				free(rows);
				free(q);
			}
}

/* The batched re-rank (dist_secondary_rows) gives dist_secondary's values
 * exactly, in any order and with repeats; every level is within float
 * rounding of the scalar level, bounded by the terms' magnitudes. */
Test(lvq, secondary_rows_match_on_every_level)
{
	qt_rng r = { 32 };
	const vl_metric metrics[] = { VL_METRIC_L2, VL_METRIC_IP, VL_METRIC_COSINE };
	enum { N = 30, NIDS = 45 };
	for (int t = 2; t < NTYPES; t++) /* the two-level types */
		for (int mi = 0; mi < 3; mi++)
			for (int di = 0; di < NDIMS; di++) {
				uint32_t dim = dims[di];
				float *rows = random_rows(&r, N, dim, 0.5, 1.0), *q = random_rows(&r, 1, dim, 0.2, 1.0);
				uint32_t ids[NIDS];
				for (int i = 0; i < NIDS; i++)
					ids[i] = qt_below(&r, N);
				float want[NIDS], got[NIDS];
				double mag[NIDS];
				for (int lvl = VL_SIMD_SCALAR; lvl <= (int)vl_simd_cpu_level(); lvl++) {
					cr_assert_eq(vl_simd_force((vl_simd_level)lvl), 0);
					qt_store s;
					vl_diag d;
					cr_assert_eq(qt_store_build(&s, lvq_types[t], metrics[mi], rows, N, dim, N, NULL, 0,
					                            &d),
					             VL_OK, "%s", d.msg);
					const vl_quant_ops *o = s.v.ops;
					cr_assert_not_null(o->dist_secondary_rows);
					void *qbuf = qt_alloc(s.v.qbuf_size);
					o->prepare(&s.v, q, qbuf);
					o->dist_secondary_rows(&s.v, qbuf, ids, NIDS, got);
					for (int i = 0; i < NIDS; i++)
						cr_assert_eq(got[i], o->dist_secondary(&s.v, qbuf, ids[i]),
						             "%s level %d: batch and single row differ", lvq_types[t], lvl);
					if (lvl == VL_SIMD_SCALAR) {
						memcpy(want, got, sizeof want);
						/* magnitude of the terms: u and the decoded row */
						const vl_lvq_query *lq = qbuf;
						const float *u = (const float *)(const void *)((const uint8_t *)qbuf + lq->uoff);
						const float *mean = (const float *)(const void *)(s.state + 32);
						float *dec = qt_alloc(dim * 4);
						for (int i = 0; i < NIDS; i++) {
							o->decode(&s.v, ids[i], 1, dec);
							double m = fabs(lq->l2 ? lq->a0 : lq->a);
							for (uint32_t j = 0; j < dim; j++) {
								double x = dec[j] - mean[j]; /* centred */
								m += lq->l2 ? (fabs(u[j]) + fabs(x)) * (fabs(u[j] - x) + 1e-3 * fabs(x))
								            : fabs(u[j]) * (fabs(x) + fabs(mean[j]));
							}
							mag[i] = m;
						}
						free(dec);
					} else {
						for (int i = 0; i < NIDS; i++)
							cr_assert(fabs(got[i] - want[i]) <= 4e-6 * mag[i],
							          "%s metric %d dim %u level %d row %u: %.9g vs scalar %.9g",
							          lvq_types[t], metrics[mi], dim, lvl, ids[i], got[i], want[i]);
					}
					free(qbuf);
					qt_store_free(&s);
				}
				free(rows);
				free(q);
			}
}
