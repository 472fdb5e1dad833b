/*
 * vamana.h - internals shared by the Vamana index files (not installed).
 *
 *   vamana.c          ops table, parameters, on-disk sections, open/verify
 *   vamana_search.c   beam search over a fixed-degree adjacency (query + build)
 *   vamana_build.c    graph construction: batched insertion passes, output
 *   vamana_prune.c    RobustPrune and list repair
 *   vamana_entry.c    the entry node (medoid) and reachability repair
 *   vamana_pool.c     the thread pool (parallel for)
 *   vamana_rebuild.c  compaction: consolidate deletes, merge source graphs
 *
 * Sections (SPEC: .spec-parts/vamana.md):
 *   VL_SEC_VAMANA_META  (0x0100) 128-byte little-endian record (vam_meta_disk)
 *   VL_SEC_VAMANA_ADJ   (0x0101) nrows rows of R uint32 LE neighbour ids;
 *                                empty slots hold VAM_PAD and only follow used ones
 */
#ifndef VL_VAMANA_H
#define VL_VAMANA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"
#include "scratchpool.h"

#define VL_SEC_VAMANA_META (VL_SEC_INDEX_VAMANA + 0)
#define VL_SEC_VAMANA_ADJ (VL_SEC_INDEX_VAMANA + 1)

#define VAM_MAGIC "VLVAMANA"
#define VAM_VERSION 1u
#define VAM_META_BYTES 128u
#define VAM_PAD UINT32_MAX         /* empty adjacency slot */
#define VAM_MAX_ROWS (1u << 31)    /* ids use bit 31 as the "expanded" mark in search */
#define VAM_EXPANDED (1u << 31)

/* Parameter names (as Redis names them) and defaults. */
#define VAM_P_R "GRAPH_MAX_DEGREE"
#define VAM_P_L "CONSTRUCTION_WINDOW_SIZE"
#define VAM_P_ALPHA "ALPHA"
#define VAM_P_MAXC "MAX_CANDIDATE_POOL_SIZE"
#define VAM_P_PREC "BUILD_PRECISION"
#define VAM_P_SW "SEARCH_WINDOW_SIZE"
#define VAM_P_SB "SEARCH_BUFFER_CAPACITY"

#define VAM_DEF_R 32u
#define VAM_DEF_L 200u
#define VAM_DEF_ALPHA_L2 1.2
#define VAM_DEF_ALPHA_SIM 0.95
#define VAM_DEF_MAXC 750u
#define VAM_DEF_SW 10u
#define VAM_MAX_R 1024u
#define VAM_MAX_WINDOW 65536u
/* Largest window a filtered search grows to before giving up (the engine
 * scans exactly when a filter is that selective). */
#define VAM_FILTER_WINDOW_CAP 4096u
/* Filters accepting at least this fraction (tombstones, broad filters) are
 * applied to the final buffer instead of to every evaluated node. */
#define VAM_DIRECT_SELECTIVITY 0.9

/*
 * The meta section, byte for byte (little-endian on disk; encoded and
 * decoded field by field with vl_bytes.h, this struct only fixes offsets).
 */
typedef struct vam_meta_disk {
	uint8_t magic[8];          /*   0 "VLVAMANA" */
	uint32_t version;          /*   8 VAM_VERSION */
	uint32_t meta_bytes;       /*  12 128 */
	uint64_t nrows;            /*  16 rows in the segment (= graph nodes) */
	uint32_t max_degree;       /*  24 R: slots per adjacency row */
	uint32_t entry;            /*  28 entry node (medoid), < nrows */
	uint64_t edges;            /*  32 used adjacency slots */
	float alpha;               /*  40 pruning alpha of the final pass */
	uint32_t build_window;     /*  44 CONSTRUCTION_WINDOW_SIZE */
	uint32_t max_pool;         /*  48 MAX_CANDIDATE_POOL_SIZE */
	uint32_t search_window;    /*  52 default SEARCH_WINDOW_SIZE */
	uint32_t search_buffer;    /*  56 default SEARCH_BUFFER_CAPACITY (0 = window) */
	uint8_t metric;            /*  60 vl_metric the graph was built for */
	uint8_t precision;         /*  61 0 = primary codes, 1 = full precision */
	uint8_t passes;            /*  62 construction passes (2) */
	uint8_t origin;            /*  63 0 = build, 1 = rebuild (consolidate/merge), 2 = full rebuild */
	uint64_t seed;             /*  64 */
	uint32_t degree_max_used;  /*  72 largest degree present */
	uint32_t reserved0;        /*  76 zero */
	uint8_t reserved[48];      /*  80 zero */
} vam_meta_disk;

