/* segbuild.c - write one segment from a row stream (see segbuild.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attrcols.h"
#include "io/segwriter.h"
#include "segbuild.h"
#include "simd/simd.h"
#include "vl_bytes.h"
#include "vthread.h"

typedef struct rowinfo {
	uint64_t *rids;
	float *norms;
	size_t n, cap;
} rowinfo;

static int rowinfo_push(rowinfo *ri, uint64_t rid, float norm)
{
	if (ri->n == ri->cap) {
		size_t cap = ri->cap ? ri->cap * 2 : 4096;
		uint64_t *r = realloc(ri->rids, cap * sizeof *r);
		if (!r)
			return VL_ENOMEM;
		ri->rids = r;
		float *nm = realloc(ri->norms, cap * sizeof *nm);
		if (!nm)
			return VL_ENOMEM;
		ri->norms = nm;
		ri->cap = cap;
	}
	ri->rids[ri->n] = rid;
	ri->norms[ri->n] = norm;
	ri->n++;
	return VL_OK;
}

static int report(vl_segbuild *b, const char *phase, uint64_t done, uint64_t total, vl_diag *d)
{
	if (b->progress && b->progress(b->progress_ud, phase, done, total))
		return vl_diag_set(d, VL_ECANCELED, VL_NO_OFFSET, "canceled during %s", phase);
	return VL_OK;
}

/* Stream the rows: VECTORS section + in-memory ids, norms and columns. With
 * vectors spilled in place the section is there already: the rows are read
 * for their ids, norms and attributes, and must cover it exactly. */
static int write_vectors(vl_segbuild *b, vl_segsrc *src, vl_segw *w, rowinfo *ri,
                         vl_colbuilder *cb, vl_diag *d)
{
	uint32_t dim = b->schema->dim;
	const vl_kernels *k = vl_kern();
	vl_rowbuf rb = { 0 };
	int rc = b->vec_adopt ? VL_OK : vl_segw_begin(w, VL_SEC_VECTORS, 0, (uint64_t)dim * 4);
	uint64_t prev = 0;
	while (rc == VL_OK) {
		uint64_t rid;
		const float *vec;
		const uint8_t *rec;
		size_t rec_len;
		int got = src->next(src->ud, &rid, &vec, &rec, &rec_len, d);
		if (got < 0) {
			rc = got;
			break;
		}
		if (got == 0)
			break;
		if (rid <= prev) {
			rc = vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "segment rows out of order (%" PRIu64
			                 " after %" PRIu64 ")", rid, prev);
			break;
		}
		prev = rid;
		if (ri->n >= UINT32_MAX) {
			rc = vl_diag_set(d, VL_ELIMIT, VL_NO_OFFSET, "a segment holds at most 2^32-1 rows");
			break;
		}
		float norm = sqrtf(k->dot_f32(vec, vec, dim));
		if ((rc = rowinfo_push(ri, rid, norm)))
			break;
		if (!b->vec_adopt && (rc = vl_segw_write(w, vec, (size_t)dim * 4)))
			break;
		vl_rowrec r = { 0 };
		if (rec && (rc = vl_rowrec_decode(rec, rec_len, &r, &rb, 0, d)))
			break;
		if ((rc = vl_colb_add(cb, &r)))
			break;
		if ((ri->n & 65535) == 0)
			rc = report(b, "write", ri->n, src->total, d);
	}
	vl_rowbuf_free(&rb);
	if (rc == VL_ENOMEM && !d->code)
		vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory writing a segment");
	if (rc == VL_OK && b->vec_adopt && (uint64_t)ri->n * dim * 4 != b->vec_bytes)
		rc = vl_diag_set(d, VL_EIO, VL_NO_OFFSET,
		                 "%s holds %" PRIu64 " bytes of vectors but the load has %zu rows of %u",
		                 b->vec_rel, b->vec_bytes, ri->n, dim);
	return rc || b->vec_adopt ? rc : vl_segw_end(w);
}

static int write_row_meta(const rowinfo *ri, vl_segw *w)
{
	int rc = vl_segw_begin(w, VL_SEC_ROWIDS, 0, 8);
	for (size_t i = 0; rc == VL_OK && i < ri->n; i++) {
		uint8_t b[8];
		vl_st64(b, ri->rids[i]);
		rc = vl_segw_write(w, b, 8);
	}
	if (rc || (rc = vl_segw_end(w)) || (rc = vl_segw_begin(w, VL_SEC_NORMS, 0, 4)))
		return rc;
	for (size_t i = 0; rc == VL_OK && i < ri->n; i++) {
		uint8_t b[4];
		vl_stf32(b, ri->norms[i]);
		rc = vl_segw_write(w, b, 4);
	}
	return rc ? rc : vl_segw_end(w);
}

