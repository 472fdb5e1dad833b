/*
 * faiss_vectors.c - the vectors of a parsed FAISS index, decoded as FAISS's
 * reconstruct() does, with their ids and how exact they are.
 *
 * Row r of an index is its r-th stored vector: for Flat / SQ / PQ / HNSW
 * the r-th added, for IVF the r-th entry walking the lists in list order.
 * Ids: an IndexIDMap maps its inner index's id to the external id; IVF lists
 * store ids; otherwise the id is the row number.
 */
#include <stdlib.h>
#include <string.h>

#include "faiss_internal.h"

#define CC(s) VL_FAISS_FOURCC((s)[0], (s)[1], (s)[2], (s)[3])

/* ------------------------------------------------------------------ */
/* Describing the chain                                                 */
/* ------------------------------------------------------------------ */

typedef struct walk {
	vl_faiss_vecinfo *vi;
	int input;          /* reverse the transforms */
	vl_diag *d;
} walk;

static void worsen(vl_faiss_vecinfo *vi, vl_faiss_exactness e, const char *why)
{
	if (e > vi->exactness || !vi->why) {
		vi->exactness = e > vi->exactness ? e : vi->exactness;
		vi->why = why;
	}
}

static int storage_info(walk *w, const vl_faiss_node *n)
{
	vl_faiss_vecinfo *vi = w->vi;
	vi->storage = n;
	switch (n->kind) {
	case VL_FAISS_FLAT:
	case VL_FAISS_IVF_FLAT:
		worsen(vi, VL_FAISS_EXACT, "float32 vectors stored verbatim");
		break;
	case VL_FAISS_SQ:
	case VL_FAISS_IVF_SQ:
		worsen(vi, VL_FAISS_APPROX, "scalar-quantizer codes: decoded values approximate the "
		       "originals");
		break;
	case VL_FAISS_PQ:
	case VL_FAISS_IVF_PQ:
		worsen(vi, VL_FAISS_APPROX, "product-quantizer codes: decoded values approximate the "
		       "originals");
		break;
	default:
		break;
	}
	if (vl_fx_is_ivf_kind(n->kind)) {
		if (n->ivf.invlists_fourcc == CC("il00") && n->ntotal > 0)
			return vl_diag_set(w->d, VL_EUNSUPPORTED, n->offset,
			                   "the IVF index was written without its inverted lists "
			                   "('il00'): it holds no vectors");
		if (n->ivf.invlists_fourcc == CC("ilod") && !n->ivf.ondisk_attached &&
		    n->ivf.nonempty > 0)
			return vl_diag_set(w->d, VL_EINVAL, n->offset,
			                   "the IVF index keeps its lists in the on-disk data file '%s', "
			                   "which is not attached", n->ivf.ondisk_filename);
		if (!vi->ids_kind)
			vi->ids_kind = 2;
		/* centroid buffer for residual decoding */
		if (n->ivf.by_residual)
			vi->scratch_floats += (uint32_t)n->d;
	}
	return 0;
}

static int describe(walk *w, const vl_faiss_node *n, uint32_t *dim)
{
	vl_faiss_vecinfo *vi = w->vi;
	int rc;
	switch (n->kind) {
	case VL_FAISS_IDMAP:
	case VL_FAISS_IDMAP2:
		if (!vi->idmap)
			vi->idmap = n;
		vi->ids_kind = 1;
		return describe(w, n->child, dim);
	case VL_FAISS_PRETRANSFORM: {
		if (!vi->pretransform)
			vi->pretransform = n;
		uint32_t inner;
		if ((rc = describe(w, n->child, &inner)))
			return rc;
		if (!w->input || n->ntransforms == 0) {
			*dim = inner;
			if (n->ntransforms > 0)
				worsen(vi, VL_FAISS_TRANSFORMED, "vectors left in the transformed space "
				       "of the index (its transforms are not undone)");
			return 0;
		}
		uint32_t maxd = 0;
		for (int32_t i = 0; i < n->ntransforms; i++) {
			const vl_faiss_transform *t = &n->transforms[i];
			char s[20];
			if (!t->reversible)
				return vl_diag_set(w->d, VL_EUNSUPPORTED, t->offset,
				                   "transform '%s' cannot be reversed (FAISS's "
				                   "reconstruct() cannot either): read the vectors in the "
				                   "stored space", vl_faiss_fourcc_str(t->fourcc, s));
			if (!t->lossless)
				worsen(vi, VL_FAISS_PROJECTED, "a transform drops information: vectors are "
				       "projected back to the input space");
			else if (t->kind != VL_FAISS_XF_REMAP)
				worsen(vi, VL_FAISS_APPROX, "a reversed transform: float rounding");
			if ((uint32_t)t->d_in > maxd)
				maxd = (uint32_t)t->d_in;
			if ((uint32_t)t->d_out > maxd)
				maxd = (uint32_t)t->d_out;
		}
		vi->scratch_floats += 2 * maxd;
		*dim = (uint32_t)n->d;
		return 0;
	}
	case VL_FAISS_HNSW_FLAT:
	case VL_FAISS_HNSW_SQ:
	case VL_FAISS_HNSW_PQ:
		if (!vi->hnsw)
			vi->hnsw = n;
		if (!n->child)
			return vl_diag_set(w->d, VL_EUNSUPPORTED, n->offset,
			                   "the HNSW index has no storage ('null'): it holds no vectors");
		*dim = (uint32_t)n->d;
		return storage_info(w, n->child);
	default:
		*dim = (uint32_t)n->d;
		return storage_info(w, n);
	}
}

