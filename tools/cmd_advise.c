/*
 * cmd_advise.c - veclite advise: which storage type to use.
 *
 *   veclite advise --dim D [--priority P] [--json]
 *       the rule-based advice (RedisVL's CompressionAdvisor rules, checked
 *       against veclite's row sizes) with Vamana parameters;
 *   veclite advise (STORE | VECTOR_FILE) [options]
 *       measures every storage type on the user's own vectors: bytes per
 *       vector, recall@k against exact search on held-back sample queries
 *       (primary level alone and re-ranked), single-thread scan speed; then
 *       a table and a recommendation per priority.
 * The logic is in engine/quant/advise.c; this file reads input and prints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "quant/advise.h"
#include "vecfile.h"

int cmd_advise(int argc, char **argv);

#define DEFAULT_LIMIT 100000u
#define MAX_TYPES (VL_ADVISE_MAX_TYPES - 1)

static void help_advise(void)
{
	printf("usage: veclite advise --dim D [--priority memory|balanced|speed] [--json]\n"
	       "       veclite advise STORE|VECTOR_FILE [options]\n\n"
	       "With --dim: the rule-based recommendation (RedisVL CompressionAdvisor rules: LVQ\n"
	       "below 1024 dims, LeanVec from 1024) and Vamana index parameters.\n\n"
	       "With a store or a vector file (.fvecs .bvecs .npy IDX JSON Lines): every storage\n"
	       "type is trained and encoded on the vectors, sample queries are held back, and\n"
	       "the table shows bytes per vector, recall@k against exact search (primary level\n"
	       "alone, and after re-ranking k x oversample candidates), one-thread scan speed,\n"
	       "then the recommendation for each priority.\n\n"
	       "options:\n"
	       "  -c, --collection NAME   collection of STORE (default: the only one, or 'default')\n"
	       "      --metric M          l2, ip or cosine (vector files; default l2)\n"
	       "      --priority P        memory, balanced (default) or speed\n"
	       "      --limit N           read at most N vectors (default %u)\n"
	       "      --queries N         held-back sample queries (default 200)\n"
	       "  -k N                    recall@N (default 10)\n"
	       "      --oversample N      re-rank k x N candidates (default 4)\n"
	       "      --target-recall R   re-ranked recall a type must reach (default 0.95)\n"
	       "      --types A,B,...     candidate storage types (default: all)\n"
	       "      --param NAME=VALUE  storage parameter (TRAINING_THRESHOLD, REDUCE), repeatable\n"
	       "      --json              machine-readable output\n"
	       "  -q, --quiet             no progress on stderr\n",
	       DEFAULT_LIMIT);
}

typedef struct advise_args {
	uint32_t dim;
	int priority;
	int json, quiet;
	const char *source, *collection;
	vl_metric metric;
	int metric_set;
	uint64_t limit, queries, k, oversample;
	double target;
	char *types_buf;
	const char *types[MAX_TYPES];
	size_t ntypes;
	cli_strs params;
} advise_args;

static int split_types(advise_args *a, const char *s)
{
	free(a->types_buf);
	a->types_buf = strdup(s);
	if (!a->types_buf)
		return cli_error("out of memory");
	a->ntypes = 0;
	for (char *save = NULL, *t = strtok_r(a->types_buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (a->ntypes == MAX_TYPES)
			return cli_usage_error("--types: at most %d types", MAX_TYPES);
		if (vl_advise_row_bytes(t, 8, 0) == 0)
			return cli_usage_error("--types: unknown storage type '%s'", t);
		a->types[a->ntypes++] = t;
	}
	return a->ntypes ? CLI_OK : cli_usage_error("--types: empty list");
}

static int parse_args(int argc, char **argv, advise_args *a)
{
	enum { O_DIM = 256, O_PRIO, O_JSON, O_METRIC, O_LIMIT, O_QUERIES, O_OVER, O_TARGET, O_TYPES,
	       O_PARAM, O_HELP };
	static const struct option lo[] = {
		{ "dim", required_argument, NULL, O_DIM },
		{ "priority", required_argument, NULL, O_PRIO },
		{ "json", no_argument, NULL, O_JSON },
		{ "collection", required_argument, NULL, 'c' },
		{ "metric", required_argument, NULL, O_METRIC },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "queries", required_argument, NULL, O_QUERIES },
		{ "oversample", required_argument, NULL, O_OVER },
		{ "target-recall", required_argument, NULL, O_TARGET },
		{ "types", required_argument, NULL, O_TYPES },
		{ "param", required_argument, NULL, O_PARAM },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t u;
	int c, rc;
	while ((c = cli_getopt(argc, argv, "c:k:qh", lo)) != -1) {
		switch (c) {
		case O_DIM:
			if ((rc = cli_parse_u64("--dim", optarg, 1, VL_DIM_MAX, &u)))
				return rc;
			a->dim = (uint32_t)u;
			break;
		case O_PRIO:
			if ((a->priority = vl_advise_parse_priority(optarg)) < 0)
				return cli_usage_error("--priority: '%s' is not memory, balanced or speed", optarg);
			break;
		case O_JSON: a->json = 1; break;
		case 'q': a->quiet = 1; break;
		case 'c': a->collection = optarg; break;
		case O_METRIC:
			if ((rc = cli_parse_metric(optarg, &a->metric)))
				return rc;
			a->metric_set = 1;
			break;
		case O_LIMIT:
			if ((rc = cli_parse_u64("--limit", optarg, 2, UINT32_MAX, &a->limit)))
				return rc;
			break;
		case O_QUERIES:
			if ((rc = cli_parse_u64("--queries", optarg, 1, 100000, &a->queries)))
				return rc;
			break;
		case 'k':
			if ((rc = cli_parse_u64("-k", optarg, 1, 1000, &a->k)))
				return rc;
			break;
		case O_OVER:
			if ((rc = cli_parse_u64("--oversample", optarg, 1, 1000, &a->oversample)))
				return rc;
			break;
		case O_TARGET:
			if ((rc = cli_parse_f64("--target-recall", optarg, &a->target)))
				return rc;
			if (!(a->target > 0 && a->target <= 1))
				return cli_usage_error("--target-recall: %s is not in (0, 1]", optarg);
			break;
		case O_TYPES:
			if ((rc = split_types(a, optarg)))
				return rc;
			break;
		case O_PARAM: {
			if (!strchr(optarg, '='))
				return cli_usage_error("--param: expected NAME=VALUE, got '%s'", optarg);
			char *kv = strdup(optarg);
			if (!kv || cli_strs_push(&a->params, kv)) {
				free(kv);
				return cli_error("out of memory");
			}
			break;
		}
		case O_HELP:
		case 'h': help_advise(); return -1;
		default: return CLI_USAGE;
		}
	}
	if (optind < argc)
		a->source = argv[optind++];
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!a->dim && !a->source)
		return cli_usage_error("give --dim D, or a store or vector file to measure");
	if (a->dim && a->source)
		return cli_usage_error("--dim and a data source exclude each other");
	return CLI_OK;
}

/* ---- input ------------------------------------------------------------------- */

