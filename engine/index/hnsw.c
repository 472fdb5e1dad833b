/*
 * hnsw.c - the HNSW index (Malkov & Yashunin; Redis's HNSW, hnswlib's
 * semantics): ops table, parameters, and the view over its sections in a
 * mapped segment.
 *
 * The layers live in the segment (fixed-size layer-0 rows, compact upper
 * lists), so an opened store searches straight from the mapping with no
 * load step. open() checks the meta record, every section size and the
 * upper-layer table (O(nodes above layer 0)); neighbour ids are
 * bounds-checked as they are traversed (hnsw_search.c) and verify() walks
 * every list.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hnsw.h"
#include "vl_bytes.h"

/* ---- parameters ---------------------------------------------------------- */

int hnsw_parse_params(const vl_params *p, hnsw_params *out, vl_diag *d)
{
	uint64_t m, efc, ef;
	int rc;
	if ((rc = vl_param_u64(p, HNSW_P_M, HNSW_DEF_M, HNSW_MIN_M, HNSW_MAX_M, &m, d)) ||
	    (rc = vl_param_u64(p, HNSW_P_EFC, HNSW_DEF_EFC, 1, HNSW_MAX_EF, &efc, d)) ||
	    (rc = vl_param_u64(p, HNSW_P_EF, HNSW_DEF_EF, 1, HNSW_MAX_EF, &ef, d)))
		return rc;
	out->M = (uint32_t)m;
	out->efc = (uint32_t)efc;
	out->ef = (uint32_t)ef;
	return VL_OK;
}

static int one_param(const char *name, const char *value, vl_params *p, char *kv, size_t len)
{
	int n = snprintf(kv, len, "%s=%s", name, value);
	if (n < 0 || (size_t)n >= len)
		return VL_EINVAL;
	p->n = 1;
	return VL_OK;
}

static int check_one(const char *name, const char *value, vl_diag *d)
{
	char kv[256];
	const char *kvs[1] = { kv };
	vl_params p = { kvs, 0 };
	if (one_param(name, value, &p, kv, sizeof kv))
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "parameter %s: value too long", name);
	hnsw_params out;
	return hnsw_parse_params(&p, &out, d);
}

static int hnsw_check_param(const char *name, const char *value, uint32_t dim, vl_metric metric,
                            vl_diag *d)
{
	if (strcmp(name, HNSW_P_M) && strcmp(name, HNSW_P_EFC) && strcmp(name, HNSW_P_EF))
		return VL_ENOTFOUND;
	return check_one(name, value, d);
}

static int hnsw_check_runtime_param(const char *name, const char *value, vl_diag *d)
{
	if (strcmp(name, HNSW_P_EF))
		return VL_ENOTFOUND;
	return check_one(name, value, d);
}

static const char *const hnsw_defaults_list[] = {
	HNSW_P_M "=16", HNSW_P_EFC "=200", HNSW_P_EF "=10", NULL,
};

static const char *const *hnsw_defaults(uint32_t dim, vl_metric metric)
{
	return hnsw_defaults_list;
}

/* ---- levels -------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint32_t hnsw_level(uint64_t seed, uint64_t node, uint32_t M)
{
	uint64_t r = mix64(mix64(seed ^ 0x484e5357ull) + node);
	/* u in (0, 1]: 53 random bits, never 0 */
	double u = ((double)(r >> 11) + 1.0) * (1.0 / 9007199254740992.0);
	double lvl = -log(u) / log((double)M);
	if (!(lvl >= 0))
		lvl = 0;
	uint32_t l = lvl >= HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (uint32_t)lvl;
	return l;
}

/* ---- sections ------------------------------------------------------------ */

uint64_t hnsw_upper_list(const hnsw_state *s, uint32_t node, uint32_t level)
{
	uint64_t lo = 0, hi = s->n_upper;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		uint32_t v = vl_ld32(s->upper + mid * HNSW_UPPER_ENTRY);
		if (v < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= s->n_upper)
		return UINT64_MAX;
	const uint8_t *e = s->upper + lo * HNSW_UPPER_ENTRY;
	if (vl_ld32(e) != node || level < 1 || level > vl_ld32(e + 4))
		return UINT64_MAX;
	return vl_ld64(e + 8) + (uint64_t)(level - 1) * (s->M + 1);
}

