/* records.c - LMDB record encodings (see records.h and SPEC.md). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "records.h"
#include "zctx.h"
#include "vl_bytes.h"

/* ---- growable output buffer ------------------------------------------ */
typedef struct obuf {
	uint8_t *p;
	size_t len, cap;
	int oom;
} obuf;

static uint8_t *ob_room(obuf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	uint8_t *at = b->p + b->len;
	b->len += n;
	return at;
}
static void ob_u8(obuf *b, uint8_t v)
{
	uint8_t *p = ob_room(b, 1);
	if (p)
		*p = v;
}
static void ob_u16(obuf *b, uint16_t v)
{
	uint8_t *p = ob_room(b, 2);
	if (p)
		vl_st16(p, v);
}
static void ob_u32(obuf *b, uint32_t v)
{
	uint8_t *p = ob_room(b, 4);
	if (p)
		vl_st32(p, v);
}
static void ob_u64(obuf *b, uint64_t v)
{
	uint8_t *p = ob_room(b, 8);
	if (p)
		vl_st64(p, v);
}
static void ob_f64(obuf *b, double v)
{
	uint8_t *p = ob_room(b, 8);
	if (p)
		vl_stf64(p, v);
}
static void ob_bytes(obuf *b, const void *s, size_t n)
{
	uint8_t *p = ob_room(b, n);
	if (p && n)
		memcpy(p, s, n);
}

/* ---- schema ------------------------------------------------------------ */
#define SCHEMA_VERSION 1

int vl_schema_encode(const vl_schema_rec *s, uint8_t **out, size_t *len)
{
	obuf b = { 0 };
	ob_u8(&b, SCHEMA_VERSION);
	ob_u32(&b, s->dim);
	ob_u8(&b, s->metric);
	ob_u8(&b, s->storage);
	ob_u8(&b, s->index);
	ob_u16(&b, s->next_field_id);
	ob_u64(&b, s->created_ms);
	ob_u16(&b, (uint16_t)s->nparams);
	for (uint32_t i = 0; i < s->nparams; i++) {
		size_t n = strlen(s->params[i]);
		ob_u16(&b, (uint16_t)n);
		ob_bytes(&b, s->params[i], n);
	}
	ob_u16(&b, (uint16_t)s->nfields);
	for (uint32_t i = 0; i < s->nfields; i++) {
		size_t n = strlen(s->fields[i].name);
		ob_u16(&b, s->fields[i].id);
		ob_u8(&b, s->fields[i].type);
		ob_u8(&b, (uint8_t)n);
		ob_bytes(&b, s->fields[i].name, n);
	}
	if (b.oom) {
		free(b.p);
		return VL_ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return VL_OK;
}

void vl_schema_rec_free(vl_schema_rec *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nparams; i++)
		free(s->params[i]);
	free(s->params);
	free(s->fields);
	s->params = NULL;
	s->fields = NULL;
	s->nparams = s->nfields = 0;
}

static int bad(vl_diag *d, vl_rd *r, const char *what)
{
	return vl_diag_set(d, VL_ECORRUPT, vl_rd_off(r), "damaged %s record", what);
}

