/* redis_fixture.c - private redis-server + minimal RESP client for tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_fixture.h"

int vl_redis_available(void)
{
	return system("command -v redis-server >/dev/null 2>&1") == 0;
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	int port = -1;
	if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	close(s);
	return port;
}

static int connect_port(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
		close(s);
		return -1;
	}
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return s;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_byte(int fd, char *c)
{
	for (;;) {
		ssize_t n = read(fd, c, 1);
		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char c;
	while (read_byte(fd, &c) == 0) {
		if (c == '\n') {
			if (n && buf[n - 1] == '\r')
				n--;
			buf[n] = 0;
			return 0;
		}
		if (n + 1 < cap)
			buf[n++] = c;
	}
	return -1;
}

/* Read one reply; nested arrays are consumed. Returns 0, -1 error reply/I/O. */
static int read_reply(vl_redis *r, char *reply, size_t cap)
{
	char line[512];
	if (read_line(r->fd, line, sizeof line) < 0) {
		snprintf(r->err, sizeof r->err, "connection lost");
		return -1;
	}
	if (reply && cap)
		reply[0] = 0;
	switch (line[0]) {
	case '+':
	case ':':
		if (reply && cap)
			snprintf(reply, cap, "%s", line + 1);
		return 0;
	case '-':
		snprintf(r->err, sizeof r->err, "%s", line + 1);
		return -1;
	case '$': {
		long n = atol(line + 1);
		if (n < 0)
			return 0;
		size_t got = 0;
		char c;
		for (long i = 0; i < n + 2; i++) {
			if (read_byte(r->fd, &c) < 0)
				return -1;
			if (i < n && reply && got + 1 < cap)
				reply[got++] = c;
		}
		if (reply && cap)
			reply[got] = 0;
		return 0;
	}
	case '*': {
		long n = atol(line + 1);
		int rc = 0;
		for (long i = 0; i < n; i++)
			if (read_reply(r, NULL, 0) < 0)
				rc = -1;
		return rc;
	}
	default:
		snprintf(r->err, sizeof r->err, "bad reply '%s'", line);
		return -1;
	}
}

/* One write per command (and TCP_NODELAY): separate small writes would meet
 * Nagle's algorithm and delayed ACKs, 40 ms per command. */
static int send_cmd(vl_redis *r, int argc, const void *const *argv, const size_t *lens)
{
	size_t total = 32;
	for (int i = 0; i < argc; i++)
		total += lens[i] + 32;
	char *msg = malloc(total);
	if (!msg)
		return -1;
	size_t n = (size_t)snprintf(msg, total, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		n += (size_t)snprintf(msg + n, total - n, "$%zu\r\n", lens[i]);
		memcpy(msg + n, argv[i], lens[i]);
		n += lens[i];
		memcpy(msg + n, "\r\n", 2);
		n += 2;
	}
	int rc = write_all(r->fd, msg, n);
	free(msg);
	return rc;
}

int vl_redis_cmdv(vl_redis *r, char *reply, size_t cap, int argc, const void *const *argv,
                  const size_t *lens)
{
	if (send_cmd(r, argc, argv, lens) < 0) {
		snprintf(r->err, sizeof r->err, "write failed");
		return -1;
	}
	return read_reply(r, reply, cap);
}

int vl_redis_cmd(vl_redis *r, const char *arg0, ...)
{
	const void *argv[64];
	size_t lens[64];
	int argc = 0;
	va_list ap;
	va_start(ap, arg0);
	for (const char *a = arg0; a && argc < 64; a = va_arg(ap, const char *)) {
		argv[argc] = a;
		lens[argc++] = strlen(a);
	}
	va_end(ap);
	return vl_redis_cmdv(r, NULL, 0, argc, argv, lens);
}

/* Batches of 64 commands keep the socket buffers from filling up, so plain
 * send-then-read cannot deadlock. */
