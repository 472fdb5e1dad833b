/* cmd_export.c - veclite export: every row as JSON Lines, .fvecs or a FAISS
 * index (IndexIDMap2 over IndexFlat, or over IndexHNSWFlat carrying the
 * collection's own graph when it is hnsw). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "cli.h"
#include "faiss/vl_faiss.h"
#include "rowout.h"
#include "vecfile.h"

static void help(void)
{
	printf("usage: veclite export STORE [-c NAME] [--format jsonl|fvecs|faiss] [--out FILE]\n\n"
	       "Write every row of one consistent snapshot, in key order (faiss with a graph: in\n"
	       "the segment's row order, so node i of the file is row i).\n"
	       "  jsonl (default): {\"key\": ..., \"vector\": [...], \"fields\": {...}} per line, the\n"
	       "         original vectors with floats printed so they parse back to the identical\n"
	       "         float32; keys and values that are not UTF-8 go out as \"key_base64\" and\n"
	       "         {\"base64\": ...}. veclite load reads it back.\n"
	       "  fvecs: vectors only, in key order.\n"
	       "  faiss: a FAISS index file that faiss.read_index() loads: IndexIDMap2 over\n"
	       "         IndexFlatL2/IP, or for an hnsw collection IndexIDMap2 over IndexHNSWFlat\n"
	       "         whose graph is the collection's own (M, levels, neighbours, entry point;\n"
	       "         efSearch = EF_RUNTIME). Keys must be decimal 64-bit integers (they become\n"
	       "         the ids); cosine collections are written as inner product over normalized\n"
	       "         vectors. The graph is exported only when the collection is one segment with\n"
	       "         no buffered or deleted rows (veclite flush, then veclite compact; or\n"
	       "         --compact). Needs --out.\n\n"
	       "  -c, --collection NAME  collection (default: default)\n"
	       "      --format F         jsonl, fvecs or faiss\n"
	       "      --out FILE         write to FILE instead of standard output\n"
	       "      --compact          faiss: flush and compact an hnsw collection first when its\n"
	       "                         graph spans several segments or has deleted rows (this\n"
	       "                         writes to the store and rebuilds the graph)\n"
	       "      --no-graph         faiss: IndexIDMap2 over IndexFlat even for hnsw\n");
}

/* ---- FAISS: IndexIDMap2 over IndexFlat, rows in key order ---------------- */
typedef struct faiss_rows {
	vl_store *st;
	vl_cursor *cur;            /* rows in key order, or */
	vl_graph *g;               /* rows in graph (segment) order */
	uint32_t *nb;              /* neighbour buffer (M0) */
	uint32_t nbcap;
	int normalize;
	int rc;                    /* first failure, reported after the writer stops */
	char why[300];
} faiss_rows;

static int parse_id(const void *key, size_t len, int64_t *id)
{
	char buf[24];
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, key, len);
	buf[len] = 0;
	const char *p = buf[0] == '-' ? buf + 1 : buf;
	if (!*p || (p[0] == '0' && p[1]))
		return -1;
	for (const char *c = p; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*id = v;
	return 0;
}

static int faiss_row(void *ctx, uint64_t i, float *vec, int64_t *id)
{
	faiss_rows *fr = ctx;
	const vl_record *r;
	int vr = fr->g ? vl_graph_row(fr->g, i, &r) : vl_cursor_next(fr->cur, &r);
	if (vr || !r) {
		fr->rc = vr ? vr : VL_EBUSY;
		snprintf(fr->why, sizeof fr->why, "%s", vr ? vl_errmsg(fr->st) : "rows were deleted during the export");
		return VL_EIO;
	}
	if (parse_id(r->key, r->key_len, id)) {
		fr->rc = VL_EKEY;
		snprintf(fr->why, sizeof fr->why,
		         "key '%.*s' (row %llu) is not a decimal 64-bit integer; FAISS ids are integers (export as jsonl instead)",
		         (int)(r->key_len > 60 ? 60 : r->key_len), (const char *)r->key, (unsigned long long)i);
		return VL_EKEY;
	}
	memcpy(vec, r->vector, (size_t)r->dim * sizeof *vec);
	if (fr->normalize) {
		double n = 0;
		for (uint32_t k = 0; k < r->dim; k++)
			n += (double)vec[k] * vec[k];
		if (n > 0)
			for (uint32_t k = 0; k < r->dim; k++)
				vec[k] = (float)(vec[k] / sqrt(n));
	}
	return 0;
}

static int fg_levels(void *ctx, uint64_t node)
{
	faiss_rows *fr = ctx;
	uint32_t l;
	return vl_graph_level(fr->g, node, &l) ? -1 : (int)l + 1; /* FAISS counts from 1 */
}