int vl_schema_decode(const uint8_t *buf, size_t len, vl_schema_rec *s, vl_diag *d)
{
	memset(s, 0, sizeof *s);
	vl_rd r = vl_rd_make(buf, len, 0);
	uint8_t ver = vl_rd_u8(&r);
	if (!r.bad && ver != SCHEMA_VERSION)
		return vl_diag_set(d, VL_EVERSION, 0, "schema record version %u is not supported", ver);
	s->dim = vl_rd_u32(&r);
	s->metric = vl_rd_u8(&r);
	s->storage = vl_rd_u8(&r);
	s->index = vl_rd_u8(&r);
	s->next_field_id = vl_rd_u16(&r);
	s->created_ms = vl_rd_u64(&r);
	uint32_t np = vl_rd_u16(&r);
	if (r.bad || s->dim == 0 || s->dim > VL_DIM_MAX || s->metric < 1 || s->metric > 3 ||
	    np > VL_PARAMS_MAX || np * 2u > vl_rd_left(&r))
		return bad(d, &r, "schema");
	s->params = calloc(np ? np : 1, sizeof *s->params);
	if (!s->params)
		return VL_ENOMEM;
	for (uint32_t i = 0; i < np; i++) {
		uint16_t n = vl_rd_u16(&r);
		const uint8_t *p = vl_rd_take(&r, n);
		if (!p || n == 0 || n > VL_PARAM_LEN_MAX || memchr(p, 0, n) || !memchr(p, '=', n))
			goto fail;
		s->params[i] = malloc((size_t)n + 1);
		if (!s->params[i])
			goto oom;
		memcpy(s->params[i], p, n);
		s->params[i][n] = 0;
		s->nparams = i + 1;
	}
	uint32_t nf = vl_rd_u16(&r);
	if (r.bad || nf > VL_FIELDS_MAX || nf * 4u > vl_rd_left(&r))
		goto fail;
	s->fields = calloc(nf ? nf : 1, sizeof *s->fields);
	if (!s->fields)
		goto oom;
	for (uint32_t i = 0; i < nf; i++) {
		vl_schema_field *f = &s->fields[i];
		f->id = vl_rd_u16(&r);
		f->type = vl_rd_u8(&r);
		uint8_t n = vl_rd_u8(&r);
		const uint8_t *p = vl_rd_take(&r, n);
		if (!p || n == 0 || memchr(p, 0, n) || f->type < VL_FIELD_TAG || f->type > VL_FIELD_NUMERIC ||
		    f->id >= s->next_field_id)
			goto fail;
		memcpy(f->name, p, n);
		f->name[n] = 0;
		for (uint32_t j = 0; j < i; j++)
			if (s->fields[j].id == f->id || strcmp(s->fields[j].name, f->name) == 0)
				goto fail;
		s->nfields = i + 1;
	}
	if (r.bad || vl_rd_left(&r))
		goto fail;
	return VL_OK;
fail:
	vl_schema_rec_free(s);
	return bad(d, &r, "schema");
oom:
	vl_schema_rec_free(s);
	return VL_ENOMEM;
}

