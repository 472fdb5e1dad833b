/*
 * faiss_ivf.c - IndexIVF* bodies and their inverted lists.
 *
 * IVF header (after the common header): u64 nlist, u64 nprobe, the coarse
 * quantizer (a nested index), the direct map (char type, vector<int64>,
 * [type 2: vector of (int64, int64)]). Then per type:
 *   IwFl  -                                     code_size = 4 d
 *   IwSq  SQ, u64 code_size, bool by_residual   (IwSQ: no by_residual, true)
 *   IwPQ  bool by_residual, u64 code_size, PQ
 * and the inverted lists:
 *   il00  none stored
 *   ilar  u64 nlist, u64 code_size, u32 "full" + vector<u64> sizes (nlist)
 *         or "sprs" + vector<u64> of (list_no, size) pairs; then for each
 *         non-empty list in list order: size*code_size code bytes, size int64 ids
 *   ilod  u64 nlist, u64 code_size, vector of {u64 size, capacity, offset},
 *         vector of free slots {u64 offset, capacity}, vector<char> data file
 *         name, u64 totsize; list i lives in the data file at `offset`:
 *         capacity*code_size code bytes, then capacity int64 ids
 * Only non-empty lists are kept (an array of `nonempty` entries), so a file
 * claiming a huge nlist costs nothing unless it also holds the sizes.
 */
#include <stdlib.h>
#include <string.h>

#include "faiss_internal.h"

#define CC(s) VL_FAISS_FOURCC((s)[0], (s)[1], (s)[2], (s)[3])

void vl_fx_ivf_free(vl_faiss_ivf *ivf)
{
	free(ivf->lists);
	free(ivf->ondisk_filename);
	ivf->lists = NULL;
	ivf->ondisk_filename = NULL;
}

static int read_direct_map(vl_fx_ctx *c, vl_faiss_ivf *ivf)
{
	uint64_t off = vl_fx_off(c);
	uint8_t type;
	const uint8_t *p;
	int rc;
	if ((rc = vl_fx_u8(c, &type, "IVF direct map type")))
		return rc;
	if (type > 2)
		return vl_fx_err(c, off, "IVF direct map type %u (expected 0 none, 1 array, "
		                 "2 hashtable)", type);
	ivf->direct_map_type = type;
	if ((rc = vl_fx_vector(c, 8, &p, &ivf->direct_map_array, "IVF direct map array")))
		return rc;
	if (type == 2)
		return vl_fx_vector(c, 16, &p, &ivf->direct_map_hash, "IVF direct map hashtable");
	return 0;
}

/* A quantizer whose row i is centroid i (what reconstruct(list_no) reads). */
static int row_addressed(vl_faiss_kind k)
{
	return k == VL_FAISS_FLAT || k == VL_FAISS_SQ || k == VL_FAISS_PQ ||
	       k == VL_FAISS_HNSW_FLAT || k == VL_FAISS_HNSW_SQ || k == VL_FAISS_HNSW_PQ;
}

static int read_type_fields(vl_fx_ctx *c, vl_faiss_node *n)
{
	vl_faiss_ivf *ivf = &n->ivf;
	uint64_t off;
	int rc;
	switch (n->kind) {
	case VL_FAISS_IVF_FLAT:
		ivf->code_size = 4 * (uint64_t)n->d;
		return 0;
	case VL_FAISS_IVF_SQ:
		if ((rc = vl_fx_read_sq(c, &n->sq, n->d)))
			return rc;
		off = vl_fx_off(c);
		if ((rc = vl_fx_u64(c, &ivf->code_size, "IndexIVFScalarQuantizer code_size")))
			return rc;
		if (ivf->code_size != n->sq.code_size)
			return vl_fx_err(c, off, "IndexIVFScalarQuantizer: code_size %llu, the quantizer "
			                 "uses %llu", (unsigned long long)ivf->code_size,
			                 (unsigned long long)n->sq.code_size);
		ivf->by_residual = 1;
		if (n->fourcc == CC("IwSq"))
			return vl_fx_bool(c, &ivf->by_residual, "IndexIVFScalarQuantizer by_residual");
		return 0;
	case VL_FAISS_IVF_PQ:
		if ((rc = vl_fx_bool(c, &ivf->by_residual, "IndexIVFPQ by_residual")))
			return rc;
		off = vl_fx_off(c);
		if ((rc = vl_fx_u64(c, &ivf->code_size, "IndexIVFPQ code_size")) ||
		    (rc = vl_fx_read_pq(c, &n->pq, n->d)))
			return rc;
		if (ivf->code_size != n->pq.code_size)
			return vl_fx_err(c, off, "IndexIVFPQ: code_size %llu, the quantizer uses %llu",
			                 (unsigned long long)ivf->code_size,
			                 (unsigned long long)n->pq.code_size);
		return 0;
	default:
		return vl_fx_err(c, n->offset, "internal: not an IVF kind");
	}
}

