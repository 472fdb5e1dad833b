/*
 * leanvec.c - LeanVec storage (leanvec4x8, leanvec8x8): PCA to REDUCE
 * dimensions, LVQ-4/8 on the reduced vectors as the PRIMARY level (what
 * scans and graph traversal read), full-dimension LVQ-8 as the SECONDARY
 * level (re-ranking). ID/PCA mode of Tepper et al. (2023): the projection is
 * learned from the data sample alone.
 *
 * Trained state (QUANT section, little-endian):
 *   0  "VLN1"  4 storage id  5 metric  6 bits1 (4|8)  7 bits2 (8)
 *   8  u32 dim D   12 u32 reduced d   16 i32 exp1   20 i32 exp2
 *   24 u64 rows the state was trained on
 *   32 f32 mean[D]          dataset mean (also the secondary LVQ mean)
 *   .. f32 rmean[d]         mean of the projected sample (primary LVQ mean)
 *   .. f32 proj[d][D]       row i: i-th principal direction (unit norm)
 * Primary y = proj (x - mean), LVQ-bits1 around rmean with exp1; secondary
 * x, LVQ-8 around mean with exp2. Cosine normalizes x (and the query) first.
 * proj is the top-d PCA basis turned by a random d x d rotation, so the
 * variance is spread evenly over the d components (one LVQ step fits all).
 * Distances on the primary level:
 *   l2:  |P(q - mean) - y^|^2 + |q - mean|^2 - |P(q - mean)|^2
 *   ip:  -(<q, mean> + <P q, y^>)     cosine: 1 - the same on unit vectors
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvq.h"
#include "pca.h"
#include "qcommon.h"
#include "segment.h"
#include "vl_bytes.h"

#define STATE_MAGIC "VLN1"
#define STATE_HEAD 32
#define ROTATION_SEED 0x4c65616e56656331ull /* fixed: training is deterministic */

typedef struct lv_view {
	const vl_kernels *k;
	uint32_t dim, rdim;
	float *mem;                /* one allocation: mean, rmean, proj */
	const float *mean, *rmean, *proj;
	vl_lvq_codec p, s;         /* primary (reduced), secondary (full) */
	size_t qsize_p;
} lv_view;

static uint32_t bits_of(int id) { return id == VL_STORAGE_LEANVEC4X8 ? 4 : 8; }

static int lv_reduce(const char *const *params, size_t n, uint32_t dim, uint32_t *d_out,
                     vl_diag *dg)
{
	const char *v = vl_qparam(params, n, "REDUCE");
	const char *name = "REDUCE";
	const char *v2 = vl_qparam(params, n, "LEANVEC_DIM");
	if (!v && v2)
		v = v2, name = "LEANVEC_DIM";
	if (dim < 2)
		return vl_diag_set(dg, VL_EINVAL, VL_NO_OFFSET, "LeanVec needs dim >= 2 (dim is %u)", dim);
	if (dim > VL_PCA_DIM_MAX)
		return vl_diag_set(dg, VL_EINVAL, VL_NO_OFFSET,
		                   "LeanVec supports dim up to %u (dim is %u); use an lvq type", VL_PCA_DIM_MAX,
		                   dim);
	if (!v) {
		*d_out = dim / 2;
		return VL_OK;
	}
	return vl_qparam_parse_u32(name, v, 1, dim - 1, d_out, dg);
}

static int lv_check_param(const char *name, const char *value, uint32_t dim, vl_diag *d)
{
	if (!strcmp(name, "REDUCE") || !strcmp(name, "LEANVEC_DIM")) {
		char kv[64];
		const char *p[1] = { kv };
		uint32_t r;
		if (strlen(value) > 32)
			return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "%s=%.32s...: not a number", name, value);
		snprintf(kv, sizeof kv, "%s=%s", name, value);
		return lv_reduce(p, 1, dim, &r, d);
	}
	return vl_quant_check_training_param(name, value, d);
}

