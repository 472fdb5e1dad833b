/*
 * test_simd.c - every SIMD kernel level against the scalar reference.
 *
 * Float kernels may sum in a different order, so they must agree within a
 * tight tolerance relative to the sum of absolute terms; the integer LVQ
 * dot products must agree exactly. Dims are random and deliberately not
 * multiples of the vector width.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd/fp16.h"
#include "simd/simd.h"
#include "tests/util/qtest.h"

#define REL_TOL 2e-6

static const vl_simd_level levels[] = { VL_SIMD_AVX2, VL_SIMD_AVX512, VL_SIMD_AVX512VNNI };
#define NLEVELS 3

static void fill(qt_rng *r, float *x, size_t n, double scale)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(qt_gauss(r) * scale);
}

static size_t random_dim(qt_rng *r, int it)
{
	static const size_t fixed[] = { 1, 7, 8, 15, 16, 17, 31, 33, 129, 768, 784 };
	if (it < (int)(sizeof fixed / sizeof fixed[0]))
		return fixed[it];
	return 1 + qt_below(r, 1100);
}

/* |a - b| <= tol * mag, where mag is the sum of absolute terms. */
static void expect_close(float got, float want, double mag, const char *what, size_t dim,
                         const char *lvl)
{
	double tol = REL_TOL * mag + 1e-30;
	cr_expect(fabs((double)got - want) <= tol, "%s dim %zu %s: %.9g vs scalar %.9g (tol %.3g)", what,
	          dim, lvl, got, want, tol);
}

Test(simd, levels_and_names)
{
	cr_assert_eq(vl_simd_parse_level("scalar"), VL_SIMD_SCALAR);
	cr_assert_eq(vl_simd_parse_level("avx2"), VL_SIMD_AVX2);
	cr_assert_eq(vl_simd_parse_level("avx512"), VL_SIMD_AVX512);
	cr_assert_eq(vl_simd_parse_level("avx512vnni"), VL_SIMD_AVX512VNNI);
	cr_assert_str_eq(vl_simd_level_name(VL_SIMD_AVX512VNNI), "avx512vnni");
	cr_assert_eq(vl_simd_parse_level("sse9"), -1);
	cr_assert_not_null(vl_kernels_at(VL_SIMD_SCALAR));
	cr_assert_not_null(vl_kern());
	cr_assert(vl_kern()->level <= vl_simd_cpu_level());
	/* forcing a level the CPU has works and sticks; one it lacks is refused */
	cr_assert_eq(vl_simd_force(VL_SIMD_SCALAR), 0);
	cr_assert_eq(vl_kern()->level, VL_SIMD_SCALAR);
	if (vl_simd_cpu_level() < VL_SIMD_AVX512VNNI)
		cr_assert_eq(vl_simd_force(VL_SIMD_AVX512VNNI), -1);
	/* every table is complete */
	for (int l = 0; l <= (int)vl_simd_cpu_level(); l++) {
		const vl_kernels *k = vl_kernels_at((vl_simd_level)l);
		cr_assert(k->l2_f32 && k->dot_f32 && k->l2_f32_batch && k->dot_f32_batch && k->l2_f16 &&
		          k->dot_f16 && k->l2_f16_batch && k->dot_f16_batch && k->dot_u4s8 &&
		          k->dot_u8s8x2 && k->lvq_scan && k->lvq_gather && k->dot_f64 && k->axpy_f64 &&
		          k->rot_f64 && k->clean_f32 && k->scale_f32 && k->lvq_center &&
		          k->lvq_quantize && k->lvq_rerank && k->dot_f32_nt,
		          "level %d table incomplete", l);
	}
}

