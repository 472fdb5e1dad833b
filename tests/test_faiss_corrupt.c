/*
 * test_faiss_corrupt.c - damaged FAISS files: truncations at every early
 * byte and hundreds of later ones, corrupt fourccs at every level, absurd
 * counts and sizes, random byte mutations. Each must give an error that
 * names the problem (and its offset), never a crash, an out-of-bounds read
 * or a huge allocation (this file also runs under ASan+UBSan, and buffers
 * are malloc'd at their exact size so a read one past the end is caught).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faiss/faiss_internal.h"
#include "faiss/vl_faiss.h"
#include "util/faiss_fx.h"
#include "vl_bytes.h"

static uint8_t *load(const char *name, size_t *len)
{
	uint8_t *b = faiss_fx_file(name, ".index", len);
	cr_assert_not_null(b, "fixture %s", name);
	return b;
}

/* Open a copy of buf[0..len) held in an exact-size allocation. */
static int try_open(const uint8_t *buf, size_t len, vl_diag *d)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	vl_faiss_index *ix = NULL;
	int rc = vl_faiss_open(copy, len, &ix, d);
	vl_faiss_close(ix);
	free(copy);
	return rc;
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 17;
}

static void expect_error(const uint8_t *buf, size_t len, int code, const char *needle,
                         const char *what)
{
	vl_diag d;
	int rc = try_open(buf, len, &d);
	cr_expect_eq(rc, code, "%s: rc %d (%s), expected %d", what, rc, d.msg, code);
	if (needle)
		cr_expect(strstr(d.msg, needle), "%s: message '%s' lacks '%s'", what, d.msg, needle);
}

Test(faiss_corrupt, truncated_anywhere)
{
	static const char *const names[] = {
		"flat_l2", "ivf_flat", "ivf_flat_sparse", "ivf_ids_hash", "hnsw_flat", "idmap2",
		"sq6", "pq_nbits6", "ivfpq", "ivfpq_hnswq", "opq_hnsw_reduced", "pca_full", "l2norm",
		"itq", "pad", "center", "hnsw_pq", "ivf_sq", "ondisk",
	};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t len;
		uint8_t *buf = load(names[k], &len);
		uint64_t seed = k + 1;
		for (int i = 0; i < 1200; i++) {
			size_t cut;
			if (i < 700)
				cut = (size_t)i;              /* every header and small field */
			else if (i < 1136)
				cut = (size_t)(lcg(&seed) % len);
			else
				cut = len - (size_t)(i - 1135); /* the last 64 bytes */
			if (cut >= len)
				continue;
			vl_diag d;
			int rc = try_open(buf, cut, &d);
			cr_assert_eq(rc, VL_EFORMAT, "%s cut at %zu: rc %d (%s)", names[k], cut, rc,
			             d.msg);
			cr_assert(d.msg[0], "%s cut at %zu: empty message", names[k], cut);
			cr_assert(d.offset == VL_NO_OFFSET || d.offset <= cut,
			          "%s cut at %zu: error offset %llu past the end", names[k], cut,
			          (unsigned long long)d.offset);
		}
		free(buf);
	}
}

