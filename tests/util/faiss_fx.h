/*
 * faiss_fx.h - FAISS fixtures for the tests: files written by the real FAISS
 * (tests/faiss_fixtures.py run with /usr/bin/python3) once per version of
 * the script, into a temp directory shared by the test processes.
 */
#ifndef VL_TEST_FAISS_FX_H
#define VL_TEST_FAISS_FX_H

#include <stddef.h>
#include <stdint.h>

/* Directory holding the fixtures (generated on first use, under a lock).
 * Aborts the test with a message when python3-faiss is missing or fails. */
const char *faiss_fx_dir(void);

/* Whole file into a malloc'd buffer of exactly its size (so ASan sees any
 * read past the end); NULL if missing. */
uint8_t *faiss_fx_slurp(const char *path, size_t *len);
/* Same for "<dir>/<name><ext>". */
uint8_t *faiss_fx_file(const char *name, const char *ext, size_t *len);

/* A value from "<name>.info" ("key value" lines); NULL if absent.
 * Returns a static buffer (overwritten by the next call). */
const char *faiss_fx_info(const char *name, const char *key);
long long faiss_fx_info_int(const char *name, const char *key, long long dflt);

/* Run a shell command; returns its exit status (-1 if it could not run). */
int faiss_fx_run(const char *cmd);

#endif
