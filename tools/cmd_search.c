/* cmd_search.c - veclite search: one query vector or a file of queries. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rowout.h"
#include "vecfile.h"

#define QBATCH 1024

static void help(void)
{
	printf("usage: veclite search STORE [-c NAME] (--vector JSON | --queries FILE) [-k K]\n"
	       "                      [--filter EXPR] [--set PARAM=VALUE]... [--return F,...]\n"
	       "                      [--threads N] [--exact] [--json]\n\n"
	       "Nearest neighbours of a query vector, or of every vector in FILE (.fvecs,\n"
	       ".bvecs, .npy, JSON Lines).\n\n"
	       "  -c, --collection NAME  collection (default: default)\n"
	       "      --vector JSON      one query, e.g. '[0.1, 0.2, 0.3]'\n"
	       "      --queries FILE     a file of queries\n"
	       "  -k K                   results per query (default 10)\n"
	       "      --filter EXPR      e.g. 'genre == \"drama\" AND year >= 1990' (tag ==, !=, IN;\n"
	       "                         numeric < <= > >= == != BETWEEN; AND, OR, NOT, parentheses)\n"
	       "      --set PARAM=VALUE  search parameter, e.g. SEARCH_WINDOW_SIZE=64, EF_RUNTIME=100,\n"
	       "                         NPROBE=16, RERANK=100, RERANK_WITH=secondary|full|none\n"
	       "      --return F,...     fields to print with each hit\n"
	       "      --threads N        threads for --queries (default: all cores)\n"
	       "      --exact            ignore the index: exact scan\n"
	       "      --json             one line per query:\n"
	       "                         {\"query\": i, \"results\": [{\"key\": \"...\", \"distance\": d}, ...]}\n");
}

static void print_json(vl_sink *s, size_t qi, const vl_results *r, const cli_schema *sc)
{
	vl_sink_puts(s, "{");
	cli_json_key(s, "query");
	cli_json_u64(s, qi);
	vl_sink_puts(s, ", ");
	cli_json_key(s, "results");
	vl_sink_puts(s, "[");
	for (size_t i = 0; i < r->n; i++) {
		const vl_hit *h = &r->hits[i];
		vl_sink_puts(s, i ? ", {" : "{");
		cli_json_rowkey(s, h->key, h->key_len);
		vl_sink_puts(s, ", ");
		cli_json_key(s, "distance");
		cli_json_f32(s, h->distance);
		if (h->nvalues) {
			vl_sink_puts(s, ", ");
			cli_json_key(s, "fields");
			vl_sink_puts(s, "{");
			for (uint32_t v = 0; v < h->nvalues; v++) {
				if (v)
					vl_sink_puts(s, ", ");
				cli_json_key(s, h->values[v].field);
				cli_json_value(s, &h->values[v], cli_schema_type(sc, h->values[v].field));
			}
			vl_sink_puts(s, "}");
		}
		vl_sink_puts(s, "}");
	}
	vl_sink_puts(s, "]");
	if (r->flags & VL_RESULT_FEWER) {
		vl_sink_puts(s, ", ");
		cli_json_key(s, "matched");
		cli_json_u64(s, r->matched);
	}
	vl_sink_puts(s, "}\n");
}

static void print_text(vl_sink *s, size_t qi, const vl_results *r, const cli_schema *sc, int many)
{
	char buf[64];
	if (many) {
		snprintf(buf, sizeof buf, "query %zu:\n", qi);
		vl_sink_puts(s, buf);
	}
	for (size_t i = 0; i < r->n; i++) {
		const vl_hit *h = &r->hits[i];
		snprintf(buf, sizeof buf, "%s%3zu  ", many ? "  " : "", i + 1);
		vl_sink_puts(s, buf);
		cli_json_bytes(s, h->key, h->key_len);
		vl_sink_puts(s, "  ");
		cli_json_f32(s, h->distance);
		for (uint32_t v = 0; v < h->nvalues; v++) {
			vl_sink_puts(s, "  ");
			vl_sink_puts(s, h->values[v].field);
			vl_sink_putc(s, '=');
			cli_json_value(s, &h->values[v], cli_schema_type(sc, h->values[v].field));
		}
		vl_sink_putc(s, '\n');
	}
	if (r->flags & VL_RESULT_FEWER) {
		snprintf(buf, sizeof buf, "%s(only %" PRIu64 " rows match)\n", many ? "  " : "", r->matched);
		vl_sink_puts(s, buf);
	}
}

static int split_fields(char *list, cli_strs *out)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
		if (*tok && cli_strs_push(out, tok))
			return cli_error("out of memory");
	return CLI_OK;
}

typedef struct searcher {
	vl_store *st;
	vl_collection *col;
	vl_search_opts o;
	cli_schema sc;
	int json;
	vl_sink out;
} searcher;

static int run_batch(searcher *s, const float *q, size_t n, uint32_t dim, size_t first, int many)
{
	vl_results *res[QBATCH];
	int vr = vl_search_batch(s->col, q, n, dim, &s->o, res);
	if (vr)
		return cli_fail(s->st, vr, "search");
	for (size_t i = 0; i < n; i++) {
		if (s->json)
			print_json(&s->out, first + i, res[i], &s->sc);
		else
			print_text(&s->out, first + i, res[i], &s->sc, many);
		vl_results_free(res[i]);
	}
	return CLI_OK;
}

static int search_file(searcher *s, const char *path)
{
	vl_vecfile *vf;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_vecfile_open(path, NULL, &vf, &d))
		return cli_error("%s", d.msg);
	uint32_t dim = vl_vecfile_info_get(vf)->dim;
	float *q = malloc((size_t)QBATCH * dim * sizeof *q);
	if (!q) {
		vl_vecfile_close(vf);
		return cli_error("out of memory");
	}
	size_t done = 0, n;
	int rc = CLI_OK;
	for (;;) {
		vl_diag_clear(&d);
		if (vl_vecfile_next(vf, q, QBATCH, &n, &d)) {
			rc = cli_error("%s", d.msg);
			break;
		}
		if (n == 0)
			break;
		if ((rc = run_batch(s, q, n, dim, done, 1)))
			break;
		done += n;
	}
	free(q);
	vl_vecfile_close(vf);
	return rc;
}

int cmd_search(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "vector", required_argument, 0, 'v' },
		{ "queries", required_argument, 0, 'Q' },    { "filter", required_argument, 0, 'F' },
		{ "set", required_argument, 0, 'S' },        { "return", required_argument, 0, 'R' },
		{ "threads", required_argument, 0, 'T' },    { "exact", no_argument, 0, 'E' },
		{ "json", no_argument, 0, 'J' },             { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION, *vec = NULL, *qfile = NULL;
	searcher s = { .o = VL_SEARCH_OPTS_INIT };
	cli_strs params = { 0 }, ret = { 0 };
	int c, rc = CLI_OK;
	uint64_t k = 10, threads = 0;
	while ((c = cli_getopt(argc, argv, "c:k:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'v': vec = optarg; break;
		case 'Q': qfile = optarg; break;
		case 'F': s.o.filter = optarg; break;
		case 'S': rc = cli_strs_push(&params, optarg); break;
		case 'R': rc = split_fields(optarg, &ret); break;
		case 'T': rc = cli_parse_u64("--threads", optarg, 1, 4096, &threads); break;
		case 'E': s.o.flags |= VL_SEARCH_EXACT; break;
		case 'k': rc = cli_parse_u64("-k", optarg, 1, 1u << 20, &k); break;
		case 'J': s.json = 1; break;
		case 'h': help(); goto out0;
		default: rc = CLI_USAGE;
		}
		if (rc)
			goto out0;
	}
	if (argc - optind != 1 || (!vec == !qfile)) {
		rc = cli_usage_error("expected STORE and exactly one of --vector or --queries");
		goto out0;
	}
	s.o.k = (uint32_t)k;
	s.o.threads = (uint32_t)threads;
	s.o.params = (const char *const *)params.v;
	s.o.nparams = params.n;
	s.o.return_fields = (const char *const *)ret.v;
	s.o.nreturn = ret.n;
	if (!(s.st = cli_open_store(argv[optind], VL_OPEN_RDONLY))) {
		rc = CLI_ERR;
		goto out0;
	}
	if (!(s.col = cli_open_coll(s.st, coll)) || cli_schema_load(s.col, &s.sc, s.st)) {
		rc = CLI_ERR;
		goto out;
	}
	cli_json_begin(&s.out);
	if (vec) {
		float *q;
		uint32_t dim;
		if ((rc = cli_parse_vector(vec, &q, &dim)) == CLI_OK) {
			rc = run_batch(&s, q, 1, dim, 0, 0);
			free(q);
		}
	} else {
		rc = search_file(&s, qfile);
	}
	if (cli_json_end(&s.out) && rc == CLI_OK)
		rc = CLI_ERR;
out:
	cli_schema_free(&s.sc);
	vl_collection_close(s.col);
	vl_close(s.st);
out0:
	cli_strs_free(&params);
	cli_strs_free(&ret);
	return rc;
}