/* Map what has been written so far (the builder appends after it). */
static int map_written(vl_segw *w, const uint8_t **base, size_t *len, vl_diag *d)
{
	int rc = vl_segw_sync_view(w);
	if (rc)
		return rc;
	*len = w->off;
	void *p = mmap(NULL, *len, PROT_READ, MAP_SHARED, w->fd, 0);
	if (p == MAP_FAILED)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "mmap %s: %s", w->path, strerror(errno));
	*base = p;
	return VL_OK;
}

static int train_storage(vl_segbuild *b, const vl_quant_ops *qo, const float *vecs, uint64_t n,
                         vl_diag *d)
{
	vl_params p = vl_schema_params(b->schema);
	size_t want = qo->train_rows ? qo->train_rows(b->schema->dim, p.kv, p.n) : 0;
	if (!qo->train || b->qstate)
		return VL_OK;
	size_t rows = want && want < n ? want : (size_t)n;
	int rc = qo->train(b->schema->dim, (vl_metric)b->schema->metric, p.kv, p.n, vecs, rows,
	                   &b->new_qstate, &b->new_qstate_len, d);
	if (rc)
		return rc;
	b->qstate = b->new_qstate;
	b->qstate_len = b->new_qstate_len;
	return VL_OK;
}

/* ---- codes, encoded on several threads ------------------------------------ */

/* Threads of the encode and the index build: the caller's, or all cores. */
static unsigned build_threads(const vl_segbuild *b)
{
	return b->threads ? b->threads : vl_ncpu();
}

#define ENC_ROWS 4096u             /* rows per thread per round, at most */
#define ENC_BYTES (4u << 20)       /* and at most this many bytes of codes */
#define ENC_MAX_THREADS 8u

typedef struct enc_slice {
	const vl_quant_ops *qo;
	const vl_qview *q;
	const float *x;            /* the slice's first original */
	size_t n;
	int secondary;             /* which level */
	uint8_t *out;              /* n rows of the level's stride */
} enc_slice;

static void *encode_slice(void *arg)
{
	enc_slice *e = arg;
	size_t stride = e->secondary ? e->q->sstride : e->q->pstride;
	uint8_t *p = e->secondary ? NULL : e->out, *s = e->secondary ? e->out : NULL;
	/* zeroed first: padding bytes are the same whatever the encoder skips */
	memset(e->out, 0, e->n * stride);
	if (e->qo->encode_rows)
		e->qo->encode_rows(e->q, e->x, e->n, p, s);
	else
		for (size_t r = 0; r < e->n; r++)
			e->qo->encode(e->q, e->x + r * e->q->dim, p ? p + r * stride : NULL,
			              s ? s + r * stride : NULL);
	return NULL;
}

/* Rows per slice: up to ENC_ROWS, fewer for long rows (either level). */
static size_t slice_rows(const vl_qview *q)
{
	size_t widest = q->pstride > q->sstride ? q->pstride : q->sstride;
	size_t rows = widest ? ENC_BYTES / widest : ENC_ROWS;
	return rows < 64 ? 64 : rows > ENC_ROWS ? ENC_ROWS : rows;
}

/* One level's section: rounds of nth slices of slice_rows() rows, encoded in
 * parallel (independent rows, read-only quantizer state) and written in row
 * order, so the bytes do not depend on the thread count. */
static int write_level(vl_segbuild *b, const vl_quant_ops *qo, const vl_qview *q, const float *vecs,
                       uint64_t n, int secondary, unsigned nth, uint8_t *buf, vl_segw *w,
                       vl_diag *d)
{
	uint32_t dim = b->schema->dim;
	size_t stride = secondary ? q->sstride : q->pstride, dropped = 0;
	size_t per = slice_rows(q);
	int rc = vl_segw_begin(w, secondary ? VL_SEC_SECONDARY : VL_SEC_PRIMARY, 0, stride);
	for (uint64_t r0 = 0; r0 < n && rc == VL_OK; r0 += (uint64_t)nth * per) {
		enc_slice sl[ENC_MAX_THREADS];
		pthread_t th[ENC_MAX_THREADS];
		unsigned k, started = 0;
		for (k = 0; k < nth && r0 + (uint64_t)k * per < n; k++) {
			uint64_t from = r0 + (uint64_t)k * per, left = n - from;
			sl[k] = (enc_slice){ qo, q, vecs + from * dim, left < per ? left : per, secondary,
				                 buf + (size_t)k * per * stride };
		}
		unsigned ns = k;
		/* slices 1.. on new threads (one that cannot start runs here) */
		for (k = 1; k < ns; k++)
			if (vl_thread_start(&th[k], encode_slice, &sl[k]) == 0)
				started |= 1u << k;
			else
				encode_slice(&sl[k]);
		encode_slice(&sl[0]);
		for (k = 1; k < ns; k++)
			if (started & (1u << k))
				pthread_join(th[k], NULL);
		for (k = 0; k < ns && rc == VL_OK; k++)
			rc = vl_segw_write(w, sl[k].out, sl[k].n * stride);
		uint64_t done = r0 + (uint64_t)(ns - 1) * per + sl[ns - 1].n;
		if (rc == VL_OK)
			rc = report(b, "encode", done, n, d);
		/* the originals are read once per level */
		vl_drop_behind(vecs, (size_t)done * dim * sizeof(float), 16u << 20, &dropped);
	}
	return rc ? rc : vl_segw_end(w);
}