const vl_schema_field *vl_schema_field_find(const vl_schema_rec *s, const char *name)
{
	for (uint32_t i = 0; i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return &s->fields[i];
	return NULL;
}

const vl_schema_field *vl_schema_field_by_id(const vl_schema_rec *s, uint16_t id)
{
	for (uint32_t i = 0; i < s->nfields; i++)
		if (s->fields[i].id == id)
			return &s->fields[i];
	return NULL;
}

/* ---- collection state -------------------------------------------------- */
#define CSTATE_VERSION 1

void vl_cstate_encode(const vl_cstate *c, uint8_t out[VL_CSTATE_BYTES])
{
	memset(out, 0, VL_CSTATE_BYTES);
	vl_st32(out + 0, CSTATE_VERSION);
	vl_st32(out + 4, c->next_seg);
	vl_st64(out + 8, c->next_rid);
	vl_st64(out + 16, c->live_rows);
	vl_st64(out + 24, c->buffer_rows);
	vl_st64(out + 32, c->buffer_bytes);
	vl_st64(out + 40, c->segment_rows);
	vl_st64(out + 48, c->dead_rows);
	vl_st64(out + 56, c->manifest_gen);
	vl_st32(out + 64, c->flags);
	vl_st64(out + 72, c->flush_failures);
}

int vl_cstate_decode(const uint8_t *buf, size_t len, vl_cstate *c, vl_diag *d)
{
	memset(c, 0, sizeof *c);
	if (len != VL_CSTATE_BYTES || vl_ld32(buf) != CSTATE_VERSION)
		return vl_diag_set(d, VL_ECORRUPT, 0, "damaged collection state record (%zu bytes)", len);
	c->next_seg = vl_ld32(buf + 4);
	c->next_rid = vl_ld64(buf + 8);
	c->live_rows = vl_ld64(buf + 16);
	c->buffer_rows = vl_ld64(buf + 24);
	c->buffer_bytes = vl_ld64(buf + 32);
	c->segment_rows = vl_ld64(buf + 40);
	c->dead_rows = vl_ld64(buf + 48);
	c->manifest_gen = vl_ld64(buf + 56);
	c->flags = vl_ld32(buf + 64);
	c->flush_failures = vl_ld64(buf + 72);
	if (c->next_rid == 0 || c->next_seg == 0)
		return vl_diag_set(d, VL_ECORRUPT, 0, "damaged collection state record (zero ids)");
	return VL_OK;
}

/* ---- manifest ----------------------------------------------------------- */
#define MANIFEST_VERSION 1

void vl_manifest_encode(const vl_manifest *m, uint8_t out[VL_MANIFEST_BYTES])
{
	memset(out, 0, VL_MANIFEST_BYTES);
	vl_st32(out + 0, MANIFEST_VERSION);
	vl_st32(out + 4, m->header_crc);
	vl_st64(out + 8, m->nrows);
	vl_st64(out + 16, m->rid_min);
	vl_st64(out + 24, m->rid_max);
	vl_st64(out + 32, m->file_bytes);
	vl_st64(out + 40, m->dead_rows);
	vl_st64(out + 48, m->created_ms);
	out[56] = m->storage;
	out[57] = m->index;
}

int vl_manifest_decode(const uint8_t *buf, size_t len, vl_manifest *m, vl_diag *d)
{
	memset(m, 0, sizeof *m);
	if (len != VL_MANIFEST_BYTES || vl_ld32(buf) != MANIFEST_VERSION)
		return vl_diag_set(d, VL_ECORRUPT, 0, "damaged segment manifest record (%zu bytes)", len);
	m->header_crc = vl_ld32(buf + 4);
	m->nrows = vl_ld64(buf + 8);
	m->rid_min = vl_ld64(buf + 16);
	m->rid_max = vl_ld64(buf + 24);
	m->file_bytes = vl_ld64(buf + 32);
	m->dead_rows = vl_ld64(buf + 40);
	m->created_ms = vl_ld64(buf + 48);
	m->storage = buf[56];
	m->index = buf[57];
	if (m->dead_rows > m->nrows || (m->nrows && m->rid_min > m->rid_max))
		return vl_diag_set(d, VL_ECORRUPT, 0, "damaged segment manifest record (counts)");
	return VL_OK;
}

/* ---- row record ----------------------------------------------------------
 * u8 version | u16 key_len | key | u16 nvalues | values...
 * value: u16 field_id | u8 kind[|0x80 zstd] | payload
 *   TAG/TEXT: u32 len | bytes          (zstd: u32 raw_len | u32 clen | frame)
 *   NUM: f64                           NUMTEXT: f64 | u16 len | text
 */
#define ROWREC_VERSION 1

static int enc_text(obuf *b, const vl_rowval *v, vl_diag *d)
{
	if (v->kind == VL_VAL_TEXT && v->len >= VL_TEXT_COMPRESS_MIN) {
		/* compressed straight into the record; given back if it saves nothing */
		size_t at = b->len, bound = ZSTD_compressBound(v->len);
		uint8_t *hdr = ob_room(b, 9 + bound);
		if (!hdr)
			return VL_ENOMEM;
		size_t c = vl_zstd_compress(hdr + 9, bound, v->data, v->len, VL_TEXT_ZSTD_LEVEL);
		if (!ZSTD_isError(c) && c + 4 < v->len) {
			hdr[0] = VL_VAL_TEXT | VL_VAL_ZSTD;
			vl_st32(hdr + 1, (uint32_t)v->len);
			vl_st32(hdr + 5, (uint32_t)c);
			b->len = at + 9 + c;
			return VL_OK;
		}
		b->len = at;
	}
	ob_u8(b, v->kind);
	ob_u32(b, (uint32_t)v->len);
	ob_bytes(b, v->data, v->len);
	return VL_OK;
}

int vl_rowrec_encode(const uint8_t *key, size_t key_len, const vl_rowval *vals, uint32_t n,
                     uint8_t **out, size_t *len, vl_diag *d)
{
	obuf b = { 0 };
	int rc = VL_OK;
	ob_u8(&b, ROWREC_VERSION);
	ob_u16(&b, (uint16_t)key_len);
	ob_bytes(&b, key, key_len);
	ob_u16(&b, (uint16_t)n);
	for (uint32_t i = 0; i < n && rc == VL_OK; i++) {
		const vl_rowval *v = &vals[i];
		ob_u16(&b, v->field_id);
		switch (v->kind) {
		case VL_VAL_TAG:
		case VL_VAL_TEXT:
			if (v->len > UINT32_MAX) {
				rc = vl_diag_set(d, VL_ELIMIT, VL_NO_OFFSET, "attribute value of %zu bytes is too large",
				                 v->len);
				break;
			}
			rc = enc_text(&b, v, d);
			break;
		case VL_VAL_NUM:
			ob_u8(&b, VL_VAL_NUM);
			ob_f64(&b, v->num);
			break;
		case VL_VAL_NUMTEXT:
			ob_u8(&b, VL_VAL_NUMTEXT);
			ob_f64(&b, v->num);
			ob_u16(&b, (uint16_t)v->len);
			ob_bytes(&b, v->data, v->len);
			break;
		default:
			rc = vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "bad value kind %u", v->kind);
		}
	}
	if (!rc && b.oom)
		rc = VL_ENOMEM;
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.len;
	return VL_OK;
}

