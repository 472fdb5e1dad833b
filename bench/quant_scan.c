/*
 * quant_scan.c - flat-scan throughput of every storage type against float32,
 * one thread, with a STREAM-like memory bandwidth probe in the same run.
 *
 *   bench/build_quant.sh && build/bench/quant_scan [options]
 *     --n N          rows (default 1000000)
 *     --dim D        dimensions (default 768)
 *     --reps R       timed repetitions, the median is reported (default 5)
 *     --queries Q    queries per repetition (default 3)
 *     --types a,b    storage types (default: all)
 *     --stream-mb M  size of each STREAM array in MiB (default 1024)
 *     --simd L       force a kernel level (scalar, avx2, avx512)
 *
 * Data: N synthetic clustered vectors (1024 cluster centres, Gaussian
 * spread, unit length), deterministic. A scan is what the flat index does:
 * dist_range over blocks of 256 rows of the PRIMARY section plus a top-10
 * heap. Types are timed in interleaved rounds (each round scans every type);
 * the median round is the figure, the fastest round is shown too. Bandwidth
 * of a scan = PRIMARY bytes / scan time, as a fraction of the probe's read
 * bandwidth (a sum over a large array).
 * Every figure is one line "RESULT key=value ..." on stdout (bench/run
 * convention) and a table on stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "quant/quant.h"
#include "simd/simd.h"
#include "topk.h"

#define BLOCK 256
#define NCLUSTERS 1024
#define MAXREPS 64

static const char *const all_types[] = { "float32", "float16", "lvq8",      "lvq4",      "lvq4x4",
	                                  "lvq4x8",  "lvq8x8",  "leanvec4x8", "leanvec8x8" };

typedef struct opts {
	size_t n, dim, reps, queries, stream_mb;
	const char *types[16];
	size_t ntypes;
	const char *simd;
} opts;

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- STREAM-like probe --------------------------------------------------- */

typedef struct bw {
	double copy, triad, read; /* GB/s (1e9 bytes) */
} bw;

static double sum_array(const double *a, size_t n)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	for (size_t i = 0; i + 4 <= n; i += 4) {
		s0 += a[i];
		s1 += a[i + 1];
		s2 += a[i + 2];
		s3 += a[i + 3];
	}
	return s0 + s1 + s2 + s3;
}

