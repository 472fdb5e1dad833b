/*
 * faiss_read.c - the FAISS index chain: common header, fourcc dispatch and
 * the wrapper types (Flat, IDMap/IDMap2, PreTransform, SQ, PQ, HNSW).
 * IVF types are in faiss_ivf.c, the codecs and blocks in their own files.
 *
 * Every object is fourcc + common header + its fields; nested indexes are
 * written by the same routine, so the parser recurses (depth-limited).
 */
#include <stdlib.h>
#include <string.h>

#include "faiss_internal.h"

#define CC(s) VL_FAISS_FOURCC((s)[0], (s)[1], (s)[2], (s)[3])

static int known_metric(int32_t m)
{
	return (m >= 0 && m <= 4) || (m >= 20 && m <= 25);
}

int vl_fx_read_header(vl_fx_ctx *c, vl_faiss_node *n)
{
	uint64_t off = vl_fx_off(c);
	uint64_t ntotal, dummy;
	int rc;
	if ((rc = vl_fx_i32(c, &n->d, "index header d")) ||
	    (rc = vl_fx_u64(c, &ntotal, "index header ntotal")) ||
	    (rc = vl_fx_u64(c, &dummy, "index header")) ||
	    (rc = vl_fx_u64(c, &dummy, "index header")) ||
	    (rc = vl_fx_bool(c, &n->is_trained, "index header is_trained")) ||
	    (rc = vl_fx_i32(c, &n->metric_type, "index header metric_type")))
		return rc;
	if (n->d <= 0 || n->d > VL_FAISS_DIM_MAX)
		return vl_fx_err(c, off, "index header: dimension d = %d is out of range 1..%d",
		                 n->d, VL_FAISS_DIM_MAX);
	if (ntotal > INT64_MAX)
		return vl_fx_err(c, off + 4, "index header: ntotal = %lld is negative",
		                 (long long)ntotal);
	n->ntotal = (int64_t)ntotal;
	if (!known_metric(n->metric_type))
		return vl_fx_err(c, off + 29, "index header: unknown metric_type %d",
		                 n->metric_type);
	if (n->metric_type > 1)
		return vl_fx_f32(c, &n->metric_arg, "index header metric_arg");
	return 0;
}

void vl_fx_node_free(vl_faiss_node *n)
{
	if (!n)
		return;
	vl_fx_node_free(n->child);
	vl_fx_ivf_free(&n->ivf);
	free(n->transforms);
	free(n);
}

/* The nested index a wrapper needs (FAISS writes "null" for none). */
static int read_child(vl_fx_ctx *c, vl_faiss_node *n, const char *role, int allow_null)
{
	uint64_t off = vl_fx_off(c);
	int rc = vl_fx_read_index(c, &n->child, role);
	if (rc)
		return rc;
	if (!n->child) {
		if (allow_null)
			return 0;
		return vl_fx_err(c, off, "%s: missing ('null')", role);
	}
	if (n->child->d != n->d && n->kind != VL_FAISS_PRETRANSFORM)
		return vl_fx_err(c, off, "%s: d = %d but the enclosing index has d = %d", role,
		                 n->child->d, n->d);
	if (n->child->ntotal != n->ntotal)
		return vl_fx_err(c, off, "%s: ntotal = %lld but the enclosing index has %lld",
		                 role, (long long)n->child->ntotal, (long long)n->ntotal);
	return 0;
}

static int read_flat(vl_fx_ctx *c, vl_faiss_node *n)
{
	uint64_t want;
	if (!vl_fx_mul((uint64_t)n->ntotal, (uint64_t)n->d, &want))
		return vl_fx_err(c, vl_fx_off(c), "IndexFlat: ntotal x d overflows");
	/* The "xb vector" counts floats, not bytes. */
	return vl_fx_vector_n(c, 4, want, &n->data, "IndexFlat vectors");
}

static int read_idmap(vl_fx_ctx *c, vl_faiss_node *n)
{
	int rc = read_child(c, n, "IndexIDMap inner index", 0);
	if (rc)
		return rc;
	return vl_fx_vector_n(c, 8, (uint64_t)n->ntotal, &n->ids, "IndexIDMap id_map");
}

static int read_sq_index(vl_fx_ctx *c, vl_faiss_node *n)
{
	int rc = vl_fx_read_sq(c, &n->sq, n->d);
	if (rc)
		return rc;
	uint64_t want;
	if (!vl_fx_mul((uint64_t)n->ntotal, n->sq.code_size, &want))
		return vl_fx_err(c, vl_fx_off(c), "IndexScalarQuantizer: ntotal x code_size overflows");
	return vl_fx_vector_n(c, 1, want, &n->data, "IndexScalarQuantizer codes");
}

