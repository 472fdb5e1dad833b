/* registry.c - the list of index kinds, and parameter-list helpers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

/* Adding an index kind: implement vl_index_ops in index/<kind>.c, list it here. */
static const vl_index_ops *const registry[] = {
	&vl_index_flat,
	&vl_index_vamana,
	&vl_index_hnsw,
	&vl_index_ivf,
};

#define NKINDS (sizeof registry / sizeof registry[0])

const vl_index_ops *vl_index_find(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

const vl_index_ops *vl_index_by_id(int id)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (registry[i]->id == id)
			return registry[i];
	return NULL;
}

const char *vl_index_default(uint32_t dim)
{
	(void)dim;
	return "vamana";
}

const char *vl_param_get(const vl_params *p, const char *name)
{
	size_t nl = strlen(name);
	const char *found = NULL;
	for (size_t i = 0; p && i < p->n; i++) {
		const char *kv = p->kv[i];
		if (strncmp(kv, name, nl) == 0 && kv[nl] == '=')
			found = kv + nl + 1;
	}
	return found;
}

int vl_params_has_name(const char *const *kv, size_t n, const char *name_value)
{
	const char *eq = strchr(name_value, '=');
	size_t nl = eq ? (size_t)(eq - name_value) : strlen(name_value);
	for (size_t i = 0; i < n; i++)
		if (kv[i] && strncmp(kv[i], name_value, nl) == 0 && kv[i][nl] == '=')
			return 1;
	return 0;
}

int vl_param_u64(const vl_params *p, const char *name, uint64_t def, uint64_t min, uint64_t max,
                 uint64_t *out, vl_diag *d)
{
	const char *v = vl_param_get(p, name);
	if (!v) {
		*out = def;
		return VL_OK;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || x < min || x > max)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "parameter %s=%s: expected an integer in %llu..%llu", name, v,
		                   (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return VL_OK;
}

int vl_param_f64(const vl_params *p, const char *name, double def, double min, double max,
                 double *out, vl_diag *d)
{
	const char *v = vl_param_get(p, name);
	if (!v) {
		*out = def;
		return VL_OK;
	}
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(x) || x < min || x > max)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "parameter %s=%s: expected a number in %g..%g", name, v, min, max);
	*out = x;
	return VL_OK;
}
