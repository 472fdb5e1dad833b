/* wtxn.c - the writer lock and raw LMDB write transactions. */
#include "internal.h"

/* Locks held by this thread: waiting for a lock one already holds would
 * block forever (flock excludes descriptors, not threads). */
static _Thread_local int tls_writer, tls_maint;

int vl_wbegin(const vl_store *st, MDB_txn **txn, int *lockfd)
{
	if (st->flags & VL_OPEN_RDONLY)
		return vl_fail(st, VL_EREADONLY, "%s was opened read-only", st->e->path);
	if (tls_writer)
		return vl_fail(st, VL_ETXN, "this thread already has a write transaction open");
	/* Our own flock in front of LMDB's writer mutex gives VL_OPEN_NOWAIT a
	 * try-lock (LMDB has none) and excludes threads as well as processes. */
	int fd = vl_lock_file(st, "write.lock", (st->flags & VL_OPEN_NOWAIT) != 0);
	if (fd < 0)
		return fd;
	/* stale reader slots of dead processes keep old pages from reuse */
	mdb_reader_check(st->e->env, NULL);
	int rc = mdb_txn_begin(st->e->env, NULL, 0, txn);
	if (rc) {
		vl_unlock_file(fd);
		return vl_fail_mdb(st, rc, "beginning write transaction");
	}
	*lockfd = fd;
	tls_writer = 1;
	return VL_OK;
}

int vl_wcommit(const vl_store *st, MDB_txn *txn, int lockfd)
{
	int rc = mdb_txn_commit(txn);
	vl_unlock_file(lockfd);
	tls_writer = 0;
	return rc ? vl_fail_mdb(st, rc, "committing") : VL_OK;
}

void vl_wabort(MDB_txn *txn, int lockfd)
{
	if (txn)
		mdb_txn_abort(txn);
	vl_unlock_file(lockfd);
	tls_writer = 0;
}

int vl_maint_lock(const vl_store *st)
{
	if (st->flags & VL_OPEN_RDONLY)
		return vl_fail(st, VL_EREADONLY, "%s was opened read-only", st->e->path);
	if (tls_writer || tls_maint)
		return vl_fail(st, VL_ETXN,
		               "finish this thread's write transaction or bulk load before flush, compact or reindex");
	int fd = vl_lock_file(st, "maint.lock", (st->flags & VL_OPEN_NOWAIT) != 0);
	if (fd >= 0)
		tls_maint = 1;
	return fd;
}

void vl_maint_unlock(int fd)
{
	vl_unlock_file(fd);
	tls_maint = 0;
}