static uint32_t fg_neighbors(void *ctx, uint64_t node, int level, int32_t *out, uint32_t cap)
{
	faiss_rows *fr = ctx;
	uint32_t n = 0;
	if (cap > fr->nbcap)
		cap = fr->nbcap;
	if (vl_graph_neighbors(fr->g, node, (uint32_t)level, fr->nb, cap, &n))
		return 0;
	for (uint32_t i = 0; i < n && i < cap; i++)
		out[i] = (int32_t)fr->nb[i];
	return n < cap ? n : cap;
}

/* A parameter of an hnsw collection (for an empty graph: no segment to
 * read M, EF_CONSTRUCTION, EF_RUNTIME from). */
static uint32_t param_u32(const vl_info *inf, const char *name, uint32_t def)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < inf->nparams; i++)
		if (!strncmp(inf->params[i], name, n) && inf->params[i][n] == '=')
			return (uint32_t)strtoul(inf->params[i] + n + 1, NULL, 10);
	return def;
}

/* --compact: one segment, nothing buffered, nothing deleted. */
static int make_one_segment(const char *store, const char *coll)
{
	vl_store *st = cli_open_store(store, 0);
	if (!st)
		return CLI_ERR;
	int rc = CLI_ERR, vr;
	vl_collection *col = cli_open_coll(st, coll);
	vl_info *inf = NULL;
	if (!col)
		goto out;
	if ((vr = vl_collection_info(col, &inf))) {
		rc = cli_fail(st, vr, "export");
		goto out;
	}
	if (inf->segments <= 1 && !inf->buffer_rows && !inf->dead_rows) {
		rc = CLI_OK;
		goto out;
	}
	fprintf(stderr, "veclite export: note: --compact: flushing and compacting '%s' (%u segments, "
	        "%llu buffered, %llu deleted rows); this rebuilds its graph\n", coll, inf->segments,
	        (unsigned long long)inf->buffer_rows, (unsigned long long)inf->dead_rows);
	if ((vr = vl_flush(col, NULL)) || (vr = vl_compact(col, NULL)))
		rc = cli_fail(st, vr, "--compact");
	else
		rc = CLI_OK;
out:
	vl_info_free(inf);
	vl_collection_close(col);
	vl_close(st);
	return rc;
}