static bw stream_probe(size_t mb, size_t reps)
{
	size_t n = mb * (1u << 20) / sizeof(double);
	double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
	bw r = { 0, 0, 0 };
	if (!a || !b || !c) {
		fprintf(stderr, "stream: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = 1.0, b[i] = 2.0, c[i] = 0.5;
	double tc[MAXREPS], tt[MAXREPS], tr[MAXREPS];
	volatile double sink = 0;
	for (size_t k = 0; k < reps; k++) {
		double t0 = bench_now();
		memcpy(b, a, n * sizeof *a);
		tc[k] = bench_now() - t0;
		t0 = bench_now();
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] + 3.0 * c[i];
		tt[k] = bench_now() - t0;
		t0 = bench_now();
		sink += sum_array(a, n);
		tr[k] = bench_now() - t0;
	}
	(void)sink;
	double bytes = (double)n * sizeof(double);
	r.copy = 2 * bytes / median(tc, reps) / 1e9;
	r.triad = 3 * bytes / median(tt, reps) / 1e9;
	r.read = bytes / median(tr, reps) / 1e9;
out:
	free(a);
	free(b);
	free(c);
	return r;
}

/* ---- data ------------------------------------------------------------------- */

static float gauss(uint64_t *s)
{
	/* Irwin-Hall with 4 uniforms: close enough to Gaussian for a workload */
	uint64_t x = bench_mix64(s);
	double u = (double)(x & 0xffff) + (double)((x >> 16) & 0xffff) + (double)((x >> 32) & 0xffff) +
	           (double)(x >> 48);
	return (float)((u / 65536.0 - 2.0) * 1.7320508);
}

static void normalize(float *v, size_t dim)
{
	double s = 0;
	for (size_t j = 0; j < dim; j++)
		s += (double)v[j] * v[j];
	float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0;
	for (size_t j = 0; j < dim; j++)
		v[j] *= inv;
}

static float *make_data(size_t n, size_t dim, uint64_t seed)
{
	float *c = malloc(NCLUSTERS * dim * sizeof *c), *x = malloc(n * dim * sizeof *x);
	if (!c || !x) {
		free(c);
		free(x);
		return NULL;
	}
	uint64_t s = seed;
	for (size_t i = 0; i < NCLUSTERS; i++) {
		for (size_t j = 0; j < dim; j++)
			c[i * dim + j] = gauss(&s);
		normalize(c + i * dim, dim);
	}
	double sigma = 0.9 / sqrt((double)dim);
	for (size_t r = 0; r < n; r++) {
		uint64_t rs = seed ^ (r * 0x9e3779b97f4a7c15ull);
		const float *ce = c + (bench_mix64(&rs) % NCLUSTERS) * dim;
		float *v = x + r * dim;
		for (size_t j = 0; j < dim; j++)
			v[j] = ce[j] + (float)sigma * gauss(&rs);
		normalize(v, dim);
	}
	free(c);
	return x;
}

/* ---- storage types ----------------------------------------------------------- */

/*
 * All types are encoded first (keeping only their PRIMARY rows, which is
 * what a scan reads), then timed in interleaved rounds: round k scans every
 * type once per query. On a shared machine the load then hits every type
 * alike, instead of whichever ran while another job was busy.
 */
typedef struct tstate {
	const char *name;
	const vl_quant_ops *ops;
	vl_qview v;
	uint8_t *state, *prim;
	void *qbuf;
	double bytes_per_vector, primary_bytes, train_s, encode_s;
	double t[MAXREPS], tc[MAXREPS];
	int ok;
} tstate;

typedef struct result {
	double bytes_per_vector, primary_bytes, encode_s, train_s;
	double scan_s, vps, gbs;   /* median round */
	double best_vps;           /* fastest round: closest to an idle machine */
	double cpu_vps;            /* from thread CPU time */
	int ok;
} result;

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double scan_once(const vl_qview *v, void *qbuf, vl_topk *top)
{
	float dist[BLOCK];
	double t0 = bench_now();
	vl_topk_clear(top);
	for (uint64_t r0 = 0; r0 < v->nrows; r0 += BLOCK) {
		size_t n = v->nrows - r0 < BLOCK ? (size_t)(v->nrows - r0) : BLOCK;
		v->ops->dist_range(v, qbuf, r0, n, dist);
		float worst = vl_topk_worst(top);
		for (size_t i = 0; i < n; i++)
			if (dist[i] <= worst && vl_topk_push(top, dist[i], (uint32_t)(r0 + i), 0))
				worst = vl_topk_worst(top);
	}
	return bench_now() - t0;
}

static int setup_type(const opts *o, tstate *ts, const float *x)
{
	vl_diag d;
	size_t slen = 0;
	ts->ops = vl_quant_find(ts->name);
	if (!ts->ops) {
		fprintf(stderr, "%s: unknown storage type\n", ts->name);
		return -1;
	}
	const vl_quant_ops *ops = ts->ops;
	double t0 = bench_now();
	if (ops->train) {
		size_t want = ops->train_rows(o->dim, NULL, 0);
		if (ops->train((uint32_t)o->dim, VL_METRIC_L2, NULL, 0, x, want < o->n ? want : o->n,
		               &ts->state, &slen, &d)) {
			fprintf(stderr, "%s: train: %s\n", ts->name, d.msg);
			return -1;
		}
	}
	ts->train_s = bench_now() - t0;
	ts->v = (vl_qview){ .ops = ops, .dim = (uint32_t)o->dim, .metric = VL_METRIC_L2, .nrows = o->n };
	if (ops->open(&ts->v, ts->state, slen, &d)) {
		fprintf(stderr, "%s: open: %s\n", ts->name, d.msg);
		return -1;
	}
	t0 = bench_now();
	if (!strcmp(ts->name, "float32")) {
		ts->v.primary = (const uint8_t *)x;
		ts->primary_bytes = 4.0 * o->dim;
	} else {
		size_t ps = ts->v.pstride, ss = ts->v.sstride;
		ts->prim = aligned_alloc(64, (o->n * ps + 63) / 64 * 64);
		uint8_t *srow = ss ? malloc(ss) : NULL; /* the secondary is not scanned: one row */
		if (!ts->prim || (ss && !srow)) {
			free(srow);
			fprintf(stderr, "%s: out of memory\n", ts->name);
			return -1;
		}
		for (size_t r = 0; r < o->n; r++)
			ops->encode(&ts->v, x + r * o->dim, ts->prim + r * ps, srow);
		free(srow);
		ts->v.primary = ts->prim;
		ts->primary_bytes = (double)ps;
	}
	ts->encode_s = bench_now() - t0;
	ts->bytes_per_vector = ts->primary_bytes + (double)ts->v.sstride;
	ts->qbuf = aligned_alloc(64, (ts->v.qbuf_size + 63) / 64 * 64);
	return ts->qbuf ? 0 : -1;
}

static void free_type(tstate *ts)
{
	if (ts->ops && ts->v.state)
		ts->ops->close(&ts->v);
	free(ts->state);
	free(ts->prim);
	free(ts->qbuf);
}

static void run_all(const opts *o, const float *x, const float *queries, result *res)
{
	tstate ts[16];
	memset(ts, 0, sizeof ts);
	for (size_t i = 0; i < o->ntypes; i++) {
		ts[i].name = o->types[i];
		fprintf(stderr, "encoding %s...\n", ts[i].name);
		ts[i].ok = setup_type(o, &ts[i], x) == 0;
	}
	vl_topk top;
	if (vl_topk_init(&top, 10))
		return;
	for (size_t i = 0; i < o->ntypes; i++)
		if (ts[i].ok) { /* warm-up: page in, train branch predictors */
			ts[i].ops->prepare(&ts[i].v, queries, ts[i].qbuf);
			scan_once(&ts[i].v, ts[i].qbuf, &top);
		}
	for (size_t k = 0; k < o->reps; k++) {
		fprintf(stderr, "round %zu/%zu\n", k + 1, o->reps);
		for (size_t i = 0; i < o->ntypes; i++) {
			if (!ts[i].ok)
				continue;
			double sum = 0, c0 = cpu_now();
			for (size_t q = 0; q < o->queries; q++) {
				ts[i].ops->prepare(&ts[i].v, queries + q * o->dim, ts[i].qbuf);
				sum += scan_once(&ts[i].v, ts[i].qbuf, &top);
			}
			ts[i].t[k] = sum / (double)o->queries;
			ts[i].tc[k] = (cpu_now() - c0) / (double)o->queries;
		}
	}
	vl_topk_free(&top);
	for (size_t i = 0; i < o->ntypes; i++) {
		result *r = &res[i];
		memset(r, 0, sizeof *r);
		if (!ts[i].ok) {
			free_type(&ts[i]);
			continue;
		}
		r->ok = 1;
		r->bytes_per_vector = ts[i].bytes_per_vector;
		r->primary_bytes = ts[i].primary_bytes;
		r->train_s = ts[i].train_s;
		r->encode_s = ts[i].encode_s;
		r->scan_s = median(ts[i].t, o->reps); /* sorts t: t[0] is the fastest */
		r->best_vps = (double)o->n / ts[i].t[0];
		r->vps = (double)o->n / r->scan_s;
		r->gbs = r->primary_bytes * (double)o->n / r->scan_s / 1e9;
		r->cpu_vps = (double)o->n / median(ts[i].tc, o->reps);
		free_type(&ts[i]);
	}
}

static int parse(int argc, char **argv, opts *o)
{
	o->n = 1000000, o->dim = 768, o->reps = 5, o->queries = 3, o->stream_mb = 1024;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "%s: missing value\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--n"))
			o->n = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--dim"))
			o->dim = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--reps"))
			o->reps = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--queries"))
			o->queries = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--stream-mb"))
			o->stream_mb = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--simd"))
			o->simd = v;
		else if (!strcmp(a, "--types")) {
			static char buf[512];
			snprintf(buf, sizeof buf, "%s", v);
			o->ntypes = 0;
			for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && o->ntypes < 16;
			     t = strtok_r(NULL, ",", &save))
				o->types[o->ntypes++] = t;
		} else {
			fprintf(stderr, "unknown option %s\n", a);
			return -1;
		}
	}
	if (!o->n || !o->dim || o->dim > 65535 || !o->reps || o->reps > MAXREPS || !o->queries) {
		fprintf(stderr, "bad options\n");
		return -1;
	}
	if (!o->ntypes)
		for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++)
			o->types[o->ntypes++] = all_types[i];
	return 0;
}

