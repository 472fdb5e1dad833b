/*
 * veclite.c - the veclite command-line tool: git-style subcommands.
 *
 * Adding a subcommand: write tools/cmd_<name>.c with
 * `int cmd_<name>(int argc, char **argv)`, declare it in cli.h and list it
 * in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} command;

static const command commands[] = {
	{ "create", cmd_create, "create a collection in a store (creates the store if needed)" },
	{ "load", cmd_load, "load vectors from .fvecs/.bvecs/.npy/JSON Lines files" },
	{ "put", cmd_put, "insert or replace one row" },
	{ "get", cmd_get, "print one row by key" },
	{ "delete", cmd_delete, "delete rows by key" },
	{ "search", cmd_search, "nearest-neighbour search, with optional filter" },
	{ "export", cmd_export, "write every row as JSON Lines or .fvecs" },
	{ "info", cmd_info, "describe a store or a collection" },
	{ "list", cmd_list, "list the collections of a store" },
	{ "drop", cmd_drop, "delete a collection and its files" },
	{ "flush", cmd_flush, "write the buffer of recent writes into a segment" },
	{ "compact", cmd_compact, "merge segments and drop deleted rows" },
	{ "reindex", cmd_reindex, "rebuild with another index/storage, with a migration report" },
	{ "verify", cmd_verify, "recompute every checksum and cross-check the store" },
	{ "advise", cmd_advise, "recommend a storage type: from the dim, or measured on your vectors" },
	{ "import-rdb", cmd_import_rdb, "import vectors from a Redis dump file (RDB), or --inspect it" },
	{ "import-faiss", cmd_import_faiss, "import a FAISS index file, or --inspect it" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
	fprintf(out, "usage: veclite <command> [options]   (veclite <command> --help for details)\n\n"
	             "veclite %s: an embeddable on-disk vector store. A store is a directory.\n\ncommands:\n",
	        VL_VERSION_STRING);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-12s %s\n", "version", "print the version");
	fprintf(out, "\nexit status: 0 success, 1 an operation failed, 2 bad usage\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(name, "version") || !strcmp(name, "--version")) {
		printf("veclite %s\n", VL_VERSION_STRING);
		return CLI_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(name, commands[i].name)) {
			cli_cmd = commands[i].name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "veclite: unknown command '%s'\n\n", name);
	usage(stderr);
	return CLI_USAGE;
}
