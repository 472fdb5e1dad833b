/*
 * fuzz_faiss.c - the FAISS index reader (format/faiss/).
 *
 * Input: a FAISS index file. It must parse or fail with a message, never
 * crash, and the parser's heap must stay within its bound. Whatever parses
 * is used the way the importer will: vectors in every space (first and last
 * rows), ids, the HNSW graph (every neighbour id in range), inspect in both
 * formats. On-disk inverted lists get the input itself as their data file.
 * Round trip: a parsed flat / HNSW-flat index (with or without IDMap) is
 * written back with the writer, re-parsed, and must give the same vectors,
 * ids and graph.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faiss/vl_faiss.h"
#include "vl_bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS 32

static FILE *sink;

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_faiss: invariant violated: %s\n", what);
		abort();
	}
}

static void use_graph(const vl_faiss_hnsw *h)
{
	int32_t nb[512];
	for (uint64_t i = 0; i < h->ntotal && i < 256; i++) {
		int lv = vl_faiss_hnsw_levels(h, i);
		check(lv >= 1, "node without levels");
		for (int l = 0; l < lv; l++) {
			uint32_t n = vl_faiss_hnsw_neighbors(h, i, l, nb, 512);
			for (uint32_t k = 0; k < n; k++)
				check(nb[k] >= 0 && (uint64_t)nb[k] < h->ntotal, "neighbour out of range");
		}
	}
}

static void use_vectors(const vl_faiss_index *ix, vl_faiss_space space)
{
	vl_faiss_vecinfo vi;
	vl_diag d;
	if (vl_faiss_vectors(ix, space, &vi, &d) != 0) {
		check(d.msg[0] != 0, "vectors error without a message");
		return;
	}
	uint64_t n = vi.count < ROWS ? vi.count : ROWS;
	float *rows = malloc(((size_t)n * vi.dim + 1) * sizeof *rows);
	int64_t ids[ROWS];
	if (!rows)
		return;
	vl_faiss_read(ix, &vi, 0, n, rows, ids, &d);
	if (vi.count > n)
		vl_faiss_read(ix, &vi, vi.count - n, n, rows, ids, &d);
	check(vl_faiss_read(ix, &vi, vi.count, 1, rows, ids, &d) == VL_EINVAL, "row past the end");
	free(rows);
	if (vi.hnsw)
		use_graph(&vi.hnsw->hnsw);
}

/* --- writer round trip ---------------------------------------------- */

typedef struct rt {
	const vl_faiss_index *ix;
	vl_faiss_vecinfo vi;
	const vl_faiss_hnsw *h;
} rt;

static int rt_row(void *ctx, uint64_t i, float *vec, int64_t *id)
{
	rt *r = ctx;
	return vl_faiss_read(r->ix, &r->vi, i, 1, vec, id, NULL);
}

static int rt_levels(void *ctx, uint64_t node)
{
	return vl_faiss_hnsw_levels(((rt *)ctx)->h, node);
}

static uint32_t rt_neighbors(void *ctx, uint64_t node, int level, int32_t *out, uint32_t cap)
{
	return vl_faiss_hnsw_neighbors(((rt *)ctx)->h, node, level, out, cap);
}

