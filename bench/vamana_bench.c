/*
 * vamana_bench.c - the Vamana index measured at the index level: build
 * time, graph and code bytes, recall@10 against QPS with re-ranking, and
 * cold start of a mapped segment. It drives engine/index/vamana*.c through
 * the index interface on a segment file written like the engine writes one
 * (tests/util/idxseg.c), so the numbers are the index's own, without the
 * store's per-query work (LMDB snapshot, keys, result records).
 *
 *   vamana_bench build  SEG BASE.fvecs [-storage lvq4x8] [-p NAME=VALUE]... [-t threads]
 *                       [-n rows] [-seed s]
 *   vamana_bench search SEG QUERY.fvecs GT.ivecs [-w 10,20,40] [-k 10] [-rerank N]
 *                       [-with secondary|full|none] [-q rows] [-min-time s]
 *   vamana_bench cold   SEG QUERY.fvecs [-w 20] [-rerank N] [-with ...]
 *
 * build writes SEG (a segment file) and prints RESULT kind=build with
 * graph_bytes (adjacency) and code_bytes (PRIMARY, the traversal codes).
 * search re-ranks the index's candidates (default k*4 of them, as the
 * engine does) with the secondary level, the float32 originals, or not at
 * all, and prints one RESULT kind=search line per window size. cold evicts
 * SEG from the page cache (posix_fadvise DONTNEED), then times the open,
 * the first query and the first 100, with RSS after each.
 *
 * Build (from the repository root, after `make lib`):
 *   cc -std=c11 -O2 -D_GNU_SOURCE -pthread -Iengine -Iformat -I. -Itests -Ibench \
 *      -o build/bench/vamana_bench bench/vamana_bench.c tests/util/idxseg.c \
 *      build/libveclite.a -llmdb -lzstd -luring -lm
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"
#include "index/vamana.h"
#include "simd/simd.h"
#include "util/idxseg.h"

#define MAXP 32
#define MAXW 32

typedef struct args {
	const char *pos[4];
	int npos;
	const char *storage, *with;
	const char *params[MAXP];
	size_t nparams;
	size_t w[MAXW], nw;
	size_t threads, n, q, k, rerank;
	uint64_t seed;
	double min_time;
} args;

static void parse_list(const char *s, size_t *v, size_t *n)
{
	*n = 0;
	for (const char *p = s; *p && *n < MAXW;) {
		char *end;
		v[(*n)++] = strtoull(p, &end, 10);
		p = *end ? end + 1 : end;
	}
}

static int parse(int argc, char **argv, args *a)
{
	memset(a, 0, sizeof *a);
	a->storage = "lvq4x8";
	a->with = "auto";
	a->threads = 1;
	a->k = 10;
	a->seed = 42;
	a->min_time = 0.5;
	parse_list("10,15,20,30,40,60,80,120", a->w, &a->nw);
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(o, "-storage")) a->storage = v, i++;
		else if (!strcmp(o, "-p") && a->nparams < MAXP) a->params[a->nparams++] = v, i++;
		else if (!strcmp(o, "-t")) a->threads = strtoull(v, NULL, 10), i++;
		else if (!strcmp(o, "-n")) a->n = strtoull(v, NULL, 10), i++;
		else if (!strcmp(o, "-q")) a->q = strtoull(v, NULL, 10), i++;
		else if (!strcmp(o, "-k")) a->k = strtoull(v, NULL, 10), i++;
		else if (!strcmp(o, "-rerank")) a->rerank = strtoull(v, NULL, 10), i++;
		else if (!strcmp(o, "-with")) a->with = v, i++;
		else if (!strcmp(o, "-seed")) a->seed = strtoull(v, NULL, 10), i++;
		else if (!strcmp(o, "-min-time")) a->min_time = atof(v), i++;
		else if (!strcmp(o, "-w")) parse_list(v, a->w, &a->nw), i++;
		else if (a->npos < 4) a->pos[a->npos++] = o;
		else return -1;
	}
	if (a->threads == 0)
		a->threads = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
	return 0;
}

/* CPU seconds of this thread: on a shared machine the wall clock also
 * counts other processes' time slices, this does not. */
static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec * 1e-6;
}

