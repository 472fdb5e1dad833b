/*
 * faiss_transform.c - FAISS VectorTransform records (inside IndexPreTransform)
 * and their reversal back to the input space.
 *
 * Record: fourcc, type-specific fields, [linear types: bool have_bias,
 * vector<float> A (d_out x d_in), vector<float> b], then for every type
 * int32 d_in, int32 d_out, bool is_trained. OPQMatrix is written as a plain
 * LinearTransform ("LTra"); PCAMatrix's A already folds in the centring,
 * whitening and rotation, so only the linear part matters for decoding.
 *
 * Reversal follows FAISS's reverse_transform(): a linear map only when A has
 * orthonormal rows (x = A^T (y - b)), which for d_out < d_in is the
 * projection back to the input space; remap scatters the kept dimensions;
 * centring adds the mean; normalisation is reversed as the identity.
 */
#include <math.h>
#include <string.h>

#include "faiss_internal.h"

#define CC(s) VL_FAISS_FOURCC((s)[0], (s)[1], (s)[2], (s)[3])

/* FAISS's LinearTransform::set_is_orthonormal() tolerance on A A^T - I. */
#define ORTHO_EPS 4e-5

static int is_linear(uint32_t cc)
{
	return cc == CC("LTra") || cc == CC("rrot") || cc == CC("Pcam") || cc == CC("PcAm") ||
	       cc == CC("PCAm") || cc == CC("Viqm");
}

static int read_pca_fields(vl_fx_ctx *c, vl_faiss_transform *t)
{
	const uint8_t *p;
	uint64_t n;
	int rc;
	if ((rc = vl_fx_f32(c, &t->eigen_power, "PCAMatrix eigen_power")))
		return rc;
	if (t->fourcc == CC("Pcam") && (rc = vl_fx_f32(c, &t->epsilon, "PCAMatrix epsilon")))
		return rc;
	if ((rc = vl_fx_bool(c, &t->random_rotation, "PCAMatrix random_rotation")))
		return rc;
	if (t->fourcc != CC("PCAm") &&
	    (rc = vl_fx_i32(c, &t->balanced_bins, "PCAMatrix balanced_bins")))
		return rc;
	if ((rc = vl_fx_vector(c, 4, &p, &n, "PCAMatrix mean")) ||
	    (rc = vl_fx_vector(c, 4, &p, &n, "PCAMatrix eigenvalues")) ||
	    (rc = vl_fx_vector(c, 4, &p, &n, "PCAMatrix PCAMat")))
		return rc;
	return 0;
}

typedef struct linear_part {
	uint64_t nA, nb;
	uint64_t off;
} linear_part;

static int read_linear(vl_fx_ctx *c, vl_faiss_transform *t, linear_part *lp)
{
	int rc;
	if (t->fourcc == CC("Pcam") || t->fourcc == CC("PcAm") || t->fourcc == CC("PCAm")) {
		t->kind = VL_FAISS_XF_PCA;
		if ((rc = read_pca_fields(c, t)))
			return rc;
	} else if (t->fourcc == CC("Viqm")) {
		t->kind = VL_FAISS_XF_ITQ_MATRIX;
		if ((rc = vl_fx_i32(c, &t->max_iter, "ITQMatrix max_iter")) ||
		    (rc = vl_fx_i32(c, &t->seed, "ITQMatrix seed")))
			return rc;
	} else {
		t->kind = t->fourcc == CC("rrot") ? VL_FAISS_XF_RROT : VL_FAISS_XF_LINEAR;
	}
	lp->off = vl_fx_off(c);
	if ((rc = vl_fx_bool(c, &t->have_bias, "LinearTransform have_bias")) ||
	    (rc = vl_fx_vector(c, 4, &t->A, &lp->nA, "LinearTransform A")) ||
	    (rc = vl_fx_vector(c, 4, &t->b, &lp->nb, "LinearTransform b")))
		return rc;
	return 0;
}

/* A A^T == I within ORTHO_EPS, accumulated in double. */
static int rows_orthonormal(const vl_faiss_transform *t)
{
	const uint64_t din = (uint64_t)t->d_in, dout = (uint64_t)t->d_out;
	if (dout > din)
		return 0;
	for (uint64_t i = 0; i < dout; i++) {
		const uint8_t *ri = t->A + 4 * i * din;
		for (uint64_t j = i; j < dout; j++) {
			const uint8_t *rj = t->A + 4 * j * din;
			double s = 0;
			for (uint64_t k = 0; k < din; k++)
				s += (double)vl_ldf32(ri + 4 * k) * vl_ldf32(rj + 4 * k);
			if (i == j)
				s -= 1.0;
			if (!(fabs(s) <= ORTHO_EPS))
				return 0;
		}
	}
	return 1;
}

