/*
 * lvq.c - the LVQ storage types: lvq8, lvq4 (one level) and lvq4x4, lvq4x8,
 * lvq8x8 (two levels; the residual codes are the SECONDARY section).
 *
 * Trained state (QUANT section, little-endian, 32 + 4 * dim bytes):
 *   0  "VLQ1"   4  storage id   5  metric   6  bits1   7  bits2 (0: one level)
 *   8  u32 dim  12 i32 exp (constants are halves in units of 2^exp)
 *   16 u64 rows the state was trained on   24 8 zero bytes
 *   32 f32 mean[dim]
 * PRIMARY row: level-1 codes (lvq.h layout) + 16-byte trailer; SECONDARY
 * row: level-2 codes. Cosine encodes x/|x| and searches by inner product.
 * One-level types have no dist_secondary: re-ranking uses the originals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lvq.h"
#include "qcommon.h"
#include "segment.h"
#include "vl_bytes.h"

#define STATE_MAGIC "VLQ1"
#define STATE_HEAD 32
#define TRAIN_DEFAULT VL_QUANT_TRAINING_DEFAULT
#define TRAIN_MAX 102399u      /* Redis: less than 100 * DEFAULT_BLOCK_SIZE (1024) */
#define STACK_DIM 2048

typedef struct lvq_view {
	const vl_kernels *k;
	vl_lvq_codec c;
	float *mean;               /* owned copy of the trained mean */
} lvq_view;

static void lvq_bits(int id, uint32_t *b1, uint32_t *b2)
{
	switch (id) {
	case VL_STORAGE_LVQ8: *b1 = 8, *b2 = 0; break;
	case VL_STORAGE_LVQ4: *b1 = 4, *b2 = 0; break;
	case VL_STORAGE_LVQ4X4: *b1 = 4, *b2 = 4; break;
	case VL_STORAGE_LVQ4X8: *b1 = 4, *b2 = 8; break;
	default: *b1 = 8, *b2 = 8; break; /* lvq8x8 */
	}
}

int vl_quant_check_training_param(const char *name, const char *value, vl_diag *d)
{
	uint32_t v;
	if (strcmp(name, "TRAINING_THRESHOLD"))
		return VL_ENOTFOUND;
	return vl_qparam_parse_u32(name, value, 1, TRAIN_MAX, &v, d);
}

static int lvq_check_param(const char *name, const char *value, uint32_t dim, vl_diag *d)
{
	return vl_quant_check_training_param(name, value, d);
}

size_t vl_quant_training_rows(const char *const *params, size_t nparams)
{
	const char *v = vl_qparam(params, nparams, "TRAINING_THRESHOLD");
	uint32_t n;
	if (v && vl_qparam_parse_u32("TRAINING_THRESHOLD", v, 1, TRAIN_MAX, &n, NULL) == VL_OK)
		return n;
	return TRAIN_DEFAULT;
}

static size_t lvq_train_rows(uint32_t dim, const char *const *params, size_t nparams)
{
	return vl_quant_training_rows(params, nparams);
}

/* A dim-float scratch row: on the stack when small. */
typedef struct scratch {
	float stack[STACK_DIM];
	float *p;
} scratch;

static float *scratch_get(scratch *s, uint32_t dim)
{
	s->p = dim <= STACK_DIM ? s->stack : malloc((size_t)dim * sizeof(float));
	return s->p;
}

static void scratch_put(scratch *s)
{
	if (s->p != s->stack)
		free(s->p);
}

/* Check TRAINING_THRESHOLD if the list has it (train() may be called with
 * the collection's parameters straight from a file). */
int vl_quant_check_train_params(const char *const *params, size_t nparams, vl_diag *d)
{
	const char *v = vl_qparam(params, nparams, "TRAINING_THRESHOLD");
	return v ? vl_quant_check_training_param("TRAINING_THRESHOLD", v, d) : VL_OK;
}

int vl_quant_train_mean(const float *rows, size_t n, uint32_t dim, int normalize, float *mean,
                        double *absmax)
{
	double *sum = calloc(dim, sizeof *sum);
	scratch sc;
	float *x = scratch_get(&sc, dim);
	if (!sum || !x) {
		free(sum);
		scratch_put(&sc);
		return VL_ENOMEM;
	}
	for (size_t r = 0; r < n; r++) {
		vl_qclean(rows + r * dim, dim, normalize, x);
		for (uint32_t j = 0; j < dim; j++)
			sum[j] += x[j];
	}
	for (uint32_t j = 0; j < dim; j++)
		mean[j] = n ? (float)(sum[j] / (double)n) : 0.0f;
	double amax = 0;
	for (size_t r = 0; r < n; r++) {
		vl_qclean(rows + r * dim, dim, normalize, x);
		double m = vl_lvq_absmax(x, dim, mean);
		amax = m > amax ? m : amax;
	}
	*absmax = amax;
	free(sum);
	scratch_put(&sc);
	return VL_OK;
}

