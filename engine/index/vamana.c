/*
 * vamana.c - the Vamana graph index (DiskANN; Redis's SVS-VAMANA): ops table,
 * parameters, and the view over its two sections in a mapped segment.
 *
 * The graph lives in the segment as fixed-degree uint32 rows, so an opened
 * store searches straight from the mapping with no rebuild. open() checks
 * sizes and the entry id; neighbour ids are bounds-checked as they are
 * traversed (vamana_search.c), and verify() walks every row.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vamana.h"
#include "vl_bytes.h"

/* ---- parameters ---------------------------------------------------------- */

static int is_similarity(vl_metric m) { return m == VL_METRIC_IP || m == VL_METRIC_COSINE; }

static int parse_precision(const vl_params *p, int compressed, int *full, vl_diag *d)
{
	const char *v = vl_param_get(p, VAM_P_PREC);
	*full = !compressed;
	if (!v)
		return VL_OK;
	if (strcmp(v, "primary") == 0)
		*full = 0;
	else if (strcmp(v, "full") == 0)
		*full = 1;
	else
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "parameter " VAM_P_PREC "=%s: expected primary or full", v);
	return VL_OK;
}

int vam_parse_params(const vl_params *p, vl_metric metric, int compressed, vam_params *out,
                     vl_diag *d)
{
	uint64_t r, l, c, sw, sb;
	double a;
	int rc;
	int sim = is_similarity(metric);
	/* alpha > 1 keeps longer edges for distances; for similarities (ip,
	 * cosine) the same slack is alpha < 1 (see vamana_build.c, occludes()) */
	if ((rc = vl_param_u64(p, VAM_P_R, VAM_DEF_R, 2, VAM_MAX_R, &r, d)) ||
	    (rc = vl_param_u64(p, VAM_P_L, VAM_DEF_L, 1, VAM_MAX_WINDOW, &l, d)) ||
	    (rc = vl_param_u64(p, VAM_P_MAXC, VAM_DEF_MAXC, 1, 1u << 20, &c, d)) ||
	    (rc = vl_param_u64(p, VAM_P_SW, VAM_DEF_SW, 1, VAM_MAX_WINDOW, &sw, d)) ||
	    (rc = vl_param_u64(p, VAM_P_SB, 0, 1, VAM_MAX_WINDOW, &sb, d)) ||
	    (rc = parse_precision(p, compressed, &out->full_precision, d)))
		return rc;
	if (sim)
		rc = vl_param_f64(p, VAM_P_ALPHA, VAM_DEF_ALPHA_SIM, 0.5, 1.0, &a, d);
	else
		rc = vl_param_f64(p, VAM_P_ALPHA, VAM_DEF_ALPHA_L2, 1.0, 4.0, &a, d);
	if (rc) {
		vl_diag_prefix(d, "%s metric", sim ? "for the ip/cosine" : "for the l2");
		return rc;
	}
	out->R = (uint32_t)r;
	out->L = (uint32_t)l;
	/* the pool must be able to fill a row */
	out->maxc = c < r ? (uint32_t)r : (uint32_t)c;
	out->alpha = a;
	out->search_window = (uint32_t)sw;
	out->search_buffer = (uint32_t)sb;
	return VL_OK;
}

static const char *const build_names[] = { VAM_P_R, VAM_P_L, VAM_P_ALPHA, VAM_P_MAXC,
	                                         VAM_P_PREC, VAM_P_SW, VAM_P_SB };

static int one_param(const char *name, const char *value, vl_params *p, char *kv, size_t len)
{
	int n = snprintf(kv, len, "%s=%s", name, value);
	if (n < 0 || (size_t)n >= len)
		return VL_EINVAL;
	p->n = 1;
	return VL_OK;
}

