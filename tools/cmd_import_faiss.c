/*
 * cmd_import_faiss.c - veclite import-faiss: a FAISS index file into a
 * collection, or --inspect it. The file is mapped and read by format/faiss/
 * (no FAISS library); vectors go in through one bulk load, so a failed or
 * interrupted import leaves the store as it was. With --keep-graph the
 * file's HNSW graph is handed to the bulk load (vl_bulk_adopt_graph) and
 * becomes the segment's hnsw index as it is: no rebuild.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "faiss/vl_faiss.h"
#include "vl_bytes.h"

#define BATCH 1024

static void help(void)
{
	printf("usage: veclite import-faiss FILE STORE [-c NAME] [options]\n"
	       "       veclite import-faiss --inspect FILE [--json]\n\n"
	       "Import the vectors of a FAISS index file (no FAISS needed) into a collection, in\n"
	       "one atomic bulk load. Each vector's FAISS id (IndexIDMap id, IVF list id, or its\n"
	       "position) becomes its key, in decimal. The metric is carried over (L2 -> l2,\n"
	       "inner product -> ip). Compressed codes (SQ, PQ) are decoded as FAISS's\n"
	       "reconstruct() does; the summary says whether vectors are exact or approximate.\n"
	       "On-disk inverted lists are read from their data file, found by its recorded\n"
	       "name or beside FILE.\n\n"
	       "  -c, --collection NAME    collection (default: default); created unless it\n"
	       "                           exists (then its dim and metric must match)\n"
	       "      --inspect            print the index chain, d, ntotal, metric, parameters\n"
	       "                           and vector exactness; writes nothing\n"
	       "      --space S            auto (default): the input space when the index's\n"
	       "                           transforms can be undone without loss, else the\n"
	       "                           transformed space; input: what FAISS's reconstruct()\n"
	       "                           gives (projections for dimension reductions);\n"
	       "                           stored: the inner index's vectors\n"
	       "      --keep-graph         keep the file's HNSW graph as the collection's hnsw\n"
	       "                           index instead of building one (IndexHNSW*, also under\n"
	       "                           IndexIDMap); a new collection is created as hnsw with\n"
	       "                           the file's M, efConstruction and efSearch. When the\n"
	       "                           graph cannot apply (rows skipped, repeated ids, vectors\n"
	       "                           moved out of the graph's space) the index is built and\n"
	       "                           the summary says why\n"
	       "      --index KIND         index of a new collection (flat, hnsw, vamana, ivf)\n"
	       "      --storage TYPE       storage type of a new collection\n"
	       "      --set PARAM=VALUE    parameter of a new collection (repeatable)\n"
	       "      --threads N          threads for the index build (default: all cores)\n"
	       "      --json               print the summary (or the --inspect report) as JSON\n"
	       "      --quiet              no progress bar\n");
}

typedef struct fi_opts {
	const char *file, *store, *coll, *index, *storage;
	cli_strs params;
	vl_faiss_space space;
	uint32_t threads;
	int json, quiet, keep_graph, inspect;
} fi_opts;

typedef struct mapped {
	void *p;
	size_t len;
} mapped;

static int map_file(const char *path, mapped *m)
{
	m->p = NULL;
	m->len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error("%s: %s", path, strerror(errno));
	struct stat st;
	int rc = CLI_OK;
	if (fstat(fd, &st) != 0) {
		rc = cli_error("%s: %s", path, strerror(errno));
	} else if (st.st_size > 0) {
		m->len = (size_t)st.st_size;
		m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m->p == MAP_FAILED) {
			m->p = NULL;
			rc = cli_error("%s: mmap: %s", path, strerror(errno));
		} else {
			madvise(m->p, m->len, MADV_SEQUENTIAL);
		}
	}
	close(fd);
	return rc;
}

static void unmap_file(mapped *m)
{
	if (m->p)
		munmap(m->p, m->len);
	m->p = NULL;
}

/* The data file of on-disk lists: its recorded name, else the same base
 * name in FILE's directory. */