/* Every transform on the chain can be undone without loss. */
static int all_lossless(const vl_faiss_node *n)
{
	for (; n; n = n->kind == VL_FAISS_IDMAP || n->kind == VL_FAISS_IDMAP2 ||
	              n->kind == VL_FAISS_PRETRANSFORM ? n->child : NULL)
		if (n->kind == VL_FAISS_PRETRANSFORM)
			for (int32_t i = 0; i < n->ntransforms; i++)
				if (!n->transforms[i].lossless)
					return 0;
	return 1;
}

int vl_faiss_vectors(const vl_faiss_index *ix, vl_faiss_space space, vl_faiss_vecinfo *vi,
                     vl_diag *d)
{
	vl_diag_clear(d);
	memset(vi, 0, sizeof *vi);
	const vl_faiss_node *root = ix->root;
	if (space == VL_FAISS_SPACE_AUTO)
		space = all_lossless(root) ? VL_FAISS_SPACE_INPUT : VL_FAISS_SPACE_STORED;
	if (space != VL_FAISS_SPACE_INPUT && space != VL_FAISS_SPACE_STORED)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "unknown vector space %d", (int)space);
	walk w = { vi, space == VL_FAISS_SPACE_INPUT, d };
	uint32_t dim = 0;
	int rc = describe(&w, root, &dim);
	if (rc)
		return rc;
	vi->count = (uint64_t)root->ntotal;
	vi->dim = dim;
	vi->input_dim = (uint32_t)root->d;
	vi->metric_type = root->metric_type;
	vi->metric_arg = root->metric_arg;
	vi->space = space;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Decoding rows                                                        */
/* ------------------------------------------------------------------ */

static int get_row(const vl_faiss_node *n, uint64_t row, int input, float *out, int64_t *id,
                   float *scratch, vl_diag *d);

static int get_ivf_row(const vl_faiss_node *n, uint64_t row, float *out, int64_t *id,
                       float *scratch, vl_diag *d)
{
	const vl_faiss_ivf *ivf = &n->ivf;
	const vl_faiss_list *L = vl_fx_ivf_find(ivf, row);
	if (!L || !L->codes)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "IVF row %llu is not available",
		                   (unsigned long long)row);
	uint64_t pos = row - L->first_row;
	const uint8_t *code = L->codes + pos * ivf->code_size;
	*id = (int64_t)vl_ld64(L->ids + 8 * pos);
	if (n->kind == VL_FAISS_IVF_FLAT) {
		memcpy(out, code, ivf->code_size);
		return 0;
	}
	if (n->kind == VL_FAISS_IVF_SQ)
		vl_fx_sq_decode(&n->sq, code, out);
	else
		vl_fx_pq_decode(&n->pq, code, out);
	if (!ivf->by_residual)
		return 0;
	/* the code holds x - centroid(list): add the centroid back, in float */
	float *centroid = scratch;
	int64_t ignored;
	int rc = get_row(n->child, L->list_no, 0, centroid, &ignored, scratch + n->d, d);
	if (rc)
		return rc;
	for (int32_t i = 0; i < n->d; i++)
		out[i] = out[i] + centroid[i];
	return 0;
}