/* QUANT + PRIMARY + SECONDARY from the mapped originals. */
static int write_codes(vl_segbuild *b, const vl_quant_ops *qo, vl_qview *q, const float *vecs,
                       uint64_t n, vl_segw *w, vl_diag *d)
{
	int rc;
	if (b->qstate_len) {
		if ((rc = vl_segw_begin(w, VL_SEC_QUANT, 0, 0)) ||
		    (rc = vl_segw_write(w, b->qstate, b->qstate_len)) || (rc = vl_segw_end(w)))
			return rc;
	}
	if ((rc = qo->open(q, b->qstate, b->qstate_len, d)))
		return rc;
	if (b->schema->storage == VL_STORAGE_FLOAT32)
		return VL_OK; /* primary level = VECTORS */
	unsigned nth = build_threads(b);
	nth = nth > ENC_MAX_THREADS ? ENC_MAX_THREADS : nth;
	size_t ps = q->pstride, ss = q->sstride;
	uint8_t *buf = malloc((size_t)nth * slice_rows(q) * (ps > ss ? ps : ss));
	if (!buf)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	/* one section after the other, each encoding only its own level, rather
	 * than holding a second section in memory */
	rc = write_level(b, qo, q, vecs, n, 0, nth, buf, w, d);
	if (rc == VL_OK && ss)
		rc = write_level(b, qo, q, vecs, n, 1, nth, buf, w, d);
	free(buf);
	return rc;
}

static const uint8_t *sec_data(const vl_segw *w, const uint8_t *base, uint32_t kind)
{
	for (uint32_t i = 0; i < w->nsec; i++)
		if (w->sec[i].kind == kind)
			return base + w->sec[i].offset;
	return NULL;
}

static int build_index(vl_segbuild *b, vl_qview *q, const float *vecs, uint64_t n, vl_segw *w,
                       vl_diag *d)
{
	const vl_index_ops *io = vl_index_by_id(b->schema->index);
	if (!io)
		return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET, "index kind %u not in this build",
		                   b->schema->index);
	if (b->prebuilt && !io->adopt)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "index kind %s cannot adopt a ready-made index", io->name);
	if (!io->build && !io->rebuild && !b->prebuilt)
		return VL_OK;
	vl_index_build ib = {
		.dim = b->schema->dim,
		.metric = (vl_metric)b->schema->metric,
		.nrows = n,
		.vectors = vecs,
		.q = q,
		.params = vl_schema_params(b->schema),
		.threads = build_threads(b),
		.seed = b->seed,
		.progress = b->progress,
		.progress_ud = b->progress_ud,
		.w = w,
	};
	if (b->prebuilt)
		return io->adopt(&ib, b->prebuilt, d);
	if (b->rb_n && io->rebuild)
		return io->rebuild(&ib, b->rb_src, b->rb_map, b->rb_rows, b->rb_n, d);
	return io->build ? io->build(&ib, d) : VL_OK;
}