Test(faiss_corrupt, fourccs)
{
	size_t len;
	char want[64];
	uint8_t *buf = load("ivf_flat", &len);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0);
	uint64_t qoff = vl_faiss_root(ix)->child->offset;
	vl_faiss_close(ix);

	uint8_t *b = malloc(len);
	memcpy(b, buf, len);
	memcpy(b, "XXXX", 4);
	expect_error(b, len, VL_EFORMAT, "unknown FAISS fourcc 'XXXX'", "top fourcc");
	expect_error(b, len, VL_EFORMAT, "(at byte offset 0)", "top fourcc offset");
	memcpy(b, "IwQR", 4);
	expect_error(b, len, VL_EUNSUPPORTED, "'IwQR' (IndexIVFPQR) is not supported", "IwQR");
	memcpy(b, "IBxF", 4);
	expect_error(b, len, VL_EUNSUPPORTED, "IndexBinaryFlat", "binary index");
	memcpy(b, "\x01\x02\x03\x04", 4);
	expect_error(b, len, VL_EFORMAT, "'\\x01\\x02\\x03\\x04'", "binary fourcc is escaped");

	memcpy(b, buf, len);
	memcpy(b + qoff, "Qxyz", 4);
	snprintf(want, sizeof want, "(at byte offset %llu)", (unsigned long long)qoff);
	expect_error(b, len, VL_EFORMAT, want, "quantizer fourcc");
	expect_error(b, len, VL_EFORMAT, "IVF coarse quantizer", "quantizer role named");

	memcpy(b, buf, len);
	uint8_t *il = memmem(b, len, "ilar", 4);
	cr_assert_not_null(il);
	memcpy(il, "ilpn", 4);
	snprintf(want, sizeof want, "(at byte offset %llu)", (unsigned long long)(il - b));
	expect_error(b, len, VL_EUNSUPPORTED, "ArrayInvertedListsPanorama", "ilpn");
	expect_error(b, len, VL_EUNSUPPORTED, want, "ilpn offset");
	memcpy(il, "ilar", 4);
	memcpy(il + 20, "fool", 4);  /* list type after nlist, code_size */
	expect_error(b, len, VL_EFORMAT, "list type 'fool'", "list type");
	free(b);
	free(buf);

	buf = load("pca_full", &len);
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0);
	uint64_t toff = vl_faiss_root(ix)->transforms[0].offset;
	vl_faiss_close(ix);
	memcpy(buf + toff, "HRot", 4);
	expect_error(buf, len, VL_EUNSUPPORTED, "HadamardRotation", "transform fourcc");
	memcpy(buf + toff, "????", 4);
	snprintf(want, sizeof want, "(at byte offset %llu)", (unsigned long long)toff);
	expect_error(buf, len, VL_EFORMAT, want, "unknown transform");
	free(buf);

	buf = load("hnsw_flat", &len);
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0);
	uint64_t soff = vl_faiss_root(ix)->child->offset;
	vl_faiss_close(ix);
	memcpy(buf + soff, "IxSQ", 4);  /* storage parsed as the wrong type */
	cr_expect_neq(try_open(buf, len, &d), 0);
	memcpy(buf + soff, "IxFI", 4);  /* right kind, other class: accepted */
	cr_expect_eq(try_open(buf, len, &d), 0, "%s", d.msg);
	memcpy(buf + soff, "IxPq", 4);
	cr_expect_neq(try_open(buf, len, &d), 0);
	free(buf);
}

static void patch64(uint8_t *b, size_t off, uint64_t v) { vl_st64(b + off, v); }
static void patch32(uint8_t *b, size_t off, uint32_t v) { vl_st32(b + off, v); }

Test(faiss_corrupt, absurd_header_fields)
{
	size_t len;
	uint8_t *buf = load("flat_l2", &len);
	uint8_t *b = malloc(len);
	/* offsets: fourcc 0, d 4, ntotal 8, dummies 16/24, is_trained 32,
	 * metric 33, xb count 37 */
	memcpy(b, buf, len);
	patch64(b, 8, 1ull << 40);
	expect_error(b, len, VL_EFORMAT, "expected 35184372088832", "ntotal 2^40");
	patch64(b, 8, (uint64_t)-1);
	expect_error(b, len, VL_EFORMAT, "negative", "ntotal -1");
	memcpy(b, buf, len);
	patch32(b, 4, 0);
	expect_error(b, len, VL_EFORMAT, "d = 0 is out of range", "d 0");
	patch32(b, 4, 1u << 30);
	expect_error(b, len, VL_EFORMAT, "out of range", "d 2^30");
	patch32(b, 4, (uint32_t)-5);
	expect_error(b, len, VL_EFORMAT, "out of range", "d -5");
	memcpy(b, buf, len);
	patch64(b, 37, 1ull << 62);
	expect_error(b, len, VL_EFORMAT, "vector claims 4611686018427387904 elements", "xb count");
	memcpy(b, buf, len);
	patch32(b, 33, 99);
	expect_error(b, len, VL_EFORMAT, "unknown metric_type 99", "metric");
	memcpy(b, buf, len);
	b[32] = 7;
	expect_error(b, len, VL_EFORMAT, "bool byte is 7", "is_trained");
	free(b);
	free(buf);

	buf = load("idmap2", &len);
	patch64(buf, len - 8 * 500 - 8, 1ull << 61);
	expect_error(buf, len, VL_EFORMAT, "IndexIDMap id_map", "id_map count");
	free(buf);
}

