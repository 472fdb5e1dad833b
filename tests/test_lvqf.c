/*
 * test_lvqf.c - the float side of the LVQ kernels (engine/simd/lvqprep_*.c,
 * lvqrr_*.c): query preparation and re-ranking, every level against the
 * scalar reference, the reference against independent expectations.
 *
 * Preparation must be bit for bit the same at every level (the integer
 * query and its constants decide lvq_scan's exact distances), so those
 * comparisons are memcmp; re-ranking sums floats in another order per
 * level, so it is compared within a tolerance scaled by the magnitudes of
 * the terms. Buffers are malloc'd to their exact size, with sentinels after
 * the last element where a kernel writes, so over-reads and over-writes
 * show up (under ASan too).
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd/fp16.h"
#include "simd/simd.h"
#include "tests/util/qtest.h"

static const size_t fixed_dims[] = { 1, 7, 15, 16, 17, 31, 33, 64, 127, 129, 768, 784 };
#define NFIXED (sizeof fixed_dims / sizeof fixed_dims[0])
#define NITER (NFIXED + 20)

static size_t dim_at(qt_rng *r, size_t it)
{
	return it < NFIXED ? fixed_dims[it] : 1 + qt_below(r, 1100);
}

/* Levels above scalar this CPU has. */
static size_t vector_levels(const vl_kernels *out[3])
{
	size_t n = 0;
	for (int l = VL_SIMD_AVX2; l <= VL_SIMD_AVX512VNNI; l++) {
		const vl_kernels *k = vl_kernels_at((vl_simd_level)l);
		if (k)
			out[n++] = k;
	}
	return n;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	return p;
}

/* Gaussian floats with the odd special value: signed zeros, denormals, huge
 * values, and (when specials) NaN and infinities. */
static void fill_vec(qt_rng *r, float *x, size_t n, double scale, int specials)
{
	for (size_t i = 0; i < n; i++) {
		x[i] = (float)(qt_gauss(r) * scale);
		switch (qt_below(r, 40)) {
		case 0: x[i] = -0.0f; break;
		case 1: x[i] = 1e-40f; break;
		case 2: x[i] = specials ? NAN : 0.0f; break;
		case 3: x[i] = specials ? INFINITY : 1.0f; break;
		case 4: x[i] = specials ? -INFINITY : -1.0f; break;
		case 5: x[i] = specials ? 3e38f : 2.0f; break;
		default: break;
		}
	}
}

Test(lvqf, clean_and_scale_same_bytes_on_every_level)
{
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR), *ks[3];
	size_t nk = vector_levels(ks);
	qt_rng r = { 101 };
	for (size_t it = 0; it < NITER; it++) {
		size_t n = dim_at(&r, it);
		float *x = xmalloc(n * 4), *want = xmalloc((n + 1) * 4), *got = xmalloc((n + 1) * 4);
		fill_vec(&r, x, n, 3.0, 1);
		want[n] = 12345.0f;
		double ss = ref->clean_f32(x, n, want);
		/* independent: finite values kept as they are, others +0; the sum of
		 * squares within double rounding of a long double sum */
		long double ls = 0, mag = 0;
		for (size_t i = 0; i < n; i++) {
			float e = isfinite(x[i]) ? x[i] : 0.0f;
			cr_assert(memcmp(&want[i], &e, 4) == 0, "n %zu comp %zu: %g cleaned to %g", n, i, x[i],
			          want[i]);
			ls += (long double)e * e;
			mag += fabsl((long double)e * e);
		}
		cr_assert(fabsl(ss - ls) <= 1e-14L * mag, "n %zu: sum of squares %.17g vs %.17Lg", n, ss, ls);
		cr_assert_eq(want[n], 12345.0f, "scalar wrote past n");
		double s = ss > 0 ? 1.0 / sqrt(ss) : 1.0;
		float *wsc = xmalloc((n + 1) * 4);
		memcpy(wsc, want, (n + 1) * 4);
		ref->scale_f32(wsc, n, s);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(wsc[i], (float)((double)want[i] * s));
		for (size_t l = 0; l < nk; l++) {
			got[n] = 12345.0f;
			double gs = ks[l]->clean_f32(x, n, got);
			cr_assert(memcmp(&gs, &ss, sizeof gs) == 0, "%s n %zu: %.17g vs scalar %.17g",
			          ks[l]->name, n, gs, ss);
			cr_assert(memcmp(got, want, n * 4) == 0, "%s n %zu: cleaned bytes differ", ks[l]->name, n);
			cr_assert_eq(got[n], 12345.0f, "%s wrote past n", ks[l]->name);
			/* in place */
			memcpy(got, x, n * 4);
			gs = ks[l]->clean_f32(got, n, got);
			cr_assert(memcmp(&gs, &ss, sizeof gs) == 0 && memcmp(got, want, n * 4) == 0,
			          "%s n %zu: in place differs", ks[l]->name, n);
			ks[l]->scale_f32(got, n, s);
			cr_assert(memcmp(got, wsc, (n + 1) * 4) == 0, "%s n %zu: scaled bytes differ",
			          ks[l]->name, n);
		}
		free(x);
		free(want);
		free(got);
		free(wsc);
	}
}