static int check_dims(vl_fx_ctx *c, const vl_faiss_transform *t, uint64_t off)
{
	if (t->d_in <= 0 || t->d_in > VL_FAISS_DIM_MAX || t->d_out <= 0 ||
	    t->d_out > VL_FAISS_DIM_MAX)
		return vl_fx_err(c, off, "VectorTransform: d_in = %d, d_out = %d out of range 1..%d",
		                 t->d_in, t->d_out, VL_FAISS_DIM_MAX);
	return 0;
}

static int finish_linear(vl_fx_ctx *c, vl_faiss_transform *t, const linear_part *lp)
{
	uint64_t need = (uint64_t)t->d_in * (uint64_t)t->d_out;
	if (lp->nA < need)
		return vl_fx_err(c, lp->off, "LinearTransform: A has %llu values, %d x %d needs %llu",
		                 (unsigned long long)lp->nA, t->d_out, t->d_in,
		                 (unsigned long long)need);
	if (t->have_bias && lp->nb < (uint64_t)t->d_out)
		return vl_fx_err(c, lp->off, "LinearTransform: b has %llu values, d_out = %d",
		                 (unsigned long long)lp->nb, t->d_out);
	t->orthonormal = rows_orthonormal(t);
	t->reversible = t->orthonormal;
	t->lossless = t->orthonormal && t->d_in == t->d_out;
	return 0;
}

static int finish_remap(vl_fx_ctx *c, vl_faiss_transform *t, uint64_t nmap, uint64_t off)
{
	if (nmap != (uint64_t)t->d_out)
		return vl_fx_err(c, off, "RemapDimensionsTransform: map has %llu entries, d_out = %d",
		                 (unsigned long long)nmap, t->d_out);
	for (int32_t i = 0; i < t->d_out; i++) {
		int32_t m = (int32_t)vl_ld32(t->map + 4 * (uint64_t)i);
		if (m < -1 || m >= t->d_in)
			return vl_fx_err(c, off, "RemapDimensionsTransform: map[%d] = %d outside -1..%d",
			                 i, m, t->d_in - 1);
	}
	/* lossless when every input dimension is kept somewhere */
	uint8_t *seen = vl_fx_alloc(c, ((size_t)t->d_in + 7) / 8, "RemapDimensionsTransform");
	if (!seen)
		return c->alloc_rc;
	uint64_t covered = 0;
	for (int32_t i = 0; i < t->d_out; i++) {
		int32_t m = (int32_t)vl_ld32(t->map + 4 * (uint64_t)i);
		if (m >= 0 && !(seen[m >> 3] & (1u << (m & 7)))) {
			seen[m >> 3] |= (uint8_t)(1u << (m & 7));
			covered++;
		}
	}
	vl_fx_release(c, seen, ((size_t)t->d_in + 7) / 8);
	t->reversible = 1;
	t->lossless = covered == (uint64_t)t->d_in;
	return 0;
}

/* ITQTransform: vector mean, bool do_pca, a nested ITQMatrix record and a
 * nested LinearTransform record (each with its own d_in/d_out trailer).
 * FAISS cannot reverse it; we only check its structure. */
static int read_itq(vl_fx_ctx *c, vl_faiss_transform *t, uint64_t *nmean)
{
	int rc;
	vl_faiss_transform inner;
	if ((rc = vl_fx_vector(c, 4, &t->mean, nmean, "ITQTransform mean")) ||
	    (rc = vl_fx_bool(c, &t->do_pca, "ITQTransform do_pca")))
		return rc;
	uint64_t off = vl_fx_off(c);
	memset(&inner, 0, sizeof inner);
	if ((rc = vl_fx_read_transform(c, &inner, 1)))
		return rc;
	if (inner.kind != VL_FAISS_XF_ITQ_MATRIX)
		return vl_fx_err(c, off, "ITQTransform: first nested transform is not an ITQMatrix");
	off = vl_fx_off(c);
	memset(&inner, 0, sizeof inner);
	if ((rc = vl_fx_read_transform(c, &inner, 1)))
		return rc;
	if (inner.kind == VL_FAISS_XF_ITQ || inner.kind == VL_FAISS_XF_REMAP ||
	    inner.kind == VL_FAISS_XF_NORM || inner.kind == VL_FAISS_XF_CENTER)
		return vl_fx_err(c, off, "ITQTransform: second nested transform is not linear");
	return 0;
}