Test(faiss_corrupt, absurd_ivf_sizes)
{
	size_t len;
	uint8_t *buf = load("ivf_flat", &len);
	uint8_t *b = malloc(len);
	memcpy(b, buf, len);
	/* IVF nlist right after the 33-byte header */
	patch64(b, 37, 1ull << 40);
	expect_error(b, len, VL_EFORMAT, "nlist", "IVF nlist 2^40");
	uint8_t *il = memmem(b, len, "ilar", 4);
	patch64(il, 4, 1ull << 40);  /* ilar nlist too: then the sizes vector must match */
	expect_error(b, len, VL_EFORMAT, "ArrayInvertedLists sizes", "both nlists 2^40");
	memcpy(b, buf, len);
	il = memmem(b, len, "ilar", 4);
	/* fourcc, nlist, code_size, "full", count: sizes start 32 bytes in */
	patch64(il, 32, 1ull << 50);
	expect_error(b, len, VL_EFORMAT, "claims 1125899906842624 entries", "list size 2^50");
	memcpy(b, buf, len);
	il = memmem(b, len, "ilar", 4);
	patch64(il, 32, vl_ld64(il + 32) + 1);
	expect_error(b, len, VL_EFORMAT, NULL, "one entry more than stored");
	memcpy(b, buf, len);
	/* direct map type byte: after the quantizer (IxF2 of 16 x 32 floats) */
	size_t dm = 37 + 16 + 4 + 33 + 8 + 16 * 32 * 4;
	b[dm] = 9;
	expect_error(b, len, VL_EFORMAT, "direct map type 9", "direct map type");
	free(b);
	free(buf);

	buf = load("ivf_flat_sparse", &len);
	il = memmem(buf, len, "ilar", 4);
	cr_assert_eq(memcmp(il + 20, "sprs", 4), 0);
	patch64(il, 32, 1ull << 40);  /* first pair's list number */
	expect_error(buf, len, VL_EFORMAT, "out of range", "sparse list number");
	free(buf);

	buf = load("ondisk", &len);
	il = memmem(buf, len, "ilod", 4);
	cr_assert_not_null(il);
	patch64(il, 20, 1ull << 60);  /* lists vector count */
	expect_error(buf, len, VL_EFORMAT, "OnDiskInvertedLists lists", "ilod lists count");
	free(buf);

	/* an ilod whose data file is too small for a list's capacity */
	buf = load("ondisk", &len);
	il = memmem(buf, len, "ilod", 4);
	uint8_t *list0 = il + 28;
	for (int i = 0; i < 16; i++, list0 += 24)
		if (vl_ld64(list0))
			break;
	patch64(list0, 8, 1ull << 58);  /* capacity */
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	size_t dl;
	uint8_t *data = faiss_fx_file("ondisk", ".ivfdata", &dl);
	cr_expect_eq(vl_faiss_attach_ondisk(ix, data, dl, &d), VL_EFORMAT);
	cr_expect(strstr(d.msg, "needs 288230376151711744 entries"), "%s", d.msg);
	vl_faiss_close(ix);
	free(data);
	free(buf);
}

