/* segmap.c - map, validate and describe one segment file (see segmap.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "segmap.h"
#include "vl_bytes.h"

const uint8_t *vl_segmap_section(const vl_segmap *s, uint32_t kind, uint32_t param, uint64_t *len)
{
	const vl_seg_section *sec = vl_seg_find(&s->lay, kind, param);
	if (!sec)
		return NULL;
	if (len)
		*len = sec->length;
	return s->base + sec->offset;
}

static int need_rows(const vl_segmap *s, uint32_t kind, uint64_t stride, vl_diag *d)
{
	const vl_seg_section *sec = vl_seg_find(&s->lay, kind, 0);
	if (!sec)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s: %s section is missing", s->relpath,
		                   vl_seg_section_name(kind));
	if (sec->row_stride != stride)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s: %s section has %" PRIu64
		                   "-byte rows, expected %" PRIu64, s->relpath, vl_seg_section_name(kind),
		                   sec->row_stride, stride);
	return VL_OK;
}

/* ATTR_TAG layout: u32 nrows | u32 ntags | u64 nids | u32 tag_off[ntags+1] |
 * dict (padded to 4) | u32 row_off[nrows+1] | u32 ids[nids]. Offsets inside
 * are bounds-checked at use; sizes are checked here. */
static int open_tagcol(vl_segmap *s, const vl_seg_section *sec, vl_tagcol *t, vl_diag *d)
{
	const uint8_t *p = s->base + sec->offset;
	uint64_t len = sec->length;
	if (len < 16 || vl_ld32(p) != s->nrows)
		goto bad;
	t->ntags = vl_ld32(p + 4);
	t->nids = vl_ld64(p + 8);
	uint64_t off = 16, need = ((uint64_t)t->ntags + 1) * 4;
	if (need > len - off)
		goto bad;
	t->tag_off = p + off;
	off += need;
	uint64_t dict_len = vl_ld32(t->tag_off + (uint64_t)t->ntags * 4);
	if (dict_len > len - off)
		goto bad;
	t->dict = p + off;
	off = vl_align_up(off + dict_len, 4);
	need = (s->nrows + 1) * 4;
	if (off > len || need > len - off)
		goto bad;
	t->row_off = p + off;
	off += need;
	if (t->nids > (len - off) / 4 || off + t->nids * 4 != len)
		goto bad;
	t->ids = p + off;
	return VL_OK;
bad:
	return vl_diag_set(d, VL_ECORRUPT, sec->offset, "%s: tag column of field %u is malformed",
	                   s->relpath, sec->param);
}

int64_t vl_tagcol_find(const vl_tagcol *t, const void *tag, size_t len)
{
	uint32_t lo = 0, hi = t->ntags;
	uint32_t dict_len = vl_ld32(t->tag_off + (uint64_t)t->ntags * 4);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t a = vl_ld32(t->tag_off + (uint64_t)mid * 4), b = vl_ld32(t->tag_off + (uint64_t)mid * 4 + 4);
		if (a > b || b > dict_len)
			return -1; /* damaged: treat as absent */
		size_t ml = b - a;
		int c = memcmp(t->dict + a, tag, ml < len ? ml : len);
		if (c == 0)
			c = ml < len ? -1 : ml > len ? 1 : 0;
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int vl_tagcol_row_has(const vl_tagcol *t, uint64_t nrows, uint32_t row, uint32_t id)
{
	if (row >= nrows)
		return 0;
	uint32_t a = vl_ld32(t->row_off + (uint64_t)row * 4), b = vl_ld32(t->row_off + (uint64_t)row * 4 + 4);
	if (a > b || b > t->nids)
		return 0;
	for (uint32_t i = a; i < b; i++)
		if (vl_ld32(t->ids + (uint64_t)i * 4) == id)
			return 1;
	return 0;
}

static int open_columns(vl_segmap *s, vl_diag *d)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->lay.h.nsections; i++)
		if (s->lay.sec[i].kind == VL_SEC_ATTR_NUM || s->lay.sec[i].kind == VL_SEC_ATTR_TAG)
			n++;
	s->cols = calloc(n ? n : 1, sizeof *s->cols);
	if (!s->cols)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	for (uint32_t i = 0; i < s->lay.h.nsections; i++) {
		const vl_seg_section *sec = &s->lay.sec[i];
		if (sec->kind != VL_SEC_ATTR_NUM && sec->kind != VL_SEC_ATTR_TAG)
			continue;
		vl_attrcol *c = &s->cols[s->ncols];
		if (sec->param > UINT16_MAX)
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s: bad column field id %u",
			                   s->relpath, sec->param);
		c->field_id = (uint16_t)sec->param;
		if (sec->kind == VL_SEC_ATTR_NUM) {
			if (sec->row_stride != 8)
				return vl_diag_set(d, VL_ECORRUPT, sec->offset,
				                   "%s: numeric column of field %u has a bad stride", s->relpath,
				                   sec->param);
			c->type = VL_FIELD_NUMERIC;
			c->num = (const double *)(const void *)(s->base + sec->offset);
		} else {
			c->type = VL_FIELD_TAG;
			int rc = open_tagcol(s, sec, &c->tag, d);
			if (rc)
				return rc;
		}
		s->ncols++;
	}
	return VL_OK;
}

