/*
 * vl_faiss.h - read (and write) FAISS binary index files without FAISS.
 *
 * The reader is a set of pure functions over a byte buffer, normally an mmap
 * of the index file: it parses the index chain (IDMap -> PreTransform -> IVF /
 * HNSW -> storage ...) into a tree of vl_faiss_node that points into the
 * buffer (no vector data is copied), and decodes row i into float32 exactly
 * as FAISS's reconstruct() does. Layouts: SPEC.md "FAISS import" (and
 * .spec-parts/faiss.md); FAISS 1.7 through current files are accepted.
 *
 * Safety: every count read from the file is checked against the bytes that
 * remain before anything is allocated or read; the parser's own heap use is
 * bounded by a small multiple of the input size (VL_ELIMIT otherwise). Any
 * bad input gives VL_EFORMAT (or VL_EUNSUPPORTED for a valid but unsupported
 * type, named by its fourcc) with the byte offset in the vl_diag message.
 *
 * Threading: after vl_faiss_open() (and vl_faiss_attach_ondisk()), the index
 * is read-only; vl_faiss_read() and the accessors may run from any number of
 * threads at once.
 */
#ifndef VL_FAISS_H
#define VL_FAISS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vl_diag.h"

#define VL_FAISS_FOURCC(a, b, c, d) \
	((uint32_t)(uint8_t)(a) | (uint32_t)(uint8_t)(b) << 8 | \
	 (uint32_t)(uint8_t)(c) << 16 | (uint32_t)(uint8_t)(d) << 24)

/* Dimension limit of the reader (FAISS's own reader uses the same). */
#define VL_FAISS_DIM_MAX (1 << 20)
/* Nesting limit (IDMap(PreTransform(IVF(HNSW quantizer(Flat))))) is 5). */
#define VL_FAISS_DEPTH_MAX 16
/* Transforms in one IndexPreTransform chain. */
#define VL_FAISS_TRANSFORMS_MAX 256

typedef enum vl_faiss_kind {
	VL_FAISS_FLAT = 1,      /* IxF2 (L2), IxFI (IP), IxFl (other metric) */
	VL_FAISS_IDMAP,         /* IxMp */
	VL_FAISS_IDMAP2,        /* IxM2 */
	VL_FAISS_PRETRANSFORM,  /* IxPT */
	VL_FAISS_SQ,            /* IxSQ */
	VL_FAISS_PQ,            /* IxPq, legacy IxPo / IxPQ */
	VL_FAISS_IVF_FLAT,      /* IwFl */
	VL_FAISS_IVF_SQ,        /* IwSq, legacy IwSQ */
	VL_FAISS_IVF_PQ,        /* IwPQ */
	VL_FAISS_HNSW_FLAT,     /* IHNf */
	VL_FAISS_HNSW_SQ,       /* IHNs */
	VL_FAISS_HNSW_PQ        /* IHNp */
} vl_faiss_kind;

/* FAISS MetricType numbers as stored in the index header. */
enum {
	VL_FAISS_METRIC_IP = 0,
	VL_FAISS_METRIC_L2 = 1
};

/* ScalarQuantizer::QuantizerType numbers. */
enum {
	VL_FAISS_QT_8BIT = 0,
	VL_FAISS_QT_4BIT = 1,
	VL_FAISS_QT_8BIT_UNIFORM = 2,
	VL_FAISS_QT_4BIT_UNIFORM = 3,
	VL_FAISS_QT_FP16 = 4,
	VL_FAISS_QT_8BIT_DIRECT = 5,
	VL_FAISS_QT_6BIT = 6,
	VL_FAISS_QT_BF16 = 7,              /* FAISS 1.9+ */
	VL_FAISS_QT_8BIT_DIRECT_SIGNED = 8 /* FAISS 1.9+ */
};

/* Pointers named `const uint8_t *` below point into the input buffer and
 * hold little-endian values that are not necessarily aligned: read them with
 * vl_ld32()/vl_ldf32() etc. (vl_bytes.h). */

typedef struct vl_faiss_sq {
	int32_t qtype;            /* VL_FAISS_QT_* */
	int32_t rangestat;        /* training statistic (informative) */
	float rangestat_arg;
	uint64_t d;
	uint64_t code_size;       /* bytes per vector */
	uint64_t ntrained;        /* floats in `trained` */
	const uint8_t *trained;   /* [vmin(d), vdiff(d)] or [vmin, vdiff] (uniform) */
} vl_faiss_sq;