Test(lvqf, center_same_bytes_on_every_level)
{
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR), *ks[3];
	size_t nk = vector_levels(ks);
	qt_rng r = { 102 };
	for (size_t it = 0; it < NITER; it++) {
		size_t n = dim_at(&r, it);
		float *w = xmalloc(n * 4), *mean = xmalloc(n * 4);
		float *want = xmalloc((n + 1) * 4), *got = xmalloc((n + 1) * 4);
		fill_vec(&r, w, n, 2.0, 0);
		fill_vec(&r, mean, n, 0.5, 0);
		for (int mode = 0; mode < 3; mode++) { /* l2 (sub), ip (mean), mean NULL */
			int sub = mode == 0;
			const float *m = mode == 2 ? NULL : mean;
			double s[4], g[4];
			want[n] = -7.0f;
			ref->lvq_center(w, m, sub, n, want, s);
			long double su = 0, uu = 0, wm = 0, mag_su = 0, mag_wm = 0;
			float amax = 0;
			for (size_t i = 0; i < n; i++) {
				float u = sub ? w[i] - mean[i] : w[i];
				cr_assert(memcmp(&want[i], &u, 4) == 0, "mode %d n %zu comp %zu", mode, n, i);
				su += u;
				mag_su += fabsl((long double)u);
				uu += (long double)u * u;
				if (m) {
					wm += (long double)w[i] * m[i];
					mag_wm += fabsl((long double)w[i] * m[i]);
				}
				amax = fabsf(u) > amax ? fabsf(u) : amax;
			}
			cr_assert(fabsl(s[0] - su) <= 1e-14L * mag_su, "mode %d n %zu: sum u", mode, n);
			cr_assert(fabsl(s[1] - uu) <= 1e-14L * uu, "mode %d n %zu: sum u^2", mode, n);
			cr_assert(fabsl(s[2] - wm) <= 1e-14L * mag_wm, "mode %d n %zu: <w, mean>", mode, n);
			cr_assert_eq(s[3], (double)amax, "mode %d n %zu: max |u|", mode, n);
			cr_assert_eq(want[n], -7.0f);
			for (size_t l = 0; l < nk; l++) {
				got[n] = -7.0f;
				ks[l]->lvq_center(w, m, sub, n, got, g);
				cr_assert(memcmp(g, s, sizeof s) == 0,
				          "%s mode %d n %zu: sums %.17g %.17g %.17g %.17g vs %.17g %.17g %.17g %.17g",
				          ks[l]->name, mode, n, g[0], g[1], g[2], g[3], s[0], s[1], s[2], s[3]);
				cr_assert(memcmp(got, want, (n + 1) * 4) == 0, "%s mode %d n %zu: u differs",
				          ks[l]->name, mode, n);
				/* in place (prepare's use) */
				memcpy(got, w, n * 4);
				ks[l]->lvq_center(got, m, sub, n, got, g);
				cr_assert(memcmp(g, s, sizeof s) == 0 && memcmp(got, want, n * 4) == 0,
				          "%s mode %d n %zu: in place differs", ks[l]->name, mode, n);
			}
		}
		free(w);
		free(mean);
		free(want);
		free(got);
	}
}

