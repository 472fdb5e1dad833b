/*
 * bulk.c - bulk load straight into a new segment.
 *
 * A bulk load into an existing collection is one write transaction (writer
 * lock held throughout) whose vectors go to a spill file under tmp/ instead
 * of the write buffer. Keys, row records and tombstones of replaced rows are
 * written into the transaction as rows arrive (LMDB keeps up to 512 MiB of
 * dirty pages, then spills them to the file). Commit builds the segment from
 * the spill file, installs it and commits the transaction: all or nothing.
 * A crash leaves only a tmp/ file, removed at the next open.
 *
 * A bulk load into a new collection (vl_bulk_begin_new) fills a hidden
 * collection (stage.c) instead and commits every VL_BULK_CHUNK bytes of row
 * data, so the writer's dirty pages stay small; its last commit gives the
 * collection its name. Readers see nothing until then, and a crash leaves a
 * hidden collection that the next writable open removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "index/hnsw.h"
#include "io/segwriter.h"
#include "io/spillw.h"
#include "maint.h"
#include "segbuild.h"
#include "txn.h"

#define SPILL_BUF (4u << 20)
/* row bytes (keys, attribute values) per commit of a staged load: each
 * synced commit rewrites the key map's B-tree pages that its random keys
 * touch, most of them at seed scale (545K rows: 64 MiB steps import in
 * 21-24 s and peak at 317 MiB, 16 MiB steps 27-30 s and 235 MiB) */
#define VL_BULK_CHUNK (64u << 20)
/* pages of the spill file, read once, are released in steps of this many
 * bytes read (vl_drop_behind) */
#define DROP_STEP (16u << 20)
/* LMDB's map is released after this many bytes of records read or row
 * bytes added (about one page fault per row, each mapping up to 64 KiB;
 * the seed-scale import peaks at 300 MiB with it, SPEC 4.4) */
#define MAP_STEP (2u << 20)

struct vl_bulk {
	vl_collection *c;
	vl_txn *t;
	int mk;                    /* maintenance lock */
	vl_job_opts o;
	int fd;
	char rel[64];
	uint32_t dim;
	uint64_t *rids;            /* spilled row ids, in order */
	uint64_t n, cap;
	vl_spillw *sw;             /* writes the spill file on its own thread */
	uint32_t crc;              /* CRC-32C of the spilled rows (at commit) */
	int io_error;
	int installed;             /* a segment file was installed into seg/ */
	uint32_t installed_seg;
	int has_graph;             /* vl_bulk_adopt_graph: write graph, do not build */
	vl_hnsw_graph graph;
	/* vl_bulk_begin_new: the hidden collection and its handle (owned) */
	int staged;
	uint64_t chunk_bytes;      /* row bytes added since the last commit (staged) */
	uint64_t map_bytes;        /* row bytes added since LMDB's map was last released */
	uint64_t chunk_max;        /* commit when chunk_bytes reaches it */
};

static atomic_uint bulk_seq;

/* The spill writer's errno as the load's error. */
static int spill_failed(vl_bulk *b, int err)
{
	b->io_error = 1;
	return vl_fail(b->c->st, err == ENOSPC || err == EDQUOT ? VL_ENOSPC : VL_EIO, "writing %s: %s",
	               b->rel, strerror(err));
}

int vl_bulk_spill(vl_bulk *b, uint64_t rid, const float *vec)
{
	size_t row = (size_t)b->dim * 4;
	if (b->io_error)
		return vl_fail(b->c->st, VL_EIO, "the bulk load's spill file failed earlier");
	if (b->n == b->cap) {
		uint64_t cap = b->cap ? b->cap * 2 : 65536;
		uint64_t *p = realloc(b->rids, cap * sizeof *p);
		if (!p)
			return vl_fail(b->c->st, VL_ENOMEM, "out of memory");
		b->rids = p;
		b->cap = cap;
	}
	int e = vl_spillw_append(b->sw, vec, row);
	if (e)
		return spill_failed(b, e);
	b->rids[b->n++] = rid;
	return VL_OK;
}