/* Process CPU seconds (all threads) since r0. */
static double cpu_build(const struct rusage *r0)
{
	struct rusage r1;
	getrusage(RUSAGE_SELF, &r1);
	return (double)(r1.ru_utime.tv_sec - r0->ru_utime.tv_sec) +
	       (r1.ru_utime.tv_usec - r0->ru_utime.tv_usec) * 1e-6 +
	       (double)(r1.ru_stime.tv_sec - r0->ru_stime.tv_sec) +
	       (r1.ru_stime.tv_usec - r0->ru_stime.tv_usec) * 1e-6;
}

static uint64_t sec_len(const ix_seg *s, uint32_t kind)
{
	uint64_t len = 0;
	return ix_seg_section(s, kind, &len) ? len : 0;
}

/* The graph build alone, timed inside ix_seg_make (which also writes the
 * vectors, trains the storage type and encodes the codes). */
static double g_index_s, g_index_cpu;

static int timed_build(const vl_index_build *b, vl_diag *d)
{
	struct rusage r0;
	getrusage(RUSAGE_SELF, &r0);
	double t0 = bench_now();
	int rc = vl_index_vamana.build(b, d);
	g_index_s = bench_now() - t0;
	g_index_cpu = cpu_build(&r0);
	return rc;
}

static int do_build(const args *a)
{
	if (a->npos != 2)
		return fprintf(stderr, "build: need SEG BASE.fvecs\n"), 2;
	bench_mat base;
	if (bench_read_vecs(a->pos[1], a->n, &base))
		return 1;
	unlink(a->pos[0]);
	ix_opts o = { .storage = a->storage, .params = a->params, .nparams = a->nparams,
		          .threads = (unsigned)a->threads, .seed = a->seed, .path = a->pos[0] };
	ix_seg s;
	vl_diag d = { 0 };
	struct rusage r0;
	getrusage(RUSAGE_SELF, &r0);
	double t0 = bench_now();
	vl_index_ops timed = vl_index_vamana;
	timed.build = timed_build;
	int rc = ix_seg_make(&s, &timed, base.data, base.n, (uint32_t)base.dim, &o, &d);
	double secs = bench_now() - t0, cpu = cpu_build(&r0);
	if (rc)
		return fprintf(stderr, "build: %s\n", d.msg), 1;
	char desc[256];
	vl_index_vamana.describe(s.state, desc, sizeof desc);
	uint64_t graph = sec_len(&s, VL_SEC_VAMANA_ADJ) + sec_len(&s, VL_SEC_VAMANA_META);
	uint64_t codes = s.q.ops->id == VL_STORAGE_FLOAT32 ? sec_len(&s, VL_SEC_VECTORS)
	                                                   : sec_len(&s, VL_SEC_PRIMARY);
	printf("RESULT kind=build engine=veclite-index index=vamana storage=%s n=%zu dim=%zu "
	       "threads=%zu build_s=%.3f build_cpu_s=%.3f index_s=%.3f index_cpu_s=%.3f vps=%.1f "
	       "graph_bytes=%llu code_bytes=%llu "
	       "hot_bytes_per_vec=%.1f file_bytes=%zu peak_rss_kb=%llu\n",
	       a->storage, base.n, base.dim, a->threads, secs, cpu, g_index_s, g_index_cpu,
	       base.n / g_index_s,
	       (unsigned long long)graph, (unsigned long long)codes,
	       (double)(graph + codes) / base.n, s.len, (unsigned long long)bench_hwm_kb());
	fprintf(stderr, "%s\n", desc);
	s.path[0] = 0; /* keep the file */
	ix_seg_free(&s);
	free(base.data);
	return 0;
}

/* ---- searching with re-rank ------------------------------------------------- */

typedef struct searcher {
	const ix_seg *s;
	void *qbuf;
	vl_topk t;
	int with;                  /* 0 none, 1 secondary, 2 full */
	size_t cap;
	uint64_t evals;            /* distances computed by the index */
	char wparam[64];
	const char *plist[1];
} searcher;

static int pick_with(const ix_seg *s, const char *w)
{
	if (!strcmp(w, "none"))
		return 0;
	if (!strcmp(w, "full"))
		return 2;
	int has2 = s->q.ops->dist_secondary && s->q.secondary;
	if (!strcmp(w, "secondary"))
		return has2 ? 1 : 2;
	/* auto: as the engine does */
	return s->q.ops->id == VL_STORAGE_FLOAT32 ? 0 : has2 ? 1 : 2;
}

