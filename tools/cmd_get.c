/* cmd_get.c - veclite get: print one row by key. */
#include <string.h>

#include "cli.h"
#include "rowout.h"

static void help(void)
{
	printf("usage: veclite get STORE [-c NAME] KEY [--json]\n\n"
	       "Print the row stored under KEY: its original vector and its fields.\n"
	       "Exit status 1 (with a message) when the key does not exist.\n\n"
	       "  -c, --collection NAME  collection (default: default)\n"
	       "      --json             one JSON Lines row, as veclite export writes it\n");
}

int cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "json", no_argument, 0, 'J' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION;
	int json = 0, c;
	while ((c = cli_getopt(argc, argv, "c:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'J': json = 1; break;
		case 'h': help(); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("expected STORE and KEY");
	vl_store *st = cli_open_store(argv[optind], VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	vl_collection *col = cli_open_coll(st, coll);
	int rc = CLI_ERR;
	cli_schema sc = { 0 };
	vl_record *r = NULL;
	if (!col || cli_schema_load(col, &sc, st))
		goto out;
	const char *key = argv[optind + 1];
	int vr = vl_get(col, key, strlen(key), &r);
	if (vr) {
		rc = cli_fail(st, vr, "get");
		goto out;
	}
	vl_sink s;
	cli_json_begin(&s);
	if (json) {
		cli_write_row_jsonl(&s, &sc, r);
	} else {
		vl_sink_puts(&s, "key: ");
		cli_json_bytes(&s, r->key, r->key_len);
		vl_sink_puts(&s, "\nvector: [");
		for (uint32_t i = 0; i < r->dim; i++) {
			if (i)
				vl_sink_puts(&s, ", ");
			cli_json_f32(&s, r->vector[i]);
		}
		vl_sink_puts(&s, "]\n");
		for (uint32_t i = 0; i < r->nvalues; i++) {
			vl_sink_puts(&s, r->values[i].field);
			vl_sink_puts(&s, ": ");
			cli_json_value(&s, &r->values[i], cli_schema_type(&sc, r->values[i].field));
			vl_sink_putc(&s, '\n');
		}
	}
	rc = cli_json_end(&s);
out:
	vl_free(r);
	cli_schema_free(&sc);
	vl_collection_close(col);
	vl_close(st);
	return rc;
}
