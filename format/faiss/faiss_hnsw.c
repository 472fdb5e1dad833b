/*
 * faiss_hnsw.c - the HNSW block of IndexHNSW* files and graph accessors.
 *
 * Layout: vector<double> assign_probas, vector<int32> cum_nneighbor_per_level
 * ([0, 2M, 3M, ...]), vector<int32> levels (per node, 1 = base level only),
 * vector<u64> offsets (ntotal + 1), vector<int32> neighbors, then int32
 * entry_point, max_level, efConstruction, efSearch, upper_beam.
 * Level l of node i occupies neighbors[offsets[i] + cum[l], offsets[i] +
 * cum[l + 1]); unused slots are -1 and come after the used ones.
 *
 * The whole graph is validated here (O(size)), so a consumer converting it
 * (--keep-graph) can trust every offset and neighbour id.
 */
#include "faiss_internal.h"

static int32_t cum_at(const vl_faiss_hnsw *h, uint64_t l)
{
	return (int32_t)vl_ld32(h->cum + 4 * l);
}

static uint64_t offset_at(const vl_faiss_hnsw *h, uint64_t i)
{
	return vl_ld64(h->offsets + 8 * i);
}

static int check_cum(vl_fx_ctx *c, vl_faiss_hnsw *h, uint64_t off)
{
	if (h->ncum < 2)
		return vl_fx_err(c, off, "HNSW: cum_nneighbor_per_level has %llu entries, needs >= 2",
		                 (unsigned long long)h->ncum);
	if (cum_at(h, 0) != 0)
		return vl_fx_err(c, off, "HNSW: cum_nneighbor_per_level[0] = %d, expected 0",
		                 cum_at(h, 0));
	for (uint64_t l = 1; l < h->ncum; l++)
		if (cum_at(h, l) < cum_at(h, l - 1))
			return vl_fx_err(c, off, "HNSW: cum_nneighbor_per_level decreases at level %llu",
			                 (unsigned long long)l);
	h->M0 = cum_at(h, 1);
	h->M = h->ncum >= 3 ? cum_at(h, 2) - cum_at(h, 1) : h->M0 / 2;
	return 0;
}

static int check_levels(vl_fx_ctx *c, const vl_faiss_hnsw *h, uint64_t off)
{
	for (uint64_t i = 0; i < h->ntotal; i++) {
		int32_t lv = (int32_t)vl_ld32(h->levels + 4 * i);
		if (lv < 1 || (uint64_t)lv >= h->ncum)
			return vl_fx_err(c, off + 8 + 4 * i, "HNSW: node %llu has %d levels, valid 1..%llu",
			                 (unsigned long long)i, lv, (unsigned long long)(h->ncum - 1));
	}
	return 0;
}

static int check_offsets(vl_fx_ctx *c, const vl_faiss_hnsw *h, uint64_t off)
{
	if (offset_at(h, 0) != 0)
		return vl_fx_err(c, off + 8, "HNSW: offsets[0] = %llu, expected 0",
		                 (unsigned long long)offset_at(h, 0));
	for (uint64_t i = 0; i < h->ntotal; i++) {
		int32_t lv = (int32_t)vl_ld32(h->levels + 4 * i);
		uint64_t a = offset_at(h, i), b = offset_at(h, i + 1);
		if (b < a || b - a != (uint64_t)cum_at(h, (uint64_t)lv))
			return vl_fx_err(c, off + 8 + 8 * (i + 1),
			                 "HNSW: offsets[%llu] = %llu, node %llu with %d levels needs %d "
			                 "slots after offset %llu", (unsigned long long)(i + 1),
			                 (unsigned long long)b, (unsigned long long)i, lv,
			                 cum_at(h, (uint64_t)lv), (unsigned long long)a);
	}
	if (offset_at(h, h->ntotal) != h->nneighbors)
		return vl_fx_err(c, off + 8 + 8 * h->ntotal,
		                 "HNSW: offsets end at %llu but there are %llu neighbour slots",
		                 (unsigned long long)offset_at(h, h->ntotal),
		                 (unsigned long long)h->nneighbors);
	return 0;
}

