/*
 * faiss_sq.c - FAISS ScalarQuantizer: the serialized quantizer and the
 * decoding of one code into float32, as ScalarQuantizer::decode does.
 *
 * Serialized: int32 qtype, int32 rangestat, float rangestat_arg, u64 d,
 * u64 code_size, vector<float> trained. For the trained types, trained holds
 * vmin then vdiff (d each, or one each for the _uniform types), and
 *     x_i = vmin_i + ((c_i + 0.5) / (2^bits - 1)) * vdiff_i
 * computed in float32 in exactly that order (FAISS's reconstruct_component);
 * the product and the sum are separate statements so no compiler fuses them
 * into an FMA, which would change the last bit.
 */
#include <string.h>

#include "faiss_internal.h"

const char *vl_fx_sq_name(int32_t qtype)
{
	static const char *const names[] = {
		"8bit", "4bit", "8bit_uniform", "4bit_uniform", "fp16",
		"8bit_direct", "6bit", "bf16", "8bit_direct_signed",
	};
	if (qtype < 0 || qtype >= (int32_t)(sizeof names / sizeof names[0]))
		return NULL;
	return names[qtype];
}

uint64_t vl_fx_sq_code_size(int32_t qtype, uint64_t d)
{
	switch (qtype) {
	case VL_FAISS_QT_8BIT:
	case VL_FAISS_QT_8BIT_UNIFORM:
	case VL_FAISS_QT_8BIT_DIRECT:
	case VL_FAISS_QT_8BIT_DIRECT_SIGNED:
		return d;
	case VL_FAISS_QT_4BIT:
	case VL_FAISS_QT_4BIT_UNIFORM:
		return (d + 1) / 2;
	case VL_FAISS_QT_6BIT:
		return (d * 6 + 7) / 8;
	case VL_FAISS_QT_FP16:
	case VL_FAISS_QT_BF16:
		return 2 * d;
	}
	return 0;
}

/* Floats of `trained` the decoder reads. */
static uint64_t trained_needed(int32_t qtype, uint64_t d)
{
	switch (qtype) {
	case VL_FAISS_QT_8BIT:
	case VL_FAISS_QT_4BIT:
	case VL_FAISS_QT_6BIT:
		return 2 * d;
	case VL_FAISS_QT_8BIT_UNIFORM:
	case VL_FAISS_QT_4BIT_UNIFORM:
		return 2;
	}
	return 0;
}

int vl_fx_read_sq(vl_fx_ctx *c, vl_faiss_sq *sq, int32_t d)
{
	uint64_t off = vl_fx_off(c);
	int rc;
	if ((rc = vl_fx_i32(c, &sq->qtype, "ScalarQuantizer qtype")) ||
	    (rc = vl_fx_i32(c, &sq->rangestat, "ScalarQuantizer rangestat")) ||
	    (rc = vl_fx_f32(c, &sq->rangestat_arg, "ScalarQuantizer rangestat_arg")) ||
	    (rc = vl_fx_u64(c, &sq->d, "ScalarQuantizer d")) ||
	    (rc = vl_fx_u64(c, &sq->code_size, "ScalarQuantizer code_size")))
		return rc;
	uint64_t toff = vl_fx_off(c);
	if ((rc = vl_fx_vector(c, 4, &sq->trained, &sq->ntrained, "ScalarQuantizer trained")))
		return rc;
	if (!vl_fx_sq_name(sq->qtype))
		return vl_diag_set(c->d, VL_EUNSUPPORTED, off,
		                   "ScalarQuantizer: quantizer type %d is not supported (veclite "
		                   "reads types 0..8: 8bit .. 8bit_direct_signed)", sq->qtype);
	if (sq->d != (uint64_t)d)
		return vl_fx_err(c, off + 12, "ScalarQuantizer: d = %llu but the index has d = %d",
		                 (unsigned long long)sq->d, d);
	uint64_t want = vl_fx_sq_code_size(sq->qtype, sq->d);
	if (sq->code_size != want)
		return vl_fx_err(c, off + 20, "ScalarQuantizer: code_size = %llu, type %s with d = %d "
		                 "needs %llu", (unsigned long long)sq->code_size,
		                 vl_fx_sq_name(sq->qtype), d, (unsigned long long)want);
	if (sq->ntrained < trained_needed(sq->qtype, sq->d))
		return vl_fx_err(c, toff, "ScalarQuantizer: %llu trained values, type %s needs %llu "
		                 "(is the quantizer trained?)", (unsigned long long)sq->ntrained,
		                 vl_fx_sq_name(sq->qtype),
		                 (unsigned long long)trained_needed(sq->qtype, sq->d));
	return 0;
}

