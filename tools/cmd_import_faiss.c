/*
 * cmd_import_faiss.c - veclite import-faiss: a FAISS index file into a
 * collection, or --inspect it. The file is mapped and read by format/faiss/
 * (no FAISS library); vectors go in through one bulk load, so a failed or
 * interrupted import leaves the store as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "faiss/vl_faiss.h"

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
	       "      --keep-graph         keep an HNSW graph instead of building the index\n"
	       "                           (not available yet)\n"
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
} fi_stats;

static int all_finite(const float *v, uint32_t dim)
{
	for (uint32_t i = 0; i < dim; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

static int load(const fi_opts *o, const vl_faiss_index *ix, const vl_faiss_vecinfo *vi,
                vl_store *st, vl_collection *c, fi_stats *s)
{
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
	if ((vr = vl_bulk_begin(c, &jo, &b))) {
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
	}
	double tc = cli_now();
	vr = vl_bulk_commit(b);
	b = NULL;
	if (vr) {
		rc = cli_fail(st, vr, "committing the import");
		goto out;
	}
	s->commit_seconds = cli_now() - tc;
out:
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

static int open_or_create(const fi_opts *o, const vl_faiss_vecinfo *vi, vl_metric metric,
                          vl_store *st, vl_collection **c, int *created)
{
	*created = 0;
	int vr = vl_collection_open(st, o->coll, c);
	if (vr == VL_ENOTFOUND) {
		vl_schema sc = VL_SCHEMA_INIT;
		sc.dim = vi->dim;
		sc.metric = metric;
		sc.index = o->index;
		sc.storage = o->storage;
		sc.params = (const char *const *)o->params.v;
		sc.nparams = o->params.n;
		if ((vr = vl_collection_create(st, o->coll, &sc, c)))
			return cli_fail(st, vr, "creating the collection");
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
	vl_info_free(inf);
	return rc;
}

static void summary(const fi_opts *o, const vl_faiss_index *ix, const vl_faiss_vecinfo *vi,
                    const fi_stats *s, const vl_info *inf, int created)
{
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
	cli_json_key(&j, "seconds");
	cli_json_f64(&j, s->seconds);
	vl_sink_puts(&j, "}\n");
	cli_json_end(&j);
}

static int import(const fi_opts *o, vl_faiss_index *ix)
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
	if (o->keep_graph)
		return cli_error("--keep-graph is not available yet (the engine cannot adopt a "
		                 "FAISS HNSW graph); import without it to build the index");
	vl_store *st = cli_open_store(o->store, VL_OPEN_CREATE);
	if (!st)
		return CLI_ERR;
	vl_collection *c = NULL;
	int created = 0;
	fi_stats stats;
	memset(&stats, 0, sizeof stats);
	int rc = open_or_create(o, &vi, metric, st, &c, &created);
	if (rc == CLI_OK) {
		catch_signals();
		rc = load(o, ix, &vi, st, c, &stats);
	}
	vl_info *inf = NULL;
	if (rc == CLI_OK && vl_collection_info(c, &inf))
		inf = NULL;
	vl_collection_close(c);
	if (rc != CLI_OK && created && (vr = vl_collection_drop(st, o->coll)))
		cli_fail(st, vr, "dropping the collection this import created");
	if (rc == CLI_OK) {
		summary(o, ix, &vi, &stats, inf, created);
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
		rc = import(&o, ix);
	}
	vl_faiss_close(ix);
	unmap_file(&data);
	unmap_file(&m);
out:
	cli_strs_free(&o.params);
	return rc;
}