/* The query layout, decoded: r_i of component i. */
static int32_t query_value(const int8_t *q, uint32_t bits, size_t code_bytes, size_t i)
{
	if (bits == 4)
		return q[vl_lvq4_qpos(i)];
	return 128 * q[i] + q[code_bytes + i];
}

static size_t qbytes_for(size_t n, uint32_t bits, size_t *code_bytes)
{
	if (bits == 4) {
		*code_bytes = (n + 63) / 64 * 32;
		return 128 * ((*code_bytes / 32 + 1) / 2);
	}
	*code_bytes = (n + 31) / 32 * 32;
	return 2 * *code_bytes;
}

/* Rounding to nearest even and clamping, on values chosen by hand. */
Test(lvqf, quantize_rounds_half_to_even_and_clamps)
{
	static const float u[] = { 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f, 126.5f, 127.4f,
		                   127.6f, 200.0f, -200.0f, -127.5f, 0.49999997f, -0.0f, 7.0f };
	static const int32_t want[] = { 2, 4, -2, -4, 0, 0, 2, 126, 127, 127, 127, -127, -127, 0, 0, 7 };
	size_t n = sizeof u / sizeof *u;
	for (int l = VL_SIMD_SCALAR; l <= (int)vl_simd_cpu_level(); l++) {
		const vl_kernels *k = vl_kernels_at((vl_simd_level)l);
		for (uint32_t bits = 4; bits <= 8; bits += 4) {
			size_t cb, qb = qbytes_for(n, bits, &cb);
			int8_t *q = xmalloc(qb);
			memset(q, 0, qb);
			int64_t sum = k->lvq_quantize(u, n, 1.0, 127, bits, cb, q), ws = 0;
			for (size_t i = 0; i < n; i++) {
				cr_assert_eq(query_value(q, bits, cb, i), want[i], "%s bits %u: %g -> %d, want %d",
				             k->name, bits, u[i], query_value(q, bits, cb, i), want[i]);
				ws += want[i];
			}
			cr_assert_eq(sum, ws, "%s bits %u: sum", k->name, bits);
			free(q);
		}
	}
}

Test(lvqf, quantize_same_bytes_on_every_level)
{
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR), *ks[3];
	size_t nk = vector_levels(ks);
	qt_rng r = { 103 };
	for (size_t it = 0; it < NITER; it++) {
		size_t n = dim_at(&r, it);
		float *u = xmalloc(n * 4);
		fill_vec(&r, u, n, 1.0 + qt_below(&r, 1000), 0);
		float amax = 0;
		for (size_t i = 0; i < n; i++)
			amax = fabsf(u[i]) > amax ? fabsf(u[i]) : amax;
		if (amax == 0)
			continue;
		for (uint32_t bits = 4; bits <= 8; bits += 4) {
			/* qmax as prepare picks it, and a smaller one (slack: clamping) */
			double qmax = bits == 4 ? 127 : it % 2 ? 8127 : 500;
			double inv = qmax / amax * (it % 3 ? 1.0 : 1.25);
			size_t cb, qb = qbytes_for(n, bits, &cb);
			int8_t *want = xmalloc(qb), *got = xmalloc(qb);
			memset(want, 0x5a, qb); /* untouched bytes keep it */
			int64_t ws = ref->lvq_quantize(u, n, inv, qmax, bits, cb, want), sum = 0;
			/* independent: nearbyint (round half to even) of the clamped value */
			for (size_t i = 0; i < n; i++) {
				double t = fmin(fmax((double)u[i] * inv, -qmax), qmax);
				int32_t e = (int32_t)nearbyint(t);
				cr_assert_eq(query_value(want, bits, cb, i), e, "bits %u n %zu comp %zu: %.9g -> %d, want %d",
				             bits, n, i, t, query_value(want, bits, cb, i), e);
				if (bits == 8)
					cr_assert(want[i] >= -64 && want[i] <= 63 && want[cb + i] >= -64 &&
					          want[cb + i] <= 63, "split halves out of range");
				sum += e;
			}
			cr_assert_eq(ws, sum);
			for (size_t l = 0; l < nk; l++) {
				memset(got, 0x5a, qb);
				int64_t gs = ks[l]->lvq_quantize(u, n, inv, qmax, bits, cb, got);
				cr_assert_eq(gs, ws, "%s bits %u n %zu: sum", ks[l]->name, bits, n);
				cr_assert(memcmp(got, want, qb) == 0, "%s bits %u n %zu: query bytes differ",
				          ks[l]->name, bits, n);
			}
			free(want);
			free(got);
		}
		free(u);
	}
}