Test(simd, f32_kernels_match_scalar)
{
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR);
	qt_rng r = { 11 };
	for (int it = 0; it < 60; it++) {
		size_t dim = random_dim(&r, it), nrows = 5;
		float *q = qt_alloc(dim * 4), *rows = qt_alloc(nrows * dim * 4);
		fill(&r, q, dim, 1.0);
		fill(&r, rows, nrows * dim, 3.0);
		double mag_dot = 0, mag_l2 = 0;
		for (size_t i = 0; i < dim; i++) {
			mag_dot += fabs((double)q[i] * rows[i]);
			mag_l2 += ((double)q[i] - rows[i]) * ((double)q[i] - rows[i]);
		}
		float want_b[5], got_b[5], want_l[5], got_l[5];
		ref->dot_f32_batch(q, rows, dim, nrows, want_b);
		ref->l2_f32_batch(q, rows, dim, nrows, want_l);
		for (size_t l = 0; l < NLEVELS; l++) {
			const vl_kernels *k = vl_kernels_at(levels[l]);
			if (!k)
				continue;
			expect_close(k->dot_f32(q, rows, dim), ref->dot_f32(q, rows, dim), mag_dot, "dot_f32",
			             dim, k->name);
			expect_close(k->l2_f32(q, rows, dim), ref->l2_f32(q, rows, dim), mag_l2, "l2_f32", dim,
			             k->name);
			k->dot_f32_batch(q, rows, dim, nrows, got_b);
			k->l2_f32_batch(q, rows, dim, nrows, got_l);
			for (size_t i = 0; i < nrows; i++) {
				double md = 0, ml = 0;
				for (size_t j = 0; j < dim; j++) {
					md += fabs((double)q[j] * rows[i * dim + j]);
					ml += ((double)q[j] - rows[i * dim + j]) * ((double)q[j] - rows[i * dim + j]);
				}
				expect_close(got_b[i], want_b[i], md, "dot_f32_batch", dim, k->name);
				expect_close(got_l[i], want_l[i], ml, "l2_f32_batch", dim, k->name);
			}
		}
		free(q);
		free(rows);
	}
}

Test(simd, f16_kernels_match_scalar)
{
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR);
	qt_rng r = { 12 };
	for (int it = 0; it < 60; it++) {
		size_t dim = random_dim(&r, it), nrows = 4;
		/* odd stride: rows need not be aligned */
		size_t stride = dim * 2 + 2 * qt_below(&r, 5);
		float *q = qt_alloc(dim * 4);
		uint8_t *rows = qt_alloc(nrows * stride + 64);
		fill(&r, q, dim, 1.0);
		for (size_t i = 0; i < nrows; i++)
			for (size_t j = 0; j < dim; j++) {
				uint16_t h = vl_f16_from_f32((float)(qt_gauss(&r) * 2.0));
				memcpy(rows + i * stride + 2 * j, &h, 2);
			}
		float want_d[4], want_l[4], got_d[4], got_l[4];
		ref->dot_f16_batch(q, rows, stride, dim, nrows, want_d);
		ref->l2_f16_batch(q, rows, stride, dim, nrows, want_l);
		for (size_t l = 0; l < NLEVELS; l++) {
			const vl_kernels *k = vl_kernels_at(levels[l]);
			if (!k)
				continue;
			k->dot_f16_batch(q, rows, stride, dim, nrows, got_d);
			k->l2_f16_batch(q, rows, stride, dim, nrows, got_l);
			for (size_t i = 0; i < nrows; i++) {
				double md = 0, ml = 0;
				for (size_t j = 0; j < dim; j++) {
					uint16_t h;
					memcpy(&h, rows + i * stride + 2 * j, 2);
					double x = vl_f16_to_f32(h);
					md += fabs(q[j] * x);
					ml += (q[j] - x) * (q[j] - x);
				}
				expect_close(got_d[i], want_d[i], md, "dot_f16", dim, k->name);
				expect_close(got_l[i], want_l[i], ml, "l2_f16", dim, k->name);
				const uint16_t *row = (const uint16_t *)(const void *)(rows + i * stride);
				if (stride % 2 == 0) {
					expect_close(k->dot_f16(q, row, dim), want_d[i], md, "dot_f16 single", dim,
					             k->name);
					expect_close(k->l2_f16(q, row, dim), want_l[i], ml, "l2_f16 single", dim,
					             k->name);
				}
			}
		}
		free(q);
		free(rows);
	}
}

/* The scalar reference of the 4-bit layout itself, spelled out per component
 * (independent of the kernels' chunk loop): component i sits in block i/64,
 * byte i%32, high nibble when i%64 >= 32; its query value at vl_lvq4_qpos. */
static int32_t u4_by_component(const uint8_t *codes, const int8_t *q, size_t ncomp)
{
	int32_t s = 0;
	for (size_t i = 0; i < ncomp; i++) {
		uint8_t byte = codes[(i / 64) * 32 + i % 32];
		int c = (i % 64) < 32 ? byte & 15 : byte >> 4;
		s += c * q[vl_lvq4_qpos(i)];
	}
	return s;
}