static int check_neighbors(vl_fx_ctx *c, const vl_faiss_hnsw *h, uint64_t off)
{
	for (uint64_t k = 0; k < h->nneighbors; k++) {
		int32_t v = (int32_t)vl_ld32(h->neighbors + 4 * k);
		if (v < -1 || (v >= 0 && (uint64_t)v >= h->ntotal))
			return vl_fx_err(c, off + 8 + 4 * k, "HNSW: neighbour id %d outside 0..%lld", v,
			                 (long long)h->ntotal - 1);
	}
	return 0;
}

static int check_entry(vl_fx_ctx *c, const vl_faiss_hnsw *h, uint64_t off)
{
	if (h->ntotal == 0)
		return 0;
	if (h->entry_point < 0 || (uint64_t)h->entry_point >= h->ntotal)
		return vl_fx_err(c, off, "HNSW: entry_point %d outside 0..%llu", h->entry_point,
		                 (unsigned long long)(h->ntotal - 1));
	int32_t lv = (int32_t)vl_ld32(h->levels + 4 * (uint64_t)h->entry_point);
	if (h->max_level != lv - 1)
		return vl_fx_err(c, off + 4, "HNSW: max_level %d but the entry point has %d levels",
		                 h->max_level, lv);
	return 0;
}

int vl_fx_read_hnsw(vl_fx_ctx *c, vl_faiss_hnsw *h, uint64_t ntotal)
{
	uint64_t off_cum, off_lv, off_of, off_nb, off_ep;
	int rc;
	h->ntotal = ntotal;
	if ((rc = vl_fx_vector(c, 8, &h->assign_probas, &h->nprobas, "HNSW assign_probas")))
		return rc;
	off_cum = vl_fx_off(c);
	if ((rc = vl_fx_vector(c, 4, &h->cum, &h->ncum, "HNSW cum_nneighbor_per_level")) ||
	    (rc = check_cum(c, h, off_cum)))
		return rc;
	off_lv = vl_fx_off(c);
	if ((rc = vl_fx_vector_n(c, 4, ntotal, &h->levels, "HNSW levels")) ||
	    (rc = check_levels(c, h, off_lv)))
		return rc;
	off_of = vl_fx_off(c);
	/* ntotal + 1 cannot overflow: ntotal <= INT64_MAX */
	if ((rc = vl_fx_vector_n(c, 8, ntotal + 1, &h->offsets, "HNSW offsets")))
		return rc;
	off_nb = vl_fx_off(c);
	if ((rc = vl_fx_vector(c, 4, &h->neighbors, &h->nneighbors, "HNSW neighbors")))
		return rc;
	off_ep = vl_fx_off(c);
	if ((rc = vl_fx_i32(c, &h->entry_point, "HNSW entry_point")) ||
	    (rc = vl_fx_i32(c, &h->max_level, "HNSW max_level")) ||
	    (rc = vl_fx_i32(c, &h->efConstruction, "HNSW efConstruction")) ||
	    (rc = vl_fx_i32(c, &h->efSearch, "HNSW efSearch")) ||
	    (rc = vl_fx_i32(c, &h->upper_beam, "HNSW upper_beam")))
		return rc;
	if ((rc = check_offsets(c, h, off_of)) || (rc = check_neighbors(c, h, off_nb)) ||
	    (rc = check_entry(c, h, off_ep)))
		return rc;
	return 0;
}

int vl_faiss_hnsw_levels(const vl_faiss_hnsw *h, uint64_t node)
{
	if (node >= h->ntotal)
		return 0;
	return (int32_t)vl_ld32(h->levels + 4 * node);
}

uint32_t vl_faiss_hnsw_neighbors(const vl_faiss_hnsw *h, uint64_t node, int level,
                                 int32_t *out, uint32_t cap)
{
	if (level < 0 || level >= vl_faiss_hnsw_levels(h, node))
		return 0;
	uint64_t begin = offset_at(h, node) + (uint64_t)cum_at(h, (uint64_t)level);
	uint64_t end = offset_at(h, node) + (uint64_t)cum_at(h, (uint64_t)level + 1);
	uint32_t n = 0;
	for (uint64_t k = begin; k < end && n < cap; k++) {
		int32_t v = (int32_t)vl_ld32(h->neighbors + 4 * k);
		if (v < 0)
			break;
		out[n++] = v;
	}
	return n;
}
