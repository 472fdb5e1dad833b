/* util.c - small helpers shared by the engine. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t vl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

unsigned vl_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int vl_check_vector(const vl_store *st, const float *v, uint32_t dim, const char *what)
{
	if (!v)
		return vl_fail(st, VL_EINVAL, "%s: no vector given", what);
	for (uint32_t i = 0; i < dim; i++)
		if (!isfinite(v[i]))
			return vl_fail(st, VL_ENAN, "%s: component %u is %s", what, i,
			               isnan(v[i]) ? "NaN" : "infinite");
	return VL_OK;
}

void vl_seg_relpath(char *buf, size_t len, uint32_t coll, uint32_t seg)
{
	snprintf(buf, len, "seg/c%u-s%06u.vseg", coll, seg);
}

int vl_fsync_dir(const vl_store *st, const char *rel)
{
	int fd = openat(st->e->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vl_fail_errno(st, errno, "opening directory", rel);
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	return rc ? vl_fail_errno(st, err, "fsync of directory", rel) : VL_OK;
}

void vl_drop_behind(const void *base, size_t upto, size_t step, size_t *dropped)
{
	if (upto < *dropped + step)
		return;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)base + *dropped) & ~(pg - 1);
	uintptr_t hi = ((uintptr_t)base + upto) & ~(pg - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
	*dropped = upto;
}
