/*
 * simd.h - distance kernels with run-time dispatch.
 *
 * Each kernel exists as a scalar reference (simd_scalar.c), an AVX2 version
 * (*_avx2.c) and an AVX-512 version (*_avx512.c). vl_kern() picks the best
 * level the CPU supports (cpuid) once per process; the environment variable
 * VECLITE_SIMD=scalar|avx2|avx512 forces a lower level, so the tests run every
 * path on one machine and compare it with the scalar reference.
 */
#ifndef VL_SIMD_H
#define VL_SIMD_H

#include <stddef.h>
#include <stdint.h>

typedef enum vl_simd_level {
	VL_SIMD_SCALAR = 0,
	VL_SIMD_AVX2 = 1,
	VL_SIMD_AVX512 = 2
} vl_simd_level;

typedef struct vl_kernels {
	vl_simd_level level;
	const char *name;
	/* float32 x float32 */
	float (*l2_f32)(const float *a, const float *b, size_t n);   /* sum (a-b)^2 */
	float (*dot_f32)(const float *a, const float *b, size_t n);  /* sum a*b */
	/* One query against n contiguous rows of `dim` floats (scans). */
	void (*l2_f32_batch)(const float *q, const float *rows, size_t dim, size_t n, float *out);
	void (*dot_f32_batch)(const float *q, const float *rows, size_t dim, size_t n, float *out);
	/* Quantized kernels are registered by engine/quant (see quant.h). */
} vl_kernels;

/* The kernels for the best available level (honours VECLITE_SIMD). Never NULL. */
const vl_kernels *vl_kern(void);
/* The kernels of one level, or NULL if the CPU lacks it (tests). */
const vl_kernels *vl_kernels_at(vl_simd_level level);
/* Highest level this CPU supports, ignoring VECLITE_SIMD. */
vl_simd_level vl_simd_cpu_level(void);
const char *vl_simd_level_name(vl_simd_level level);
/* Parse "scalar" / "avx2" / "avx512"; -1 if unknown. */
int vl_simd_parse_level(const char *s);

/* Per-level tables, defined in simd_scalar.c, simd_avx2.c, simd_avx512.c. */
extern const vl_kernels vl_kernels_scalar;
extern const vl_kernels vl_kernels_avx2;
extern const vl_kernels vl_kernels_avx512;

#endif