_Static_assert(sizeof(vam_meta_disk) == VAM_META_BYTES, "vamana meta is 128 bytes");
_Static_assert(offsetof(vam_meta_disk, alpha) == 40, "alpha at 40");
_Static_assert(offsetof(vam_meta_disk, seed) == 64, "seed at 64");
_Static_assert(offsetof(vam_meta_disk, reserved) == 80, "reserved at 80");

/* Build parameters, validated. */
typedef struct vam_params {
	uint32_t R, L, maxc;
	double alpha;
	int full_precision;
	uint32_t search_window, search_buffer;
} vam_params;

int vam_parse_params(const vl_params *p, vl_metric metric, int compressed, vam_params *out,
                     vl_diag *d);

/* A graph: fixed-degree rows of R ids, VAM_PAD after the last neighbour. */
typedef struct vam_graph {
	const uint32_t *adj;
	uint32_t R;
	uint64_t n;
	uint32_t entry;
} vam_graph;

/* Open state of a segment's index. */
typedef struct vam_scratch vam_scratch;
typedef struct vam_state {
	vam_graph g;
	const vl_qview *q;
	uint64_t edges;
	float alpha;
	uint32_t search_window, search_buffer;
	uint32_t build_window, max_pool;
	uint8_t metric, precision, origin;
	const float *vectors;
	vl_scratch_pool scratch;   /* vam_scratch items */
} vam_state;

/* ---- search (vamana_search.c) ------------------------------------------- */

/* Start loading the cache lines of p[0..bytes). */
static inline void vam_prefetch(const void *p, size_t bytes)
{
	for (size_t o = 0; o < bytes; o += 64)
		__builtin_prefetch((const uint8_t *)p + o);
}

/* Per-thread working memory, reused across queries: no allocation
 * proportional to the number of nodes per query (the visited tags are
 * allocated once per scratch and reset by epoch). */
typedef struct vam_cand {
	float dist;
	uint32_t id;               /* VAM_EXPANDED set once expanded */
} vam_cand;

struct vam_scratch {
	uint64_t n;                /* nodes the tags cover */
	uint8_t *tags;             /* one byte per node: at 545K rows the tags of a
	                            * build thread stay in its L2 (half of it) */
	uint8_t epoch;
	vam_cand *buf;             /* sorted window/buffer */
	vam_cand *merge;           /* buf_cap + ids_cap entries: scratch of buf_merge */
	size_t buf_cap;
	vam_cand *expanded;        /* build: expanded nodes in order */
	size_t exp_n, exp_cap;
	uint32_t *ids;             /* neighbours to evaluate */
	float *dists;
	size_t ids_cap;
	void *qbuf;                /* prepared query (64-byte aligned) */
	size_t qbuf_size;
};

vam_scratch *vam_scratch_new(uint64_t n, uint32_t R, size_t qbuf_size);
void vam_scratch_free(vam_scratch *s);
/* Start a new epoch: every node untagged. */
void vam_scratch_epoch(vam_scratch *s);
/* Make room for a buffer of cap candidates / an expanded list of cap. */
int vam_scratch_reserve(vam_scratch *s, size_t buf_cap);

typedef struct vam_beam {
	uint32_t window;           /* expand until the best `window` are expanded */
	uint32_t buffer;           /* candidates kept (>= window) */
	const vl_accept *accept;   /* NULL = accept all */
	vl_topk *out;              /* accepted candidates pushed here (may be NULL) */
	uint32_t src;
	uint32_t need;             /* with a filter: grow the window until `need` accepted */
	uint32_t window_cap;       /* upper bound when growing */
	int record_expanded;       /* build: keep the expanded list in s->expanded */
	int direct;                /* filter rejects little: results from the buffer at the end */
} vam_beam;

/* Beam search from g->entry; *evals receives the distance evaluations.
 * Corrupt ids (>= n) are skipped. VL_OK or VL_ENOMEM (window growth). */
int vam_beam_search(const vam_graph *g, const vl_qview *q, const void *qbuf, vam_scratch *s,
                    const vam_beam *a, uint64_t *evals);

/* ---- build (vamana_build.c) ---------------------------------------------- */

/* A graph under construction. */
typedef struct vam_work {
	uint32_t *adj;             /* n * S, VAM_PAD-filled tails */
	uint32_t *deg;
	uint64_t n;
	uint32_t R;                /* degree bound of the result */
	uint32_t S;                /* row stride: R plus slack for back-edges */
	uint32_t entry;
	const vl_qview *q;         /* distances used for construction */
	vl_qview fullq;            /* float32 view over the originals (precision=full) */
	int fullq_open;
	uint8_t *qcache;           /* every row prepared as a query (qstride bytes each), or NULL */
	size_t qstride;
	const float *vectors;
	uint32_t dim;
	vl_metric metric;
	vam_params p;
	unsigned threads;
	uint64_t seed;
	vl_progress_fn progress;
	void *progress_ud;
	int origin;
	struct vam_pool *pool;
	struct vam_tls *tls;       /* one per thread */
} vam_work;

