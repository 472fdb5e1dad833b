/*
 * fuzz_import_opts.c - the command-line option parsing of `veclite
 * import-rdb` (tools/cmd_import_rdb.c), driven through cmd_import_rdb()
 * itself: the options are not factored into a pure function yet, so the
 * whole command runs, but in an empty sandbox directory where no dump file
 * exists, so every run ends at option checking or at opening the dump.
 *
 * Input: arguments separated by NUL bytes (at most 64). '/' is replaced by
 * '_' so every path the command sees stays inside the sandbox. The command
 * must return 0, 1 or 2 (CLI_OK, CLI_ERR, CLI_USAGE) and never crash; ASan
 * checks it frees everything (LeakSanitizer at exit).
 *
 * fuzz_import_opts.options closes the target's stdout/stderr (help and
 * usage text) during fuzz-run; libFuzzer keeps its own report stream.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_ARGS 64

static char sandbox[256];
static int home_fd = -1; /* the working directory libFuzzer's relative paths need */

static void cleanup(void)
{
	if (chdir("/") == 0) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", sandbox);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_import_opts: could not remove %s\n", sandbox);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(sandbox, sizeof sandbox, "%s/vlfuzz-opts-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	if (mkdir(sandbox, 0700) != 0 || (home_fd = open(".", O_RDONLY | O_DIRECTORY)) < 0) {
		perror(sandbox);
		abort();
	}
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	char *argv[MAX_ARGS + 2];
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	for (size_t i = 0; i < size; i++)
		if (copy[i] == '/')
			copy[i] = '_';
	int argc = 0;
	argv[argc++] = "import-rdb";
	for (size_t i = 0; i < size && argc <= MAX_ARGS; i += strlen(copy + i) + 1)
		argv[argc++] = copy + i;
	argv[argc] = NULL;
	if (chdir(sandbox) != 0)
		abort();
	cli_cmd = "import-rdb";
	optind = 0; /* a previous run may have left getopt mid-way (one command per process in the CLI) */
	int rc = cmd_import_rdb(argc, argv);
	if (rc != CLI_OK && rc != CLI_ERR && rc != CLI_USAGE)
		abort();
	fflush(stdout);
	/* the dump never exists, so nothing may be created (no store directory) */
	DIR *d = opendir(".");
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			abort();
	if (d)
		closedir(d);
	if (fchdir(home_fd) != 0)
		abort();
	free(copy);
	return 0;
}
