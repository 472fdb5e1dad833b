/*
 * lvq_codec.c - LVQ encoding, reconstruction and query preparation (lvq.h).
 *
 * Work happens in "units" of 2^exp: y = (x - mean) * 2^-exp, so the per-row
 * constants can be halves whatever the data's magnitude. Encoding and
 * reconstruction evaluate the level-1 value with the same float expression
 * (bias + scale * code), so the residual the encoder measured is exactly the
 * one the decoder adds back.
 */
#include <math.h>
#include <string.h>

#include "lvq.h"
#include "qcommon.h"
#include "simd/fp16.h"
#include "vl_bytes.h"

size_t vl_lvq_code_bytes(uint32_t dim, uint32_t bits)
{
	return bits == 4 ? vl_qalign(dim, 64) / 2 : vl_qalign(dim, 32);
}

void vl_lvq_codec_init(vl_lvq_codec *c, uint32_t dim, uint32_t bits1, uint32_t bits2, int32_t exp,
                       const float *mean)
{
	memset(c, 0, sizeof *c);
	c->dim = dim;
	c->bits1 = bits1;
	c->bits2 = bits2;
	c->exp = exp;
	c->unit = ldexpf(1.0f, exp);
	c->inv_unit = ldexpf(1.0f, -exp);
	c->mean = mean;
	c->code_bytes1 = vl_lvq_code_bytes(dim, bits1);
	c->code_bytes2 = bits2 ? vl_lvq_code_bytes(dim, bits2) : 0;
	c->k = vl_kern();
	c->pstride = c->code_bytes1 + VL_LVQ_TRAILER;
	c->sstride = c->code_bytes2;
	if (bits1 == 4)
		c->qcode_bytes = 128 * ((c->code_bytes1 / 32 + 1) / 2);
	else
		c->qcode_bytes = vl_qalign(c->code_bytes1 * 2, 64);
}

double vl_lvq_absmax(const float *x, uint32_t dim, const float *mean)
{
	double m = 0;
	for (uint32_t j = 0; j < dim; j++) {
		double v = fabs((double)x[j] - (mean ? mean[j] : 0.0f));
		m = v > m ? v : m;
	}
	return m;
}

int32_t vl_lvq_exp_for(double m)
{
	if (!(m > 0) || !isfinite(m))
		return 0;
	int e;
	frexp(m, &e); /* m in [2^(e-1), 2^e) */
	e -= VL_LVQ_HEADROOM_LOG2;
	return e < VL_LVQ_EXP_MIN ? VL_LVQ_EXP_MIN : e > VL_LVQ_EXP_MAX ? VL_LVQ_EXP_MAX : e;
}

unsigned vl_lvq_get(const uint8_t *codes, uint32_t bits, uint32_t i)
{
	if (bits == 8)
		return codes[i];
	uint8_t b = codes[(i / 64) * 32 + i % 32];
	return (i % 64) < 32 ? b & 15u : b >> 4;
}

float vl_lvq_row_scale(const vl_lvq_codec *c, const uint8_t *primary)
{
	return vl_f16_to_f32(vl_ld16(primary + c->code_bytes1));
}

float vl_lvq_row_bias(const vl_lvq_codec *c, const uint8_t *primary)
{
	return vl_f16_to_f32(vl_ld16(primary + c->code_bytes1 + 2));
}

/* Per-row grid: bias rounded down to a half at or below the minimum, scale
 * rounded up so bias + scale * (2^B - 1) reaches the maximum. */
static void pick_grid(float lo, float hi, uint32_t bits, uint16_t *scale, uint16_t *bias)
{
	*bias = vl_f16_down(lo);
	double step = ((double)hi - vl_f16_to_f32(*bias)) / (double)((1u << bits) - 1);
	/* a (nearly) constant vector: any step works, 1 keeps halves normal */
	*scale = step > VL_LVQ_TINY_STEP ? vl_f16_up(step) : 0x3c00u;
}

void vl_lvq_encode(const vl_lvq_codec *c, const float *x, uint8_t *primary, uint8_t *secondary)
{
	/* pass 1: the grid needs min/max of y = (x - mean) / unit */
	float lo = INFINITY, hi = -INFINITY;
	c->k->lvq_minmax(x, c->mean, c->dim, c->inv_unit, &lo, &hi);
	if (!(lo <= hi)) /* NaN input (the engine rejects it): keep the row defined */
		lo = hi = 0;
	uint16_t hs_bits, hb_bits;
	pick_grid(lo, hi, c->bits1, &hs_bits, &hb_bits);
	float hs = vl_f16_to_f32(hs_bits), hb = vl_f16_to_f32(hb_bits);
	unsigned max2 = c->bits2 ? (1u << c->bits2) - 1 : 0;
	float step2 = c->bits2 ? hs / (float)max2 : 0, half = hs * 0.5f;

	/* pass 2: the codes (the kernels write the same bytes at every level) */
	memset(primary, 0, c->pstride);
	uint8_t *sec = secondary && c->bits2 ? secondary : NULL;
	if (sec)
		memset(sec, 0, c->sstride);
	double norm = c->k->lvq_codes(x, c->mean, c->dim, c->inv_unit, hs, hb, c->bits1, primary,
	                              c->bits2, step2, half, sec);
	uint8_t *t = primary + c->code_bytes1;
	vl_st16(t, hs_bits);
	vl_st16(t + 2, hb_bits);
	vl_stf32(t + 4, (float)(norm * (double)c->unit * (double)c->unit));
	/* t[8] centroid selector = 0, t[9..15] reserved = 0 (memset above) */
}

