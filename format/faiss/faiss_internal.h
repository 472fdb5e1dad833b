/*
 * faiss_internal.h - shared by the files of format/faiss/ only.
 *
 * The parse context wraps a bounded reader over the whole file (offsets in
 * messages are absolute), the caller's vl_diag, the nesting depth and the heap
 * budget: every allocation the parser makes goes through vl_fx_alloc(), which
 * refuses to hold more than VL_FX_HEAP_RATIO x the input (+ a constant), so
 * no input can make the parser allocate more than its size justifies.
 */
#ifndef VL_FAISS_INTERNAL_H
#define VL_FAISS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vl_bytes.h"
#include "vl_diag.h"
#include "vl_faiss.h"

#define VL_FX_HEAP_RATIO 4u
#define VL_FX_HEAP_SLACK ((size_t)1 << 20)

typedef struct vl_fx_ctx {
	vl_rd rd;           /* whole file, base 0 */
	vl_diag *d;
	int depth;
	size_t heap;        /* bytes allocated so far */
	size_t heap_max;
	int alloc_rc;       /* why the last vl_fx_alloc() failed (VL_ELIMIT / VL_ENOMEM) */
} vl_fx_ctx;

struct vl_faiss_index {
	const uint8_t *buf;
	size_t len;
	vl_faiss_node *root;
	size_t heap;
	size_t trailing;
};

/* --- primitives (faiss_io.c) ---------------------------------------- */

void *vl_fx_alloc(vl_fx_ctx *c, size_t n, const char *what);
/* Free a temporary vl_fx_alloc() block of n bytes and give back its budget. */
void vl_fx_release(vl_fx_ctx *c, void *p, size_t n);
uint64_t vl_fx_off(const vl_fx_ctx *c);
/* Fixed-size fields; `what` names the field in the truncation message. */
int vl_fx_u8(vl_fx_ctx *c, uint8_t *v, const char *what);
int vl_fx_bool(vl_fx_ctx *c, int *v, const char *what);
int vl_fx_i32(vl_fx_ctx *c, int32_t *v, const char *what);
int vl_fx_u32(vl_fx_ctx *c, uint32_t *v, const char *what);
int vl_fx_u64(vl_fx_ctx *c, uint64_t *v, const char *what);
int vl_fx_f32(vl_fx_ctx *c, float *v, const char *what);
/* n raw bytes. */
int vl_fx_bytes(vl_fx_ctx *c, uint64_t n, const uint8_t **p, const char *what);
/* A std::vector<T>: u64 element count, then count * elem bytes; the count
 * is checked against the remaining bytes before anything else happens. */
int vl_fx_vector(vl_fx_ctx *c, size_t elem, const uint8_t **p, uint64_t *count,
                 const char *what);
/* A vector whose count must equal `want`. */
int vl_fx_vector_n(vl_fx_ctx *c, size_t elem, uint64_t want, const uint8_t **p,
                   const char *what);
/* Error helpers (return the code). */
int vl_fx_err(vl_fx_ctx *c, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vl_fx_unsupported(vl_fx_ctx *c, uint64_t off, uint32_t fourcc, const char *role);

/* checked a * b, a * b + c (0 on overflow) */
static inline int vl_fx_mul(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* --- index chain (faiss_read.c) -------------------------------------- */

int vl_fx_read_index(vl_fx_ctx *c, vl_faiss_node **out, const char *role);
int vl_fx_read_header(vl_fx_ctx *c, vl_faiss_node *n);
void vl_fx_node_free(vl_faiss_node *n);
int vl_fx_is_ivf_kind(vl_faiss_kind k);

/* --- codecs ---------------------------------------------------------- */

int vl_fx_read_sq(vl_fx_ctx *c, vl_faiss_sq *sq, int32_t d);
uint64_t vl_fx_sq_code_size(int32_t qtype, uint64_t d);   /* 0 = unknown qtype */
void vl_fx_sq_decode(const vl_faiss_sq *sq, const uint8_t *code, float *out);
const char *vl_fx_sq_name(int32_t qtype);

int vl_fx_read_pq(vl_fx_ctx *c, vl_faiss_pq *pq, int32_t d);
void vl_fx_pq_decode(const vl_faiss_pq *pq, const uint8_t *code, float *out);

int vl_fx_read_transform(vl_fx_ctx *c, vl_faiss_transform *t, int nested);
/* Reverse one transform: y (d_out floats) -> x (d_in floats); y is kept. */
void vl_fx_transform_reverse(const vl_faiss_transform *t, const float *y, float *x);

int vl_fx_read_hnsw(vl_fx_ctx *c, vl_faiss_hnsw *h, uint64_t ntotal);

int vl_fx_read_ivf(vl_fx_ctx *c, vl_faiss_node *n);
void vl_fx_ivf_free(vl_faiss_ivf *ivf);
/* List holding storage row `row` (rows run list by list). */
const vl_faiss_list *vl_fx_ivf_find(const vl_faiss_ivf *ivf, uint64_t row);

#endif