int vl_segbuild_run(vl_segbuild *b, vl_segsrc *src, vl_diag *d)
{
	const vl_schema_rec *s = b->schema;
	const vl_quant_ops *qo = vl_quant_by_id(s->storage);
	if (!qo)
		return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET, "storage type %u not in this build",
		                   s->storage);
	if (b->vec_adopt)
		snprintf(b->tmp_rel, sizeof b->tmp_rel, "%s", b->vec_rel);
	else
		snprintf(b->tmp_rel, sizeof b->tmp_rel, "tmp/c%u-s%06u.%ld.vseg", b->coll_id, b->seg_id,
		         (long)getpid());
	vl_seg_relpath(b->rel, sizeof b->rel, b->coll_id, b->seg_id);
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", b->st->e->path, b->tmp_rel);
	vl_segw w;
	rowinfo ri = { 0 };
	vl_colbuilder *cb = NULL;
	vl_qview q = { .dim = s->dim, .metric = (vl_metric)s->metric, .ops = qo };
	const uint8_t *base = NULL;
	size_t maplen = 0;
	int q_open = 0;
	int rc;
	if (b->vec_adopt) {
		if ((rc = vl_segw_adopt(&w, b->vec_fd, path, VL_SEC_VECTORS, (uint64_t)s->dim * 4,
		                        b->vec_bytes, b->vec_crc, d)))
			return rc;
		b->vec_adopted = 1;
	} else {
		unlink(path); /* a leftover from a crashed process with our pid */
		if ((rc = vl_segw_create(&w, path, d)))
			return rc;
	}
	b->written = 1;
	if ((rc = vl_colb_new(s, &cb))) {
		vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory");
		goto out;
	}
	if ((rc = write_vectors(b, src, &w, &ri, cb, d)))
		goto out;
	if (ri.n == 0) {
		rc = vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "no rows to write");
		goto out;
	}
	if ((rc = write_row_meta(&ri, &w)) || (rc = vl_colb_write(cb, &w)))
		goto out;
	if ((rc = map_written(&w, &base, &maplen, d)))
		goto out;
	const float *vecs = (const float *)(const void *)sec_data(&w, base, VL_SEC_VECTORS);
	q.nrows = ri.n;
	if ((rc = train_storage(b, qo, vecs, ri.n, d)) || (rc = write_codes(b, qo, &q, vecs, ri.n, &w, d)))
		goto out;
	q_open = 1;
	/* re-map so the index sees PRIMARY/SECONDARY */
	munmap((void *)base, maplen);
	base = NULL;
	if ((rc = map_written(&w, &base, &maplen, d)))
		goto out;
	vecs = (const float *)(const void *)sec_data(&w, base, VL_SEC_VECTORS);
	q.primary = s->storage == VL_STORAGE_FLOAT32 ? (const uint8_t *)vecs : sec_data(&w, base, VL_SEC_PRIMARY);
	q.secondary = q.sstride ? sec_data(&w, base, VL_SEC_SECONDARY) : NULL;
	q.norms = (const float *)(const void *)sec_data(&w, base, VL_SEC_NORMS);
	if ((rc = build_index(b, &q, vecs, ri.n, &w, d)))
		goto out;
	vl_seg_header h = { 0 };
	memcpy(h.store_uuid, b->st->e->uuid, 16);
	h.coll_id = b->coll_id;
	h.seg_id = b->seg_id;
	h.nrows = ri.n;
	h.rid_min = ri.rids[0];
	h.rid_max = ri.rids[ri.n - 1];
	h.created_ms = vl_now_ms();
	h.dim = s->dim;
	h.metric = s->metric;
	h.storage = s->storage;
	h.index_kind = s->index;
	if ((rc = vl_segw_finish(&w, &h)))
		goto out;
	uint8_t hdr[VL_SEG_ALIGN];
	vl_seg_encode_header(&h, w.sec, w.nsec, hdr);
	b->man = (vl_manifest){
		.nrows = ri.n, .rid_min = h.rid_min, .rid_max = h.rid_max, .file_bytes = h.file_bytes,
		.created_ms = h.created_ms, .header_crc = vl_ld32(hdr + 108), .storage = s->storage,
		.index = s->index,
	};
out:
	if (q_open && qo->close)
		qo->close(&q);
	if (base)
		munmap((void *)base, maplen);
	if (rc)
		vl_segw_discard(&w);
	else {
		free(w.path);
		w.path = NULL;
	}
	vl_colb_free(cb);
	free(ri.rids);
	free(ri.norms);
	if (rc)
		b->written = 0;
	return rc;
}

int vl_segbuild_install(vl_segbuild *b, vl_diag *d)
{
	int dfd = b->st->e->dirfd;
	if (renameat(dfd, b->tmp_rel, dfd, b->rel) != 0)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "renaming %s to %s: %s", b->tmp_rel, b->rel,
		                   strerror(errno));
	b->installed = 1;
	if (vl_fsync_dir(b->st, "seg") != 0)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "fsync of seg/: %s", vl_errmsg(b->st));
	return VL_OK;
}

void vl_segbuild_discard(vl_segbuild *b)
{
	int dfd = b->st->e->dirfd;
	if (b->installed)
		unlinkat(dfd, b->rel, 0);
	else if (b->written)
		unlinkat(dfd, b->tmp_rel, 0);
	b->installed = b->written = 0;
	vl_segbuild_free(b);
}

void vl_segbuild_free(vl_segbuild *b)
{
	free(b->new_qstate);
	b->new_qstate = NULL;
	b->new_qstate_len = 0;
}
