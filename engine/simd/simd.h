/*
 * simd.h - distance kernels with run-time dispatch.
 *
 * Each kernel exists as a scalar reference (simd_scalar.c), an AVX2 version
 * (*_avx2.c) and an AVX-512 version (*_avx512.c); the avx512vnni level is the
 * AVX-512 table with the LVQ integer kernels on VPDPBUSD (lvq_vnni_avx512.c).
 * vl_kern() picks the best level the CPU supports (cpuid) once per process;
 * the environment variable VECLITE_SIMD=scalar|avx2|avx512|avx512vnni forces
 * a lower level, so the tests run every path on one machine and compare it
 * with the scalar reference.
 */
#ifndef VL_SIMD_H
#define VL_SIMD_H

#include <stddef.h>
#include <stdint.h>

typedef enum vl_simd_level {
	VL_SIMD_SCALAR = 0,
	VL_SIMD_AVX2 = 1,
	VL_SIMD_AVX512 = 2,
	VL_SIMD_AVX512VNNI = 3   /* AVX-512 + VNNI (VPDPBUSD) */
} vl_simd_level;

/*
 * An LVQ query prepared once per query and segment (engine/quant/lvq.c).
 * Rows hold `code_bytes` of codes (4 or 8 bits per component, see
 * vl_lvq4_qpos) followed by a trailer: f16 scale, f16 bias, f32 squared norm
 * of the centred reconstruction. The kernels compute, per row,
 *     dot  = integer dot product of the codes with the quantized query
 *     t    = bias * sq + scale * (alpha * dot + corr)
 *     dist = a + b * t (+ norm when l2)
 * which is the metric's distance (see lvq.c for the derivation).
 */
typedef struct vl_lvq_query {
	uint32_t bits;          /* 4 or 8: code width (query layout below) */
	uint32_t code_bytes;    /* multiple of 32 */
	uint32_t qoff;          /* byte offset from this struct to the query (64-aligned) */
	uint32_t l2;            /* 1: add the row's stored squared norm */
	float sq, alpha, corr, a, b;
	/* used by the float (re-ranking) kernel lvq_rerank, not by the integer ones */
	float a0;               /* distance offset before the |u|^2 / <w, mean> terms */
	uint32_t uoff;          /* byte offset to the unquantized float query u */
	uint32_t dim;           /* components */
	uint32_t bits2;         /* level-2 code width (0: one level) */
	float unit;             /* 2^exp: row constants are in these units */
	uint32_t reserved[2];
} vl_lvq_query;

_Static_assert(sizeof(vl_lvq_query) == 64, "vl_lvq_query is one cache line");

static inline const void *vl_lvq_qcodes(const vl_lvq_query *q)
{
	return (const uint8_t *)q + q->qoff;
}

/*
 * Query layouts (what prepare writes at qoff, zero-padded):
 *  4-bit codes: int8 q, |q| <= 127, permuted by vl_lvq4_qpos;
 *  8-bit codes: two int8 arrays qh[code_bytes] then ql[code_bytes] with
 *    q_i = 128 qh_i + ql_i, -64 <= qh, ql <= 63 (so u8 x s8 pair sums of
 *    vpmaddubsw cannot saturate and no zero-extension is needed).
 * Either way the integer dot product is exact in int32 (prepare bounds it).
 */

/* Position in the permuted int8 query of component i for 4-bit codes.
 * Codes: component i lives in 32-byte block i/64, byte i%32, low nibble when
 * i%64 < 32, high nibble otherwise. Query: each pair of blocks (128
 * components) is stored as [lo(even) lo(odd) hi(even) hi(odd)], 32 each, so
 * a 64-byte code load pairs with two contiguous 64-byte query loads. */
static inline size_t vl_lvq4_qpos(size_t i)
{
	size_t pair = i / 128, w = i % 128;
	size_t blk = w / 64, nib = (w % 64) / 32, b = w % 32;
	return pair * 128 + nib * 64 + blk * 32 + b;
}

