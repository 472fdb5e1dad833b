/*
 * faiss_inspect.c - describe a parsed FAISS index: the chain of types, d,
 * ntotal, metric, per-type parameters, sizes and how exact its vectors are.
 *
 * One walk feeds a small emitter with two back ends: text (one line per
 * object, "key=value" pairs, indented by nesting) and JSON (nested objects,
 * children under "index", "quantizer", "storage" or "transforms").
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "faiss_internal.h"

#define CC(s) VL_FAISS_FOURCC((s)[0], (s)[1], (s)[2], (s)[3])

typedef struct emit {
	FILE *f;
	int json;
	int depth;
	int first;          /* no member written yet in the current JSON object */
	int err;
} emit;

static void put_json_string(emit *e, const char *s)
{
	fputc('"', e->f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(e->f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(e->f, "\\u%04x", ch);
		else
			fputc(ch, e->f);
	}
	fputc('"', e->f);
}

static void key(emit *e, const char *k)
{
	if (e->json) {
		if (!e->first)
			fputc(',', e->f);
		e->first = 0;
		put_json_string(e, k);
		fputc(':', e->f);
	} else {
		fprintf(e->f, " %s=", k);
	}
}

static void kv_str(emit *e, const char *k, const char *v)
{
	key(e, k);
	if (e->json)
		put_json_string(e, v);
	else
		fputs(v, e->f);
}

static void kv_int(emit *e, const char *k, long long v)
{
	key(e, k);
	fprintf(e->f, "%lld", v);
}

static void kv_u64(emit *e, const char *k, uint64_t v)
{
	key(e, k);
	fprintf(e->f, "%llu", (unsigned long long)v);
}

static void kv_bool(emit *e, const char *k, int v)
{
	key(e, k);
	fputs(e->json ? (v ? "true" : "false") : (v ? "yes" : "no"), e->f);
}

static void kv_float(emit *e, const char *k, double v)
{
	key(e, k);
	if (isfinite(v))
		fprintf(e->f, "%.9g", v);
	else
		fputs(e->json ? "null" : (isnan(v) ? "nan" : "inf"), e->f);
}

/* Open a nested object. Text: a new indented line starting with `label`. */
static void open_obj(emit *e, const char *k, const char *label)
{
	if (e->json) {
		if (k)
			key(e, k);
		else if (!e->first)
			fputc(',', e->f);
		fputc('{', e->f);
		e->first = 1;
	} else {
		fprintf(e->f, "%s%*s%s:", e->depth ? "\n" : "", 2 * e->depth, "", label);
	}
	e->depth++;
}

static void close_obj(emit *e)
{
	e->depth--;
	if (e->json) {
		fputc('}', e->f);
		e->first = 0;
	}
}

static void open_array(emit *e, const char *k)
{
	if (e->json) {
		key(e, k);
		fputc('[', e->f);
		e->first = 1;
	}
}

static void close_array(emit *e)
{
	if (e->json) {
		fputc(']', e->f);
		e->first = 0;
	}
}

static const char *metric_name(int32_t m)
{
	switch (m) {
	case 0: return "inner_product";
	case 1: return "L2";
	case 2: return "L1";
	case 3: return "Linf";
	case 4: return "Lp";
	case 20: return "Canberra";
	case 21: return "BrayCurtis";
	case 22: return "JensenShannon";
	case 23: return "Jaccard";
	case 24: return "NaNEuclidean";
	case 25: return "Gower";
	}
	return "unknown";
}

static void emit_sq(emit *e, const vl_faiss_sq *sq)
{
	kv_str(e, "sq_type", vl_fx_sq_name(sq->qtype));
	kv_int(e, "sq_qtype", sq->qtype);
	kv_u64(e, "code_size", sq->code_size);
	kv_int(e, "rangestat", sq->rangestat);
	kv_float(e, "rangestat_arg", sq->rangestat_arg);
	kv_u64(e, "trained_floats", sq->ntrained);
}

static void emit_pq(emit *e, const vl_faiss_pq *pq)
{
	kv_u64(e, "pq_M", pq->M);
	kv_u64(e, "pq_nbits", pq->nbits);
	kv_u64(e, "pq_dsub", pq->dsub);
	kv_u64(e, "code_size", pq->code_size);
	kv_u64(e, "centroid_bytes", 4 * pq->ksub * pq->d);
}

static void emit_transform(emit *e, const vl_faiss_transform *t)
{
	char s[20];
	const char *name = vl_faiss_fourcc_name(t->fourcc);
	open_obj(e, NULL, "transform");
	kv_str(e, "fourcc", vl_faiss_fourcc_str(t->fourcc, s));
	kv_str(e, "class", name ? name : "?");
	kv_u64(e, "offset", t->offset);
	kv_int(e, "d_in", t->d_in);
	kv_int(e, "d_out", t->d_out);
	switch (t->kind) {
	case VL_FAISS_XF_PCA:
		kv_float(e, "eigen_power", t->eigen_power);
		kv_bool(e, "random_rotation", t->random_rotation);
		/* fall through */
	case VL_FAISS_XF_LINEAR:
	case VL_FAISS_XF_RROT:
	case VL_FAISS_XF_ITQ_MATRIX:
		kv_bool(e, "have_bias", t->have_bias);
		kv_bool(e, "orthonormal", t->orthonormal);
		break;
	case VL_FAISS_XF_NORM:
		kv_float(e, "norm", t->norm);
		break;
	case VL_FAISS_XF_ITQ:
		kv_bool(e, "do_pca", t->do_pca);
		break;
	default:
		break;
	}
	kv_str(e, "reverse", !t->reversible ? "impossible" : t->lossless ? "lossless" : "projection");
	close_obj(e);
}

static void emit_hnsw(emit *e, const vl_faiss_hnsw *h)
{
	kv_int(e, "M", h->M);
	kv_int(e, "M0", h->M0);
	kv_int(e, "max_level", h->max_level);
	kv_int(e, "entry_point", h->entry_point);
	kv_int(e, "efConstruction", h->efConstruction);
	kv_int(e, "efSearch", h->efSearch);
	kv_u64(e, "neighbor_slots", h->nneighbors);
	/* nodes per top level */
	uint64_t per[64] = { 0 };
	int top = 0;
	for (uint64_t i = 0; i < h->ntotal; i++) {
		int lv = vl_faiss_hnsw_levels(h, i);
		if (lv > 64)
			lv = 64;
		per[lv - 1]++;
		if (lv > top)
			top = lv;
	}
	if (e->json) {
		open_array(e, "nodes_per_top_level");
		for (int l = 0; l < top; l++)
			fprintf(e->f, "%s%llu", l ? "," : "", (unsigned long long)per[l]);
		close_array(e);
	} else {
		fputs(" nodes_per_top_level=", e->f);
		for (int l = 0; l < top; l++)
			fprintf(e->f, "%s%llu", l ? "," : "", (unsigned long long)per[l]);
	}
}

static void emit_ivf(emit *e, const vl_faiss_node *n)
{
	const vl_faiss_ivf *ivf = &n->ivf;
	char s[20];
	kv_u64(e, "nlist", ivf->nlist);
	kv_u64(e, "nprobe", ivf->nprobe);
	kv_u64(e, "code_size", ivf->code_size);
	if (n->kind != VL_FAISS_IVF_FLAT)
		kv_bool(e, "by_residual", ivf->by_residual);
	kv_str(e, "direct_map", ivf->direct_map_type == 0 ? "none"
	                        : ivf->direct_map_type == 1 ? "array" : "hashtable");
	kv_str(e, "invlists", vl_faiss_fourcc_str(ivf->invlists_fourcc, s));
	if (ivf->invlists_fourcc == CC("ilar"))
		kv_str(e, "sizes", ivf->sparse ? "sparse" : "full");
	kv_u64(e, "nonempty_lists", ivf->nonempty);
	uint64_t largest = 0;
	for (uint64_t k = 0; k < ivf->nonempty; k++)
		if (ivf->lists[k].size > largest)
			largest = ivf->lists[k].size;
	kv_u64(e, "largest_list", largest);
	if (ivf->invlists_fourcc == CC("ilod")) {
		kv_str(e, "data_file", ivf->ondisk_filename);
		kv_u64(e, "data_file_bytes", ivf->ondisk_totsize);
		kv_bool(e, "data_attached", ivf->ondisk_attached);
	}
	if (n->kind == VL_FAISS_IVF_SQ)
		emit_sq(e, &n->sq);
	if (n->kind == VL_FAISS_IVF_PQ)
		emit_pq(e, &n->pq);
}

static void emit_node(emit *e, const char *k, const vl_faiss_node *n)
{
	char s[20];
	const char *name = vl_faiss_fourcc_name(n->fourcc);
	open_obj(e, k, k);
	kv_str(e, "fourcc", vl_faiss_fourcc_str(n->fourcc, s));
	kv_str(e, "class", name ? name : "?");
	kv_u64(e, "offset", n->offset);
	kv_u64(e, "bytes", n->end - n->offset);
	kv_int(e, "d", n->d);
	kv_int(e, "ntotal", n->ntotal);
	kv_str(e, "metric", metric_name(n->metric_type));
	if (n->metric_type > 1)
		kv_float(e, "metric_arg", n->metric_arg);
	kv_bool(e, "trained", n->is_trained);
	switch (n->kind) {
	case VL_FAISS_FLAT:
		kv_u64(e, "vector_bytes", 4 * (uint64_t)n->ntotal * (uint64_t)n->d);
		break;
	case VL_FAISS_SQ:
		emit_sq(e, &n->sq);
		break;
	case VL_FAISS_PQ:
		emit_pq(e, &n->pq);
		kv_int(e, "search_type", n->pq_search_type);
		break;
	case VL_FAISS_IDMAP:
	case VL_FAISS_IDMAP2:
		if (n->ntotal > 0) {
			int64_t lo = INT64_MAX, hi = INT64_MIN;
			for (int64_t i = 0; i < n->ntotal; i++) {
				int64_t v = (int64_t)vl_ld64(n->ids + 8 * (uint64_t)i);
				lo = v < lo ? v : lo;
				hi = v > hi ? v : hi;
			}
			kv_int(e, "id_min", lo);
			kv_int(e, "id_max", hi);
		}
		break;
	case VL_FAISS_PRETRANSFORM:
		open_array(e, "transforms");
		for (int32_t i = 0; i < n->ntransforms; i++)
			emit_transform(e, &n->transforms[i]);
		close_array(e);
		break;
	case VL_FAISS_HNSW_FLAT:
	case VL_FAISS_HNSW_SQ:
	case VL_FAISS_HNSW_PQ:
		emit_hnsw(e, &n->hnsw);
		break;
	case VL_FAISS_IVF_FLAT:
	case VL_FAISS_IVF_SQ:
	case VL_FAISS_IVF_PQ:
		emit_ivf(e, n);
		break;
	}
	if (n->child) {
		const char *ck = vl_fx_is_ivf_kind(n->kind) ? "quantizer"
		               : n->kind >= VL_FAISS_HNSW_FLAT ? "storage" : "index";
		emit_node(e, ck, n->child);
	}
	close_obj(e);
}

static const char *exactness_name(vl_faiss_exactness x)
{
	switch (x) {
	case VL_FAISS_EXACT: return "exact";
	case VL_FAISS_APPROX: return "approximate";
	case VL_FAISS_PROJECTED: return "projected";
	case VL_FAISS_TRANSFORMED: return "transformed";
	}
	return "?";
}

static void emit_vectors(emit *e, const vl_faiss_index *ix, const char *k, vl_faiss_space sp)
{
	vl_faiss_vecinfo vi;
	vl_diag d;
	open_obj(e, k, k);
	if (vl_faiss_vectors(ix, sp, &vi, &d) != 0) {
		kv_str(e, "error", d.msg);
		close_obj(e);
		return;
	}
	kv_u64(e, "count", vi.count);
	kv_int(e, "dim", vi.dim);
	kv_str(e, "space", vi.space == VL_FAISS_SPACE_INPUT ? "input" : "stored");
	kv_str(e, "exactness", exactness_name(vi.exactness));
	kv_str(e, "why", vi.why ? vi.why : "");
	kv_str(e, "ids", vi.ids_kind == 1 ? "IDMap" : vi.ids_kind == 2 ? "inverted lists"
	                                                                : "sequential");
	kv_str(e, "metric", metric_name(vi.metric_type));
	kv_bool(e, "hnsw_graph", vi.hnsw != NULL);
	close_obj(e);
}

int vl_faiss_inspect(const vl_faiss_index *ix, FILE *f, int format)
{
	emit e = { f, format == VL_FAISS_INSPECT_JSON, 0, 1, 0 };
	open_obj(&e, NULL, "faiss");
	kv_u64(&e, "file_bytes", ix->len);
	kv_u64(&e, "trailing_bytes", ix->trailing);
	kv_u64(&e, "parser_heap_bytes", ix->heap);
	emit_node(&e, "index", ix->root);
	emit_vectors(&e, ix, "vectors", VL_FAISS_SPACE_AUTO);
	vl_faiss_vecinfo vi;
	vl_diag d;
	if (vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d) == 0 &&
	    vi.space != VL_FAISS_SPACE_INPUT)
		emit_vectors(&e, ix, "reconstruct", VL_FAISS_SPACE_INPUT);
	close_obj(&e);
	fputc('\n', f);
	return ferror(f) ? VL_EIO : 0;
}
