/*
 * vftest.h - helpers for the tests of the text/vector-file codecs: a
 * private temporary directory per test process, running a Python script
 * (/usr/bin/python3 with numpy) that writes the independent expectations,
 * and whole-file read/write.
 */
#ifndef VL_TEST_VFTEST_H
#define VL_TEST_VFTEST_H

#include <stddef.h>

/* The test's temporary directory (created on first use). */
const char *vft_tmpdir(void);
/* tmpdir/name in a static buffer (valid until the 8th next call). */
const char *vft_path(const char *name);
/* Remove the temporary directory (use as a suite's .fini). */
void vft_cleanup(void);

/* Is /usr/bin/python3 with numpy available? */
int vft_have_python(void);
/* Run a Python script with argv[1] = the temporary directory; returns its
 * exit status (0 = success), -1 if it could not be run. */
int vft_python(const char *script);

/* Whole file into a malloc'd buffer (+1 NUL byte); NULL on error. */
void *vft_read_file(const char *path, size_t *len);
int vft_write_file(const char *path, const void *data, size_t len);

/* $VECLITE_DATA or "build/data". */
const char *vft_datadir(void);

#endif
