/*
 * cmd_reindex.c - veclite reindex: convert a collection to another index
 * kind / storage type / parameters, optionally with a migration report.
 *
 * Three modes (contract in .spec-parts/hnsw_ivf.md, "reindex"):
 *   direct   (no threshold given): vl_reindex switches atomically; with
 *            --report the old index is measured before and the new one
 *            after, on the same queries; the verdict is informational.
 *   gated    (--min-recall or --min-savings given): the new index is built
 *            in a shadow store beside STORE from a copy of the rows and
 *            measured there; only a RECOMMENDED verdict runs vl_reindex on
 *            the real collection. Otherwise nothing changes (exit 1).
 *   dry-run  (--dry-run): as gated, never switches.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reindex_report.h"

static void usage(void)
{
	printf("usage: veclite reindex STORE [-c NAME] --index KIND [--storage TYPE]\n"
	       "                      [--set PARAM=VALUE]... [--threads N] [--quiet] [--json]\n"
	       "                      [--report] [--queries FILE] [--sample N]\n"
	       "                      [--min-recall X] [--min-savings PCT] [--dry-run]\n\n"
	       "Rebuild collection NAME (default 'default') with another index kind (flat,\n"
	       "vamana, hnsw, ivf), storage type or parameters. --set replaces the index and\n"
	       "storage parameters (the rest take their defaults). Atomic: readers use the\n"
	       "old index until one commit switches; a failure or crash changes nothing.\n\n"
	       "  --report           measure old and new on the same queries: memory (the\n"
	       "                     sections every search reads) and disk, recall@1/5/10\n"
	       "                     against exact search, p50/p95/p99 latency and QPS on one\n"
	       "                     thread, build time, and a verdict\n"
	       "  --queries FILE     query vectors (fvecs, npy, JSON Lines, ...); default:\n"
	       "  --sample N         N rows drawn from the collection (default 1000)\n"
	       "  --min-recall X     recall@10 the new index must reach (default 0.85)\n"
	       "  --min-savings PCT  memory savings in percent it must bring (default 5)\n"
	       "                     Giving either makes the verdict a gate: the new index is\n"
	       "                     built and measured in a shadow copy of the rows beside\n"
	       "                     STORE, and the collection is reindexed only when the\n"
	       "                     verdict is RECOMMENDED (else exit status 1, no change)\n"
	       "  --dry-run          report on a shadow copy only; never switch\n"
	       "  --threads N        build and exact-search threads (default: all cores)\n");
}

typedef struct opts {
	const char *store, *coll, *index, *storage, *queries;
	cli_strs params;
	uint64_t sample, threads;
	int report, json, quiet, dry_run, gate;
	double min_recall, min_savings;
} opts;

static int parse(int argc, char **argv, opts *o)
{
	static const struct option lo[] = {
		{ "collection", required_argument, 0, 'c' }, { "index", required_argument, 0, 'i' },
		{ "storage", required_argument, 0, 's' },    { "set", required_argument, 0, 'S' },
		{ "threads", required_argument, 0, 'T' },    { "report", no_argument, 0, 'r' },
		{ "queries", required_argument, 0, 'Q' },    { "sample", required_argument, 0, 'n' },
		{ "min-recall", required_argument, 0, 'R' }, { "min-savings", required_argument, 0, 'V' },
		{ "dry-run", no_argument, 0, 'D' },          { "json", no_argument, 0, 'J' },
		{ "quiet", no_argument, 0, 'q' },            { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c, rc;
	o->coll = CLI_DEFAULT_COLLECTION;
	o->sample = 1000;
	o->min_recall = 0.85;
	o->min_savings = 5;
	while ((c = cli_getopt(argc, argv, "c:i:s:qh", lo)) != -1) {
		switch (c) {
		case 'c': o->coll = optarg; break;
		case 'i': o->index = optarg; break;
		case 's': o->storage = optarg; break;
		case 'S':
			if (!strchr(optarg, '='))
				return cli_usage_error("--set %s: expected PARAM=VALUE", optarg);
			if (cli_strs_push(&o->params, optarg))
				return cli_error("out of memory");
			break;
		case 'T':
			if ((rc = cli_parse_u64("--threads", optarg, 1, 4096, &o->threads)))
				return rc;
			break;
		case 'r': o->report = 1; break;
		case 'Q': o->queries = optarg; break;
		case 'n':
			if ((rc = cli_parse_u64("--sample", optarg, 1, 10000000, &o->sample)))
				return rc;
			break;
		case 'R':
			if ((rc = cli_parse_f64("--min-recall", optarg, &o->min_recall)))
				return rc;
			if (o->min_recall < 0 || o->min_recall > 1)
				return cli_usage_error("--min-recall: expected a recall between 0 and 1");
			o->gate = 1;
			break;
		case 'V': {
			char buf[64];
			snprintf(buf, sizeof buf, "%s", optarg);
			size_t l = strlen(buf);
			if (l && buf[l - 1] == '%')
				buf[l - 1] = 0;
			if ((rc = cli_parse_f64("--min-savings", buf, &o->min_savings)))
				return rc;
			if (o->min_savings > 100)
				return cli_usage_error("--min-savings: expected a percentage up to 100");
			o->gate = 1;
			break;
		}
		case 'D': o->dry_run = 1; break;
		case 'J': o->json = 1; break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(); return -1;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("expected STORE");
	o->store = argv[optind];
	if (!o->index && !o->storage && !o->params.n)
		return cli_usage_error("nothing to change: give --index, --storage or --set");
	if (o->gate || o->dry_run || o->queries)
		o->report = 1;
	return CLI_OK;
}

/* The schema changes asked for. */
static vl_schema changes_of(const opts *o)
{
	vl_schema ch = VL_SCHEMA_INIT;
	ch.index = o->index;
	ch.storage = o->storage;
	ch.params = (const char *const *)o->params.v;
	ch.nparams = o->params.n;
	return ch;
}