int vl_redis_pipeline(vl_redis *r, size_t n, const int *argc, const void *const *argv,
                      const size_t *lens)
{
	size_t at = 0;
	int rc = 0;
	for (size_t done = 0; done < n;) {
		size_t batch = n - done < 64 ? n - done : 64;
		for (size_t i = 0; i < batch; i++) {
			if (send_cmd(r, argc[done + i], argv + at, lens + at) < 0)
				return -1;
			at += (size_t)argc[done + i];
		}
		for (size_t i = 0; i < batch; i++)
			if (read_reply(r, NULL, 0) < 0)
				rc = -1;
		done += batch;
	}
	return rc;
}

int vl_redis_start(vl_redis *r, const char *const *extra)
{
	return vl_redis_start_rdb(r, extra, NULL, 0);
}

int vl_redis_start_rdb(vl_redis *r, const char *const *extra, const uint8_t *rdb, size_t len)
{
	memset(r, 0, sizeof *r);
	r->fd = -1;
	snprintf(r->dir, sizeof r->dir, "/tmp/vl-redis-XXXXXX");
	if (!mkdtemp(r->dir)) {
		snprintf(r->err, sizeof r->err, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(r->rdb_path, sizeof r->rdb_path, "%s/dump.rdb", r->dir);
	if (rdb) {
		FILE *f = fopen(r->rdb_path, "wb");
		if (!f || fwrite(rdb, 1, len, f) != len) {
			if (f)
				fclose(f);
			snprintf(r->err, sizeof r->err, "cannot write %s", r->rdb_path);
			return -1;
		}
		fclose(f);
	}
	for (int attempt = 0; attempt < 5 && r->fd < 0; attempt++) {
		r->port = free_port();
		char port[16];
		snprintf(port, sizeof port, "%d", r->port);
		const char *argv[64] = { "redis-server", "--port", port, "--bind", "127.0.0.1",
			                 "--dir", r->dir, "--dbfilename", "dump.rdb", "--save", "",
			                 "--appendonly", "no", "--daemonize", "no", "--logfile", "" };
		int argc = 17;
		char logf[128];
		snprintf(logf, sizeof logf, "%s/redis.log", r->dir);
		argv[16] = logf;
		for (int i = 0; extra && extra[i] && argc < 63; i++)
			argv[argc++] = extra[i];
		argv[argc] = NULL;
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			execvp("redis-server", (char *const *)argv);
			_exit(127);
		}
		r->pid = pid;
		for (int i = 0; i < 200 && r->fd < 0; i++) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid) {
				r->pid = 0;
				break; /* died: port taken or bad option; retry */
			}
			r->fd = connect_port(r->port);
		}
		if (r->fd < 0 && r->pid) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
			r->pid = 0;
		}
	}
	if (r->fd < 0) {
		snprintf(r->err, sizeof r->err, "redis-server did not start (see %s/redis.log)", r->dir);
		return -1;
	}
	char pong[16];
	const void *ping[] = { "PING" };
	size_t pl[] = { 4 };
	for (int i = 0; i < 100; i++) {
		if (vl_redis_cmdv(r, pong, sizeof pong, 1, ping, pl) == 0 && strcmp(pong, "PONG") == 0)
			break;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	char info[4096];
	const void *iv[] = { "INFO", "server" };
	size_t il[] = { 4, 6 };
	if (vl_redis_cmdv(r, info, sizeof info, 2, iv, il) == 0) {
		const char *v = strstr(info, "redis_version:");
		if (v)
			sscanf(v + 14, "%31[^\r\n]", r->version);
	}
	return 0;
}

int vl_redis_save(vl_redis *r, uint8_t **buf, size_t *len)
{
	if (vl_redis_cmd(r, "SAVE", NULL) < 0)
		return -1;
	FILE *f = fopen(r->rdb_path, "rb");
	if (!f) {
		snprintf(r->err, sizeof r->err, "open %s: %s", r->rdb_path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0) {
		fclose(f);
		return -1;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	size_t got = *buf ? fread(*buf, 1, *len, f) : 0;
	fclose(f);
	if (got != *len) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

void vl_redis_stop(vl_redis *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	if (r->dir[0]) {
		char path[128];
		const char *files[] = { "dump.rdb", "redis.log" };
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof path, "%s/%s", r->dir, files[i]);
			unlink(path);
		}
		rmdir(r->dir);
		r->dir[0] = 0;
	}
}
