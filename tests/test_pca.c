/*
 * test_pca.c - the symmetric eigensolver and PCA behind LeanVec
 * (engine/quant/pca.c), checked by their defining properties: A v = lambda v,
 * orthonormal eigenvectors, sorted eigenvalues, trace preserved; PCA finds
 * planted principal directions.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/pca.h"
#include "tests/util/qtest.h"

static void check_eigen(const double *a0, uint32_t n, const char *what)
{
	double *a = malloc((size_t)n * n * sizeof *a), *vt = malloc((size_t)n * n * sizeof *vt);
	double *w = malloc((size_t)n * sizeof *w);
	memcpy(a, a0, (size_t)n * n * sizeof *a);
	cr_assert_eq(vl_sym_eigen(a, n, w, vt, n), 0, "%s: no convergence", what);
	double norm = 0, trace = 0, wsum = 0;
	for (uint32_t i = 0; i < n; i++) {
		trace += a0[(size_t)i * n + i];
		wsum += w[i];
		for (uint32_t j = 0; j < n; j++)
			norm = fmax(norm, fabs(a0[(size_t)i * n + j]));
	}
	norm = fmax(norm * n, 1e-300);
	cr_assert(fabs(trace - wsum) <= 1e-10 * norm, "%s: trace %.12g vs sum %.12g", what, trace, wsum);
	for (uint32_t k = 0; k < n; k++) {
		if (k)
			cr_assert(w[k] <= w[k - 1], "%s: eigenvalues not sorted", what);
		const double *v = vt + (size_t)k * n;
		for (uint32_t i = 0; i < n; i++) {
			double av = 0;
			for (uint32_t j = 0; j < n; j++)
				av += a0[(size_t)i * n + j] * v[j];
			cr_assert(fabs(av - w[k] * v[i]) <= 1e-9 * norm, "%s: residual %g at (%u,%u)", what,
			          av - w[k] * v[i], k, i);
		}
		for (uint32_t l = 0; l <= k; l++) {
			double dot = 0;
			for (uint32_t j = 0; j < n; j++)
				dot += v[j] * vt[(size_t)l * n + j];
			cr_assert(fabs(dot - (l == k)) <= 1e-9, "%s: v%u.v%u = %g", what, k, l, dot);
		}
	}
	free(a);
	free(vt);
	free(w);
}

Test(pca, random_symmetric_matrices)
{
	qt_rng r = { 51 };
	/* 600: enough QR rotations to flush the rotation batch mid-run */
	const uint32_t sizes[] = { 1, 2, 3, 7, 16, 50, 200, 600 };
	for (int s = 0; s < 8; s++) {
		uint32_t n = sizes[s];
		double *a = malloc((size_t)n * n * sizeof *a);
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t j = 0; j <= i; j++)
				a[(size_t)i * n + j] = a[(size_t)j * n + i] = qt_gauss(&r);
		check_eigen(a, n, "random");
		free(a);
	}
}

Test(pca, degenerate_matrices)
{
	uint32_t n = 40;
	double *a = calloc((size_t)n * n, sizeof *a);
	check_eigen(a, n, "zero");
	for (uint32_t i = 0; i < n; i++)
		a[(size_t)i * n + i] = 1;
	check_eigen(a, n, "identity");
	for (uint32_t i = 0; i < n; i++)
		a[(size_t)i * n + i] = (double)(i % 3); /* repeated eigenvalues */
	check_eigen(a, n, "repeated diagonal");
	qt_rng r = { 52 };
	double *u = malloc(n * sizeof *u);
	for (uint32_t i = 0; i < n; i++)
		u[i] = qt_gauss(&r);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			a[(size_t)i * n + j] = u[i] * u[j] * 1e6; /* rank one, large */
	check_eigen(a, n, "rank one");
	/* a tridiagonal matrix already (nothing to reduce) */
	memset(a, 0, (size_t)n * n * sizeof *a);
	for (uint32_t i = 0; i < n; i++) {
		a[(size_t)i * n + i] = 2;
		if (i + 1 < n)
			a[(size_t)i * n + i + 1] = a[(size_t)(i + 1) * n + i] = -1;
	}
	check_eigen(a, n, "tridiagonal");
	free(a);
	free(u);
}

/* Data with planted variances along a random orthonormal basis: PCA's top
 * directions span the planted top subspace and report its variances. */
Test(pca, finds_planted_directions)
{
	qt_rng r = { 53 };
	uint32_t dim = 48, d = 6;
	size_t n = 4000;
	/* random orthonormal basis by Gram-Schmidt */
	double *basis = malloc((size_t)dim * dim * sizeof *basis);
	for (uint32_t i = 0; i < dim; i++) {
		double *b = basis + (size_t)i * dim;
		for (uint32_t j = 0; j < dim; j++)
			b[j] = qt_gauss(&r);
		for (uint32_t k = 0; k < i; k++) {
			double dot = 0;
			for (uint32_t j = 0; j < dim; j++)
				dot += b[j] * basis[(size_t)k * dim + j];
			for (uint32_t j = 0; j < dim; j++)
				b[j] -= dot * basis[(size_t)k * dim + j];
		}
		double nn = 0;
		for (uint32_t j = 0; j < dim; j++)
			nn += b[j] * b[j];
		for (uint32_t j = 0; j < dim; j++)
			b[j] /= sqrt(nn);
	}
	float *rows = malloc(n * dim * sizeof *rows), *mean = calloc(dim, sizeof *mean);
	for (size_t s = 0; s < n; s++)
		for (uint32_t j = 0; j < dim; j++)
			rows[s * dim + j] = 5.0f; /* offset: PCA centres on the mean given */
	for (size_t s = 0; s < n; s++)
		for (uint32_t i = 0; i < dim; i++) {
			double sd = i < d ? 10.0 - i : 0.1; /* a clear gap after d */
			double z = qt_gauss(&r) * sd;
			for (uint32_t j = 0; j < dim; j++)
				rows[s * dim + j] += (float)(z * basis[(size_t)i * dim + j]);
		}
	for (size_t s = 0; s < n; s++)
		for (uint32_t j = 0; j < dim; j++)
			mean[j] += rows[s * dim + j] / (float)n;
	float *proj = malloc((size_t)d * dim * sizeof *proj);
	double var[6];
	cr_assert_eq(vl_pca(rows, n, dim, mean, 0, d, proj, var), 0);
	for (uint32_t i = 0; i < d; i++) {
		double want = (10.0 - i) * (10.0 - i);
		cr_assert(fabs(var[i] - want) < 0.1 * want, "variance %u: %.3f vs planted %.3f", i, var[i], want);
		/* proj row i lies in the planted top-d subspace */
		double in = 0;
		for (uint32_t k = 0; k < d; k++) {
			double dot = 0;
			for (uint32_t j = 0; j < dim; j++)
				dot += proj[(size_t)i * dim + j] * basis[(size_t)k * dim + j];
			in += dot * dot;
		}
		cr_assert(in > 0.999, "direction %u: only %.5f of it in the planted subspace", i, in);
	}
	free(basis);
	free(rows);
	free(mean);
	free(proj);
}
