/* attrcols.c - collect attribute values row by row and write them as columns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attrcols.h"
#include "tags.h"
#include "vl_bytes.h"

/* Growable arrays. */
typedef struct { uint32_t *p; size_t n, cap; } u32vec;
typedef struct { double *p; size_t n, cap; } f64vec;

static int u32_push(u32vec *v, uint32_t x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		uint32_t *p = realloc(v->p, cap * sizeof *p);
		if (!p)
			return VL_ENOMEM;
		v->p = p;
		v->cap = cap;
	}
	v->p[v->n++] = x;
	return VL_OK;
}

static int f64_push(f64vec *v, double x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		double *p = realloc(v->p, cap * sizeof *p);
		if (!p)
			return VL_ENOMEM;
		v->p = p;
		v->cap = cap;
	}
	v->p[v->n++] = x;
	return VL_OK;
}

/* Interning table for the distinct tags of one column. */
typedef struct tagdict {
	uint32_t *slots;       /* provisional id + 1, 0 = empty */
	size_t nslots;
	uint8_t *bytes;        /* concatenated tag strings */
	size_t blen, bcap;
	u32vec off;            /* start of tag i in bytes; off[n] = end */
	uint32_t ntags;
} tagdict;

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int dict_grow(tagdict *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *s = calloc(ns, sizeof *s);
	if (!s)
		return VL_ENOMEM;
	for (uint32_t id = 0; id < t->ntags; id++) {
		const uint8_t *p = t->bytes + t->off.p[id];
		size_t n = t->off.p[id + 1] - t->off.p[id];
		size_t i = hash_bytes(p, n) & (ns - 1);
		while (s[i])
			i = (i + 1) & (ns - 1);
		s[i] = id + 1;
	}
	free(t->slots);
	t->slots = s;
	t->nslots = ns;
	return VL_OK;
}

static int dict_intern(tagdict *t, const uint8_t *p, size_t n, uint32_t *id)
{
	if ((t->ntags + 1) * 2 > t->nslots && dict_grow(t))
		return VL_ENOMEM;
	size_t i = hash_bytes(p, n) & (t->nslots - 1);
	while (t->slots[i]) {
		uint32_t cand = t->slots[i] - 1;
		size_t cl = t->off.p[cand + 1] - t->off.p[cand];
		if (cl == n && memcmp(t->bytes + t->off.p[cand], p, n) == 0) {
			*id = cand;
			return VL_OK;
		}
		i = (i + 1) & (t->nslots - 1);
	}
	if (t->blen + n > UINT32_MAX)
		return VL_ELIMIT;
	if (t->blen + n > t->bcap) {
		size_t cap = t->bcap ? t->bcap * 2 : 4096;
		while (cap < t->blen + n)
			cap *= 2;
		uint8_t *b = realloc(t->bytes, cap);
		if (!b)
			return VL_ENOMEM;
		t->bytes = b;
		t->bcap = cap;
	}
	memcpy(t->bytes + t->blen, p, n);
	t->blen += n;
	if (t->off.n == 0 && u32_push(&t->off, 0))
		return VL_ENOMEM;
	if (u32_push(&t->off, (uint32_t)t->blen))
		return VL_ENOMEM;
	*id = t->ntags++;
	t->slots[i] = *id + 1;
	return VL_OK;
}

typedef struct column {
	uint16_t field_id;
	uint8_t type;
	f64vec num;
	tagdict dict;
	u32vec row_off;        /* tag: CSR offsets, row_off[0] = 0 */
	u32vec ids;
} column;

struct vl_colbuilder {
	uint32_t ncols;
	column *cols;
	uint64_t nrows;
};

int vl_colb_new(const vl_schema_rec *s, vl_colbuilder **out)
{
	vl_colbuilder *cb = calloc(1, sizeof *cb);
	if (!cb)
		return VL_ENOMEM;
	cb->cols = calloc(s->nfields ? s->nfields : 1, sizeof *cb->cols);
	if (!cb->cols) {
		free(cb);
		return VL_ENOMEM;
	}
	for (uint32_t i = 0; i < s->nfields; i++) {
		if (s->fields[i].type == VL_FIELD_TEXT)
			continue;
		column *c = &cb->cols[cb->ncols++];
		c->field_id = s->fields[i].id;
		c->type = s->fields[i].type;
		if (c->type == VL_FIELD_TAG && u32_push(&c->row_off, 0)) {
			vl_colb_free(cb);
			return VL_ENOMEM;
		}
	}
	*out = cb;
	return VL_OK;
}

static const vl_rowval *find_val(const vl_rowrec *r, uint16_t fid)
{
	for (uint32_t i = 0; i < r->nvalues; i++)
		if (r->values[i].field_id == fid)
			return &r->values[i];
	return NULL;
}