int main(int argc, char **argv)
{
	opts o = { 0 };
	if (parse(argc, argv, &o))
		return 2;
	if (o.simd && vl_simd_force((vl_simd_level)vl_simd_parse_level(o.simd))) {
		fprintf(stderr, "--simd %s: not available on this CPU\n", o.simd);
		return 2;
	}
	fprintf(stderr, "kernels %s; STREAM probe %zu MiB arrays...\n", vl_kern()->name, o.stream_mb);
	bw b = stream_probe(o.stream_mb, o.reps);
	printf("RESULT bench=quant_scan probe=stream copy_gbs=%.2f triad_gbs=%.2f read_gbs=%.2f\n",
	       b.copy, b.triad, b.read);
	fprintf(stderr, "STREAM (1 thread): copy %.2f GB/s, triad %.2f GB/s, read %.2f GB/s\n", b.copy,
	        b.triad, b.read);
	fprintf(stderr, "generating %zu x %zu clustered vectors...\n", o.n, o.dim);
	float *x = make_data(o.n, o.dim, 0x7175616e74ull);
	float *qs = make_data(o.queries, o.dim, 0x7175657279ull);
	if (!x || !qs) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	result res[16];
	double f32 = 0, f32best = 0;
	run_all(&o, x, qs, res);
	for (size_t i = 0; i < o.ntypes; i++)
		if (!strcmp(o.types[i], "float32") && res[i].ok)
			f32 = res[i].vps, f32best = res[i].best_vps;
	fprintf(stderr, "\n%zu x %zu, one thread, kernels %s, %zu interleaved rounds x %zu scans\n",
	        o.n, o.dim, vl_kern()->name, o.reps, o.queries);
	fprintf(stderr, "%-11s %9s %9s %12s %8s %8s %9s %12s %8s %8s %8s\n", "storage", "bytes/vec",
	        "primary", "vectors/s", "vs f32", "GB/s", "of read", "best vec/s", "vs f32", "train s",
	        "encode s");
	for (size_t i = 0; i < o.ntypes; i++) {
		const result *r = &res[i];
		if (!r->ok)
			continue;
		fprintf(stderr, "%-11s %9.0f %9.0f %12.0f %7.2fx %8.2f %8.0f%% %12.0f %7.2fx %8.2f %8.2f\n",
		        o.types[i], r->bytes_per_vector, r->primary_bytes, r->vps, f32 > 0 ? r->vps / f32 : 0,
		        r->gbs, b.read > 0 ? 100 * r->gbs / b.read : 0, r->best_vps,
		        f32best > 0 ? r->best_vps / f32best : 0, r->train_s, r->encode_s);
		printf("RESULT bench=quant_scan storage=%s n=%zu dim=%zu kernels=%s bytes_per_vector=%.0f "
		       "primary_bytes=%.0f vectors_per_s=%.0f speedup_vs_float32=%.3f gbs=%.3f "
		       "fraction_of_read_bw=%.3f best_vectors_per_s=%.0f best_speedup=%.3f "
		       "cpu_vectors_per_s=%.0f train_s=%.3f encode_s=%.3f\n",
		       o.types[i], o.n, o.dim, vl_kern()->name, r->bytes_per_vector, r->primary_bytes, r->vps,
		       f32 > 0 ? r->vps / f32 : 0, r->gbs, b.read > 0 ? r->gbs / b.read : 0, r->best_vps,
		       f32best > 0 ? r->best_vps / f32best : 0, r->cpu_vps, r->train_s, r->encode_s);
	}
	free(x);
	free(qs);
	return 0;
}
