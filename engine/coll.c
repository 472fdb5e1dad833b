/* coll.c - collections: create, open, list, add a field, drop. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"
#include "internal.h"
#include "params.h"
#include "quant/quant.h"
#include "vl_bytes.h"

static int check_name(const vl_store *st, const char *what, const char *name)
{
	if (!name || !*name)
		return vl_fail(st, VL_EINVAL, "%s name is empty", what);
	if (strlen(name) > VL_NAME_MAX)
		return vl_fail(st, VL_EINVAL, "%s name '%.40s...' is longer than %u bytes", what, name,
		               VL_NAME_MAX);
	return VL_OK;
}

int vl_coll_lookup(const vl_store *st, MDB_txn *txn, const char *name, uint32_t *id)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, st->e->db.colls, &k, &v);
	if (rc == MDB_NOTFOUND)
		return vl_fail(st, VL_ENOTFOUND, "no collection named '%s'", name);
	if (rc)
		return vl_fail_mdb(st, rc, "looking up collection");
	if (v.mv_size != 4)
		return vl_fail(st, VL_ECORRUPT, "damaged catalog entry for '%s'", name);
	*id = vl_ld32(v.mv_data);
	return VL_OK;
}

int vl_coll_schema(vl_collection *c, MDB_txn *txn, vl_schema_rec *s)
{
	int rc = vl_read_schema(c->st, txn, c->id, s);
	if (rc == VL_ENOTFOUND)
		return vl_fail(c->st, rc, "collection '%s' was dropped", c->name);
	return rc;
}

static int check_fields(const vl_store *st, const vl_field *f, size_t n)
{
	if (n > VL_FIELDS_MAX)
		return vl_fail(st, VL_ELIMIT, "%zu fields; at most %u", n, VL_FIELDS_MAX);
	for (size_t i = 0; i < n; i++) {
		int rc = check_name(st, "field", f[i].name);
		if (rc)
			return rc;
		if (f[i].type != VL_FIELD_TAG && f[i].type != VL_FIELD_TEXT && f[i].type != VL_FIELD_NUMERIC)
			return vl_fail(st, VL_ESCHEMA, "field '%s' has unknown type %d", f[i].name, (int)f[i].type);
		for (size_t j = 0; j < i; j++)
			if (strcmp(f[i].name, f[j].name) == 0)
				return vl_fail(st, VL_ESCHEMA, "field '%s' is declared twice", f[i].name);
	}
	return VL_OK;
}

/* Build the schema record: resolve defaults, validate, add index defaults. */
static int make_schema(const vl_store *st, const vl_schema *in, vl_schema_rec *s)
{
	memset(s, 0, sizeof *s);
	if (!in || in->size < offsetof(vl_schema, nfields) + sizeof in->nfields)
		return vl_fail(st, VL_EINVAL, "schema is missing or its size field is not set (use VL_SCHEMA_INIT)");
	if (in->dim < 1 || in->dim > VL_DIM_MAX)
		return vl_fail(st, VL_EDIM, "dim %u is outside 1..%u", in->dim, VL_DIM_MAX);
	vl_metric metric = in->metric ? in->metric : VL_METRIC_L2;
	if (metric != VL_METRIC_L2 && metric != VL_METRIC_IP && metric != VL_METRIC_COSINE)
		return vl_fail(st, VL_EINVAL, "unknown metric %d", (int)in->metric);
	const char *sname = in->storage ? in->storage : vl_quant_default(in->dim);
	const char *iname = in->index ? in->index : vl_index_default(in->dim);
	const vl_quant_ops *qo = vl_quant_find(sname);
	const vl_index_ops *io = vl_index_find(iname);
	if (!qo)
		return vl_fail(st, VL_EINVAL, "unknown storage type '%s'", sname);
	if (!io)
		return vl_fail(st, VL_EINVAL, "unknown index kind '%s'", iname);
	int rc;
	if ((rc = vl_check_create_params(st, in->dim, metric, qo, io, in->params, in->nparams)) ||
	    (rc = check_fields(st, in->fields, in->nfields)))
		return rc;
	const char *const *defs = io->defaults ? io->defaults(in->dim, metric) : NULL;
	size_t ndefs = 0;
	while (defs && defs[ndefs])
		ndefs++;
	s->dim = in->dim;
	s->metric = (uint8_t)metric;
	s->storage = (uint8_t)qo->id;
	s->index = (uint8_t)io->id;
	s->created_ms = vl_now_ms();
	s->params = calloc(ndefs + in->nparams + 1, sizeof *s->params);
	s->fields = calloc(in->nfields + 1, sizeof *s->fields);
	if (!s->params || !s->fields)
		goto oom;
	/* the index kind's defaults, minus the names the user sets, then the
	 * user's values: every name once, so `info` lists what is in force */
	for (size_t i = 0; i < ndefs + in->nparams; i++) {
		const char *kv = i < ndefs ? defs[i] : in->params[i - ndefs];
		if (i < ndefs && vl_params_has_name(in->params, in->nparams, kv))
			continue;
		if (!(s->params[s->nparams++] = strdup(kv)))
			goto oom;
	}
	if (s->nparams > VL_PARAMS_MAX) {
		vl_schema_rec_free(s);
		return vl_fail(st, VL_ELIMIT, "too many parameters");
	}
	for (size_t i = 0; i < in->nfields; i++) {
		s->fields[i].id = (uint16_t)i;
		s->fields[i].type = (uint8_t)in->fields[i].type;
		strcpy(s->fields[i].name, in->fields[i].name);
	}
	s->nfields = (uint32_t)in->nfields;
	s->next_field_id = (uint16_t)in->nfields;
	return VL_OK;
oom:
	vl_schema_rec_free(s);
	return vl_fail(st, VL_ENOMEM, "out of memory");
}

