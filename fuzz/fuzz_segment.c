/*
 * fuzz_segment.c - segment open + verify + every read over a mutated
 * segment file.
 *
 * Init builds a real store under $TMPDIR (one collection per index kind and
 * several storage types, each with a flushed segment holding tag and numeric
 * columns and a few tombstones) and keeps each segment file's bytes and
 * manifest entry. Each input damages one segment file, then opens the store
 * read-only and runs count, search (plain, filtered, exact), get, a full
 * export cursor, info and vl_verify on it; the file (and the manifest) are
 * put back before the next input.
 *
 * Input (the first bytes pick the target region, as in sqlite-vec's
 * shadow-corrupt tests):
 *   byte 0    which segment file
 *   byte 1    bits 0-5: region. 0 the 128-byte header, 1 the section table,
 *             2 the whole 4 KiB header block, 3 the file size (the next 4
 *             bytes give a new size, at most twice the old), 4+ the data of
 *             section (region - 4) mod nsections.
 *             bit 6: recompute the header CRC and the CRC of every section
 *             afterwards (a well-checksummed but inconsistent file).
 *             bit 7: also rewrite the manifest entry in LMDB to agree with
 *             the damaged header, so opening gets past that cross-check.
 *   then      edits: u16 offset (LE, modulo the region), u8 n: 1 + n % 16
 *             bytes follow and are written there.
 *
 * Oracles besides the sanitizers: an input that changes nothing leaves a
 * store that verifies and reads cleanly; and whenever the file on disk has
 * a checksum that does not match its bytes, or a header the manifest
 * disagrees with, vl_verify must say VL_ECORRUPT.
 */
#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "internal.h"
#include "records.h"
#include "segment.h"
#include "vl_bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct config {
	const char *name, *index, *storage;
	uint32_t dim, nrows;
	const char *params[4];
} config;

