/* cmd_load.c - veclite load: vectors (+ keys and fields) from files. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vecfile.h"

static void help(void)
{
	printf("usage: veclite load STORE [-c NAME] FILE... [--format F] [--batch N] [--bulk]\n"
	       "                    [--add-fields] [--skip-bad] [--json] [--quiet]\n\n"
	       "Insert or replace rows from .fvecs, .bvecs, .npy (float32/64/16), IDX (idx3-ubyte)\n"
	       "and JSON Lines files: {\"key\": ..., \"vector\": [...], \"fields\": {...}} per line.\n"
	       "Rows without a key get their 0-based row number (counted across all FILEs) as key.\n\n"
	       "  -c, --collection NAME  collection (default: default); it must exist (veclite create)\n"
	       "      --format F         fvecs, bvecs, npy, idx, jsonl, json (default: by extension)\n"
	       "      --batch N          rows per transaction (default 10000); each batch is durable\n"
	       "                         when committed, so an interrupted load keeps whole batches\n"
	       "      --bulk             one atomic bulk load straight into a new segment (all or nothing)\n"
	       "      --add-fields       add fields the collection lacks (number: numeric, array of\n"
	       "                         strings: tag, string: text) instead of failing\n"
	       "      --skip-bad         skip bad rows (NaN/Inf, wrong dimension, malformed JSON line,\n"
	       "                         bad key) and count them, instead of failing\n"
	       "      --json             print the summary as JSON\n"
	       "      --quiet            no progress bar\n");
}

typedef struct loader {
	vl_store *st;
	vl_collection *c;
	const char *coll;
	vl_txn *txn;
	vl_bulk *bulk;
	uint64_t batch, in_batch;
	uint32_t dim;
	int add_fields, skip_bad;
	uint64_t rows, skipped, base;
	vl_value *vals;
	size_t vcap;
	cli_progress prog;
} loader;

static int commit_batch(loader *l)
{
	if (!l->txn)
		return CLI_OK;
	int rc = vl_txn_commit(l->txn);
	l->txn = NULL;
	l->in_batch = 0;
	if (rc)
		return cli_fail(l->st, rc, "commit");
	/* a committed load may have triggered an automatic flush that failed:
	 * the data is safe, the user should know */
	return CLI_OK;
}

static int field_known(loader *l, const char *name, vl_field_type *type)
{
	vl_info *inf;
	int rc = vl_collection_info(l->c, &inf);
	if (rc)
		return -1;
	int found = 0;
	for (size_t i = 0; i < inf->nfields; i++)
		if (!strcmp(inf->fields[i].name, name)) {
			*type = inf->fields[i].type;
			found = 1;
		}
	vl_info_free(inf);
	return found;
}

/* Add a field the collection lacks (between batches: no txn may be open). */
static int add_field(loader *l, const vl_jsonl_field *f)
{
	vl_field_type t;
	if (field_known(l, f->name, &t) == 1)
		return CLI_OK;
	if (l->bulk)
		return cli_error("field '%s' is not in the collection; --add-fields cannot add fields "
		                 "during --bulk (declare it with veclite create --field)", f->name);
	int rc = commit_batch(l);
	if (rc)
		return rc;
	vl_field nf = { f->name, f->kind == VL_JSONL_NUMBER ? VL_FIELD_NUMERIC
	                         : f->kind == VL_JSONL_TAGS ? VL_FIELD_TAG
	                                                    : VL_FIELD_TEXT };
	int vr = vl_collection_add_field(l->st, l->coll, &nf);
	if (vr && vr != VL_EEXIST)
		return cli_fail(l->st, vr, "adding a field");
	return CLI_OK;
}

static int put_row(loader *l, const vl_jsonl_row *r, const char *file)
{
	if (r->nfields > l->vcap) {
		vl_value *p = realloc(l->vals, r->nfields * sizeof *p);
		if (!p)
			return cli_error("out of memory");
		l->vals = p;
		l->vcap = r->nfields;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		const vl_jsonl_field *f = &r->fields[i];
		l->vals[i] = (vl_value){ f->name, f->data, f->len, f->num };
	}
	char key[32];
	vl_row row = { r->key, r->key_len, r->vector, r->dim, l->vals, r->nfields };
	if (!r->key_given) {
		int n = snprintf(key, sizeof key, "%" PRIu64, l->base + r->row);
		row.key = key;
		row.key_len = (size_t)n;
	}
	if (r->dim != l->dim) {
		if (l->skip_bad) {
			l->skipped++;
			return CLI_OK;
		}
		return cli_error("%s: row %" PRIu64 " has %u dimensions; the collection has %u", file, r->row,
		                 r->dim, l->dim);
	}
	int rc;
	if (l->bulk) {
		rc = vl_bulk_add(l->bulk, &row, 1);
	} else {
		if (!l->txn && (rc = vl_txn_begin(l->st, &l->txn)))
			return cli_fail(l->st, rc, "begin");
		rc = vl_upsert(l->txn, l->c, &row, 1);
	}
	if (rc == VL_ESCHEMA && l->add_fields && !l->bulk) {
		for (size_t i = 0; i < r->nfields; i++)
			if ((rc = add_field(l, &r->fields[i])))
				return rc;
		if (!l->txn && (rc = vl_txn_begin(l->st, &l->txn)))
			return cli_fail(l->st, rc, "begin");
		rc = vl_upsert(l->txn, l->c, &row, 1);
	}
	if (rc)
		return cli_fail(l->st, rc, file);
	l->rows++;
	if (!l->bulk && ++l->in_batch >= l->batch)
		return commit_batch(l);
	return CLI_OK;
}