const vl_attrcol *vl_segmap_col(const vl_segmap *s, uint16_t field_id)
{
	for (uint32_t i = 0; i < s->ncols; i++)
		if (s->cols[i].field_id == field_id)
			return &s->cols[i];
	return NULL;
}

static int open_storage(vl_segmap *s, vl_diag *d)
{
	const vl_seg_header *h = &s->lay.h;
	const vl_quant_ops *qo = vl_quant_by_id(h->storage);
	if (!qo)
		return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET,
		                   "%s: storage type %u is not supported by this build", s->relpath,
		                   h->storage);
	s->q.ops = qo;
	s->q.dim = h->dim;
	s->q.metric = (vl_metric)h->metric;
	s->q.nrows = s->nrows;
	uint64_t qlen = 0;
	const uint8_t *qstate = vl_segmap_section(s, VL_SEC_QUANT, 0, &qlen);
	int rc = qo->open(&s->q, qstate, qstate ? qlen : 0, d);
	if (rc) {
		vl_diag_prefix(d, "%s", s->relpath);
		return rc;
	}
	s->q_open = 1;
	s->q.norms = s->norms;
	s->fq = (vl_qview){ .ops = &vl_quant_float32, .dim = h->dim, .metric = (vl_metric)h->metric,
	                    .nrows = s->nrows, .norms = s->norms };
	if ((rc = vl_quant_float32.open(&s->fq, NULL, 0, d)))
		return rc;
	s->fq.primary = (const uint8_t *)s->vectors;
	if (h->storage == VL_STORAGE_FLOAT32) {
		s->q.primary = (const uint8_t *)s->vectors;
		if (s->q.pstride != (size_t)h->dim * 4)
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s: float32 stride mismatch", s->relpath);
	} else {
		if ((rc = need_rows(s, VL_SEC_PRIMARY, s->q.pstride, d)))
			return rc;
		s->q.primary = vl_segmap_section(s, VL_SEC_PRIMARY, 0, NULL);
	}
	if (s->q.sstride) {
		if ((rc = need_rows(s, VL_SEC_SECONDARY, s->q.sstride, d)))
			return rc;
		s->q.secondary = vl_segmap_section(s, VL_SEC_SECONDARY, 0, NULL);
	}
	return VL_OK;
}

static int open_index(vl_segmap *s, vl_diag *d)
{
	s->iops = vl_index_by_id(s->lay.h.index_kind);
	if (!s->iops)
		return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET,
		                   "%s: index kind %u is not supported by this build", s->relpath,
		                   s->lay.h.index_kind);
	vl_index_seg is = { &s->lay, s->base, s->nrows, &s->q, s->vectors, s->relpath };
	int rc = s->iops->open(&is, &s->istate, d);
	if (rc) {
		s->istate = NULL;
		if (!strstr(d->msg, s->relpath))
			vl_diag_prefix(d, "%s", s->relpath);
	}
	return rc;
}

static int check_against_manifest(const vl_segmap *s, const vl_store *st, const vl_manifest *m,
                                  vl_diag *d)
{
	const vl_seg_header *h = &s->lay.h;
	if (memcmp(h->store_uuid, st->e->uuid, 16) != 0)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s belongs to another store", s->relpath);
	if (h->coll_id != s->coll_id || h->seg_id != s->seg_id)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "%s holds collection %u segment %u (misnamed)", s->relpath, h->coll_id,
		                   h->seg_id);
	if (m && (m->nrows != h->nrows || m->rid_min != h->rid_min || m->rid_max != h->rid_max ||
	          m->file_bytes != h->file_bytes || m->header_crc != h->header_crc))
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "%s does not match its manifest entry (replaced or damaged file)",
		                   s->relpath);
	return VL_OK;
}

int vl_segmap_check_crcs(const vl_segmap *s, vl_diag *d)
{
	for (uint32_t i = 0; i < s->lay.h.nsections; i++) {
		const vl_seg_section *sec = &s->lay.sec[i];
		uint32_t crc = vl_crc32c(0, s->base + sec->offset, sec->length);
		if (crc != sec->crc)
			return vl_diag_set(d, VL_ECORRUPT, sec->offset,
			                   "%s: section %u (%s) checksum mismatch: stored %08x, computed %08x",
			                   s->relpath, i, vl_seg_section_name(sec->kind), sec->crc, crc);
	}
	return VL_OK;
}