static int lv_check_schema(uint32_t dim, vl_metric metric, const char *const *params,
                           size_t nparams, vl_diag *d)
{
	uint32_t r;
	return lv_reduce(params, nparams, dim, &r, d);
}

static size_t lv_train_rows(uint32_t dim, const char *const *params, size_t nparams)
{
	return vl_quant_training_rows(params, nparams);
}

/* y[r][i] = <P_i, x_r> for m rows of x (dim floats each): one pass over P
 * for the whole block (a matrix product; P is rdim x dim floats, larger
 * than the caches at dim 768). Every y is this level's dot_f32 exactly
 * (simd.h dot_f32_nt), whatever the block: encode and encode_rows agree. */
static void project(const vl_kernels *k, const float *proj, uint32_t rdim, uint32_t dim,
                    const float *x, size_t m, float *y)
{
	k->dot_f32_nt(x, dim, m, proj, dim, rdim, dim, y, rdim);
}

#define ENC_BLOCK 32 /* rows projected together: 32 x dim floats stay in L2 */

/* rmean and the primary exponent from the projected sample. */
static int reduced_stats(const float *rows, size_t n, uint32_t dim, uint32_t rdim, int cos,
                         const float *mean, const float *proj, float *rmean, int32_t *exp1)
{
	const vl_kernels *k = vl_kern();
	float *x = malloc((size_t)ENC_BLOCK * dim * sizeof *x);
	double *sum = calloc(rdim, sizeof *sum);
	float *ys = n ? malloc(n * (size_t)rdim * sizeof *ys) : NULL;
	int rc = VL_ENOMEM;
	if (!x || !sum || (n && !ys))
		goto out;
	for (size_t r0 = 0; r0 < n; r0 += ENC_BLOCK) {
		size_t nb = n - r0 < ENC_BLOCK ? n - r0 : ENC_BLOCK;
		for (size_t r = 0; r < nb; r++) {
			float *xr = x + r * dim;
			vl_qclean(rows + (r0 + r) * dim, dim, cos, xr);
			for (uint32_t j = 0; j < dim; j++)
				xr[j] -= mean[j];
		}
		project(k, proj, rdim, dim, x, nb, ys + r0 * rdim);
	}
	for (size_t r = 0; r < n; r++)
		for (uint32_t i = 0; i < rdim; i++)
			sum[i] += ys[r * rdim + i];
	for (uint32_t i = 0; i < rdim; i++)
		rmean[i] = n ? (float)(sum[i] / (double)n) : 0.0f;
	double amax = 0;
	for (size_t r = 0; r < n; r++) {
		double m = vl_lvq_absmax(ys + r * rdim, rdim, rmean);
		amax = m > amax ? m : amax;
	}
	*exp1 = vl_lvq_exp_for(amax);
	rc = VL_OK;
out:
	free(x);
	free(sum);
	free(ys);
	return rc;
}