typedef struct vecs {
	float *v;
	size_t n, cap;
	uint32_t dim;
	vl_metric metric;
} vecs;

static int vecs_push(vecs *b, const float *x)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 1024;
		float *p = realloc(b->v, cap * b->dim * sizeof *p);
		if (!p)
			return cli_error("out of memory after %zu vectors", b->n);
		b->v = p;
		b->cap = cap;
	}
	memcpy(b->v + b->n * b->dim, x, b->dim * sizeof *x);
	b->n++;
	return CLI_OK;
}

static int read_store(const advise_args *a, vecs *b)
{
	vl_store *st = cli_open_store(a->source, VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	int rc = CLI_ERR;
	vl_collection *c = NULL;
	vl_info *inf = NULL;
	vl_cursor *cur = NULL;
	const char *name = a->collection;
	char **names = NULL;
	size_t nnames = 0;
	if (!name) {
		int r = vl_collection_list(st, &names, &nnames);
		if (r) {
			rc = cli_fail(st, r, "list collections");
			goto out;
		}
		name = nnames == 1 ? names[0] : CLI_DEFAULT_COLLECTION;
	}
	if (!(c = cli_open_coll(st, name)))
		goto out;
	int r = vl_collection_info(c, &inf);
	if (r || (r = vl_cursor_open(c, &cur))) {
		rc = cli_fail(st, r, name);
		goto out;
	}
	b->dim = inf->dim;
	b->metric = a->metric_set ? a->metric : inf->metric;
	uint64_t limit = a->limit ? a->limit : DEFAULT_LIMIT;
	const vl_record *rec;
	while (b->n < limit && (r = vl_cursor_next(cur, &rec)) == VL_OK && rec)
		if (vecs_push(b, rec->vector))
			goto out;
	if (r) {
		rc = cli_fail(st, r, "read rows");
		goto out;
	}
	rc = CLI_OK;
out:
	vl_cursor_close(cur);
	vl_info_free(inf);
	vl_collection_close(c);
	vl_free(names);
	vl_close(st);
	return rc;
}

static int read_file(const advise_args *a, vecs *b)
{
	vl_vecfile *vf;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_vecfile_open(a->source, NULL, &vf, &d))
		return cli_error("%s", d.msg);
	const vl_vecfile_info *info = vl_vecfile_info_get(vf);
	if (info->int_rows) {
		vl_vecfile_close(vf);
		return cli_error("%s: .ivecs holds ids, not vectors", a->source);
	}
	b->dim = info->dim;
	b->metric = a->metric_set ? a->metric : VL_METRIC_L2;
	uint64_t limit = a->limit ? a->limit : DEFAULT_LIMIT;
	float *chunk = malloc(256 * (size_t)b->dim * sizeof *chunk);
	int rc = chunk ? CLI_OK : cli_error("out of memory");
	while (rc == CLI_OK && b->n < limit) {
		size_t got = 0;
		int r = vl_vecfile_next(vf, chunk, 256, &got, &d);
		if (r) {
			rc = cli_error("%s", d.msg);
			break;
		}
		if (!got)
			break;
		for (size_t i = 0; i < got && b->n < limit && rc == CLI_OK; i++)
			rc = vecs_push(b, chunk + i * b->dim);
	}
	free(chunk);
	vl_vecfile_close(vf);
	return rc;
}