static void bulk_free(vl_bulk *b)
{
	vl_spillw_free(b->sw); /* before the file goes */
	if (b->fd >= 0) {
		close(b->fd);
		unlinkat(b->c->st->e->dirfd, b->rel, 0);
	}
	if (b->staged)
		vl_collection_close(b->c);
	free(b->rids);
	free(b);
}

/* The load's write transaction (again, after each commit of a staged load). */
static int bulk_txn(vl_bulk *b, vl_tcoll **tc)
{
	int rc = vl_txn_begin(b->c->st, &b->t);
	if (rc) {
		b->t = NULL;
		return rc;
	}
	b->t->bulk = b;
	b->t->no_jobs = 1; /* we hold the maintenance lock: no automatic flush at commit */
	return vl_txn_coll(b->t, b->c, tc);
}

/* mk: maint.lock already held by the caller, or -1 to take it here. */
static int bulk_open(vl_collection *c, const vl_job_opts *opts, int mk, int staged, vl_bulk **out)
{
	const vl_store *st = c->st;
	vl_bulk *b = calloc(1, sizeof *b);
	if (!b) {
		if (staged) { /* the hidden collection goes too, as on any other failure */
			vl_stage_drop(st, c->id);
			vl_collection_close(c);
		}
		if (mk >= 0)
			vl_maint_unlock(mk);
		return vl_fail(st, VL_ENOMEM, "out of memory");
	}
	b->c = c;
	b->fd = -1;
	b->mk = mk;
	b->staged = staged;
	vl_job_opts def = VL_JOB_OPTS_INIT;
	b->o = opts ? *opts : def;
	int rc;
	if (b->mk < 0 && (b->mk = vl_maint_lock(st)) < 0) {
		rc = b->mk;
		b->mk = -1;
		goto fail;
	}
	vl_tcoll *tc;
	if ((rc = bulk_txn(b, &tc)))
		goto fail;
	b->dim = tc->schema.dim;
	snprintf(b->rel, sizeof b->rel, "tmp/bulk-%ld-%u.f32", (long)getpid(), atomic_fetch_add(&bulk_seq, 1));
	b->fd = openat(st->e->dirfd, b->rel, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (b->fd < 0) {
		rc = vl_fail_errno(st, errno, "creating", b->rel);
		goto fail;
	}
	/* laid out as a segment: the vectors are its VECTORS section, at the
	 * first section's offset (see bulk_install) */
	if (vl_spillw_new(b->fd, VL_SEG_ALIGN, SPILL_BUF, &b->sw)) {
		rc = vl_fail(st, VL_ENOMEM, "out of memory");
		goto fail;
	}
	*out = b;
	return VL_OK;
fail:
	vl_bulk_abort(b);
	return rc;
}

int vl_bulk_begin(vl_collection *c, const vl_job_opts *opts, vl_bulk **out)
{
	if (!c || !out)
		return VL_EINVAL;
	vl_clear_err(c->st);
	return bulk_open(c, opts, -1, 0, out);
}

int vl_bulk_begin_new(vl_store *st, const char *name, const vl_schema *schema,
                      const vl_job_opts *opts, vl_bulk **out)
{
	if (!st || !name || !schema || !out)
		return VL_EINVAL;
	vl_clear_err(st);
	/* maint.lock first: a writable open's cleanup must not take the
	 * hidden collection for a crashed load's */
	int mk = vl_maint_lock(st);
	if (mk < 0)
		return mk;
	uint32_t id;
	vl_collection *c;
	int rc = vl_coll_make(st, name, schema, 1, &id);
	if (rc) {
		vl_maint_unlock(mk);
		return rc;
	}
	if ((rc = vl_coll_handle(st, name, id, &c))) {
		vl_stage_drop(st, id);
		vl_maint_unlock(mk);
		return rc;
	}
	if ((rc = bulk_open(c, opts, mk, 1, out)))
		return rc;
	/* VECLITE_BULK_CHUNK (bytes) overrides the step: tests use small steps
	 * to put many commits into a small load */
	const char *env = getenv("VECLITE_BULK_CHUNK");
	char *end;
	unsigned long long v = env ? strtoull(env, &end, 10) : 0;
	(*out)->chunk_max = env && *env && !*end && v ? v : VL_BULK_CHUNK;
	return VL_OK;
}

/* Bytes a row adds to the transaction besides its vector (an estimate of
 * LMDB pages: key twice (key map, row record), values, per-record overhead). */
static uint64_t row_bytes(const vl_row *r)
{
	uint64_t n = 2 * (uint64_t)r->key_len + 64;
	for (size_t i = 0; i < r->nvalues; i++)
		n += r->values[i].len + 8;
	return n;
}

/*
 * Bytes that went through LMDB's map (rows added, records read back). Each
 * B-tree descent that faults on a page of the map maps its cached
 * neighbours too (the kernel's fault-around), mostly record pages just
 * written: the map is released every MAP_STEP bytes, or the writer's RSS
 * would grow by all the data it loads.
 */
static void map_touched(vl_bulk *b, uint64_t bytes)
{
	if ((b->map_bytes += bytes) >= MAP_STEP) {
		vl_lmdb_release_map(b->c->st->e);
		b->map_bytes = 0;
	}
}

/* A staged load commits what it holds and goes on in a new transaction. */
static int chunk_commit(vl_bulk *b)
{
	vl_txn *t = b->t;
	b->t = NULL;
	t->bulk = NULL;
	int rc = vl_txn_commit(t);
	if (rc)
		return rc;
	b->chunk_bytes = 0;
	vl_tcoll *tc;
	return bulk_txn(b, &tc);
}

int vl_bulk_add(vl_bulk *b, const vl_row *rows, size_t n)
{
	if (!b)
		return VL_EINVAL;
	if (!b->t)
		return vl_fail(b->c->st, VL_ETXN, "the bulk load failed earlier");
	int rc = vl_upsert(b->t, b->c, rows, n);
	if (rc)
		return rc;
	uint64_t add = 0;
	for (size_t i = 0; i < n; i++)
		add += row_bytes(&rows[i]);
	b->chunk_bytes += add;
	map_touched(b, add);
	if (b->staged && b->chunk_bytes >= b->chunk_max)
		return chunk_commit(b);
	return VL_OK;
}

typedef struct spillsrc {
	vl_bulk *b;
	const float *base;
	uint64_t i;
	uint32_t coll;
	MDB_txn *txn;
	MDB_dbi rows;
	size_t dropped;            /* bytes at the map's start given back (MADV_DONTNEED) */
} spillsrc;

static int spill_next(void *ud, uint64_t *rid, const float **vec, const uint8_t **rec,
                      size_t *rec_len, vl_diag *d)
{
	spillsrc *s = ud;
	while (s->i < s->b->n) {
		uint64_t i = s->i++;
		uint8_t kb[12];
		MDB_val k = vl_key_rid(kb, s->coll, s->b->rids[i]), v;
		int rc = mdb_get(s->txn, s->rows, &k, &v);
		if (rc == MDB_NOTFOUND)
			continue; /* replaced or deleted later in the same load */
		if (rc)
			return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "LMDB: %s", mdb_strerror(rc));
		*rid = s->b->rids[i];
		*vec = s->base + i * s->b->dim;
		/* rows and their records are read once, in order */
		vl_drop_behind(s->base, (size_t)(i * s->b->dim * 4), DROP_STEP, &s->dropped);
		map_touched(s->b, v.mv_size);
		*rec = v.mv_data;
		*rec_len = v.mv_size;
		return 1;
	}
	return 0;
}

