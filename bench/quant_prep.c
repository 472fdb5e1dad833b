/*
 * quant_prep.c - the per-query costs of the storage types outside the scan:
 * query preparation (prepare), re-ranking candidates with the secondary
 * level (dist_secondary, one row at a time and batched), and encoding.
 *
 *   cc -std=c11 -O2 -g -D_GNU_SOURCE -pthread -Iengine -Iformat -I. -Ibench \
 *      -o build/bench/quant_prep bench/quant_prep.c build/libveclite.a \
 *      -llmdb -lzstd -luring -lm -pthread
 *   build/bench/quant_prep [--fvecs FILE | --dim D] [--n N] [--queries Q] [--reps R]
 *                          [--cand C] [--types a,b] [--simd L] [--metric l2|ip|cosine]
 *                          [--rowwise 1]
 *
 * Data: the first N rows of FILE (.fvecs), or N synthetic clustered vectors
 * of D dims (deterministic); queries are Q further rows (held out). Each type
 * is trained on min(N, 10240) rows and encodes all N (timed; with the
 * type's encode_rows when the library has it, unless --rowwise 1). Then, in
 * R rounds interleaved over the types: prepare every query (ns per call),
 * and re-rank C random rows
 * per query (default 40) with dist_secondary row by row and, when the ops
 * have it, with dist_secondary_rows (µs per C candidates). Figures are the
 * median round. Every time is CPU time of the thread (clock_gettime
 * CLOCK_THREAD_CPUTIME_ID: on a shared machine wall-clock time measures the
 * other jobs). One "RESULT key=value ..." line per type on stdout.
 *
 * Build with -DQP_BASELINE against a library without the batched ops.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "quant/quant.h"
#include "simd/simd.h"

#define MAXREPS 64
#define MAXTYPES 16

static const char *const default_types[] = { "lvq4",   "lvq8",   "lvq4x4",     "lvq4x8",
	                                      "lvq8x8", "leanvec4x8", "leanvec8x8" };

typedef struct opts {
	const char *fvecs, *simd, *metric;
	size_t n, dim, queries, reps, cand;
	int rowwise; /* --rowwise 1: encode row by row even when encode_rows exists */
	const char *types[MAXTYPES];
	size_t ntypes;
} opts;

typedef struct tstate {
	const char *name;
	const vl_quant_ops *ops;
	vl_qview v;
	uint8_t *state, *prim, *sec;
	void *qbuf;
	double train_s, encode_s;
	double prep[MAXREPS], rr1[MAXREPS], rrb[MAXREPS];
	int ok;
} tstate;

/* CPU time of this thread: the machine is shared, and a descheduled
 * thread's wall-clock time measures the other jobs. */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double median(double *v, size_t n)
{
	double *c = malloc(n * sizeof *c);
	memcpy(c, v, n * sizeof *c);
	qsort(c, n, sizeof *c, bench_cmp_double);
	double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
	free(c);
	return m;
}