static int lv_train(int id, uint32_t dim, vl_metric metric, const char *const *params,
                    size_t nparams, const float *rows, size_t n, uint8_t **state,
                    size_t *state_len, vl_diag *d)
{
	uint32_t rdim = 0;
	int rc = vl_quant_check_train_params(params, nparams, d);
	if (rc || (rc = lv_reduce(params, nparams, dim, &rdim, d)))
		return rc;
	int cos = metric == VL_METRIC_COSINE;
	size_t len = STATE_HEAD + 4 * ((size_t)dim + rdim + (size_t)rdim * dim);
	uint8_t *st = calloc(1, len);
	float *mean = malloc((size_t)dim * sizeof *mean), *rmean = malloc((size_t)rdim * sizeof *rmean);
	float *proj = malloc((size_t)rdim * dim * sizeof *proj);
	double amax2 = 0;
	int32_t exp1 = 0;
	rc = VL_ENOMEM;
	if (!st || !mean || !rmean || !proj || vl_quant_train_mean(rows, n, dim, cos, mean, &amax2) ||
	    vl_pca(rows, n, dim, mean, cos, rdim, proj, NULL) ||
	    vl_rotate_rows(proj, rdim, dim, ROTATION_SEED) ||
	    reduced_stats(rows, n, dim, rdim, cos, mean, proj, rmean, &exp1))
		goto out;
	memcpy(st, STATE_MAGIC, 4);
	st[4] = (uint8_t)id;
	st[5] = (uint8_t)metric;
	st[6] = (uint8_t)bits_of(id);
	st[7] = 8;
	vl_st32(st + 8, dim);
	vl_st32(st + 12, rdim);
	vl_st32(st + 16, (uint32_t)exp1);
	vl_st32(st + 20, (uint32_t)vl_lvq_exp_for(amax2));
	vl_st64(st + 24, n);
	uint8_t *p = st + STATE_HEAD;
	for (uint32_t j = 0; j < dim; j++, p += 4)
		vl_stf32(p, mean[j]);
	for (uint32_t i = 0; i < rdim; i++, p += 4)
		vl_stf32(p, rmean[i]);
	for (size_t i = 0; i < (size_t)rdim * dim; i++, p += 4)
		vl_stf32(p, proj[i]);
	*state = st;
	*state_len = len;
	st = NULL;
	rc = VL_OK;
out:
	free(st);
	free(mean);
	free(rmean);
	free(proj);
	return rc == VL_OK ? rc : vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory training LeanVec");
}

static int check_state_head(int id, const vl_qview *v, const uint8_t *st, size_t len,
                            uint32_t *rdim, vl_diag *d)
{
	if (!st || len < STATE_HEAD || memcmp(st, STATE_MAGIC, 4))
		return vl_diag_set(d, VL_ECORRUPT, 0, "LeanVec state: bad magic or %zu bytes", len);
	if (st[4] != id || st[6] != bits_of(id) || st[7] != 8)
		return vl_diag_set(d, VL_ECORRUPT, 4, "LeanVec state is for storage %u (%u/%u bits), not %s",
		                   st[4], st[6], st[7], v->ops ? v->ops->name : "this type");
	if (st[5] != (uint8_t)v->metric)
		return vl_diag_set(d, VL_ECORRUPT, 5,
		                   "LeanVec state trained for metric %u, collection uses %u", st[5],
		                   (unsigned)v->metric);
	uint32_t dim = vl_ld32(st + 8);
	*rdim = vl_ld32(st + 12);
	if (dim != v->dim || *rdim == 0 || *rdim >= dim)
		return vl_diag_set(d, VL_ECORRUPT, 8, "LeanVec state: dim %u reduced to %u, expected dim %u",
		                   dim, *rdim, v->dim);
	if ((uint64_t)len != STATE_HEAD + 4 * ((uint64_t)dim + *rdim + (uint64_t)*rdim * dim))
		return vl_diag_set(d, VL_ECORRUPT, 12, "LeanVec state: %zu bytes, dims %u/%u need %llu",
		                   len, dim, *rdim,
		                   (unsigned long long)(STATE_HEAD + 4 * ((uint64_t)dim + *rdim +
		                                                          (uint64_t)*rdim * dim)));
	for (int i = 0; i < 2; i++) {
		int32_t e = (int32_t)vl_ld32(st + 16 + 4 * i);
		if (e < VL_LVQ_EXP_MIN || e > VL_LVQ_EXP_MAX)
			return vl_diag_set(d, VL_ECORRUPT, 16 + 4 * (uint64_t)i,
			                   "LeanVec state: exponent %d out of range", e);
	}
	return VL_OK;
}