static int attach_ondisk(const fi_opts *o, vl_faiss_index *ix, mapped *data)
{
	const char *name = vl_faiss_ondisk_name(ix);
	if (!name)
		return CLI_OK;
	char path[4096];
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	const char *slash = strrchr(o->file, '/');
	if (access(name, R_OK) == 0)
		snprintf(path, sizeof path, "%s", name);
	else if (slash)
		snprintf(path, sizeof path, "%.*s/%s", (int)(slash - o->file), o->file, base);
	else
		snprintf(path, sizeof path, "%s", base);
	if (access(path, R_OK) != 0)
		return cli_error("%s keeps its inverted lists in '%s', which is neither there nor "
		                 "beside the index (%s)", o->file, name, path);
	if (map_file(path, data))
		return CLI_ERR;
	vl_diag d;
	int vr = vl_faiss_attach_ondisk(ix, data->p, data->len, &d);
	if (vr)
		return cli_error("%s: %s (%s)", path, d.msg, vl_strerror(vr));
	return CLI_OK;
}

static int open_index(const fi_opts *o, mapped *m, mapped *data, vl_faiss_index **ix)
{
	if (map_file(o->file, m))
		return CLI_ERR;
	vl_diag d;
	int vr = vl_faiss_open(m->p, m->len, ix, &d);
	if (vr)
		return cli_error("%s: %s (%s)", o->file, d.msg, vl_strerror(vr));
	return o->inspect ? CLI_OK : attach_ondisk(o, *ix, data);
}

static const char *exactness_name(vl_faiss_exactness x)
{
	switch (x) {
	case VL_FAISS_EXACT: return "exact";
	case VL_FAISS_APPROX: return "approximate";
	case VL_FAISS_PROJECTED: return "projected";
	case VL_FAISS_TRANSFORMED: return "transformed";
	}
	return "?";
}

/* ---- --keep-graph ------------------------------------------------------------------------ */

typedef struct keep_plan {
	int want;                  /* --keep-graph given */
	int ok;                    /* the graph applies (else: built, for reason `why`) */
	char why[256];
	const vl_faiss_hnsw *h;
	uint32_t M;                /* the graph's M (0 when out of veclite's range) */
} keep_plan;

static int32_t cum_at(const vl_faiss_hnsw *h, uint64_t l)
{
	return (int32_t)vl_ld32(h->cum + 4 * l);
}

/* Is every transform between the index's input and the HNSW's space one
 * that keeps distances (so a graph over stored vectors fits the input
 * vectors)? Square orthonormal maps (OPQ, random rotations); biases and
 * centring only for L2. */