void vl_lvq_recon(const vl_lvq_codec *c, const uint8_t *primary, const uint8_t *secondary,
                  uint32_t j0, uint32_t n, float *out)
{
	float hs = vl_lvq_row_scale(c, primary), hb = vl_lvq_row_bias(c, primary);
	unsigned max2 = c->bits2 ? (1u << c->bits2) - 1 : 0;
	float step2 = c->bits2 ? hs / (float)max2 : 0, half = hs * 0.5f;
	for (uint32_t j = 0; j < n; j++) {
		float v = hb + hs * (float)vl_lvq_get(primary, c->bits1, j0 + j);
		if (secondary && c->bits2)
			v = v + ((float)vl_lvq_get(secondary, c->bits2, j0 + j) * step2 - half);
		out[j] = v * c->unit;
	}
}

void vl_lvq_decode(const vl_lvq_codec *c, const uint8_t *primary, const uint8_t *secondary,
                   float *out)
{
	vl_lvq_recon(c, primary, secondary, 0, c->dim, out);
	for (uint32_t j = 0; j < c->dim; j++)
		out[j] += c->mean[j];
}

size_t vl_lvq_qsize(const vl_lvq_codec *c)
{
	return sizeof(vl_lvq_query) + c->qcode_bytes + vl_qalign((size_t)c->dim * 4, 64);
}

/*
 * With y^ = x^ - mean the centred reconstruction (per row: unit * (bias +
 * scale * c_j)) and u the vector the kernel dots with the codes:
 *   t = <u, y^> = unit * (bias * sum(u) + scale * <u, c>)
 * <u, c> comes from the integer kernel with u ~ alpha * qi; the rounding
 * error e = u - alpha * qi is known here, and its dominant part (against the
 * middle code m) is added back: <e, c> ~ m * sum(e).
 *   l2:  |w - x^|^2 = |u|^2 - 2 t + |y^|^2      (u = w - mean, |y^|^2 stored)
 *   dot: <w, x^>    = <w, mean> + t              (u = w)
 */
float *vl_lvq_qfloats(const vl_lvq_codec *c, void *qbuf)
{
	return (float *)(void *)((uint8_t *)qbuf + sizeof(vl_lvq_query) + c->qcode_bytes);
}

/* The bound of |q_i|: int8 for 4-bit codes; for 8-bit codes q = 128 qh +
 * ql split in two int8 halves (simd.h), |q| <= 8127, and small enough
 * that sum 255 |q_i| (with the +-64 of the split) stays below 2^31. */
static double query_qmax(const vl_lvq_codec *c)
{
	if (c->bits1 == 4)
		return 127;
	double qmax = floor(2147483647.0 / (255.0 * (double)c->code_bytes1)) - 64;
	return qmax > 8127 ? 8127 : qmax;
}

void vl_lvq_prepare(const vl_lvq_codec *c, const float *w, int l2, float a0, vl_lvq_query *q,
                    double *sums)
{
	uint32_t dim = c->dim;
	uint8_t *base = (uint8_t *)q;
	float *u = vl_lvq_qfloats(c, q); /* may be w itself: the kernel reads w[j] before writing u[j] */
	memset(q, 0, sizeof *q);
	memset(base + sizeof *q, 0, c->qcode_bytes);
	double s[4];
	c->k->lvq_center(w, c->mean, l2, dim, u, s);
	double su = s[0], uu = s[1], wm = s[2], amax = s[3];
	/* u ~ alpha q: r_i = round(u_i / alpha), and the rounding error
	 * e = u - alpha q sums to su - alpha sum(q) */
	double qmax = query_qmax(c), alpha = 0, se = su;
	if (amax > 0 && isfinite(amax)) {
		alpha = amax / qmax;
		int64_t sq = c->k->lvq_quantize(u, dim, qmax / amax, qmax, c->bits1, c->code_bytes1,
		                                (int8_t *)(base + sizeof *q));
		se = su - alpha * (double)sq;
	}
	double unit = c->unit, mid = ((1u << c->bits1) - 1) / 2.0;
	q->bits = c->bits1;
	q->code_bytes = (uint32_t)c->code_bytes1;
	q->qoff = (uint32_t)sizeof *q;
	q->uoff = (uint32_t)(sizeof *q + c->qcode_bytes);
	q->dim = dim;
	q->bits2 = c->bits2;
	q->unit = c->unit;
	q->l2 = l2 ? 1 : 0;
	q->sq = (float)(unit * su);
	q->alpha = (float)(unit * alpha);
	q->corr = (float)(unit * mid * se);
	q->a0 = a0;
	q->a = l2 ? (float)(a0 + uu) : (float)(a0 - wm);
	q->b = l2 ? -2.0f : -1.0f;
	if (sums)
		memcpy(sums, s, sizeof s);
}
