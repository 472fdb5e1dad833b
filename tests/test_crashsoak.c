/*
 * test_crashsoak.c - the crash-consistency harness (tests/util/crashsoak.c)
 * in its quick mode: a worker process runs adds, replaces, deletes, bulk
 * loads, flushes, compactions, reindexes and `veclite import-rdb` and is
 * SIGKILLed at random moments; after every kill the store must open, pass
 * vl_verify, hold no leftover files and hold exactly the committed data.
 * The soak mode (hundreds of rounds) is the program tests/crashsoak.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/crashsoak.h"
#include "util/redis_fixture.h"
#include "util/tstore.h"

static char *dir;
static void setup(void) { dir = ts_tmpdir("crashsoak"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(crashsoak, .init = setup, .fini = teardown, .timeout = 300);

/* The import needs the CLI and redis-server; without them the rest still runs. */
static const char *import_cli(void)
{
	const char *cli = ts_cli();
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "%s import-rdb --help >/dev/null 2>&1", cli);
	if (!vl_redis_available() || access(cli, X_OK) != 0 || ts_run(cmd, NULL) != 0) {
		fprintf(stderr, "crashsoak: no import-rdb rounds (CLI or redis-server missing)\n");
		return NULL;
	}
	return cli;
}

static void run(int rounds, uint64_t seed, int max_ms, const char *cli, int need_commits)
{
	char store[1100];
	snprintf(store, sizeof store, "%s/store", dir);
	cs_opts o = { store, rounds, seed, max_ms, need_commits ? CS_KILL_AFTER_COMMIT : CS_KILL_AFTER_START,
		      cli, 0 };
	cs_stats s;
	char why[2048];
	int rc = cs_run(&o, &s, why, sizeof why);
	cr_assert_eq(rc, 0, "seed %llu: %s", (unsigned long long)seed, why);
	cr_assert_eq(s.rounds, rounds);
	cr_assert_eq(s.lost, 0);
	cr_assert_eq(s.bad_opens, 0);
	uint64_t commits = 0;
	for (int i = 0; i < CS_NOPS; i++)
		commits += s.committed[i];
	if (need_commits) {
		cr_assert_geq(commits, (uint64_t)rounds, "every round commits something before its kill");
		cr_assert_gt(s.rows_checked, 0);
	}
}

/* A fixed seed, so CI runs are reproducible; kills spread over 0..150 ms
 * after each round's first commit. */
Test(crashsoak, quick_fixed_seed) { run(12, 20261121, 150, import_cli(), 1); }

/* Kills early in the worker's life: during its open or its first
 * operations (a slow sanitizer build may commit nothing at all). */
Test(crashsoak, quick_early_kills) { run(10, 7, 25, NULL, 0); }