static int keeps_distances(const vl_faiss_node *pt, int32_t metric)
{
	for (int32_t i = 0; pt && i < pt->ntransforms; i++) {
		const vl_faiss_transform *t = &pt->transforms[i];
		int linear = t->kind == VL_FAISS_XF_LINEAR || t->kind == VL_FAISS_XF_RROT ||
		             t->kind == VL_FAISS_XF_PCA || t->kind == VL_FAISS_XF_ITQ_MATRIX;
		if (linear && t->orthonormal && t->d_in == t->d_out &&
		    (!t->have_bias || metric == VL_FAISS_METRIC_L2))
			continue;
		if (t->kind == VL_FAISS_XF_CENTER && metric == VL_FAISS_METRIC_L2)
			continue;
		return 0;
	}
	return 1;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* IndexIDMap ids repeated: the load keeps one row per key, so node i would
 * no longer be row i. */
static int repeated_ids(const vl_faiss_vecinfo *vi, int64_t *first)
{
	if (!vi->idmap || vi->count < 2)
		return 0;
	int64_t *ids = malloc(vi->count * sizeof *ids);
	if (!ids)
		return -1;
	for (uint64_t i = 0; i < vi->count; i++)
		ids[i] = (int64_t)vl_ld64(vi->idmap->ids + 8 * i);
	qsort(ids, vi->count, sizeof *ids, cmp_i64);
	int rep = 0;
	for (uint64_t i = 1; i < vi->count && !rep; i++)
		if (ids[i] == ids[i - 1]) {
			rep = 1;
			*first = ids[i];
		}
	free(ids);
	return rep;
}

static void no_keep(keep_plan *kp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void no_keep(keep_plan *kp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(kp->why, sizeof kp->why, fmt, ap);
	va_end(ap);
	kp->ok = 0;
}

/* Decide whether the graph can become the hnsw index as it is. A file with
 * no HNSW graph is an error; a graph that does not fit is built instead. */
static int plan_keep(const fi_opts *o, const vl_faiss_vecinfo *vi, keep_plan *kp)
{
	memset(kp, 0, sizeof *kp);
	kp->want = o->keep_graph;
	if (!kp->want)
		return CLI_OK;
	if (!vi->hnsw)
		return cli_error("--keep-graph: %s holds no HNSW graph over its vectors (only "
		                 "IndexHNSWFlat/SQ/PQ, possibly under IndexIDMap or "
		                 "IndexPreTransform, have one)", o->file);
	const vl_faiss_hnsw *h = &vi->hnsw->hnsw;
	kp->h = h;
	kp->ok = 1;
	if (h->M >= 2 && h->M <= 512)
		kp->M = (uint32_t)h->M;
	int uniform = h->M0 == 2 * h->M;
	for (uint64_t l = 1; uniform && l + 1 < h->ncum; l++)
		uniform = cum_at(h, l + 1) - cum_at(h, l) == h->M;
	int64_t rep_id = 0;
	int rep = repeated_ids(vi, &rep_id);
	if (!kp->M)
		no_keep(kp, "its M=%d is outside veclite's 2..512", h->M);
	else if (!uniform)
		no_keep(kp, "its levels do not hold 2*M neighbours on level 0 and M above "
		            "(non-default cum_nneighbor_per_level)");
	else if (h->max_level > 48)
		no_keep(kp, "its max_level %d is above veclite's 48", h->max_level);
	else if (vi->count >= UINT32_MAX - 1)
		no_keep(kp, "it has more nodes than a segment holds");
	else if (vi->space == VL_FAISS_SPACE_INPUT && !keeps_distances(vi->pretransform,
	                                                               vi->metric_type))
		no_keep(kp, "its vectors are brought back to the input space through a transform "
		            "that does not keep distances (use --space stored to keep the graph)");
	else if (rep < 0)
		return cli_error("out of memory");
	else if (rep)
		no_keep(kp, "id %" PRId64 " is repeated, and the collection keeps one row per key",
		        rep_id);
	return CLI_OK;
}

/* The FAISS graph as vl_hnsw_graph callbacks: FAISS levels count from 1,
 * veclite's from 0. A node linking to itself or twice to one node (a FAISS
 * build race can do that) is cleaned here and counted for the summary. */
typedef struct fgraph {
	const vl_faiss_hnsw *h;
	int32_t *buf;              /* M0 slots */
	uint32_t *mark;            /* per node: stamp of the last list naming it */
	uint32_t stamp;
	uint64_t self_links, repeats;
} fgraph;

static int fg_level(void *ud, uint64_t node)
{
	const fgraph *g = ud;
	return vl_faiss_hnsw_levels(g->h, node) - 1;
}

static int fg_neighbors(void *ud, uint64_t node, uint32_t level, uint32_t *out, uint32_t cap)
{
	fgraph *g = ud;
	uint32_t slots = level ? (uint32_t)g->h->M : (uint32_t)g->h->M0;
	uint32_t n = vl_faiss_hnsw_neighbors(g->h, node, (int)level, g->buf, slots), k = 0;
	if (++g->stamp == 0) {
		memset(g->mark, 0, g->h->ntotal * sizeof *g->mark);
		g->stamp = 1;
	}
	for (uint32_t j = 0; j < n; j++) {
		uint32_t v = (uint32_t)g->buf[j]; /* the reader checked 0 <= v < ntotal */
		if (v == node) {
			g->self_links++;
			continue;
		}
		if (g->mark[v] == g->stamp) {
			g->repeats++;
			continue;
		}
		g->mark[v] = g->stamp;
		if (k < cap)
			out[k] = v;
		k++;
	}
	return (int)k;
}

static int fgraph_init(fgraph *g, const vl_faiss_hnsw *h)
{
	memset(g, 0, sizeof *g);
	g->h = h;
	g->buf = malloc(((size_t)h->M0 + 1) * sizeof *g->buf);
	g->mark = calloc(h->ntotal ? h->ntotal : 1, sizeof *g->mark);
	return g->buf && g->mark ? CLI_OK : cli_error("out of memory");
}

static void fgraph_free(fgraph *g)
{
	free(g->buf);
	free(g->mark);
}

static void chain_str(const vl_faiss_node *n, char *out, size_t cap)
{
	out[0] = 0;
	for (; n; n = n->child) {
		const char *name = vl_faiss_fourcc_name(n->fourcc);
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", l ? " > " : "", name ? name : "?");
	}
}

/* ---- loading ------------------------------------------------------------------------------ */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

typedef struct fi_stats {
	uint64_t imported, skipped_nonfinite;
	int64_t first_skipped;
	double seconds, commit_seconds;
	int graph_kept;            /* the FAISS graph became the index */
	uint64_t self_links, repeats; /* cleaned out of the kept graph */
} fi_stats;

static int all_finite(const float *v, uint32_t dim)
{
	for (uint32_t i = 0; i < dim; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

/* Hand the graph to the bulk load, unless a row was skipped (then node i
 * would not be row i: the index is built instead). */
static int adopt(vl_bulk *b, vl_store *st, keep_plan *kp, fgraph *fg, const fi_stats *s)
{
	if (!kp->want || !kp->ok)
		return CLI_OK;
	if (s->skipped_nonfinite) {
		no_keep(kp, "%" PRIu64 " vectors with NaN or infinite values were skipped, so its "
		            "nodes no longer match the rows", s->skipped_nonfinite);
		return CLI_OK;
	}
	if (fgraph_init(fg, kp->h))
		return CLI_ERR;
	vl_hnsw_graph g = VL_HNSW_GRAPH_INIT;
	g.M = kp->M;
	g.nodes = kp->h->ntotal;
	g.entry = kp->h->ntotal ? (uint32_t)kp->h->entry_point : 0;
	g.max_level = kp->h->ntotal ? (uint32_t)kp->h->max_level : 0;
	g.ef_construction = kp->h->efConstruction > 0 ? (uint32_t)kp->h->efConstruction : 0;
	g.level = fg_level;
	g.neighbors = fg_neighbors;
	g.ud = fg;
	int vr = vl_bulk_adopt_graph(b, &g);
	return vr ? cli_fail(st, vr, "keeping the HNSW graph") : CLI_OK;
}

/* The file is read once, front to back: give its pages back every 64 MiB
 * of vectors so the import's RSS does not grow by the whole file (they stay
 * in the page cache; the few pages read again fault back in). */
static void release_pages(const mapped *m, uint64_t *since, uint64_t bytes)
{
	*since += bytes;
	if (*since < (64u << 20) || !m->p)
		return;
	madvise(m->p, m->len, MADV_DONTNEED);
	*since = 0;
}

/* The collection an import creates: made by its bulk load (vl_bulk_begin_new),
 * so a failed or killed import leaves none behind. */
typedef struct new_coll {
	vl_schema sc;
	cli_strs params;           /* owns the strings sc.params points to */
	char kv[3][48];
} new_coll;

static int load(const fi_opts *o, const mapped *m, const vl_faiss_index *ix,
                const vl_faiss_vecinfo *vi, keep_plan *kp, vl_store *st, vl_collection *c,
                const new_coll *nc, fi_stats *s)
{
	uint64_t since_release = 0;
	fgraph fg;
	memset(&fg, 0, sizeof fg);
	cli_progress prog;
	cli_progress_init(&prog, o->quiet || o->json);
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = o->threads;
	jo.progress = cli_progress_cb;
	jo.progress_ud = &prog;
	float *vec = malloc((size_t)BATCH * vi->dim * sizeof *vec);
	int64_t *ids = malloc(BATCH * sizeof *ids);
	vl_row *rows = malloc(BATCH * sizeof *rows);
	char(*keys)[24] = malloc(BATCH * sizeof *keys);
	vl_bulk *b = NULL;
	int rc = CLI_OK, vr;
	double t0 = cli_now();
	if (!vec || !ids || !rows || !keys) {
		rc = cli_error("out of memory");
		goto out;
	}
	if ((vr = c ? vl_bulk_begin(c, &jo, &b) : vl_bulk_begin_new(st, o->coll, &nc->sc, &jo, &b))) {
		rc = cli_fail(st, vr, "starting the bulk load");
		goto out;
	}
	s->first_skipped = -1;
	for (uint64_t r = 0; r < vi->count; r += BATCH) {
		if (g_stop) {
			rc = cli_error("interrupted: nothing imported");
			goto out;
		}
		uint64_t n = vi->count - r < BATCH ? vi->count - r : BATCH;
		vl_diag d;
		if ((vr = vl_faiss_read(ix, vi, r, n, vec, ids, &d))) {
			rc = cli_error("%s: %s (%s)", o->file, d.msg, vl_strerror(vr));
			goto out;
		}
		size_t nr = 0;
		for (uint64_t i = 0; i < n; i++) {
			const float *v = vec + i * vi->dim;
			if (!all_finite(v, vi->dim)) {
				if (!s->skipped_nonfinite++)
					s->first_skipped = ids[i];
				continue;
			}
			int kl = snprintf(keys[nr], sizeof keys[nr], "%" PRId64, ids[i]);
			rows[nr] = (vl_row){ .key = keys[nr], .key_len = (size_t)kl, .vector = v,
			                     .dim = vi->dim };
			nr++;
		}
		if (nr && (vr = vl_bulk_add(b, rows, nr))) {
			rc = cli_fail(st, vr, "adding rows");
			goto out;
		}
		s->imported += nr;
		cli_progress_cb(&prog, "read", r + n, vi->count);
		release_pages(m, &since_release, n * vi->dim * sizeof(float));
	}
	if ((rc = adopt(b, st, kp, &fg, s)))
		goto out;
	double tc = cli_now();
	vr = vl_bulk_commit(b);
	b = NULL;
	if (vr) {
		rc = cli_fail(st, vr, "committing the import");
		goto out;
	}
	s->commit_seconds = cli_now() - tc;
	s->graph_kept = kp->want && kp->ok;
	s->self_links = fg.self_links;
	s->repeats = fg.repeats;
out:
	fgraph_free(&fg);
	if (b)
		vl_bulk_abort(b);
	cli_progress_done(&prog);
	s->seconds = cli_now() - t0;
	free(vec);
	free(ids);
	free(rows);
	free(keys);
	return rc;
}

/* ---- the collection ----------------------------------------------------------------------- */

static int has_param(const cli_strs *l, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < l->n; i++)
		if (!strncmp(l->v[i], name, n) && l->v[i][n] == '=')
			return 1;
	return 0;
}

static uint32_t clamp_ef(int32_t v)
{
	return v < 1 ? 1 : v > 65536 ? 65536 : (uint32_t)v;
}

/* A new collection for --keep-graph: hnsw with the file's M, efConstruction
 * and efSearch (the user's --set values for the ef ones win). */
static int keep_schema(const fi_opts *o, const keep_plan *kp, cli_strs *params, char kv[3][48])
{
	if (o->index && strcmp(o->index, "hnsw"))
		return cli_usage_error("--keep-graph makes an hnsw collection: --index %s conflicts",
		                       o->index);
	for (size_t i = 0; i < o->params.n; i++)
		if (cli_strs_push(params, o->params.v[i]))
			return cli_error("out of memory");
	if (kp->M) {
		snprintf(kv[0], 48, "M=%u", kp->M);
		for (size_t i = 0; i < o->params.n; i++)
			if (!strncmp(o->params.v[i], "M=", 2) && strcmp(o->params.v[i], kv[0]) && kp->ok)
				return cli_usage_error("--keep-graph: the FAISS graph has %s, --set %s "
				                       "conflicts", kv[0], o->params.v[i]);
		if (!has_param(&o->params, "M") && cli_strs_push(params, kv[0]))
			return cli_error("out of memory");
	}
	snprintf(kv[1], 48, "EF_CONSTRUCTION=%u", clamp_ef(kp->h->efConstruction));
	snprintf(kv[2], 48, "EF_RUNTIME=%u", clamp_ef(kp->h->efSearch));
	if ((!has_param(&o->params, "EF_CONSTRUCTION") && cli_strs_push(params, kv[1])) ||
	    (!has_param(&o->params, "EF_RUNTIME") && cli_strs_push(params, kv[2])))
		return cli_error("out of memory");
	return CLI_OK;
}

/* An existing collection takes the graph only as hnsw with the same M. */
static int keep_fits(const fi_opts *o, const keep_plan *kp, const vl_info *inf)
{
	if (!kp->want || !kp->ok)
		return CLI_OK;
	char want[48];
	snprintf(want, sizeof want, "M=%u", kp->M);
	int same_m = 0;
	for (size_t i = 0; i < inf->nparams; i++)
		same_m |= !strcmp(inf->params[i], want);
	if (strcmp(inf->index, "hnsw") || !same_m)
		return cli_error("--keep-graph: collection '%s' must use the hnsw index with %s (the "
		                 "FAISS graph's); it uses %s: import into a new collection (-c) or "
		                 "without --keep-graph", o->coll, want, inf->index);
	return CLI_OK;
}

/* Open the collection, or (*created) describe the one the load will create. */
static int open_or_create(const fi_opts *o, const vl_faiss_vecinfo *vi, vl_metric metric,
                          const keep_plan *kp, vl_store *st, vl_collection **c, new_coll *nc,
                          int *created)
{
	*created = 0;
	int vr = vl_collection_open(st, o->coll, c);
	if (vr == VL_ENOTFOUND) {
		vl_schema sc = VL_SCHEMA_INIT;
		cli_strs params = { 0 };
		char(*kv)[48] = nc->kv;
		sc.dim = vi->dim;
		sc.metric = metric;
		sc.index = o->index;
		sc.storage = o->storage;
		sc.params = (const char *const *)o->params.v;
		sc.nparams = o->params.n;
		if (kp->want) {
			int rc = keep_schema(o, kp, &params, kv);
			if (rc) {
				cli_strs_free(&params);
				return rc;
			}
			sc.index = "hnsw";
			sc.params = (const char *const *)params.v;
			sc.nparams = params.n;
		}
		nc->sc = sc;
		nc->params = params; /* freed by the caller */
		*c = NULL;
		*created = 1;
		return CLI_OK;
	}
	if (vr)
		return cli_fail(st, vr, "cannot open collection");
	if (o->index || o->storage || o->params.n)
		return cli_usage_error("collection '%s' exists: --index, --storage and --set apply only "
		                       "to a collection import-faiss creates", o->coll);
	vl_info *inf;
	if ((vr = vl_collection_info(*c, &inf)))
		return cli_fail(st, vr, "info");
	int rc = CLI_OK;
	if (inf->dim != vi->dim)
		rc = cli_error("collection '%s' has dim %u but the FAISS vectors have %u; import into "
		               "another collection (-c)", o->coll, inf->dim, vi->dim);
	else if (inf->metric != metric)
		rc = cli_error("collection '%s' uses metric %s, the FAISS index %s", o->coll,
		               cli_metric_name(inf->metric), cli_metric_name(metric));
	else
		rc = keep_fits(o, kp, inf);
	vl_info_free(inf);
	return rc;
}

static void graph_line(const keep_plan *kp, const fi_stats *s, char *out, size_t cap)
{
	if (!kp->want)
		snprintf(out, cap, "built by veclite");
	else if (!s->graph_kept)
		snprintf(out, cap, "built by veclite: the FAISS graph was not kept because %s",
		         kp->why);
	else if (!kp->h->ntotal)
		snprintf(out, cap, "kept from FAISS (empty, M=%u)", kp->M);
	else
		snprintf(out, cap, "kept from FAISS, no rebuild (M=%u, %d levels, entry node %d, "
		         "efConstruction %d, efSearch %d)%s", kp->M, kp->h->max_level + 1,
		         kp->h->entry_point, kp->h->efConstruction, kp->h->efSearch,
		         s->self_links || s->repeats ? "; self links and repeated neighbours dropped"
		                                    : "");
}

static void summary(const fi_opts *o, const vl_faiss_index *ix, const vl_faiss_vecinfo *vi,
                    const keep_plan *kp, const fi_stats *s, const vl_info *inf, int created)
{
	char graph[512];
	graph_line(kp, s, graph, sizeof graph);
	char chain[512];
	chain_str(vl_faiss_root(ix), chain, sizeof chain);
	const char *space = vi->space == VL_FAISS_SPACE_INPUT ? "input" : "stored";
	if (!o->json) {
		printf("imported %" PRIu64 " vectors into collection '%s'%s in %.2f s (commit %.2f s)\n",
		       s->imported, o->coll, created ? " (created)" : "", s->seconds,
		       s->commit_seconds);
		printf("  faiss: %s, d %u, ntotal %" PRIu64 "\n", chain, vi->input_dim, vi->count);
		printf("  vectors: %s (%s); dim %u in the %s space%s\n", exactness_name(vi->exactness),
		       vi->why ? vi->why : "", vi->dim, space,
		       vi->dim != vi->input_dim ? " (not the index's input dimension)" : "");
		printf("  keys: %s, in decimal\n", vi->ids_kind == 1 ? "IndexIDMap ids"
		                                   : vi->ids_kind == 2 ? "inverted-list ids"
		                                                       : "positions 0..ntotal-1");
		if (inf)
			printf("  collection: metric %s, index %s, storage %s\n",
			       cli_metric_name(inf->metric), inf->index, inf->storage);
		if (inf && (kp->want || !strcmp(inf->index, "hnsw")))
			printf("  graph: %s\n", graph);
		if (s->self_links || s->repeats)
			printf("  graph cleaned: %" PRIu64 " self links and %" PRIu64
			       " repeated neighbours dropped\n", s->self_links, s->repeats);
		if (s->skipped_nonfinite)
			printf("  skipped: %" PRIu64 " vectors with NaN or infinite values (first id %" PRId64
			       ")\n", s->skipped_nonfinite, s->first_skipped);
		return;
	}
	vl_sink j;
	cli_json_begin(&j);
	vl_sink_puts(&j, "{");
	cli_json_key(&j, "collection");
	cli_json_str(&j, o->coll);
	vl_sink_puts(&j, created ? ", \"created\": true, " : ", \"created\": false, ");
	cli_json_key(&j, "imported");
	cli_json_u64(&j, s->imported);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "skipped_nonfinite");
	cli_json_u64(&j, s->skipped_nonfinite);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "chain");
	cli_json_str(&j, chain);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "d");
	cli_json_u64(&j, vi->input_dim);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "dim");
	cli_json_u64(&j, vi->dim);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "space");
	cli_json_str(&j, space);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "exactness");
	cli_json_str(&j, exactness_name(vi->exactness));
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "why");
	cli_json_str(&j, vi->why ? vi->why : "");
	if (inf) {
		vl_sink_puts(&j, ", ");
		cli_json_key(&j, "metric");
		cli_json_str(&j, cli_metric_name(inf->metric));
		vl_sink_puts(&j, ", ");
		cli_json_key(&j, "index");
		cli_json_str(&j, inf->index);
	}
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "graph_kept");
	vl_sink_puts(&j, s->graph_kept ? "true" : "false");
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "graph");
	cli_json_str(&j, graph);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "graph_self_links_dropped");
	cli_json_u64(&j, s->self_links);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "graph_repeats_dropped");
	cli_json_u64(&j, s->repeats);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "commit_seconds");
	cli_json_f64(&j, s->commit_seconds);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "seconds");
	cli_json_f64(&j, s->seconds);
	vl_sink_puts(&j, "}\n");
	cli_json_end(&j);
}