static int bulk_install(vl_bulk *b, vl_tcoll *tc)
{
	const vl_store *st = b->c->st;
	int rc;
	size_t len = VL_SEG_ALIGN + (size_t)(b->n * (uint64_t)b->dim * 4);
	uint8_t *map = mmap(NULL, len, PROT_READ, MAP_SHARED, b->fd, 0);
	if (map == MAP_FAILED)
		return vl_fail_errno(st, errno, "mmap", b->rel);
	madvise(map, len, MADV_SEQUENTIAL);
	uint64_t live = 0;
	spillsrc src = { b, (const float *)(const void *)(map + VL_SEG_ALIGN), 0, tc->id, b->t->txn,
		             st->e->db.rows, 0 };
	vl_segbuild sb = {
		.st = st, .coll_id = tc->id, .seg_id = tc->cs.next_seg, .schema = &tc->schema,
		.threads = b->o.threads, .seed = b->o.seed, .progress = b->o.progress,
		.progress_ud = b->o.progress_ud, .prebuilt = b->has_graph ? &b->graph : NULL,
	};
	if ((rc = vl_read_train(st, b->t->txn, tc->id, &sb.qstate, &sb.qstate_len)))
		goto out;
	/* count survivors: a load whose rows were all replaced writes nothing */
	for (uint64_t i = 0; i < b->n; i++) {
		uint8_t kb[12];
		MDB_val k = vl_key_rid(kb, tc->id, b->rids[i]), v;
		if (mdb_get(b->t->txn, st->e->db.rows, &k, &v) == 0) {
			live++;
			map_touched(b, v.mv_size); /* this walks every leaf of the rows */
		}
	}
	if (live == 0)
		goto out;
	if (b->has_graph && live != b->n) {
		rc = vl_fail(st, VL_EINVAL,
		             "HNSW graph: %llu of the load's %llu rows were replaced later in the same "
		             "load (repeated keys), so node i would not be the i-th row",
		             (unsigned long long)(b->n - live), (unsigned long long)b->n);
		goto out;
	}
	/* every row survived (the usual case): the spill becomes the segment */
	if (live == b->n) {
		sb.vec_adopt = 1;
		sb.vec_fd = b->fd;
		sb.vec_rel = b->rel;
		sb.vec_bytes = b->n * (uint64_t)b->dim * 4;
		sb.vec_crc = b->crc;
	}
	vl_segsrc ss = { spill_next, &src, live };
	vl_diag d;
	vl_diag_clear(&d);
	rc = vl_segbuild_run(&sb, &ss, &d);
	if (sb.vec_adopted)
		b->fd = -1; /* the build's now: closed by it, or removed on failure */
	if (rc || (rc = vl_segbuild_install(&sb, &d))) {
		vl_segbuild_discard(&sb);
		rc = vl_fail_diag(st, &d);
		goto out;
	}
	if ((rc = vl_put_manifest(st, b->t->txn, tc->id, sb.seg_id, &sb.man)) ||
	    (rc = vl_put_train(st, b->t->txn, tc->id, sb.new_qstate, sb.new_qstate_len))) {
		vl_segbuild_discard(&sb);
		goto out;
	}
	tc->cs.segment_rows += sb.man.nrows;
	tc->cs.manifest_gen++;
	tc->cs.next_seg = sb.seg_id + 1;
	if (sb.new_qstate)
		tc->cs.flags |= VL_CSTATE_TRAINED;
	tc->dirty = 1;
	b->installed_seg = sb.seg_id;
	b->installed = 1;
	vl_segbuild_free(&sb);
out:
	munmap(map, len);
	return rc;
}