static int map_file(vl_segmap *s, const vl_store *st, vl_diag *d)
{
	s->fd = openat(st->e->dirfd, s->relpath, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return vl_diag_set(d, errno == ENOENT ? VL_ENOTFOUND : VL_EIO, VL_NO_OFFSET,
		                   "opening %s: %s", s->relpath, strerror(errno));
	struct stat sb;
	if (fstat(s->fd, &sb) != 0)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "stat %s: %s", s->relpath, strerror(errno));
	if ((uint64_t)sb.st_size < VL_SEG_ALIGN)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s is %lld bytes: truncated segment",
		                   s->relpath, (long long)sb.st_size);
	s->size = (size_t)sb.st_size;
	void *p = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (p == MAP_FAILED)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "mmap %s: %s", s->relpath, strerror(errno));
	s->base = p;
	return VL_OK;
}

/* Graph indexes touch scattered rows: readahead would only waste I/O and
 * page cache there. Scans (flat, IVF lists) read runs of rows front to back
 * and keep the kernel's default readahead. */
static void advise_access(const vl_segmap *s)
{
	if (s->lay.h.index_kind != VL_INDEX_VAMANA && s->lay.h.index_kind != VL_INDEX_HNSW)
		return;
	for (uint32_t i = 0; i < s->lay.h.nsections; i++) {
		const vl_seg_section *sec = &s->lay.sec[i];
		if (sec->length)
			madvise((void *)(s->base + sec->offset), (size_t)vl_align_up(sec->length, VL_SEG_ALIGN),
			        MADV_RANDOM);
	}
}

static int open_views(vl_segmap *s, vl_diag *d)
{
	const vl_seg_header *h = &s->lay.h;
	int rc;
	if ((rc = need_rows(s, VL_SEC_ROWIDS, 8, d)) || (rc = need_rows(s, VL_SEC_VECTORS, (uint64_t)h->dim * 4, d)) ||
	    (rc = need_rows(s, VL_SEC_NORMS, 4, d)))
		return rc;
	s->rowids = (const uint64_t *)(const void *)vl_segmap_section(s, VL_SEC_ROWIDS, 0, NULL);
	s->vectors = (const float *)(const void *)vl_segmap_section(s, VL_SEC_VECTORS, 0, NULL);
	s->vec_sec = vl_seg_find(&s->lay, VL_SEC_VECTORS, 0);
	s->norms = (const float *)(const void *)vl_segmap_section(s, VL_SEC_NORMS, 0, NULL);
	if (s->nrows && (s->rowids[0] != h->rid_min || s->rowids[s->nrows - 1] != h->rid_max))
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "%s: row ids do not span the header's range", s->relpath);
	if ((rc = open_storage(s, d)) || (rc = open_columns(s, d)) || (rc = open_index(s, d)))
		return rc;
	return VL_OK;
}

int vl_segmap_open(const vl_store *st, uint32_t coll, uint32_t seg, const vl_manifest *m,
                   int verify, vl_segmap **out, vl_diag *d)
{
	vl_segmap *s = calloc(1, sizeof *s);
	if (!s)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	atomic_init(&s->refs, 1);
	s->coll_id = coll;
	s->seg_id = seg;
	s->fd = -1;
	vl_seg_relpath(s->relpath, sizeof s->relpath, coll, seg);
	int rc = map_file(s, st, d);
	if (rc)
		goto fail;
	if ((rc = vl_seg_decode_header(s->base, VL_SEG_ALIGN, s->size, &s->lay, d))) {
		vl_diag_prefix(d, "%s", s->relpath);
		goto fail;
	}
	s->nrows = s->lay.h.nrows;
	if (s->nrows > UINT32_MAX) {
		rc = vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s: %" PRIu64 " rows exceed the 2^32 limit",
		                 s->relpath, s->nrows);
		goto fail;
	}
	if ((rc = check_against_manifest(s, st, m, d)))
		goto fail;
	if (verify && (rc = vl_segmap_check_crcs(s, d)))
		goto fail;
	if ((rc = open_views(s, d)))
		goto fail;
	advise_access(s);
	*out = s;
	return VL_OK;
fail:
	vl_segmap_unref(s);
	return rc;
}

void vl_segmap_ref(vl_segmap *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void vl_segmap_unref(vl_segmap *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->iops && s->istate)
		s->iops->close(s->istate);
	if (s->q_open && s->q.ops->close)
		s->q.ops->close(&s->q);
	free(s->cols);
	if (s->base)
		munmap((void *)s->base, s->size);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

int64_t vl_segmap_row_of(const vl_segmap *s, uint64_t rid)
{
	uint64_t lo = 0, hi = s->nrows;
	if (!s->nrows || rid < s->lay.h.rid_min || rid > s->lay.h.rid_max)
		return -1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		uint64_t v = s->rowids[mid];
		if (v == rid)
			return (int64_t)mid;
		if (v < rid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