/* ---- output -------------------------------------------------------------------- */

static void print_rule(const vl_advice *r, const char *prefix)
{
	printf("%s%s", prefix, r->storage);
	if (r->reduce)
		printf(" REDUCE=%u", r->reduce);
	printf(", index %s GRAPH_MAX_DEGREE=%u CONSTRUCTION_WINDOW_SIZE=%u SEARCH_WINDOW_SIZE=%u\n",
	       r->index, r->graph_max_degree, r->construction_window_size, r->search_window_size);
}

static void rules_text(uint32_t dim, int prio)
{
	vl_advice r;
	vl_advise_rules(dim, (vl_advise_priority)prio, &r);
	printf("dim %u, priority %s\n", dim, vl_advise_priority_name((vl_advise_priority)prio));
	print_rule(&r, "  storage ");
	printf("  %.0f bytes per vector searched in memory (float32: %.0f, %.1fx smaller)\n",
	       r.bytes_per_vector, r.float32_bytes, r.float32_bytes / r.bytes_per_vector);
	printf("  why: %s\n", r.why);
}

static void rule_json(vl_sink *s, const vl_advice *r)
{
	vl_sink_puts(s, "{");
	cli_json_key(s, "storage"), cli_json_str(s, r->storage), vl_sink_puts(s, ", ");
	if (r->reduce)
		cli_json_key(s, "reduce"), cli_json_u64(s, r->reduce), vl_sink_puts(s, ", ");
	cli_json_key(s, "index"), cli_json_str(s, r->index), vl_sink_puts(s, ", ");
	cli_json_key(s, "params"), vl_sink_puts(s, "{");
	cli_json_key(s, "GRAPH_MAX_DEGREE"), cli_json_u64(s, r->graph_max_degree), vl_sink_puts(s, ", ");
	cli_json_key(s, "CONSTRUCTION_WINDOW_SIZE"), cli_json_u64(s, r->construction_window_size);
	vl_sink_puts(s, ", ");
	cli_json_key(s, "SEARCH_WINDOW_SIZE"), cli_json_u64(s, r->search_window_size);
	vl_sink_puts(s, "}, ");
	cli_json_key(s, "bytes_per_vector"), cli_json_f64(s, r->bytes_per_vector), vl_sink_puts(s, ", ");
	cli_json_key(s, "float32_bytes"), cli_json_f64(s, r->float32_bytes), vl_sink_puts(s, ", ");
	cli_json_key(s, "why"), cli_json_str(s, r->why);
	vl_sink_puts(s, "}");
}

static int rules_json(uint32_t dim, int prio)
{
	vl_advice r;
	vl_advise_rules(dim, (vl_advise_priority)prio, &r);
	vl_sink s;
	cli_json_begin(&s);
	vl_sink_puts(&s, "{");
	cli_json_key(&s, "dim"), cli_json_u64(&s, dim), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "priority"), cli_json_str(&s, vl_advise_priority_name((vl_advise_priority)prio));
	vl_sink_puts(&s, ", ");
	cli_json_key(&s, "advice"), rule_json(&s, &r);
	vl_sink_puts(&s, "}\n");
	return cli_json_end(&s);
}