int vl_bulk_commit(vl_bulk *b)
{
	if (!b)
		return VL_EINVAL;
	const vl_store *st = b->c->st;
	vl_clear_err(st);
	if (!b->t) {
		vl_bulk_abort(b);
		return vl_fail(st, VL_ETXN, "the bulk load failed earlier");
	}
	vl_tcoll *tc;
	int rc = vl_txn_coll(b->t, b->c, &tc);
	if (rc == VL_OK && b->t->broken)
		rc = vl_fail(st, VL_ETXN, "the bulk load failed earlier");
	if (rc == VL_OK && b->has_graph && b->graph.nodes != b->n)
		rc = vl_fail(st, VL_EINVAL,
		             "HNSW graph: %llu nodes but the load added %llu rows (node i must be the "
		             "i-th row added)", (unsigned long long)b->graph.nodes,
		             (unsigned long long)b->n);
	if (rc == VL_OK) {
		int e = vl_spillw_finish(b->sw, &b->crc);
		if (e)
			rc = spill_failed(b, e);
	}
	if (rc == VL_OK && b->n)
		rc = bulk_install(b, tc);
	if (rc == VL_OK && b->staged)
		rc = vl_stage_publish(st, b->t->txn, b->c->name, b->c->id);
	if (rc) {
		vl_bulk_abort(b);
		return rc;
	}
	vl_txn *t = b->t;
	b->t = NULL;
	t->bulk = NULL;
	/* commit: the segment becomes visible with its keys in one transaction */
	uint32_t seg = b->installed_seg;
	int installed = b->installed;
	rc = vl_txn_commit(t);
	if (rc && installed) {
		char rel[64];
		vl_seg_relpath(rel, sizeof rel, b->c->id, seg);
		unlinkat(st->e->dirfd, rel, 0);
	}
	if (rc && b->staged)
		vl_stage_drop(st, b->c->id); /* else the next writable open does it */
	vl_maint_unlock(b->mk);
	bulk_free(b);
	return rc;
}