static int alloc_lists(vl_fx_ctx *c, vl_faiss_ivf *ivf, uint64_t count)
{
	ivf->nonempty = 0;
	if (count == 0)
		return 0;
	if (count > SIZE_MAX / sizeof *ivf->lists)
		return vl_fx_err(c, vl_fx_off(c), "inverted lists: %llu lists",
		                 (unsigned long long)count);
	ivf->lists = vl_fx_alloc(c, (size_t)count * sizeof *ivf->lists, "inverted lists");
	return ivf->lists ? 0 : c->alloc_rc;
}

/* Codes and ids of one ilar list, which follow each other in the file. */
static int take_list(vl_fx_ctx *c, vl_faiss_ivf *ivf, uint64_t list_no, uint64_t size)
{
	uint64_t off = vl_fx_off(c);
	uint64_t left = c->rd.len - c->rd.pos;
	if (size > left / (ivf->code_size + 8))
		return vl_fx_err(c, off, "inverted list %llu claims %llu entries of %llu bytes but "
		                 "only %llu bytes remain", (unsigned long long)list_no,
		                 (unsigned long long)size, (unsigned long long)(ivf->code_size + 8),
		                 (unsigned long long)left);
	vl_faiss_list *L = &ivf->lists[ivf->nonempty++];
	L->list_no = list_no;
	L->size = L->capacity = size;
	L->offset = off;
	int rc = vl_fx_bytes(c, size * ivf->code_size, &L->codes, "inverted list codes");
	if (rc == 0)
		rc = vl_fx_bytes(c, size * 8, &L->ids, "inverted list ids");
	return rc;
}

static int read_ilar_full(vl_fx_ctx *c, vl_faiss_ivf *ivf)
{
	const uint8_t *sizes;
	int rc = vl_fx_vector_n(c, 8, ivf->nlist, &sizes, "ArrayInvertedLists sizes");
	if (rc)
		return rc;
	uint64_t nz = 0;
	for (uint64_t i = 0; i < ivf->nlist; i++)
		nz += vl_ld64(sizes + 8 * i) != 0;
	if ((rc = alloc_lists(c, ivf, nz)))
		return rc;
	for (uint64_t i = 0; i < ivf->nlist && rc == 0; i++) {
		uint64_t s = vl_ld64(sizes + 8 * i);
		if (s)
			rc = take_list(c, ivf, i, s);
	}
	return rc;
}

static int read_ilar_sparse(vl_fx_ctx *c, vl_faiss_ivf *ivf)
{
	uint64_t off = vl_fx_off(c), n;
	const uint8_t *pairs;
	int rc = vl_fx_vector(c, 8, &pairs, &n, "ArrayInvertedLists sparse sizes");
	if (rc)
		return rc;
	if (n % 2)
		return vl_fx_err(c, off, "ArrayInvertedLists: sparse sizes hold %llu values, not "
		                 "(list, size) pairs", (unsigned long long)n);
	if ((rc = alloc_lists(c, ivf, n / 2)))
		return rc;
	uint64_t prev = 0;
	for (uint64_t k = 0; k < n / 2 && rc == 0; k++) {
		uint64_t list_no = vl_ld64(pairs + 16 * k), s = vl_ld64(pairs + 16 * k + 8);
		/* FAISS writes them in ascending list order; data follow in that order */
		if (list_no >= ivf->nlist || (k > 0 && list_no <= prev))
			return vl_fx_err(c, off + 8 + 16 * k, "ArrayInvertedLists: sparse entry %llu "
			                 "names list %llu (nlist %llu, previous %llu): not ascending "
			                 "or out of range", (unsigned long long)k,
			                 (unsigned long long)list_no, (unsigned long long)ivf->nlist,
			                 (unsigned long long)prev);
		prev = list_no;
		if (s)
			rc = take_list(c, ivf, list_no, s);
	}
	return rc;
}

