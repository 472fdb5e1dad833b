/* qcommon.c - helpers shared by the storage types (see qcommon.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qcommon.h"
#include "simd/simd.h"

const char *vl_qparam(const char *const *params, size_t n, const char *name)
{
	size_t nl = strlen(name);
	const char *found = NULL;
	for (size_t i = 0; params && i < n; i++)
		if (params[i] && strncmp(params[i], name, nl) == 0 && params[i][nl] == '=')
			found = params[i] + nl + 1;
	return found;
}

int vl_qparam_parse_u32(const char *name, const char *value, uint32_t min, uint32_t max,
                        uint32_t *out, vl_diag *d)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (!*value || *value == '-' || *value == '+' || *end || errno || v < min || v > max)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "%s=%s: expected an integer in %u..%u",
		                   name, value, min, max);
	*out = (uint32_t)v;
	return VL_OK;
}

double vl_qclean(const float *x, uint32_t dim, int normalize, float *out)
{
	/* the kernels give every level the same bytes (simd.h) */
	const vl_kernels *k = vl_kern();
	double norm = sqrt(k->clean_f32(x, dim, out));
	if (normalize && norm > 0 && isfinite(norm))
		k->scale_f32(out, dim, 1.0 / norm);
	return norm;
}

void *vl_qalloc(size_t bytes)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, vl_qalign(bytes ? bytes : 1, 64)))
		return NULL;
	return p;
}
