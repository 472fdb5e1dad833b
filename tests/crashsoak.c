/*
 * crashsoak.c - the crash-consistency soak (tests/util/crashsoak.h): many
 * rounds of "run a random write/maintenance workload in a worker process,
 * SIGKILL it at a random moment, reopen, verify, compare with the model".
 *
 *   build/tests/crashsoak [--rounds N] [--seed S] [--max-kill-ms M]
 *                         [--dir D] [--no-import] [--cli PATH] [-v]
 *
 * Defaults: 200 rounds, a seed from the clock (printed, to replay a
 * failure), kills within 300 ms of the worker's first commit (even rounds)
 * or of its first operation's start (odd rounds: kills before any commit), import
 * rounds when the CLI ($VECLITE_CLI or build/veclite) and redis-server are
 * there. Prints the figures; exit status 0 only when every round passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/crashsoak.h"
#include "util/redis_fixture.h"

int main(int argc, char **argv)
{
	cs_opts o = { NULL, 200, 0, 300, CS_KILL_ALTERNATE, NULL, 0 };
	const char *cli = getenv("VECLITE_CLI");
	int import = 1;
	char dirbuf[512];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--rounds") && v)
			o.iterations = atoi(argv[++i]);
		else if (!strcmp(a, "--seed") && v)
			o.seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--max-kill-ms") && v)
			o.max_kill_ms = atoi(argv[++i]);
		else if (!strcmp(a, "--dir") && v)
			o.dir = argv[++i];
		else if (!strcmp(a, "--cli") && v)
			cli = argv[++i];
		else if (!strcmp(a, "--no-import"))
			import = 0;
		else if (!strcmp(a, "-v"))
			o.verbose = 1;
		else {
			fprintf(stderr, "usage: %s [--rounds N] [--seed S] [--max-kill-ms M] [--dir D] [--no-import] "
			                "[--cli PATH] [-v]\n", argv[0]);
			return 2;
		}
	}
	if (!o.seed)
		o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (!o.dir) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dirbuf, sizeof dirbuf, "%s/vl-crashsoak-%ld/store", tmp && *tmp ? tmp : "/tmp",
		         (long)getpid());
		o.dir = dirbuf;
	}
	/* the Redis dumps go next to the store: its parent must exist */
	const char *slash = strrchr(o.dir, '/');
	if (slash && slash != o.dir) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, "mkdir -p '%.*s'", (int)(slash - o.dir), o.dir);
		if (system(cmd) != 0)
			return 1;
	}
	if (!cli)
		cli = "build/veclite";
	if (import && access(cli, X_OK) == 0 && vl_redis_available()) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, "%s import-rdb --help >/dev/null 2>&1", cli);
		if (system(cmd) == 0)
			o.cli = cli;
	}
	printf("crashsoak: %d rounds, seed %llu, kills within %d ms, import rounds %s, store %s\n", o.iterations,
	       (unsigned long long)o.seed, o.max_kill_ms, o.cli ? "on" : "off", o.dir);
	fflush(stdout);
	cs_stats s;
	char why[2048];
	int rc = cs_run(&o, &s, why, sizeof why);
	uint64_t commits = 0;
	for (int i = 0; i < CS_NOPS; i++)
		commits += s.committed[i];
	printf("rounds %d in %.1f s; committed operations %llu:", s.rounds, s.seconds,
	       (unsigned long long)commits);
	for (int i = 0; i < CS_NOPS; i++)
		printf(" %s %llu", cs_op_name(i), (unsigned long long)s.committed[i]);
	printf("\nkills inside:");
	for (int i = 0; i < CS_NOPS; i++)
		printf(" %s %llu", cs_op_name(i), (unsigned long long)s.killed_in[i]);
	printf("; between operations %llu\n", (unsigned long long)s.killed_between);
	printf("in-flight operation found committed after the kill: %llu rounds; rows compared: %llu\n",
	       (unsigned long long)s.in_flight_applied, (unsigned long long)s.rows_checked);
	printf("lost committed operations: %llu; stores failing to open or verify: %llu\n",
	       (unsigned long long)s.lost, (unsigned long long)s.bad_opens);
	if (rc) {
		printf("FAILED (seed %llu): %s\n", (unsigned long long)o.seed, why);
		return 1;
	}
	printf("PASSED\n");
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(o.dir, '/') - o.dir), o.dir);
	if (o.dir == dirbuf && system(cmd) != 0)
		fprintf(stderr, "could not remove the store\n");
	return 0;
}