static double gauss(uint64_t *s)
{
	double u1 = ((double)(bench_mix64(s) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = (double)(bench_mix64(s) >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Clustered unit vectors: 256 Gaussian centres, spread 0.4. */
static float *synth(size_t n, size_t dim)
{
	enum { NC = 256 };
	uint64_t s = 0x5eed;
	float *c = malloc((size_t)NC * dim * sizeof *c), *x = malloc(n * dim * sizeof *x);
	if (!c || !x)
		exit(1);
	for (size_t i = 0; i < (size_t)NC * dim; i++)
		c[i] = (float)gauss(&s);
	for (size_t r = 0; r < n; r++) {
		const float *ct = c + (bench_mix64(&s) % NC) * dim;
		double nn = 0;
		for (size_t j = 0; j < dim; j++) {
			x[r * dim + j] = ct[j] + 0.4f * (float)gauss(&s);
			nn += (double)x[r * dim + j] * x[r * dim + j];
		}
		for (size_t j = 0; j < dim; j++)
			x[r * dim + j] = (float)(x[r * dim + j] / sqrt(nn));
	}
	free(c);
	return x;
}

static int setup(const opts *o, tstate *t, const float *x, vl_metric m)
{
	vl_diag d;
	size_t slen = 0;
	t->ops = vl_quant_find(t->name);
	if (!t->ops) {
		fprintf(stderr, "%s: unknown storage type\n", t->name);
		return -1;
	}
	const vl_quant_ops *ops = t->ops;
	double t0 = cpu_now();
	size_t want = ops->train_rows ? ops->train_rows((uint32_t)o->dim, NULL, 0) : 0;
	if (ops->train && ops->train((uint32_t)o->dim, m, NULL, 0, x, want && want < o->n ? want : o->n,
	                             &t->state, &slen, &d)) {
		fprintf(stderr, "%s: train: %s\n", t->name, d.msg);
		return -1;
	}
	t->train_s = cpu_now() - t0;
	t->v = (vl_qview){ .ops = ops, .dim = (uint32_t)o->dim, .metric = m, .nrows = o->n };
	if (ops->open(&t->v, t->state, slen, &d)) {
		fprintf(stderr, "%s: open: %s\n", t->name, d.msg);
		return -1;
	}
	size_t ps = t->v.pstride, ss = t->v.sstride;
	t->prim = aligned_alloc(64, (o->n * ps + 63) / 64 * 64);
	t->sec = ss ? aligned_alloc(64, (o->n * ss + 63) / 64 * 64) : NULL;
	t->qbuf = aligned_alloc(64, (t->v.qbuf_size + 63) / 64 * 64);
	if (!t->prim || (ss && !t->sec) || !t->qbuf)
		return -1;
	t0 = cpu_now();
#ifndef QP_BASELINE
	if (ops->encode_rows && !o->rowwise)
		ops->encode_rows(&t->v, x, o->n, t->prim, t->sec);
	else
#endif
		for (size_t r = 0; r < o->n; r++)
			ops->encode(&t->v, x + r * o->dim, t->prim + r * ps, ss ? t->sec + r * ss : NULL);
	t->encode_s = cpu_now() - t0;
	t->v.primary = t->prim;
	t->v.secondary = t->sec;
	return 0;
}

static volatile float sink;

static void round_one(const opts *o, tstate *t, const float *qs, const uint32_t *cand, size_t rep)
{
	const vl_quant_ops *ops = t->ops;
	double t0 = cpu_now();
	for (size_t i = 0; i < o->queries; i++)
		ops->prepare(&t->v, qs + i * o->dim, t->qbuf);
	t->prep[rep] = (cpu_now() - t0) / (double)o->queries * 1e9;
	if (!ops->dist_secondary)
		return;
	float acc = 0;
	double tr = 0, tb = 0;
#ifndef QP_BASELINE
	float out[1024];
#endif
	for (size_t i = 0; i < o->queries; i++) {
		ops->prepare(&t->v, qs + i * o->dim, t->qbuf);
		const uint32_t *c = cand + i * o->cand;
		double a = cpu_now();
		for (size_t j = 0; j < o->cand; j++)
			acc += ops->dist_secondary(&t->v, t->qbuf, c[j]);
		tr += cpu_now() - a;
#ifndef QP_BASELINE
		if (ops->dist_secondary_rows) {
			/* other candidates than the row-by-row pass: no warm cache */
			const uint32_t *c2 = cand + ((i + o->queries / 2) % o->queries) * o->cand;
			a = cpu_now();
			ops->dist_secondary_rows(&t->v, t->qbuf, c2, o->cand, out);
			tb += cpu_now() - a;
			acc += out[0];
		}
#endif
	}
	sink = acc;
	t->rr1[rep] = tr / (double)o->queries * 1e6;
	t->rrb[rep] = tb / (double)o->queries * 1e6;
}

static int parse(int argc, char **argv, opts *o)
{
	memset(o, 0, sizeof *o);
	o->n = 20000;
	o->dim = 768;
	o->queries = 1000;
	o->reps = 7;
	o->cand = 40;
	o->metric = "l2";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--fvecs"))
			o->fvecs = v;
		else if (!strcmp(a, "--dim"))
			o->dim = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--n"))
			o->n = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--queries"))
			o->queries = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--reps"))
			o->reps = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--cand"))
			o->cand = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--simd"))
			o->simd = v;
		else if (!strcmp(a, "--rowwise"))
			o->rowwise = atoi(v);
		else if (!strcmp(a, "--metric"))
			o->metric = v;
		else if (!strcmp(a, "--types")) {
			char *s = strdup(v);
			for (char *p = strtok(s, ","); p && o->ntypes < MAXTYPES; p = strtok(NULL, ","))
				o->types[o->ntypes++] = p;
		} else
			return -1;
	}
	if (!o->ntypes)
		for (size_t i = 0; i < sizeof default_types / sizeof *default_types; i++)
			o->types[o->ntypes++] = default_types[i];
	if (o->reps < 1 || o->reps > MAXREPS || o->cand < 1 || o->cand > 1024 || o->queries < 2 ||
	    o->n < 1)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	opts o;
	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: see the header of bench/quant_prep.c\n");
		return 2;
	}
	if (o.simd && vl_simd_force((vl_simd_level)vl_simd_parse_level(o.simd))) {
		fprintf(stderr, "kernel level %s not available\n", o.simd);
		return 2;
	}
	vl_metric m = !strcmp(o.metric, "ip") ? VL_METRIC_IP
	              : !strcmp(o.metric, "cosine") ? VL_METRIC_COSINE
	                                            : VL_METRIC_L2;
	float *x;
	if (o.fvecs) {
		bench_mat bm;
		if (bench_read_vecs(o.fvecs, o.n + o.queries, &bm))
			return 1;
		if (bm.n < o.n + 2) {
			fprintf(stderr, "%s: only %zu rows\n", o.fvecs, bm.n);
			return 1;
		}
		o.dim = bm.dim;
		if (bm.n < o.n + o.queries)
			o.queries = bm.n - o.n;
		x = bm.data;
	} else {
		x = synth(o.n + o.queries, o.dim);
	}
	const float *qs = x + o.n * o.dim;
	uint32_t *cand = malloc(o.queries * o.cand * sizeof *cand);
	uint64_t s = 7;
	for (size_t i = 0; i < o.queries * o.cand; i++)
		cand[i] = (uint32_t)(bench_mix64(&s) % o.n);
	tstate *ts = calloc(o.ntypes, sizeof *ts);
	for (size_t i = 0; i < o.ntypes; i++) {
		ts[i].name = o.types[i];
		ts[i].ok = setup(&o, &ts[i], x, m) == 0;
	}
	double l0 = 0;
	{
		FILE *f = fopen("/proc/loadavg", "r");
		if (f && fscanf(f, "%lf", &l0) != 1)
			l0 = 0;
		if (f)
			fclose(f);
	}
	for (size_t i = 0; i < o.ntypes; i++) /* warm-up */
		if (ts[i].ok)
			round_one(&o, &ts[i], qs, cand, 0);
	for (size_t rep = 0; rep < o.reps; rep++)
		for (size_t i = 0; i < o.ntypes; i++)
			if (ts[i].ok)
				round_one(&o, &ts[i], qs, cand, rep);
	fprintf(stderr, "%zu x %zu (%s), %zu queries, %zu candidates, kernels %s, load %.1f\n", o.n,
	        o.dim, o.fvecs ? o.fvecs : "synthetic", o.queries, o.cand, vl_kern()->name, l0);
	fprintf(stderr, "%-11s %12s %14s %14s %10s %10s %12s\n", "storage", "prepare ns",
	        "rerank1 us", "rerankB us", "train s", "encode s", "encode r/s");
	for (size_t i = 0; i < o.ntypes; i++) {
		tstate *t = &ts[i];
		if (!t->ok)
			continue;
		double p = median(t->prep, o.reps), r1 = median(t->rr1, o.reps),
		       rb = median(t->rrb, o.reps);
		fprintf(stderr, "%-11s %12.0f %14.2f %14.2f %10.3f %10.3f %12.0f\n", t->name, p, r1, rb,
		        t->train_s, t->encode_s, (double)o.n / t->encode_s);
		printf("RESULT kind=quant_prep storage=%s dim=%zu kernels=%s prepare_ns=%.1f "
		       "rerank_row_us=%.3f rerank_batch_us=%.3f cand=%zu train_s=%.4f encode_s=%.4f "
		       "load=%.1f\n",
		       t->name, o.dim, vl_kern()->name, p, r1, rb, o.cand, t->train_s, t->encode_s, l0);
	}
	return 0;
}