static int read_pq_index(vl_fx_ctx *c, vl_faiss_node *n)
{
	int rc = vl_fx_read_pq(c, &n->pq, n->d);
	if (rc)
		return rc;
	uint64_t want;
	if (!vl_fx_mul((uint64_t)n->ntotal, n->pq.code_size, &want))
		return vl_fx_err(c, vl_fx_off(c), "IndexPQ: ntotal x code_size overflows");
	if ((rc = vl_fx_vector_n(c, 1, want, &n->data, "IndexPQ codes")))
		return rc;
	if (n->fourcc != CC("IxPQ")) {
		if ((rc = vl_fx_i32(c, &n->pq_search_type, "IndexPQ search_type")) ||
		    (rc = vl_fx_bool(c, &n->pq_encode_signs, "IndexPQ encode_signs")) ||
		    (rc = vl_fx_i32(c, &n->pq_polysemous_ht, "IndexPQ polysemous_ht")))
			return rc;
	}
	/* Old PQ files claimed inner product while using L2; FAISS forces L2. */
	if (n->fourcc != CC("IxPq"))
		n->metric_type = VL_FAISS_METRIC_L2;
	return 0;
}

static int read_pretransform(vl_fx_ctx *c, vl_faiss_node *n)
{
	uint64_t off = vl_fx_off(c);
	int rc = vl_fx_i32(c, &n->ntransforms, "IndexPreTransform chain length");
	if (rc)
		return rc;
	/* The smallest transform record is 4 + 4 + 4 + 1 + 4 bytes (VNrm). */
	uint64_t left = c->rd.len - c->rd.pos;
	if (n->ntransforms < 0 || (uint64_t)n->ntransforms > left / 17)
		return vl_fx_err(c, off, "IndexPreTransform: chain length %d is impossible with %llu "
		                 "bytes left", n->ntransforms, (unsigned long long)left);
	/* Real chains hold a handful; the cap keeps the parser's memory within
	 * its budget (a 17-byte record would cost 120 bytes of heap). */
	if (n->ntransforms > VL_FAISS_TRANSFORMS_MAX)
		return vl_diag_set(c->d, VL_EUNSUPPORTED, off, "IndexPreTransform: %d transforms, "
		                   "veclite reads at most %d", n->ntransforms, VL_FAISS_TRANSFORMS_MAX);
	if (n->ntransforms > 0) {
		n->transforms = vl_fx_alloc(c, (size_t)n->ntransforms * sizeof *n->transforms,
		                            "IndexPreTransform chain");
		if (!n->transforms)
			return c->alloc_rc;
	}
	int32_t din = n->d;
	for (int32_t i = 0; i < n->ntransforms; i++) {
		vl_faiss_transform *t = &n->transforms[i];
		if ((rc = vl_fx_read_transform(c, t, 0)))
			return rc;
		if (t->d_in != din)
			return vl_fx_err(c, t->offset, "IndexPreTransform: transform %d takes %d dims "
			                 "but receives %d", i, t->d_in, din);
		din = t->d_out;
	}
	off = vl_fx_off(c);
	if ((rc = read_child(c, n, "IndexPreTransform inner index", 0)))
		return rc;
	if (n->child->d != din)
		return vl_fx_err(c, off, "IndexPreTransform: inner index has d = %d, the transforms "
		                 "produce %d", n->child->d, din);
	return 0;
}

static int read_hnsw_index(vl_fx_ctx *c, vl_faiss_node *n)
{
	int rc = vl_fx_read_hnsw(c, &n->hnsw, (uint64_t)n->ntotal);
	if (rc)
		return rc;
	uint64_t off = vl_fx_off(c);
	if ((rc = read_child(c, n, "IndexHNSW storage", 1)))
		return rc;
	if (!n->child)
		return 0;
	vl_faiss_kind want = n->kind == VL_FAISS_HNSW_FLAT ? VL_FAISS_FLAT
	                   : n->kind == VL_FAISS_HNSW_SQ ? VL_FAISS_SQ : VL_FAISS_PQ;
	if (n->child->kind != want) {
		char s[20];
		return vl_fx_err(c, off, "IndexHNSW storage: '%s' does not match the HNSW type",
		                 vl_faiss_fourcc_str(n->child->fourcc, s));
	}
	return 0;
}

static const struct {
	char cc[5];
	vl_faiss_kind kind;
} kinds[] = {
	{ "IxF2", VL_FAISS_FLAT }, { "IxFI", VL_FAISS_FLAT }, { "IxFl", VL_FAISS_FLAT },
	{ "IxMp", VL_FAISS_IDMAP }, { "IxM2", VL_FAISS_IDMAP2 },
	{ "IxPT", VL_FAISS_PRETRANSFORM }, { "IxSQ", VL_FAISS_SQ },
	{ "IxPq", VL_FAISS_PQ }, { "IxPo", VL_FAISS_PQ }, { "IxPQ", VL_FAISS_PQ },
	{ "IwFl", VL_FAISS_IVF_FLAT }, { "IwSq", VL_FAISS_IVF_SQ }, { "IwSQ", VL_FAISS_IVF_SQ },
	{ "IwPQ", VL_FAISS_IVF_PQ }, { "IHNf", VL_FAISS_HNSW_FLAT },
	{ "IHNs", VL_FAISS_HNSW_SQ }, { "IHNp", VL_FAISS_HNSW_PQ },
};

