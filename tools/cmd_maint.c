/* cmd_maint.c - veclite flush, compact, verify, drop. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef int (*job_fn)(vl_collection *c, const vl_job_opts *o);

static int run_job(int argc, char **argv, job_fn fn, const char *usage_text, const char *done)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "threads", required_argument, 0, 'T' },
		{ "quiet", no_argument, 0, 'q' },            { "json", no_argument, 0, 'J' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION;
	int quiet = 0, json = 0, c, rc;
	uint64_t threads = 0;
	while ((c = cli_getopt(argc, argv, "c:hq", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'T':
			if ((rc = cli_parse_u64("--threads", optarg, 1, 4096, &threads)))
				return rc;
			break;
		case 'q': quiet = 1; break;
		case 'J': json = 1; break;
		case 'h': printf("%s", usage_text); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("expected STORE");
	vl_store *st = cli_open_store(argv[optind], 0);
	if (!st)
		return CLI_ERR;
	vl_collection *col = cli_open_coll(st, coll);
	if (!col) {
		vl_close(st);
		return CLI_ERR;
	}
	cli_progress p;
	cli_progress_init(&p, quiet);
	vl_job_opts o = VL_JOB_OPTS_INIT;
	o.threads = (uint32_t)threads;
	o.progress = cli_progress_cb;
	o.progress_ud = &p;
	double t0 = cli_now();
	int vr = fn(col, &o);
	cli_progress_done(&p);
	if (vr) {
		rc = cli_fail(st, vr, cli_cmd);
	} else {
		if (json)
			printf("{\"collection\": \"%s\", \"seconds\": %.3f}\n", coll, cli_now() - t0);
		else
			printf("%s '%s' in %.2f s\n", done, coll, cli_now() - t0);
		rc = CLI_OK;
	}
	vl_collection_close(col);
	vl_close(st);
	return rc;
}

int cmd_flush(int argc, char **argv)
{
	return run_job(argc, argv, vl_flush,
	               "usage: veclite flush STORE [-c NAME] [--threads N] [--quiet] [--json]\n\n"
	               "Write the collection's buffer of recent writes into a new segment (building\n"
	               "its index). Writes flush automatically past FLUSH_BYTES / FLUSH_ROWS.\n",
	               "flushed");
}

int cmd_compact(int argc, char **argv)
{
	return run_job(argc, argv, vl_compact,
	               "usage: veclite compact STORE [-c NAME] [--threads N] [--quiet] [--json]\n\n"
	               "Merge the collection's segments into one, dropping deleted and replaced rows,\n"
	               "and give their disk space back. Runs automatically past COMPACT_DEAD_RATIO.\n",
	               "compacted");
}

typedef struct vreport {
	int json;
	uint64_t n;
} vreport;

static void report(void *ud, const char *problem)
{
	vreport *r = ud;
	r->n++;
	if (r->json) {
		vl_sink s;
		vl_sink_init_file(&s, stdout);
		vl_sink_puts(&s, r->n > 1 ? ", " : "");
		cli_json_str(&s, problem);
	} else {
		printf("%s\n", problem);
	}
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'J' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int json = 0, c;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'J': json = 1; break;
		case 'h':
			printf("usage: veclite verify STORE [--json]\n\n"
			       "Recompute every segment checksum and cross-check LMDB against the segments\n"
			       "(keys, row records, tombstones, counters). Exit status 0 when the store is\n"
			       "sound, 1 when a problem was found (each one is printed).\n");
			return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("expected STORE");
	vl_store *st = cli_open_store(argv[optind], VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	vreport r = { json, 0 };
	if (json)
		printf("{\"problems\": [");
	int vr = vl_verify(st, report, &r);
	if (json)
		printf("], \"ok\": %s}\n", vr ? "false" : "true");
	else if (!vr)
		printf("ok: %s is sound\n", argv[optind]);
	int rc = CLI_OK;
	if (vr && !json)
		rc = cli_fail(st, vr, "verify");
	else if (vr)
		rc = CLI_ERR;
	vl_close(st);
	return rc;
}

int cmd_drop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	const char *coll = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, "c:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'h':
			printf("usage: veclite drop STORE -c NAME\n\nDelete collection NAME and its files.\n");
			return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 1 || !coll)
		return cli_usage_error("expected STORE and -c NAME");
	vl_store *st = cli_open_store(argv[optind], 0);
	if (!st)
		return CLI_ERR;
	int vr = vl_collection_drop(st, coll);
	int rc = vr ? cli_fail(st, vr, "drop") : CLI_OK;
	if (!vr)
		printf("dropped '%s'\n", coll);
	vl_close(st);
	return rc;
}
