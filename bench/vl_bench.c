/*
 * vl_bench.c - veclite benchmark driver; uses the public API (veclite.h) only.
 *
 *   vl_bench build  STORE BASE.fvecs [-index KIND] [-storage TYPE] [-p NAME=VALUE]...
 *                   [-t threads] [-n rows] [-m l2|ip] [-attrs] [-load bulk|txn]
 *   vl_bench search STORE QUERY.fvecs GT.ivecs [-sparam NAME] [-values 10,20,..]
 *                   [-t 1,2] [-k 10] [-q rows] [-min-time s] [-batch]
 *   vl_bench cold   STORE QUERY.fvecs
 *
 * build creates STORE (a directory that must not exist), bulk-loads the base
 * rows with keys "0", "1", ... (the row number in decimal, so hits map back
 * to ground-truth ids), and commits. -attrs adds the LlamaIndex-like text
 * fields of bench_row_fields() to every row, as the Redis loader does.
 * search sweeps one runtime parameter; with -t N > 1, N threads share the
 * collection handle and call vl_search (or one vl_search_batch with -batch).
 * cold measures a fresh process: vl_open + vl_collection_open + one search.
 *
 * Exit status: 0 ok, 1 error, 2 usage, 3 the build does not support the
 * requested index kind / storage type (bench/run reports those as skipped).
 */
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "bench_util.h"
#include "veclite.h"

#define COLL "bench"
#define MAX_PARAMS 32
#define MAX_LIST 64
#define EXIT_UNSUPPORTED 3

typedef struct args {
	const char *pos[4];
	int npos;
	const char *index, *storage, *sparam, *load;
	const char *params[MAX_PARAMS];
	size_t nparams;
	size_t values[MAX_LIST], nvalues;
	size_t threads[MAX_LIST], nthreads;
	size_t n, q, k;
	double min_time;
	int ip, attrs, batch;
} args;

static size_t parse_list(const char *s, size_t *out)
{
	size_t n = 0;
	while (*s && n < MAX_LIST) {
		char *end;
		out[n++] = strtoull(s, &end, 10);
		s = *end ? end + 1 : end;
	}
	return n;
}

static size_t ncpu(void) { return (size_t)sysconf(_SC_NPROCESSORS_ONLN); }

static int parse_args(int argc, char **argv, args *a)
{
	memset(a, 0, sizeof *a);
	a->k = 10;
	a->min_time = 0.5;
	a->threads[0] = 1;
	a->nthreads = 1;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;
		if (!strcmp(o, "-attrs"))
			a->attrs = 1, takes = 0;
		else if (!strcmp(o, "-batch"))
			a->batch = 1, takes = 0;
		else if (o[0] != '-') {
			if (a->npos == 4)
				return -1;
			a->pos[a->npos++] = o;
			takes = 0;
		} else if (!v)
			return -1;
		else if (!strcmp(o, "-index"))
			a->index = v;
		else if (!strcmp(o, "-storage"))
			a->storage = v;
		else if (!strcmp(o, "-load"))
			a->load = v;
		else if (!strcmp(o, "-sparam"))
			a->sparam = v;
		else if (!strcmp(o, "-p") && a->nparams < MAX_PARAMS)
			a->params[a->nparams++] = v;
		else if (!strcmp(o, "-values"))
			a->nvalues = parse_list(v, a->values);
		else if (!strcmp(o, "-t"))
			a->nthreads = parse_list(v, a->threads);
		else if (!strcmp(o, "-n"))
			a->n = strtoull(v, NULL, 10);
		else if (!strcmp(o, "-q"))
			a->q = strtoull(v, NULL, 10);
		else if (!strcmp(o, "-k"))
			a->k = strtoull(v, NULL, 10);
		else if (!strcmp(o, "-min-time"))
			a->min_time = atof(v);
		else if (!strcmp(o, "-m"))
			a->ip = !strcmp(v, "ip");
		else
			return -1;
		i += takes;
	}
	for (size_t i = 0; i < a->nthreads; i++)
		if (a->threads[i] == 0)
			a->threads[i] = ncpu();
	return 0;
}

static int fail(const vl_store *st, const char *what, int rc)
{
	fprintf(stderr, "vl_bench: %s: %s (%s)\n", what, vl_strerror(rc), vl_errmsg(st));
	return 1;
}