static const config configs[] = {
	{ "flat", "flat", "float32", 8, 150, { NULL } },
	{ "hnsw", "hnsw", "float16", 8, 200, { NULL } },
	{ "vamana", "vamana", "lvq8", 16, 250, { NULL } },
	{ "ivf", "ivf", "lvq4x8", 16, 250, { NULL } },
	{ "leanvec", "vamana", "leanvec4x8", 32, 250, { NULL } },
	{ "lvq4", "hnsw", "lvq4", 16, 200, { NULL } },
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

typedef struct segfile {
	char store[300];           /* each collection has a store of its own: verify reads one */
	char path[800];
	char coll[32];
	uint32_t coll_id, seg_id;
	uint8_t *orig;
	size_t len;
	uint8_t man[VL_MANIFEST_BYTES]; /* the manifest entry as committed */
	uint32_t dim;
} segfile;

static char dir[256];
static segfile segs[16];
static size_t nsegs;
static uint8_t *buf;          /* the mutated file */
static size_t buf_cap;

static void die(const char *what, const vl_store *st)
{
	fprintf(stderr, "fuzz_segment init: %s: %s\n", what, vl_errmsg(st));
	abort();
}

static float frand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((*s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* One collection: rows with a tag and a numeric field, flushed, then some
 * deleted (tombstones in the segment). Returns 0 when it could be built. */
static int build_coll(vl_store *st, const config *cf)
{
	vl_field f[2] = { { "tag", VL_FIELD_TAG }, { "num", VL_FIELD_NUMERIC } };
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = cf->dim;
	s.index = cf->index;
	s.storage = cf->storage;
	s.fields = f;
	s.nfields = 2;
	for (s.nparams = 0; cf->params[s.nparams]; s.nparams++)
		;
	s.params = cf->params;
	vl_collection *c;
	int rc = vl_collection_create(st, cf->name, &s, &c);
	if (rc) {
		fprintf(stderr, "fuzz_segment: skipping %s (%s/%s): %s\n", cf->name, cf->index, cf->storage,
		        vl_errmsg(st));
		return -1;
	}
	uint64_t rng = cf->dim * 1000003ull + cf->nrows;
	float *v = malloc((size_t)cf->dim * sizeof *v);
	vl_txn *t;
	if (!v || vl_txn_begin(st, &t))
		die("txn", st);
	for (uint32_t i = 0; i < cf->nrows; i++) {
		for (uint32_t d = 0; d < cf->dim; d++)
			v[d] = frand(&rng);
		char key[16], tag[32];
		snprintf(key, sizeof key, "k%u", i);
		snprintf(tag, sizeof tag, "%s,t%u", i % 3 ? "x" : "y", i % 7);
		vl_value vals[2] = { { "tag", tag, strlen(tag), 0 }, { "num", NULL, 0, (double)(i % 50) } };
		vl_row r = { key, strlen(key), v, cf->dim, vals, i % 5 ? 2 : 1 };
		if (vl_upsert(t, c, &r, 1))
			die("upsert", st);
	}
	if (vl_txn_commit(t))
		die("commit", st);
	free(v);
	if ((rc = vl_flush(c, NULL))) {
		fprintf(stderr, "fuzz_segment: skipping %s: flush: %s\n", cf->name, vl_errmsg(st));
		vl_collection_close(c);
		return -1;
	}
	if (vl_txn_begin(st, &t))
		die("txn", st);
	for (uint32_t i = 1; i < cf->nrows; i += 9) {
		char key[16];
		snprintf(key, sizeof key, "k%u", i);
		const void *k = key;
		size_t l = strlen(key);
		if (vl_delete(t, c, &k, &l, 1, NULL))
			die("delete", st);
	}
	if (vl_txn_commit(t))
		die("commit", st);
	vl_collection_close(c);
	return 0;
}

/* ---- direct LMDB access to the manifest (the store is closed meanwhile:
 * LMDB must not be opened twice in one process) ----------------------------- */
static int man_io(const segfile *sf, const uint8_t *put, uint8_t *get)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc = mdb_env_create(&env);
	if (rc)
		return rc;
	mdb_env_set_maxdbs(env, 16);
	mdb_env_set_mapsize(env, VL_DEFAULT_MAP_SIZE);
	if ((rc = mdb_env_open(env, sf->store, MDB_NOTLS | MDB_NOSYNC, 0644)) ||
	    (rc = mdb_txn_begin(env, NULL, put ? 0 : MDB_RDONLY, &txn))) {
		mdb_env_close(env);
		return rc;
	}
	uint8_t kb[8];
	MDB_val k = vl_key_seg(kb, sf->coll_id, sf->seg_id), v;
	if ((rc = mdb_dbi_open(txn, "segs", 0, &dbi)) == 0) {
		if (put) {
			v.mv_data = (void *)put;
			v.mv_size = VL_MANIFEST_BYTES;
			rc = mdb_put(txn, dbi, &k, &v, 0);
		} else if ((rc = mdb_get(txn, dbi, &k, &v)) == 0) {
			if (v.mv_size != VL_MANIFEST_BYTES)
				rc = MDB_CORRUPTED;
			else
				memcpy(get, v.mv_data, VL_MANIFEST_BYTES);
		}
	}
	if (rc == 0 && put)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_segment: could not remove %s\n", dir);
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*len = (size_t)sb.st_size;
	*out = malloc(*len);
	ssize_t r = *out ? pread(fd, *out, *len, 0) : -1;
	close(fd);
	return r == (ssize_t)*len ? 0 : -1;
}

/* Build config cf in a store of its own; record its segment files. */
static void build_store(const config *cf)
{
	segfile base = { 0 };
	snprintf(base.store, sizeof base.store, "%s/%s", dir, cf->name);
	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC;
	if (vl_open(base.store, &o, &st))
		die("open", NULL);
	int built = build_coll(st, cf) == 0;
	vl_collection *c;
	if (built && vl_collection_open(st, cf->name, &c) == VL_OK) {
		base.coll_id = c->id;
		vl_collection_close(c);
	}
	vl_close(st);
	if (!built)
		return;
	char segdir[400];
	snprintf(segdir, sizeof segdir, "%s/seg", base.store);
	DIR *dd = opendir(segdir);
	struct dirent *de;
	while (dd && (de = readdir(dd)) && nsegs < sizeof segs / sizeof segs[0]) {
		unsigned cid, sid;
		if (sscanf(de->d_name, "c%u-s%u.vseg", &cid, &sid) != 2 || cid != base.coll_id)
			continue;
		segfile *sf = &segs[nsegs];
		*sf = base;
		snprintf(sf->path, sizeof sf->path, "%s/%s", segdir, de->d_name);
		snprintf(sf->coll, sizeof sf->coll, "%s", cf->name);
		sf->seg_id = sid;
		if (read_file(sf->path, &sf->orig, &sf->len) || sf->len < VL_SEG_ALIGN || man_io(sf, NULL, sf->man))
			die("reading a segment", NULL);
		sf->dim = vl_ld32(sf->orig + 96);
		if (sf->len * 2 + 1 > buf_cap)
			buf_cap = sf->len * 2 + 1;
		nsegs++;
	}
	if (dd)
		closedir(dd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/vlfuzz-seg-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	if (mkdir(dir, 0755) != 0)
		die("mkdir", NULL);
	atexit(cleanup);
	/* in config order, so an input means the same file on every run */
	for (size_t i = 0; i < NCONFIGS; i++)
		build_store(&configs[i]);
	if (!nsegs || !(buf = malloc(buf_cap)))
		die("no segments", NULL);
	fprintf(stderr, "fuzz_segment: %zu segment files in %s\n", nsegs, dir);
	return 0;
}

static int write_file(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	int rc = ftruncate(fd, (off_t)len) == 0 && pwrite(fd, p, len, 0) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

/* Do the stored checksums match the bytes, by the file's own (damaged)
 * table? 0 if every one matches; -1 if the header block does not decode. */
static int crc_mismatch(const uint8_t *p, size_t len)
{
	vl_seg_layout l;
	vl_diag d;
	if (vl_seg_decode_header(p, len, len, &l, &d) != VL_OK)
		return -1;
	for (uint32_t i = 0; i < l.h.nsections; i++)
		if (vl_crc32c(0, p + l.sec[i].offset, l.sec[i].length) != l.sec[i].crc)
			return 1;
	return 0;
}

/* Recompute every CRC the (damaged) header block describes, where it can. */
static void fix_crcs(uint8_t *p, size_t len)
{
	uint32_t nsec = vl_ld32(p + 104), hb = vl_ld32(p + 12);
	if (nsec > VL_SEG_MAX_SECTIONS)
		nsec = VL_SEG_MAX_SECTIONS;
	for (uint32_t i = 0; i < nsec; i++) {
		uint8_t *e = p + VL_SEG_HEADER_BYTES + i * VL_SEG_SECTION_BYTES;
		uint64_t off = vl_ld64(e + 8), n = vl_ld64(e + 16);
		if (off <= len && n <= len - off)
			vl_st32(e + 32, vl_crc32c(0, p + off, n));
	}
	if (hb >= 112 && hb <= VL_SEG_ALIGN) {
		vl_st32(p + 108, 0);
		vl_st32(p + 108, vl_crc32c(0, p, hb));
	}
}

static volatile uint64_t sink;

/* Every read operation on the damaged collection; any code, no crash. */
static void exercise(vl_store *st, const segfile *sf)
{
	vl_collection *c;
	if (vl_collection_open(st, sf->coll, &c))
		return;
	float q[64];
	for (uint32_t i = 0; i < sf->dim && i < 64; i++)
		q[i] = (float)(i % 5) * 0.25f - 0.5f;
	uint64_t n;
	vl_count(c, NULL, &n);
	vl_count(c, "tag == 'x' AND num < 20", &n);
	static const char *const filters[] = { NULL, "tag IN ('y', 't3') OR num >= 40", "NOT tag == 'x'" };
	for (int i = 0; i < 3; i++) {
		vl_search_opts so = VL_SEARCH_OPTS_INIT;
		so.k = 7;
		so.filter = filters[i];
		const char *ret[] = { "tag", "num" };
		so.return_fields = ret;
		so.nreturn = 2;
		if (i == 2)
			so.flags = VL_SEARCH_EXACT;
		vl_results *res = NULL;
		if (vl_search(c, q, sf->dim, &so, &res) == VL_OK) {
			if (res->n > so.k)
				abort();
			for (size_t h = 0; h < res->n; h++)
				sink += res->hits[h].key_len + res->hits[h].nvalues;
		}
		vl_results_free(res);
	}
	for (int i = 0; i < 3; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i * 37);
		vl_record *r = NULL;
		if (vl_get(c, key, strlen(key), &r) == VL_OK)
			sink += r->vector[0] != 0;
		vl_free(r);
	}
	vl_cursor *cur;
	if (vl_cursor_open(c, &cur) == VL_OK) {
		const vl_record *r;
		while (vl_cursor_next(cur, &r) == VL_OK && r)
			sink += r->key_len;
		vl_cursor_close(cur);
	}
	vl_info *inf = NULL;
	if (vl_collection_info(c, &inf) == VL_OK)
		sink += inf->rows;
	vl_info_free(inf);
	vl_collection_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	segfile *sf = &segs[data[0] % nsegs];
	const uint8_t mode = data[1];
	data += 2;
	size -= 2;
	size_t len = sf->len;
	memcpy(buf, sf->orig, len);

	/* the region edits land in */
	uint64_t start = 0, rlen = 0;
	const uint32_t region = mode & 0x3f;
	const uint32_t nsec = vl_ld32(sf->orig + 104);
	if (region == 0) {
		rlen = VL_SEG_HEADER_BYTES;
	} else if (region == 1) {
		start = VL_SEG_HEADER_BYTES;
		rlen = (uint64_t)nsec * VL_SEG_SECTION_BYTES;
	} else if (region == 2) {
		rlen = VL_SEG_ALIGN;
	} else if (region == 3) {
		if (size >= 4) {
			size_t nl = vl_ld32(data) % (2 * sf->len + 1);
			if (nl > len)
				memset(buf + len, 0, nl - len);
			len = nl;
			data += 4;
			size -= 4;
		}
	} else if (nsec) {
		const uint8_t *e = sf->orig + VL_SEG_HEADER_BYTES + ((region - 4) % nsec) * VL_SEG_SECTION_BYTES;
		start = vl_ld64(e + 8);
		rlen = vl_ld64(e + 16);
	}
	while (size >= 3 && rlen) {
		uint64_t off = start + vl_ld16(data) % rlen;
		size_t n = 1 + data[2] % 16;
		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		if (n > start + rlen - off)
			n = (size_t)(start + rlen - off);
		if (off + n > len)
			break;
		memcpy(buf + off, data, n);
		data += n;
		size -= n;
	}
	if ((mode & 0xc0) && len >= VL_SEG_ALIGN)
		fix_crcs(buf, len);
	const int changed = len != sf->len || memcmp(buf, sf->orig, len) != 0;

	/* the manifest entry the store will hold */
	uint8_t man[VL_MANIFEST_BYTES];
	memcpy(man, sf->man, sizeof man);
	if ((mode & 0x80) && len >= VL_SEG_ALIGN) {
		vl_st32(man + 4, vl_ld32(buf + 108));  /* header_crc */
		memcpy(man + 8, buf + 56, 24);         /* nrows, rid_min, rid_max */
		vl_st64(man + 32, vl_ld64(buf + 80)); /* file_bytes */
	}
	const int man_changed = memcmp(man, sf->man, sizeof man) != 0;
	if (write_file(sf->path, buf, len) || (man_changed && man_io(sf, man, NULL)))
		abort();

	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_RDONLY;
	if (vl_open(sf->store, &o, &st) != VL_OK)
		abort(); /* opening maps nothing: a damaged segment cannot stop it */
	exercise(st, sf);
	int vrc = vl_verify(st, NULL, NULL);
	vl_close(st);

	if (!changed && !man_changed && vrc != VL_OK)
		abort(); /* the harness must have restored the file */
	/* a checksum that does not match, or a header the manifest disagrees
	 * with, must not pass verify */
	int mismatch = len < VL_SEG_ALIGN ? -1 : crc_mismatch(buf, len);
	uint8_t hdr_man[VL_MANIFEST_BYTES];
	memcpy(hdr_man, man, sizeof hdr_man);
	if (len >= VL_SEG_ALIGN) {
		vl_st32(hdr_man + 4, vl_ld32(buf + 108));
		memcpy(hdr_man + 8, buf + 56, 24);
		vl_st64(hdr_man + 32, vl_ld64(buf + 80));
	}
	if ((mismatch || memcmp(hdr_man, man, sizeof man) != 0 || vl_ld64(buf + 80) != len) && vrc == VL_OK) {
		fprintf(stderr, "verify passed a damaged segment (crc mismatch %d)\n", mismatch);
		abort();
	}

	/* put everything back */
	if ((changed && write_file(sf->path, sf->orig, sf->len)) || (man_changed && man_io(sf, sf->man, NULL)))
		abort();
	return 0;
}