/* IEEE binary16 -> binary32, exact (every half is a float). */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t mant = h & 0x3ffu;
	uint32_t bits;
	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | mant << 13;
	} else if (exp != 0) {
		bits = sign | (exp + 112) << 23 | mant << 13;
	} else if (mant == 0) {
		bits = sign;
	} else {
		/* subnormal half: normalise; value = mant * 2^-24 */
		uint32_t e = 113;
		while (!(mant & 0x400u)) {
			mant <<= 1;
			e--;
		}
		bits = sign | e << 23 | (mant & 0x3ffu) << 13;
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

static float bits_to_float(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* Component i of a 6-bit code: 4 components in 3 bytes, LSB first. */
static unsigned code6(const uint8_t *code, uint64_t i)
{
	const uint8_t *p = code + (i >> 2) * 3;
	switch (i & 3) {
	case 0:
		return p[0] & 0x3fu;
	case 1:
		return (unsigned)(p[0] >> 6) | (unsigned)(p[1] & 0xfu) << 2;
	case 2:
		return (unsigned)(p[1] >> 4) | (unsigned)(p[2] & 0x3u) << 4;
	default:
		return p[2] >> 2;
	}
}

static unsigned code4(const uint8_t *code, uint64_t i)
{
	return (code[i >> 1] >> ((i & 1) << 2)) & 0xfu;
}

static inline float affine(float vmin, float xi, float vdiff)
{
	float scaled = xi * vdiff;
	return vmin + scaled;
}

void vl_fx_sq_decode(const vl_faiss_sq *sq, const uint8_t *code, float *out)
{
	const uint64_t d = sq->d;
	const uint8_t *vmin = sq->trained;
	const uint8_t *vdiff = sq->trained + 4 * (sq->qtype == VL_FAISS_QT_8BIT_UNIFORM ||
	                                          sq->qtype == VL_FAISS_QT_4BIT_UNIFORM ? 1 : d);
	uint64_t i;
	switch (sq->qtype) {
	case VL_FAISS_QT_8BIT:
		for (i = 0; i < d; i++)
			out[i] = affine(vl_ldf32(vmin + 4 * i), (code[i] + 0.5f) / 255.0f,
			                vl_ldf32(vdiff + 4 * i));
		break;
	case VL_FAISS_QT_4BIT:
		for (i = 0; i < d; i++)
			out[i] = affine(vl_ldf32(vmin + 4 * i), (code4(code, i) + 0.5f) / 15.0f,
			                vl_ldf32(vdiff + 4 * i));
		break;
	case VL_FAISS_QT_6BIT:
		for (i = 0; i < d; i++)
			out[i] = affine(vl_ldf32(vmin + 4 * i), (code6(code, i) + 0.5f) / 63.0f,
			                vl_ldf32(vdiff + 4 * i));
		break;
	case VL_FAISS_QT_8BIT_UNIFORM: {
		float lo = vl_ldf32(vmin), span = vl_ldf32(vdiff);
		for (i = 0; i < d; i++)
			out[i] = affine(lo, (code[i] + 0.5f) / 255.0f, span);
		break;
	}
	case VL_FAISS_QT_4BIT_UNIFORM: {
		float lo = vl_ldf32(vmin), span = vl_ldf32(vdiff);
		for (i = 0; i < d; i++)
			out[i] = affine(lo, (code4(code, i) + 0.5f) / 15.0f, span);
		break;
	}
	case VL_FAISS_QT_FP16:
		for (i = 0; i < d; i++)
			out[i] = half_to_float(vl_ld16(code + 2 * i));
		break;
	case VL_FAISS_QT_BF16:
		for (i = 0; i < d; i++)
			out[i] = bits_to_float((uint32_t)vl_ld16(code + 2 * i) << 16);
		break;
	case VL_FAISS_QT_8BIT_DIRECT:
		for (i = 0; i < d; i++)
			out[i] = (float)code[i];
		break;
	case VL_FAISS_QT_8BIT_DIRECT_SIGNED:
		for (i = 0; i < d; i++)
			out[i] = (float)((int)code[i] - 128);
		break;
	default:
		/* unreachable: vl_fx_read_sq() accepts only the types above */
		memset(out, 0, d * sizeof *out);
		break;
	}
}
