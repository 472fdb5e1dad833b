/* cmd_export.c - veclite export: every row as JSON Lines or .fvecs. */
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
	       "Write every row of one consistent snapshot, in key order.\n"
	       "  jsonl (default): {\"key\": ..., \"vector\": [...], \"fields\": {...}} per line, the\n"
	       "         original vectors with floats printed so they parse back to the identical\n"
	       "         float32; keys and values that are not UTF-8 go out as \"key_base64\" and\n"
	       "         {\"base64\": ...}. veclite load reads it back.\n"
	       "  fvecs: vectors only, in key order.\n"
	       "  faiss: a FAISS index file (IndexIDMap2 over IndexFlatL2/IP) that faiss.read_index()\n"
	       "         loads; keys must be decimal 64-bit integers (they become the ids); cosine\n"
	       "         collections are written as inner product over normalized vectors. Needs --out.\n\n"
	       "  -c, --collection NAME  collection (default: default)\n"
	       "      --format F         jsonl, fvecs or faiss\n"
	       "      --out FILE         write to FILE instead of standard output\n");
}

/* ---- FAISS: IndexIDMap2 over IndexFlat, rows in key order ---------------- */
typedef struct faiss_rows {
	vl_store *st;
	vl_cursor *cur;
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
	int vr = vl_cursor_next(fr->cur, &r);
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

static int export_faiss(const char *store, const char *coll, const char *outp)
{
	vl_store *st = cli_open_store(store, VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	int rc = CLI_ERR, vr;
	vl_collection *col = cli_open_coll(st, coll);
	vl_info *inf = NULL;
	faiss_rows fr = { .st = st };
	FILE *fp = NULL;
	if (!col)
		goto out;
	if ((vr = vl_collection_info(col, &inf)) || (vr = vl_cursor_open(col, &fr.cur))) {
		rc = cli_fail(st, vr, "export");
		goto out;
	}
	if (inf->metric == VL_METRIC_COSINE) {
		fr.normalize = 1;
		fprintf(stderr, "veclite export: note: FAISS has no cosine metric: writing normalized vectors "
		                "with inner product (same ranking)\n");
	}
	if (!strcmp(inf->index, "hnsw"))
		fprintf(stderr, "veclite export: note: the HNSW graph is not exported: writing IndexIDMap2 over a flat index\n");
	if (!(fp = fopen(outp, "wb"))) {
		rc = cli_error("cannot create %s: %s", outp, strerror(errno));
		goto out;
	}
	vl_faiss_write_opts wo = {
		.dim = inf->dim, .count = inf->rows,
		.metric_type = inf->metric == VL_METRIC_L2 ? VL_FAISS_METRIC_L2 : VL_FAISS_METRIC_IP,
		.with_ids = 1, .row = faiss_row, .ctx = &fr,
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
	printf("exported %llu rows to %s (FAISS IndexIDMap2 over IndexFlat%s, d=%u)\n", (unsigned long long)inf->rows,
	       outp, inf->metric == VL_METRIC_L2 ? "L2" : "IP", inf->dim);
	rc = CLI_OK;
out:
	if (fp)
		fclose(fp);
	vl_cursor_close(fr.cur);
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
		{ 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION, *fmt = "jsonl", *outp = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, "c:o:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'F': fmt = optarg; break;
		case 'o': outp = optarg; break;
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
		return export_faiss(argv[optind], coll, outp);
	}
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