/* ---- shadow build ---------------------------------------------------------- */

/* Copy every live row of c into a new collection of a new store beside
 * STORE, with the new schema, in write transactions of SHADOW_BATCH rows
 * into its write buffer (FLUSH_BYTES=0: no automatic flush), then one
 * flush builds the single segment and its index: *secs is that flush. */
#define SHADOW_BATCH 5000

static int shadow_build(const opts *o, vl_collection *c, char *dir, vl_store **sst,
                        vl_collection **sc, vl_job_opts *jo, double *secs)
{
	vl_info *inf;
	int rc = vl_collection_info(c, &inf);
	if (rc)
		return rc;
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s", o->store);
	size_t l = strlen(tmpl);
	while (l > 1 && tmpl[l - 1] == '/')
		tmpl[--l] = 0;
	snprintf(tmpl + l, sizeof tmpl - l, ".reindex-XXXXXX");
	if (!mkdtemp(tmpl)) {
		cli_error("creating a shadow store %s: %s", tmpl, strerror(errno));
		vl_info_free(inf);
		return VL_EIO;
	}
	strcpy(dir, tmpl);
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC;
	if ((rc = vl_open(dir, &oo, sst))) {
		cli_error("opening the shadow store %s: %s", dir, vl_errmsg(NULL));
		vl_info_free(inf);
		return rc;
	}
	const char **params = calloc(o->params.n + 2, sizeof *params);
	if (!params) {
		vl_info_free(inf);
		return cli_error("out of memory"), VL_ENOMEM;
	}
	for (size_t i = 0; i < o->params.n; i++)
		params[i] = o->params.v[i];
	params[o->params.n] = "FLUSH_BYTES=0";
	vl_schema sd = changes_of(o);
	sd.params = params;
	sd.nparams = o->params.n + 1;
	sd.dim = inf->dim;
	sd.metric = inf->metric;
	if (!sd.storage)
		sd.storage = inf->storage;
	if (!sd.index)
		sd.index = inf->index;
	sd.fields = inf->fields;
	sd.nfields = inf->nfields;
	vl_txn *t = NULL;
	vl_cursor *cur = NULL;
	size_t in_txn = 0;
	if ((rc = vl_collection_create(*sst, o->coll, &sd, sc))) {
		cli_fail(*sst, rc, "creating the shadow collection");
		goto out;
	}
	if ((rc = vl_cursor_open(c, &cur))) {
		cli_error("reading the collection: %s", vl_strerror(rc));
		goto out;
	}
	const vl_record *rec;
	while ((rc = vl_cursor_next(cur, &rec)) == VL_OK && rec) {
		if (!t && (rc = vl_txn_begin(*sst, &t))) {
			cli_fail(*sst, rc, "shadow copy");
			goto out;
		}
		vl_row row = { rec->key, rec->key_len, rec->vector, rec->dim, rec->values, rec->nvalues };
		if ((rc = vl_upsert(t, *sc, &row, 1))) {
			cli_fail(*sst, rc, "shadow copy");
			goto out;
		}
		if (++in_txn == SHADOW_BATCH) {
			rc = vl_txn_commit(t);
			t = NULL;
			in_txn = 0;
			if (rc) {
				cli_fail(*sst, rc, "shadow copy");
				goto out;
			}
		}
	}
	if (rc) {
		cli_error("reading the collection: %s", vl_strerror(rc));
		goto out;
	}
	if (t) {
		rc = vl_txn_commit(t);
		t = NULL;
		if (rc) {
			cli_fail(*sst, rc, "shadow copy");
			goto out;
		}
	}
	double t0 = cli_now();
	if ((rc = vl_flush(*sc, jo)))
		cli_fail(*sst, rc, "building the shadow index");
	*secs = cli_now() - t0;
out:
	if (t)
		vl_txn_abort(t);
	vl_cursor_close(cur);
	free(params);
	vl_info_free(inf);
	return rc;
}