/* ---- re-ranking --------------------------------------------------------- */

static size_t code_bytes_of(size_t dim, uint32_t bits)
{
	return bits == 4 ? (dim + 63) / 64 * 32 : (dim + 31) / 32 * 32;
}

static unsigned code_of(const uint8_t *c, uint32_t bits, size_t i)
{
	if (bits == 8)
		return c[i];
	uint8_t b = c[(i / 64) * 32 + i % 32];
	return i % 64 < 32 ? b & 15u : b >> 4u;
}

/* A hand-built query (struct, no quantized codes, then u) of exact size. */
static vl_lvq_query *make_query(qt_rng *r, size_t dim, uint32_t b1, uint32_t b2, int l2, float unit)
{
	size_t cb = code_bytes_of(dim, b1);
	vl_lvq_query *q = xmalloc(sizeof *q + dim * 4);
	memset(q, 0, sizeof *q);
	q->bits = b1;
	q->code_bytes = (uint32_t)cb;
	q->qoff = sizeof *q;
	q->uoff = sizeof *q;
	q->dim = (uint32_t)dim;
	q->l2 = (uint32_t)l2;
	q->bits2 = b2;
	q->unit = unit;
	q->a0 = (float)qt_gauss(r);
	q->a = (float)qt_gauss(r) * 10;
	float *u = (float *)(void *)((uint8_t *)q + q->uoff);
	for (size_t j = 0; j < dim; j++)
		u[j] = (float)((qt_gauss(r) * 40 + 3) * unit);
	return q;
}

/* Rows with random codes (padding codes 0, as encode writes) and random
 * constants. */
static uint8_t *make_rows(qt_rng *r, size_t n, size_t dim, uint32_t bits, int trailer)
{
	size_t cb = code_bytes_of(dim, bits), stride = cb + (trailer ? 16 : 0);
	uint8_t *rows = xmalloc(n * stride);
	memset(rows, 0, n * stride);
	for (size_t i = 0; i < n; i++) {
		uint8_t *row = rows + i * stride;
		for (size_t j = 0; j < dim; j++) {
			unsigned c = (unsigned)qt_below(r, 1u << bits);
			if (bits == 8)
				row[j] = (uint8_t)c;
			else if (j % 64 < 32)
				row[(j / 64) * 32 + j % 32] |= (uint8_t)c;
			else
				row[(j / 64) * 32 + j % 32] |= (uint8_t)(c << 4);
		}
		if (trailer) {
			uint16_t sc = vl_f16_from_f32((float)(0.05 + qt_uniform(r) * 2));
			uint16_t bi = vl_f16_from_f32((float)(qt_gauss(r) * 30 - 10));
			memcpy(row + cb, &sc, 2);
			memcpy(row + cb + 2, &bi, 2);
		}
	}
	return rows;
}

/* Independent reference in long double, straight from the definitions of
 * .spec-parts/quant.md: x_j = unit * ((bias + scale c1) + (c2 step2 -
 * scale/2)), or unit * (bias + scale c1) for one level. mag bounds the
 * rounding a float computation may add. */
