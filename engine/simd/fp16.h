/*
 * fp16.h - IEEE-754 binary16 conversions in plain C.
 *
 * Used by the scalar reference kernels and by the encoders. Conversions are
 * exact (half -> float) or correctly rounded (float -> half), so they agree
 * bit for bit with the F16C instructions the SIMD kernels use.
 *
 * The directed variants (down/up) return the nearest half at or below / at
 * or above x: LVQ rounds its per-vector bias down and its step up so every
 * component stays inside the quantization grid (error <= step/2 exactly).
 */
#ifndef VL_FP16_H
#define VL_FP16_H

#include <stdint.h>
#include <string.h>

#define VL_F16_MAX 65504.0f
#define VL_F16_MAX_BITS 0x7bffu

static inline uint32_t vl_f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline float vl_f32_from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* Exact widening. */
static inline float vl_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ffu;
	if (exp == 0x1f) /* inf / NaN */
		return vl_f32_from_bits(sign | 0x7f800000u | man << 13);
	if (exp == 0) {
		if (!man)
			return vl_f32_from_bits(sign);
		/* subnormal: man * 2^-24, exact in float */
		float f = (float)man * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	return vl_f32_from_bits(sign | (exp + 112) << 23 | man << 13);
}

/* Round to nearest, ties to even (what F16C's VCVTPS2PH does with imm 0). */
static inline uint16_t vl_f16_from_f32(float f)
{
	uint32_t u = vl_f32_bits(f);
	uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
	uint32_t a = u & 0x7fffffffu;
	if (a >= 0x7f800000u) /* inf or NaN (keep a quiet NaN) */
		return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0));
	if (a >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
		return (uint16_t)(sign | 0x7c00u);
	if (a < 0x38800000u) { /* below 2^-14: subnormal half (or zero) */
		/* value = a_float; half subnormal unit = 2^-24. Shift mantissa. */
		if (a < 0x33000000u) /* < 2^-25: rounds to zero (2^-25 ties to even 0) */
			return sign;
		uint32_t e = a >> 23;          /* 102..112 */
		uint32_t m = (a & 0x7fffffu) | 0x800000u;
		uint32_t shift = 126 - e;      /* 14..24: m * 2^(e-150) / 2^-24 = m >> (126-e) */
		uint32_t q = m >> shift;
		uint32_t rem = m & ((1u << shift) - 1);
		uint32_t half = 1u << (shift - 1);
		if (rem > half || (rem == half && (q & 1)))
			q++;
		return (uint16_t)(sign | q);
	}
	/* normal: rebias exponent, round 13 low mantissa bits */
	uint32_t v = a - 0x38000000u; /* exponent -112 */
	uint32_t q = v >> 13;
	uint32_t rem = v & 0x1fffu;
	if (rem > 0x1000u || (rem == 0x1000u && (q & 1)))
		q++;
	return (uint16_t)(sign | q);
}

/* Next representable half above / below h (h finite; saturates at +-max). */
static inline uint16_t vl_f16_next_up(uint16_t h)
{
	if (h == 0x8000u || h == 0)
		return 1;                 /* smallest positive subnormal */
	if (h & 0x8000u)
		return (uint16_t)(h - 1); /* negative: towards zero */
	return h >= VL_F16_MAX_BITS ? (uint16_t)VL_F16_MAX_BITS : (uint16_t)(h + 1);
}

static inline uint16_t vl_f16_next_down(uint16_t h)
{
	if (h == 0 || h == 0x8000u)
		return 0x8001u;
	if (h & 0x8000u)
		return (h & 0x7fffu) >= VL_F16_MAX_BITS ? (uint16_t)(0x8000u | VL_F16_MAX_BITS)
		                                        : (uint16_t)(h + 1);
	return (uint16_t)(h - 1);
}

/* Largest finite half <= x (x finite; clamps to -65504 .. 65504). */
static inline uint16_t vl_f16_down(double x)
{
	if (!(x > -VL_F16_MAX))
		return (uint16_t)(0x8000u | VL_F16_MAX_BITS);
	if (x >= VL_F16_MAX)
		return VL_F16_MAX_BITS;
	uint16_t h = vl_f16_from_f32((float)x);
	while ((double)vl_f16_to_f32(h) > x)
		h = vl_f16_next_down(h);
	return h;
}

/* Smallest finite half >= x (x finite; clamps to -65504 .. 65504). */
static inline uint16_t vl_f16_up(double x)
{
	if (!(x < VL_F16_MAX))
		return VL_F16_MAX_BITS;
	if (x <= -VL_F16_MAX)
		return (uint16_t)(0x8000u | VL_F16_MAX_BITS);
	uint16_t h = vl_f16_from_f32((float)x);
	while ((double)vl_f16_to_f32(h) < x)
		h = vl_f16_next_up(h);
	return h;
}

#endif
