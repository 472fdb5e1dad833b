/* params.c - parameter ownership and validation (see params.h). */
#include <string.h>

#include "io/rowread.h"
#include "params.h"

static int split(const char *kv, char *name, size_t cap, const char **value)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || (size_t)(eq - kv) >= cap)
		return -1;
	memcpy(name, kv, (size_t)(eq - kv));
	name[eq - kv] = 0;
	*value = eq + 1;
	return 0;
}

static int check_engine_coll(const char *kv, vl_diag *d)
{
	vl_params p = { &kv, 1 };
	uint64_t u;
	double f;
	if (vl_param_get(&p, "FLUSH_ROWS"))
		return vl_param_u64(&p, "FLUSH_ROWS", 0, 0, UINT32_MAX, &u, d);
	if (vl_param_get(&p, "FLUSH_BYTES"))
		return vl_param_u64(&p, "FLUSH_BYTES", 0, 0, UINT64_MAX, &u, d);
	if (vl_param_get(&p, "COMPACT_DEAD_RATIO"))
		return vl_param_f64(&p, "COMPACT_DEAD_RATIO", 0, 0, 1, &f, d);
	return VL_ENOTFOUND;
}

int vl_check_create_params(const vl_store *st, uint32_t dim, vl_metric metric,
                           const vl_quant_ops *qo, const vl_index_ops *io,
                           const char *const *kv, size_t n)
{
	vl_diag d;
	for (size_t i = 0; i < n; i++) {
		char name[128];
		const char *value;
		vl_diag_clear(&d);
		if (!kv[i] || split(kv[i], name, sizeof name, &value) || strlen(kv[i]) > VL_PARAM_LEN_MAX)
			return vl_fail(st, VL_EINVAL, "parameter '%s' is not of the form NAME=VALUE",
			               kv[i] ? kv[i] : "(null)");
		int rc = check_engine_coll(kv[i], &d);
		if (rc == VL_ENOTFOUND)
			rc = qo->check_param(name, value, dim, &d);
		if (rc == VL_ENOTFOUND)
			rc = io->check_param(name, value, dim, metric, &d);
		if (rc == VL_ENOTFOUND)
			return vl_fail(st, VL_EINVAL,
			               "unknown parameter %s (not a collection, '%s' storage or '%s' index parameter)",
			               name, qo->name, io->name);
		if (rc)
			return d.code ? vl_fail_diag(st, &d) : vl_fail(st, rc, "parameter %s", kv[i]);
	}
	/* some types fit only some dims (LeanVec: 2..4096, REDUCE < dim) */
	vl_diag_clear(&d);
	if (qo->check_schema && qo->check_schema(dim, metric, kv, n, &d))
		return d.code ? vl_fail_diag(st, &d) : vl_fail(st, VL_EINVAL, "storage %s does not fit dim %u", qo->name, dim);
	return VL_OK;
}

static int check_engine_runtime(const char *kv, vl_diag *d)
{
	vl_params p = { &kv, 1 };
	uint64_t u;
	double f;
	if (vl_param_get(&p, "RERANK"))
		return vl_param_u64(&p, "RERANK", 0, 0, 1u << 20, &u, d);
	if (vl_param_get(&p, "EXACT_BELOW"))
		return vl_param_f64(&p, "EXACT_BELOW", 0, 0, 1, &f, d);
	const char *io = vl_param_get(&p, "RERANK_IO");
	if (io) {
		if (strcmp(io, "mmap") && strcmp(io, "pread") && strcmp(io, "uring"))
			return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
			                   "parameter RERANK_IO=%s: expected mmap, pread or uring", io);
		return VL_OK;
	}
	const char *w = vl_param_get(&p, "RERANK_WITH");
	if (w) {
		if (strcmp(w, "auto") && strcmp(w, "none") && strcmp(w, "secondary") && strcmp(w, "full"))
			return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
			                   "parameter RERANK_WITH=%s: expected auto, none, secondary or full", w);
		return VL_OK;
	}
	return VL_ENOTFOUND;
}

int vl_check_runtime_params(const vl_store *st, const vl_index_ops *io, const char *const *kv,
                            size_t n)
{
	vl_diag d;
	for (size_t i = 0; i < n; i++) {
		char name[128];
		const char *value;
		vl_diag_clear(&d);
		if (!kv[i] || split(kv[i], name, sizeof name, &value))
			return vl_fail(st, VL_EINVAL, "parameter '%s' is not of the form NAME=VALUE",
			               kv[i] ? kv[i] : "(null)");
		int rc = check_engine_runtime(kv[i], &d);
		if (rc == VL_ENOTFOUND)
			rc = io->check_runtime_param(name, value, &d);
		if (rc == VL_ENOTFOUND)
			return vl_fail(st, VL_EINVAL, "unknown search parameter %s for a '%s' index", name,
			               io->name);
		if (rc)
			return d.code ? vl_fail_diag(st, &d) : vl_fail(st, rc, "parameter %s", kv[i]);
	}
	return VL_OK;
}

void vl_policy_of(const vl_schema_rec *s, vl_policy *p)
{
	vl_params pp = { (const char *const *)s->params, s->nparams };
	/* values were validated when the schema was written */
	vl_param_u64(&pp, "FLUSH_ROWS", 0, 0, UINT64_MAX, &p->flush_rows, NULL);
	vl_param_u64(&pp, "FLUSH_BYTES", VL_FLUSH_BYTES_DEFAULT, 0, UINT64_MAX, &p->flush_bytes, NULL);
	vl_param_f64(&pp, "COMPACT_DEAD_RATIO", VL_COMPACT_RATIO_DEFAULT, 0, 1, &p->compact_ratio, NULL);
}

int vl_runtime_of(const vl_store *st, const char *const *kv, size_t n, vl_runtime *rt)
{
	vl_params p = { kv, n };
	vl_diag d;
	vl_diag_clear(&d);
	uint64_t u;
	if (vl_param_u64(&p, "RERANK", 0, 0, 1u << 20, &u, &d) ||
	    vl_param_f64(&p, "EXACT_BELOW", VL_EXACT_BELOW_DEFAULT, 0, 1, &rt->exact_below, &d))
		return vl_fail_diag(st, &d);
	rt->rerank = (uint32_t)u;
	const char *io = vl_param_get(&p, "RERANK_IO");
	rt->rerank_io = !io || !strcmp(io, "mmap") ? VL_ROWIO_MMAP : !strcmp(io, "pread") ? VL_ROWIO_PREAD : VL_ROWIO_URING;
	const char *w = vl_param_get(&p, "RERANK_WITH");
	rt->rerank_with = !w || !strcmp(w, "auto") ? VL_RERANK_AUTO
	                  : !strcmp(w, "none")     ? VL_RERANK_NONE
	                  : !strcmp(w, "full")     ? VL_RERANK_FULL
	                                           : VL_RERANK_SECONDARY;
	return VL_OK;
}