static int read_ilar(vl_fx_ctx *c, vl_faiss_ivf *ivf)
{
	uint64_t off = vl_fx_off(c), nlist, code_size;
	uint32_t type;
	int rc;
	if ((rc = vl_fx_u64(c, &nlist, "ArrayInvertedLists nlist")) ||
	    (rc = vl_fx_u64(c, &code_size, "ArrayInvertedLists code_size")))
		return rc;
	if (nlist != ivf->nlist || code_size != ivf->code_size)
		return vl_fx_err(c, off, "ArrayInvertedLists: nlist %llu / code_size %llu, the IVF "
		                 "index has %llu / %llu", (unsigned long long)nlist,
		                 (unsigned long long)code_size, (unsigned long long)ivf->nlist,
		                 (unsigned long long)ivf->code_size);
	uint64_t toff = vl_fx_off(c);
	if ((rc = vl_fx_u32(c, &type, "ArrayInvertedLists list type")))
		return rc;
	if (type == CC("full"))
		return read_ilar_full(c, ivf);
	if (type == CC("sprs")) {
		ivf->sparse = 1;
		return read_ilar_sparse(c, ivf);
	}
	char s[20];
	return vl_fx_err(c, toff, "ArrayInvertedLists: list type '%s' (expected 'full' or "
	                 "'sprs')", vl_faiss_fourcc_str(type, s));
}

static int read_ilod(vl_fx_ctx *c, vl_faiss_ivf *ivf)
{
	uint64_t off = vl_fx_off(c), nlist, code_size, n;
	const uint8_t *lists, *p;
	int rc;
	if ((rc = vl_fx_u64(c, &nlist, "OnDiskInvertedLists nlist")) ||
	    (rc = vl_fx_u64(c, &code_size, "OnDiskInvertedLists code_size")))
		return rc;
	if (nlist != ivf->nlist || code_size != ivf->code_size)
		return vl_fx_err(c, off, "OnDiskInvertedLists: nlist %llu / code_size %llu, the IVF "
		                 "index has %llu / %llu", (unsigned long long)nlist,
		                 (unsigned long long)code_size, (unsigned long long)ivf->nlist,
		                 (unsigned long long)ivf->code_size);
	uint64_t loff = vl_fx_off(c);
	if ((rc = vl_fx_vector_n(c, 24, nlist, &lists, "OnDiskInvertedLists lists")) ||
	    (rc = vl_fx_vector(c, 16, &p, &n, "OnDiskInvertedLists free slots")))
		return rc;
	uint64_t foff = vl_fx_off(c);
	if ((rc = vl_fx_vector(c, 1, &p, &n, "OnDiskInvertedLists filename")) ||
	    (rc = vl_fx_u64(c, &ivf->ondisk_totsize, "OnDiskInvertedLists totsize")))
		return rc;
	if (memchr(p, 0, n))
		return vl_fx_err(c, foff, "OnDiskInvertedLists: data file name contains a NUL byte");
	ivf->ondisk_filename = vl_fx_alloc(c, n + 1, "OnDiskInvertedLists filename");
	if (!ivf->ondisk_filename)
		return c->alloc_rc;
	memcpy(ivf->ondisk_filename, p, n);

	uint64_t nz = 0;
	for (uint64_t i = 0; i < nlist; i++)
		nz += vl_ld64(lists + 24 * i) != 0;
	if ((rc = alloc_lists(c, ivf, nz)))
		return rc;
	for (uint64_t i = 0; i < nlist; i++) {
		const uint8_t *e = lists + 24 * i;
		uint64_t size = vl_ld64(e), cap = vl_ld64(e + 8);
		if (size > cap)
			return vl_fx_err(c, loff + 8 + 24 * i, "OnDiskInvertedLists: list %llu holds %llu "
			                 "entries in a capacity of %llu", (unsigned long long)i,
			                 (unsigned long long)size, (unsigned long long)cap);
		if (!size)
			continue;
		vl_faiss_list *L = &ivf->lists[ivf->nonempty++];
		L->list_no = i;
		L->size = size;
		L->capacity = cap;
		L->offset = vl_ld64(e + 16);
	}
	return 0;
}

/* Row numbering, the ntotal check and the residual quantizer check. */
static int finish_lists(vl_fx_ctx *c, vl_faiss_node *n, uint64_t off)
{
	vl_faiss_ivf *ivf = &n->ivf;
	uint64_t row = 0;
	for (uint64_t k = 0; k < ivf->nonempty; k++) {
		vl_faiss_list *L = &ivf->lists[k];
		L->first_row = row;
		if (__builtin_add_overflow(row, L->size, &row))
			return vl_fx_err(c, off, "inverted lists: total size overflows");
		if (ivf->by_residual && n->kind != VL_FAISS_IVF_FLAT &&
		    L->list_no >= (uint64_t)n->child->ntotal)
			return vl_fx_err(c, off, "inverted list %llu has entries but the coarse quantizer "
			                 "holds only %lld centroids", (unsigned long long)L->list_no,
			                 (long long)n->child->ntotal);
	}
	if (ivf->invlists_fourcc != CC("il00") && row != (uint64_t)n->ntotal)
		return vl_fx_err(c, off, "inverted lists hold %llu entries, the index header says "
		                 "ntotal = %lld", (unsigned long long)row, (long long)n->ntotal);
	return 0;
}

