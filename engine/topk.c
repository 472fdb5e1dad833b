/* topk.c - bounded max-heap of candidates (see topk.h). */
#include <math.h>
#include <stdlib.h>

#include "topk.h"
#include "veclite.h"

int vl_topk_init(vl_topk *t, size_t cap)
{
	t->n = 0;
	t->cap = cap;
	t->a = cap ? malloc(cap * sizeof *t->a) : NULL;
	return (cap && !t->a) ? VL_ENOMEM : VL_OK;
}

void vl_topk_free(vl_topk *t)
{
	free(t->a);
	t->a = NULL;
	t->n = t->cap = 0;
}

float vl_topk_worst(const vl_topk *t)
{
	return t->n < t->cap ? INFINITY : t->a[0].dist;
}

static void sift_down(vl_cand *a, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && vl_cand_worse(&a[l], &a[m]))
			m = l;
		if (r < n && vl_cand_worse(&a[r], &a[m]))
			m = r;
		if (m == i)
			return;
		vl_cand tmp = a[i];
		a[i] = a[m];
		a[m] = tmp;
		i = m;
	}
}

int vl_topk_push(vl_topk *t, float dist, uint32_t row, uint32_t src)
{
	vl_cand c = { dist, row, src };
	if (t->cap == 0)
		return 0;
	if (t->n < t->cap) {
		size_t i = t->n++;
		while (i > 0) {
			size_t p = (i - 1) / 2;
			if (!vl_cand_worse(&c, &t->a[p]))
				break;
			t->a[i] = t->a[p];
			i = p;
		}
		t->a[i] = c;
		return 1;
	}
	if (!vl_cand_worse(&t->a[0], &c))
		return 0;
	t->a[0] = c;
	sift_down(t->a, t->n, 0);
	return 1;
}

static int cmp_cand(const void *x, const void *y)
{
	const vl_cand *a = x, *b = y;
	if (vl_cand_worse(a, b))
		return 1;
	if (vl_cand_worse(b, a))
		return -1;
	return 0;
}

void vl_topk_sort(vl_topk *t)
{
	qsort(t->a, t->n, sizeof *t->a, cmp_cand);
}