static int import(const fi_opts *o, const mapped *m, vl_faiss_index *ix)
{
	vl_faiss_vecinfo vi;
	vl_diag d;
	int vr = vl_faiss_vectors(ix, o->space, &vi, &d);
	if (vr)
		return cli_error("%s: %s (%s)", o->file, d.msg, vl_strerror(vr));
	vl_metric metric;
	if (vi.metric_type == VL_FAISS_METRIC_L2)
		metric = VL_METRIC_L2;
	else if (vi.metric_type == VL_FAISS_METRIC_IP)
		metric = VL_METRIC_IP;
	else
		return cli_error("%s: FAISS metric type %d has no veclite equivalent (l2, ip)", o->file,
		                 vi.metric_type);
	if (vi.dim == 0 || vi.dim > VL_DIM_MAX)
		return cli_error("%s: dimension %u is outside 1..%u", o->file, vi.dim, VL_DIM_MAX);
	keep_plan kp;
	if (plan_keep(o, &vi, &kp))
		return CLI_ERR;
	vl_store *st = cli_open_store(o->store, VL_OPEN_CREATE);
	if (!st)
		return CLI_ERR;
	vl_collection *c = NULL;
	new_coll nc;
	memset(&nc, 0, sizeof nc);
	int created = 0;
	fi_stats stats;
	memset(&stats, 0, sizeof stats);
	int rc = open_or_create(o, &vi, metric, &kp, st, &c, &nc, &created);
	if (rc == CLI_OK) {
		catch_signals();
		rc = load(o, m, ix, &vi, &kp, st, c, created ? &nc : NULL, &stats);
	}
	cli_strs_free(&nc.params);
	if (rc == CLI_OK && created && (vr = vl_collection_open(st, o->coll, &c)))
		rc = cli_fail(st, vr, "cannot open the imported collection");
	if (rc == CLI_OK && kp.want && !stats.graph_kept)
		fprintf(stderr, "veclite import-faiss: note: --keep-graph: the index was built because "
		        "%s\n", kp.why);
	vl_info *inf = NULL;
	if (rc == CLI_OK && vl_collection_info(c, &inf))
		inf = NULL;
	vl_collection_close(c);
	if (rc == CLI_OK) {
		summary(o, ix, &vi, &kp, &stats, inf, created);
		if (fflush(stdout) != 0)
			rc = cli_error("writing the summary failed");
	}
	vl_info_free(inf);
	vl_close(st);
	return rc;
}