/* ------------------------------------------------------------------ */
/* build                                                                */
/* ------------------------------------------------------------------ */
#define BATCH 1000

/* Keys and (with -attrs) attribute values of one batch of rows. */
typedef struct batch_buf {
	vl_row rows[BATCH];
	char keys[BATCH][24];
	vl_value values[BATCH][BENCH_NFIELDS];
	char *text;      /* BATCH * BENCH_ROW_CAP */
} batch_buf;

static void fill_batch(batch_buf *b, const bench_mat *base, size_t r0, size_t n, int attrs)
{
	for (size_t i = 0; i < n; i++) {
		size_t r = r0 + i;
		vl_row *row = &b->rows[i];
		row->key_len = (size_t)snprintf(b->keys[i], sizeof b->keys[i], "%zu", r);
		row->key = b->keys[i];
		row->vector = (const float *)base->data + r * base->dim;
		row->dim = (uint32_t)base->dim;
		row->values = NULL;
		row->nvalues = 0;
		if (!attrs)
			continue;
		bench_field f[BENCH_NFIELDS];
		bench_row_fields(r, f, b->text + i * BENCH_ROW_CAP);
		for (size_t j = 0; j < BENCH_NFIELDS; j++)
			b->values[i][j] = (vl_value){f[j].name, f[j].value, f[j].len, 0};
		row->values = b->values[i];
		row->nvalues = BENCH_NFIELDS;
	}
}

static int create_collection(vl_store *st, const args *a, size_t dim, vl_collection **c)
{
	vl_field fields[BENCH_NFIELDS];
	bench_field names[BENCH_NFIELDS];
	char scratch[BENCH_ROW_CAP];
	bench_row_fields(0, names, scratch);
	for (size_t i = 0; i < BENCH_NFIELDS; i++)
		fields[i] = (vl_field){names[i].name, VL_FIELD_TEXT};
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = (uint32_t)dim;
	s.metric = a->ip ? VL_METRIC_IP : VL_METRIC_L2;
	s.storage = a->storage;
	s.index = a->index;
	s.params = a->params;
	s.nparams = a->nparams;
	s.fields = a->attrs ? fields : NULL;
	s.nfields = a->attrs ? BENCH_NFIELDS : 0;
	int rc = vl_collection_create(st, COLL, &s, c);
	if (rc == VL_EINVAL || rc == VL_EUNSUPPORTED) {
		/* reason= runs to the end of the line (it holds spaces). */
		printf("SKIP engine=veclite index=%s storage=%s reason=%s: %s\n",
		       a->index ? a->index : "default", a->storage ? a->storage : "default",
		       vl_strerror(rc), vl_errmsg(st));
		return EXIT_UNSUPPORTED;
	}
	return rc ? fail(st, "vl_collection_create", rc) : 0;
}

/* Load through vl_bulk_* (one transaction, segments written directly). */
static int load_bulk(vl_collection *c, vl_store *st, const bench_mat *base, const args *a,
                     batch_buf *b, const vl_job_opts *jo)
{
	vl_bulk *bulk;
	int rc = vl_bulk_begin(c, jo, &bulk);
	if (rc)
		return fail(st, "vl_bulk_begin", rc);
	for (size_t r0 = 0; r0 < base->n; r0 += BATCH) {
		size_t n = base->n - r0 < BATCH ? base->n - r0 : BATCH;
		fill_batch(b, base, r0, n, a->attrs);
		if ((rc = vl_bulk_add(bulk, b->rows, n))) {
			vl_bulk_abort(bulk);
			return fail(st, "vl_bulk_add", rc);
		}
	}
	if ((rc = vl_bulk_commit(bulk)))
		return fail(st, "vl_bulk_commit", rc);
	return 0;
}

/* Fallback: one write transaction per batch, then flush the write buffer. */
static int load_txns(vl_collection *c, vl_store *st, const bench_mat *base, const args *a,
                     batch_buf *b, const vl_job_opts *jo)
{
	for (size_t r0 = 0; r0 < base->n; r0 += BATCH) {
		size_t n = base->n - r0 < BATCH ? base->n - r0 : BATCH;
		fill_batch(b, base, r0, n, a->attrs);
		vl_txn *txn;
		int rc = vl_txn_begin(st, &txn);
		if (rc)
			return fail(st, "vl_txn_begin", rc);
		if ((rc = vl_upsert(txn, c, b->rows, n))) {
			vl_txn_abort(txn);
			return fail(st, "vl_upsert", rc);
		}
		if ((rc = vl_txn_commit(txn)))
			return fail(st, "vl_txn_commit", rc);
	}
	int rc = vl_flush(c, jo);
	return rc ? fail(st, "vl_flush", rc) : 0;
}

