/*
 * gt.c - exact top-k ground truth by brute force (the recall oracle).
 *
 *   gt BASE.fvecs QUERIES.fvecs OUT.ivecs [-k 100] [-t threads] [-m l2|ip]
 *      [-n base_rows] [-q query_rows]
 *
 * Writes one ivecs row of k base row numbers per query, closest first; ties
 * are broken by the smaller row number so the output is deterministic.
 * Distances are summed in 16 float lanes and the lanes in double: for
 * byte-valued data (Fashion-MNIST, dim 784) every lane partial stays below
 * 2^24 and the result is exact.
 *
 * Work is split into blocks of QB queries: a block stays in L2 while the base
 * streams past once, so memory traffic is |base| * nq / QB.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "bench_util.h"

#define QB 32
#define LANES 16

typedef struct cand {
	double dist;
	int32_t id;
} cand;

typedef struct gt_job {
	const float *base, *queries;
	size_t nb, nq, dim, k;
	int ip;
	int32_t *out;
	atomic_size_t next_block;
} gt_job;

/* (a worse than b) in the max-heap order: larger distance, then larger id. */
static int cand_worse(const cand *a, const cand *b)
{
	return a->dist > b->dist || (a->dist == b->dist && a->id > b->id);
}

static void heap_sift_down(cand *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && cand_worse(&h[l], &h[m]))
			m = l;
		if (r < n && cand_worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		cand t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_push(cand *h, size_t *n, size_t k, cand c)
{
	if (*n < k) {
		size_t i = (*n)++;
		h[i] = c;
		while (i > 0 && cand_worse(&h[i], &h[(i - 1) / 2])) {
			cand t = h[i];
			h[i] = h[(i - 1) / 2];
			h[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
	} else if (cand_worse(&h[0], &c)) {
		h[0] = c;
		heap_sift_down(h, *n, 0);
	}
}

static int cand_cmp(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	return cand_worse(x, y) - cand_worse(y, x);
}

static double distance(const float *q, const float *x, size_t dim, int ip)
{
	float acc[LANES] = {0};
	size_t j = 0;
	if (ip) {
		for (; j + LANES <= dim; j += LANES)
			for (size_t l = 0; l < LANES; l++)
				acc[l] += q[j + l] * x[j + l];
	} else {
		for (; j + LANES <= dim; j += LANES)
			for (size_t l = 0; l < LANES; l++) {
				float d = q[j + l] - x[j + l];
				acc[l] += d * d;
			}
	}
	double s = 0;
	for (size_t l = 0; l < LANES; l++)
		s += acc[l];
	for (; j < dim; j++) {
		double d = ip ? (double)q[j] * x[j] : ((double)q[j] - x[j]) * ((double)q[j] - x[j]);
		s += d;
	}
	return ip ? -s : s;
}

static void gt_block(gt_job *J, size_t q0, cand *heaps)
{
	size_t nq = J->nq - q0 < QB ? J->nq - q0 : QB;
	size_t fill[QB] = {0};
	for (size_t b = 0; b < J->nb; b++) {
		const float *x = J->base + b * J->dim;
		for (size_t i = 0; i < nq; i++) {
			cand c = {distance(J->queries + (q0 + i) * J->dim, x, J->dim, J->ip), (int32_t)b};
			heap_push(heaps + i * J->k, &fill[i], J->k, c);
		}
	}
	for (size_t i = 0; i < nq; i++) {
		cand *h = heaps + i * J->k;
		qsort(h, fill[i], sizeof *h, cand_cmp);
		for (size_t j = 0; j < J->k; j++)
			J->out[(q0 + i) * J->k + j] = j < fill[i] ? h[j].id : -1;
	}
}

static void *gt_worker(void *arg)
{
	gt_job *J = arg;
	cand *heaps = malloc(QB * J->k * sizeof *heaps);
	if (!heaps) {
		fprintf(stderr, "gt: out of memory\n");
		exit(1);
	}
	for (;;) {
		size_t blk = atomic_fetch_add(&J->next_block, 1);
		if (blk * QB >= J->nq)
			break;
		gt_block(J, blk * QB, heaps);
	}
	free(heaps);
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: gt BASE.fvecs QUERIES.fvecs OUT.ivecs [-k 100] [-t threads] "
	                "[-m l2|ip] [-n base_rows] [-q query_rows]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	size_t k = 100, threads = 0, nb_lim = 0, nq_lim = 0;
	int ip = 0;
	for (int i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		const char *v = argv[++i];
		switch (argv[i - 1][1]) {
		case 'k': k = strtoull(v, NULL, 10); break;
		case 't': threads = strtoull(v, NULL, 10); break;
		case 'n': nb_lim = strtoull(v, NULL, 10); break;
		case 'q': nq_lim = strtoull(v, NULL, 10); break;
		case 'm': ip = strcmp(v, "ip") == 0; break;
		default: return usage();
		}
	}
	bench_mat base, qs;
	if (bench_read_vecs(argv[1], nb_lim, &base) || bench_read_vecs(argv[2], nq_lim, &qs))
		return 1;
	if (base.dim != qs.dim || k == 0 || k > base.n) {
		fprintf(stderr, "gt: base dim %zu / query dim %zu / k %zu do not fit\n", base.dim,
		        qs.dim, k);
		return 1;
	}
	if (threads == 0)
		threads = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
	gt_job J = {base.data, qs.data, base.n, qs.n, base.dim, k, ip, NULL, 0};
	J.out = malloc(qs.n * k * sizeof *J.out);
	pthread_t *tids = calloc(threads, sizeof *tids);
	if (!J.out || !tids) {
		fprintf(stderr, "gt: out of memory\n");
		return 1;
	}
	double t0 = bench_now();
	for (size_t t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, gt_worker, &J)) {
			fprintf(stderr, "gt: pthread_create failed\n");
			return 1;
		}
	for (size_t t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	FILE *f = fopen(argv[3], "wb");
	if (!f || bench_write_vecs(f, J.out, qs.n, k) || fclose(f)) {
		fprintf(stderr, "gt: cannot write %s\n", argv[3]);
		return 1;
	}
	fprintf(stderr, "gt: %zu queries x %zu base rows (dim %zu), top-%zu in %.1f s on %zu threads\n",
	        qs.n, base.n, base.dim, k, bench_now() - t0, threads);
	free(J.out);
	free(tids);
	free(base.data);
	free(qs.data);
	return 0;
}