static void round_trip(const vl_faiss_index *ix)
{
	rt r = { .ix = ix };
	vl_diag d;
	if (vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &r.vi, &d) != 0 || r.vi.pretransform ||
	    r.vi.storage->kind != VL_FAISS_FLAT || r.vi.count > 4096 ||
	    (r.vi.metric_type != VL_FAISS_METRIC_L2 && r.vi.metric_type != VL_FAISS_METRIC_IP))
		return;
	vl_faiss_graph g;
	vl_faiss_write_opts o = { .dim = r.vi.dim, .count = r.vi.count,
	                          .metric_type = r.vi.metric_type, .with_ids = r.vi.idmap != NULL,
	                          .row = rt_row, .ctx = &r };
	if (r.vi.hnsw) {
		r.h = &r.vi.hnsw->hnsw;
		/* the writer uses FAISS's fixed slots (2M, M, M, ...): only graphs
		 * laid out that way survive unchanged */
		if (r.h->M < 2 || r.h->M0 != 2 * r.h->M)
			return;
		for (uint64_t l = 2; l < r.h->ncum; l++)
			if (vl_ld32(r.h->cum + 4 * l) - vl_ld32(r.h->cum + 4 * (l - 1)) != (uint32_t)r.h->M)
				return;
		g = (vl_faiss_graph){ .M = (uint32_t)r.h->M, .entry_point = r.h->entry_point,
		                      .max_level = r.h->max_level,
		                      .efConstruction = r.h->efConstruction,
		                      .efSearch = r.h->efSearch, .levels = rt_levels,
		                      .neighbors = rt_neighbors, .ctx = &r };
		o.graph = &g;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	int rc = vl_faiss_write(f, &o, &d);
	fclose(f);
	if (rc == 0) {
		vl_faiss_index *back;
		vl_faiss_vecinfo vb;
		check(vl_faiss_open(buf, len, &back, &d) == 0, "written file does not parse");
		check(vl_faiss_vectors(back, VL_FAISS_SPACE_AUTO, &vb, &d) == 0, "written vectors");
		check(vb.count == r.vi.count && vb.dim == r.vi.dim, "written shape");
		float a[64], b[64];
		int64_t ia, ib;
		for (uint64_t i = 0; i < vb.count && i < 64 && vb.dim <= 64; i++) {
			check(vl_faiss_read(ix, &r.vi, i, 1, a, &ia, &d) == 0, "read original");
			check(vl_faiss_read(back, &vb, i, 1, b, &ib, &d) == 0, "read written");
			check(memcmp(a, b, vb.dim * sizeof *a) == 0, "vector changed in round trip");
			check(ia == ib, "id changed in round trip");
		}
		if (r.h) {
			const vl_faiss_hnsw *h2 = &vb.hnsw->hnsw;
			int32_t na[512], nb[512];
			for (uint64_t i = 0; i < r.h->ntotal && i < 64; i++) {
				int lv = vl_faiss_hnsw_levels(r.h, i);
				check(lv == vl_faiss_hnsw_levels(h2, i), "levels changed in round trip");
				for (int l = 0; l < lv; l++) {
					uint32_t x = vl_faiss_hnsw_neighbors(r.h, i, l, na, 512);
					uint32_t y = vl_faiss_hnsw_neighbors(h2, i, l, nb, 512);
					check(x == y && memcmp(na, nb, x * 4) == 0, "graph changed in round trip");
				}
			}
		}
		vl_faiss_close(back);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sink)
		sink = fopen("/dev/null", "w");
	vl_faiss_index *ix = NULL;
	vl_diag d;
	int rc = vl_faiss_open(data, size, &ix, &d);
	if (rc != 0) {
		check(rc == VL_EFORMAT || rc == VL_EUNSUPPORTED || rc == VL_ELIMIT || rc == VL_ENOMEM,
		      "unexpected error code");
		check(d.msg[0] != 0, "error without a message");
		return 0;
	}
	check(vl_faiss_heap_bytes(ix) <= 4 * size + (1u << 20), "parser heap over its bound");
	if (vl_faiss_ondisk_name(ix))
		vl_faiss_attach_ondisk(ix, data, size, &d);
	use_vectors(ix, VL_FAISS_SPACE_AUTO);
	use_vectors(ix, VL_FAISS_SPACE_INPUT);
	use_vectors(ix, VL_FAISS_SPACE_STORED);
	if (sink) {
		vl_faiss_inspect(ix, sink, VL_FAISS_INSPECT_TEXT);
		vl_faiss_inspect(ix, sink, VL_FAISS_INSPECT_JSON);
	}
	round_trip(ix);
	vl_faiss_close(ix);
	return 0;
}
