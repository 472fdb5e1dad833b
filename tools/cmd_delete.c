/* cmd_delete.c - veclite delete: remove rows by key. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
	printf("usage: veclite delete STORE [-c NAME] KEY... [--json]\n\n"
	       "Delete the rows stored under the KEYs in one transaction. Keys that do not\n"
	       "exist are ignored; the number deleted is printed.\n\n"
	       "  -c, --collection NAME  collection (default: default)\n"
	       "      --json             print {\"deleted\": N}\n");
}

int cmd_delete(int argc, char **argv)
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
	if (argc - optind < 2)
		return cli_usage_error("expected STORE and at least one KEY");
	size_t n = (size_t)(argc - optind - 1);
	const void **keys = calloc(n, sizeof *keys);
	size_t *lens = calloc(n, sizeof *lens);
	if (!keys || !lens) {
		free(keys);
		free(lens);
		return cli_error("out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		keys[i] = argv[optind + 1 + (int)i];
		lens[i] = strlen(argv[optind + 1 + (int)i]);
	}
	int rc = CLI_ERR;
	vl_store *st = cli_open_store(argv[optind], 0);
	vl_collection *col = st ? cli_open_coll(st, coll) : NULL;
	vl_txn *t = NULL;
	size_t deleted = 0;
	if (col) {
		int vr = vl_txn_begin(st, &t);
		if (!vr)
			vr = vl_delete(t, col, keys, lens, n, &deleted);
		if (!vr) {
			vr = vl_txn_commit(t);
			t = NULL;
		}
		if (vr) {
			vl_txn_abort(t);
			rc = cli_fail(st, vr, "delete");
		} else if (json) {
			printf("{\"deleted\": %zu}\n", deleted);
			rc = CLI_OK;
		} else {
			printf("deleted %zu of %zu key(s)\n", deleted, n);
			rc = CLI_OK;
		}
	}
	vl_collection_close(col);
	vl_close(st);
	free(keys);
	free(lens);
	return rc;
}