static long double ref_dist(const vl_lvq_query *q, const uint8_t *p, const uint8_t *s, uint32_t b2,
                            long double *mag)
{
	const float *u = (const float *)(const void *)((const uint8_t *)q + q->uoff);
	uint16_t hs, hb;
	memcpy(&hs, p + q->code_bytes, 2);
	memcpy(&hb, p + q->code_bytes + 2, 2);
	long double scale = vl_f16_to_f32(hs), bias = vl_f16_to_f32(hb), unit = q->unit;
	long double acc = 0, m = 0;
	for (size_t j = 0; j < q->dim; j++) {
		long double v = bias + scale * code_of(p, q->bits, j), big = fabsl(bias) + fabsl(v);
		if (b2) {
			long double step2 = scale / ((1u << b2) - 1);
			v += code_of(s, b2, j) * step2 - scale / 2;
			big += fabsl(scale);
		}
		long double x = unit * v, d = u[j] - x;
		if (q->l2) {
			acc += d * d;
			m += (fabsl(u[j]) + unit * big) * (fabsl(d) + unit * big * 1e-6L) + d * d;
		} else {
			acc += u[j] * x;
			m += fabsl(u[j]) * unit * big;
		}
	}
	*mag = m + fabsl(q->l2 ? q->a0 : q->a);
	return q->l2 ? q->a0 + acc : q->a - acc;
}

Test(lvqf, rerank_matches_reconstruction_on_every_level)
{
	static const uint32_t combos[][2] = { { 4, 0 }, { 8, 0 }, { 4, 4 }, { 4, 8 }, { 8, 4 }, { 8, 8 } };
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR), *ks[3];
	size_t nk = vector_levels(ks);
	qt_rng r = { 104 };
	enum { NROWS = 9, NIDS = 13 };
	for (size_t it = 0; it < NFIXED + 6; it++) {
		size_t dim = dim_at(&r, it);
		for (size_t ci = 0; ci < 6; ci++)
			for (int l2 = 0; l2 <= 1; l2++) {
				uint32_t b1 = combos[ci][0], b2 = combos[ci][1];
				float unit = ldexpf(1.0f, (int)qt_below(&r, 9) - 4);
				vl_lvq_query *q = make_query(&r, dim, b1, b2, l2, unit);
				size_t pstride = code_bytes_of(dim, b1) + 16, sstride = b2 ? code_bytes_of(dim, b2) : 0;
				uint8_t *prim = make_rows(&r, NROWS, dim, b1, 1);
				uint8_t *sec = b2 ? make_rows(&r, NROWS, dim, b2, 0) : NULL;
				uint32_t ids[NIDS];
				for (int i = 0; i < NIDS; i++)
					ids[i] = qt_below(&r, NROWS); /* any order, repeats */
				float want[NIDS], got[NIDS], one;
				ref->lvq_rerank(q, prim, pstride, sec, sstride, ids, NIDS, want);
				for (int i = 0; i < NIDS; i++) {
					long double mag;
					long double e = ref_dist(q, prim + ids[i] * pstride, sec ? sec + ids[i] * sstride : NULL,
					                         b2, &mag);
					double tol = 4e-6 * (double)mag + 1e-30;
					cr_assert(fabs(want[i] - (double)e) <= tol,
					          "scalar %u/%u l2 %d dim %zu row %u: %.9g vs %.9Lg (tol %.3g)", b1, b2, l2,
					          dim, ids[i], want[i], e, tol);
					for (size_t l = 0; l < nk + 1; l++) {
						const vl_kernels *k = l ? ks[l - 1] : ref;
						/* one row at a time: the same value as in the batch */
						uint32_t zero = 0;
						k->lvq_rerank(q, prim + ids[i] * pstride, 0, sec ? sec + ids[i] * sstride : NULL,
						              0, &zero, 1, &one);
						if (!l)
							cr_assert_eq(one, want[i]);
						else
							cr_assert(fabs(one - want[i]) <= tol, "%s %u/%u l2 %d dim %zu: %.9g vs %.9g",
							          k->name, b1, b2, l2, dim, one, want[i]);
					}
				}
				for (size_t l = 0; l < nk; l++) {
					ks[l]->lvq_rerank(q, prim, pstride, sec, sstride, ids, NIDS, got);
					for (int i = 0; i < NIDS; i++) {
						uint32_t zero = 0;
						ks[l]->lvq_rerank(q, prim + ids[i] * pstride, 0, sec ? sec + ids[i] * sstride : NULL,
						                  0, &zero, 1, &one);
						cr_assert_eq(got[i], one, "%s: batch and single row differ", ks[l]->name);
					}
				}
				/* without the secondary rows: level 1 alone (bits2 ignored) */
				if (b2) {
					ref->lvq_rerank(q, prim, pstride, NULL, 0, ids, NIDS, want);
					for (int i = 0; i < NIDS; i++) {
						long double mag, e = ref_dist(q, prim + ids[i] * pstride, NULL, 0, &mag);
						cr_assert(fabs(want[i] - (double)e) <= 4e-6 * (double)mag + 1e-30,
						          "one level of %u/%u: %.9g vs %.9Lg", b1, b2, want[i], e);
					}
					for (size_t l = 0; l < nk; l++) {
						ks[l]->lvq_rerank(q, prim, pstride, NULL, 0, ids, NIDS, got);
						for (int i = 0; i < NIDS; i++) {
							long double mag;
							ref_dist(q, prim + ids[i] * pstride, NULL, 0, &mag);
							cr_assert(fabs(got[i] - want[i]) <= 4e-6 * (double)mag + 1e-30);
						}
					}
				}
				free(q);
				free(prim);
				free(sec);
			}
	}
}