static int lv_open(int id, vl_qview *v, const uint8_t *st, size_t len, vl_diag *d)
{
	uint32_t rdim = 0;
	int rc = check_state_head(id, v, st, len, &rdim, d);
	if (rc)
		return rc;
	uint32_t dim = v->dim;
	size_t nf = (size_t)dim + rdim + (size_t)rdim * dim;
	lv_view *s = calloc(1, sizeof *s);
	float *mem = vl_qalloc(nf * sizeof *mem);
	if (!s || !mem) {
		free(s);
		free(mem);
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	}
	for (size_t i = 0; i < nf; i++) {
		mem[i] = vl_ldf32(st + STATE_HEAD + 4 * i);
		if (!isfinite(mem[i])) {
			free(s);
			free(mem);
			return vl_diag_set(d, VL_ECORRUPT, STATE_HEAD + 4 * (uint64_t)i,
			                   "LeanVec state: value %zu is not finite", i);
		}
	}
	const float *proj = mem + dim + rdim;
	for (uint32_t i = 0; i < rdim; i++) {
		double nn = 0;
		for (uint32_t j = 0; j < dim; j++)
			nn += (double)proj[(size_t)i * dim + j] * proj[(size_t)i * dim + j];
		if (fabs(nn - 1) > 1e-3) {
			free(s);
			free(mem);
			return vl_diag_set(d, VL_ECORRUPT,
			                   STATE_HEAD + 4 * ((uint64_t)dim + rdim + (uint64_t)i * dim),
			                   "LeanVec state: projection row %u has squared norm %g, not 1", i, nn);
		}
	}
	s->k = vl_kern();
	s->dim = dim;
	s->rdim = rdim;
	s->mem = mem;
	s->mean = mem;
	s->rmean = mem + dim;
	s->proj = proj;
	vl_lvq_codec_init(&s->p, rdim, bits_of(id), 0, (int32_t)vl_ld32(st + 16), s->rmean);
	vl_lvq_codec_init(&s->s, dim, 8, 0, (int32_t)vl_ld32(st + 20), s->mean);
	s->qsize_p = vl_lvq_qsize(&s->p);
	v->state = s;
	v->pstride = s->p.pstride;
	v->sstride = s->s.pstride;
	v->qbuf_size = s->qsize_p + vl_lvq_qsize(&s->s);
	return VL_OK;
}

static void lv_close(vl_qview *v)
{
	lv_view *s = v->state;
	if (s)
		free(s->mem);
	free(s);
	v->state = NULL;
}

/* Two dim-float scratch vectors (x and its projection). */
static float *scratch2(const lv_view *s, float *stackbuf, size_t cap)
{
	size_t need = (size_t)s->dim + s->rdim;
	return need <= cap ? stackbuf : malloc(need * sizeof(float));
}

#define STACK_FLOATS 3072

static void lv_encode(const vl_qview *v, const float *x, uint8_t *primary, uint8_t *secondary)
{
	const lv_view *s = v->state;
	float buf[STACK_FLOATS];
	float *w = scratch2(s, buf, STACK_FLOATS);
	if (!w) {
		if (primary)
			memset(primary, 0, v->pstride);
		if (secondary)
			memset(secondary, 0, v->sstride);
		return;
	}
	float *y = w + s->dim;
	vl_qclean(x, s->dim, v->metric == VL_METRIC_COSINE, w);
	if (secondary)
		vl_lvq_encode(&s->s, w, secondary, NULL);
	if (primary) { /* the projection: skipped when only the secondary is wanted */
		for (uint32_t j = 0; j < s->dim; j++)
			w[j] -= s->mean[j];
		project(s->k, s->proj, s->rdim, s->dim, w, 1, y);
		vl_lvq_encode(&s->p, y, primary, NULL);
	}
	if (w != buf)
		free(w);
}

/* encode for n rows, ENC_BLOCK at a time: the projection of a block is one
 * pass over P. Row by row when the block buffer cannot be had. */
