/* qtest.c - see qtest.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtest.h"
#include "simd/simd.h"

uint64_t qt_next(qt_rng *r)
{
	/* splitmix64: tiny, seedable, good enough for test data */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double qt_uniform(qt_rng *r) { return (double)(qt_next(r) >> 11) * (1.0 / 9007199254740992.0); }

double qt_gauss(qt_rng *r)
{
	double u = qt_uniform(r), v = qt_uniform(r);
	return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

uint32_t qt_below(qt_rng *r, uint32_t n) { return (uint32_t)(qt_uniform(r) * n); }

void *qt_alloc(size_t bytes)
{
	size_t sz = (bytes + 63) / 64 * 64;
	void *p = aligned_alloc(64, sz ? sz : 64);
	if (!p)
		abort();
	memset(p, 0, sz ? sz : 64);
	return p;
}

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

float *qt_load_idx(const char *name, size_t first, size_t max_rows, size_t *n, uint32_t *dim)
{
	const char *dir = getenv("VECLITE_DATA");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "build/data", name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: cannot open (run `make data`)\n", path);
		return NULL;
	}
	unsigned char h[16];
	float *out = NULL;
	unsigned char *buf = NULL;
	if (fread(h, 1, 16, f) != 16 || be32(h) != 0x803) {
		fprintf(stderr, "%s: not an IDX uint8 image file\n", path);
		goto out;
	}
	size_t count = be32(h + 4), d = (size_t)be32(h + 8) * be32(h + 12);
	if (first >= count || d == 0 || d > 65535)
		goto out;
	size_t rows = count - first < max_rows ? count - first : max_rows;
	buf = malloc(rows * d);
	out = malloc(rows * d * sizeof *out);
	if (!buf || !out || fseek(f, (long)(16 + first * d), SEEK_SET) ||
	    fread(buf, 1, rows * d, f) != rows * d) {
		free(out);
		out = NULL;
		goto out;
	}
	for (size_t i = 0; i < rows * d; i++)
		out[i] = buf[i];
	*n = rows;
	*dim = (uint32_t)d;
out:
	free(buf);
	fclose(f);
	return out;
}

double qt_exact_dist(vl_metric m, const float *q, const float *x, uint32_t dim)
{
	double s = 0, qq = 0, xx = 0;
	for (uint32_t i = 0; i < dim; i++) {
		if (m == VL_METRIC_L2) {
			double d = (double)q[i] - x[i];
			s += d * d;
		} else {
			s += (double)q[i] * x[i];
			qq += (double)q[i] * q[i];
			xx += (double)x[i] * x[i];
		}
	}
	if (m == VL_METRIC_L2)
		return s;
	if (m == VL_METRIC_IP)
		return -s;
	return qq > 0 && xx > 0 ? 1.0 - s / sqrt(qq * xx) : 1.0;
}

typedef struct qt_hit {
	double d;
	uint32_t id;
} qt_hit;

static int hit_cmp(const void *a, const void *b)
{
	const qt_hit *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Float32 SIMD distances pick the nearest k + SLACK rows; those are re-ranked
 * in double, so the answer is exact unless float rounding moved a row across
 * a gap of SLACK places (it cannot at these magnitudes). */
#define SLACK 32

static double fast_dist(vl_metric m, const float *q, const float *x, uint32_t dim, double qq)
{
	const vl_kernels *k = vl_kern();
	if (m == VL_METRIC_L2)
		return k->l2_f32(q, x, dim);
	double dot = k->dot_f32(q, x, dim);
	if (m == VL_METRIC_IP)
		return -dot;
	double xx = k->dot_f32(x, x, dim);
	return qq > 0 && xx > 0 ? 1.0 - dot / sqrt(qq * xx) : 1.0;
}

void qt_exact_topk(vl_metric m, const float *q, const float *rows, size_t n, uint32_t dim,
                   uint32_t k, uint32_t *ids, double *kth)
{
	qt_hit *h = malloc(n * sizeof *h);
	if (!h)
		abort();
	double qq = vl_kern()->dot_f32(q, q, dim);
	for (size_t i = 0; i < n; i++) {
		h[i].d = fast_dist(m, q, rows + i * dim, dim, qq);
		h[i].id = (uint32_t)i;
	}
	qsort(h, n, sizeof *h, hit_cmp);
	size_t top = k + SLACK < n ? k + SLACK : n;
	for (size_t i = 0; i < top; i++)
		h[i].d = qt_exact_dist(m, q, rows + (size_t)h[i].id * dim, dim);
	qsort(h, top, sizeof *h, hit_cmp);
	for (uint32_t i = 0; i < k && i < n; i++)
		ids[i] = h[i].id;
	*kth = h[(k < n ? k : n) - 1].d;
	free(h);
}

double qt_recall(vl_metric m, const float *q, const float *rows, uint32_t dim, const uint32_t *got,
                 uint32_t k, double kth)
{
	uint32_t ok = 0;
	/* a tiny slack absorbs double rounding between equal distances */
	double lim = kth + 1e-9 * (fabs(kth) + 1);
	for (uint32_t i = 0; i < k; i++) {
		int dup = 0;
		for (uint32_t j = 0; j < i; j++)
			dup |= got[j] == got[i];
		if (!dup && got[i] != UINT32_MAX && qt_exact_dist(m, q, rows + (size_t)got[i] * dim, dim) <= lim)
			ok++;
	}
	return (double)ok / k;
}