typedef struct vl_faiss_pq {
	uint64_t d, M, nbits;
	uint64_t dsub;            /* d / M */
	uint64_t ksub;            /* 1 << nbits */
	uint64_t code_size;       /* ceil(M * nbits / 8) */
	const uint8_t *centroids; /* M * ksub * dsub floats, layout (M, ksub, dsub) */
} vl_faiss_pq;

/* One non-empty inverted list. */
typedef struct vl_faiss_list {
	uint64_t list_no;
	uint64_t size;            /* entries */
	uint64_t first_row;       /* storage row of its first entry (rows run list by list) */
	uint64_t offset;          /* ilar: file offset of the codes; ilod: offset in the data file */
	uint64_t capacity;        /* ilod: slots reserved in the data file; ilar: = size */
	const uint8_t *codes;     /* size * code_size bytes; NULL for ilod until attached */
	const uint8_t *ids;       /* size int64 ids, right after the codes */
} vl_faiss_list;

typedef struct vl_faiss_ivf {
	uint64_t nlist, nprobe;
	uint64_t code_size;
	int by_residual;          /* codes encode x - centroid(list) */
	int direct_map_type;      /* 0 none, 1 array, 2 hashtable */
	uint64_t direct_map_array;/* entries of the array part */
	uint64_t direct_map_hash; /* (key, value) pairs of the hashtable part */
	uint32_t invlists_fourcc; /* ilar, ilod, il00 */
	int sparse;               /* ilar stored "sprs" sizes */
	uint64_t nonempty;        /* entries of `lists` */
	vl_faiss_list *lists;     /* ascending list_no */
	/* ilod only */
	char *ondisk_filename;    /* data file name as stored (NUL-terminated) */
	uint64_t ondisk_totsize;  /* bytes the writer reserved in the data file */
	int ondisk_attached;      /* vl_faiss_attach_ondisk() succeeded */
} vl_faiss_ivf;

typedef struct vl_faiss_hnsw {
	uint64_t nprobas;             /* assign_probas: doubles */
	const uint8_t *assign_probas;
	uint64_t ncum;                /* cum_nneighbor_per_level: int32, ncum >= 2 */
	const uint8_t *cum;
	const uint8_t *levels;        /* ntotal int32: levels of node i (1 = base only) */
	const uint8_t *offsets;       /* ntotal + 1 uint64 */
	uint64_t nneighbors;          /* int32 entries of `neighbors` */
	const uint8_t *neighbors;     /* -1 = unused slot */
	int32_t entry_point, max_level;
	int32_t efConstruction, efSearch, upper_beam;
	int32_t M;                    /* slots per upper level (cum[2]-cum[1], or cum[1]/2) */
	int32_t M0;                   /* slots on level 0 (cum[1]) */
	uint64_t ntotal;              /* nodes */
} vl_faiss_hnsw;

typedef enum vl_faiss_xform_kind {
	VL_FAISS_XF_LINEAR = 1, /* LTra: LinearTransform, also OPQMatrix */
	VL_FAISS_XF_RROT,       /* rrot: RandomRotationMatrix */
	VL_FAISS_XF_PCA,        /* Pcam / PcAm / PCAm: PCAMatrix */
	VL_FAISS_XF_ITQ_MATRIX, /* Viqm: ITQMatrix */
	VL_FAISS_XF_ITQ,        /* Viqt: ITQTransform (centering + linear, not reversible) */
	VL_FAISS_XF_REMAP,      /* RmDT: RemapDimensionsTransform */
	VL_FAISS_XF_NORM,       /* VNrm: NormalizationTransform */
	VL_FAISS_XF_CENTER      /* VCnt: CenteringTransform */
} vl_faiss_xform_kind;

typedef struct vl_faiss_transform {
	vl_faiss_xform_kind kind;
	uint32_t fourcc;
	uint64_t offset;          /* of the fourcc */
	int32_t d_in, d_out;
	int is_trained;
	/* linear kinds (LINEAR, RROT, PCA, ITQ_MATRIX): y = A x (+ b) */
	int have_bias;
	const uint8_t *A;         /* d_out x d_in floats, row-major */
	const uint8_t *b;         /* d_out floats when have_bias */
	int orthonormal;          /* A A^T = I within 4e-5 (FAISS's test); d_out <= d_in */
	/* PCA */
	float eigen_power, epsilon;
	int random_rotation;
	int32_t balanced_bins;
	/* ITQ matrix */
	int32_t max_iter, seed;
	/* REMAP: d_out int32, -1 = zero; NORM: norm; CENTER / ITQ: mean (d_in floats) */
	const uint8_t *map;
	float norm;
	const uint8_t *mean;
	int do_pca;               /* ITQ */
	/* How reconstruct() goes back to the input space. */
	int reversible;           /* FAISS can reverse it (orthonormal linear, remap, center, norm) */
	int lossless;             /* the reverse recovers x (up to float rounding) */
} vl_faiss_transform;