Test(simd, u4s8_exact_on_every_level)
{
	qt_rng r = { 13 };
	for (int it = 0; it < 200; it++) {
		size_t nblocks = 1 + qt_below(&r, 40), nbytes = nblocks * 32;
		size_t qlen = 128 * ((nblocks + 1) / 2);
		uint8_t *codes = qt_alloc(nbytes);
		int8_t *q = qt_alloc(qlen);
		for (size_t i = 0; i < nbytes; i++)
			codes[i] = (uint8_t)qt_next(&r);
		for (size_t i = 0; i < qlen; i++)
			q[i] = (int8_t)((int)qt_below(&r, 255) - 127);
		/* an odd block count leaves the tail of the last pair unused: zero it,
		 * as prepare does */
		if (nblocks % 2)
			for (size_t i = 0; i < 32; i++)
				q[qlen - 128 + 32 + i] = q[qlen - 128 + 96 + i] = 0;
		int32_t want = u4_by_component(codes, q, nblocks * 64);
		cr_assert_eq(vl_kernels_at(VL_SIMD_SCALAR)->dot_u4s8(codes, q, nbytes), want,
		             "scalar nbytes %zu", nbytes);
		for (size_t l = 0; l < NLEVELS; l++) {
			const vl_kernels *k = vl_kernels_at(levels[l]);
			if (k)
				cr_assert_eq(k->dot_u4s8(codes, q, nbytes), want, "%s nbytes %zu", k->name,
				             nbytes);
		}
		free(codes);
		free(q);
	}
}

Test(simd, u8s8x2_exact_on_every_level)
{
	qt_rng r = { 14 };
	for (int it = 0; it < 200; it++) {
		/* the kernel's contract: sum |c q| < 2^31; 960 x 255 x 8256 is */
		size_t n = 32 * (1 + qt_below(&r, 30));
		uint8_t *codes = qt_alloc(n);
		int8_t *q = qt_alloc(2 * n);
		int64_t want = 0;
		for (size_t i = 0; i < n; i++) {
			codes[i] = it % 3 ? (uint8_t)qt_next(&r) : 255; /* extremes too */
			q[i] = (int8_t)(it % 3 ? (int)qt_below(&r, 128) - 64 : (it % 2 ? 63 : -64));
			q[n + i] = (int8_t)(it % 3 ? (int)qt_below(&r, 128) - 64 : (it % 2 ? 63 : -64));
			want += (int64_t)codes[i] * (128 * q[i] + q[n + i]);
		}
		cr_assert_eq(vl_kernels_at(VL_SIMD_SCALAR)->dot_u8s8x2(codes, q, n), want);
		for (size_t l = 0; l < NLEVELS; l++) {
			const vl_kernels *k = vl_kernels_at(levels[l]);
			if (k)
				cr_assert_eq(k->dot_u8s8x2(codes, q, n), want, "%s n %zu", k->name, n);
		}
		free(codes);
		free(q);
	}
}

/* A hand-built prepared query and rows with random trailers: the full scan
 * and gather kernels equal the scalar ones exactly. */