static void searcher_init(searcher *x, const ix_seg *s, const args *a)
{
	memset(x, 0, sizeof *x);
	x->s = s;
	x->with = pick_with(s, a->with);
	x->cap = a->rerank ? a->rerank : x->with ? a->k * 4 : a->k;
	if (posix_memalign(&x->qbuf, 64, s->q.qbuf_size + 64) || vl_topk_init(&x->t, x->cap)) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
}

static void searcher_free(searcher *x)
{
	free(x->qbuf);
	vl_topk_free(&x->t);
}

/* One query: graph search on the primary level, re-rank, best k to ids. */
static void one_query(searcher *x, const float *q, size_t w, size_t k, int64_t *ids)
{
	const ix_seg *s = x->s;
	snprintf(x->wparam, sizeof x->wparam, "SEARCH_WINDOW_SIZE=%zu", w);
	x->plist[0] = x->wparam;
	s->q.ops->prepare(&s->q, q, x->qbuf);
	vl_topk_clear(&x->t);
	vl_index_query iq = { .query = q, .qbuf = x->qbuf, .k = (uint32_t)k,
		                  .params = { x->plist, 1 }, .accept = { NULL, NULL, 1.0 },
		                  .distance_evals = &x->evals };
	vl_diag d;
	if (vl_index_vamana.search(s->state, &iq, &x->t, &d)) {
		fprintf(stderr, "search: %s\n", d.msg);
		exit(1);
	}
	vl_topk *t = &x->t;
	if (x->with == 1) {
		for (size_t i = 0; i < t->n; i++)
			t->a[i].dist = s->q.ops->dist_secondary(&s->q, x->qbuf, t->a[i].row);
	} else if (x->with == 2) {
		const vl_kernels *kk = vl_kern();
		const vl_seg_section *v = vl_seg_find(&s->lay, VL_SEC_VECTORS, 0);
		const float *vecs = (const float *)(const void *)(s->base + v->offset);
		/* ask for every candidate's row at once: the misses overlap */
		size_t rowb = (size_t)s->dim * 4;
		for (size_t i = 0; i < t->n; i++)
			for (size_t l = 0; l < rowb; l += 64)
				__builtin_prefetch((const char *)(vecs + (size_t)t->a[i].row * s->dim) + l);
		for (size_t i = 0; i < t->n; i++) {
			const float *x = vecs + (size_t)t->a[i].row * s->dim;
			t->a[i].dist = s->metric == VL_METRIC_L2 ? kk->l2_f32(q, x, s->dim)
			                                         : -kk->dot_f32(q, x, s->dim);
		}
	}
	vl_topk_sort(t);
	for (size_t i = 0; i < k; i++)
		ids[i] = i < t->n ? (int64_t)t->a[i].row : -1;
}

static int do_search(const args *a)
{
	if (a->npos != 3)
		return fprintf(stderr, "search: need SEG QUERY.fvecs GT.ivecs\n"), 2;
	bench_mat qs, gt;
	if (bench_read_vecs(a->pos[1], a->q, &qs) || bench_read_vecs(a->pos[2], a->q, &gt))
		return 1;
	ix_seg s;
	vl_diag d = { 0 };
	if (ix_seg_open_file(&s, &vl_index_vamana, a->pos[0], &d))
		return fprintf(stderr, "open: %s\n", d.msg), 1;
	searcher x;
	searcher_init(&x, &s, a);
	const float *Q = qs.data;
	const int32_t *G = gt.data;
	int64_t *ids = malloc(a->k * sizeof *ids);
	double *lat = malloc(qs.n * sizeof *lat);
	for (size_t wi = 0; wi < a->nw; wi++) {
		size_t w = a->w[wi];
		double rec = 0, secs = 0, c0 = cpu_now();
		size_t passes = 0;
		x.evals = 0;
		do {
			double p0 = bench_now();
			for (size_t i = 0; i < qs.n; i++) {
				double t0 = passes ? 0 : bench_now();
				one_query(&x, Q + i * qs.dim, w, a->k, ids);
				if (!passes) {
					lat[i] = (bench_now() - t0) * 1e6;
					rec += bench_recall(ids, a->k, G + i * gt.dim, a->k);
				}
			}
			secs += bench_now() - p0;
			passes++;
		} while (secs < a->min_time);
		double cpu = cpu_now() - c0;
		double p50 = bench_percentile(lat, qs.n, 50), p99 = bench_percentile(lat, qs.n, 99);
		printf("RESULT kind=search engine=veclite-index index=vamana storage=%s threads=1 "
		       "sparam=SEARCH_WINDOW_SIZE=%zu rerank=%zu with=%s k=%zu nq=%zu recall=%.4f "
		       "qps=%.1f cpu_qps=%.1f p50_us=%.1f p99_us=%.1f evals=%.0f passes=%zu\n",
		       vl_storage_name((unsigned)s.q.ops->id), w, x.cap,
		       x.with == 0 ? "none" : x.with == 1 ? "secondary" : "full", a->k, qs.n,
		       rec / qs.n, passes * qs.n / secs, passes * qs.n / cpu, p50, p99,
		       (double)x.evals / (double)(passes * qs.n), passes);
		fflush(stdout);
	}
	searcher_free(&x);
	free(ids);
	free(lat);
	s.path[0] = 0;
	ix_seg_free(&s);
	free(qs.data);
	free(gt.data);
	return 0;
}