typedef struct vl_faiss_node vl_faiss_node;
struct vl_faiss_node {
	vl_faiss_kind kind;
	uint32_t fourcc;
	uint64_t offset;          /* byte offset of the fourcc */
	uint64_t end;             /* byte offset just past this object */
	int32_t d;
	int64_t ntotal;
	int32_t metric_type;
	float metric_arg;         /* stored only when metric_type > 1 */
	int is_trained;
	vl_faiss_node *child;     /* IDMap / PreTransform inner, HNSW storage, IVF quantizer */

	const uint8_t *data;      /* FLAT: ntotal*d floats; SQ / PQ: ntotal*code_size bytes */
	const uint8_t *ids;       /* IDMAP*: ntotal int64 (position -> external id) */

	vl_faiss_sq sq;           /* SQ, IVF_SQ */
	vl_faiss_pq pq;           /* PQ, IVF_PQ */
	int32_t pq_search_type, pq_polysemous_ht;
	int pq_encode_signs;
	vl_faiss_ivf ivf;         /* IVF_* */
	vl_faiss_hnsw hnsw;       /* HNSW_* */
	int32_t ntransforms;      /* PRETRANSFORM */
	vl_faiss_transform *transforms;
};

typedef struct vl_faiss_index vl_faiss_index;

/* Parse buf[0..len) (borrowed: must outlive the index). */
int vl_faiss_open(const void *buf, size_t len, vl_faiss_index **out, vl_diag *d);
void vl_faiss_close(vl_faiss_index *ix);

const vl_faiss_node *vl_faiss_root(const vl_faiss_index *ix);
size_t vl_faiss_input_bytes(const vl_faiss_index *ix);
/* Bytes after the top-level object (FAISS ignores them too). */
size_t vl_faiss_trailing_bytes(const vl_faiss_index *ix);
/* Heap bytes the parser holds (bounded by ~4x the input). */
size_t vl_faiss_heap_bytes(const vl_faiss_index *ix);

/* Class name for a fourcc ("IndexIVFFlat"), also for types veclite does not
 * support; NULL when unknown. */
const char *vl_faiss_fourcc_name(uint32_t fourcc);
/* Printable form: "IwFl", or "\x00\x01ab" with escapes; buf >= 20 bytes. */
const char *vl_faiss_fourcc_str(uint32_t fourcc, char *buf);

/*
 * On-disk inverted lists (`ilod`): the codes live in a separate data file
 * whose name the index records. Returns the stored name (owned by ix) when
 * the index has one that is not attached yet, else NULL. The caller maps the
 * file (or the one of the same base name beside the index) and attaches it;
 * every list is checked to lie inside it. Attach before sharing ix between
 * threads.
 */
const char *vl_faiss_ondisk_name(const vl_faiss_index *ix);
int vl_faiss_attach_ondisk(vl_faiss_index *ix, const void *data, size_t len, vl_diag *d);

/* ------------------------------------------------------------------ */
/* Vectors                                                              */
/* ------------------------------------------------------------------ */

typedef enum vl_faiss_space {
	/* Input space when every transform can be undone without loss, else the
	 * space the inner index stores (the import default). */
	VL_FAISS_SPACE_AUTO = 0,
	/* The inner index's own vectors, no transform undone. */
	VL_FAISS_SPACE_STORED,
	/* What FAISS's reconstruct() returns: every transform reversed, which
	 * for an orthonormal dimension reduction is the projection A^T y. */
	VL_FAISS_SPACE_INPUT
} vl_faiss_space;

typedef enum vl_faiss_exactness {
	VL_FAISS_EXACT = 0,       /* the float32 values that were added, bit for bit */
	VL_FAISS_APPROX,          /* lossy codes or float rounding of a reversed transform */
	VL_FAISS_PROJECTED,       /* input space, but a transform dropped information */
	VL_FAISS_TRANSFORMED      /* left in the transformed (often reduced) space */
} vl_faiss_exactness;