static int vam_check_param(const char *name, const char *value, uint32_t dim, vl_metric metric,
                           vl_diag *d)
{
	size_t i;
	for (i = 0; i < sizeof build_names / sizeof build_names[0]; i++)
		if (strcmp(name, build_names[i]) == 0)
			break;
	if (i == sizeof build_names / sizeof build_names[0])
		return VL_ENOTFOUND;
	char kv[256];
	const char *kvs[1] = { kv };
	vl_params p = { kvs, 0 };
	if (one_param(name, value, &p, kv, sizeof kv))
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "parameter %s: value too long", name);
	vam_params out;
	return vam_parse_params(&p, metric, 1, &out, d);
}

static int vam_check_runtime_param(const char *name, const char *value, vl_diag *d)
{
	if (strcmp(name, VAM_P_SW) != 0 && strcmp(name, VAM_P_SB) != 0)
		return VL_ENOTFOUND;
	char kv[256];
	const char *kvs[1] = { kv };
	vl_params p = { kvs, 0 };
	if (one_param(name, value, &p, kv, sizeof kv))
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "parameter %s: value too long", name);
	uint64_t v;
	return vl_param_u64(&p, name, 0, 1, VAM_MAX_WINDOW, &v, d);
}

static const char *const defaults_l2[] = {
	VAM_P_R "=32", VAM_P_L "=200", VAM_P_ALPHA "=1.2", VAM_P_MAXC "=750", VAM_P_SW "=10", NULL,
};
static const char *const defaults_sim[] = {
	VAM_P_R "=32", VAM_P_L "=200", VAM_P_ALPHA "=0.95", VAM_P_MAXC "=750", VAM_P_SW "=10", NULL,
};

static const char *const *vam_defaults(uint32_t dim, vl_metric metric)
{
	return is_similarity(metric) ? defaults_sim : defaults_l2;
}

/* ---- sections ------------------------------------------------------------ */

static int bad(vl_diag *d, const vl_index_seg *seg, uint64_t off, const char *what)
{
	return vl_diag_set(d, VL_ECORRUPT, off, "%s: vamana index: %s", seg->path ? seg->path : "segment",
	                   what);
}

static int decode_meta(const vl_index_seg *seg, vam_state *s, vl_diag *d)
{
	const vl_seg_section *sec = vl_seg_find(seg->layout, VL_SEC_VAMANA_META, 0);
	if (!sec)
		return bad(d, seg, VL_NO_OFFSET, "meta section is missing");
	const uint8_t *m = seg->base + sec->offset;
	if (sec->length != VAM_META_BYTES || memcmp(m, VAM_MAGIC, 8) != 0)
		return bad(d, seg, sec->offset, "meta section has a bad size or magic");
	if (vl_ld32(m + 8) != VAM_VERSION)
		return vl_diag_set(d, VL_EVERSION, sec->offset + 8, "%s: vamana index version %u is unknown",
		                   seg->path ? seg->path : "segment", vl_ld32(m + 8));
	uint64_t n = vl_ld64(m + 16);
	uint32_t R = vl_ld32(m + 24), entry = vl_ld32(m + 28);
	if (vl_ld32(m + 12) != VAM_META_BYTES || n != seg->nrows)
		return bad(d, seg, sec->offset + 12, "meta does not match the segment");
	if (R < 1 || R > VAM_MAX_R || n >= VAM_MAX_ROWS)
		return bad(d, seg, sec->offset + 24, "degree or row count out of range");
	if (n && entry >= n)
		return bad(d, seg, sec->offset + 28, "entry node out of range");
	s->g.n = n;
	s->g.R = R;
	s->g.entry = entry;
	s->edges = vl_ld64(m + 32);
	s->alpha = vl_ldf32(m + 40);
	s->build_window = vl_ld32(m + 44);
	s->max_pool = vl_ld32(m + 48);
	s->search_window = vl_ld32(m + 52);
	s->search_buffer = vl_ld32(m + 56);
	s->metric = m[60];
	s->precision = m[61];
	s->origin = m[63];
	if (s->search_window < 1 || s->search_window > VAM_MAX_WINDOW)
		s->search_window = VAM_DEF_SW;
	if (s->search_buffer > VAM_MAX_WINDOW)
		s->search_buffer = 0;
	if (s->edges > n * R)
		return bad(d, seg, sec->offset + 32, "edge count exceeds the adjacency size");
	return VL_OK;
}

