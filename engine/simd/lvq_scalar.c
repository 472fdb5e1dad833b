/* lvq_scalar.c - the reference LVQ kernels: plain C, one row at a time. */
#include "lvq_kern.h"

/* 64-byte chunk j: low nibble of byte 64j+t pairs with q[128j+t], high
 * nibble with q[128j+64+t] (see vl_lvq4_qpos). A final 32-byte block is the
 * first half of a chunk. */
int32_t vl_dot_u4s8_scalar(const uint8_t *codes, const int8_t *q, size_t nbytes)
{
	int32_t s = 0;
	for (size_t i = 0; i < nbytes; i++) {
		size_t j = i / 64, t = i % 64;
		s += (int32_t)(codes[i] & 15) * q[128 * j + t];
		s += (int32_t)(codes[i] >> 4) * q[128 * j + 64 + t];
	}
	return s;
}

/* q_i = 128 qh_i + ql_i with qh = q[0..n), ql = q[n..2n). */
int32_t vl_dot_u8s8x2_scalar(const uint8_t *codes, const int8_t *q, size_t n)
{
	int32_t sh = 0, sl = 0;
	for (size_t i = 0; i < n; i++) {
		sh += (int32_t)codes[i] * q[i];
		sl += (int32_t)codes[i] * q[n + i];
	}
	return sh * 128 + sl;
}

static float row_dist(const vl_lvq_query *q, const uint8_t *row)
{
	int32_t dot = q->bits == 4 ? vl_dot_u4s8_scalar(row, vl_lvq_qcodes(q), q->code_bytes)
	                           : vl_dot_u8s8x2_scalar(row, vl_lvq_qcodes(q), q->code_bytes);
	float scale = vl_f16_to_f32(vl_ld16(row + q->code_bytes));
	float bias = vl_f16_to_f32(vl_ld16(row + q->code_bytes + 2));
	return vl_lvq_finish(q, row, dot, scale, bias);
}

void vl_lvq_scan_scalar(const vl_lvq_query *q, const uint8_t *rows, size_t stride, size_t n,
                        float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = row_dist(q, rows + r * stride);
}

void vl_lvq_gather_scalar(const vl_lvq_query *q, const uint8_t *base, size_t stride,
                          const uint32_t *ids, size_t n, float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = row_dist(q, base + (size_t)ids[r] * stride);
}