static int load_file(loader *l, const char *path, vl_vecfmt fmt)
{
	vl_vecfile_opts vo = VL_VECFILE_OPTS_INIT;
	vo.fmt = fmt;
	vl_vecfile *vf;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_vecfile_open(path, &vo, &vf, &d))
		return cli_error("%s", d.msg);
	const vl_vecfile_info *info = vl_vecfile_info_get(vf);
	if (info->int_rows) {
		vl_vecfile_close(vf);
		return cli_error("%s: .ivecs holds integers (ground truth), not vectors", path);
	}
	if (info->dim != l->dim && !l->skip_bad) {
		uint32_t fdim = info->dim;
		vl_vecfile_close(vf);
		return cli_error("%s: vectors have %u dimensions; the collection has %u", path, fdim, l->dim);
	}
	int rc = CLI_OK;
	uint64_t last = 0;
	for (;;) {
		const vl_jsonl_row *r;
		vl_diag_clear(&d);
		int vr = vl_vecfile_next_row(vf, &r, &d);
		if (vr && l->skip_bad && vl_vecfile_skippable(vf)) {
			l->skipped++; /* NaN/Inf, malformed JSON line, bad key, wrong dim */
			continue;
		}
		if (vr) {
			rc = cli_error("%s", d.msg);
			break;
		}
		if (!r)
			break;
		last = r->row + 1;
		if ((rc = put_row(l, r, path)))
			break;
		if ((l->rows & 4095) == 0)
			cli_progress_cb(&l->prog, "load", vl_vecfile_row_index(vf),
			                info->rows == UINT64_MAX ? 0 : info->rows);
	}
	l->base += last;
	vl_vecfile_close(vf);
	return rc;
}

int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "format", required_argument, 0, 'F' },
		{ "batch", required_argument, 0, 'b' },      { "bulk", no_argument, 0, 'B' },
		{ "add-fields", no_argument, 0, 'A' },       { "skip-bad", no_argument, 0, 'K' },
		{ "json", no_argument, 0, 'J' },             { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION;
	vl_vecfmt fmt = VL_VECFMT_AUTO;
	loader l = { .batch = 10000 };
	int json = 0, quiet = 0, bulk = 0, c, rc = CLI_OK;
	while ((c = cli_getopt(argc, argv, "c:hq", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'F':
			if (vl_vecfmt_from_name(optarg, &fmt))
				return cli_usage_error("--format: unknown format '%s'", optarg);
			break;
		case 'b': rc = cli_parse_u64("--batch", optarg, 1, 100000000, &l.batch); break;
		case 'B': bulk = 1; break;
		case 'A': l.add_fields = 1; break;
		case 'K': l.skip_bad = 1; break;
		case 'J': json = 1; break;
		case 'q': quiet = 1; break;
		case 'h': help(); return CLI_OK;
		default: return CLI_USAGE;
		}
		if (rc)
			return rc;
	}
	if (argc - optind < 2)
		return cli_usage_error("expected STORE and at least one FILE");
	const char *store = argv[optind];
	if (!(l.st = cli_open_store(store, 0)))
		return CLI_ERR;
	l.coll = coll;
	if (!(l.c = cli_open_coll(l.st, coll))) {
		vl_close(l.st);
		return CLI_ERR;
	}
	vl_info *inf;
	int vr = vl_collection_info(l.c, &inf);
	if (vr) {
		rc = cli_fail(l.st, vr, "info");
		goto out;
	}
	l.dim = inf->dim;
	vl_info_free(inf);
	cli_progress_init(&l.prog, quiet);
	double t0 = cli_now();
	if (bulk) {
		vl_job_opts jo = VL_JOB_OPTS_INIT;
		jo.progress = cli_progress_cb;
		jo.progress_ud = &l.prog;
		if ((vr = vl_bulk_begin(l.c, &jo, &l.bulk))) {
			rc = cli_fail(l.st, vr, "bulk load");
			goto out;
		}
	}
	for (int i = optind + 1; i < argc && rc == CLI_OK; i++)
		rc = load_file(&l, argv[i], fmt);
	if (l.bulk) {
		if (rc == CLI_OK) {
			vr = vl_bulk_commit(l.bulk);
			if (vr)
				rc = cli_fail(l.st, vr, "bulk commit");
		} else {
			vl_bulk_abort(l.bulk);
		}
		l.bulk = NULL;
	} else if (rc == CLI_OK) {
		rc = commit_batch(&l);
	} else if (l.txn) {
		vl_txn_abort(l.txn); /* the failed batch; earlier ones stay committed */
	}
	cli_progress_done(&l.prog);
	double secs = cli_now() - t0;
	if (rc == CLI_OK) {
		if (json) {
			vl_sink s;
			cli_json_begin(&s);
			vl_sink_puts(&s, "{");
			cli_json_key(&s, "rows");
			cli_json_u64(&s, l.rows);
			vl_sink_puts(&s, ", ");
			cli_json_key(&s, "skipped");
			cli_json_u64(&s, l.skipped);
			vl_sink_puts(&s, ", ");
			cli_json_key(&s, "files");
			cli_json_u64(&s, (uint64_t)(argc - optind - 1));
			vl_sink_puts(&s, ", ");
			cli_json_key(&s, "seconds");
			cli_json_f64(&s, secs);
			vl_sink_puts(&s, "}\n");
			rc = cli_json_end(&s);
		} else {
			printf("loaded %" PRIu64 " rows from %d file(s)", l.rows, argc - optind - 1);
			if (l.skipped)
				printf(", skipped %" PRIu64 " bad rows", l.skipped);
			printf(" in %.2f s (%.0f rows/s)\n", secs, secs > 0 ? (double)l.rows / secs : 0.0);
		}
	}
out:
	free(l.vals);
	vl_collection_close(l.c);
	vl_close(l.st);
	return rc;
}
