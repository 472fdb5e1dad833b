/* qtype.c - see qtype.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qtest.h"
#include "qtype.h"
#include "segment.h"

int qt_store_build(qt_store *s, const char *type, vl_metric metric, const float *rows, size_t n,
                   uint32_t dim, size_t ntrain, const char *const *params, size_t nparams,
                   vl_diag *d)
{
	memset(s, 0, sizeof *s);
	const vl_quant_ops *ops = vl_quant_find(type);
	if (!ops)
		return vl_diag_set(d, VL_ENOTFOUND, VL_NO_OFFSET, "no storage type %s", type);
	if (ops->train) {
		int rc = ops->train(dim, metric, params, nparams, rows, ntrain < n ? ntrain : n, &s->state,
		                    &s->state_len, d);
		if (rc)
			return rc;
	}
	s->v.ops = ops;
	s->v.dim = dim;
	s->v.metric = metric;
	s->v.nrows = n;
	int rc = ops->open(&s->v, s->state, s->state_len, d);
	if (rc)
		return rc;
	s->norms = qt_alloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		double ss = 0;
		for (uint32_t j = 0; j < dim; j++)
			ss += (double)rows[i * dim + j] * rows[i * dim + j];
		s->norms[i] = (float)sqrt(ss);
	}
	if (ops->id == VL_STORAGE_FLOAT32) { /* the originals are the primary level */
		s->v.primary = (const uint8_t *)rows;
		s->v.norms = s->norms;
		return VL_OK;
	}
	s->primary = qt_alloc(n * s->v.pstride + 64);
	s->secondary = s->v.sstride ? qt_alloc(n * s->v.sstride + 64) : NULL;
	for (size_t i = 0; i < n; i++)
		ops->encode(&s->v, rows + i * dim, s->primary + i * s->v.pstride,
		            s->secondary ? s->secondary + i * s->v.sstride : NULL);
	s->v.primary = s->primary;
	s->v.secondary = s->secondary;
	s->v.norms = s->norms;
	return VL_OK;
}

void qt_store_free(qt_store *s)
{
	if (s->v.ops && s->v.ops->close)
		s->v.ops->close(&s->v);
	free(s->state);
	free(s->primary);
	free(s->secondary);
	free(s->norms);
	memset(s, 0, sizeof *s);
}
