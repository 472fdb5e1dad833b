/*
 * concsoak.c - the concurrency soak (tests/util/concsoak.h) for a chosen
 * time: one writer process against reader threads and reader processes.
 *
 *   build/tests/concsoak [--seconds S] [--min-writes N] [--threads N] [--procs N]
 *                        [--writer-thread] [--kill-readers] [--dir D] [--seed S]
 *
 * Defaults: 60 s, 2 reader threads, 2 reader processes, writer process.
 * Prints operation counts; exit status 0 only with 0 inconsistencies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/concsoak.h"

int main(int argc, char **argv)
{
	cc_opts o = { NULL, 60, 0, 2, 2, 0, 0, 0 };
	char dirbuf[512];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (!strcmp(a, "--seconds") && more)
			o.seconds = atof(argv[++i]);
		else if (!strcmp(a, "--min-writes") && more)
			o.min_writes = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--threads") && more)
			o.reader_threads = atoi(argv[++i]);
		else if (!strcmp(a, "--procs") && more)
			o.reader_procs = atoi(argv[++i]);
		else if (!strcmp(a, "--dir") && more)
			o.dir = argv[++i];
		else if (!strcmp(a, "--seed") && more)
			o.seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--writer-thread"))
			o.writer_thread = 1;
		else if (!strcmp(a, "--kill-readers"))
			o.kill_readers = 1;
		else {
			fprintf(stderr, "usage: %s [--seconds S] [--min-writes N] [--threads N] [--procs N] [--writer-thread] "
			                "[--kill-readers] [--dir D] [--seed S]\n", argv[0]);
			return 2;
		}
	}
	if (!o.seed)
		o.seed = (uint64_t)time(NULL);
	if (!o.dir) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dirbuf, sizeof dirbuf, "%s/vl-concsoak-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
		o.dir = dirbuf;
	}
	printf("concsoak: %.0f s, writer %s, %d reader threads, %d reader processes%s, seed %llu, store %s\n",
	       o.seconds, o.writer_thread ? "thread" : "process", o.reader_threads, o.reader_procs,
	       o.kill_readers ? " (killed and restarted at random)" : "", (unsigned long long)o.seed, o.dir);
	fflush(stdout);
	cc_stats s;
	char why[1200];
	int rc = cc_run(&o, &s, why, sizeof why);
	uint64_t w = 0, r = 0;
	printf("%.1f s; writer operations:", s.seconds);
	for (int i = 0; i < CC_NWRITE; i++) {
		printf(" %s %llu", cc_write_name(i), (unsigned long long)s.writes[i]);
		w += s.writes[i];
	}
	printf(" (total %llu)\nreader operations:", (unsigned long long)w);
	for (int i = 0; i < CC_NREAD; i++) {
		printf(" %s %llu", cc_read_name(i), (unsigned long long)s.reads[i]);
		r += s.reads[i];
	}
	printf(" (total %llu)\n", (unsigned long long)r);
	printf("max rows %llu, reader processes killed mid-read %llu, data.mdb %llu bytes\n",
	       (unsigned long long)s.max_rows, (unsigned long long)s.reader_kills, (unsigned long long)s.lmdb_bytes);
	printf("inconsistencies %llu, failed reads %llu\n", (unsigned long long)s.inconsistencies,
	       (unsigned long long)s.read_errors);
	if (rc) {
		printf("FAILED: %s\n", why);
		return 1;
	}
	printf("PASSED\n");
	if (o.dir == dirbuf) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", o.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", o.dir);
	}
	return 0;
}