static void report_text(const vl_advise_report *r, int prio, const char *source)
{
	static const char *const mnames[] = { "?", "l2", "ip", "cosine" };
	printf("%s: %zu vectors x %u dims (%s), %zu held-back queries, recall@%u, re-rank %u x %u, "
	       "kernels %s\n\n",
	       source, r->nbase, r->dim, mnames[r->metric <= 3 ? r->metric : 0], r->nqueries, r->k, r->k,
	       r->oversample, r->simd);
	printf("%-11s %6s %9s %7s %8s %8s %-10s %10s %7s %7s\n", "storage", "reduce", "bytes/vec",
	       "vs f32", "recall", "rerank", "with", "Mvec/s", "speed", "train s");
	for (size_t i = 0; i < r->nrows; i++) {
		const vl_advise_row *x = &r->rows[i];
		if (x->failed) {
			printf("%-11s  (not measured: %s)\n", x->storage, x->note);
			continue;
		}
		char red[16] = "-";
		if (x->reduce)
			snprintf(red, sizeof red, "%u", x->reduce);
		printf("%-11s %6s %9.0f %6.2fx %8.4f %8.4f %-10s %10.2f %6.2fx %7.2f%s\n", x->storage, red,
		       x->bytes_per_vector, 4.0 * r->dim / x->bytes_per_vector, x->recall, x->recall_rerank,
		       x->rerank_with, x->scan_vps / 1e6, x->speedup, x->train_seconds,
		       x->qualifies ? "" : "  (below target)");
	}
	printf("\nbytes/vec: PRIMARY + SECONDARY rows (the float32 originals stay on disk, cold).\n");
	printf("recommendation (types reaching re-ranked recall %.2f):\n", r->target_recall);
	for (int p = 0; p < 3; p++) {
		const vl_advise_row *x = &r->rows[r->choice[p]];
		printf("  %s %-9s %s", p == prio ? "*" : " ", vl_advise_priority_name((vl_advise_priority)p),
		       x->storage);
		if (x->reduce)
			printf(" REDUCE=%u", x->reduce);
		printf(" (%.0f bytes/vector, recall %.4f re-ranked with %s, %.2fx float32 scan speed)\n",
		       x->bytes_per_vector, x->recall_rerank, x->rerank_with, x->speedup);
	}
	print_rule(&r->rules[prio], "rules for this dim (RedisVL CompressionAdvisor): ");
}

static void row_json(vl_sink *s, const vl_advise_row *x)
{
	vl_sink_puts(s, "{");
	cli_json_key(s, "storage"), cli_json_str(s, x->storage), vl_sink_puts(s, ", ");
	if (x->failed) {
		cli_json_key(s, "error"), cli_json_str(s, x->note), vl_sink_puts(s, "}");
		return;
	}
	if (x->reduce)
		cli_json_key(s, "reduce"), cli_json_u64(s, x->reduce), vl_sink_puts(s, ", ");
	cli_json_key(s, "bytes_per_vector"), cli_json_f64(s, x->bytes_per_vector), vl_sink_puts(s, ", ");
	cli_json_key(s, "primary_bytes"), cli_json_f64(s, x->primary_bytes), vl_sink_puts(s, ", ");
	cli_json_key(s, "secondary_bytes"), cli_json_f64(s, x->secondary_bytes), vl_sink_puts(s, ", ");
	cli_json_key(s, "recall"), cli_json_f64(s, x->recall), vl_sink_puts(s, ", ");
	cli_json_key(s, "recall_rerank"), cli_json_f64(s, x->recall_rerank), vl_sink_puts(s, ", ");
	cli_json_key(s, "rerank_with"), cli_json_str(s, x->rerank_with), vl_sink_puts(s, ", ");
	cli_json_key(s, "scan_vectors_per_s"), cli_json_f64(s, x->scan_vps), vl_sink_puts(s, ", ");
	cli_json_key(s, "speedup"), cli_json_f64(s, x->speedup), vl_sink_puts(s, ", ");
	cli_json_key(s, "train_s"), cli_json_f64(s, x->train_seconds), vl_sink_puts(s, ", ");
	cli_json_key(s, "encode_s"), cli_json_f64(s, x->encode_seconds), vl_sink_puts(s, ", ");
	cli_json_key(s, "qualifies"), vl_sink_puts(s, x->qualifies ? "true" : "false");
	vl_sink_puts(s, "}");
}

