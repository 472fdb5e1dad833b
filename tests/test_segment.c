/* test_segment.c - segment header + section table encoding and validation. */
#include <criterion/criterion.h>
#include <string.h>

#include "segment.h"
#include "vl_bytes.h"

static void sample(vl_seg_header *h, vl_seg_section *s)
{
	memset(h, 0, sizeof *h);
	h->version = VL_SEG_VERSION;
	h->coll_id = 3;
	h->seg_id = 9;
	h->nrows = 10;
	h->rid_min = 100;
	h->rid_max = 200;
	h->file_bytes = 4096 * 4;
	h->dim = 4;
	h->metric = 1;
	h->storage = 1;
	h->index_kind = 0;
	memset(s, 0, 3 * sizeof *s);
	s[0] = (vl_seg_section){ .kind = VL_SEC_VECTORS, .offset = 4096, .length = 160, .row_stride = 16 };
	s[1] = (vl_seg_section){ .kind = VL_SEC_ROWIDS, .offset = 8192, .length = 80, .row_stride = 8 };
	s[2] = (vl_seg_section){ .kind = VL_SEC_NORMS, .offset = 12288, .length = 40, .row_stride = 4 };
}

Test(segment, round_trip)
{
	vl_seg_header h;
	vl_seg_section s[3];
	sample(&h, s);
	uint8_t buf[VL_SEG_ALIGN];
	vl_seg_encode_header(&h, s, 3, buf);
	cr_assert_eq(memcmp(buf, VL_SEG_MAGIC, 8), 0);
	vl_seg_layout l;
	vl_diag d;
	cr_assert_eq(vl_seg_decode_header(buf, sizeof buf, h.file_bytes, &l, &d), VL_OK, "%s", d.msg);
	cr_assert_eq(l.h.nsections, 3);
	cr_assert_eq(l.h.rid_max, 200);
	cr_assert_eq(l.sec[1].kind, VL_SEC_ROWIDS);
	cr_assert_eq(vl_seg_find(&l, VL_SEC_NORMS, 0)->offset, 12288);
	cr_assert_null(vl_seg_find(&l, VL_SEC_PRIMARY, 0));
	/* byte layout is fixed: nrows little-endian at offset 56, dim at 96 */
	cr_assert_eq(vl_ld64(buf + 56), 10);
	cr_assert_eq(vl_ld32(buf + 96), 4);
	cr_assert_eq(vl_ld32(buf + 128), VL_SEC_VECTORS);
}

static int decode_err(uint8_t *buf, uint64_t fsize, const char *needle)
{
	vl_seg_layout l;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_seg_decode_header(buf, VL_SEG_ALIGN, fsize, &l, &d);
	cr_assert_neq(rc, VL_OK);
	cr_assert(strstr(d.msg, needle), "'%s' lacks '%s'", d.msg, needle);
	return rc;
}

Test(segment, rejects_damage_with_reasons)
{
	vl_seg_header h;
	vl_seg_section s[3];
	uint8_t buf[VL_SEG_ALIGN];
	sample(&h, s);
	vl_seg_encode_header(&h, s, 3, buf);
	buf[0] = 'X';
	cr_assert_eq(decode_err(buf, h.file_bytes, "bad magic"), VL_ECORRUPT);
	vl_seg_encode_header(&h, s, 3, buf);
	buf[60] ^= 1;
	cr_assert_eq(decode_err(buf, h.file_bytes, "header checksum"), VL_ECORRUPT);
	vl_seg_encode_header(&h, s, 3, buf);
	cr_assert_eq(decode_err(buf, h.file_bytes - 4096, "truncated"), VL_ECORRUPT);
	h.version = 2;
	vl_seg_encode_header(&h, s, 3, buf);
	cr_assert_eq(decode_err(buf, h.file_bytes, "version 2"), VL_EVERSION);
	sample(&h, s);
	h.incompat_flags = 4;
	vl_seg_encode_header(&h, s, 3, buf);
	cr_assert_eq(decode_err(buf, h.file_bytes, "features"), VL_EVERSION);
	sample(&h, s);
	s[1].offset = 4096; /* overlaps vectors */
	vl_seg_encode_header(&h, s, 3, buf);
	decode_err(buf, h.file_bytes, "overlaps");
	sample(&h, s);
	s[2].offset = 12290; /* misaligned */
	vl_seg_encode_header(&h, s, 3, buf);
	decode_err(buf, h.file_bytes, "misaligned");
	sample(&h, s);
	s[0].length = 161; /* not nrows * stride */
	vl_seg_encode_header(&h, s, 3, buf);
	decode_err(buf, h.file_bytes, "rows x");
	sample(&h, s);
	s[2].length = 1ull << 40; /* past the end of the file */
	s[2].row_stride = 0;
	vl_seg_encode_header(&h, s, 3, buf);
	decode_err(buf, h.file_bytes, "outside");
	sample(&h, s);
	h.rid_max = 101; /* 10 rows cannot fit ids 100..101 */
	vl_seg_encode_header(&h, s, 3, buf);
	decode_err(buf, h.file_bytes, "row id range");
}

Test(segment, names)
{
	cr_assert_str_eq(vl_storage_name(VL_STORAGE_LVQ4X8), "lvq4x8");
	cr_assert_eq(vl_storage_id("leanvec8x8"), VL_STORAGE_LEANVEC8X8);
	cr_assert_eq(vl_storage_id("nope"), -1);
	cr_assert_str_eq(vl_index_name(VL_INDEX_VAMANA), "vamana");
	cr_assert_null(vl_index_name(99));
	cr_assert_str_eq(vl_seg_section_name(VL_SEC_INDEX_HNSW + 5), "hnsw");
}