typedef struct vl_faiss_vecinfo {
	uint64_t count;           /* rows */
	uint32_t dim;             /* floats per row in the chosen space */
	uint32_t input_dim;       /* d of the top-level index */
	int32_t metric_type;      /* of the top-level index */
	float metric_arg;
	vl_faiss_space space;     /* resolved: STORED or INPUT */
	vl_faiss_exactness exactness;
	const char *why;          /* static text explaining the exactness */
	int ids_kind;             /* 0 sequential row numbers, 1 IDMap ids, 2 IVF list ids */
	const vl_faiss_node *storage;  /* node whose codes hold the vectors */
	const vl_faiss_node *hnsw;     /* HNSW node in the chain, or NULL */
	const vl_faiss_node *idmap;    /* outermost IDMap, or NULL */
	const vl_faiss_node *pretransform; /* PreTransform in the chain, or NULL */
	uint32_t scratch_floats;  /* internal per-row work space */
} vl_faiss_vecinfo;

/* Describe the vectors of ix in `space`. VL_EUNSUPPORTED when the chain
 * holds no vectors (HNSW without storage, il00) or INPUT is asked for and a
 * transform cannot be reversed (non-orthonormal linear: FAISS cannot either).
 * VL_EINVAL when on-disk lists are not attached. */
int vl_faiss_vectors(const vl_faiss_index *ix, vl_faiss_space space, vl_faiss_vecinfo *vi,
                     vl_diag *d);

/* Decode rows [first, first+n) into out (n * vi->dim floats) and their ids
 * (ids may be NULL). Rows run in storage order: for IVF, list by list. */
int vl_faiss_read(const vl_faiss_index *ix, const vl_faiss_vecinfo *vi, uint64_t first,
                  uint64_t n, float *out, int64_t *ids, vl_diag *d);

/* ------------------------------------------------------------------ */
/* HNSW graph (for --keep-graph)                                        */
/* ------------------------------------------------------------------ */

/* Number of levels node i belongs to (1 = base level only). */
int vl_faiss_hnsw_levels(const vl_faiss_hnsw *h, uint64_t node);
/* Neighbours of node on `level` (0 = base): up to cap ids into out, stopping
 * at the first unused (-1) slot; returns how many. Slots per level: M0, M. */
uint32_t vl_faiss_hnsw_neighbors(const vl_faiss_hnsw *h, uint64_t node, int level,
                                 int32_t *out, uint32_t cap);

/* ------------------------------------------------------------------ */
/* Inspect                                                              */
/* ------------------------------------------------------------------ */

enum { VL_FAISS_INSPECT_TEXT = 0, VL_FAISS_INSPECT_JSON = 1 };
/* Print the chain, d, ntotal, metric, parameters, vector exactness and sizes.
 * Returns 0 or VL_EIO. */
int vl_faiss_inspect(const vl_faiss_index *ix, FILE *f, int format);

/* ------------------------------------------------------------------ */
/* Writer (export)                                                      */
/* ------------------------------------------------------------------ */

/* An HNSW graph to write as IndexHNSWFlat. Levels above 0 have M slots,
 * level 0 has 2M (FAISS's fixed layout); longer lists are cut. */
typedef struct vl_faiss_graph {
	uint32_t M;
	int32_t entry_point;
	int32_t max_level;
	int32_t efConstruction, efSearch;
	/* levels of node i (>= 1); max_level+1 for the entry point */
	int (*levels)(void *ctx, uint64_t node);
	/* neighbours of node on level: up to cap into out, return the count */
	uint32_t (*neighbors)(void *ctx, uint64_t node, int level, int32_t *out, uint32_t cap);
	void *ctx;
} vl_faiss_graph;

typedef struct vl_faiss_write_opts {
	uint32_t dim;
	uint64_t count;
	int32_t metric_type;      /* VL_FAISS_METRIC_L2 or _IP */
	int with_ids;             /* wrap in IndexIDMap2 with the ids from row() */
	const vl_faiss_graph *graph; /* NULL: IndexFlat; else IndexHNSWFlat */
	/* Row i, called once per row in order: dim floats into vec, id into *id. */
	int (*row)(void *ctx, uint64_t i, float *vec, int64_t *id);
	void *ctx;
} vl_faiss_write_opts;

/* Write a FAISS index file that faiss.read_index() loads: [IxM2 over]
 * IxF2/IxFI, or [IxM2 over] IHNf with IxF2/IxFI storage. */
int vl_faiss_write(FILE *f, const vl_faiss_write_opts *o, vl_diag *d);

#endif
