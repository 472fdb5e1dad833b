/*
 * test_spillw.c - engine/io/spillw.c: appends of any size land in the file
 * in order from the start offset, the CRC covers them all, and a failed
 * write (errno, or zero bytes) is reported and stops the writing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "io/segwriter.h"
#include "io/spillw.h"
#include "util/tstore.h"

static vl_io_hooks saved;
static int fail_at, fail_errno, writes;

static ssize_t hook_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (++writes == fail_at) {
		if (!fail_errno)
			return 0;
		errno = fail_errno;
		return -1;
	}
	return saved.pwrite(fd, buf, n, off);
}

static void hook(int at, int err)
{
	saved = vl_io;
	vl_io.pwrite = hook_pwrite;
	fail_at = at;
	fail_errno = err;
	writes = 0;
}

static void unhook(void) { vl_io = saved; }

static int temp_file(char **path)
{
	char *dir = ts_tmpdir("spillw");
	*path = malloc(strlen(dir) + 16);
	cr_assert(*path);
	sprintf(*path, "%s/spill", dir);
	free(dir);
	int fd = open(*path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	return fd;
}

/* Appends of 1..3000 bytes through 4 KiB buffers: the file from offset 100
 * holds exactly the bytes appended, and the CRC is theirs. */
Test(spillw, appends_land_in_order)
{
	char *path;
	int fd = temp_file(&path);
	size_t total = 0, cap = 1 << 20;
	uint8_t *want = malloc(cap);
	cr_assert(want);
	vl_spillw *w;
	cr_assert_eq(vl_spillw_new(fd, 100, 4096, &w), VL_OK);
	ts_rng r = { 5 };
	while (total < 600000) {
		size_t n = 1 + (size_t)(ts_next(&r) % 3000);
		for (size_t i = 0; i < n; i++)
			want[total + i] = (uint8_t)ts_next(&r);
		cr_assert_eq(vl_spillw_append(w, want + total, n), 0);
		total += n;
	}
	uint32_t crc;
	cr_assert_eq(vl_spillw_finish(w, &crc), 0);
	vl_spillw_free(w);
	cr_assert_eq(crc, vl_crc32c(0, want, total));
	uint8_t *got = malloc(total + 100);
	cr_assert(got);
	cr_assert_eq(pread(fd, got, total + 100, 0), (ssize_t)(total + 100), "file length");
	for (size_t i = 0; i < 100; i++)
		cr_assert_eq(got[i], 0, "byte %zu before the start offset was written", i);
	cr_assert(memcmp(got + 100, want, total) == 0, "file content differs");
	free(got);
	free(want);
	close(fd);
	unlink(path);
	free(path);
}

/* Write 3 fails (ENOSPC, EIO, or writes 0 bytes): an append or the finish
 * reports it, and nothing is written after it. */
Test(spillw, failed_write_is_reported_and_stops)
{
	const int errs[] = { ENOSPC, EIO, 0 };
	for (int k = 0; k < 3; k++) {
		char *path;
		int fd = temp_file(&path);
		hook(3, errs[k]);
		vl_spillw *w;
		cr_assert_eq(vl_spillw_new(fd, 0, 1024, &w), VL_OK);
		uint8_t row[256];
		memset(row, 0x5a, sizeof row);
		int first = 0, appends = 0;
		for (int i = 0; i < 200 && !first; i++, appends++)
			first = vl_spillw_append(w, row, sizeof row);
		uint32_t crc;
		int fin = vl_spillw_finish(w, &crc);
		vl_spillw_free(w);
		unhook();
		int want = errs[k] ? errs[k] : ENOSPC;
		cr_assert(first == want || (first == 0 && fin == want), "case %d: append %d, finish %d", k,
		          first, fin);
		cr_assert_eq(fin, want, "case %d: finish %d", k, fin);
		cr_assert_lt(appends, 200, "case %d: the failure surfaced only at the end", k);
		cr_assert_eq(writes, 3, "case %d: %d writes, none after the failed one", k, writes);
		close(fd);
		unlink(path);
		free(path);
	}
}