int vl_fx_read_transform(vl_fx_ctx *c, vl_faiss_transform *t, int nested)
{
	int rc;
	uint64_t nmap = 0, nmean = 0, fieldoff;
	linear_part lp = { 0, 0, 0 };
	t->offset = vl_fx_off(c);
	if ((rc = vl_fx_u32(c, &t->fourcc, "VectorTransform fourcc")))
		return rc;
	fieldoff = vl_fx_off(c);
	if (is_linear(t->fourcc)) {
		rc = read_linear(c, t, &lp);
	} else if (t->fourcc == CC("RmDT")) {
		t->kind = VL_FAISS_XF_REMAP;
		rc = vl_fx_vector(c, 4, &t->map, &nmap, "RemapDimensionsTransform map");
	} else if (t->fourcc == CC("VNrm")) {
		t->kind = VL_FAISS_XF_NORM;
		rc = vl_fx_f32(c, &t->norm, "NormalizationTransform norm");
	} else if (t->fourcc == CC("VCnt")) {
		t->kind = VL_FAISS_XF_CENTER;
		rc = vl_fx_vector(c, 4, &t->mean, &nmean, "CenteringTransform mean");
	} else if (t->fourcc == CC("Viqt") && !nested) {
		t->kind = VL_FAISS_XF_ITQ;
		rc = read_itq(c, t, &nmean);
	} else {
		return vl_fx_unsupported(c, t->offset, t->fourcc, "VectorTransform");
	}
	if (rc)
		return rc;
	uint64_t toff = vl_fx_off(c);
	if ((rc = vl_fx_i32(c, &t->d_in, "VectorTransform d_in")) ||
	    (rc = vl_fx_i32(c, &t->d_out, "VectorTransform d_out")) ||
	    (rc = vl_fx_bool(c, &t->is_trained, "VectorTransform is_trained")) ||
	    (rc = check_dims(c, t, toff)))
		return rc;

	switch (t->kind) {
	case VL_FAISS_XF_LINEAR:
	case VL_FAISS_XF_RROT:
	case VL_FAISS_XF_PCA:
	case VL_FAISS_XF_ITQ_MATRIX:
		return finish_linear(c, t, &lp);
	case VL_FAISS_XF_REMAP:
		return finish_remap(c, t, nmap, fieldoff);
	case VL_FAISS_XF_NORM:
		if (t->d_in != t->d_out)
			return vl_fx_err(c, toff, "NormalizationTransform: d_in %d != d_out %d",
			                 t->d_in, t->d_out);
		t->reversible = 1;  /* FAISS reverses it as the identity */
		t->lossless = 0;
		return 0;
	case VL_FAISS_XF_CENTER:
		if (t->d_in != t->d_out || nmean != (uint64_t)t->d_in)
			return vl_fx_err(c, toff, "CenteringTransform: d_in %d, d_out %d, %llu means",
			                 t->d_in, t->d_out, (unsigned long long)nmean);
		t->reversible = 1;
		t->lossless = 1;
		return 0;
	case VL_FAISS_XF_ITQ:
		if (nmean != (uint64_t)t->d_in)
			return vl_fx_err(c, toff, "ITQTransform: %llu means for d_in = %d",
			                 (unsigned long long)nmean, t->d_in);
		t->reversible = 0;
		t->lossless = 0;
		return 0;
	}
	return vl_fx_err(c, t->offset, "internal: unhandled transform kind");
}

void vl_fx_transform_reverse(const vl_faiss_transform *t, const float *y, float *x)
{
	const uint64_t din = (uint64_t)t->d_in, dout = (uint64_t)t->d_out;
	switch (t->kind) {
	case VL_FAISS_XF_LINEAR:
	case VL_FAISS_XF_RROT:
	case VL_FAISS_XF_PCA:
	case VL_FAISS_XF_ITQ_MATRIX: {
		/* x_i = sum_j A[j][i] (y_j - b_j): the bias is subtracted in float as
		 * FAISS does, the sum is taken in double (FAISS: sgemm in float). */
		for (uint64_t i = 0; i < din; i++)
			x[i] = 0;
		double acc[64];
		for (uint64_t i0 = 0; i0 < din; i0 += 64) {
			uint64_t w = din - i0 < 64 ? din - i0 : 64;
			memset(acc, 0, sizeof acc);
			for (uint64_t j = 0; j < dout; j++) {
				float yj = y[j];
				if (t->have_bias)
					yj = yj - vl_ldf32(t->b + 4 * j);
				const uint8_t *row = t->A + 4 * (j * din + i0);
				for (uint64_t i = 0; i < w; i++)
					acc[i] += (double)vl_ldf32(row + 4 * i) * yj;
			}
			for (uint64_t i = 0; i < w; i++)
				x[i0 + i] = (float)acc[i];
		}
		break;
	}
	case VL_FAISS_XF_REMAP:
		for (uint64_t i = 0; i < din; i++)
			x[i] = 0;
		for (uint64_t j = 0; j < dout; j++) {
			int32_t m = (int32_t)vl_ld32(t->map + 4 * j);
			if (m >= 0)
				x[m] = y[j];
		}
		break;
	case VL_FAISS_XF_CENTER:
		for (uint64_t i = 0; i < din; i++)
			x[i] = y[i] + vl_ldf32(t->mean + 4 * i);
		break;
	case VL_FAISS_XF_NORM:
	case VL_FAISS_XF_ITQ:
		/* NORM: FAISS's reverse is the identity. ITQ: never called
		 * (not reversible); identity keeps the output defined. */
		memcpy(x, y, din * sizeof *x);
		break;
	}
}
