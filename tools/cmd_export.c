/* cmd_export.c - veclite export: every row as JSON Lines or .fvecs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rowout.h"
#include "vecfile.h"

static void help(void)
{
	printf("usage: veclite export STORE [-c NAME] [--format jsonl|fvecs] [--out FILE]\n\n"
	       "Write every row of one consistent snapshot, in key order.\n"
	       "  jsonl (default): {\"key\": ..., \"vector\": [...], \"fields\": {...}} per line, the\n"
	       "         original vectors with floats printed so they parse back to the identical\n"
	       "         float32; keys and values that are not UTF-8 go out as \"key_base64\" and\n"
	       "         {\"base64\": ...}. veclite load reads it back.\n"
	       "  fvecs: vectors only, in key order.\n\n"
	       "  -c, --collection NAME  collection (default: default)\n"
	       "      --format F         jsonl or fvecs\n"
	       "      --out FILE         write to FILE instead of standard output\n");
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
	if (!fvecs && strcmp(fmt, "jsonl"))
		return cli_usage_error("--format: '%s' is not jsonl or fvecs", fmt);
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
