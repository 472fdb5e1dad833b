/* idxseg.c - see idxseg.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idxseg.h"
#include "io/segwriter.h"

static const uint8_t *find_sec(const vl_segw *w, const uint8_t *base, uint32_t kind)
{
	for (uint32_t i = 0; i < w->nsec; i++)
		if (w->sec[i].kind == kind)
			return base + w->sec[i].offset;
	return NULL;
}

static int write_rows(vl_segw *w, const float *vecs, uint64_t n, uint32_t dim)
{
	int rc = vl_segw_begin(w, VL_SEC_VECTORS, 0, (uint64_t)dim * 4);
	if (rc || (rc = vl_segw_write(w, vecs, (size_t)(n * dim * 4))) || (rc = vl_segw_end(w)))
		return rc;
	if ((rc = vl_segw_begin(w, VL_SEC_NORMS, 0, 4)))
		return rc;
	for (uint64_t r = 0; r < n && rc == VL_OK; r++) {
		double s = 0;
		for (uint32_t k = 0; k < dim; k++)
			s += (double)vecs[r * dim + k] * vecs[r * dim + k];
		float nm = (float)sqrt(s);
		rc = vl_segw_write(w, &nm, 4);
	}
	return rc ? rc : vl_segw_end(w);
}

static int write_codes(ix_seg *s, vl_segw *w, const float *vecs, vl_diag *d)
{
	int rc;
	if (s->qstate_len && ((rc = vl_segw_begin(w, VL_SEC_QUANT, 0, 0)) ||
	                      (rc = vl_segw_write(w, s->qstate, s->qstate_len)) ||
	                      (rc = vl_segw_end(w))))
		return rc;
	if (s->q.ops->id == VL_STORAGE_FLOAT32)
		return VL_OK;
	size_t ps = s->q.pstride, ss = s->q.sstride;
	uint8_t *row = calloc(1, ps + ss + 64);
	if (!row)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	rc = VL_OK;
	for (int pass = 0; pass < (ss ? 2 : 1) && rc == VL_OK; pass++) {
		if ((rc = vl_segw_begin(w, pass ? VL_SEC_SECONDARY : VL_SEC_PRIMARY, 0, pass ? ss : ps)))
			break;
		for (uint64_t r = 0; r < s->n && rc == VL_OK; r++) {
			memset(row, 0, ps + ss);
			s->q.ops->encode(&s->q, vecs + r * s->dim, row, ss ? row + ps : NULL);
			rc = vl_segw_write(w, pass ? row + ps : row, pass ? ss : ps);
		}
		if (rc == VL_OK)
			rc = vl_segw_end(w);
	}
	free(row);
	return rc;
}

static int train(ix_seg *s, const vl_quant_ops *qo, const ix_opts *o, const float *vecs,
                 vl_diag *d)
{
	if (o->qstate) {
		s->qstate = malloc(o->qstate_len ? o->qstate_len : 1);
		if (!s->qstate)
			return VL_ENOMEM;
		memcpy(s->qstate, o->qstate, o->qstate_len);
		s->qstate_len = o->qstate_len;
		return VL_OK;
	}
	if (!qo->train)
		return VL_OK;
	size_t want = qo->train_rows ? qo->train_rows(s->dim, o->params, o->nparams) : 0;
	size_t rows = want && want < s->n ? want : (size_t)s->n;
	return qo->train(s->dim, s->metric, o->params, o->nparams, vecs, rows, &s->qstate,
	                 &s->qstate_len, d);
}

/* Point the storage view at the sections of a mapped file. */
static void bind_view(ix_seg *s, const vl_seg_layout *lay, const uint8_t *base)
{
	const vl_seg_section *v = vl_seg_find(lay, VL_SEC_VECTORS, 0);
	const vl_seg_section *nm = vl_seg_find(lay, VL_SEC_NORMS, 0);
	const vl_seg_section *p = vl_seg_find(lay, VL_SEC_PRIMARY, 0);
	const vl_seg_section *sc = vl_seg_find(lay, VL_SEC_SECONDARY, 0);
	s->q.primary = s->q.ops->id == VL_STORAGE_FLOAT32 ? base + v->offset : base + p->offset;
	s->q.secondary = sc ? base + sc->offset : NULL;
	s->q.norms = (const float *)(const void *)(base + nm->offset);
}

static atomic_uint counter;