int vam_work_init(vam_work *w, const vl_index_build *b, vl_diag *d);
void vam_work_free(vam_work *w);
/* Medoid of the originals (L2; cosine: of the normalized rows), among the
 * nodes that have neighbours when only_linked. Deterministic. */
int vam_medoid(vam_work *w, int only_linked, uint32_t *out, vl_diag *d);
/* Insert nodes[0..count) (a pass) with the given alpha; `phase` names the
 * progress reports. extra_in > 0 also offers each row as an in-edge to its
 * extra_in nearest candidates not chosen as out-neighbours (merges).
 * first_pass searches with a quarter of the window. Deterministic for any
 * thread count. */
int vam_insert_pass(vam_work *w, const uint32_t *nodes, size_t count, double alpha,
                    uint32_t extra_in, int first_pass, const char *phase, vl_diag *d);
/* Prune list[0..cnt) of node p down to R with RobustPrune(alpha) and write
 * N_out(p); list holds candidate ids (distances are computed here). */
int vam_repair_node(vam_work *w, unsigned tid, uint32_t p, const uint32_t *list, size_t cnt,
                    double alpha);
/* Make every node reachable from the entry: each unreachable node gets an
 * in-edge from its nearest reachable node (deterministic, serial). */
int vam_connect(vam_work *w, vl_diag *d);
/* Write the META + ADJ sections of w to b->w. */
int vam_write_sections(vam_work *w, const vl_index_build *b, vl_diag *d);
/* Deterministic permutation of 0..n-1. */
void vam_permute(uint32_t *perm, uint64_t n, uint64_t seed);

/* Per-thread working memory of a build. */
typedef struct vam_tls {
	vam_scratch *s;
	vam_cand *pool;            /* candidate pool of the node being pruned */
	uint8_t *flags;
	uint32_t *ids, *idx;
	float *dists;
	size_t cap;
	uint32_t *list;            /* back-edge union */
	size_t list_cap;
} vam_tls;

/* Shared by the build files (vamana_build.c, vamana_prune.c, vamana_entry.c). */
static inline const float *vam_vec(const vam_work *w, uint32_t id)
{
	return w->vectors + (uint64_t)id * w->dim;
}
/* Row id's original prepared as a query for w->q's distances: from the
 * build's query cache, or prepared in t's scratch buffer. Valid until the
 * next call with the same t. */
const void *vam_query(const vam_work *w, struct vam_tls *t, uint32_t id);
/* Start loading row id's cached query (no-op without the cache). */
static inline void vam_prefetch_query(const vam_work *w, uint32_t id)
{
	if (w->qcache)
		vam_prefetch(w->qcache + (size_t)id * w->qstride, w->qstride);
}
int vam_tls_reserve(struct vam_tls *t, size_t n);
/* Order candidates by (distance, id). */
int vam_cmp_cand(const void *a, const void *b);
/* Set N_out(p) = ids[0..cnt), padding the rest of the row. */
void vam_set_row(vam_work *w, uint32_t p, const uint32_t *ids, uint32_t cnt);
/* Sort pool[0..np) of t, drop p and duplicates, cap at MAX_CANDIDATE_POOL_SIZE. */
size_t vam_tidy_pool(vam_work *w, struct vam_tls *t, size_t np, uint32_t p);
/* RobustPrune over t's sorted pool[0..np) for node p; writes <= R ids to out. */
uint32_t vam_robust_prune(vam_work *w, struct vam_tls *t, uint32_t p, size_t np, double alpha,
                          uint32_t *out);

/* Parallel for over [0, count): fn(ctx, i, tid). */
typedef void (*vam_task_fn)(void *ctx, size_t i, unsigned tid);
struct vam_pool *vam_pool_new(unsigned threads);
void vam_pool_run(struct vam_pool *p, size_t count, vam_task_fn fn, void *ctx);
void vam_pool_free(struct vam_pool *p);

/* ---- ops (vamana.c / vamana_build.c / vamana_rebuild.c) ------------------- */
int vam_build(const vl_index_build *b, vl_diag *d);
/* Two-pass build from scratch; origin goes into the meta (0 build, 2 full rebuild). */
int vam_build_full(const vl_index_build *b, int origin, vl_diag *d);
int vam_rebuild(const vl_index_build *b, void *const *src, const uint32_t *const *map,
                const uint64_t *src_rows, size_t nsrc, vl_diag *d);
int vam_search(void *state, const vl_index_query *q, vl_topk *out, vl_diag *d);
vam_scratch *vam_state_scratch(vam_state *s);
void vam_state_release(vam_state *s, vam_scratch *sc);

extern const vl_index_ops vl_index_vamana;

#endif