static void lv_encode_rows(const vl_qview *v, const float *x, size_t n, uint8_t *primary,
                           uint8_t *secondary)
{
	const lv_view *s = v->state;
	size_t dim = s->dim, rdim = s->rdim;
	float *w = n > 1 ? vl_qalloc((size_t)ENC_BLOCK * (dim + rdim) * sizeof *w) : NULL;
	if (!w) {
		for (size_t r = 0; r < n; r++)
			lv_encode(v, x + r * dim, primary ? primary + r * v->pstride : NULL,
			          secondary ? secondary + r * v->sstride : NULL);
		return;
	}
	float *y = w + (size_t)ENC_BLOCK * dim;
	int cos = v->metric == VL_METRIC_COSINE;
	for (size_t r0 = 0; r0 < n; r0 += ENC_BLOCK) {
		size_t nb = n - r0 < ENC_BLOCK ? n - r0 : ENC_BLOCK;
		for (size_t r = 0; r < nb; r++) {
			float *wr = w + r * dim;
			vl_qclean(x + (r0 + r) * dim, (uint32_t)dim, cos, wr);
			if (secondary)
				vl_lvq_encode(&s->s, wr, secondary + (r0 + r) * v->sstride, NULL);
			if (primary)
				for (size_t j = 0; j < dim; j++)
					wr[j] -= s->mean[j];
		}
		if (!primary)
			continue;
		project(s->k, s->proj, s->rdim, s->dim, w, nb, y);
		for (size_t r = 0; r < nb; r++)
			vl_lvq_encode(&s->p, y + r * rdim, primary + (r0 + r) * v->pstride, NULL);
	}
	free(w);
}

static void lv_decode(const vl_qview *v, uint64_t row, int with_secondary, float *out)
{
	const lv_view *s = v->state;
	if (with_secondary && v->secondary) {
		vl_lvq_decode(&s->s, v->secondary + row * v->sstride, NULL, out);
		return;
	}
	/* back-project the reduced reconstruction: mean + P^T y^ */
	float buf[STACK_FLOATS];
	float *y = s->rdim <= STACK_FLOATS ? buf : malloc((size_t)s->rdim * sizeof *y);
	if (!y) {
		memcpy(out, s->mean, (size_t)s->dim * sizeof *out);
		return;
	}
	vl_lvq_decode(&s->p, v->primary + row * v->pstride, NULL, y);
	for (uint32_t j = 0; j < s->dim; j++)
		out[j] = s->mean[j];
	for (uint32_t i = 0; i < s->rdim; i++) {
		const float *pr = s->proj + (size_t)i * s->dim;
		for (uint32_t j = 0; j < s->dim; j++)
			out[j] += y[i] * pr[j];
	}
	if (y != buf)
		free(y);
}

/* No allocation per query: the cleaned query is written into the secondary
 * query's float area, prepared there in place (becoming q - mean for l2),
 * and projected into the primary query's float area. */
static void lv_prepare(const vl_qview *v, const float *q, void *qbuf)
{
	const lv_view *s = v->state;
	int cos = v->metric == VL_METRIC_COSINE, l2 = v->metric == VL_METRIC_L2;
	vl_lvq_query *qs = (vl_lvq_query *)(void *)((uint8_t *)qbuf + s->qsize_p);
	float *w = vl_lvq_qfloats(&s->s, qs), *y = vl_lvq_qfloats(&s->p, qbuf);
	vl_qclean(q, s->dim, cos, w);
	double ws[4]; /* sum u, |u|^2, <q, mean>, max |u| */
	vl_lvq_prepare(&s->s, w, l2, cos ? 1.0f : 0.0f, qs, ws);
	/* w now holds q - mean (l2) or q (ip, cosine) */
	project(s->k, s->proj, s->rdim, s->dim, w, 1, y);
	if (l2) {
		/* the part of q - mean outside the subspace adds the same amount to
		 * every row's distance; keep it so primary distances estimate the
		 * true ones (comparable with other sources when merging) */
		double ys[4];
		s->k->lvq_center(y, NULL, 0, s->rdim, y, ys);
		double out2 = ws[1] - ys[1];
		vl_lvq_prepare(&s->p, y, 1, out2 > 0 ? (float)out2 : 0.0f, qbuf, NULL);
	} else {
		vl_lvq_prepare(&s->p, y, 0, (float)((cos ? 1.0 : 0.0) - ws[2]), qbuf, NULL);
	}
}

