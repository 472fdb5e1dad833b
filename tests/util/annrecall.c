/* annrecall.c - see annrecall.h. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "annrecall.h"
#include "qtest.h"

void ar_load(ar_data *ds, size_t n, size_t nq)
{
	memset(ds, 0, sizeof *ds);
	size_t got;
	uint32_t dim;
	ds->base = qt_load_idx("fmnist-train-images", 0, n, &ds->n, &ds->dim);
	cr_assert(ds->base, "Fashion-MNIST missing: run `make data` (VECLITE_DATA=%s)",
	          getenv("VECLITE_DATA") ? getenv("VECLITE_DATA") : "build/data");
	ds->queries = qt_load_idx("fmnist-test-images", 0, nq, &got, &dim);
	cr_assert(ds->queries && dim == ds->dim);
	ds->nq = got;
	ds->metric = VL_METRIC_L2;
}

void ar_free(ar_data *ds)
{
	free(ds->base);
	free(ds->queries);
	free(ds->dist);
	memset(ds, 0, sizeof *ds);
}

static void exact_all(ar_data *ds)
{
	if (ds->dist)
		return;
	ds->dist = malloc(ds->nq * ds->n * sizeof *ds->dist);
	cr_assert(ds->dist);
	for (size_t q = 0; q < ds->nq; q++)
		for (size_t i = 0; i < ds->n; i++)
			ds->dist[q * ds->n + i] =
			    qt_exact_dist(ds->metric, ds->queries + q * ds->dim, ds->base + i * ds->dim, ds->dim);
}

/* k-th smallest exact distance among accepted rows; *matches = accepted rows. */
static double kth_accepted(const ar_data *ds, size_t q, const vl_accept *acc, uint32_t k,
                           size_t *matches)
{
	double *best = malloc((k + 1) * sizeof *best);
	cr_assert(best);
	size_t nb = 0, m = 0;
	for (size_t i = 0; i < ds->n; i++) {
		if (acc && !vl_accepts(acc, (uint32_t)i))
			continue;
		m++;
		double d = ds->dist[q * ds->n + i];
		if (nb == k && d >= best[k - 1])
			continue;
		size_t j = nb < k ? nb++ : k - 1;
		while (j > 0 && best[j - 1] > d) {
			best[j] = best[j - 1];
			j--;
		}
		best[j] = d;
	}
	*matches = m;
	double r = nb ? best[nb - 1] : INFINITY;
	free(best);
	return r;
}

double ar_recall(const ix_seg *s, ar_data *ds, uint32_t k, size_t cap, const vl_accept *acc,
                 const char *const *params, size_t np, size_t *short_answers)
{
	exact_all(ds);
	double sum = 0;
	if (short_answers)
		*short_answers = 0;
	for (size_t q = 0; q < ds->nq; q++) {
		vl_topk t;
		vl_diag d = { 0 };
		int rc = ix_seg_search(s, ds->queries + q * ds->dim, k, cap, acc, params, np, &t, NULL, &d);
		cr_assert_eq(rc, VL_OK, "search: %s", d.msg);
		size_t matches;
		double kth = kth_accepted(ds, q, acc, k, &matches);
		uint32_t want = matches < k ? (uint32_t)matches : k;
		if (t.n < want && short_answers)
			(*short_answers)++;
		if (cap > k) {
			/* the engine re-ranks its window: here by exact distance (RERANK_WITH=full) */
			for (size_t i = 0; i < t.n; i++)
				t.a[i].dist = (float)ds->dist[q * ds->n + t.a[i].row];
			vl_topk_sort(&t);
		}
		uint32_t ok = 0;
		for (size_t i = 0; i < t.n && i < k; i++) {
			uint32_t r = t.a[i].row;
			cr_assert(r < ds->n);
			cr_assert(!acc || vl_accepts(acc, r), "row %u does not pass the filter", r);
			if (ds->dist[q * ds->n + r] <= kth + 1e-9 * (fabs(kth) + 1))
				ok++;
		}
		sum += want ? (double)ok / want : 1.0;
		vl_topk_free(&t);
	}
	return sum / (double)ds->nq;
}

int ar_pct_accept(void *ud, uint32_t row)
{
	const uint32_t *per_million = ud;
	uint64_t h = (uint64_t)row * 0x9E3779B97F4A7C15ull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return h % 1000000 < *per_million;
}