static int lvq_train(int id, uint32_t dim, vl_metric metric, const char *const *params,
                     size_t nparams, const float *rows, size_t n, uint8_t **state,
                     size_t *state_len, vl_diag *d)
{
	int rc = vl_quant_check_train_params(params, nparams, d);
	if (rc)
		return rc;
	if (dim == 0)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "dim must be positive");
	size_t len = STATE_HEAD + (size_t)dim * 4;
	uint8_t *st = calloc(1, len);
	float *mean = malloc((size_t)dim * sizeof *mean);
	double amax = 0;
	if (!st || !mean ||
	    vl_quant_train_mean(rows, n, dim, metric == VL_METRIC_COSINE, mean, &amax)) {
		free(st);
		free(mean);
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	}
	uint32_t b1, b2;
	lvq_bits(id, &b1, &b2);
	memcpy(st, STATE_MAGIC, 4);
	st[4] = (uint8_t)id;
	st[5] = (uint8_t)metric;
	st[6] = (uint8_t)b1;
	st[7] = (uint8_t)b2;
	vl_st32(st + 8, dim);
	vl_st32(st + 12, (uint32_t)vl_lvq_exp_for(amax));
	vl_st64(st + 16, n);
	for (uint32_t j = 0; j < dim; j++)
		vl_stf32(st + STATE_HEAD + 4 * (size_t)j, mean[j]);
	free(mean);
	*state = st;
	*state_len = len;
	return VL_OK;
}

static int lvq_open(int id, vl_qview *v, const uint8_t *state, size_t state_len, vl_diag *d)
{
	uint32_t b1, b2;
	lvq_bits(id, &b1, &b2);
	if (v->dim == 0)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "dim must be positive");
	if (!state || state_len < STATE_HEAD || memcmp(state, STATE_MAGIC, 4))
		return vl_diag_set(d, VL_ECORRUPT, 0, "LVQ state: bad magic or %zu bytes", state_len);
	if (state[4] != id || state[6] != b1 || state[7] != b2)
		return vl_diag_set(d, VL_ECORRUPT, 4, "LVQ state is for storage %u (%u/%u bits), not %s",
		                   state[4], state[6], state[7], v->ops ? v->ops->name : "this type");
	if (state[5] != (uint8_t)v->metric)
		return vl_diag_set(d, VL_ECORRUPT, 5, "LVQ state trained for metric %u, collection uses %u",
		                   state[5], (unsigned)v->metric);
	uint32_t dim = vl_ld32(state + 8);
	int32_t exp = (int32_t)vl_ld32(state + 12);
	if (dim != v->dim || (size_t)state_len != STATE_HEAD + (size_t)dim * 4)
		return vl_diag_set(d, VL_ECORRUPT, 8, "LVQ state: dim %u / %zu bytes, expected dim %u",
		                   dim, state_len, v->dim);
	if (exp < VL_LVQ_EXP_MIN || exp > VL_LVQ_EXP_MAX)
		return vl_diag_set(d, VL_ECORRUPT, 12, "LVQ state: exponent %d out of range", exp);
	if (vl_ld64(state + 24))
		return vl_diag_set(d, VL_ECORRUPT, 24, "LVQ state: reserved bytes not zero");
	lvq_view *s = calloc(1, sizeof *s);
	float *mean = malloc((size_t)dim * sizeof *mean);
	if (!s || !mean) {
		free(s);
		free(mean);
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	}
	for (uint32_t j = 0; j < dim; j++) {
		mean[j] = vl_ldf32(state + STATE_HEAD + 4 * (size_t)j);
		if (!isfinite(mean[j])) {
			free(s);
			free(mean);
			return vl_diag_set(d, VL_ECORRUPT, STATE_HEAD + 4 * (uint64_t)j,
			                   "LVQ state: mean[%u] is not finite", j);
		}
	}
	s->k = vl_kern();
	s->mean = mean;
	vl_lvq_codec_init(&s->c, dim, b1, b2, exp, mean);
	v->state = s;
	v->pstride = s->c.pstride;
	v->sstride = s->c.sstride;
	v->qbuf_size = vl_lvq_qsize(&s->c);
	v->qbuf_scan = sizeof(vl_lvq_query) + s->c.qcode_bytes; /* header + integer query */
	return VL_OK;
}

static void lvq_close(vl_qview *v)
{
	lvq_view *s = v->state;
	if (s)
		free(s->mean);
	free(s);
	v->state = NULL;
}

static void lvq_encode(const vl_qview *v, const float *x, uint8_t *primary, uint8_t *secondary)
{
	const lvq_view *s = v->state;
	scratch sc;
	float *y = scratch_get(&sc, v->dim);
	if (!y) { /* cannot happen below STACK_DIM; keep the rows defined */
		if (primary)
			memset(primary, 0, v->pstride);
		if (secondary)
			memset(secondary, 0, v->sstride);
		return;
	}
	vl_qclean(x, v->dim, v->metric == VL_METRIC_COSINE, y);
	/* the residual needs the level-1 codes: a scratch primary row when the
	 * caller wants only the secondary */
	uint8_t stackrow[1024];
	uint8_t *p = primary ? primary
	             : v->pstride <= sizeof stackrow ? stackrow
	                                             : malloc(v->pstride);
	if (p && (primary || secondary))
		vl_lvq_encode(&s->c, y, p, secondary);
	else if (secondary)
		memset(secondary, 0, v->sstride);
	if (p != primary && p != stackrow)
		free(p);
	scratch_put(&sc);
}

