/* cmd_put.c - veclite put: insert or replace one row. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
	printf("usage: veclite put STORE [-c NAME] KEY --vector JSON [--field NAME=VALUE]...\n\n"
	       "Insert or replace the row KEY in one durable transaction.\n\n"
	       "  -c, --collection NAME  collection (default: default)\n"
	       "      --vector JSON      the vector, e.g. '[0.1, 0.2, 0.3]'\n"
	       "      --field NAME=VALUE an attribute value (numeric fields take a number; tag\n"
	       "                         fields a comma-separated list of tags)\n");
}

int cmd_put(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "vector", required_argument, 0, 'v' },
		{ "field", required_argument, 0, 'f' },      { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION, *vec = NULL;
	cli_strs fields = { 0 };
	int c, rc = CLI_OK;
	while ((c = cli_getopt(argc, argv, "c:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'v': vec = optarg; break;
		case 'f':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				rc = cli_usage_error("--field '%s': expected NAME=VALUE", optarg);
			else
				rc = cli_strs_push(&fields, optarg);
			break;
		case 'h': help(); cli_strs_free(&fields); return CLI_OK;
		default: rc = CLI_USAGE;
		}
		if (rc) {
			cli_strs_free(&fields);
			return rc;
		}
	}
	if (argc - optind != 2 || !vec) {
		cli_strs_free(&fields);
		return cli_usage_error("expected STORE, KEY and --vector");
	}
	float *v = NULL;
	uint32_t dim;
	vl_value *vals = calloc(fields.n + 1, sizeof *vals);
	char **names = calloc(fields.n + 1, sizeof *names);
	if (!vals || !names) {
		rc = cli_error("out of memory");
		goto out0;
	}
	if ((rc = cli_parse_vector(vec, &v, &dim)))
		goto out0;
	for (size_t i = 0; i < fields.n; i++) {
		char *eq = strchr(fields.v[i], '=');
		names[i] = strndup(fields.v[i], (size_t)(eq - fields.v[i]));
		if (!names[i]) {
			rc = cli_error("out of memory");
			goto out0;
		}
		vals[i] = (vl_value){ names[i], eq + 1, strlen(eq + 1), 0 };
	}
	vl_store *st = cli_open_store(argv[optind], 0);
	if (!st) {
		rc = CLI_ERR;
		goto out0;
	}
	vl_collection *col = cli_open_coll(st, coll);
	if (col) {
		const char *key = argv[optind + 1];
		vl_row row = { key, strlen(key), v, dim, vals, fields.n };
		int vr = vl_put(col, &row);
		rc = vr ? cli_fail(st, vr, "put") : CLI_OK;
		vl_collection_close(col);
	} else {
		rc = CLI_ERR;
	}
	vl_close(st);
out0:
	for (size_t i = 0; names && i < fields.n; i++)
		free(names[i]);
	free(names);
	free(vals);
	free(v);
	cli_strs_free(&fields);
	return rc;
}