/* ---- encoding ------------------------------------------------------------ */

static unsigned q_ref(float t, unsigned max)
{
	if (!(t > 0.0f))
		return 0;
	if (!(t < (float)max))
		return max;
	return (unsigned)(t + 0.5f);
}

/*
 * lvq_minmax and lvq_codes write the same bytes at every level, and the
 * scalar level is the definition (.spec-parts/quant.md "Encoding one
 * vector"), checked component by component: codes in their layout, padding
 * codes 0, nothing written past the codes, the squared norm of the level-1
 * values. Values sit on grid points and half-way between them (the
 * rounding), at the ends of the grid and beyond it (clamping), with NaN.
 */
Test(lvqf, encode_kernels_same_bytes_on_every_level)
{
	static const uint32_t combos[][2] = { { 4, 0 }, { 8, 0 }, { 4, 4 }, { 4, 8 }, { 8, 8 } };
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR), *ks[3];
	size_t nk = vector_levels(ks);
	qt_rng r = { 105 };
	for (size_t it = 0; it < NITER; it++) {
		size_t n = dim_at(&r, it);
		float *x = xmalloc(n * 4), *mean = xmalloc(n * 4);
		float inv = ldexpf(1.0f, (int)qt_below(&r, 7) - 3);
		for (size_t j = 0; j < n; j++) {
			mean[j] = (float)(qt_gauss(&r) * 0.5);
			x[j] = (float)(qt_gauss(&r) * 3);
		}
		for (size_t ci = 0; ci < 5; ci++) {
			uint32_t b1 = combos[ci][0], b2 = combos[ci][1];
			unsigned max1 = (1u << b1) - 1, max2 = b2 ? (1u << b2) - 1 : 0;
			/* halves with full mantissas, as pick_grid makes them */
			float hs = vl_f16_to_f32(vl_f16_from_f32((float)(0.2 + qt_uniform(&r))));
			float hb = vl_f16_to_f32(vl_f16_from_f32((float)(-6 + 4 * qt_uniform(&r))));
			float step2 = b2 ? hs / (float)max2 : 0, half = hs * 0.5f;
			/* grid points, half-way points, the ends, outside, NaN */
			for (size_t j = 0; j < n; j++) {
				uint32_t kind = qt_below(&r, 8);
				float g = (float)qt_below(&r, max1 + 3) - 1;
				if (kind == 0)
					x[j] = mean[j] + (hb + hs * g) / inv;
				else if (kind == 1)
					x[j] = mean[j] + (hb + hs * (g + 0.5f)) / inv;
				else if (kind == 2)
					x[j] = it % 5 == 4 ? NAN : mean[j];
			}
			float lo = INFINITY, hi = -INFINITY;
			ref->lvq_minmax(x, mean, n, inv, &lo, &hi);
			float elo = INFINITY, ehi = -INFINITY;
			for (size_t j = 0; j < n; j++) {
				float y = (x[j] - mean[j]) * inv;
				if (y == y) {
					elo = fminf(elo, y);
					ehi = fmaxf(ehi, y);
				}
			}
			cr_assert(lo == elo && hi == ehi, "n %zu: minmax %g %g vs %g %g", n, lo, hi, elo, ehi);
			size_t cb1 = code_bytes_of(n, b1), cb2 = b2 ? code_bytes_of(n, b2) : 0;
			uint8_t *w1 = xmalloc(cb1 + 1), *w2 = xmalloc(cb2 + 1);
			uint8_t *g1 = xmalloc(cb1 + 1), *g2 = xmalloc(cb2 + 1);
			memset(w1, 0, cb1 + 1);
			memset(w2, 0, cb2 + 1);
			w1[cb1] = w2[cb2] = 0xcd; /* sentinels */
			double norm = ref->lvq_codes(x, mean, n, inv, hs, hb, b1, w1, b2, step2, half,
			                             b2 ? w2 : NULL);
			long double en = 0;
			for (size_t j = 0; j < n; j++) {
				float y = (x[j] - mean[j]) * inv;
				unsigned c1 = q_ref((y - hb) / hs, max1);
				cr_assert_eq(code_of(w1, b1, j), c1, "%u/%u n %zu comp %zu: c1 %u, want %u", b1, b2, n,
				             j, code_of(w1, b1, j), c1);
				float v1 = hb + hs * (float)c1;
				en += (long double)v1 * v1;
				if (b2) {
					unsigned c2 = q_ref((y - v1 + half) / step2, max2);
					cr_assert_eq(code_of(w2, b2, j), c2, "%u/%u n %zu comp %zu: c2 %u, want %u", b1, b2,
					             n, j, code_of(w2, b2, j), c2);
				}
			}
			for (size_t j = n; j < (b1 == 4 ? 2 * cb1 : cb1); j++)
				cr_assert_eq(code_of(w1, b1, j), 0, "padding code %zu", j);
			cr_assert(w1[cb1] == 0xcd && w2[cb2] == 0xcd, "wrote past the codes");
			cr_assert(fabsl(norm - en) <= 1e-14L * en, "n %zu: norm %.17g vs %.17Lg", n, norm, en);
			for (size_t l = 0; l < nk; l++) {
				float glo = INFINITY, ghi = -INFINITY;
				ks[l]->lvq_minmax(x, mean, n, inv, &glo, &ghi);
				cr_assert(memcmp(&glo, &lo, 4) == 0 && memcmp(&ghi, &hi, 4) == 0,
				          "%s n %zu: minmax %g %g vs %g %g", ks[l]->name, n, glo, ghi, lo, hi);
				memset(g1, 0, cb1 + 1);
				memset(g2, 0, cb2 + 1);
				g1[cb1] = g2[cb2] = 0xcd;
				double gn = ks[l]->lvq_codes(x, mean, n, inv, hs, hb, b1, g1, b2, step2, half,
				                             b2 ? g2 : NULL);
				cr_assert(memcmp(&gn, &norm, sizeof gn) == 0, "%s %u/%u n %zu: norm %.17g vs %.17g",
				          ks[l]->name, b1, b2, n, gn, norm);
				cr_assert(memcmp(g1, w1, cb1 + 1) == 0, "%s %u/%u n %zu: level-1 codes differ",
				          ks[l]->name, b1, b2, n);
				cr_assert(memcmp(g2, w2, cb2 + 1) == 0, "%s %u/%u n %zu: level-2 codes differ",
				          ks[l]->name, b1, b2, n);
			}
			free(w1);
			free(w2);
			free(g1);
			free(g2);
		}
		free(x);
		free(mean);
	}
}