static int bad(vl_diag *d, const vl_index_seg *seg, uint64_t off, const char *what)
{
	return vl_diag_set(d, VL_ECORRUPT, off, "%s: hnsw index: %s", seg->path ? seg->path : "segment",
	                   what);
}

static int decode_meta(const vl_index_seg *seg, hnsw_state *s, vl_diag *d)
{
	const vl_seg_section *sec = vl_seg_find(seg->layout, VL_SEC_HNSW_META, 0);
	if (!sec)
		return bad(d, seg, VL_NO_OFFSET, "meta section is missing");
	const uint8_t *m = seg->base + sec->offset;
	if (sec->length != HNSW_META_BYTES || memcmp(m, HNSW_MAGIC, 8) != 0)
		return bad(d, seg, sec->offset, "meta section has a bad size or magic");
	if (vl_ld32(m + 8) != HNSW_VERSION)
		return vl_diag_set(d, VL_EVERSION, sec->offset + 8, "%s: hnsw index version %u is unknown",
		                   seg->path ? seg->path : "segment", vl_ld32(m + 8));
	if (vl_ld32(m + 12) != HNSW_META_BYTES || vl_ld64(m + 16) != seg->nrows)
		return bad(d, seg, sec->offset + 12, "meta does not match the segment");
	s->n = vl_ld64(m + 16);
	s->M = vl_ld32(m + 24);
	s->M0 = vl_ld32(m + 28);
	s->efc = vl_ld32(m + 32);
	s->ef = vl_ld32(m + 36);
	s->entry = vl_ld32(m + 40);
	s->max_level = vl_ld32(m + 44);
	s->n_upper = vl_ld64(m + 48);
	s->upper_words = vl_ld64(m + 56);
	s->edges0 = vl_ld64(m + 64);
	s->edges_upper = vl_ld64(m + 72);
	s->seed = vl_ld64(m + 80);
	s->metric = m[88];
	if (s->M < HNSW_MIN_M || s->M > HNSW_MAX_M || s->M0 < s->M || s->M0 > 2 * HNSW_MAX_M)
		return bad(d, seg, sec->offset + 24, "degree bounds out of range");
	if (s->n >= UINT32_MAX)
		return bad(d, seg, sec->offset + 16, "row count out of range");
	if (s->n && s->entry >= s->n)
		return bad(d, seg, sec->offset + 40, "entry node out of range");
	if (s->max_level > HNSW_MAX_LEVEL)
		return bad(d, seg, sec->offset + 44, "max level out of range");
	if (s->n_upper > s->n)
		return bad(d, seg, sec->offset + 48, "more upper-layer nodes than rows");
	if (s->upper_words > s->n_upper * HNSW_MAX_LEVEL * (uint64_t)(s->M + 1))
		return bad(d, seg, sec->offset + 56, "upper-layer word count out of range");
	if (s->ef < 1 || s->ef > HNSW_MAX_EF)
		s->ef = HNSW_DEF_EF;
	if (seg->layout->h.metric != s->metric)
		return bad(d, seg, sec->offset + 88, "layers were built for another metric");
	return VL_OK;
}

static const vl_seg_section *need(const vl_index_seg *seg, uint32_t kind, uint64_t len,
                                  const char *what, vl_diag *d)
{
	const vl_seg_section *sec = vl_seg_find(seg->layout, kind, 0);
	if (!sec) {
		vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s: hnsw index: %s section is missing",
		            seg->path ? seg->path : "segment", what);
		return NULL;
	}
	if (sec->length != len) {
		vl_diag_set(d, VL_ECORRUPT, sec->offset,
		            "%s: hnsw index: %s section holds %" PRIu64 " bytes, expected %" PRIu64,
		            seg->path ? seg->path : "segment", what, sec->length, len);
		return NULL;
	}
	return sec;
}

/* The upper table: ascending nodes < n, levels 1..max_level, each list
 * starting where the previous node's lists end, all inside LINKS; the
 * entry has the top level. */
