/* faiss_fx.c - FAISS fixtures for the tests (see faiss_fx.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faiss_fx.h"

#define SCRIPT "tests/faiss_fixtures.py"
#define PYTHON "/usr/bin/python3"

static char fx_dir[1024];

uint8_t *faiss_fx_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	struct stat st;
	if (fstat(fileno(f), &st) != 0)
		goto out;
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	if (buf && *len && fread(buf, 1, *len, f) != *len) {
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

uint8_t *faiss_fx_file(const char *name, const char *ext, size_t *len)
{
	char path[2048];
	snprintf(path, sizeof path, "%s/%s%s", faiss_fx_dir(), name, ext);
	return faiss_fx_slurp(path, len);
}

int faiss_fx_run(const char *cmd)
{
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* FNV-1a of the script: a new script version gets a fresh directory. */
static uint64_t script_hash(const char *path)
{
	size_t len;
	uint8_t *buf = faiss_fx_slurp(path, &len);
	cr_assert_not_null(buf, "cannot read %s (run the tests from the repository root)", path);
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 0x100000001b3ull;
	free(buf);
	return h;
}

static void generate(const char *script, const char *dir)
{
	char tmp[1100], cmd[8192], marker[1200];
	snprintf(tmp, sizeof tmp, "%s.tmp", dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && %s '%s' '%s' > '%s.log' 2>&1", tmp, PYTHON,
	         script, tmp, tmp);
	int rc = faiss_fx_run(cmd);
	if (rc != 0) {
		snprintf(cmd, sizeof cmd, "grep -v WARNING '%s.log' | tail -20 >&2", tmp);
		faiss_fx_run(cmd);
		cr_assert_fail("%s %s failed (exit %d): is python3-faiss installed?", PYTHON, script,
		               rc);
	}
	snprintf(marker, sizeof marker, "%s/MANIFEST", tmp);
	cr_assert(access(marker, R_OK) == 0, "fixture script wrote no MANIFEST");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mv '%s' '%s'", dir, tmp, dir);
	cr_assert_eq(faiss_fx_run(cmd), 0, "cannot move the fixtures into %s", dir);
}

const char *faiss_fx_dir(void)
{
	if (fx_dir[0])
		return fx_dir;
	const char *script = SCRIPT;
	char alt[1024];
	if (access(script, R_OK) != 0 && getenv("VECLITE_SRC")) {
		snprintf(alt, sizeof alt, "%s/%s", getenv("VECLITE_SRC"), SCRIPT);
		script = alt;
	}
	uint64_t h = script_hash(script);
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[1024], lockpath[1100], marker[1100];
	snprintf(dir, sizeof dir, "%s/veclite-faiss-%u-%016llx", base, (unsigned)getuid(),
	         (unsigned long long)h);
	snprintf(lockpath, sizeof lockpath, "%s.lock", dir);
	snprintf(marker, sizeof marker, "%s/MANIFEST", dir);
	int fd = open(lockpath, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	cr_assert(fd >= 0, "open %s: %s", lockpath, strerror(errno));
	cr_assert_eq(flock(fd, LOCK_EX), 0, "flock %s: %s", lockpath, strerror(errno));
	if (access(marker, R_OK) != 0)
		generate(script, dir);
	flock(fd, LOCK_UN);
	close(fd);
	snprintf(fx_dir, sizeof fx_dir, "%s", dir);
	return fx_dir;
}

const char *faiss_fx_info(const char *name, const char *key)
{
	static char value[4096];
	char path[2048], line[4096];
	snprintf(path, sizeof path, "%s/%s.info", faiss_fx_dir(), name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	const char *found = NULL;
	size_t kl = strlen(key);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			snprintf(value, sizeof value, "%s", line + kl + 1);
			value[strcspn(value, "\n")] = 0;
			found = value;
			break;
		}
	}
	fclose(f);
	return found;
}

long long faiss_fx_info_int(const char *name, const char *key, long long dflt)
{
	const char *v = faiss_fx_info(name, key);
	return v ? strtoll(v, NULL, 10) : dflt;
}