int cmd_import_faiss(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "inspect", no_argument, 0, 'I' },
		{ "space", required_argument, 0, 'S' },      { "keep-graph", no_argument, 0, 'K' },
		{ "index", required_argument, 0, 'i' },      { "storage", required_argument, 0, 's' },
		{ "set", required_argument, 0, 'p' },        { "threads", required_argument, 0, 't' },
		{ "json", no_argument, 0, 'J' },             { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	fi_opts o;
	memset(&o, 0, sizeof o);
	o.coll = CLI_DEFAULT_COLLECTION;
	int c, rc = CLI_OK;
	uint64_t v;
	while ((c = cli_getopt(argc, argv, "c:hq", opts)) != -1 && rc == CLI_OK) {
		switch (c) {
		case 'c': o.coll = optarg; break;
		case 'I': o.inspect = 1; break;
		case 'S':
			if (!strcmp(optarg, "auto"))
				o.space = VL_FAISS_SPACE_AUTO;
			else if (!strcmp(optarg, "input"))
				o.space = VL_FAISS_SPACE_INPUT;
			else if (!strcmp(optarg, "stored"))
				o.space = VL_FAISS_SPACE_STORED;
			else
				rc = cli_usage_error("--space: '%s' is not auto, input or stored", optarg);
			break;
		case 'K': o.keep_graph = 1; break;
		case 'i': o.index = optarg; break;
		case 's': o.storage = optarg; break;
		case 'p': rc = cli_strs_push(&o.params, optarg); break;
		case 't':
			if ((rc = cli_parse_u64("--threads", optarg, 0, 1024, &v)) == CLI_OK)
				o.threads = (uint32_t)v;
			break;
		case 'J': o.json = 1; break;
		case 'q': o.quiet = 1; break;
		case 'h': help(); cli_strs_free(&o.params); return CLI_OK;
		default: rc = CLI_USAGE; break;
		}
	}
	if (rc != CLI_OK)
		goto out;
	int want = o.inspect ? 1 : 2;
	if (argc - optind != want) {
		rc = cli_usage_error(o.inspect ? "--inspect takes one FILE" : "expected FILE STORE");
		goto out;
	}
	o.file = argv[optind];
	o.store = o.inspect ? NULL : argv[optind + 1];
	mapped m = { 0 }, data = { 0 };
	vl_faiss_index *ix = NULL;
	rc = open_index(&o, &m, &data, &ix);
	if (rc == CLI_OK && o.inspect) {
		if (vl_faiss_inspect(ix, stdout, o.json ? VL_FAISS_INSPECT_JSON : VL_FAISS_INSPECT_TEXT) ||
		    fflush(stdout) != 0)
			rc = cli_error("writing the report failed");
	} else if (rc == CLI_OK) {
		rc = import(&o, &m, ix);
	}
	vl_faiss_close(ix);
	unmap_file(&data);
	unmap_file(&m);
out:
	cli_strs_free(&o.params);
	return rc;
}