Test(simd, lvq_scan_and_gather_match_scalar)
{
	qt_rng r = { 15 };
	for (int it = 0; it < 80; it++) {
		uint32_t bits = it % 2 ? 8 : 4;
		size_t ncode = 32 * (1 + qt_below(&r, 30));
		size_t qbytes = bits == 4 ? 128 * ((ncode / 32 + 1) / 2) : ncode * 2;
		/* both query layouts are int8 (8-bit codes: qh then ql in [-64, 63]) */
		size_t stride = ncode + 16, nrows = 37;
		vl_lvq_query *q = qt_alloc(64 + qbytes);
		q->bits = bits;
		q->code_bytes = (uint32_t)ncode;
		q->qoff = 64;
		q->l2 = (uint32_t)(it % 4 < 2);
		q->sq = (float)qt_gauss(&r);
		q->alpha = (float)(qt_uniform(&r) * 0.01);
		q->corr = (float)qt_gauss(&r);
		q->a = (float)qt_gauss(&r);
		q->b = q->l2 ? -2.0f : -1.0f;
		if (bits == 4) {
			int8_t *qc = (int8_t *)q + 64;
			for (size_t i = 0; i < qbytes; i++)
				qc[i] = (int8_t)((int)qt_below(&r, 255) - 127);
			if ((ncode / 32) % 2)
				for (size_t i = 0; i < 32; i++)
					qc[qbytes - 128 + 32 + i] = qc[qbytes - 128 + 96 + i] = 0;
		} else {
			int8_t *qc = (int8_t *)q + 64;
			for (size_t i = 0; i < 2 * ncode; i++)
				qc[i] = (int8_t)((int)qt_below(&r, 128) - 64);
		}
		uint8_t *rows = qt_alloc(nrows * stride);
		for (size_t i = 0; i < nrows; i++) {
			uint8_t *row = rows + i * stride;
			for (size_t j = 0; j < ncode; j++)
				row[j] = (uint8_t)qt_next(&r);
			uint16_t sc = vl_f16_from_f32((float)qt_uniform(&r));
			uint16_t bi = vl_f16_from_f32((float)qt_gauss(&r));
			float nn = (float)qt_uniform(&r) * 100;
			memcpy(row + ncode, &sc, 2);
			memcpy(row + ncode + 2, &bi, 2);
			memcpy(row + ncode + 4, &nn, 4);
		}
		uint32_t ids[11]; /* odd: the two-row kernels end on a single row */
		for (int i = 0; i < 11; i++)
			ids[i] = qt_below(&r, (uint32_t)nrows);
		float want[37], got[37], wantg[11], gotg[11];
		const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR);
		ref->lvq_scan(q, rows, stride, nrows, want);
		ref->lvq_gather(q, rows, stride, ids, 11, wantg);
		for (int i = 0; i < 11; i++)
			cr_assert_eq(wantg[i], want[ids[i]]);
		for (size_t l = 0; l < NLEVELS; l++) {
			const vl_kernels *k = vl_kernels_at(levels[l]);
			if (!k)
				continue;
			k->lvq_scan(q, rows, stride, nrows, got);
			k->lvq_gather(q, rows, stride, ids, 11, gotg);
			/* integer dot products are exact and the float finish is never
			 * contracted: every level equals the scalar one bit for bit */
			for (size_t i = 0; i < nrows; i++)
				cr_expect_eq(got[i], want[i], "lvq_scan %s bits %u ncode %zu row %zu: %.9g vs %.9g",
				             k->name, bits, ncode, i, got[i], want[i]);
			for (int i = 0; i < 11; i++)
				cr_expect_eq(gotg[i], wantg[i], "lvq_gather %s bits %u row %d", k->name, bits, i);
		}
		free(q);
		free(rows);
	}
}

Test(simd, fp16_conversions)
{
	/* exhaustive: every finite half widens and narrows back to itself */
	for (uint32_t h = 0; h < 0x10000; h++) {
		if ((h & 0x7c00u) == 0x7c00u)
			continue;
		float f = vl_f16_to_f32((uint16_t)h);
		cr_assert_eq(vl_f16_from_f32(f), (uint16_t)h, "half %04x", h);
		cr_assert_eq(vl_f16_down(f), (uint16_t)h, "down %04x", h);
		cr_assert_eq(vl_f16_up(f), (uint16_t)h, "up %04x", h);
	}
	/* rounding: ties to even, overflow to inf, underflow to zero */
	cr_assert_eq(vl_f16_from_f32(1.0f + 1.0f / 2048), 0x3c00u);     /* tie -> even */
	cr_assert_eq(vl_f16_from_f32(1.0f + 3.0f / 2048), 0x3c02u);     /* tie -> even (up) */
	cr_assert_eq(vl_f16_from_f32(65519.0f), 0x7bffu);
	cr_assert_eq(vl_f16_from_f32(65520.0f), 0x7c00u);
	cr_assert_eq(vl_f16_from_f32(1e-8f), 0);
	cr_assert_eq(vl_f16_from_f32(-3e-8f), 0x8001u);                 /* rounds to -2^-24 */
	cr_assert_eq(vl_f16_from_f32(1e-40f), 0);                       /* float denormal */
	/* directed rounding brackets x */
	qt_rng r = { 16 };
	for (int i = 0; i < 100000; i++) {
		double x = qt_gauss(&r) * pow(10, (int)qt_below(&r, 12) - 8);
		double lo = vl_f16_to_f32(vl_f16_down(x)), hi = vl_f16_to_f32(vl_f16_up(x));
		cr_assert(lo <= x && x <= hi, "%.9g not in [%.9g, %.9g]", x, lo, hi);
		cr_assert(vl_f16_next_up(vl_f16_down(x)) == vl_f16_up(x) || lo == hi || lo == x,
		          "brackets of %.9g not adjacent", x);
	}
	cr_assert_eq(vl_f16_up(1e9), 0x7bffu);
	cr_assert_eq(vl_f16_down(-1e9), 0xfbffu);
}