/* Offsets of the HNSW vectors in an IHNf file. */
typedef struct hnsw_offs {
	size_t cum, levels, offsets, neighbors, entry;
} hnsw_offs;

static hnsw_offs hnsw_layout(const uint8_t *b)
{
	hnsw_offs o;
	size_t p = 37;
	p += 8 + 8 * vl_ld64(b + p);  /* assign_probas */
	o.cum = p;
	p += 8 + 4 * vl_ld64(b + p);
	o.levels = p;
	p += 8 + 4 * vl_ld64(b + p);
	o.offsets = p;
	p += 8 + 8 * vl_ld64(b + p);
	o.neighbors = p;
	p += 8 + 4 * vl_ld64(b + p);
	o.entry = p;
	return o;
}

Test(faiss_corrupt, absurd_hnsw)
{
	size_t len;
	uint8_t *buf = load("hnsw_flat", &len);
	uint8_t *b = malloc(len);
	hnsw_offs o = hnsw_layout(buf);
	memcpy(b, buf, len);
	patch64(b, o.levels, 1ull << 60);
	expect_error(b, len, VL_EFORMAT, "HNSW levels", "levels count");
	memcpy(b, buf, len);
	patch32(b, o.levels + 8 + 4 * 7, 1000);
	expect_error(b, len, VL_EFORMAT, "node 7 has 1000 levels", "level value");
	memcpy(b, buf, len);
	patch32(b, o.neighbors + 8 + 4 * 3, 5000);
	expect_error(b, len, VL_EFORMAT, "neighbour id 5000", "neighbour id");
	memcpy(b, buf, len);
	patch64(b, o.offsets + 8 + 8 * 5, vl_ld64(b + o.offsets + 8 + 8 * 5) + 1);
	expect_error(b, len, VL_EFORMAT, "offsets[5]", "offsets");
	memcpy(b, buf, len);
	patch32(b, o.entry, (uint32_t)-7);
	expect_error(b, len, VL_EFORMAT, "entry_point -7", "entry point");
	memcpy(b, buf, len);
	patch32(b, o.entry + 4, 9);
	expect_error(b, len, VL_EFORMAT, "max_level 9", "max level");
	memcpy(b, buf, len);
	patch32(b, o.cum + 8 + 4, (uint32_t)-3);
	expect_error(b, len, VL_EFORMAT, "decreases", "cum");
	free(b);
	free(buf);
}

Test(faiss_corrupt, absurd_codecs)
{
	size_t len;
	/* IxPq: header ends at 37; PQ d 37, M 45, nbits 53, centroids 61 */
	uint8_t *buf = load("pq", &len);
	uint8_t *b = malloc(len);
	memcpy(b, buf, len);
	patch64(b, 45, 1ull << 40);
	expect_error(b, len, VL_EFORMAT, "does not divide", "PQ M");
	memcpy(b, buf, len);
	patch64(b, 45, 0);
	expect_error(b, len, VL_EFORMAT, "does not divide", "PQ M 0");
	memcpy(b, buf, len);
	patch64(b, 53, 64);
	expect_error(b, len, VL_EFORMAT, "nbits = 64", "PQ nbits");
	memcpy(b, buf, len);
	patch64(b, 61, 3);
	expect_error(b, len, VL_EFORMAT, "ProductQuantizer centroids", "PQ centroids");
	free(b);
	free(buf);

	/* IxSQ: qtype 37, rangestat 41, arg 45, d 49, code_size 57, trained 65 */
	buf = load("sq8", &len);
	b = malloc(len);
	memcpy(b, buf, len);
	patch64(b, 57, 1);
	expect_error(b, len, VL_EFORMAT, "code_size = 1", "SQ code_size");
	memcpy(b, buf, len);
	patch64(b, 49, 31);
	expect_error(b, len, VL_EFORMAT, "d = 31", "SQ d");
	memcpy(b, buf, len);
	patch32(b, 37, 99);
	expect_error(b, len, VL_EUNSUPPORTED, "quantizer type 99", "SQ qtype");
	memcpy(b, buf, len);
	patch64(b, 65, 3);
	expect_error(b, len, VL_EFORMAT, NULL, "SQ trained count");
	free(b);
	free(buf);

	/* IxPT: header 4..37, n_transforms 37 */
	buf = load("pca_full", &len);
	b = malloc(len);
	memcpy(b, buf, len);
	patch32(b, 37, 0x7fffffff);
	expect_error(b, len, VL_EFORMAT, "chain length 2147483647", "n transforms");
	memcpy(b, buf, len);
	patch32(b, 37, (uint32_t)-1);
	expect_error(b, len, VL_EFORMAT, "chain length -1", "negative n transforms");
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0);
	const vl_faiss_node *root = vl_faiss_root(ix);
	size_t trailer = root->child->offset - 9;  /* d_in, d_out, is_trained */
	vl_faiss_close(ix);
	memcpy(b, buf, len);
	patch32(b, trailer + 4, 0);
	expect_error(b, len, VL_EFORMAT, "d_out = 0", "transform d_out");
	memcpy(b, buf, len);
	patch32(b, trailer + 4, 31);
	expect_error(b, len, VL_EFORMAT, NULL, "transform d_out mismatch");
	free(b);
	free(buf);
}