/* ---- main ------------------------------------------------------------------- */

static int reindex_plain(const opts *o, vl_store *st, vl_collection *c, vl_job_opts *jo)
{
	vl_schema ch = changes_of(o);
	double t0 = cli_now();
	int rc = vl_reindex(c, &ch, jo);
	if (rc)
		return cli_fail(st, rc, "reindex");
	double secs = cli_now() - t0;
	vl_info *inf;
	if (vl_collection_info(c, &inf) == VL_OK) {
		if (o->json)
			printf("{\"collection\": \"%s\", \"index\": \"%s\", \"storage\": \"%s\", "
			       "\"seconds\": %.3f}\n",
			       o->coll, inf->index, inf->storage, secs);
		else
			printf("reindexed '%s' to %s/%s in %.2f s\n", o->coll, inf->index, inf->storage, secs);
		vl_info_free(inf);
	}
	return CLI_OK;
}

static int reindex_report(const opts *o, vl_store *st, vl_collection *c, vl_job_opts *jo)
{
	rx_queries q = { 0 };
	rx_report r = { .collection = o->coll, .min_recall = o->min_recall,
		            .min_savings = o->min_savings, .q = &q };
	r.mode = o->dry_run ? RX_DRY_RUN : o->gate ? RX_GATED : RX_DIRECT;
	char shadow[4096] = "";
	vl_store *sst = NULL;
	vl_collection *sc = NULL;
	int rc, out = CLI_ERR;
	/* everything into segments first: the old side is measured as it serves */
	if ((rc = vl_flush(c, jo))) {
		cli_fail(st, rc, "flush");
		goto done;
	}
	if ((rc = rx_side_info(c, &r.before, st))) {
		cli_fail(st, rc, "info");
		goto done;
	}
	if (r.before.rows == 0) {
		cli_error("collection '%s' is empty: nothing to measure", o->coll);
		goto done;
	}
	if (o->queries) {
		vl_info *inf;
		if ((rc = vl_collection_info(c, &inf))) {
			cli_fail(st, rc, "info");
			goto done;
		}
		uint32_t dim = inf->dim;
		vl_info_free(inf);
		if ((rc = rx_file_queries(o->queries, o->sample, dim, &q)))
			goto done;
	} else if ((rc = rx_sample_queries(c, o->sample, 0x5eed, &q))) {
		cli_fail(st, rc, "sampling queries");
		goto done;
	}
	if ((rc = rx_exact(c, &q, (unsigned)o->threads, st))) {
		cli_fail(st, rc, "exact search");
		goto done;
	}
	if ((rc = rx_side_measure(c, &q, &r.before, st))) {
		cli_fail(st, rc, "measuring the old index");
		goto done;
	}
	if (r.mode == RX_DIRECT) {
		vl_schema ch = changes_of(o);
		double t0 = cli_now();
		if ((rc = vl_reindex(c, &ch, jo))) {
			cli_fail(st, rc, "reindex");
			goto done;
		}
		r.build_s = cli_now() - t0;
		r.switched = 1;
		if ((rc = rx_side_info(c, &r.after, st)) || (rc = rx_side_measure(c, &q, &r.after, st))) {
			cli_fail(st, rc, "measuring the new index");
			goto done;
		}
	} else {
		if ((rc = shadow_build(o, c, shadow, &sst, &sc, jo, &r.build_s)))
			goto done;
		if ((rc = rx_side_info(sc, &r.after, sst)) || (rc = rx_side_measure(sc, &q, &r.after, sst))) {
			cli_fail(sst, rc, "measuring the new index");
			goto done;
		}
	}
	rx_decide(&r);
	if (r.mode == RX_GATED && !strcmp(r.verdict, "RECOMMENDED")) {
		vl_collection_close(sc);
		vl_close(sst);
		sc = NULL;
		sst = NULL;
		rx_rmtree(shadow);
		shadow[0] = 0;
		vl_schema ch = changes_of(o);
		double t0 = cli_now();
		if ((rc = vl_reindex(c, &ch, jo))) {
			cli_fail(st, rc, "reindex");
			goto done;
		}
		r.switch_s = cli_now() - t0;
		r.switched = 1;
	}
	if (o->json)
		rx_print_json(&r);
	else
		rx_print_text(&r);
	out = CLI_OK;
	if (r.mode == RX_GATED && !r.switched) {
		cli_error("verdict %s: the collection keeps its old index", r.verdict);
		out = CLI_ERR;
	}
done:
	vl_collection_close(sc);
	vl_close(sst);
	if (shadow[0])
		rx_rmtree(shadow);
	rx_side_free(&r.before);
	rx_side_free(&r.after);
	rx_queries_free(&q);
	return out;
}

int cmd_reindex(int argc, char **argv)
{
	opts o = { 0 };
	int rc = parse(argc, argv, &o);
	if (rc) {
		cli_strs_free(&o.params);
		return rc < 0 ? CLI_OK : rc;
	}
	vl_store *st = cli_open_store(o.store, 0);
	if (!st) {
		cli_strs_free(&o.params);
		return CLI_ERR;
	}
	vl_collection *c = cli_open_coll(st, o.coll);
	if (!c) {
		vl_close(st);
		cli_strs_free(&o.params);
		return CLI_ERR;
	}
	cli_progress p;
	cli_progress_init(&p, o.quiet);
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = (uint32_t)o.threads;
	jo.progress = cli_progress_cb;
	jo.progress_ud = &p;
	rc = o.report ? reindex_report(&o, st, c, &jo) : reindex_plain(&o, st, c, &jo);
	cli_progress_done(&p);
	vl_collection_close(c);
	vl_close(st);
	cli_strs_free(&o.params);
	return rc;
}
