/* rdb_collect.c - keep every RDB reader event for tests (see rdb_collect.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb_collect.h"

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n + 1);
	if (!q)
		abort();
	if (n)
		memcpy(q, p, n);
	q[n] = 0;
	return q;
}

static int on_aux(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	rc_dump *d = ud;
	if (d->naux < 32) {
		snprintf(d->aux[d->naux][0], 128, "%.*s", (int)kl, (const char *)k);
		snprintf(d->aux[d->naux][1], 128, "%.*s", (int)vl, (const char *)v);
		d->naux++;
	}
	return 0;
}

static int on_key(void *ud, const vl_rdb_key *k)
{
	rc_dump *d = ud;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->keys = realloc(d->keys, d->cap * sizeof *d->keys);
		if (!d->keys)
			abort();
	}
	rc_key *r = &d->keys[d->n++];
	memset(r, 0, sizeof *r);
	r->db = k->db;
	r->key = dup_bytes(k->key, k->key_len);
	r->key_len = k->key_len;
	r->type = k->type;
	r->kind = k->kind;
	r->encoding = k->encoding;
	r->expire_ms = k->expire_ms;
	r->offset = k->offset;
	return d->skip_all ? VL_RDB_SKIP : VL_RDB_WANT;
}

static void keep_elem(rc_elem **arr, size_t *n, size_t *cap, const vl_rdb_elem *e)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*arr = realloc(*arr, *cap * sizeof **arr);
		if (!*arr)
			abort();
	}
	rc_elem *x = &(*arr)[(*n)++];
	x->a = e->a ? dup_bytes(e->a, e->a_len) : NULL;
	x->a_len = e->a_len;
	x->b = e->b ? dup_bytes(e->b, e->b_len) : NULL;
	x->b_len = e->b_len;
	x->score = e->score;
	x->expire_ms = e->expire_ms;
	x->ival = e->ival;
	x->module_op = e->module_op;
}

static int on_elem(void *ud, const vl_rdb_key *k, const vl_rdb_elem *e)
{
	rc_dump *d = ud;
	rc_key *r = &d->keys[d->n - 1];
	(void)k;
	keep_elem(&r->el, &r->nel, &r->cap, e);
	return 0;
}

static int on_key_end(void *ud, const vl_rdb_key *k, const vl_rdb_value_info *info)
{
	rc_dump *d = ud;
	(void)k;
	d->keys[d->n - 1].info = *info;
	return 0;
}

static int on_mod_begin(void *ud, const vl_rdb_module_aux *m)
{
	rc_dump *d = ud;
	if (d->nmods < 8)
		d->mods[d->nmods++] = *m;
	return VL_RDB_WANT;
}

static int on_mod_item(void *ud, const vl_rdb_module_aux *m, const vl_rdb_elem *e)
{
	rc_dump *d = ud;
	(void)m;
	keep_elem(&d->mod, &d->nmod, &d->capmod, e);
	return 0;
}

static int on_mod_end(void *ud, const vl_rdb_module_aux *m)
{
	rc_dump *d = ud;
	if (d->nmods)
		d->mods[d->nmods - 1].items = m->items;
	return 0;
}

static int on_function(void *ud, const uint8_t *code, size_t len)
{
	rc_dump *d = ud;
	snprintf(d->function, sizeof d->function, "%.*s", (int)len, (const char *)code);
	return 0;
}

int rc_parse(rc_dump *out, const uint8_t *buf, size_t len, size_t chunk, uint32_t flags,
             size_t window)
{
	int skip = out->skip_all;
	memset(out, 0, sizeof *out);
	out->skip_all = skip;
	vl_rdb_handlers h = { .aux = on_aux, .key = on_key, .elem = on_elem, .key_end = on_key_end,
		              .module_aux_begin = on_mod_begin, .module_aux_item = on_mod_item,
		              .module_aux_end = on_mod_end, .function = on_function };
	vl_rdb_mem m = { buf, len, 0, chunk };
	vl_rdb_opts o = VL_RDB_OPTS_INIT;
	o.flags = flags;
	o.window = window;
	out->rc = vl_rdb_parse(vl_rdb_read_mem, &m, &o, &h, out, &out->res, &out->d);
	return out->rc;
}

rc_key *rc_find(rc_dump *dump, uint64_t db, const void *key, size_t key_len)
{
	for (size_t i = 0; i < dump->n; i++)
		if (dump->keys[i].db == db && dump->keys[i].key_len == key_len &&
		    memcmp(dump->keys[i].key, key, key_len) == 0)
			return &dump->keys[i];
	return NULL;
}

rc_key *rc_find_s(rc_dump *dump, uint64_t db, const char *key)
{
	return rc_find(dump, db, key, strlen(key));
}

const rc_elem *rc_field(const rc_key *k, const char *field)
{
	size_t n = strlen(field);
	for (size_t i = 0; i < k->nel; i++)
		if (k->el[i].a_len == n && memcmp(k->el[i].a, field, n) == 0)
			return &k->el[i];
	return NULL;
}

const char *rc_aux(const rc_dump *dump, const char *name)
{
	for (size_t i = 0; i < dump->naux; i++)
		if (strcmp(dump->aux[i][0], name) == 0)
			return dump->aux[i][1];
	return NULL;
}

static void free_elems(rc_elem *el, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(el[i].a);
		free(el[i].b);
	}
	free(el);
}

void rc_free(rc_dump *dump)
{
	for (size_t i = 0; i < dump->n; i++) {
		free(dump->keys[i].key);
		free_elems(dump->keys[i].el, dump->keys[i].nel);
	}
	free(dump->keys);
	free_elems(dump->mod, dump->nmod);
	memset(dump, 0, sizeof *dump);
}

uint8_t *rc_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		*len = (size_t)n;
	return buf;
}

void rc_write_seed(const char *target, const char *name, const uint8_t *buf, size_t len)
{
	const char *dir = getenv("VECLITE_FUZZ_SEEDS");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/%s/%s", dir, target, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	if (strcmp(target, "fuzz_rdb") == 0)
		fwrite("\x12\x34", 1, 2, f);
	fwrite(buf, 1, len, f);
	fclose(f);
}