static int get_pretransform_row(const vl_faiss_node *n, uint64_t row, int input, float *out,
                                int64_t *id, float *scratch, vl_diag *d)
{
	if (!input || n->ntransforms == 0)
		return get_row(n->child, row, input, out, id, scratch, d);
	uint32_t maxd = 0;
	for (int32_t i = 0; i < n->ntransforms; i++) {
		if ((uint32_t)n->transforms[i].d_in > maxd)
			maxd = (uint32_t)n->transforms[i].d_in;
		if ((uint32_t)n->transforms[i].d_out > maxd)
			maxd = (uint32_t)n->transforms[i].d_out;
	}
	float *y = scratch, *x = scratch + maxd;
	int rc = get_row(n->child, row, input, y, id, scratch + 2 * maxd, d);
	if (rc)
		return rc;
	for (int32_t i = n->ntransforms - 1; i >= 0; i--) {
		vl_fx_transform_reverse(&n->transforms[i], y, x);
		float *t = y;
		y = x;
		x = t;
	}
	memcpy(out, y, (size_t)n->d * sizeof *out);
	return 0;
}

static int get_row(const vl_faiss_node *n, uint64_t row, int input, float *out, int64_t *id,
                   float *scratch, vl_diag *d)
{
	switch (n->kind) {
	case VL_FAISS_FLAT:
		memcpy(out, n->data + row * 4 * (uint64_t)n->d, 4 * (size_t)n->d);
		*id = (int64_t)row;
		return 0;
	case VL_FAISS_SQ:
		vl_fx_sq_decode(&n->sq, n->data + row * n->sq.code_size, out);
		*id = (int64_t)row;
		return 0;
	case VL_FAISS_PQ:
		vl_fx_pq_decode(&n->pq, n->data + row * n->pq.code_size, out);
		*id = (int64_t)row;
		return 0;
	case VL_FAISS_HNSW_FLAT:
	case VL_FAISS_HNSW_SQ:
	case VL_FAISS_HNSW_PQ:
		if (!n->child)
			return vl_diag_set(d, VL_EUNSUPPORTED, n->offset, "HNSW index without storage");
		return get_row(n->child, row, input, out, id, scratch, d);
	case VL_FAISS_IVF_FLAT:
	case VL_FAISS_IVF_SQ:
	case VL_FAISS_IVF_PQ:
		return get_ivf_row(n, row, out, id, scratch, d);
	case VL_FAISS_IDMAP:
	case VL_FAISS_IDMAP2: {
		int64_t inner;
		int rc = get_row(n->child, row, input, out, &inner, scratch, d);
		if (rc)
			return rc;
		if (inner < 0 || inner >= n->ntotal)
			return vl_diag_set(d, VL_EFORMAT, n->offset,
			                   "IndexIDMap: inner id %lld of row %llu has no entry in the "
			                   "id map (%lld entries)", (long long)inner,
			                   (unsigned long long)row, (long long)n->ntotal);
		*id = (int64_t)vl_ld64(n->ids + 8 * (uint64_t)inner);
		return 0;
	}
	case VL_FAISS_PRETRANSFORM:
		return get_pretransform_row(n, row, input, out, id, scratch, d);
	}
	return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "internal: unknown node kind");
}

int vl_faiss_read(const vl_faiss_index *ix, const vl_faiss_vecinfo *vi, uint64_t first,
                  uint64_t n, float *out, int64_t *ids, vl_diag *d)
{
	vl_diag_clear(d);
	if (first > vi->count || n > vi->count - first)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "rows %llu..+%llu outside 0..%llu",
		                   (unsigned long long)first, (unsigned long long)n,
		                   (unsigned long long)vi->count);
	float *scratch = NULL;
	if (vi->scratch_floats) {
		scratch = malloc((size_t)vi->scratch_floats * sizeof *scratch);
		if (!scratch)
			return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	}
	int input = vi->space == VL_FAISS_SPACE_INPUT;
	int rc = 0;
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		int64_t id;
		rc = get_row(ix->root, first + i, input, out + i * vi->dim, &id, scratch, d);
		if (ids)
			ids[i] = id;
	}
	free(scratch);
	return rc;
}