static int check_upper(const vl_index_seg *seg, const hnsw_state *s, uint64_t sec_off, vl_diag *d)
{
	uint64_t want = 0;
	int64_t prev = -1;
	int entry_ok = s->max_level == 0;
	for (uint64_t i = 0; i < s->n_upper; i++) {
		const uint8_t *e = s->upper + i * HNSW_UPPER_ENTRY;
		uint32_t node = vl_ld32(e), lvl = vl_ld32(e + 4);
		uint64_t off = vl_ld64(e + 8);
		uint64_t at = sec_off + i * HNSW_UPPER_ENTRY;
		if ((int64_t)node <= prev || node >= s->n)
			return bad(d, seg, at, "upper-layer table is not ascending node ids below nrows");
		if (lvl < 1 || lvl > s->max_level)
			return bad(d, seg, at + 4, "upper-layer node level out of range");
		if (off != want)
			return bad(d, seg, at + 8, "upper-layer list offset is not contiguous");
		want += (uint64_t)lvl * (s->M + 1);
		if (want > s->upper_words)
			return bad(d, seg, at + 8, "upper-layer lists run past the links section");
		if (node == s->entry && lvl == s->max_level)
			entry_ok = 1;
		prev = node;
	}
	if (want != s->upper_words)
		return bad(d, seg, sec_off, "upper-layer lists do not fill the links section");
	if (!entry_ok)
		return bad(d, seg, sec_off, "entry node is not on the top level");
	return VL_OK;
}

static void free_scratch(void *sc) { hnsw_scratch_free(sc); }

static int hnsw_open(const vl_index_seg *seg, void **state, vl_diag *d)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET,
	                   "hnsw: searching the mapped layers needs a little-endian host");
#endif
	hnsw_state *s = calloc(1, sizeof *s);
	if (!s)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	int rc = decode_meta(seg, s, d);
	if (rc)
		goto fail;
	const vl_seg_section *l0, *up, *ln;
	rc = VL_ECORRUPT;
	if (!(l0 = need(seg, VL_SEC_HNSW_L0, s->n * (s->M0 + 1) * 4, "layer-0", d)) ||
	    !(up = need(seg, VL_SEC_HNSW_UPPER, s->n_upper * HNSW_UPPER_ENTRY, "upper-table", d)) ||
	    !(ln = need(seg, VL_SEC_HNSW_LINKS, s->upper_words * 4, "upper-links", d)))
		goto fail;
	s->l0 = (const uint32_t *)(const void *)(seg->base + l0->offset);
	s->upper = seg->base + up->offset;
	s->links = (const uint32_t *)(const void *)(seg->base + ln->offset);
	if ((rc = check_upper(seg, s, up->offset, d)))
		goto fail;
	s->q = seg->q;
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

static void hnsw_close(void *state)
{
	hnsw_state *s = state;
	if (!s)
		return;
	vl_spool_destroy(&s->scratch);
	free(s);
}

/* One list: degree <= cap, ids < n, no self loops or duplicates, padding
 * after the used slots; upper-layer neighbours must live on that level. */
static int verify_list(const hnsw_state *s, const uint32_t *list, uint32_t cap, uint32_t node,
                       uint32_t level, uint64_t *edges, vl_diag *d)
{
	uint32_t deg = list[0];
	if (deg > cap)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "hnsw: node %u level %u has degree %u > %u", node, level, deg, cap);
	for (uint32_t j = 0; j < deg; j++) {
		uint32_t id = list[1 + j];
		if (id >= s->n || id == node)
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
			                   "hnsw: node %u level %u has an invalid neighbour id %u", node,
			                   level, id);
		if (level && hnsw_upper_list(s, id, level) == UINT64_MAX)
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
			                   "hnsw: node %u level %u links to node %u, which is not on that level",
			                   node, level, id);
		for (uint32_t i = 0; i < j; i++)
			if (list[1 + i] == id)
				return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
				                   "hnsw: node %u level %u lists neighbour %u twice", node, level, id);
	}
	for (uint32_t j = deg; j < cap; j++)
		if (list[1 + j] != HNSW_PAD)
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
			                   "hnsw: node %u level %u has a non-empty slot after its degree", node,
			                   level);
	*edges += deg;
	return VL_OK;
}