int vl_fx_read_ivf(vl_fx_ctx *c, vl_faiss_node *n)
{
	vl_faiss_ivf *ivf = &n->ivf;
	uint64_t off = vl_fx_off(c);
	int rc;
	if ((rc = vl_fx_u64(c, &ivf->nlist, "IVF nlist")) ||
	    (rc = vl_fx_u64(c, &ivf->nprobe, "IVF nprobe")))
		return rc;
	off = vl_fx_off(c);
	if ((rc = vl_fx_read_index(c, &n->child, "IVF coarse quantizer")))
		return rc;
	if (!n->child)
		return vl_fx_err(c, off, "IVF coarse quantizer: missing ('null')");
	if (n->child->d != n->d)
		return vl_fx_err(c, off, "IVF coarse quantizer: d = %d, the IVF index has d = %d",
		                 n->child->d, n->d);
	if ((rc = read_direct_map(c, ivf)) || (rc = read_type_fields(c, n)))
		return rc;
	if (ivf->by_residual && n->kind != VL_FAISS_IVF_FLAT && !row_addressed(n->child->kind)) {
		char s[20];
		return vl_diag_set(c->d, VL_EUNSUPPORTED, off,
		                   "IVF coarse quantizer of type '%s' cannot give back centroids "
		                   "for residual decoding", vl_faiss_fourcc_str(n->child->fourcc, s));
	}
	off = vl_fx_off(c);
	if ((rc = vl_fx_u32(c, &ivf->invlists_fourcc, "inverted lists fourcc")))
		return rc;
	if (ivf->invlists_fourcc == CC("ilar"))
		rc = read_ilar(c, ivf);
	else if (ivf->invlists_fourcc == CC("ilod"))
		rc = read_ilod(c, ivf);
	else if (ivf->invlists_fourcc != CC("il00"))
		return vl_fx_unsupported(c, off, ivf->invlists_fourcc, "inverted lists");
	if (rc)
		return rc;
	return finish_lists(c, n, off);
}

const vl_faiss_list *vl_fx_ivf_find(const vl_faiss_ivf *ivf, uint64_t row)
{
	uint64_t lo = 0, hi = ivf->nonempty;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		const vl_faiss_list *L = &ivf->lists[mid];
		if (row < L->first_row)
			hi = mid;
		else if (row - L->first_row >= L->size)
			lo = mid + 1;
		else
			return L;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* On-disk lists                                                        */
/* ------------------------------------------------------------------ */

static vl_faiss_node *find_pending_ondisk(vl_faiss_node *n)
{
	for (; n; n = n->child)
		if (vl_fx_is_ivf_kind(n->kind) && n->ivf.invlists_fourcc == CC("ilod") &&
		    !n->ivf.ondisk_attached)
			return n;
	return NULL;
}

const char *vl_faiss_ondisk_name(const vl_faiss_index *ix)
{
	const vl_faiss_node *n = find_pending_ondisk(ix->root);
	return n ? n->ivf.ondisk_filename : NULL;
}

int vl_faiss_attach_ondisk(vl_faiss_index *ix, const void *data, size_t len, vl_diag *d)
{
	vl_diag_clear(d);
	vl_faiss_node *n = find_pending_ondisk(ix->root);
	if (!n)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "no on-disk inverted lists to attach");
	vl_faiss_ivf *ivf = &n->ivf;
	for (uint64_t k = 0; k < ivf->nonempty; k++) {
		vl_faiss_list *L = &ivf->lists[k];
		uint64_t codes, total;
		if (!vl_fx_mul(L->capacity, ivf->code_size + 8, &total) || L->offset > len ||
		    total > len - L->offset) {
			/* leave the index unattached */
			for (uint64_t j = 0; j < k; j++)
				ivf->lists[j].codes = ivf->lists[j].ids = NULL;
			return vl_diag_set(d, VL_EFORMAT, L->offset,
			                   "on-disk data file '%s' (%zu bytes): list %llu needs %llu "
			                   "entries x %llu bytes at this offset",
			                   ivf->ondisk_filename, len, (unsigned long long)L->list_no,
			                   (unsigned long long)L->capacity,
			                   (unsigned long long)(ivf->code_size + 8));
		}
		codes = L->capacity * ivf->code_size;
		L->codes = (const uint8_t *)data + L->offset;
		L->ids = L->codes + codes;
	}
	ivf->ondisk_attached = 1;
	return 0;
}