/* 20 nested IndexIDMap headers: refused at depth 16, no stack blow-up. */
Test(faiss_corrupt, nesting_depth)
{
	uint8_t b[20 * 37 + 8];
	size_t n = 0;
	for (int i = 0; i < 20; i++) {
		memcpy(b + n, "IxMp", 4);
		vl_st32(b + n + 4, 8);
		vl_st64(b + n + 8, 0);
		vl_st64(b + n + 16, 1 << 20);
		vl_st64(b + n + 24, 1 << 20);
		b[n + 32] = 1;
		vl_st32(b + n + 33, 1);
		n += 37;
	}
	expect_error(b, n, VL_EFORMAT, "nested more than 16 deep", "depth");
	expect_error(b, 0, VL_EFORMAT, "empty file", "empty");
	memcpy(b, "null", 4);
	expect_error(b, 4, VL_EFORMAT, "holds no index", "null");
}

/* Exercise everything a consumer may call on a parsed index. */
static void use_index(vl_faiss_index *ix, FILE *sink)
{
	static const vl_faiss_space spaces[] = { VL_FAISS_SPACE_AUTO, VL_FAISS_SPACE_INPUT,
	                                         VL_FAISS_SPACE_STORED };
	vl_diag d;
	for (int s = 0; s < 3; s++) {
		vl_faiss_vecinfo vi;
		if (vl_faiss_vectors(ix, spaces[s], &vi, &d) != 0)
			continue;
		uint64_t n = vi.count < 64 ? vi.count : 64;
		float *rows = malloc((n * vi.dim + 1) * sizeof *rows);
		int64_t ids[64];
		vl_faiss_read(ix, &vi, 0, n, rows, ids, &d);
		if (vi.count > n)
			vl_faiss_read(ix, &vi, vi.count - n, n, rows, ids, &d);
		free(rows);
		if (vi.hnsw) {
			const vl_faiss_hnsw *h = &vi.hnsw->hnsw;
			int32_t nb[256];
			for (uint64_t i = 0; i < h->ntotal && i < 200; i++)
				for (int l = 0; l < vl_faiss_hnsw_levels(h, i); l++)
					vl_faiss_hnsw_neighbors(h, i, l, nb, 256);
		}
	}
	vl_faiss_inspect(ix, sink, VL_FAISS_INSPECT_TEXT);
	vl_faiss_inspect(ix, sink, VL_FAISS_INSPECT_JSON);
}

