/*
 * test_faiss_import.c - FAISS files into a collection, the way
 * `veclite import-faiss` does it (reader -> vl_bulk_* with decimal ids as
 * keys), then searched: the collection's top-10 agrees with FAISS's exact
 * search (recall@10 >= 0.99), keys are the FAISS ids, vectors come back
 * bit for bit as decoded.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faiss/vl_faiss.h"
#include "util/faiss_fx.h"
#include "util/tstore.h"

static void import_and_search(const char *name, const char *index)
{
	size_t len, dl = 0;
	uint8_t *buf = faiss_fx_file(name, ".index", &len), *data = NULL;
	cr_assert_not_null(buf);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	const char *odname = vl_faiss_ondisk_name(ix);
	if (odname) {
		data = faiss_fx_file(strrchr(odname, '/') + 1, "", &dl);
		cr_assert_eq(vl_faiss_attach_ondisk(ix, data, dl, &d), 0, "%s", d.msg);
	}
	vl_faiss_vecinfo vi;
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &vi, &d), 0, "%s", d.msg);
	vl_metric metric = vi.metric_type == VL_FAISS_METRIC_IP ? VL_METRIC_IP : VL_METRIC_L2;

	char *dir = ts_tmpdir("faiss-import");
	vl_store *st = ts_open(dir);
	/* float32: the comparison is about the imported vectors, not a lossy
	 * default storage type */
	vl_collection *c = ts_create(st, name, vi.dim, metric, index, "float32", NULL, NULL);
	/* one build thread: the graph (and so the recall below) is the same
	 * on every run */
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = 1;
	vl_bulk *b;
	cr_assert_eq(vl_bulk_begin(c, &jo, &b), 0, "%s", vl_errmsg(st));
	float *vec = malloc((size_t)vi.count * vi.dim * sizeof *vec);
	int64_t *ids = malloc(vi.count * sizeof *ids);
	cr_assert_eq(vl_faiss_read(ix, &vi, 0, vi.count, vec, ids, &d), 0, "%s", d.msg);
	char(*keys)[24] = malloc(vi.count * sizeof *keys);
	vl_row *rows = malloc(vi.count * sizeof *rows);
	for (uint64_t i = 0; i < vi.count; i++) {
		int kl = snprintf(keys[i], sizeof keys[i], "%" PRId64, ids[i]);
		rows[i] = (vl_row){ .key = keys[i], .key_len = (size_t)kl,
		                    .vector = vec + i * vi.dim, .dim = vi.dim };
	}
	cr_assert_eq(vl_bulk_add(b, rows, vi.count), 0, "%s", vl_errmsg(st));
	cr_assert_eq(vl_bulk_commit(b), 0, "%s", vl_errmsg(st));
	uint64_t count;
	cr_assert_eq(vl_count(c, NULL, &count), 0);
	cr_expect_eq(count, vi.count, "%s: rows in the collection", name);

	/* search vs FAISS's exact top-10 */
	size_t ql, gl;
	float *q = (float *)faiss_fx_file(name, ".queries", &ql);
	int64_t *gt = (int64_t *)faiss_fx_file(name, ".gt", &gl);
	size_t nq = ql / (vi.dim * 4);
	cr_assert_eq(gl, nq * 80);
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 10;
	/* a graph index searched with a wide beam: the comparison is about the
	 * imported vectors, not the index's speed/recall trade-off */
	static const char *const wide[] = { "EF_RUNTIME=256" };
	if (strcmp(index, "hnsw") == 0) {
		so.params = wide;
		so.nparams = 1;
	}
	long hits = 0;
	for (size_t qi = 0; qi < nq; qi++) {
		vl_results *r;
		cr_assert_eq(vl_search(c, q + qi * vi.dim, vi.dim, &so, &r), 0, "%s", vl_errmsg(st));
		for (size_t h = 0; h < r->n; h++) {
			char k[32];
			snprintf(k, sizeof k, "%.*s", (int)r->hits[h].key_len, (const char *)r->hits[h].key);
			int64_t id = strtoll(k, NULL, 10);
			for (int j = 0; j < 10; j++)
				hits += id == gt[qi * 10 + j];
		}
		vl_results_free(r);
	}
	double recall = (double)hits / (double)(nq * 10);
	cr_expect(recall >= 0.99, "%s (%s index): recall@10 %.3f vs FAISS exact search", name,
	          index, recall);

	/* keys are the FAISS ids and hold the decoded vectors */
	for (uint64_t i = 0; i < vi.count; i += vi.count / 17 + 1) {
		vl_record *rec;
		cr_assert_eq(vl_get(c, keys[i], strlen(keys[i]), &rec), 0, "%s: key %s", name, keys[i]);
		cr_expect_eq(memcmp(rec->vector, vec + i * vi.dim, vi.dim * 4), 0, "%s: key %s", name,
		             keys[i]);
		vl_free(rec);
	}
	free(q);
	free(gt);
	free(rows);
	free(keys);
	free(vec);
	free(ids);
	vl_collection_close(c);
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
	vl_faiss_close(ix);
	free(data);
	free(buf);
}

Test(faiss_import, flat_and_ids)
{
	import_and_search("flat_l2", "flat");
	import_and_search("flat_ip", "flat");
	import_and_search("idmap2", "flat");
	import_and_search("idmap", "flat");
}

Test(faiss_import, ivf)
{
	import_and_search("ivf_flat", "flat");
	import_and_search("ivf_ids_hash", "flat");
	import_and_search("ondisk", "flat");
}

Test(faiss_import, lossy_codecs)
{
	import_and_search("sq8", "flat");
	import_and_search("sq4", "flat");
	import_and_search("pq", "flat");
	import_and_search("ivfpq", "flat");
	import_and_search("ivf_sq", "flat");
	import_and_search("hnsw_sq", "flat");
	import_and_search("hnsw_pq", "flat");
}

Test(faiss_import, transforms)
{
	import_and_search("opq_ivfpq", "flat");
	import_and_search("opq_hnsw_reduced", "flat");
	import_and_search("pca_reduced", "flat");
	import_and_search("rr", "flat");
}

/* HNSW files into a collection that builds its own hnsw index. */
Test(faiss_import, hnsw)
{
	import_and_search("hnsw_flat", "hnsw");
	import_and_search("hnsw_ip", "hnsw");
	import_and_search("hnsw768", "hnsw");
}