int vl_fx_is_ivf_kind(vl_faiss_kind k)
{
	return k == VL_FAISS_IVF_FLAT || k == VL_FAISS_IVF_SQ || k == VL_FAISS_IVF_PQ;
}

static int read_body(vl_fx_ctx *c, vl_faiss_node *n)
{
	int rc = vl_fx_read_header(c, n);
	if (rc)
		return rc;
	switch (n->kind) {
	case VL_FAISS_FLAT:
		return read_flat(c, n);
	case VL_FAISS_IDMAP:
	case VL_FAISS_IDMAP2:
		return read_idmap(c, n);
	case VL_FAISS_PRETRANSFORM:
		return read_pretransform(c, n);
	case VL_FAISS_SQ:
		return read_sq_index(c, n);
	case VL_FAISS_PQ:
		return read_pq_index(c, n);
	case VL_FAISS_IVF_FLAT:
	case VL_FAISS_IVF_SQ:
	case VL_FAISS_IVF_PQ:
		return vl_fx_read_ivf(c, n);
	case VL_FAISS_HNSW_FLAT:
	case VL_FAISS_HNSW_SQ:
	case VL_FAISS_HNSW_PQ:
		return read_hnsw_index(c, n);
	}
	return vl_fx_err(c, n->offset, "internal: unhandled index kind %d", (int)n->kind);
}

int vl_fx_read_index(vl_fx_ctx *c, vl_faiss_node **out, const char *role)
{
	*out = NULL;
	uint64_t off = vl_fx_off(c);
	if (c->depth >= VL_FAISS_DEPTH_MAX)
		return vl_fx_err(c, off, "%s: indexes nested more than %d deep", role,
		                 VL_FAISS_DEPTH_MAX);
	uint32_t cc;
	int rc = vl_fx_u32(c, &cc, role);
	if (rc)
		return rc;
	if (cc == CC("null"))
		return 0;
	vl_faiss_kind kind = 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (CC(kinds[i].cc) == cc)
			kind = kinds[i].kind;
	if (!kind)
		return vl_fx_unsupported(c, off, cc, role);

	vl_faiss_node *n = vl_fx_alloc(c, sizeof *n, role);
	if (!n)
		return c->alloc_rc;
	n->kind = kind;
	n->fourcc = cc;
	n->offset = off;
	c->depth++;
	rc = read_body(c, n);
	c->depth--;
	if (rc) {
		vl_fx_node_free(n);
		return rc;
	}
	n->end = vl_fx_off(c);
	*out = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Public entry points                                                  */
/* ------------------------------------------------------------------ */

int vl_faiss_open(const void *buf, size_t len, vl_faiss_index **out, vl_diag *d)
{
	vl_diag_clear(d);
	*out = NULL;
	if (!buf && len)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "no input buffer");
	if (len == 0)
		return vl_diag_set(d, VL_EFORMAT, 0, "empty file: not a FAISS index");
	vl_fx_ctx c = { .rd = vl_rd_make(buf, len, 0), .d = d };
	c.heap_max = len > (SIZE_MAX - VL_FX_HEAP_SLACK) / VL_FX_HEAP_RATIO
	           ? SIZE_MAX : len * VL_FX_HEAP_RATIO + VL_FX_HEAP_SLACK;
	vl_faiss_index *ix = vl_fx_alloc(&c, sizeof *ix, "index handle");
	if (!ix)
		return c.alloc_rc;
	ix->buf = buf;
	ix->len = len;
	int rc = vl_fx_read_index(&c, &ix->root, "top-level index");
	if (rc == 0 && !ix->root)
		rc = vl_diag_set(d, VL_EFORMAT, 0, "file holds no index (fourcc 'null')");
	if (rc) {
		vl_faiss_close(ix);
		return rc;
	}
	ix->heap = c.heap;
	ix->trailing = len - c.rd.pos;
	*out = ix;
	return 0;
}

void vl_faiss_close(vl_faiss_index *ix)
{
	if (!ix)
		return;
	vl_fx_node_free(ix->root);
	free(ix);
}

const vl_faiss_node *vl_faiss_root(const vl_faiss_index *ix)
{
	return ix->root;
}

size_t vl_faiss_input_bytes(const vl_faiss_index *ix)
{
	return ix->len;
}

size_t vl_faiss_trailing_bytes(const vl_faiss_index *ix)
{
	return ix->trailing;
}

size_t vl_faiss_heap_bytes(const vl_faiss_index *ix)
{
	return ix->heap;
}