int ix_seg_make(ix_seg *s, const vl_index_ops *io, const float *vecs, uint64_t n, uint32_t dim,
                const ix_opts *o, vl_diag *d)
{
	memset(s, 0, sizeof *s);
	s->io = io;
	s->dim = dim;
	s->n = n;
	s->metric = o->metric ? o->metric : VL_METRIC_L2;
	const vl_quant_ops *qo = vl_quant_find(o->storage ? o->storage : "float32");
	if (!qo)
		return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET, "storage %s absent", o->storage);
	if (o->path)
		snprintf(s->path, sizeof s->path, "%s", o->path);
	else
		snprintf(s->path, sizeof s->path, "/tmp/ixseg-%d-%u.vseg", (int)getpid(),
		         atomic_fetch_add(&counter, 1));
	unlink(s->path);
	vl_segw w;
	int rc = vl_segw_create(&w, s->path, d);
	if (rc)
		return rc;
	uint8_t *tmp = NULL;
	size_t tmplen = 0;
	s->q = (vl_qview){ .ops = qo, .dim = dim, .metric = s->metric, .nrows = n };
	if ((rc = write_rows(&w, vecs, n, dim)) || (rc = train(s, qo, o, vecs, d)) ||
	    (rc = qo->open(&s->q, s->qstate, s->qstate_len, d)))
		goto fail;
	s->q_open = 1;
	if ((rc = write_codes(s, &w, vecs, d)) || (rc = vl_segw_sync_view(&w)))
		goto fail;
	tmplen = w.off;
	tmp = mmap(NULL, tmplen, PROT_READ, MAP_SHARED, w.fd, 0);
	if (tmp == MAP_FAILED) {
		tmp = NULL;
		rc = vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "mmap: %s", strerror(errno));
		goto fail;
	}
	const float *mvecs = (const float *)(const void *)find_sec(&w, tmp, VL_SEC_VECTORS);
	s->q.primary = qo->id == VL_STORAGE_FLOAT32 ? (const uint8_t *)mvecs
	                                              : find_sec(&w, tmp, VL_SEC_PRIMARY);
	s->q.secondary = s->q.sstride ? find_sec(&w, tmp, VL_SEC_SECONDARY) : NULL;
	s->q.norms = (const float *)(const void *)find_sec(&w, tmp, VL_SEC_NORMS);
	vl_index_build b = {
		.dim = dim, .metric = s->metric, .nrows = n, .vectors = mvecs, .q = &s->q,
		.params = { o->params, o->nparams }, .threads = o->threads ? o->threads : 1,
		.seed = o->seed, .progress = o->progress, .progress_ud = o->progress_ud, .w = &w,
	};
	if (io->build) {
		rc = o->nsrc && io->rebuild ? io->rebuild(&b, o->src, o->map, o->src_rows, o->nsrc, d)
		                            : io->build(&b, d);
		if (rc)
			goto fail;
	}
	vl_seg_header h = { 0 };
	h.nrows = n;
	h.rid_min = 1;
	h.rid_max = n;
	h.dim = dim;
	h.metric = (uint8_t)s->metric;
	h.storage = (uint8_t)qo->id;
	h.index_kind = (uint8_t)io->id;
	if ((rc = vl_segw_finish(&w, &h)))
		goto fail;
	munmap(tmp, tmplen);
	free(w.path);
	int keep = o->keep_file;
	char path[256];
	memcpy(path, s->path, sizeof path);
	s->q_open = 0;
	qo->close(&s->q);
	uint8_t *qs = s->qstate;
	size_t qsl = s->qstate_len;
	s->qstate = NULL;
	rc = ix_seg_open_file(s, io, path, d);
	free(qs);
	(void)qsl;
	if (rc && !keep)
		unlink(path);
	return rc;
fail:
	if (tmp)
		munmap(tmp, tmplen);
	if (s->q_open)
		qo->close(&s->q);
	s->q_open = 0;
	free(s->qstate);
	s->qstate = NULL;
	vl_segw_discard(&w);
	return rc;
}

int ix_seg_open_file(ix_seg *s, const vl_index_ops *io, const char *path, vl_diag *d)
{
	memset(s, 0, sizeof *s);
	snprintf(s->path, sizeof s->path, "%s", path);
	s->io = io;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "stat: %s", strerror(errno));
	}
	s->len = (size_t)st.st_size;
	void *p = mmap(NULL, s->len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "mmap: %s", strerror(errno));
	s->base = p;
	int rc = vl_seg_decode_header(s->base, s->len, s->len, &s->lay, d);
	if (rc)
		return rc;
	s->n = s->lay.h.nrows;
	s->dim = s->lay.h.dim;
	s->metric = (vl_metric)s->lay.h.metric;
	const vl_quant_ops *qo = vl_quant_by_id(s->lay.h.storage);
	if (!qo)
		return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET, "storage %u", s->lay.h.storage);
	s->q = (vl_qview){ .ops = qo, .dim = s->dim, .metric = s->metric, .nrows = s->n };
	uint64_t qlen = 0;
	const uint8_t *qst = ix_seg_section(s, VL_SEC_QUANT, &qlen);
	if ((rc = qo->open(&s->q, qst, qst ? qlen : 0, d)))
		return rc;
	s->q_open = 1;
	bind_view(s, &s->lay, s->base);
	const vl_seg_section *v = vl_seg_find(&s->lay, VL_SEC_VECTORS, 0);
	vl_index_seg is = { &s->lay, s->base, s->n, &s->q,
		                (const float *)(const void *)(s->base + v->offset), s->path };
	return io->open(&is, &s->state, d);
}

void ix_seg_free(ix_seg *s)
{
	if (s->state && s->io->close)
		s->io->close(s->state);
	if (s->q_open && s->q.ops->close)
		s->q.ops->close(&s->q);
	if (s->base)
		munmap(s->base, s->len);
	if (s->path[0])
		unlink(s->path);
	free(s->qstate);
	memset(s, 0, sizeof *s);
}

const uint8_t *ix_seg_section(const ix_seg *s, uint32_t kind, uint64_t *len)
{
	const vl_seg_section *sec = vl_seg_find(&s->lay, kind, 0);
	if (!sec)
		return NULL;
	if (len)
		*len = sec->length;
	return s->base + sec->offset;
}

int ix_seg_search(const ix_seg *s, const float *query, uint32_t k, size_t cap,
                  const vl_accept *accept, const char *const *params, size_t nparams,
                  vl_topk *out, uint64_t *evals, vl_diag *d)
{
	if (vl_topk_init(out, cap))
		return VL_ENOMEM;
	void *qbuf = NULL;
	if (posix_memalign(&qbuf, 64, s->q.qbuf_size + 64))
		return VL_ENOMEM;
	s->q.ops->prepare(&s->q, query, qbuf);
	vl_index_query iq = { .query = query, .qbuf = qbuf, .k = k, .params = { params, nparams },
		                  .accept = { NULL, NULL, 1.0 }, .distance_evals = evals };
	if (accept)
		iq.accept = *accept;
	int rc = s->io->search(s->state, &iq, out, d);
	free(qbuf);
	vl_topk_sort(out);
	return rc;
}