static int load_rows(vl_collection *c, vl_store *st, const bench_mat *base, const args *a,
                     size_t threads, const char **how)
{
	batch_buf *b = calloc(1, sizeof *b);
	char *text = a->attrs ? malloc((size_t)BATCH * BENCH_ROW_CAP) : NULL;
	if (!b || (a->attrs && !text)) {
		fprintf(stderr, "vl_bench: out of memory\n");
		return 1;
	}
	b->text = text;
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = (uint32_t)threads;
	int use_bulk = !(a->load && !strcmp(a->load, "txn"));
	*how = use_bulk ? "bulk" : "txn+flush";
	int rc = use_bulk ? load_bulk(c, st, base, a, b, &jo) : load_txns(c, st, base, a, b, &jo);
	free(text);
	free(b);
	return rc;
}

static uint64_t g_dir_bytes;

static int add_file_size(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	if (type == FTW_F)   /* allocated bytes: LMDB's file may be sparse */
		g_dir_bytes += (uint64_t)sb->st_blocks * 512;
	return 0;
}

/* Disk bytes of all files under dir (the store, LMDB included). */
static uint64_t dir_bytes(const char *dir)
{
	g_dir_bytes = 0;
	nftw(dir, add_file_size, 16, FTW_PHYS);
	return g_dir_bytes;
}

/* "A=1,B=2" from the resolved parameters, for the config column. */
static void describe_config(const vl_info *in, char *buf, size_t cap)
{
	size_t pos = (size_t)snprintf(buf, cap, "%s/%s", in->index, in->storage);
	for (size_t i = 0; i < in->nparams && pos < cap; i++)
		pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", i ? "," : ":", in->params[i]);
	for (char *p = buf; *p; p++)
		if (*p == ' ')
			*p = '_';
}

static int do_build(const args *a)
{
	if (a->npos != 2)
		return 2;
	bench_mat base;
	if (bench_read_vecs(a->pos[1], a->n, &base))
		return 1;
	size_t threads = a->threads[0];
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_CREATE;
	vl_store *st;
	vl_collection *c;
	const char *how;
	double t0 = bench_now();
	int rc = vl_open(a->pos[0], &oo, &st);
	if (rc)
		return fail(NULL, "vl_open", rc);
	if ((rc = create_collection(st, a, base.dim, &c)))
		return rc;
	if ((rc = load_rows(c, st, &base, a, threads, &how)))
		return rc;
	double build_s = bench_now() - t0;
	char config[1024] = "";
	uint64_t disk = 0, rows = 0;
	unsigned segments = 0;
	vl_info *in = NULL;
	if ((rc = vl_collection_info(c, &in)))
		return fail(st, "vl_collection_info", rc);
	if (in) {
		describe_config(in, config, sizeof config);
		disk = in->disk_bytes;
		rows = in->rows;
		segments = in->segments;
		for (size_t i = 0; i < in->nsections; i++)
			fprintf(stderr, "  section %-10s %12llu bytes\n", in->sections[i].name,
			        (unsigned long long)in->sections[i].bytes);
		vl_info_free(in);
	} else {
		snprintf(config, sizeof config, "%s/%s", a->index ? a->index : "default",
		         a->storage ? a->storage : "default");
	}
	uint64_t hwm = bench_hwm_kb();
	vl_collection_close(c);
	vl_close(st);
	uint64_t on_disk = dir_bytes(a->pos[0]);
	printf("RESULT kind=build engine=veclite index=%s config=%s n=%zu dim=%zu threads=%zu "
	       "build_s=%.3f vps=%.1f index_bytes=%llu bytes_per_vec=%.1f disk_bytes_info=%llu "
	       "peak_rss_kb=%llu rows=%llu segments=%u attrs=%d load=%s\n",
	       a->index ? a->index : "default", config, base.n, base.dim, threads, build_s,
	       base.n / build_s, (unsigned long long)on_disk, (double)on_disk / base.n,
	       (unsigned long long)disk, (unsigned long long)hwm, (unsigned long long)rows, segments,
	       a->attrs, how);
	free(base.data);
	return 0;
}