Test(faiss_corrupt, random_mutations)
{
	static const char *const names[] = {
		"ivf_flat_sparse", "hnsw_flat", "idmap2", "sq4", "pq_nbits6", "ivfpq_hnswq",
		"opq_hnsw_reduced", "l2norm", "itq", "pad", "center", "ivf_sq", "ondisk",
	};
	FILE *sink = fopen("/dev/null", "w");
	cr_assert_not_null(sink);
	size_t dl;
	uint8_t *data = faiss_fx_file("ondisk", ".ivfdata", &dl);
	uint64_t seed = 42, parsed = 0, total = 0;
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t len;
		uint8_t *buf = load(names[k], &len);
		/* mutate the structure, not just float payload: bias to the first
		 * 4 KiB and the last 8 KiB where headers, sizes and ids live */
		for (int it = 0; it < 600; it++, total++) {
			uint8_t *b = malloc(len);
			memcpy(b, buf, len);
			int nmut = 1 + (int)(lcg(&seed) % 4);
			for (int m = 0; m < nmut; m++) {
				uint64_t r = lcg(&seed);
				size_t pos = r % 3 == 0 ? (size_t)(lcg(&seed) % len)
				           : r % 3 == 1 ? (size_t)(lcg(&seed) % (len < 4096 ? len : 4096))
				                        : len - 1 - (size_t)(lcg(&seed) % (len < 8192 ? len : 8192));
				switch (lcg(&seed) % 4) {
				case 0: b[pos] = (uint8_t)lcg(&seed); break;
				case 1: b[pos] ^= (uint8_t)(1u << (lcg(&seed) % 8)); break;
				case 2: b[pos] = 0xff; break;
				default: b[pos] = b[pos] ? 0 : 1; break;
				}
			}
			vl_faiss_index *ix;
			vl_diag d;
			if (vl_faiss_open(b, len, &ix, &d) == 0) {
				parsed++;
				if (vl_faiss_ondisk_name(ix))
					vl_faiss_attach_ondisk(ix, data, dl, &d);
				use_index(ix, sink);
				vl_faiss_close(ix);
			} else {
				cr_assert(d.msg[0] && d.code < 0, "%s: error without a message", names[k]);
			}
			free(b);
		}
		free(buf);
	}
	cr_log_info("random mutations: %llu of %llu mutated files still parsed",
	            (unsigned long long)parsed, (unsigned long long)total);
	free(data);
	fclose(sink);
}

/* The parser's heap budget: a claim past it fails with VL_ELIMIT, and
 * released blocks give their budget back. */
Test(faiss_corrupt, heap_budget)
{
	uint8_t in[10] = { 0 };
	vl_diag d;
	vl_fx_ctx c = { .rd = vl_rd_make(in, sizeof in, 0), .d = &d, .heap_max = 100 };
	void *p = vl_fx_alloc(&c, 60, "first");
	cr_assert_not_null(p);
	cr_expect_null(vl_fx_alloc(&c, 60, "second"));
	cr_expect_eq(c.alloc_rc, VL_ELIMIT);
	cr_expect_eq(d.code, VL_ELIMIT);
	cr_expect(strstr(d.msg, "second"), "%s", d.msg);
	vl_fx_release(&c, p, 60);
	p = vl_fx_alloc(&c, 60, "third");
	cr_expect_not_null(p);
	vl_fx_release(&c, p, 60);
	cr_expect_eq(c.heap, 0);
}

/* A PreTransform chain longer than VL_FAISS_TRANSFORMS_MAX is refused
 * before its records are read (FAISS itself has no limit). */
Test(faiss_corrupt, transform_chain_cap)
{
	size_t n = 37 + 4 + 300 * 17 + 37 + 8;
	uint8_t *b = calloc(1, n);
	memcpy(b, "IxPT", 4);
	vl_st32(b + 4, 4);
	b[32] = 1;
	vl_st32(b + 33, 1);
	vl_st32(b + 37, 300);
	expect_error(b, n, VL_EUNSUPPORTED, "300 transforms", "chain cap");
	free(b);
}
