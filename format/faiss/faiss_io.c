/*
 * faiss_io.c - bounded field readers, heap budget, fourcc names and error
 * messages shared by the FAISS reader.
 *
 * FAISS writes each field with its C++ sizeof, little-endian, unpadded;
 * std::vector<T> is a u64 element count followed by the elements.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faiss_internal.h"

uint64_t vl_fx_off(const vl_fx_ctx *c)
{
	return vl_rd_off(&c->rd);
}

void *vl_fx_alloc(vl_fx_ctx *c, size_t n, const char *what)
{
	if (n == 0)
		n = 1;
	if (n > c->heap_max || c->heap > c->heap_max - n) {
		c->alloc_rc = VL_ELIMIT;
		vl_diag_set(c->d, VL_ELIMIT, vl_fx_off(c),
		            "%s: parser would hold %zu bytes of memory for a %zu-byte input "
		            "(limit %zu)", what, c->heap + n, c->rd.len, c->heap_max);
		return NULL;
	}
	void *p = calloc(1, n);
	if (!p) {
		c->alloc_rc = VL_ENOMEM;
		vl_diag_set(c->d, VL_ENOMEM, vl_fx_off(c), "%s: out of memory (%zu bytes)", what, n);
		return NULL;
	}
	c->heap += n;
	return p;
}

void vl_fx_release(vl_fx_ctx *c, void *p, size_t n)
{
	if (!p)
		return;
	free(p);
	c->heap -= n ? n : 1;
}

int vl_fx_err(vl_fx_ctx *c, uint64_t off, const char *fmt, ...)
{
	char msg[VL_DIAG_MSG];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return vl_diag_set(c->d, VL_EFORMAT, off, "%s", msg);
}

static int truncated(vl_fx_ctx *c, uint64_t off, uint64_t need, const char *what)
{
	return vl_diag_set(c->d, VL_EFORMAT, off,
	                   "file truncated: %s needs %llu bytes, %llu remain", what,
	                   (unsigned long long)need,
	                   (unsigned long long)(c->rd.len - (c->rd.bad ? c->rd.len : c->rd.pos)));
}

int vl_fx_bytes(vl_fx_ctx *c, uint64_t n, const uint8_t **p, const char *what)
{
	uint64_t off = vl_fx_off(c);
	if (c->rd.bad || n > c->rd.len - c->rd.pos)
		return truncated(c, off, n, what);
	*p = vl_rd_take(&c->rd, (size_t)n);
	return 0;
}

int vl_fx_u8(vl_fx_ctx *c, uint8_t *v, const char *what)
{
	const uint8_t *p;
	int rc = vl_fx_bytes(c, 1, &p, what);
	if (rc == 0)
		*v = p[0];
	return rc;
}

/* C++ bool is one byte; FAISS writes 0 or 1. Other values are accepted as
 * true (older readers did), current FAISS rejects them: so do we, to keep
 * one reading of each file. */
int vl_fx_bool(vl_fx_ctx *c, int *v, const char *what)
{
	uint64_t off = vl_fx_off(c);
	uint8_t b;
	int rc = vl_fx_u8(c, &b, what);
	if (rc)
		return rc;
	if (b > 1)
		return vl_fx_err(c, off, "%s: bool byte is %u, expected 0 or 1", what, b);
	*v = b;
	return 0;
}

int vl_fx_u32(vl_fx_ctx *c, uint32_t *v, const char *what)
{
	const uint8_t *p;
	int rc = vl_fx_bytes(c, 4, &p, what);
	if (rc == 0)
		*v = vl_ld32(p);
	return rc;
}

int vl_fx_i32(vl_fx_ctx *c, int32_t *v, const char *what)
{
	uint32_t u;
	int rc = vl_fx_u32(c, &u, what);
	if (rc == 0)
		*v = (int32_t)u;
	return rc;
}

int vl_fx_u64(vl_fx_ctx *c, uint64_t *v, const char *what)
{
	const uint8_t *p;
	int rc = vl_fx_bytes(c, 8, &p, what);
	if (rc == 0)
		*v = vl_ld64(p);
	return rc;
}