static void lvq_decode(const vl_qview *v, uint64_t row, int with_secondary, float *out)
{
	const lvq_view *s = v->state;
	const uint8_t *sec = with_secondary && v->secondary && v->sstride
	                         ? v->secondary + row * v->sstride
	                         : NULL;
	vl_lvq_decode(&s->c, v->primary + row * v->pstride, sec, out);
}

static void lvq_prepare(const vl_qview *v, const float *q, void *qbuf)
{
	const lvq_view *s = v->state;
	int cos = v->metric == VL_METRIC_COSINE;
	/* the cleaned query goes straight into the buffer's float area, which
	 * vl_lvq_prepare transforms in place: no allocation per query */
	float *w = vl_lvq_qfloats(&s->c, qbuf);
	vl_qclean(q, v->dim, cos, w);
	vl_lvq_prepare(&s->c, w, v->metric == VL_METRIC_L2, cos ? 1.0f : 0.0f, qbuf, NULL);
}

static float lvq_dist(const vl_qview *v, const void *qbuf, uint64_t row)
{
	const lvq_view *s = v->state;
	float out;
	s->k->lvq_scan(qbuf, v->primary + row * v->pstride, v->pstride, 1, &out);
	return out;
}

static void lvq_dist_range(const vl_qview *v, const void *qbuf, uint64_t row0, size_t n, float *out)
{
	const lvq_view *s = v->state;
	s->k->lvq_scan(qbuf, v->primary + row0 * v->pstride, v->pstride, n, out);
}

static void lvq_dist_rows(const vl_qview *v, const void *qbuf, const uint32_t *rows, size_t n,
                          float *out)
{
	const lvq_view *s = v->state;
	s->k->lvq_gather(qbuf, v->primary, v->pstride, rows, n, out);
}

/* The two-level reconstruction in float (simd.h lvq_rerank); without a
 * SECONDARY section, level 1 alone. */
static float lvq_dist_secondary(const vl_qview *v, const void *qbuf, uint64_t row)
{
	const lvq_view *s = v->state;
	uint32_t zero = 0;
	float out;
	s->k->lvq_rerank(qbuf, v->primary + row * v->pstride, 0,
	                 v->secondary ? v->secondary + row * v->sstride : NULL, 0, &zero, 1, &out);
	return out;
}

static void lvq_dist_secondary_rows(const vl_qview *v, const void *qbuf, const uint32_t *rows,
                                    size_t n, float *out)
{
	const lvq_view *s = v->state;
	s->k->lvq_rerank(qbuf, v->primary, v->pstride, v->secondary, v->sstride, rows, n, out);
}

#define LVQ_TYPE(sym, str, ID, SECONDARY, ROWS)                                                   \
	static int sym##_train(uint32_t dim, vl_metric metric, const char *const *params,         \
	                       size_t nparams, const float *rows, size_t n, uint8_t **state,       \
	                       size_t *state_len, vl_diag *d)                                      \
	{                                                                                         \
		return lvq_train(ID, dim, metric, params, nparams, rows, n, state, state_len, d); \
	}                                                                                         \
	static int sym##_open(vl_qview *v, const uint8_t *state, size_t state_len, vl_diag *d)    \
	{                                                                                         \
		return lvq_open(ID, v, state, state_len, d);                                      \
	}                                                                                         \
	const vl_quant_ops vl_quant_##sym = {                                                     \
		.name = str,                                                                      \
		.id = ID,                                                                         \
		.check_param = lvq_check_param,                                                   \
		.train = sym##_train,                                                             \
		.train_rows = lvq_train_rows,                                                     \
		.open = sym##_open,                                                               \
		.close = lvq_close,                                                               \
		.encode = lvq_encode,                                                             \
		.decode = lvq_decode,                                                             \
		.prepare = lvq_prepare,                                                           \
		.dist = lvq_dist,                                                                 \
		.dist_range = lvq_dist_range,                                                     \
		.dist_rows = lvq_dist_rows,                                                       \
		.dist_secondary = SECONDARY,                                                      \
		.dist_secondary_rows = ROWS,                                                      \
	};

LVQ_TYPE(lvq8, "lvq8", VL_STORAGE_LVQ8, NULL, NULL)
LVQ_TYPE(lvq4, "lvq4", VL_STORAGE_LVQ4, NULL, NULL)
LVQ_TYPE(lvq4x4, "lvq4x4", VL_STORAGE_LVQ4X4, lvq_dist_secondary, lvq_dist_secondary_rows)
LVQ_TYPE(lvq4x8, "lvq4x8", VL_STORAGE_LVQ4X8, lvq_dist_secondary, lvq_dist_secondary_rows)
LVQ_TYPE(lvq8x8, "lvq8x8", VL_STORAGE_LVQ8X8, lvq_dist_secondary, lvq_dist_secondary_rows)
