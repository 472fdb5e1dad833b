/* lock.c - flock-based store locks (write.lock, maint.lock). */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "internal.h"

int vl_lock_file(const vl_store *st, const char *name, int nowait)
{
	int fd = openat(st->e->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EROFS || errno == EACCES))
		fd = openat(st->e->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vl_fail_errno(st, errno, "opening lock file", name);
	for (;;) {
		if (flock(fd, LOCK_EX | (nowait ? LOCK_NB : 0)) == 0)
			return fd;
		if (errno == EINTR)
			continue;
		int err = errno;
		close(fd);
		if (err == EWOULDBLOCK)
			return vl_fail(st, VL_EBUSY, "%s is held by another writer or job", name);
		return vl_fail_errno(st, err, "locking", name);
	}
}

void vl_unlock_file(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the descriptor releases the flock */
}