/* ---- cold start ---------------------------------------------------------------- */

static int do_cold(const args *a)
{
	if (a->npos != 2)
		return fprintf(stderr, "cold: need SEG QUERY.fvecs\n"), 2;
	bench_mat qs;
	if (bench_read_vecs(a->pos[1], 100, &qs))
		return 1;
	int fd = open(a->pos[0], O_RDONLY);
	if (fd < 0 || fdatasync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		fprintf(stderr, "cold: could not evict %s from the page cache\n", a->pos[0]);
	if (fd >= 0)
		close(fd);
	uint64_t rss0 = bench_rss_kb();
	double t0 = bench_now();
	ix_seg s;
	vl_diag d = { 0 };
	if (ix_seg_open_file(&s, &vl_index_vamana, a->pos[0], &d))
		return fprintf(stderr, "open: %s\n", d.msg), 1;
	/* as the engine maps graph segments: no readahead around random faults */
	if (getenv("VAMANA_BENCH_READAHEAD") == NULL)
		madvise(s.base, s.len, MADV_RANDOM);
	double t_open = bench_now() - t0;
	uint64_t rss_open = bench_rss_kb();
	searcher x;
	searcher_init(&x, &s, a);
	int64_t *ids = malloc(a->k * sizeof *ids);
	size_t w = a->nw ? a->w[0] : 20;
	double t1 = bench_now();
	one_query(&x, qs.data, w, a->k, ids);
	double t_first = bench_now() - t1;
	uint64_t rss_first = bench_rss_kb();
	for (size_t i = 1; i < qs.n; i++)
		one_query(&x, (const float *)qs.data + i * qs.dim, w, a->k, ids);
	double t_100 = bench_now() - t1;
	printf("RESULT kind=cold engine=veclite-index index=vamana n=%llu open_ms=%.3f "
	       "first_query_ms=%.3f first_%zu_ms=%.2f rss_kb_before=%llu rss_kb_open=%llu "
	       "rss_kb_first=%llu rss_kb_after=%llu\n",
	       (unsigned long long)s.n, t_open * 1e3, t_first * 1e3, qs.n, t_100 * 1e3,
	       (unsigned long long)rss0, (unsigned long long)rss_open,
	       (unsigned long long)rss_first, (unsigned long long)bench_rss_kb());
	searcher_free(&x);
	free(ids);
	s.path[0] = 0;
	ix_seg_free(&s);
	free(qs.data);
	return 0;
}

int main(int argc, char **argv)
{
	args a;
	if (argc < 2 || parse(argc, argv, &a))
		return fprintf(stderr, "usage: vamana_bench build|search|cold ... (see the source)\n"), 2;
	if (!strcmp(argv[1], "build"))
		return do_build(&a);
	if (!strcmp(argv[1], "search"))
		return do_search(&a);
	if (!strcmp(argv[1], "cold"))
		return do_cold(&a);
	return fprintf(stderr, "unknown mode %s\n", argv[1]), 2;
}