static int hnsw_verify(void *state, vl_diag *d)
{
	const hnsw_state *s = state;
	uint64_t e0 = 0, eu = 0;
	int rc;
	for (uint64_t v = 0; v < s->n; v++)
		if ((rc = verify_list(s, s->l0 + v * (s->M0 + 1), s->M0, (uint32_t)v, 0, &e0, d)))
			return rc;
	for (uint64_t i = 0; i < s->n_upper; i++) {
		const uint8_t *e = s->upper + i * HNSW_UPPER_ENTRY;
		uint32_t node = vl_ld32(e), lvl = vl_ld32(e + 4);
		uint64_t off = vl_ld64(e + 8);
		for (uint32_t l = 1; l <= lvl; l++)
			if ((rc = verify_list(s, s->links + off + (uint64_t)(l - 1) * (s->M + 1), s->M, node,
			                      l, &eu, d)))
				return rc;
	}
	if (e0 != s->edges0 || eu != s->edges_upper)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "hnsw: %" PRIu64 "+%" PRIu64 " edges found, meta says %" PRIu64
		                   "+%" PRIu64,
		                   e0, eu, s->edges0, s->edges_upper);
	return VL_OK;
}

static void hnsw_describe(void *state, char *buf, size_t len)
{
	const hnsw_state *s = state;
	snprintf(buf, len,
	         "M=%u M0=%u ef_construction=%u ef_runtime=%u levels=%u entry=%u upper_nodes=%" PRIu64
	         " avg_degree0=%.1f",
	         s->M, s->M0, s->efc, s->ef, s->max_level + 1, s->entry, s->n_upper,
	         s->n ? (double)s->edges0 / (double)s->n : 0.0);
}

/* ---- graph read access (export) ------------------------------------------ */

static void hnsw_graph_info(void *state, vl_graph_info *out)
{
	const hnsw_state *s = state;
	out->M = s->M;
	out->M0 = s->M0;
	out->entry = s->n ? s->entry : 0;
	out->max_level = s->n ? s->max_level : 0;
	out->ef_construction = s->efc;
	out->ef_runtime = s->ef;
	out->nodes = s->n;
}

static uint32_t hnsw_graph_level(void *state, uint32_t row)
{
	const hnsw_state *s = state;
	uint64_t lo = 0, hi = s->n_upper;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (vl_ld32(s->upper + mid * HNSW_UPPER_ENTRY) < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n_upper && vl_ld32(s->upper + lo * HNSW_UPPER_ENTRY) == row)
		return vl_ld32(s->upper + lo * HNSW_UPPER_ENTRY + 4);
	return 0;
}

/* As search reads them: the degree clamped to the level's cap, ids outside
 * the segment skipped (open() validated the upper table; lists are not). */
static uint32_t hnsw_graph_neighbors(void *state, uint32_t row, uint32_t level, uint32_t *out,
                                     uint32_t cap)
{
	const hnsw_state *s = state;
	const uint32_t *list;
	uint32_t bound;
	if (row >= s->n)
		return 0;
	if (level == 0) {
		list = s->l0 + (uint64_t)row * (s->M0 + 1);
		bound = s->M0;
	} else {
		uint64_t off = hnsw_upper_list(s, row, level);
		if (off == UINT64_MAX)
			return 0;
		list = s->links + off;
		bound = s->M;
	}
	uint32_t deg = list[0] < bound ? list[0] : bound, n = 0;
	for (uint32_t j = 0; j < deg && n < cap; j++)
		if (list[1 + j] < s->n)
			out[n++] = list[1 + j];
	return n;
}

const vl_index_ops vl_index_hnsw = {
	.name = "hnsw",
	.id = VL_INDEX_HNSW,
	.check_param = hnsw_check_param,
	.check_runtime_param = hnsw_check_runtime_param,
	.defaults = hnsw_defaults,
	.build = hnsw_build,
	.rebuild = NULL,
	.open = hnsw_open,
	.close = hnsw_close,
	.search = hnsw_search,
	.verify = hnsw_verify,
	.describe = hnsw_describe,
	.adopt = hnsw_adopt,
	.graph_info = hnsw_graph_info,
	.graph_level = hnsw_graph_level,
	.graph_neighbors = hnsw_graph_neighbors,
};
