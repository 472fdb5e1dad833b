/* simd_scalar.c - the reference kernels: plain C, no intrinsics. */
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

const vl_kernels vl_kernels_scalar = {
	.level = VL_SIMD_SCALAR,
	.name = "scalar",
	.l2_f32 = l2_f32,
	.dot_f32 = dot_f32,
	.l2_f32_batch = l2_f32_batch,
	.dot_f32_batch = dot_f32_batch,
};
