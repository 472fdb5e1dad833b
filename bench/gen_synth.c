/*
 * gen_synth.c - deterministic clustered, normalized vectors (stand-ins for
 * 768-d text embeddings such as nomic-embed-text or all-mpnet-base-v2).
 *
 *   gen_synth OUTDIR N NQ [-d 768] [-c 1024] [-s seed]
 *
 * writes OUTDIR/base.fvecs (N rows) and OUTDIR/query.fvecs (NQ rows).
 *
 * Model: TOPICS random unit directions; each of C clusters is a topic plus
 * Gaussian spread, normalized; each vector is its cluster centre plus noise,
 * normalized (cosine to its centre about 0.8, to an unrelated vector near 0).
 * Cluster sizes are uneven (a cluster is drawn with probability ~ 1/sqrt(rank)).
 * Row i depends only on (seed, i), so a smaller set is a prefix of a larger
 * one. Queries are rows numbered from 2^40 on: same distribution, held out
 * from every base.
 */
#include <math.h>
#include <sys/stat.h>

#include "bench_util.h"

#define TOPICS 32
#define QUERY_BASE (1ull << 40)

typedef struct synth {
	size_t dim, nclusters;
	float *centres;     /* nclusters x dim, unit */
	double *cdf;        /* cluster choice, cumulative */
	uint64_t seed;
} synth;

static double gauss(uint64_t *rng)
{
	double u1 = ((bench_mix64(rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
	double u2 = (bench_mix64(rng) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void normalize(float *v, size_t dim)
{
	double s = 0;
	for (size_t j = 0; j < dim; j++)
		s += (double)v[j] * v[j];
	float inv = (float)(1.0 / sqrt(s));
	for (size_t j = 0; j < dim; j++)
		v[j] *= inv;
}

/* v = normalize(centre + sigma * g / sqrt(dim)), g standard Gaussian. */
static void perturb(const float *centre, float *v, size_t dim, double sigma, uint64_t *rng)
{
	double sc = sigma / sqrt((double)dim);
	for (size_t j = 0; j < dim; j++)
		v[j] = (float)(centre[j] + sc * gauss(rng));
	normalize(v, dim);
}

static int synth_init(synth *S)
{
	size_t d = S->dim, C = S->nclusters;
	float *topics = malloc(TOPICS * d * sizeof *topics);
	S->centres = malloc(C * d * sizeof *S->centres);
	S->cdf = malloc(C * sizeof *S->cdf);
	if (!topics || !S->centres || !S->cdf)
		return -1;
	uint64_t rng = S->seed;
	for (size_t t = 0; t < TOPICS; t++) {
		for (size_t j = 0; j < d; j++)
			topics[t * d + j] = (float)gauss(&rng);
		normalize(topics + t * d, d);
	}
	double total = 0;
	for (size_t c = 0; c < C; c++) {
		perturb(topics + (bench_mix64(&rng) % TOPICS) * d, S->centres + c * d, d, 1.0, &rng);
		total += 1.0 / sqrt((double)c + 1.0);
		S->cdf[c] = total;
	}
	for (size_t c = 0; c < C; c++)
		S->cdf[c] /= total;
	free(topics);
	return 0;
}

static size_t pick_cluster(const synth *S, double u)
{
	size_t lo = 0, hi = S->nclusters - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (S->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void synth_row(const synth *S, uint64_t i, float *v)
{
	uint64_t rng = S->seed ^ (i * 0xD1B54A32D192ED03ull + 0x8BB84B93962EACC9ull);
	bench_mix64(&rng);
	double u = (bench_mix64(&rng) >> 11) * (1.0 / 9007199254740992.0);
	perturb(S->centres + pick_cluster(S, u) * S->dim, v, S->dim, 0.75, &rng);
}

static int write_rows(const synth *S, const char *path, uint64_t first, size_t n)
{
	FILE *f = fopen(path, "wb");
	float *v = malloc(S->dim * sizeof *v);
	if (!f || !v) {
		fprintf(stderr, "gen_synth: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		synth_row(S, first + i, v);
		if (bench_write_vecs(f, v, 1, S->dim))
			return -1;
	}
	free(v);
	if (fclose(f)) {
		fprintf(stderr, "gen_synth: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: gen_synth OUTDIR N NQ [-d 768] [-c 1024] [-s seed]\n");
		return 2;
	}
	synth S = {768, 1024, NULL, NULL, 42};
	size_t n = strtoull(argv[2], NULL, 10), nq = strtoull(argv[3], NULL, 10);
	for (int i = 4; i + 1 < argc; i += 2) {
		uint64_t v = strtoull(argv[i + 1], NULL, 10);
		if (strcmp(argv[i], "-d") == 0)
			S.dim = v;
		else if (strcmp(argv[i], "-c") == 0)
			S.nclusters = v;
		else if (strcmp(argv[i], "-s") == 0)
			S.seed = v;
	}
	if (!n || !nq || !S.dim || !S.nclusters || synth_init(&S)) {
		fprintf(stderr, "gen_synth: bad arguments or out of memory\n");
		return 1;
	}
	mkdir(argv[1], 0755);
	char path[4096];
	double t0 = bench_now();
	snprintf(path, sizeof path, "%s/base.fvecs", argv[1]);
	if (write_rows(&S, path, 0, n))
		return 1;
	snprintf(path, sizeof path, "%s/query.fvecs", argv[1]);
	if (write_rows(&S, path, QUERY_BASE, nq))
		return 1;
	fprintf(stderr, "gen_synth: %zu base + %zu query rows, dim %zu, %zu clusters, seed %llu, %.1f s\n",
	        n, nq, S.dim, S.nclusters, (unsigned long long)S.seed, bench_now() - t0);
	free(S.centres);
	free(S.cdf);
	return 0;
}