static int export_faiss(const char *store, const char *coll, const char *outp, int compact,
                        int no_graph)
{
	if (compact && !no_graph && make_one_segment(store, coll))
		return CLI_ERR;
	vl_store *st = cli_open_store(store, VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	int rc = CLI_ERR, vr;
	vl_collection *col = cli_open_coll(st, coll);
	vl_info *inf = NULL;
	faiss_rows fr = { .st = st };
	vl_graph_info gi = VL_GRAPH_INFO_INIT;
	vl_faiss_graph fg;
	FILE *fp = NULL;
	if (!col)
		goto out;
	if ((vr = vl_collection_info(col, &inf))) {
		rc = cli_fail(st, vr, "export");
		goto out;
	}
	int graph = !no_graph && !strcmp(inf->index, "hnsw");
	if (graph && (vr = vl_graph_open(col, &fr.g, &gi))) {
		rc = vr == VL_EINVAL
		         ? cli_error("%s; to export the graph run 'veclite flush' and 'veclite compact' "
		                     "first (or pass --compact), or pass --no-graph for a flat index",
		                     vl_errmsg(st))
		         : cli_fail(st, vr, "reading the graph");
		goto out;
	}
	if (!graph && (vr = vl_cursor_open(col, &fr.cur))) {
		rc = cli_fail(st, vr, "export");
		goto out;
	}
	if (inf->metric == VL_METRIC_COSINE) {
		fr.normalize = 1;
		fprintf(stderr, "veclite export: note: FAISS has no cosine metric: writing normalized vectors "
		                "with inner product (same ranking)\n");
	}
	if (graph) {
		if (!gi.nodes) {
			gi.M = param_u32(inf, "M", 16);
			gi.ef_construction = param_u32(inf, "EF_CONSTRUCTION", 200);
			gi.ef_runtime = param_u32(inf, "EF_RUNTIME", 10);
		}
		uint32_t M = gi.M;
		if (gi.nodes && gi.M0 != 2 * gi.M) {
			rc = cli_error("the graph holds %u neighbours on level 0 and %u above; FAISS needs "
			               "2*M and M (pass --no-graph for a flat index)", gi.M0, gi.M);
			goto out;
		}
		fr.nbcap = 2 * M;
		if (!(fr.nb = malloc(fr.nbcap * sizeof *fr.nb))) {
			rc = cli_error("out of memory");
			goto out;
		}
		fg = (vl_faiss_graph){
			.M = M, .entry_point = (int32_t)gi.entry, .max_level = (int32_t)gi.max_level,
			.efConstruction = (int32_t)gi.ef_construction, .efSearch = (int32_t)gi.ef_runtime,
			.levels = fg_levels, .neighbors = fg_neighbors, .ctx = &fr,
		};
		if (!gi.nodes)
			fg.entry_point = fg.max_level = -1; /* as FAISS writes an empty graph */
	}
	if (!(fp = fopen(outp, "wb"))) {
		rc = cli_error("cannot create %s: %s", outp, strerror(errno));
		goto out;
	}
	vl_faiss_write_opts wo = {
		.dim = inf->dim, .count = inf->rows,
		.metric_type = inf->metric == VL_METRIC_L2 ? VL_FAISS_METRIC_L2 : VL_FAISS_METRIC_IP,
		.with_ids = 1, .graph = graph ? &fg : NULL, .row = faiss_row, .ctx = &fr,
	};
	vl_diag d;
	vl_diag_clear(&d);
	vr = vl_faiss_write(fp, &wo, &d);
	if (fclose(fp) != 0 && !vr)
		vr = VL_EIO;
	fp = NULL;
	if (vr) {
		unlink(outp);
		rc = fr.rc ? cli_error("%s", fr.why) : cli_error("writing %s: %s", outp, d.msg[0] ? d.msg : vl_strerror(vr));
		goto out;
	}
	if (graph)
		printf("exported %llu rows to %s (FAISS IndexIDMap2 over IndexHNSWFlat, M=%u, %u levels, "
		       "entry node %d, efSearch %u; storage IndexFlat%s, d=%u)\n",
		       (unsigned long long)inf->rows, outp, fg.M, gi.nodes ? gi.max_level + 1 : 0,
		       fg.entry_point, gi.ef_runtime, inf->metric == VL_METRIC_L2 ? "L2" : "IP",
		       inf->dim);
	else
		printf("exported %llu rows to %s (FAISS IndexIDMap2 over IndexFlat%s, d=%u)\n",
		       (unsigned long long)inf->rows, outp, inf->metric == VL_METRIC_L2 ? "L2" : "IP",
		       inf->dim);
	rc = CLI_OK;
out:
	if (fp)
		fclose(fp);
	vl_cursor_close(fr.cur);
	vl_graph_close(fr.g);
	free(fr.nb);
	vl_info_free(inf);
	vl_collection_close(col);
	vl_close(st);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "format", required_argument, 0, 'F' },
		{ "out", required_argument, 0, 'o' },        { "help", no_argument, 0, 'h' },
		{ "compact", no_argument, 0, 'C' },          { "no-graph", no_argument, 0, 'G' },
		{ 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION, *fmt = "jsonl", *outp = NULL;
	int c, compact = 0, no_graph = 0;
	while ((c = cli_getopt(argc, argv, "c:o:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'F': fmt = optarg; break;
		case 'o': outp = optarg; break;
		case 'C': compact = 1; break;
		case 'G': no_graph = 1; break;
		case 'h': help(); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("expected STORE");
	int fvecs = !strcmp(fmt, "fvecs");
	if (!strcmp(fmt, "faiss")) {
		if (!outp)
			return cli_usage_error("--format faiss needs --out FILE");
		return export_faiss(argv[optind], coll, outp, compact, no_graph);
	}
	if (compact || no_graph)
		return cli_usage_error("--compact and --no-graph apply to --format faiss only");
	if (!fvecs && strcmp(fmt, "jsonl"))
		return cli_usage_error("--format: '%s' is not jsonl, fvecs or faiss", fmt);
	vl_store *st = cli_open_store(argv[optind], VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	int rc = CLI_ERR;
	vl_collection *col = cli_open_coll(st, coll);
	cli_schema sc = { 0 };
	vl_cursor *cur = NULL;
	FILE *fp = NULL;
	if (!col || cli_schema_load(col, &sc, st))
		goto out;
	int vr = vl_cursor_open(col, &cur);
	if (vr) {
		rc = cli_fail(st, vr, "export");
		goto out;
	}
	fp = outp ? fopen(outp, "wb") : stdout;
	if (!fp) {
		rc = cli_error("cannot create %s: %s", outp, strerror(errno));
		goto out;
	}
	vl_sink s;
	vl_sink_init_file(&s, fp);
	for (;;) {
		const vl_record *r;
		if ((vr = vl_cursor_next(cur, &r))) {
			rc = cli_fail(st, vr, "export");
			goto out;
		}
		if (!r)
			break;
		vr = fvecs ? vl_fvecs_write_row(&s, r->vector, r->dim) : cli_write_row_jsonl(&s, &sc, r);
		if (vr) {
			rc = cli_error("writing %s: %s", outp ? outp : "output", vl_strerror(vr));
			goto out;
		}
	}
	rc = (fflush(fp) == 0 && !s.err) ? CLI_OK : cli_error("writing %s: %s", outp ? outp : "output", strerror(errno));
out:
	if (fp && fp != stdout && fclose(fp) != 0 && rc == CLI_OK)
		rc = cli_error("closing %s: %s", outp, strerror(errno));
	vl_cursor_close(cur);
	cli_schema_free(&sc);
	vl_collection_close(col);
	vl_close(st);
	return rc;
}
