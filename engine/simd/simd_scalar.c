/* simd_scalar.c - the reference kernels: plain C, no intrinsics. */
#include "fp16.h"
#include "lvq_kern.h"
#include "lvqf_kern.h"
#include "simd.h"

static float l2_f32(const float *a, const float *b, size_t n)
{
	float s = 0;
	for (size_t i = 0; i < n; i++) {
		float d = a[i] - b[i];
		s += d * d;
	}
	return s;
}

static float dot_f32(const float *a, const float *b, size_t n)
{
	float s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void l2_f32_batch(const float *q, const float *rows, size_t dim, size_t n, float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = l2_f32(q, rows + r * dim, dim);
}

static void dot_f32_batch(const float *q, const float *rows, size_t dim, size_t n, float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = dot_f32(q, rows + r * dim, dim);
}

static float l2_f16(const float *q, const uint16_t *x, size_t n)
{
	float s = 0;
	for (size_t i = 0; i < n; i++) {
		float d = q[i] - vl_f16_to_f32(x[i]);
		s += d * d;
	}
	return s;
}

static float dot_f16(const float *q, const uint16_t *x, size_t n)
{
	float s = 0;
	for (size_t i = 0; i < n; i++)
		s += q[i] * vl_f16_to_f32(x[i]);
	return s;
}

static void l2_f16_batch(const float *q, const uint8_t *rows, size_t stride, size_t dim, size_t n,
                         float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = l2_f16(q, (const uint16_t *)(const void *)(rows + r * stride), dim);
}

static void dot_f16_batch(const float *q, const uint8_t *rows, size_t stride, size_t dim,
                          size_t n, float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = dot_f16(q, (const uint16_t *)(const void *)(rows + r * stride), dim);
}

static void dot_f32_nt(const float *a, size_t lda, size_t m, const float *b, size_t ldb, size_t nb,
                       size_t k, float *c, size_t ldc)
{
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < nb; j++)
			c[i * ldc + j] = dot_f32(a + i * lda, b + j * ldb, k);
}

static double dot_f64(const double *a, const double *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void axpy_f64(double a, const double *x, double *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] += a * x[i];
}

static void rot_f64(double *x, double *y, size_t n, double c, double s)
{
	for (size_t i = 0; i < n; i++) {
		double xi = x[i], yi = y[i];
		x[i] = c * xi + s * yi;
		y[i] = c * yi - s * xi;
	}
}

const vl_kernels vl_kernels_scalar = {
	.level = VL_SIMD_SCALAR,
	.name = "scalar",
	.l2_f32 = l2_f32,
	.dot_f32 = dot_f32,
	.l2_f32_batch = l2_f32_batch,
	.dot_f32_batch = dot_f32_batch,
	.l2_f16 = l2_f16,
	.dot_f16 = dot_f16,
	.l2_f16_batch = l2_f16_batch,
	.dot_f16_batch = dot_f16_batch,
	.dot_u4s8 = vl_dot_u4s8_scalar,
	.dot_u8s8x2 = vl_dot_u8s8x2_scalar,
	.lvq_scan = vl_lvq_scan_scalar,
	.lvq_gather = vl_lvq_gather_scalar,
	.clean_f32 = vl_clean_f32_scalar,
	.scale_f32 = vl_scale_f32_scalar,
	.lvq_center = vl_lvq_center_scalar,
	.lvq_quantize = vl_lvq_quantize_scalar,
	.lvq_rerank = vl_lvq_rerank_scalar,
	.lvq_minmax = vl_lvq_minmax_scalar,
	.lvq_codes = vl_lvq_codes_scalar,
	.dot_f32_nt = dot_f32_nt,
	.dot_f64 = dot_f64,
	.axpy_f64 = axpy_f64,
	.rot_f64 = rot_f64,
};
