/*
 * rdbimport_input.c - the dump as read by import-rdb's passes.
 *
 * A regular file is read from its start by every pass. A pipe (or "-",
 * standard input) can be read once only, so the detection passes keep what
 * they read (at most RI_PIPE_PREFIX bytes) and the import pass replays that
 * prefix before it continues with the pipe: `ssh host cat dump.rdb |
 * veclite import-rdb - STORE` works, in bounded memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdbimport.h"

int ri_input_open(ri_input *in, const char *path, volatile sig_atomic_t *stop)
{
	memset(in, 0, sizeof *in);
	in->stop = stop;
	in->fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0)
		return cli_error("cannot open %s: %s", path, strerror(errno));
	off_t end = lseek(in->fd, 0, SEEK_END);
	if (end < 0 && errno == ESPIPE) {
		in->pipe = 1;
		return CLI_OK;
	}
	if (end < 0 || lseek(in->fd, 0, SEEK_SET) != 0) {
		int e = errno;
		close(in->fd);
		in->fd = -1;
		return cli_error("cannot read %s: %s", path, strerror(e));
	}
	in->size = (uint64_t)end;
	posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return CLI_OK;
}

int ri_input_rewind(ri_input *in, int tee)
{
	in->tee = tee;
	in->full = 0;
	in->pos = 0;
	if (!in->pipe && lseek(in->fd, 0, SEEK_SET) != 0)
		return cli_error("cannot read the dump again: %s", strerror(errno));
	return CLI_OK;
}

/* read(2) that gives up with VL_ECANCELED when a signal asked to stop (an
 * import's reader thread receives the signals: a read blocked on a pipe then
 * returns EINTR). */
static int64_t read_fd(ri_input *in, void *buf, size_t cap)
{
	for (;;) {
		ssize_t n = read(in->fd, buf, cap);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return VL_EIO;
		if (in->stop && *in->stop)
			return VL_ECANCELED;
	}
}

int64_t ri_input_read(void *ud, void *buf, size_t cap)
{
	ri_input *in = ud;
	if (in->pos < in->pre_len) { /* replay what an earlier pass read from the pipe */
		size_t n = in->pre_len - in->pos;
		if (n > cap)
			n = cap;
		memcpy(buf, in->pre + in->pos, n);
		in->pos += n;
		return (int64_t)n;
	}
	if (!in->pipe || !in->tee) {
		if (in->pre) { /* the import pass is past the prefix: let it go */
			free(in->pre);
			in->pre = NULL;
			in->pre_cap = 0;
		}
		return read_fd(in, buf, cap);
	}
	if (in->pre_len >= RI_PIPE_PREFIX) {
		in->full = 1;
		return VL_ELIMIT;
	}
	if (cap > RI_PIPE_PREFIX - in->pre_len)
		cap = RI_PIPE_PREFIX - in->pre_len;
	if (in->pre_len + cap > in->pre_cap) {
		size_t ncap = in->pre_cap ? in->pre_cap : (1u << 20);
		while (ncap < in->pre_len + cap)
			ncap *= 2;
		uint8_t *p = realloc(in->pre, ncap);
		if (!p)
			return VL_ENOMEM;
		in->pre = p;
		in->pre_cap = ncap;
	}
	int64_t n = read_fd(in, in->pre + in->pre_len, cap);
	if (n > 0) {
		memcpy(buf, in->pre + in->pre_len, (size_t)n);
		in->pre_len += (size_t)n;
		in->pos = in->pre_len;
	}
	return n;
}

void ri_input_close(ri_input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	free(in->pre);
	memset(in, 0, sizeof *in);
	in->fd = -1;
}
