/*
 * quant_api.c - queries per CPU-second through the public API (veclite.h
 * only), one thread, for a store made by `vl_bench build` (collection
 * "bench", keys = row numbers). It exists because bench/vl_bench.c reports
 * wall-clock QPS, which on a shared, loaded machine measures the other
 * jobs; here each value of the swept parameter is timed with the thread's
 * CPU clock, in R rounds interleaved over the values (median round).
 *
 *   cc -std=c11 -O2 -g -D_GNU_SOURCE -pthread -Iengine -Ibench -o build/bench/quant_api \
 *      bench/quant_api.c build/libveclite.a -llmdb -lzstd -luring -lm -pthread
 *   build/bench/quant_api STORE QUERY.fvecs GT.ivecs [-sparam SEARCH_WINDOW_SIZE]
 *       [-values 6,8,10] [-p NAME=VALUE]... [-q rows] [-k 10] [-reps R]
 *
 * -p adds a runtime parameter to every search (e.g. RERANK_WITH=full).
 * Prints one "RESULT kind=api_search ..." line per value: recall@k,
 * cpu_qps (median round by CPU time), wall_qps (median round by wall-clock
 * time) and the load average at the start.
 */
#include <time.h>

#include "bench_util.h"
#include "veclite.h"

#define MAXV 32
#define MAXP 8
#define MAXREPS 32

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double recall_of(const vl_results *r, const int32_t *truth, size_t k)
{
	int64_t ids[256];
	size_t n = r->n < 256 ? r->n : 256;
	for (size_t i = 0; i < n; i++) {
		char key[32];
		size_t kl = r->hits[i].key_len < 31 ? r->hits[i].key_len : 31;
		memcpy(key, r->hits[i].key, kl);
		key[kl] = 0;
		ids[i] = strtoll(key, NULL, 10);
	}
	return bench_recall(ids, n, truth, k);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
	const char *pos[3], *sparam = "SEARCH_WINDOW_SIZE", *extra[MAXP];
	size_t npos = 0, nextra = 0, values[MAXV], nvalues = 0, q = 0, k = 10, reps = 5;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (argv[i][0] != '-' && npos < 3) {
			pos[npos++] = argv[i];
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(argv[i - 1], "-sparam"))
			sparam = v;
		else if (!strcmp(argv[i - 1], "-values"))
			for (const char *p = v; *p && nvalues < MAXV;) {
				char *end;
				values[nvalues++] = strtoull(p, &end, 10);
				p = *end ? end + 1 : end;
			}
		else if (!strcmp(argv[i - 1], "-p") && nextra < MAXP - 1)
			extra[nextra++] = v;
		else if (!strcmp(argv[i - 1], "-q"))
			q = strtoull(v, NULL, 10);
		else if (!strcmp(argv[i - 1], "-k"))
			k = strtoull(v, NULL, 10);
		else if (!strcmp(argv[i - 1], "-reps"))
			reps = strtoull(v, NULL, 10);
		else
			goto usage;
	}
	if (npos != 3 || !nvalues || reps < 1 || reps > MAXREPS || k < 1)
		goto usage;
	bench_mat qs, gt;
	if (bench_read_vecs(pos[1], q, &qs) || bench_read_vecs(pos[2], q, &gt))
		return 1;
	if (gt.n < qs.n || gt.dim < k) {
		fprintf(stderr, "ground truth has too few rows or columns\n");
		return 1;
	}
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_RDONLY;
	vl_store *st;
	vl_collection *c;
	int rc = vl_open(pos[0], &oo, &st);
	if (rc || (rc = vl_collection_open(st, "bench", &c))) {
		fprintf(stderr, "%s: cannot open store/collection \"bench\" (%d)\n", pos[0], rc);
		return 1;
	}
	double cpu[MAXV][MAXREPS], wall[MAXV][MAXREPS], rec[MAXV] = { 0 };
	double load = 0;
	getloadavg(&load, 1);
	for (size_t rep = 0; rep <= reps; rep++) /* round 0 warms the caches */
		for (size_t vi = 0; vi < nvalues; vi++) {
			char param[128];
			const char *plist[MAXP + 1];
			snprintf(param, sizeof param, "%s=%zu", sparam, values[vi]);
			plist[0] = param;
			for (size_t e = 0; e < nextra; e++)
				plist[1 + e] = extra[e];
			vl_search_opts so = VL_SEARCH_OPTS_INIT;
			so.k = (uint32_t)k;
			so.params = plist;
			so.nparams = 1 + nextra;
			double r = 0, c0 = cpu_now(), w0 = bench_now();
			for (size_t i = 0; i < qs.n; i++) {
				vl_results *res;
				rc = vl_search(c, (const float *)qs.data + i * qs.dim, (uint32_t)qs.dim, &so, &res);
				if (rc) {
					fprintf(stderr, "vl_search: %d\n", rc);
					return 1;
				}
				r += recall_of(res, (const int32_t *)gt.data + i * gt.dim, k);
				vl_results_free(res);
			}
			if (rep) {
				cpu[vi][rep - 1] = cpu_now() - c0;
				wall[vi][rep - 1] = bench_now() - w0;
			}
			rec[vi] = r / (double)qs.n;
		}
	for (size_t vi = 0; vi < nvalues; vi++) {
		double w[MAXREPS];
		memcpy(w, wall[vi], reps * sizeof *w);
		double mc = median(cpu[vi], reps), mw = median(w, reps);
		printf("RESULT kind=api_search sparam=%s=%zu extra=%s k=%zu nq=%zu recall=%.4f "
		       "cpu_qps=%.1f wall_qps=%.1f load=%.1f\n",
		       sparam, values[vi], nextra ? extra[0] : "-", k, qs.n, rec[vi],
		       (double)qs.n / mc, (double)qs.n / mw, load);
	}
	vl_collection_close(c);
	vl_close(st);
	return 0;
usage:
	fprintf(stderr, "usage: see the header of bench/quant_api.c\n");
	return 2;
}