static int add_tags(column *c, const vl_rowval *v)
{
	if (v && (v->kind == VL_VAL_TAG || v->kind == VL_VAL_TEXT) && v->data) {
		size_t pos = 0, tl;
		const uint8_t *tag;
		uint32_t first = (uint32_t)c->ids.n;
		while (vl_tag_next(v->data, v->len, &pos, &tag, &tl)) {
			uint32_t id;
			int rc = dict_intern(&c->dict, tag, tl, &id);
			if (rc)
				return rc;
			int dup = 0;
			for (size_t j = first; j < c->ids.n; j++)
				dup |= c->ids.p[j] == id;
			if (!dup && u32_push(&c->ids, id))
				return VL_ENOMEM;
		}
	}
	if (c->ids.n > UINT32_MAX)
		return VL_ELIMIT;
	return u32_push(&c->row_off, (uint32_t)c->ids.n);
}

int vl_colb_add(vl_colbuilder *cb, const vl_rowrec *r)
{
	for (uint32_t i = 0; i < cb->ncols; i++) {
		column *c = &cb->cols[i];
		const vl_rowval *v = find_val(r, c->field_id);
		int rc;
		if (c->type == VL_FIELD_NUMERIC)
			rc = f64_push(&c->num, v && (v->kind == VL_VAL_NUM || v->kind == VL_VAL_NUMTEXT) ? v->num : NAN);
		else
			rc = add_tags(c, v);
		if (rc)
			return rc;
	}
	cb->nrows++;
	return VL_OK;
}

/* Sort tags byte-wise so readers binary-search the dictionary. */
static int cmp_tag(const void *x, const void *y, void *ctx)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	const tagdict *t = ctx;
	size_t la = t->off.p[a + 1] - t->off.p[a], lb = t->off.p[b + 1] - t->off.p[b];
	int c = memcmp(t->bytes + t->off.p[a], t->bytes + t->off.p[b], la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

static int write_u32s(vl_segw *w, const uint32_t *p, size_t n)
{
	uint8_t buf[4096];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		vl_st32(buf + k, p[i]);
		k += 4;
		if (k == sizeof buf || i + 1 == n) {
			int rc = vl_segw_write(w, buf, k);
			if (rc)
				return rc;
			k = 0;
		}
	}
	return VL_OK;
}

static int write_tagcol(column *c, uint64_t nrows, vl_segw *w)
{
	tagdict *t = &c->dict;
	uint32_t n = t->ntags;
	uint32_t *order = malloc((n ? n : 1) * sizeof *order), *rank = malloc((n ? n : 1) * sizeof *rank);
	uint32_t *off = malloc(((size_t)n + 1) * sizeof *off);
	int rc = VL_ENOMEM;
	if (!order || !rank || !off)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, cmp_tag, t);
	for (uint32_t i = 0; i < n; i++)
		rank[order[i]] = i;
	uint8_t hdr[16];
	vl_st32(hdr, (uint32_t)nrows);
	vl_st32(hdr + 4, n);
	vl_st64(hdr + 8, c->ids.n);
	off[0] = 0;
	for (uint32_t i = 0; i < n; i++)
		off[i + 1] = off[i] + (t->off.p[order[i] + 1] - t->off.p[order[i]]);
	if ((rc = vl_segw_begin(w, VL_SEC_ATTR_TAG, c->field_id, 0)) || (rc = vl_segw_write(w, hdr, 16)) ||
	    (rc = write_u32s(w, off, (size_t)n + 1)))
		goto out;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = vl_segw_write(w, t->bytes + t->off.p[order[i]], off[i + 1] - off[i])))
			goto out;
	static const uint8_t zeros[4];
	if ((rc = vl_segw_write(w, zeros, (4 - off[n] % 4) % 4)))
		goto out;
	for (size_t i = 0; i < c->ids.n; i++)
		c->ids.p[i] = rank[c->ids.p[i]];
	if ((rc = write_u32s(w, c->row_off.p, c->row_off.n)) || (rc = write_u32s(w, c->ids.p, c->ids.n)))
		goto out;
	rc = vl_segw_end(w);
out:
	free(order);
	free(rank);
	free(off);
	return rc;
}

int vl_colb_write(vl_colbuilder *cb, vl_segw *w)
{
	for (uint32_t i = 0; i < cb->ncols; i++) {
		column *c = &cb->cols[i];
		int rc;
		if (c->type == VL_FIELD_NUMERIC) {
			if ((rc = vl_segw_begin(w, VL_SEC_ATTR_NUM, c->field_id, 8)))
				return rc;
			for (size_t r = 0; r < c->num.n; r++) {
				uint8_t b[8];
				vl_stf64(b, c->num.p[r]);
				if ((rc = vl_segw_write(w, b, 8)))
					return rc;
			}
			rc = vl_segw_end(w);
		} else {
			rc = write_tagcol(c, cb->nrows, w);
		}
		if (rc)
			return rc;
	}
	return VL_OK;
}

void vl_colb_free(vl_colbuilder *cb)
{
	if (!cb)
		return;
	for (uint32_t i = 0; i < cb->ncols; i++) {
		column *c = &cb->cols[i];
		free(c->num.p);
		free(c->dict.slots);
		free(c->dict.bytes);
		free(c->dict.off.p);
		free(c->row_off.p);
		free(c->ids.p);
	}
	free(cb->cols);
	free(cb);
}
