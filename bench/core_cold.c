/*
 * core_cold.c - cold start and exact-scan throughput of a veclite store
 * (issue 2's measurements). Public API only.
 *
 *   core_cold open STORE QUERIES.fvecs [-c NAME]
 *       one fresh process: vl_open + vl_collection_open, then a first
 *       snapshot (maps every segment, reads their 4 KiB headers), then the
 *       first exact query; RSS and time after each step.
 *   core_cold scan STORE QUERIES.fvecs [-c NAME] [-reps R] [-t THREADS]
 *       exact (flat) scan throughput: median over R repetitions of
 *       nq queries; rows/s and GB/s of vector data scanned per thread count.
 *
 * Output: RESULT lines (bench_util.h conventions).
 */
#include <math.h>
#include <pthread.h>

#include "bench_util.h"
#include "veclite.h"

static int die(vl_store *st, int rc, const char *what)
{
	fprintf(stderr, "core_cold: %s: %s (%s)\n", what, vl_strerror(rc), vl_errmsg(st));
	return 1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int do_open(const char *path, const char *coll, const bench_mat *qs)
{
	uint64_t rss0 = bench_rss_kb();
	double t0 = bench_now();
	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_RDONLY;
	int rc = vl_open(path, &o, &st);
	if (rc)
		return die(NULL, rc, "open");
	vl_collection *c;
	if ((rc = vl_collection_open(st, coll, &c)))
		return die(st, rc, "collection");
	double t_open = bench_now() - t0;
	uint64_t rss_open = bench_rss_kb();
	uint64_t n;
	double t1 = bench_now();
	if ((rc = vl_count(c, NULL, &n))) /* first snapshot: maps the segments */
		return die(st, rc, "count");
	double t_map = bench_now() - t1;
	uint64_t rss_map = bench_rss_kb();
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.flags = VL_SEARCH_EXACT;
	vl_results *res;
	double t2 = bench_now();
	if ((rc = vl_search(c, (const float *)qs->data, (uint32_t)qs->dim, &so, &res)))
		return die(st, rc, "search");
	double t_q = bench_now() - t2;
	printf("RESULT kind=core_cold rows=%llu dim=%zu open_ms=%.3f rss_after_open_kb=%llu map_ms=%.3f "
	       "rss_after_map_kb=%llu first_exact_query_ms=%.2f rss_after_query_kb=%llu base_rss_kb=%llu hits=%zu\n",
	       (unsigned long long)n, qs->dim, t_open * 1e3, (unsigned long long)rss_open, t_map * 1e3,
	       (unsigned long long)rss_map, t_q * 1e3, (unsigned long long)bench_rss_kb(), (unsigned long long)rss0,
	       res->n);
	vl_results_free(res);
	vl_collection_close(c);
	vl_close(st);
	return 0;
}

typedef struct worker {
	vl_collection *c;
	const bench_mat *qs;
	size_t first, n;
	int rc;
} worker;

static void *run_worker(void *arg)
{
	worker *w = arg;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.flags = VL_SEARCH_EXACT | VL_SEARCH_NO_KEYS;
	for (size_t i = w->first; i < w->first + w->n && !w->rc; i++) {
		vl_results *res;
		w->rc = vl_search(w->c, (const float *)w->qs->data + (i % w->qs->n) * w->qs->dim, (uint32_t)w->qs->dim, &so, &res);
		if (!w->rc)
			vl_results_free(res);
	}
	return NULL;
}

static int do_scan(const char *path, const char *coll, const bench_mat *qs, int reps, int threads)
{
	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_RDONLY;
	int rc = vl_open(path, &o, &st);
	if (rc)
		return die(NULL, rc, "open");
	vl_collection *c;
	if ((rc = vl_collection_open(st, coll, &c)))
		return die(st, rc, "collection");
	uint64_t rows;
	vl_count(c, NULL, &rows);
	size_t nq = qs->n < 20 ? qs->n : 20;
	run_worker(&(worker){ c, qs, 0, 2, 0 }); /* warm the page cache */
	double *t = calloc((size_t)reps, sizeof *t);
	for (int r = 0; r < reps; r++) {
		pthread_t tid[64];
		worker w[64];
		double t0 = bench_now();
		for (int k = 0; k < threads; k++) {
			w[k] = (worker){ c, qs, (size_t)k * nq, nq, 0 };
			pthread_create(&tid[k], NULL, run_worker, &w[k]);
		}
		for (int k = 0; k < threads; k++) {
			pthread_join(tid[k], NULL);
			if (w[k].rc)
				return die(st, w[k].rc, "search");
		}
		t[r] = bench_now() - t0;
	}
	qsort(t, (size_t)reps, sizeof *t, cmp_d);
	double med = t[reps / 2];
	double scanned = (double)rows * (double)nq * threads;
	printf("RESULT kind=core_scan rows=%llu dim=%zu threads=%d queries=%zu median_s=%.4f rows_per_s=%.0f "
	       "gb_per_s=%.2f qps=%.1f\n",
	       (unsigned long long)rows, qs->dim, threads, nq * (size_t)threads, med, scanned / med,
	       scanned * (double)qs->dim * 4 / med / 1e9, (double)nq * threads / med);
	free(t);
	vl_collection_close(c);
	vl_close(st);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: core_cold open|scan STORE QUERIES.fvecs [-c NAME] [-reps R] [-t THREADS]\n");
		return 2;
	}
	const char *coll = "bench";
	int reps = 5, threads = 1;
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-c"))
			coll = argv[i + 1];
		else if (!strcmp(argv[i], "-reps"))
			reps = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-t"))
			threads = atoi(argv[i + 1]);
	}
	if (reps < 1 || threads < 1 || threads > 64)
		return 2;
	bench_mat qs;
	if (bench_read_vecs(argv[3], 0, &qs))
		return 1;
	if (!strcmp(argv[1], "open"))
		return do_open(argv[2], coll, &qs);
	if (!strcmp(argv[1], "scan"))
		return do_scan(argv[2], coll, &qs, reps, threads);
	return 2;
}
