/*
 * pca.h - principal component analysis for LeanVec (internal).
 *
 * Written here rather than linked from LAPACK: veclite needs one symmetric
 * eigen-decomposition of a dim x dim covariance per collection, at training
 * time, and a BLAS/LAPACK dependency would be heavier than the 200 lines.
 * Householder reduction to tridiagonal form, then implicit QR steps with
 * Wilkinson shifts (Golub & Van Loan, ch. 8), all in double.
 */
#ifndef VL_PCA_H
#define VL_PCA_H

#include <stddef.h>
#include <stdint.h>

#define VL_PCA_DIM_MAX 4096u   /* two dim x dim double matrices: 256 MiB at the limit */

/*
 * Eigen-decomposition of the symmetric n x n matrix a (row-major; only its
 * lower triangle is read; destroyed). On success w[0..n) holds the
 * eigenvalues in decreasing order and rows 0..nvec-1 of vt (nvec x n) the
 * unit eigenvectors of w[0..nvec). Returns 0, or -1
 * if out of memory or the QR iteration did not converge (it always does in
 * practice).
 */
int vl_sym_eigen(double *a, uint32_t n, double *w, double *vt, uint32_t nvec);

/*
 * The top-d principal directions of n rows (dim floats each) around mean:
 * proj (d x dim, row-major) gets orthonormal rows in decreasing order of
 * variance, var[0..d) (may be NULL) the variance along each. `normalize`
 * divides each row by its norm first (cosine). Returns 0 or -1 (memory).
 */
int vl_pca(const float *rows, size_t n, uint32_t dim, const float *mean, int normalize, uint32_t d,
           float *proj, double *var);

/*
 * Rotate the d rows of proj (d x dim, orthonormal) by a random d x d
 * orthogonal matrix (Gram-Schmidt on Gaussian rows from a fixed seed).
 * The rows still span the same subspace, but the variance that PCA piles
 * into the first directions is spread over all d, which is what a
 * per-vector scalar quantizer with one step for all components needs.
 * Returns 0 or -1 (memory).
 */
int vl_rotate_rows(float *proj, uint32_t d, uint32_t dim, uint64_t seed);

#endif