void vl_rowbuf_free(vl_rowbuf *b)
{
	free(b->vals);
	free(b->bytes);
	memset(b, 0, sizeof *b);
}

static uint8_t *rb_bytes(vl_rowbuf *rb, size_t n)
{
	static uint8_t empty[1];
	if (n == 0)
		return empty; /* no pointer arithmetic on a still-NULL buffer */
	if (rb->blen + n > rb->bcap) {
		/* texts already handed out point into bytes: never move it while
		 * decoding one record, so size it for the whole record up front */
		return NULL;
	}
	uint8_t *p = rb->bytes + rb->blen;
	rb->blen += n;
	return p;
}

int vl_rowrec_key(const uint8_t *buf, size_t len, const uint8_t **key, size_t *key_len)
{
	if (len < 3 || buf[0] != ROWREC_VERSION)
		return VL_ECORRUPT;
	size_t kl = vl_ld16(buf + 1);
	if (kl > len - 3)
		return VL_ECORRUPT;
	*key = buf + 3;
	*key_len = kl;
	return VL_OK;
}

/* First pass: validate structure and total the decompressed text bytes. */
static int rowrec_scan(const uint8_t *buf, size_t len, uint32_t *nvals, size_t *raw_total,
                       int want_text, vl_diag *d)
{
	vl_rd r = vl_rd_make(buf, len, 0);
	if (vl_rd_u8(&r) != ROWREC_VERSION)
		return bad(d, &r, "row");
	uint16_t kl = vl_rd_u16(&r);
	vl_rd_take(&r, kl);
	uint32_t n = vl_rd_u16(&r);
	if (r.bad || n * 3u > vl_rd_left(&r))
		return bad(d, &r, "row");
	size_t total = 0;
	int prev = -1;
	for (uint32_t i = 0; i < n; i++) {
		uint16_t fid = vl_rd_u16(&r);
		uint8_t kind = vl_rd_u8(&r);
		if (r.bad || (int)fid <= prev)
			return bad(d, &r, "row");
		prev = fid;
		switch (kind) {
		case VL_VAL_TAG:
		case VL_VAL_TEXT:
			vl_rd_take(&r, vl_rd_u32(&r));
			break;
		case VL_VAL_TEXT | VL_VAL_ZSTD: {
			uint32_t raw = vl_rd_u32(&r), cl = vl_rd_u32(&r);
			vl_rd_take(&r, cl);
			if (want_text) {
				/* refuse size claims a frame of cl bytes cannot justify
				 * before allocating for them (zstd RLE blocks stay far below
				 * this ratio) */
				if ((uint64_t)raw > (uint64_t)cl * 65536u + 1024u)
					return bad(d, &r, "row (text size)");
				total += raw;
			}
			break;
		}
		case VL_VAL_NUM:
			vl_rd_take(&r, 8);
			break;
		case VL_VAL_NUMTEXT:
			vl_rd_take(&r, 8);
			vl_rd_take(&r, vl_rd_u16(&r));
			break;
		default:
			return bad(d, &r, "row (value kind)");
		}
		if (r.bad)
			return bad(d, &r, "row");
	}
	if (vl_rd_left(&r))
		return bad(d, &r, "row (trailing bytes)");
	*nvals = n;
	*raw_total = total;
	return VL_OK;
}