static int next_coll_id(const vl_store *st, MDB_txn *txn, uint32_t *id)
{
	MDB_val k = { 9, "next_coll" }, v;
	int rc = mdb_get(txn, st->e->db.meta, &k, &v);
	if (rc || v.mv_size != 4)
		return rc ? vl_fail_mdb(st, rc, "reading next collection id")
		          : vl_fail(st, VL_ECORRUPT, "damaged next_coll record");
	*id = vl_ld32(v.mv_data);
	uint8_t b[4];
	vl_st32(b, *id + 1);
	v = (MDB_val){ 4, b };
	rc = mdb_put(txn, st->e->db.meta, &k, &v, 0);
	return rc ? vl_fail_mdb(st, rc, "writing next collection id") : VL_OK;
}

static int open_handle(vl_store *st, const char *name, uint32_t id, vl_collection **out)
{
	vl_collection *c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(name))) {
		free(c);
		return vl_fail(st, VL_ENOMEM, "out of memory");
	}
	c->st = st;
	c->id = id;
	if (!(c->sh = vl_cshared_get(st->e, id))) {
		free(c->name);
		free(c);
		return vl_fail(st, VL_ENOMEM, "out of memory");
	}
	*out = c;
	return VL_OK;
}

int vl_collection_create(vl_store *st, const char *name, const vl_schema *schema,
                         vl_collection **out)
{
	vl_clear_err(st);
	if (!st)
		return VL_EINVAL;
	uint32_t id;
	int rc = vl_coll_make(st, name, schema, 0, &id);
	if (rc)
		return rc;
	return out ? open_handle(st, name, id, out) : VL_OK;
}

int vl_coll_handle(vl_store *st, const char *name, uint32_t id, vl_collection **out)
{
	return open_handle(st, name, id, out);
}