/* ------------------------------------------------------------------ */
/* search                                                               */
/* ------------------------------------------------------------------ */
typedef struct sweep {
	vl_collection *c;
	vl_store *st;
	const bench_mat *qs, *gt;
	const vl_search_opts *so;
	double *lat_us, *recall;
	atomic_size_t next;
	atomic_int err;
} sweep;

static double hit_recall(const vl_results *r, const int32_t *truth, size_t k)
{
	int64_t ids[256];
	size_t n = r->n < 256 ? r->n : 256;
	for (size_t i = 0; i < n; i++) {
		char key[32];
		size_t kl = r->hits[i].key_len < 31 ? r->hits[i].key_len : 31;
		memcpy(key, r->hits[i].key, kl);
		key[kl] = 0;
		ids[i] = strtoll(key, NULL, 10);
	}
	return bench_recall(ids, n, truth, k);
}

static void *sweep_worker(void *arg)
{
	sweep *S = arg;
	const float *Q = S->qs->data;
	const int32_t *G = S->gt->data;
	for (size_t i; (i = atomic_fetch_add(&S->next, 1)) < S->qs->n;) {
		vl_results *r;
		double t0 = bench_now();
		int rc = vl_search(S->c, Q + i * S->qs->dim, (uint32_t)S->qs->dim, S->so, &r);
		S->lat_us[i] = (bench_now() - t0) * 1e6;
		if (rc) {
			fail(S->st, "vl_search", rc);
			atomic_store(&S->err, 1);
			return NULL;
		}
		S->recall[i] = hit_recall(r, G + i * S->gt->dim, S->so->k);
		vl_results_free(r);
	}
	return NULL;
}

/* One pass over the queries; returns seconds or -1. */
static double run_pass(sweep *S, size_t threads, int batch)
{
	atomic_store(&S->next, 0);
	double t0 = bench_now();
	if (batch) {
		vl_results **out = calloc(S->qs->n, sizeof *out);
		vl_search_opts so = *S->so;
		so.threads = (uint32_t)threads;
		int rc = out ? vl_search_batch(S->c, S->qs->data, S->qs->n, (uint32_t)S->qs->dim, &so, out) : VL_ENOMEM;
		double secs = bench_now() - t0;
		for (size_t i = 0; out && i < S->qs->n; i++) {
			if (!rc)
				S->recall[i] = hit_recall(out[i], (const int32_t *)S->gt->data + i * S->gt->dim,
				                          so.k);
			S->lat_us[i] = secs * 1e6 / (double)S->qs->n;
			vl_results_free(out[i]);
		}
		free(out);
		return rc ? (fail(S->st, "vl_search_batch", rc), -1.0) : secs;
	}
	pthread_t tids[MAX_LIST * 4];
	size_t nt = threads < MAX_LIST * 4 ? threads : MAX_LIST * 4;
	if (nt <= 1) {
		sweep_worker(S);
	} else {
		for (size_t t = 0; t < nt; t++)
			pthread_create(&tids[t], NULL, sweep_worker, S);
		for (size_t t = 0; t < nt; t++)
			pthread_join(tids[t], NULL);
	}
	double secs = bench_now() - t0;
	return atomic_load(&S->err) ? -1.0 : secs;
}

static int open_collection(const char *dir, vl_store **st, vl_collection **c)
{
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_RDONLY;
	int rc = vl_open(dir, &oo, st);
	if (rc)
		return fail(NULL, "vl_open", rc);
	if ((rc = vl_collection_open(*st, COLL, c)))
		return fail(*st, "vl_collection_open", rc);
	return 0;
}

static int sweep_one(sweep *S, const args *a, size_t threads, const char *sparam)
{
	double secs = run_pass(S, threads, a->batch);
	if (secs < 0)
		return 1;
	double rec = 0;
	for (size_t i = 0; i < S->qs->n; i++)
		rec += S->recall[i];
	rec /= (double)S->qs->n;
	size_t passes = 1;
	double p50 = bench_percentile(S->lat_us, S->qs->n, 50);
	double p95 = bench_percentile(S->lat_us, S->qs->n, 95);
	double p99 = bench_percentile(S->lat_us, S->qs->n, 99);
	while (secs < a->min_time) {
		double s = run_pass(S, threads, a->batch);
		if (s < 0)
			return 1;
		secs += s;
		passes++;
	}
	printf("RESULT kind=search engine=veclite index=%s threads=%zu sparam=%s k=%zu nq=%zu "
	       "recall=%.4f qps=%.1f p50_us=%.1f p95_us=%.1f p99_us=%.1f passes=%zu mode=%s\n",
	       a->index ? a->index : "default", threads, sparam, a->k, S->qs->n, rec,
	       (double)(passes * S->qs->n) / secs, p50, p95, p99, passes,
	       a->batch ? "batch" : "threads");
	fflush(stdout);
	return 0;
}