static float lv_dist(const vl_qview *v, const void *qbuf, uint64_t row)
{
	const lv_view *s = v->state;
	float out;
	s->k->lvq_scan(qbuf, v->primary + row * v->pstride, v->pstride, 1, &out);
	return out;
}

static void lv_dist_range(const vl_qview *v, const void *qbuf, uint64_t row0, size_t n, float *out)
{
	const lv_view *s = v->state;
	s->k->lvq_scan(qbuf, v->primary + row0 * v->pstride, v->pstride, n, out);
}

static void lv_dist_rows(const vl_qview *v, const void *qbuf, const uint32_t *rows, size_t n,
                         float *out)
{
	const lv_view *s = v->state;
	s->k->lvq_gather(qbuf, v->primary, v->pstride, rows, n, out);
}

/* Float distance to the full-dimension LVQ-8 row (simd.h lvq_rerank). */
static float lv_dist_secondary(const vl_qview *v, const void *qbuf, uint64_t row)
{
	const lv_view *s = v->state;
	const vl_lvq_query *qs = (const vl_lvq_query *)(const void *)((const uint8_t *)qbuf + s->qsize_p);
	uint32_t zero = 0;
	float out;
	s->k->lvq_rerank(qs, v->secondary + row * v->sstride, 0, NULL, 0, &zero, 1, &out);
	return out;
}

static void lv_dist_secondary_rows(const vl_qview *v, const void *qbuf, const uint32_t *rows,
                                   size_t n, float *out)
{
	const lv_view *s = v->state;
	const vl_lvq_query *qs = (const vl_lvq_query *)(const void *)((const uint8_t *)qbuf + s->qsize_p);
	s->k->lvq_rerank(qs, v->secondary, v->sstride, NULL, 0, rows, n, out);
}

#define LEANVEC_TYPE(sym, str, ID)                                                                \
	static int sym##_train(uint32_t dim, vl_metric metric, const char *const *params,         \
	                       size_t nparams, const float *rows, size_t n, uint8_t **state,       \
	                       size_t *state_len, vl_diag *d)                                      \
	{                                                                                         \
		return lv_train(ID, dim, metric, params, nparams, rows, n, state, state_len, d);  \
	}                                                                                         \
	static int sym##_open(vl_qview *v, const uint8_t *state, size_t state_len, vl_diag *d)    \
	{                                                                                         \
		return lv_open(ID, v, state, state_len, d);                                       \
	}                                                                                         \
	const vl_quant_ops vl_quant_##sym = {                                                     \
		.name = str,                                                                      \
		.id = ID,                                                                         \
		.check_param = lv_check_param,                                                    \
		.train = sym##_train,                                                             \
		.train_rows = lv_train_rows,                                                      \
		.open = sym##_open,                                                               \
		.close = lv_close,                                                                \
		.encode = lv_encode,                                                              \
		.decode = lv_decode,                                                              \
		.prepare = lv_prepare,                                                            \
		.dist = lv_dist,                                                                  \
		.dist_range = lv_dist_range,                                                      \
		.dist_rows = lv_dist_rows,                                                        \
		.dist_secondary = lv_dist_secondary,                                              \
		.dist_secondary_rows = lv_dist_secondary_rows,                                    \
		.encode_rows = lv_encode_rows,                                                    \
		.check_schema = lv_check_schema,                                                  \
	};

LEANVEC_TYPE(leanvec4x8, "leanvec4x8", VL_STORAGE_LEANVEC4X8)
LEANVEC_TYPE(leanvec8x8, "leanvec8x8", VL_STORAGE_LEANVEC8X8)