Test(simd, f64_kernels_match_scalar)
{
	const vl_kernels *ref = vl_kernels_at(VL_SIMD_SCALAR);
	qt_rng r = { 17 };
	for (int it = 0; it < 60; it++) {
		size_t n = it < 20 ? (size_t)it : 1 + qt_below(&r, 500);
		double *a = qt_alloc(n * 8 + 8), *b = qt_alloc(n * 8 + 8);
		double *y1 = qt_alloc(n * 8 + 8), *y2 = qt_alloc(n * 8 + 8);
		double *x1 = qt_alloc(n * 8 + 8), *x2 = qt_alloc(n * 8 + 8);
		double mag = 0;
		for (size_t i = 0; i < n; i++) {
			a[i] = qt_gauss(&r);
			b[i] = qt_gauss(&r);
			mag += fabs(a[i] * b[i]);
		}
		double want = ref->dot_f64(a, b, n), c = cos(0.3 * it), s = sin(0.3 * it);
		for (size_t l = 0; l < NLEVELS; l++) {
			const vl_kernels *k = vl_kernels_at(levels[l]);
			if (!k)
				continue;
			cr_assert(fabs(k->dot_f64(a, b, n) - want) <= 1e-14 * (mag + 1), "dot_f64 %s n %zu",
			          k->name, n);
			memcpy(y1, b, n * 8);
			memcpy(y2, b, n * 8);
			ref->axpy_f64(-1.7, a, y1, n);
			k->axpy_f64(-1.7, a, y2, n);
			memcpy(x1, a, n * 8);
			memcpy(x2, a, n * 8);
			ref->rot_f64(x1, y1, n, c, s);
			k->rot_f64(x2, y2, n, c, s);
			for (size_t i = 0; i < n; i++) {
				cr_assert(fabs(y1[i] - y2[i]) <= 1e-14 * (fabs(y1[i]) + 4), "axpy/rot y %s", k->name);
				cr_assert(fabs(x1[i] - x2[i]) <= 1e-14 * (fabs(x1[i]) + 4), "rot x %s", k->name);
			}
			/* nothing past n is written */
			cr_assert_eq(y2[n], 0.0);
			cr_assert_eq(x2[n], 0.0);
		}
		free(a);
		free(b);
		free(y1);
		free(y2);
		free(x1);
		free(x2);
	}
}

/* dot_f32_nt is dot_f32 over a matrix, bit for bit at every level (LeanVec's
 * encode and encode_rows depend on it), and writes only the m x nb block. */
Test(simd, dot_f32_nt_is_dot_f32_exactly)
{
	static const size_t ms[] = { 1, 2, 3, 5, 33 }, nbs[] = { 1, 3, 4, 5, 9, 40 };
	qt_rng r = { 18 };
	for (int it = 0; it < 24; it++) {
		size_t k = random_dim(&r, it), m = ms[it % 5], nb = nbs[it % 6];
		size_t lda = k + it % 3, ldb = k + (it / 3) % 2, ldc = nb + it % 4;
		float *a = malloc(m * lda * 4), *b = malloc(nb * ldb * 4), *c = malloc(m * ldc * 4);
		cr_assert(a && b && c);
		fill(&r, a, m * lda, 1.0);
		fill(&r, b, nb * ldb, 2.0);
		for (int l = VL_SIMD_SCALAR; l <= (int)vl_simd_cpu_level(); l++) {
			const vl_kernels *kn = vl_kernels_at((vl_simd_level)l);
			for (size_t i = 0; i < m * ldc; i++)
				c[i] = -99.0f;
			kn->dot_f32_nt(a, lda, m, b, ldb, nb, k, c, ldc);
			for (size_t i = 0; i < m; i++)
				for (size_t j = 0; j < ldc; j++) {
					float want = j < nb ? kn->dot_f32(a + i * lda, b + j * ldb, k) : -99.0f;
					cr_assert_eq(c[i * ldc + j], want, "%s k %zu m %zu nb %zu (%zu, %zu): %.9g vs %.9g",
					             kn->name, k, m, nb, i, j, c[i * ldc + j], want);
				}
		}
		free(a);
		free(b);
		free(c);
	}
}
