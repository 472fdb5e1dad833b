/* test_readme.c - the C example in README.md compiles against the library and runs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tstore.h"

Test(readme, c_example_compiles_and_runs)
{
	char *dir = ts_tmpdir("readme");
	const char *lib = getenv("VECLITE_LIB"), *ldf = getenv("VECLITE_LDFLAGS");
	char cmd[4096];
	/* the first ```c block of README.md */
	snprintf(cmd, sizeof cmd,
	         "awk '/^```c$/{on=1; next} /^```$/{if (on) exit} on' README.md > %s/example.c && "
	         "cc -std=c11 -Wall -Wextra -Werror -Iengine %s -o %s/example %s/example.c %s -llmdb -lzstd -luring -lm -pthread 2>&1 && "
	         "cd %s && ./example && ./example",
	         dir, ldf ? ldf : "", dir, dir, lib && *lib ? lib : "build/libveclite.a", dir);
	char *out;
	int rc = ts_run(cmd, &out);
	cr_assert_eq(rc, 0, "README example failed:\n%s", out);
	/* run twice: the second run reopens the store and finds both films */
	cr_assert(strstr(out, "film:1 0.0"), "%s", out);
	cr_assert(strstr(out, "year=1994"), "%s", out);
	cr_assert(strstr(out, "film:2"), "%s", out);
	free(out);
	ts_rmtree(dir);
	free(dir);
}
