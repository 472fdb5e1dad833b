/*
 * lmdbmap.c - give back the pages of LMDB's map that a long write has
 * mapped into this process.
 *
 * LMDB maps data.mdb read-only (no MDB_WRITEMAP) and does not report where
 * (mdb_env_info's me_mapaddr is set only with MDB_FIXEDMAP), so the mapping
 * is found once in /proc/self/maps by data.mdb's device and inode.
 * MADV_DONTNEED on it unmaps the pages; they stay in the page cache and the
 * next read of them faults them in again with the same bytes, so pointers
 * LMDB or a reader holds stay valid.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "internal.h"

/* The largest mapping of (dev, ino) in this process, or 0. */
static int find_map(dev_t dev, ino_t ino, void **addr, size_t *len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	char line[512];
	size_t best = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, off, inode;
		unsigned maj, min;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &maj, &min, &inode) != 7)
			continue;
		if (inode == (unsigned long)ino && maj == major(dev) && min == minor(dev) && hi - lo > best) {
			best = hi - lo;
			*addr = (void *)lo;
			*len = best;
		}
	}
	fclose(f);
	return best != 0;
}

void vl_lmdb_release_map(vl_env *e)
{
	pthread_mutex_lock(&e->mu);
	if (!e->map_probed) {
		int fd;
		struct stat sb;
		e->map_probed = 1;
		if (mdb_env_get_fd(e->env, &fd) == 0 && fstat(fd, &sb) == 0 &&
		    !find_map(sb.st_dev, sb.st_ino, &e->map_addr, &e->map_len))
			e->map_addr = NULL;
	}
	void *addr = e->map_addr;
	size_t len = e->map_len;
	pthread_mutex_unlock(&e->mu);
	if (addr)
		madvise(addr, len, MADV_DONTNEED);
}