int vl_coll_make(vl_store *st, const char *name, const vl_schema *schema, int hidden,
                 uint32_t *out_id)
{
	int rc = check_name(st, "collection", name);
	if (rc)
		return rc;
	vl_schema_rec s;
	if ((rc = make_schema(st, schema, &s)))
		return rc;
	MDB_txn *txn;
	int lk;
	if ((rc = vl_wbegin(st, &txn, &lk))) {
		vl_schema_rec_free(&s);
		return rc;
	}
	uint32_t id;
	rc = vl_coll_lookup(st, txn, name, &id);
	if (rc == VL_OK) {
		rc = vl_fail(st, VL_EEXIST, "collection '%s' already exists", name);
		goto fail;
	}
	if (rc != VL_ENOTFOUND || (rc = next_coll_id(st, txn, &id)))
		goto fail;
	uint8_t idb[4];
	vl_st32(idb, id);
	MDB_val k = { strlen(name), (void *)name }, v = { 4, idb };
	if (hidden) {
		/* the stage record names it for the publishing commit and for
		 * the cleanup of a crashed load */
		uint8_t sk[9];
		MDB_val key = vl_stage_key(sk, id);
		rc = mdb_put(txn, st->e->db.meta, &key, &k, 0);
	} else {
		rc = mdb_put(txn, st->e->db.colls, &k, &v, MDB_NOOVERWRITE);
	}
	if (rc) {
		rc = vl_fail_mdb(st, rc, "writing catalog");
		goto fail;
	}
	vl_cstate cs = { .next_rid = 1, .next_seg = 1, .manifest_gen = 1 };
	if ((rc = vl_write_schema(st, txn, id, &s)) || (rc = vl_write_cstate(st, txn, id, &cs)))
		goto fail;
	vl_schema_rec_free(&s);
	if ((rc = vl_wcommit(st, txn, lk)))
		return rc;
	*out_id = id;
	return VL_OK;
fail:
	vl_schema_rec_free(&s);
	vl_wabort(txn, lk);
	return rc;
}

int vl_collection_open(vl_store *st, const char *name, vl_collection **out)
{
	vl_clear_err(st);
	if (!st || !out)
		return VL_EINVAL;
	int rc = check_name(st, "collection", name);
	if (rc)
		return rc;
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(st->e->env, NULL, MDB_RDONLY, &txn)))
		return vl_fail_mdb(st, rc, "beginning read transaction");
	uint32_t id;
	rc = vl_coll_lookup(st, txn, name, &id);
	mdb_txn_abort(txn);
	return rc ? rc : open_handle(st, name, id, out);
}

void vl_collection_close(vl_collection *c)
{
	if (!c)
		return;
	vl_cshared_release(c->st->e, c->sh);
	free(c->name);
	free(c);
}

int vl_collection_add_field(vl_store *st, const char *name, const vl_field *field)
{
	vl_clear_err(st);
	if (!st || !field)
		return VL_EINVAL;
	int rc = check_fields(st, field, 1);
	if (rc)
		return rc;
	MDB_txn *txn;
	int lk;
	if ((rc = vl_wbegin(st, &txn, &lk)))
		return rc;
	uint32_t id;
	vl_schema_rec s = { 0 };
	if ((rc = vl_coll_lookup(st, txn, name, &id)) || (rc = vl_read_schema(st, txn, id, &s)))
		goto fail;
	if (vl_schema_field_find(&s, field->name)) {
		rc = vl_fail(st, VL_EEXIST, "collection '%s' already has a field '%s'", name, field->name);
		goto fail;
	}
	if (s.nfields >= VL_FIELDS_MAX || s.next_field_id == UINT16_MAX) {
		rc = vl_fail(st, VL_ELIMIT, "collection '%s' has too many fields", name);
		goto fail;
	}
	vl_schema_field *f = realloc(s.fields, (s.nfields + 1) * sizeof *f);
	if (!f) {
		rc = vl_fail(st, VL_ENOMEM, "out of memory");
		goto fail;
	}
	s.fields = f;
	f[s.nfields].id = s.next_field_id++;
	f[s.nfields].type = (uint8_t)field->type;
	strcpy(f[s.nfields].name, field->name);
	s.nfields++;
	if ((rc = vl_write_schema(st, txn, id, &s)))
		goto fail;
	vl_schema_rec_free(&s);
	return vl_wcommit(st, txn, lk);
fail:
	vl_schema_rec_free(&s);
	vl_wabort(txn, lk);
	return rc;
}

