/*
 * store.c - vl_open / vl_close: the store directory, its LMDB environment,
 * and cleanup of files left by crashed writers.
 *
 * LMDB must not open one environment twice in a process (its POSIX locks
 * are per process), so environments are shared through a registry keyed by
 * the directory's device and inode; each vl_open returns its own handle.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "segmap.h"
#include "vl_bytes.h"

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static vl_env *registry;

/* A forked child must not reuse its parent's environments (LMDB forbids
 * using an MDB_env after fork: the child's reader slots would carry the
 * parent's pid and never be freed). A vl_open in the child opens afresh;
 * the parent's copies are abandoned, not closed (that would drop the
 * parent's locks). */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void registry_after_fork(void)
{
	registry = NULL;
	pthread_mutex_init(&registry_mu, NULL);
}
static void registry_atfork(void)
{
	pthread_atfork(NULL, NULL, registry_after_fork);
}

static const struct {
	const char *name;
	size_t off;
} dbs[] = {
	{ "meta", offsetof(vl_dbis, meta) },     { "colls", offsetof(vl_dbis, colls) },
	{ "schema", offsetof(vl_dbis, schema) }, { "cstate", offsetof(vl_dbis, cstate) },
	{ "keys", offsetof(vl_dbis, keys) },     { "rows", offsetof(vl_dbis, rows) },
	{ "buf", offsetof(vl_dbis, buf) },       { "tomb", offsetof(vl_dbis, tomb) },
	{ "segs", offsetof(vl_dbis, segs) },     { "train", offsetof(vl_dbis, train) },
};
#define NDBS (sizeof dbs / sizeof dbs[0])

static int open_dbis(vl_store *st, MDB_txn *txn, unsigned flags)
{
	for (size_t i = 0; i < NDBS; i++) {
		MDB_dbi *dbi = (MDB_dbi *)(void *)((char *)&st->e->db + dbs[i].off);
		int rc = mdb_dbi_open(txn, dbs[i].name, flags, dbi);
		if (rc == MDB_NOTFOUND)
			return vl_fail(st, VL_ECORRUPT, "%s: LMDB database '%s' is missing: not a veclite store",
			               st->e->path, dbs[i].name);
		if (rc)
			return vl_fail_mdb(st, rc, "opening databases");
	}
	return VL_OK;
}