typedef struct vl_kernels {
	vl_simd_level level;
	const char *name;
	/* float32 x float32 */
	float (*l2_f32)(const float *a, const float *b, size_t n);   /* sum (a-b)^2 */
	float (*dot_f32)(const float *a, const float *b, size_t n);  /* sum a*b */
	/* One query against n contiguous rows of `dim` floats (scans). */
	void (*l2_f32_batch)(const float *q, const float *rows, size_t dim, size_t n, float *out);
	void (*dot_f32_batch)(const float *q, const float *rows, size_t dim, size_t n, float *out);

	/* float32 query x float16 rows (IEEE binary16, little-endian). */
	float (*l2_f16)(const float *q, const uint16_t *x, size_t n);
	float (*dot_f16)(const float *q, const uint16_t *x, size_t n);
	/* n rows of `dim` halves, `stride` bytes apart. */
	void (*l2_f16_batch)(const float *q, const uint8_t *rows, size_t stride, size_t dim,
	                     size_t n, float *out);
	void (*dot_f16_batch)(const float *q, const uint8_t *rows, size_t stride, size_t dim,
	                      size_t n, float *out);

	/* Integer dot products of LVQ codes with a quantized query (exact).
	 * u4s8: `nbytes` (multiple of 32) of 4-bit codes in the LVQ nibble
	 * layout against the permuted int8 query (vl_lvq4_qpos). u8s8x2: n
	 * (multiple of 32) 8-bit codes against the split query q[0..2n)
	 * (qh then ql, see above). */
	int32_t (*dot_u4s8)(const uint8_t *codes, const int8_t *q, size_t nbytes);
	int32_t (*dot_u8s8x2)(const uint8_t *codes, const int8_t *q, size_t n);
	/* LVQ distances from a prepared query (vl_lvq_query) to n rows `stride`
	 * bytes apart (scan), or to rows ids[0..n) of base (graph traversal). */
	void (*lvq_scan)(const struct vl_lvq_query *q, const uint8_t *rows, size_t stride, size_t n,
	                 float *out);
	void (*lvq_gather)(const struct vl_lvq_query *q, const uint8_t *base, size_t stride,
	                   const uint32_t *ids, size_t n, float *out);

	/* ---- float side of LVQ: query preparation, re-ranking, projection ----
	 * The preparation kernels return the scalar level's values bit for bit
	 * (prepare must give every level the same integers and constants, so
	 * that lvq_scan/lvq_gather agree exactly): sums are taken in double in
	 * 16 lanes (lane l adds components l, l + 16, ... in order), combined
	 * by the fixed tree of vl_sum16_f64; the products of two floats they
	 * add are exact in double, so fusing into FMAs changes nothing. */
	/* out = x with non-finite components replaced by +0 (out may be x);
	 * returns sum out_i^2. */
	double (*clean_f32)(const float *x, size_t n, float *out);
	/* x_i = (float)((double)x_i * s) */
	void (*scale_f32)(float *x, size_t n, double s);
	/* u = w - mean when sub, else u = w (u may be w; mean may be NULL when
	 * !sub). s[0] = sum u, s[1] = sum u^2, s[2] = sum w*mean (0 without
	 * mean), s[3] = max |u|. */
	void (*lvq_center)(const float *w, const float *mean, int sub, size_t n, float *u,
	                   double s[4]);
	/* r_i = lrint(min(max(u_i * inv, -qmax), qmax)) in double (round to
	 * nearest even), for i < n, written in the query layout of `bits`
	 * (simd.h above; 8-bit: qh = floor((r + 64) / 128) at q[i], ql = r -
	 * 128 qh at q[code_bytes + i]); entries past n are not written. Returns
	 * sum r_i. Needs qmax <= 8127 (so qh, ql stay in [-64, 63]). */
	int64_t (*lvq_quantize)(const float *u, size_t n, double inv, double qmax, uint32_t bits,
	                        size_t code_bytes, int8_t *q);
	/* Re-ranking distances in float, without query quantization, to rows
	 * ids[0..n) of pbase (level-1 codes + trailer, pstride apart) and, when
	 * sbase is not NULL and q->bits2, of sbase (level-2 codes, sstride
	 * apart). Component j of a row is unit * (B + S * C_j) with
	 *   two levels: C_j = (2^bits2 - 1) c1_j + c2_j, S = scale / (2^bits2 - 1),
	 *               B = bias - scale / 2;
	 *   one level:  C_j = c1_j, S = scale, B = bias;
	 * distance: l2 a0 + sum (u_j - x_j)^2, otherwise a - sum u_j x_j (u at
	 * q->uoff, q->dim floats). Float sums: levels agree within rounding. */
	void (*lvq_rerank)(const struct vl_lvq_query *q, const uint8_t *pbase, size_t pstride,
	                   const uint8_t *sbase, size_t sstride, const uint32_t *ids, size_t n,
	                   float *out);
	/* LVQ encoding (.spec-parts/quant.md), the same bytes at every level.
	 * y_j = (x_j - mean_j) * inv_unit in float. minmax: *lo = min(*lo, y_j),
	 * *hi = max(*hi, y_j) over j < n (a NaN y_j is skipped). codes: c1_j =
	 * q((y_j - hb) / hs, 2^bits1 - 1) with q(t, M) = 0 if !(t > 0), M if
	 * !(t < M), else (unsigned)(t + 0.5f); when c2 and bits2: v_j = hb + hs
	 * c1_j (no FMA), c2_j = q(((y_j - v_j) + half) / step2, 2^bits2 - 1).
	 * Codes go into c1 / c2 in the layout of their width (both zeroed by the
	 * caller; padding codes stay 0). Returns sum v_j^2 in double (16 lanes,
	 * as the preparation sums). */
	void (*lvq_minmax)(const float *x, const float *mean, size_t n, float inv_unit, float *lo,
	                   float *hi);
	double (*lvq_codes)(const float *x, const float *mean, size_t n, float inv_unit, float hs,
	                    float hb, uint32_t bits1, uint8_t *c1, uint32_t bits2, float step2,
	                    float half, uint8_t *c2);
	/* c[i * ldc + j] = dot_f32(a + i * lda, b + j * ldb, k) for i < m, j < nb,
	 * bit for bit this level's dot_f32, computed in register blocks (a
	 * matrix product: LeanVec projects many rows with one pass over P). */
	void (*dot_f32_nt)(const float *a, size_t lda, size_t m, const float *b, size_t ldb,
	                   size_t nb, size_t k, float *c, size_t ldc);

	/* double-precision helpers for the PCA behind LeanVec (training only) */
	double (*dot_f64)(const double *a, const double *b, size_t n);
	void (*axpy_f64)(double a, const double *x, double *y, size_t n);     /* y += a x */
	/* (x, y) <- (c x + s y, c y - s x), element-wise (a plane rotation) */
	void (*rot_f64)(double *x, double *y, size_t n, double c, double s);
} vl_kernels;

/* The kernels for the best available level (honours VECLITE_SIMD). Never NULL. */
const vl_kernels *vl_kern(void);
/* The kernels of one level, or NULL if the CPU lacks it (tests). */
const vl_kernels *vl_kernels_at(vl_simd_level level);
/* Highest level this CPU supports, ignoring VECLITE_SIMD. */
vl_simd_level vl_simd_cpu_level(void);
const char *vl_simd_level_name(vl_simd_level level);
/* Parse "scalar" / "avx2" / "avx512" / "avx512vnni"; -1 if unknown. */
int vl_simd_parse_level(const char *s);
/* Tests and benchmarks: make vl_kern() return this level from now on (if the
 * CPU has it; returns 0, else -1). Storage views pick their table at open,
 * so call this before opening them. Not for use while other threads search. */
int vl_simd_force(vl_simd_level level);

/* Per-level tables, defined in simd_scalar.c, simd_avx2.c, simd_avx512.c
 * (both AVX-512 tables). */
extern const vl_kernels vl_kernels_scalar;
extern const vl_kernels vl_kernels_avx2;
extern const vl_kernels vl_kernels_avx512;
extern const vl_kernels vl_kernels_avx512vnni;

#endif
