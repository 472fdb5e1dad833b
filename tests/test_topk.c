/* test_topk.c - the bounded heap keeps exactly the k best, ties by row. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "topk.h"
#include "util/tstore.h"

static int cmp(const void *a, const void *b)
{
	const vl_cand *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

Test(topk, equals_sorting)
{
	ts_rng r = { 1 };
	for (size_t cap = 1; cap < 40; cap += 3) {
		size_t n = 500;
		vl_cand *all = malloc(n * sizeof *all);
		vl_topk t;
		cr_assert_eq(vl_topk_init(&t, cap), 0);
		for (size_t i = 0; i < n; i++) {
			/* many equal distances to exercise tie-breaking */
			all[i] = (vl_cand){ (float)(ts_next(&r) % 50), (uint32_t)i, 0 };
			vl_topk_push(&t, all[i].dist, all[i].row, 0);
		}
		qsort(all, n, sizeof *all, cmp);
		vl_topk_sort(&t);
		cr_assert_eq(t.n, cap);
		for (size_t i = 0; i < cap; i++) {
			cr_assert_eq(t.a[i].dist, all[i].dist);
			cr_assert_eq(t.a[i].row, all[i].row, "cap %zu rank %zu", cap, i);
		}
		vl_topk_free(&t);
		free(all);
	}
}