/* Meta records: format version, store uuid, creation time. */
static int init_meta(vl_store *st, MDB_txn *txn, int creating)
{
	MDB_val k = { 6, "format" }, v;
	int rc = mdb_get(txn, st->e->db.meta, &k, &v);
	if (rc == MDB_NOTFOUND && creating) {
		uint8_t buf[8];
		vl_st32(buf, VL_STORE_FORMAT);
		v = (MDB_val){ 4, buf };
		if ((rc = mdb_put(txn, st->e->db.meta, &k, &v, 0)))
			return vl_fail_mdb(st, rc, "writing store metadata");
		uint8_t uuid[16];
		if (getrandom(uuid, 16, 0) != 16)
			return vl_fail_errno(st, errno, "getrandom", "");
		uuid[6] = (uuid[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
		uuid[8] = (uuid[8] & 0x3f) | 0x80;
		MDB_val ku = { 4, "uuid" }, vu = { 16, uuid };
		vl_st64(buf, vl_now_ms());
		MDB_val kc = { 7, "created" }, vc = { 8, buf };
		uint8_t one[4];
		vl_st32(one, 1);
		MDB_val kn = { 9, "next_coll" }, vn = { 4, one };
		if ((rc = mdb_put(txn, st->e->db.meta, &ku, &vu, 0)) ||
		    (rc = mdb_put(txn, st->e->db.meta, &kc, &vc, 0)) ||
		    (rc = mdb_put(txn, st->e->db.meta, &kn, &vn, 0)))
			return vl_fail_mdb(st, rc, "writing store metadata");
		memcpy(st->e->uuid, uuid, 16);
		return VL_OK;
	}
	if (rc == MDB_NOTFOUND)
		return vl_fail(st, VL_ECORRUPT, "%s: store metadata is missing", st->e->path);
	if (rc)
		return vl_fail_mdb(st, rc, "reading store metadata");
	if (v.mv_size != 4)
		return vl_fail(st, VL_ECORRUPT, "%s: damaged store format record", st->e->path);
	uint32_t fmt = vl_ld32(v.mv_data);
	if (fmt == 0 || fmt > VL_STORE_FORMAT)
		return vl_fail(st, VL_EVERSION, "%s: store format %u; this build (%s) reads up to %u",
		               st->e->path, fmt, VL_VERSION_STRING, VL_STORE_FORMAT);
	MDB_val ku = { 4, "uuid" }, vu;
	if ((rc = mdb_get(txn, st->e->db.meta, &ku, &vu)) || vu.mv_size != 16)
		return vl_fail(st, VL_ECORRUPT, "%s: store uuid is missing or damaged", st->e->path);
	memcpy(st->e->uuid, vu.mv_data, 16);
	return VL_OK;
}

static int make_dirs(vl_store *st, const char *path, int create)
{
	if (create && mkdir(path, 0755) != 0 && errno != EEXIST)
		return vl_fail_errno(st, errno, "creating store directory", path);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vl_fail(st, errno == ENOENT ? VL_ENOTFOUND : vl_code_from_errno(errno),
		               "opening store %s: %s", path, strerror(errno));
	if (!create && faccessat(fd, "data.mdb", F_OK, 0) != 0) {
		close(fd);
		return vl_fail(st, VL_ENOTFOUND, "%s is not a veclite store (no data.mdb); create it first",
		               path);
	}
	if (!(st->flags & VL_OPEN_RDONLY)) {
		if ((mkdirat(fd, "seg", 0755) != 0 && errno != EEXIST) ||
		    (mkdirat(fd, "tmp", 0755) != 0 && errno != EEXIST)) {
			int err = errno;
			close(fd);
			return vl_fail_errno(st, err, "creating directories in", path);
		}
	}
	st->e->dirfd = fd;
	return VL_OK;
}

static int env_open(vl_store *st, const char *path, const vl_open_opts *o)
{
	vl_env *e = st->e;
	unsigned flags = MDB_NOTLS; /* read txns are not tied to threads (cursors, pools) */
	if (st->flags & VL_OPEN_RDONLY)
		flags |= MDB_RDONLY;
	if (st->flags & VL_OPEN_NOSYNC)
		flags |= MDB_NOSYNC;
	uint64_t map = o && o->map_size ? o->map_size : VL_DEFAULT_MAP_SIZE;
	int rc;
	for (;;) {
		if ((rc = mdb_env_create(&e->env)))
			return vl_fail_mdb(st, rc, "creating environment");
		mdb_env_set_maxdbs(e->env, 16);
		mdb_env_set_mapsize(e->env, map);
		mdb_env_set_maxreaders(e->env, o && o->max_readers ? o->max_readers : VL_DEFAULT_MAX_READERS);
		if ((rc = mdb_env_open(e->env, path, flags, 0644)) == 0)
			break;
		mdb_env_close(e->env);
		e->env = NULL;
		/* The default map is only address space, but a limited one (ulimit
		 * -v, valgrind) cannot reserve 1 TiB: try smaller, down to 1 GiB. */
		if ((rc != EINVAL && rc != ENOMEM) || (o && o->map_size) || map <= (1ull << 30))
			return vl_fail_mdb(st, rc, "opening environment");
		map >>= 2;
	}
	/* free the reader slots of processes that died in a read (SIGKILL): a
	 * stale slot pins its snapshot's pages, and the file grows without end */
	mdb_reader_check(e->env, NULL);
	MDB_txn *txn;
	int ro = (st->flags & VL_OPEN_RDONLY) != 0;
	/* A read transaction first: an existing store needs no write, and a
	 * write transaction here would wait for any other process's writer (a
	 * bulk load holds it for minutes), VL_OPEN_NOWAIT or not. */
	if ((rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn)))
		return vl_fail_mdb(st, rc, "beginning transaction");
	if ((rc = open_dbis(st, txn, 0)) || (rc = init_meta(st, txn, 0))) {
		mdb_txn_abort(txn);
		if (ro || rc == VL_EVERSION)
			return rc;
	} else if ((rc = mdb_txn_commit(txn))) {
		return vl_fail_mdb(st, rc, "committing store metadata");
	} else {
		return VL_OK;
	}
	/* a new store (or one to report damaged): create what is missing, as a
	 * writer (write.lock, honouring VL_OPEN_NOWAIT) */
	vl_clear_err(st);
	int lk = vl_lock_file(st, "write.lock", (st->flags & VL_OPEN_NOWAIT) != 0);
	if (lk < 0)
		return lk;
	if ((rc = mdb_txn_begin(e->env, NULL, 0, &txn))) {
		vl_unlock_file(lk);
		return vl_fail_mdb(st, rc, "beginning transaction");
	}
	if ((rc = open_dbis(st, txn, MDB_CREATE)) || (rc = init_meta(st, txn, 1))) {
		mdb_txn_abort(txn);
		vl_unlock_file(lk);
		return rc;
	}
	rc = mdb_txn_commit(txn);
	vl_unlock_file(lk);
	if (rc)
		return vl_fail_mdb(st, rc, "committing store metadata");
	return VL_OK;
}

/* Remove crashed staged bulk loads (stage.c), tmp/ leftovers and seg/ files
 * the manifest does not list. Runs only
 * when no maintenance job holds maint.lock (its files are not orphans). */
static void remove_orphans(vl_store *st)
{
	int lk = vl_lock_file(st, "maint.lock", 1);
	if (lk < 0)
		return;
	/* before the seg/ pass: a crashed staged load's files are then orphans */
	vl_stage_drop_all(st);
	DIR *dir;
	struct dirent *de;
	int fd = openat(st->e->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (dir = fdopendir(fd))) {
		while ((de = readdir(dir)))
			if (de->d_name[0] != '.')
				unlinkat(fd, de->d_name, 0);
		closedir(dir);
	} else if (fd >= 0) {
		close(fd);
	}
	MDB_txn *txn;
	fd = openat(st->e->dirfd, "seg", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	if (mdb_txn_begin(st->e->env, NULL, MDB_RDONLY, &txn)) {
		close(fd);
		goto out;
	}
	if ((dir = fdopendir(fd))) {
		while ((de = readdir(dir))) {
			unsigned coll, seg;
			char tail[8];
			if (sscanf(de->d_name, "c%u-s%u%7s", &coll, &seg, tail) != 3 || strcmp(tail, ".vseg"))
				continue;
			uint8_t kb[8];
			MDB_val k = vl_key_seg(kb, coll, seg), v;
			if (mdb_get(txn, st->e->db.segs, &k, &v) == MDB_NOTFOUND)
				unlinkat(fd, de->d_name, 0);
		}
		closedir(dir);
	} else {
		close(fd);
	}
	mdb_txn_abort(txn);
out:
	vl_unlock_file(lk);
}

static void env_free(vl_env *e)
{
	if (!e)
		return;
	while (e->shared) {
		vl_cshared *sh = e->shared;
		e->shared = sh->next;
		if (sh->cur)
			vl_segset_unref(sh->cur);
		pthread_mutex_destroy(&sh->mu);
		free(sh);
	}
	if (e->env)
		mdb_env_close(e->env);
	if (e->dirfd >= 0)
		close(e->dirfd);
	pthread_mutex_destroy(&e->mu);
	free(e->path);
	free(e);
}

/* Find an already open environment for this directory (registry_mu held). */
static vl_env *registry_find(const char *path, uint32_t flags, int *conflict)
{
	struct stat sb;
	*conflict = 0;
	if (stat(path, &sb) != 0)
		return NULL;
	for (vl_env *e = registry; e; e = e->next)
		if (e->dev == sb.st_dev && e->ino == sb.st_ino) {
			if ((e->flags & VL_OPEN_RDONLY) && !(flags & VL_OPEN_RDONLY))
				*conflict = 1;
			return e;
		}
	return NULL;
}

int vl_open(const char *path, const vl_open_opts *opts, vl_store **out)
{
	vl_clear_err(NULL);
	if (!path || !*path || !out)
		return vl_fail(NULL, VL_EINVAL, "vl_open: path and out are required");
	if (opts && opts->size < offsetof(vl_open_opts, reserved))
		return vl_fail(NULL, VL_EINVAL, "vl_open: opts->size %u is too small", opts->size);
	*out = NULL;
	uint32_t flags = opts ? opts->flags : 0;
	if ((flags & VL_OPEN_RDONLY) && (flags & VL_OPEN_CREATE))
		return vl_fail(NULL, VL_EINVAL, "vl_open: VL_OPEN_CREATE and VL_OPEN_RDONLY exclude each other");
	vl_store *st = calloc(1, sizeof *st);
	if (!st)
		return vl_fail(NULL, VL_ENOMEM, "out of memory");
	st->flags = flags;
	pthread_once(&atfork_once, registry_atfork);
	pthread_mutex_lock(&registry_mu);
	int conflict, rc = VL_OK;
	vl_env *e = registry_find(path, flags, &conflict);
	if (e && conflict) {
		pthread_mutex_unlock(&registry_mu);
		free(st);
		return vl_fail(NULL, VL_EBUSY, "%s is already open read-only in this process", path);
	}
	if (e) {
		e->refs++;
		st->e = e;
		pthread_mutex_unlock(&registry_mu);
		*out = st;
		return VL_OK;
	}
	e = calloc(1, sizeof *e);
	if (!e || !(e->path = strdup(path))) {
		free(e);
		rc = vl_fail(NULL, VL_ENOMEM, "out of memory");
		goto fail;
	}
	pthread_mutex_init(&e->mu, NULL);
	e->flags = flags;
	e->refs = 1;
	e->dirfd = -1;
	st->e = e;
	if ((rc = make_dirs(st, path, flags & VL_OPEN_CREATE)) || (rc = env_open(st, path, opts)))
		goto fail;
	struct stat sb;
	if (fstat(e->dirfd, &sb) != 0) {
		rc = vl_fail_errno(st, errno, "stat", path);
		goto fail;
	}
	e->dev = sb.st_dev;
	e->ino = sb.st_ino;
	if (!(flags & VL_OPEN_RDONLY))
		remove_orphans(st);
	e->next = registry;
	registry = e;
	pthread_mutex_unlock(&registry_mu);
	if ((flags & VL_OPEN_VERIFY) && (rc = vl_verify(st, NULL, NULL)) != VL_OK) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", vl_errmsg(st));
		vl_close(st);
		return vl_fail(NULL, rc, "%s", msg);
	}
	*out = st;
	return VL_OK;
fail:
	pthread_mutex_unlock(&registry_mu);
	{
		/* move the message to the NULL-store slot vl_errmsg(NULL) reads */
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", vl_errmsg(st));
		env_free(st->e);
		free(st);
		return vl_fail(NULL, rc, "%s", msg);
	}
}

void vl_close(vl_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&registry_mu);
	vl_env *e = st->e;
	if (--e->refs == 0) {
		for (vl_env **p = &registry; *p; p = &(*p)->next)
			if (*p == e) {
				*p = e->next;
				break;
			}
		env_free(e);
	}
	pthread_mutex_unlock(&registry_mu);
	free(st);
}

void vl_free(void *p)
{
	free(p);
}