int vl_coll_del_records(const vl_store *st, MDB_txn *txn, uint32_t id)
{
	const vl_dbis *db = &st->e->db;
	MDB_dbi per_coll[] = { db->schema, db->cstate, db->keys, db->rows, db->buf, db->tomb, db->segs, db->train };
	int rc = VL_OK;
	for (size_t i = 0; i < sizeof per_coll / sizeof per_coll[0] && rc == VL_OK; i++)
		rc = vl_del_coll_range(st, txn, per_coll[i], id);
	return rc;
}

static int collect_seg_ids(const vl_store *st, MDB_txn *txn, uint32_t id, uint32_t **segs, size_t *n)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->e->db.segs, &cur);
	if (rc)
		return vl_fail_mdb(st, rc, "opening cursor");
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, id), v;
	size_t cap = 0;
	*segs = NULL;
	*n = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && vl_key_in_coll(&k, id);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			uint32_t *p = realloc(*segs, cap * sizeof *p);
			if (!p) {
				mdb_cursor_close(cur);
				return vl_fail(st, VL_ENOMEM, "out of memory");
			}
			*segs = p;
		}
		if (k.mv_size == 8)
			(*segs)[(*n)++] = vl_ld32be((const uint8_t *)k.mv_data + 4);
	}
	mdb_cursor_close(cur);
	return VL_OK;
}

int vl_collection_drop(vl_store *st, const char *name)
{
	vl_clear_err(st);
	if (!st)
		return VL_EINVAL;
	int rc = check_name(st, "collection", name);
	if (rc)
		return rc;
	/* no flush or compaction of it may be installing files meanwhile */
	int mk = vl_maint_lock(st);
	if (mk < 0)
		return mk;
	MDB_txn *txn;
	int lk;
	if ((rc = vl_wbegin(st, &txn, &lk))) {
		vl_maint_unlock(mk);
		return rc;
	}
	uint32_t id, *segs = NULL;
	size_t nsegs = 0;
	if ((rc = vl_coll_lookup(st, txn, name, &id)) || (rc = collect_seg_ids(st, txn, id, &segs, &nsegs)))
		goto fail;
	MDB_val k = { strlen(name), (void *)name };
	if ((rc = mdb_del(txn, st->e->db.colls, &k, NULL))) {
		rc = vl_fail_mdb(st, rc, "deleting catalog entry");
		goto fail;
	}
	if ((rc = vl_coll_del_records(st, txn, id)))
		goto fail;
	if ((rc = vl_wcommit(st, txn, lk)))
		goto out;
	/* files go after the commit: a crash before this leaves orphans that
	 * the next open removes */
	for (size_t i = 0; i < nsegs; i++) {
		char rel[64];
		vl_seg_relpath(rel, sizeof rel, id, segs[i]);
		unlinkat(st->e->dirfd, rel, 0);
	}
	vl_fsync_dir(st, "seg");
	goto out;
fail:
	vl_wabort(txn, lk);
out:
	vl_maint_unlock(mk);
	free(segs);
	return rc;
}

int vl_collection_list(vl_store *st, char ***names, size_t *count)
{
	vl_clear_err(st);
	if (!st || !names || !count)
		return VL_EINVAL;
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc = mdb_txn_begin(st->e->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return vl_fail_mdb(st, rc, "beginning read transaction");
	if ((rc = mdb_cursor_open(txn, st->e->db.colls, &cur))) {
		mdb_txn_abort(txn);
		return vl_fail_mdb(st, rc, "opening cursor");
	}
	size_t n = 0, bytes = 0;
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		n++;
		bytes += k.mv_size + 1;
	}
	/* one allocation: the pointer array, then the strings */
	char **arr = malloc((n + 1) * sizeof *arr + bytes + 1);
	if (!arr) {
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		return vl_fail(st, VL_ENOMEM, "out of memory");
	}
	char *p = (char *)(arr + n + 1);
	size_t i = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && i < n; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		memcpy(p, k.mv_data, k.mv_size);
		p[k.mv_size] = 0;
		arr[i++] = p;
		p += k.mv_size + 1;
	}
	arr[n] = NULL;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	*names = arr;
	*count = n;
	return VL_OK;
}