static int report_json(const vl_advise_report *r, int prio, const char *source)
{
	static const char *const mnames[] = { "?", "l2", "ip", "cosine" };
	vl_sink s;
	cli_json_begin(&s);
	vl_sink_puts(&s, "{");
	cli_json_key(&s, "source"), cli_json_str(&s, source), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "dim"), cli_json_u64(&s, r->dim), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "metric"), cli_json_str(&s, mnames[r->metric <= 3 ? r->metric : 0]);
	vl_sink_puts(&s, ", ");
	cli_json_key(&s, "vectors"), cli_json_u64(&s, r->nbase), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "queries"), cli_json_u64(&s, r->nqueries), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "k"), cli_json_u64(&s, r->k), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "oversample"), cli_json_u64(&s, r->oversample), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "target_recall"), cli_json_f64(&s, r->target_recall), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "kernels"), cli_json_str(&s, r->simd), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "candidates"), vl_sink_puts(&s, "[");
	for (size_t i = 0; i < r->nrows; i++) {
		if (i)
			vl_sink_puts(&s, ", ");
		row_json(&s, &r->rows[i]);
	}
	vl_sink_puts(&s, "], ");
	cli_json_key(&s, "priority"), cli_json_str(&s, vl_advise_priority_name((vl_advise_priority)prio));
	vl_sink_puts(&s, ", ");
	cli_json_key(&s, "recommendation"), vl_sink_puts(&s, "{");
	for (int p = 0; p < 3; p++) {
		const vl_advise_row *x = &r->rows[r->choice[p]];
		if (p)
			vl_sink_puts(&s, ", ");
		cli_json_key(&s, vl_advise_priority_name((vl_advise_priority)p));
		vl_sink_puts(&s, "{");
		cli_json_key(&s, "storage"), cli_json_str(&s, x->storage);
		if (x->reduce)
			vl_sink_puts(&s, ", "), cli_json_key(&s, "reduce"), cli_json_u64(&s, x->reduce);
		vl_sink_puts(&s, "}");
	}
	vl_sink_puts(&s, "}, ");
	cli_json_key(&s, "rules"), rule_json(&s, &r->rules[prio]);
	vl_sink_puts(&s, "}\n");
	return cli_json_end(&s);
}

static int measure(const advise_args *a)
{
	struct stat sb;
	vecs b = { 0 };
	int rc = stat(a->source, &sb) == 0 && S_ISDIR(sb.st_mode) ? read_store(a, &b) : read_file(a, &b);
	if (rc == CLI_OK && b.n < 20)
		rc = cli_error("%s: %zu vectors; advise needs at least 20", a->source, b.n);
	if (rc) {
		free(b.v);
		return rc;
	}
	cli_progress prog;
	cli_progress_init(&prog, a->quiet);
	vl_advise_opts o = {
		.metric = b.metric,
		.k = (uint32_t)a->k,
		.nqueries = (uint32_t)a->queries,
		.oversample = (uint32_t)a->oversample,
		.target_recall = a->target,
		.types = a->ntypes ? a->types : NULL,
		.ntypes = a->ntypes,
		.params = (const char *const *)a->params.v,
		.nparams = a->params.n,
		.progress = cli_progress_cb,
		.progress_ud = &prog,
	};
	vl_advise_report *r = calloc(1, sizeof *r);
	vl_diag d;
	vl_diag_clear(&d);
	int vr = r ? vl_advise_measure(b.v, b.n, b.dim, &o, r, &d) : VL_ENOMEM;
	cli_progress_done(&prog);
	if (vr)
		rc = cli_error("%s", d.msg[0] ? d.msg : vl_strerror(vr));
	else if (a->json)
		rc = report_json(r, a->priority, a->source);
	else
		report_text(r, a->priority, a->source);
	free(r);
	free(b.v);
	return rc;
}

int cmd_advise(int argc, char **argv)
{
	advise_args a = { .priority = VL_ADVISE_BALANCED };
	int rc = parse_args(argc, argv, &a);
	if (rc == CLI_OK) {
		if (a.dim)
			rc = a.json ? rules_json(a.dim, a.priority) : (rules_text(a.dim, a.priority), CLI_OK);
		else
			rc = measure(&a);
	} else if (rc < 0) {
		rc = CLI_OK; /* --help */
	}
	free(a.types_buf);
	for (size_t i = 0; i < a.params.n; i++)
		free(a.params.v[i]);
	cli_strs_free(&a.params);
	return rc;
}