int vl_fx_f32(vl_fx_ctx *c, float *v, const char *what)
{
	const uint8_t *p;
	int rc = vl_fx_bytes(c, 4, &p, what);
	if (rc == 0)
		*v = vl_ldf32(p);
	return rc;
}

int vl_fx_vector(vl_fx_ctx *c, size_t elem, const uint8_t **p, uint64_t *count,
                 const char *what)
{
	uint64_t off = vl_fx_off(c);
	uint64_t n;
	int rc = vl_fx_u64(c, &n, what);
	if (rc)
		return rc;
	uint64_t left = c->rd.len - c->rd.pos;
	if (n > left / elem)
		return vl_diag_set(c->d, VL_EFORMAT, off,
		                   "%s: vector claims %llu elements of %zu bytes but only %llu "
		                   "bytes remain in the file", what, (unsigned long long)n, elem,
		                   (unsigned long long)left);
	*count = n;
	return vl_fx_bytes(c, n * elem, p, what);
}

int vl_fx_vector_n(vl_fx_ctx *c, size_t elem, uint64_t want, const uint8_t **p,
                   const char *what)
{
	uint64_t off = vl_fx_off(c);
	uint64_t n;
	int rc = vl_fx_vector(c, elem, p, &n, what);
	if (rc)
		return rc;
	if (n != want)
		return vl_fx_err(c, off, "%s: vector has %llu elements, expected %llu", what,
		                 (unsigned long long)n, (unsigned long long)want);
	return 0;
}

/* ------------------------------------------------------------------ */
/* fourcc names                                                         */
/* ------------------------------------------------------------------ */

