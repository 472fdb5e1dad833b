/*
 * redis_fixture.h - run a private redis-server for tests that need dumps
 * written by the real Redis (tests/test_rdb*.c).
 *
 * The server listens on 127.0.0.1 at a free port, in a fresh temp directory,
 * with saving and AOF off; it is stopped by the pid this helper started.
 * Commands go over a tiny RESP client, so binary arguments (vector blobs)
 * arrive byte-exact.
 */
#ifndef VL_TEST_REDIS_FIXTURE_H
#define VL_TEST_REDIS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct vl_redis {
	pid_t pid;
	int port;
	int fd;                 /* connected client socket */
	char dir[64];           /* temp dir holding dump.rdb */
	char rdb_path[96];
	char version[32];       /* redis_version from INFO */
	char err[1024];         /* last error */
} vl_redis;

/* 1 if a redis-server binary is on PATH. */
int vl_redis_available(void);
/* Start a server; extra (NULL-terminated, may be NULL) is appended to the
 * command line, e.g. {"--rdbcompression", "no", NULL}. 0 on success. */
int vl_redis_start(vl_redis *r, const char *const *extra);
/* Start a server that loads `rdb` (len bytes) as its dump at startup. */
int vl_redis_start_rdb(vl_redis *r, const char *const *extra, const uint8_t *rdb, size_t len);
/* Send one command with binary arguments and read the reply. reply (may be
 * NULL) receives a simple/bulk/integer reply as text (truncated to cap-1).
 * Returns 0, or -1 on an error reply or I/O failure (r->err says why). */
int vl_redis_cmdv(vl_redis *r, char *reply, size_t cap, int argc, const void *const *argv,
                  const size_t *lens);
/* Text arguments, NULL-terminated. */
int vl_redis_cmd(vl_redis *r, const char *arg0, ...);
/* Send n commands back to back, then read n replies (fast bulk loading).
 * Each command is argc[i] args taken in order from argv/lens. */
int vl_redis_pipeline(vl_redis *r, size_t n, const int *argc, const void *const *argv,
                      const size_t *lens);
/* SAVE and read the dump into *buf (malloc'd, caller frees). */
int vl_redis_save(vl_redis *r, uint8_t **buf, size_t *len);
/* Kill the server (SIGKILL by pid), reap it, remove its temp dir. */
void vl_redis_stop(vl_redis *r);

#endif
