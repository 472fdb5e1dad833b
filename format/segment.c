/* segment.c - encode/decode/validate the segment header and section table. */
#include <inttypes.h>
#include <string.h>

#include "crc32c.h"
#include "segment.h"
#include "vl_bytes.h"

/* Field offsets of the on-disk header (see SPEC.md "Segment files"). */
enum {
	H_MAGIC = 0, H_VERSION = 8, H_HDRBYTES = 12, H_INCOMPAT = 16, H_COMPAT = 24,
	H_UUID = 32, H_COLL = 48, H_SEG = 52, H_NROWS = 56, H_RIDMIN = 64, H_RIDMAX = 72,
	H_FILEBYTES = 80, H_CREATED = 88, H_DIM = 96, H_METRIC = 100, H_STORAGE = 101,
	H_INDEX = 102, H_RES0 = 103, H_NSEC = 104, H_CRC = 108, H_RES = 112
};
enum { S_KIND = 0, S_PARAM = 4, S_OFFSET = 8, S_LENGTH = 16, S_STRIDE = 24, S_CRC = 32,
       S_FLAGS = 36, S_RES = 40 };

void vl_seg_encode_header(const vl_seg_header *h, const vl_seg_section *sec, uint32_t nsec,
                          uint8_t buf[VL_SEG_ALIGN])
{
	memset(buf, 0, VL_SEG_ALIGN);
	uint32_t hb = VL_SEG_HEADER_BYTES + nsec * VL_SEG_SECTION_BYTES;
	memcpy(buf + H_MAGIC, VL_SEG_MAGIC, 8);
	vl_st32(buf + H_VERSION, h->version);
	vl_st32(buf + H_HDRBYTES, hb);
	vl_st64(buf + H_INCOMPAT, h->incompat_flags);
	vl_st64(buf + H_COMPAT, h->compat_flags);
	memcpy(buf + H_UUID, h->store_uuid, 16);
	vl_st32(buf + H_COLL, h->coll_id);
	vl_st32(buf + H_SEG, h->seg_id);
	vl_st64(buf + H_NROWS, h->nrows);
	vl_st64(buf + H_RIDMIN, h->rid_min);
	vl_st64(buf + H_RIDMAX, h->rid_max);
	vl_st64(buf + H_FILEBYTES, h->file_bytes);
	vl_st64(buf + H_CREATED, h->created_ms);
	vl_st32(buf + H_DIM, h->dim);
	buf[H_METRIC] = h->metric;
	buf[H_STORAGE] = h->storage;
	buf[H_INDEX] = h->index_kind;
	vl_st32(buf + H_NSEC, nsec);
	for (uint32_t i = 0; i < nsec; i++) {
		uint8_t *s = buf + VL_SEG_HEADER_BYTES + i * VL_SEG_SECTION_BYTES;
		vl_st32(s + S_KIND, sec[i].kind);
		vl_st32(s + S_PARAM, sec[i].param);
		vl_st64(s + S_OFFSET, sec[i].offset);
		vl_st64(s + S_LENGTH, sec[i].length);
		vl_st64(s + S_STRIDE, sec[i].row_stride);
		vl_st32(s + S_CRC, sec[i].crc);
		vl_st32(s + S_FLAGS, sec[i].flags);
	}
	vl_st32(buf + H_CRC, vl_crc32c(0, buf, hb));
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static int decode_sections(const uint8_t *buf, vl_seg_layout *l, uint64_t file_bytes, vl_diag *d)
{
	uint64_t first = VL_SEG_ALIGN;
	for (uint32_t i = 0; i < l->h.nsections; i++) {
		const uint8_t *s = buf + VL_SEG_HEADER_BYTES + i * VL_SEG_SECTION_BYTES;
		uint64_t at = VL_SEG_HEADER_BYTES + (uint64_t)i * VL_SEG_SECTION_BYTES;
		vl_seg_section *x = &l->sec[i];
		x->kind = vl_ld32(s + S_KIND);
		x->param = vl_ld32(s + S_PARAM);
		x->offset = vl_ld64(s + S_OFFSET);
		x->length = vl_ld64(s + S_LENGTH);
		x->row_stride = vl_ld64(s + S_STRIDE);
		x->crc = vl_ld32(s + S_CRC);
		x->flags = vl_ld32(s + S_FLAGS);
		x->reserved = vl_ld64(s + S_RES);
		if (x->flags || x->reserved)
			return vl_diag_set(d, VL_EVERSION, at,
			                   "section %u (%s) uses flags this version does not know", i,
			                   vl_seg_section_name(x->kind));
		if (x->offset % VL_SEG_ALIGN || x->offset < first || x->offset > file_bytes ||
		    x->length > file_bytes - x->offset)
			return vl_diag_set(d, VL_ECORRUPT, at,
			                   "section %u (%s) at %" PRIu64 "+%" PRIu64
			                   " is misaligned, overlaps another or lies outside the %" PRIu64
			                   "-byte file",
			                   i, vl_seg_section_name(x->kind), x->offset, x->length, file_bytes);
		if (x->row_stride &&
		    (l->h.nrows > UINT64_MAX / x->row_stride || x->row_stride * l->h.nrows != x->length))
			return vl_diag_set(d, VL_ECORRUPT, at,
			                   "section %u (%s) holds %" PRIu64 " bytes, not %" PRIu64
			                   " rows x %" PRIu64 " bytes",
			                   i, vl_seg_section_name(x->kind), x->length, l->h.nrows,
			                   x->row_stride);
		for (uint32_t j = 0; j < i; j++)
			if (l->sec[j].kind == x->kind && l->sec[j].param == x->param)
				return vl_diag_set(d, VL_ECORRUPT, at, "section %u (%s, param %u) appears twice",
				                   i, vl_seg_section_name(x->kind), x->param);
		first = vl_align_up(x->offset + x->length, VL_SEG_ALIGN);
		if (x->length == 0)
			first = x->offset;
	}
	return VL_OK;
}

int vl_seg_decode_header(const uint8_t *buf, size_t len, uint64_t file_bytes, vl_seg_layout *l,
                         vl_diag *d)
{
	memset(l, 0, sizeof *l);
	if (len < VL_SEG_HEADER_BYTES || file_bytes < VL_SEG_ALIGN)
		return vl_diag_set(d, VL_ECORRUPT, 0, "file is %" PRIu64 " bytes, shorter than a segment header",
		                   file_bytes);
	if (memcmp(buf, VL_SEG_MAGIC, 8) != 0)
		return vl_diag_set(d, VL_ECORRUPT, 0, "not a veclite segment (bad magic)");
	vl_seg_header *h = &l->h;
	memcpy(h->magic, buf, 8);
	h->version = vl_ld32(buf + H_VERSION);
	h->header_bytes = vl_ld32(buf + H_HDRBYTES);
	h->incompat_flags = vl_ld64(buf + H_INCOMPAT);
	h->compat_flags = vl_ld64(buf + H_COMPAT);
	memcpy(h->store_uuid, buf + H_UUID, 16);
	h->coll_id = vl_ld32(buf + H_COLL);
	h->seg_id = vl_ld32(buf + H_SEG);
	h->nrows = vl_ld64(buf + H_NROWS);
	h->rid_min = vl_ld64(buf + H_RIDMIN);
	h->rid_max = vl_ld64(buf + H_RIDMAX);
	h->file_bytes = vl_ld64(buf + H_FILEBYTES);
	h->created_ms = vl_ld64(buf + H_CREATED);
	h->dim = vl_ld32(buf + H_DIM);
	h->metric = buf[H_METRIC];
	h->storage = buf[H_STORAGE];
	h->index_kind = buf[H_INDEX];
	h->reserved0 = buf[H_RES0];
	h->nsections = vl_ld32(buf + H_NSEC);
	h->header_crc = vl_ld32(buf + H_CRC);
	memcpy(h->reserved, buf + H_RES, 16);

	if (h->version == 0 || h->version > VL_SEG_VERSION)
		return vl_diag_set(d, VL_EVERSION, H_VERSION,
		                   "segment format version %u; this build reads up to %u", h->version,
		                   VL_SEG_VERSION);
	if (h->nsections > VL_SEG_MAX_SECTIONS ||
	    h->header_bytes != VL_SEG_HEADER_BYTES + h->nsections * VL_SEG_SECTION_BYTES ||
	    h->header_bytes > len)
		return vl_diag_set(d, VL_ECORRUPT, H_NSEC, "bad section count %u / header size %u",
		                   h->nsections, h->header_bytes);
	uint8_t tmp[VL_SEG_ALIGN];
	memcpy(tmp, buf, h->header_bytes);
	vl_st32(tmp + H_CRC, 0);
	uint32_t crc = vl_crc32c(0, tmp, h->header_bytes);
	if (crc != h->header_crc)
		return vl_diag_set(d, VL_ECORRUPT, 0,
		                   "header checksum mismatch (stored %08x, computed %08x)", h->header_crc,
		                   crc);
	if (h->incompat_flags & ~VL_SEG_INCOMPAT_KNOWN)
		return vl_diag_set(d, VL_EVERSION, H_INCOMPAT,
		                   "segment needs features %#" PRIx64 " this build lacks",
		                   (uint64_t)(h->incompat_flags & ~VL_SEG_INCOMPAT_KNOWN));
	if (h->file_bytes != file_bytes)
		return vl_diag_set(d, VL_ECORRUPT, H_FILEBYTES,
		                   "file is %" PRIu64 " bytes but its header says %" PRIu64
		                   " (truncated or extended)",
		                   file_bytes, h->file_bytes);
	if (h->dim == 0 || h->dim > VL_DIM_MAX || h->metric < 1 || h->metric > 3 ||
	    !vl_storage_name(h->storage) || !vl_index_name(h->index_kind) || h->reserved0 ||
	    !all_zero(h->reserved, sizeof h->reserved))
		return vl_diag_set(d, VL_ECORRUPT, H_DIM,
		                   "bad dim %u / metric %u / storage %u / index %u", h->dim, h->metric,
		                   h->storage, h->index_kind);
	if (h->nrows && (h->rid_min > h->rid_max || h->rid_max - h->rid_min < h->nrows - 1))
		return vl_diag_set(d, VL_ECORRUPT, H_RIDMIN,
		                   "row id range %" PRIu64 "..%" PRIu64 " cannot hold %" PRIu64 " rows",
		                   h->rid_min, h->rid_max, h->nrows);
	return decode_sections(buf, l, file_bytes, d);
}

const vl_seg_section *vl_seg_find(const vl_seg_layout *l, uint32_t kind, uint32_t param)
{
	for (uint32_t i = 0; i < l->h.nsections; i++)
		if (l->sec[i].kind == kind && l->sec[i].param == param)
			return &l->sec[i];
	return NULL;
}

const char *vl_seg_section_name(uint32_t kind)
{
	switch (kind) {
	case VL_SEC_ROWIDS: return "rowids";
	case VL_SEC_VECTORS: return "vectors";
	case VL_SEC_NORMS: return "norms";
	case VL_SEC_QUANT: return "quant";
	case VL_SEC_PRIMARY: return "primary";
	case VL_SEC_SECONDARY: return "secondary";
	case VL_SEC_ATTR_NUM: return "attr-numeric";
	case VL_SEC_ATTR_TAG: return "attr-tag";
	}
	if (kind >= VL_SEC_INDEX_VAMANA && kind < VL_SEC_INDEX_VAMANA + 256)
		return "vamana";
	if (kind >= VL_SEC_INDEX_HNSW && kind < VL_SEC_INDEX_HNSW + 256)
		return "hnsw";
	if (kind >= VL_SEC_INDEX_IVF && kind < VL_SEC_INDEX_IVF + 256)
		return "ivf";
	return "unknown";
}

static const char *const storage_names[] = {
	[VL_STORAGE_FLOAT32] = "float32",       [VL_STORAGE_FLOAT16] = "float16",
	[VL_STORAGE_LVQ8] = "lvq8",             [VL_STORAGE_LVQ4] = "lvq4",
	[VL_STORAGE_LVQ4X4] = "lvq4x4",         [VL_STORAGE_LVQ4X8] = "lvq4x8",
	[VL_STORAGE_LVQ8X8] = "lvq8x8",         [VL_STORAGE_LEANVEC4X8] = "leanvec4x8",
	[VL_STORAGE_LEANVEC8X8] = "leanvec8x8",
};
static const char *const index_names[] = {
	[VL_INDEX_FLAT] = "flat", [VL_INDEX_VAMANA] = "vamana",
	[VL_INDEX_HNSW] = "hnsw", [VL_INDEX_IVF] = "ivf",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *vl_storage_name(unsigned id)
{
	return id < NELEM(storage_names) ? storage_names[id] : NULL;
}
int vl_storage_id(const char *name)
{
	for (unsigned i = 0; i < NELEM(storage_names); i++)
		if (storage_names[i] && strcmp(storage_names[i], name) == 0)
			return (int)i;
	return -1;
}
const char *vl_index_name(unsigned id)
{
	return id < NELEM(index_names) ? index_names[id] : NULL;
}
int vl_index_id(const char *name)
{
	for (unsigned i = 0; i < NELEM(index_names); i++)
		if (index_names[i] && strcmp(index_names[i], name) == 0)
			return (int)i;
	return -1;
}