static int do_search(const args *a)
{
	if (a->npos != 3)
		return 2;
	bench_mat qs, gt;
	if (bench_read_vecs(a->pos[1], a->q, &qs) || bench_read_vecs(a->pos[2], a->q, &gt))
		return 1;
	if (gt.n < qs.n || gt.dim < a->k) {
		fprintf(stderr, "vl_bench: ground truth has too few rows or columns\n");
		return 1;
	}
	vl_store *st;
	vl_collection *c;
	if (open_collection(a->pos[0], &st, &c))
		return 1;
	sweep S = {c, st, &qs, &gt, NULL, calloc(qs.n, sizeof(double)), calloc(qs.n, sizeof(double)),
	           0, 0};
	if (!S.lat_us || !S.recall)
		return 1;
	size_t nvalues = a->sparam && a->nvalues ? a->nvalues : 1;
	int rc = 0;
	for (size_t t = 0; t < a->nthreads && !rc; t++) {
		for (size_t v = 0; v < nvalues && !rc; v++) {
			char param[128] = "default";
			const char *plist[1] = {param};
			vl_search_opts so = VL_SEARCH_OPTS_INIT;
			so.k = (uint32_t)a->k;
			if (a->sparam && a->nvalues) {
				snprintf(param, sizeof param, "%s=%zu", a->sparam, a->values[v]);
				so.params = plist;
				so.nparams = 1;
			}
			S.so = &so;
			rc = sweep_one(&S, a, a->threads[t], param);
		}
	}
	free(S.lat_us);
	free(S.recall);
	vl_collection_close(c);
	vl_close(st);
	return rc;
}

/* ------------------------------------------------------------------ */
/* cold start                                                           */
/* ------------------------------------------------------------------ */
static int do_cold(const args *a)
{
	if (a->npos != 2)
		return 2;
	bench_mat qs;
	if (bench_read_vecs(a->pos[1], 1, &qs))
		return 1;
	uint64_t rss0 = bench_rss_kb();
	double t0 = bench_now();
	vl_store *st;
	vl_collection *c;
	if (open_collection(a->pos[0], &st, &c))
		return 1;
	double t_open = bench_now() - t0;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	vl_results *r;
	int rc = vl_search(c, qs.data, (uint32_t)qs.dim, &so, &r);
	double total = bench_now() - t0;
	if (rc)
		return fail(st, "vl_search", rc);
	printf("RESULT kind=cold engine=veclite index=%s open_ms=%.2f first_query_ms=%.3f "
	       "total_ms=%.2f rss_kb=%llu rss_anon_kb=%llu rss_file_kb=%llu hwm_kb=%llu "
	       "base_rss_kb=%llu hits=%zu\n",
	       a->index ? a->index : "default", t_open * 1e3, (total - t_open) * 1e3, total * 1e3,
	       (unsigned long long)bench_rss_kb(), (unsigned long long)bench_anon_kb(),
	       (unsigned long long)bench_file_kb(), (unsigned long long)bench_hwm_kb(),
	       (unsigned long long)rss0, r->n);
	vl_results_free(r);
	vl_collection_close(c);
	vl_close(st);
	free(qs.data);
	return 0;
}

int main(int argc, char **argv)
{
	args a;
	if (argc < 2 || parse_args(argc, argv, &a)) {
		fprintf(stderr, "usage: vl_bench build|search|cold ... (see bench/vl_bench.c)\n");
		return 2;
	}
	int rc = 2;
	if (!strcmp(argv[1], "build"))
		rc = do_build(&a);
	else if (!strcmp(argv[1], "search"))
		rc = do_search(&a);
	else if (!strcmp(argv[1], "cold"))
		rc = do_cold(&a);
	if (rc == 2)
		fprintf(stderr, "usage: vl_bench build|search|cold ... (see bench/vl_bench.c)\n");
	return rc;
}