int vl_rowrec_decode(const uint8_t *buf, size_t len, vl_rowrec *rec, vl_rowbuf *rb, int want_text,
                     vl_diag *d)
{
	uint32_t n = 0;
	size_t total = 0;
	int rc = rowrec_scan(buf, len, &n, &total, want_text, d);
	if (rc)
		return rc;
	if (n > rb->vcap) {
		vl_rowval *v = realloc(rb->vals, n * sizeof *v);
		if (!v)
			return VL_ENOMEM;
		rb->vals = v;
		rb->vcap = n;
	}
	rb->blen = 0;
	if (total > rb->bcap) {
		uint8_t *p = realloc(rb->bytes, total);
		if (!p)
			return VL_ENOMEM;
		rb->bytes = p;
		rb->bcap = total;
	}
	vl_rd r = vl_rd_make(buf, len, 0);
	vl_rd_u8(&r);
	rec->key_len = vl_rd_u16(&r);
	rec->key = vl_rd_take(&r, rec->key_len);
	rec->nvalues = vl_rd_u16(&r);
	rec->values = rb->vals;
	for (uint32_t i = 0; i < n; i++) {
		vl_rowval *v = &rb->vals[i];
		memset(v, 0, sizeof *v);
		v->field_id = vl_rd_u16(&r);
		uint8_t kind = vl_rd_u8(&r);
		v->kind = kind & ~VL_VAL_ZSTD;
		if (kind == (VL_VAL_TEXT | VL_VAL_ZSTD)) {
			uint32_t raw = vl_rd_u32(&r), cl = vl_rd_u32(&r);
			const uint8_t *frame = vl_rd_take(&r, cl);
			v->len = raw;
			if (!want_text)
				continue;
			uint8_t *dst = rb_bytes(rb, raw);
			if (!dst)
				return bad(d, &r, "row (text)");
			size_t got = vl_zstd_decompress(dst, raw, frame, cl);
			if (ZSTD_isError(got) || got != raw)
				return vl_diag_set(d, VL_ECORRUPT, vl_rd_off(&r),
				                   "compressed text of field %u does not decompress", v->field_id);
			v->data = dst;
		} else if (v->kind == VL_VAL_TAG || v->kind == VL_VAL_TEXT) {
			v->len = vl_rd_u32(&r);
			v->data = vl_rd_take(&r, v->len);
		} else if (v->kind == VL_VAL_NUM) {
			v->num = vl_rd_f64(&r);
		} else {
			v->num = vl_rd_f64(&r);
			v->len = vl_rd_u16(&r);
			v->data = vl_rd_take(&r, v->len);
		}
	}
	return r.bad ? bad(d, &r, "row") : VL_OK;
}
