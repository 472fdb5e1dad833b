/*
 * lvq.h - the LVQ codec shared by the lvq* and leanvec* storage types
 * (internal to engine/quant).
 *
 * Locally-adaptive Vector Quantization (Aguerrebere et al., VLDB 2023):
 * centre each vector on the dataset mean, then quantize its components with
 * a per-vector scalar grid [bias, bias + scale * (2^B1 - 1)]; optionally
 * quantize the residual with B2 more bits on [-scale/2, scale/2].
 *
 * Constants are IEEE halves in units of 2^exp, where exp is learned with the
 * mean (so data of any magnitude keeps half precision). The bias is rounded
 * down and the scale up to the nearest half, so every component lies on the
 * grid and the one-level error is at most scale/2 (two levels: scale2/2,
 * scale2 = scale / (2^B2 - 1)), up to float rounding. See .spec-parts/quant.md.
 */
#ifndef VL_LVQ_H
#define VL_LVQ_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"
#include "simd/simd.h"

#define VL_LVQ_TRAILER 16          /* f16 scale, f16 bias, f32 norm, u8 selector, 7 zero */
#define VL_LVQ_EXP_MIN (-100)
#define VL_LVQ_EXP_MAX 100
#define VL_LVQ_HEADROOM_LOG2 8     /* training data's largest |x - mean| maps to 2^8 */
#define VL_LVQ_TINY_STEP 7e-5      /* below this (in units) a vector is treated as constant */

typedef struct vl_lvq_codec {
	uint32_t dim;
	uint32_t bits1, bits2;     /* bits2 = 0: one level */
	int32_t exp;
	float unit, inv_unit;      /* 2^exp, 2^-exp */
	const float *mean;         /* dim floats (not owned) */
	size_t code_bytes1;        /* padded level-1 code bytes (multiple of 32) */
	size_t code_bytes2;        /* padded level-2 code bytes, 0 for one level */
	size_t pstride;            /* code_bytes1 + VL_LVQ_TRAILER */
	size_t sstride;            /* code_bytes2 */
	size_t qcode_bytes;        /* bytes of the quantized query (multiple of 64) */
	const vl_kernels *k;       /* vl_kern() at init: preparation and re-ranking kernels */
} vl_lvq_codec;

/* Padded code bytes for `dim` components of `bits` (4 or 8). */
size_t vl_lvq_code_bytes(uint32_t dim, uint32_t bits);

void vl_lvq_codec_init(vl_lvq_codec *c, uint32_t dim, uint32_t bits1, uint32_t bits2, int32_t exp,
                       const float *mean);

/* max_j |x_j - mean_j| (mean may be NULL: zero), and the exponent that
 * maps a training set's largest such value to 2^VL_LVQ_HEADROOM_LOG2. */
double vl_lvq_absmax(const float *x, uint32_t dim, const float *mean);
int32_t vl_lvq_exp_for(double absmax);

/* Encode a cleaned vector (finite components) into a PRIMARY row
 * (pstride bytes) and, for two levels, a SECONDARY row (sstride bytes;
 * NULL to skip). */
void vl_lvq_encode(const vl_lvq_codec *c, const float *x, uint8_t *primary, uint8_t *secondary);

/* Centred reconstruction (true units, mean not added) of components
 * [j0, j0 + n) of a row; secondary NULL = level 1 only. */
void vl_lvq_recon(const vl_lvq_codec *c, const uint8_t *primary, const uint8_t *secondary,
                  uint32_t j0, uint32_t n, float *out);

/* Full reconstruction (mean added). */
void vl_lvq_decode(const vl_lvq_codec *c, const uint8_t *primary, const uint8_t *secondary,
                   float *out);

/* Code of component i in a level's code bytes. */
unsigned vl_lvq_get(const uint8_t *codes, uint32_t bits, uint32_t i);

/* The scale and bias of a primary row, in units (multiply by unit). */
float vl_lvq_row_scale(const vl_lvq_codec *c, const uint8_t *primary);
float vl_lvq_row_bias(const vl_lvq_codec *c, const uint8_t *primary);

/*
 * Prepare a kernel query for the level-1 codes. w is the query in the
 * codec's space (dim floats). l2: dist = a0 + |w - x^|^2; otherwise
 * dist = a0 - <w, x^> (x^ = mean + reconstruction). Writes
 * vl_lvq_qsize(c) bytes at q (64-byte aligned): the vl_lvq_query, the
 * quantized query, then the float vector u the float path uses. Every
 * kernel level writes the same bytes (simd.h). sums (optional, 4 doubles):
 * sum u, |u|^2, <w, mean>, max |u_j| (u = w - mean for l2, else w).
 */
size_t vl_lvq_qsize(const vl_lvq_codec *c);
void vl_lvq_prepare(const vl_lvq_codec *c, const float *w, int l2, float a0, vl_lvq_query *q,
                    double *sums);
/* The float area (dim floats) of a query buffer: w may be placed there
 * before vl_lvq_prepare, which then works in place. */
float *vl_lvq_qfloats(const vl_lvq_codec *c, void *qbuf);

/* Re-ranking (the float distance to the one- or two-level reconstruction)
 * is the kernel lvq_rerank on a prepared query (simd.h). */

/* Training helpers shared with leanvec.c (lvq.c). */
#define VL_QUANT_TRAINING_DEFAULT 10240u
int vl_quant_check_training_param(const char *name, const char *value, vl_diag *d);
int vl_quant_check_train_params(const char *const *params, size_t nparams, vl_diag *d);
size_t vl_quant_training_rows(const char *const *params, size_t nparams);
/* Mean of the cleaned (normalized when asked) rows and the largest
 * |x_j - mean_j| among them. VL_ENOMEM only. */
int vl_quant_train_mean(const float *rows, size_t n, uint32_t dim, int normalize, float *mean,
                        double *absmax);

#endif