int vl_bulk_adopt_graph(vl_bulk *b, const vl_hnsw_graph *g)
{
	if (!b || !g)
		return VL_EINVAL;
	const vl_store *st = b->c->st;
	vl_clear_err(st);
	if (g->size < sizeof *g || !g->level || !g->neighbors)
		return vl_fail(st, VL_EINVAL, "HNSW graph: size, level or neighbors not set");
	if (b->has_graph)
		return vl_fail(st, VL_EINVAL, "the bulk load already has a graph");
	if (!b->t)
		return vl_fail(st, VL_ETXN, "the bulk load failed earlier");
	vl_tcoll *tc;
	int rc = vl_txn_coll(b->t, b->c, &tc);
	if (rc)
		return rc;
	if (tc->schema.index != VL_INDEX_HNSW) {
		const vl_index_ops *io = vl_index_by_id(tc->schema.index);
		return vl_fail(st, VL_EINVAL,
		               "collection '%s' uses the %s index: an HNSW graph needs the hnsw index",
		               b->c->name, io ? io->name : "unknown");
	}
	vl_params p = vl_schema_params(&tc->schema);
	hnsw_params hp;
	vl_diag d;
	vl_diag_clear(&d);
	if ((rc = hnsw_parse_params(&p, &hp, &d)))
		return vl_fail_diag(st, &d);
	if (hp.M != g->M)
		return vl_fail(st, VL_EINVAL, "HNSW graph: M=%u but collection '%s' has M=%u", g->M,
		               b->c->name, hp.M);
	if (g->max_level > HNSW_MAX_LEVEL)
		return vl_fail(st, VL_EINVAL, "HNSW graph: max_level %u is above %u", g->max_level,
		               HNSW_MAX_LEVEL);
	if (g->nodes && g->entry >= g->nodes)
		return vl_fail(st, VL_EINVAL, "HNSW graph: entry node %u is outside 0..%llu", g->entry,
		               (unsigned long long)(g->nodes - 1));
	if (g->nodes >= UINT32_MAX)
		return vl_fail(st, VL_ELIMIT, "HNSW graph: at most 2^32-2 nodes per segment");
	b->graph = *g;
	b->graph.size = sizeof b->graph;
	b->has_graph = 1;
	return VL_OK;
}

void vl_bulk_abort(vl_bulk *b)
{
	if (!b)
		return;
	if (b->t) {
		b->t->bulk = NULL;
		vl_txn_abort(b->t);
	}
	if (b->installed) {
		char rel[64];
		vl_seg_relpath(rel, sizeof rel, b->c->id, b->installed_seg);
		unlinkat(b->c->st->e->dirfd, rel, 0);
	}
	/* the rows committed so far go with the hidden collection (kept for
	 * the next writable open if this fails too) */
	if (b->staged)
		vl_stage_drop(b->c->st, b->c->id);
	if (b->mk >= 0)
		vl_maint_unlock(b->mk);
	bulk_free(b);
}