static void free_scratch(void *sc) { vam_scratch_free(sc); }

static int vam_open(const vl_index_seg *seg, void **state, vl_diag *d)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET,
	                   "vamana: searching the mapped adjacency needs a little-endian host");
#endif
	vam_state *s = calloc(1, sizeof *s);
	if (!s)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	int rc = decode_meta(seg, s, d);
	if (rc)
		goto fail;
	const vl_seg_section *adj = vl_seg_find(seg->layout, VL_SEC_VAMANA_ADJ, 0);
	if (!adj) {
		rc = bad(d, seg, VL_NO_OFFSET, "adjacency section is missing");
		goto fail;
	}
	if (adj->row_stride != (uint64_t)s->g.R * 4 || adj->length != s->g.n * s->g.R * 4) {
		rc = bad(d, seg, adj->offset, "adjacency section size does not match the degree");
		goto fail;
	}
	if (seg->layout->h.metric != s->metric) {
		rc = bad(d, seg, VL_NO_OFFSET, "graph was built for another metric");
		goto fail;
	}
	s->g.adj = (const uint32_t *)(const void *)(seg->base + adj->offset);
	s->q = seg->q;
	s->vectors = seg->vectors;
	if (vl_spool_init(&s->scratch, free_scratch) != VL_OK) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "pthread_mutex_init failed");
		goto fail;
	}
	*state = s;
	return VL_OK;
fail:
	free(s);
	return rc;
}

static void vam_close(void *state)
{
	vam_state *s = state;
	if (!s)
		return;
	vl_spool_destroy(&s->scratch);
	free(s);
}

/* Degree <= R with padding only after the last neighbour, ids < n, no self
 * loops, no duplicates, and the edge count of the meta section. */
static int vam_verify(void *state, vl_diag *d)
{
	const vam_state *s = state;
	const vam_graph *g = &s->g;
	uint64_t edges = 0;
	for (uint64_t v = 0; v < g->n; v++) {
		const uint32_t *row = g->adj + v * g->R;
		uint32_t deg = 0;
		while (deg < g->R && row[deg] != VAM_PAD)
			deg++;
		for (uint32_t j = deg; j < g->R; j++)
			if (row[j] != VAM_PAD)
				return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
				                   "vamana: node %" PRIu64 " has a neighbour after an empty slot", v);
		for (uint32_t j = 0; j < deg; j++) {
			if (row[j] >= g->n || row[j] == v)
				return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
				                   "vamana: node %" PRIu64 " has an invalid neighbour id %u", v,
				                   row[j]);
			for (uint32_t i = 0; i < j; i++)
				if (row[i] == row[j])
					return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
					                   "vamana: node %" PRIu64 " lists neighbour %u twice", v,
					                   row[j]);
		}
		edges += deg;
	}
	if (edges != s->edges)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "vamana: %" PRIu64 " edges found, meta says %" PRIu64, edges, s->edges);
	return VL_OK;
}

static void vam_describe(void *state, char *buf, size_t len)
{
	const vam_state *s = state;
	static const char *const origins[] = { "build", "rebuild", "full-rebuild" };
	snprintf(buf, len, "R=%u entry=%u avg_degree=%.1f alpha=%.3g L=%u window=%u precision=%s origin=%s",
	         s->g.R, s->g.entry, s->g.n ? (double)s->edges / (double)s->g.n : 0.0, s->alpha,
	         s->build_window, s->search_window, s->precision ? "full" : "primary",
	         s->origin < 3 ? origins[s->origin] : "?");
}

const vl_index_ops vl_index_vamana = {
	.name = "vamana",
	.id = VL_INDEX_VAMANA,
	.check_param = vam_check_param,
	.check_runtime_param = vam_check_runtime_param,
	.defaults = vam_defaults,
	.build = vam_build,
	.rebuild = vam_rebuild,
	.open = vam_open,
	.close = vam_close,
	.search = vam_search,
	.verify = vam_verify,
	.describe = vam_describe,
};