static const struct {
	char cc[5];
	const char *name;
} fourcc_names[] = {
	{ "IxF2", "IndexFlatL2" }, { "IxFI", "IndexFlatIP" }, { "IxFl", "IndexFlat" },
	{ "IxMp", "IndexIDMap" }, { "IxM2", "IndexIDMap2" }, { "IxPT", "IndexPreTransform" },
	{ "IxSQ", "IndexScalarQuantizer" }, { "IxPq", "IndexPQ" },
	{ "IxPo", "IndexPQ (legacy polysemous)" }, { "IxPQ", "IndexPQ (legacy)" },
	{ "IwFl", "IndexIVFFlat" }, { "IwSq", "IndexIVFScalarQuantizer" },
	{ "IwSQ", "IndexIVFScalarQuantizer (legacy)" }, { "IwPQ", "IndexIVFPQ" },
	{ "IHNf", "IndexHNSWFlat" }, { "IHNs", "IndexHNSWSQ" }, { "IHNp", "IndexHNSWPQ" },
	/* known, not supported */
	{ "IwQR", "IndexIVFPQR" }, { "IHN2", "IndexHNSW2Level" }, { "IHNc", "IndexHNSWCagra" },
	{ "IHc2", "IndexHNSWCagra" }, { "IH00", "IndexHNSW" }, { "IHfP", "IndexHNSWFlatPanorama" },
	{ "IxHE", "IndexLSH (legacy)" }, { "IxHe", "IndexLSH" },
	{ "IxRQ", "IndexResidualQuantizer (legacy)" }, { "IxRq", "IndexResidualQuantizer" },
	{ "IxLS", "IndexLocalSearchQuantizer" }, { "IxPR", "IndexProductResidualQuantizer" },
	{ "IxPL", "IndexProductLocalSearchQuantizer" }, { "ImRQ", "ResidualCoarseQuantizer" },
	{ "ILfs", "IndexLocalSearchQuantizerFastScan" },
	{ "IRfs", "IndexResidualQuantizerFastScan" },
	{ "IPRf", "IndexProductResidualQuantizerFastScan" },
	{ "IPLf", "IndexProductLocalSearchQuantizerFastScan" },
	{ "IVLf", "IndexIVFLocalSearchQuantizerFastScan" },
	{ "IVRf", "IndexIVFResidualQuantizerFastScan" },
	{ "NPLf", "IndexIVFProductLocalSearchQuantizerFastScan" },
	{ "NPRf", "IndexIVFProductResidualQuantizerFastScan" },
	{ "IvFl", "IndexIVFFlat (legacy)" }, { "IvFL", "IndexIVFFlat (legacy)" },
	{ "IwFd", "IndexIVFFlatDedup" }, { "IxLa", "IndexLattice" },
	{ "IvSQ", "IndexIVFScalarQuantizer (legacy)" }, { "IwLS", "IndexIVFLocalSearchQuantizer" },
	{ "IwRQ", "IndexIVFResidualQuantizer" }, { "IwPL", "IndexIVFProductLocalSearchQuantizer" },
	{ "IwPR", "IndexIVFProductResidualQuantizer" }, { "IwSh", "IndexIVFSpectralHash" },
	{ "IvPQ", "IndexIVFPQ (legacy)" }, { "IvQR", "IndexIVFPQR (legacy)" },
	{ "IwIQ", "IndexIVFIndependentQuantizer" }, { "Imiq", "MultiIndexQuantizer" },
	{ "IxRF", "IndexRefine" }, { "Ix2L", "Index2Layer" }, { "INSf", "IndexNSGFlat" },
	{ "INSp", "IndexNSGPQ" }, { "INSs", "IndexNSGSQ" }, { "INNf", "IndexNNDescentFlat" },
	{ "IPfs", "IndexPQFastScan" }, { "IwPf", "IndexIVFPQFastScan" },
	{ "IRMf", "IndexRowwiseMinMax" }, { "IRMh", "IndexRowwiseMinMaxFP16" },
	{ "Ixrq", "IndexRaBitQ" }, { "Iwrq", "IndexIVFRaBitQ" }, { "IwPn", "IndexIVFFlatPanorama" },
	{ "IxFP", "IndexFlatPanorama" }, { "IxFp", "IndexFlatPanorama" },
	{ "IBxF", "IndexBinaryFlat" }, { "IBwF", "IndexBinaryIVF" },
	{ "IBFf", "IndexBinaryFromFloat" }, { "IBHf", "IndexBinaryHNSW" },
	{ "IBMp", "IndexBinaryIDMap" }, { "IBM2", "IndexBinaryIDMap2" },
	{ "IBHh", "IndexBinaryHash" }, { "IBHm", "IndexBinaryMultiHash" },
	{ "null", "no index" },
	/* inverted lists */
	{ "ilar", "ArrayInvertedLists" }, { "ilod", "OnDiskInvertedLists" },
	{ "il00", "no inverted lists" }, { "ilpn", "ArrayInvertedListsPanorama" },
	{ "ilp2", "ArrayInvertedListsPanorama" },
	/* vector transforms */
	{ "LTra", "LinearTransform (or OPQMatrix)" }, { "rrot", "RandomRotationMatrix" },
	{ "Pcam", "PCAMatrix" }, { "PcAm", "PCAMatrix (older)" }, { "PCAm", "PCAMatrix (oldest)" },
	{ "Viqm", "ITQMatrix" }, { "Viqt", "ITQTransform" }, { "RmDT", "RemapDimensionsTransform" },
	{ "VNrm", "NormalizationTransform" }, { "VCnt", "CenteringTransform" },
	{ "HRot", "HadamardRotation" },
};

const char *vl_faiss_fourcc_name(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof fourcc_names / sizeof fourcc_names[0]; i++)
		if (vl_ld32(fourcc_names[i].cc) == fourcc)
			return fourcc_names[i].name;
	return NULL;
}

const char *vl_faiss_fourcc_str(uint32_t fourcc, char *buf)
{
	char *p = buf;
	for (int i = 0; i < 4; i++) {
		unsigned ch = (fourcc >> (8 * i)) & 0xff;
		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
			*p++ = (char)ch;
		else
			p += sprintf(p, "\\x%02x", ch);
	}
	*p = 0;
	return buf;
}

int vl_fx_unsupported(vl_fx_ctx *c, uint64_t off, uint32_t fourcc, const char *role)
{
	char s[20];
	const char *name = vl_faiss_fourcc_name(fourcc);
	vl_faiss_fourcc_str(fourcc, s);
	if (name)
		return vl_diag_set(c->d, VL_EUNSUPPORTED, off,
		                   "%s: FAISS type '%s' (%s) is not supported", role, s, name);
	return vl_diag_set(c->d, VL_EFORMAT, off,
	                   "%s: unknown FAISS fourcc '%s' (0x%08x): not a FAISS index or a "
	                   "corrupt one", role, s, fourcc);
}
