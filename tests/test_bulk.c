/*
 * test_bulk.c - bulk loads into a new collection (vl_bulk_begin_new): the
 * collection stays invisible until the commit that names it, whatever the
 * number of intermediate commits; abort, a failure or a crashed process
 * leave the store as it was.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segment.h"
#include "util/tstore.h"
#include "util/vftest.h"

#define DIM 12
#define ROWS 3000

/* A small commit step: ROWS rows make dozens of commits. */
#define STEP "8192"

static void row_text(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "text of row %zu, long enough to matter: %0*zu", i, (int)(i % 97) + 8, i);
}

static vl_schema schema(void)
{
	static const vl_field f[] = { { "body", VL_FIELD_TEXT } };
	vl_schema sc = VL_SCHEMA_INIT;
	sc.dim = DIM;
	sc.index = "flat";
	sc.storage = "float32";
	sc.fields = f;
	sc.nfields = 1;
	return sc;
}

/* Add rows [from, to) ("k<i>", vector from seed 7, text row_text). */
static int add_rows(vl_bulk *b, size_t from, size_t to)
{
	ts_rng rng = { 7 };
	float v[DIM];
	for (size_t i = 0; i < to; i++) {
		ts_vectors(&rng, v, 1, DIM);
		if (i < from)
			continue;
		char key[32], text[256];
		snprintf(key, sizeof key, "k%zu", i);
		row_text(i, text, sizeof text);
		vl_value val = { "body", text, strlen(text), 0 };
		vl_row r = { key, strlen(key), v, DIM, &val, 1 };
		int rc = vl_bulk_add(b, &r, 1);
		if (rc)
			return rc;
	}
	return VL_OK;
}

typedef struct notes {
	int staged;
	char first[512];
} notes;

static void note(void *ud, const char *msg)
{
	notes *n = ud;
	if (strstr(msg, "bulk load into new collection")) {
		if (!n->staged++)
			snprintf(n->first, sizeof n->first, "%s", msg);
	}
}

static int staged_notes(vl_store *st)
{
	notes n = { 0 };
	cr_assert_eq(vl_verify(st, note, &n), VL_OK, "verify: %s", vl_errmsg(st));
	return n.staged;
}

static void expect_absent(vl_store *st, const char *name)
{
	vl_collection *c;
	cr_expect_eq(vl_collection_open(st, name, &c), VL_ENOTFOUND, "'%s' is visible", name);
	char **names;
	size_t n;
	cr_assert_eq(vl_collection_list(st, &names, &n), VL_OK);
	for (size_t i = 0; i < n; i++)
		cr_expect(strcmp(names[i], name), "'%s' is listed", name);
	vl_free(names);
}

Test(bulk, new_collection_appears_at_commit)
{
	setenv("VECLITE_BULK_CHUNK", STEP, 1);
	char *dir = ts_tmpdir("bulknew");
	vl_store *st = ts_open(dir);
	vl_schema sc = schema();
	vl_bulk *b;
	cr_assert_eq(vl_bulk_begin_new(st, "docs", &sc, NULL, &b), VL_OK, "%s", vl_errmsg(st));
	/* the name is taken for other creators only at the commit; before it,
	 * after many intermediate commits, nothing is visible */
	cr_assert_eq(add_rows(b, 0, ROWS), VL_OK, "%s", vl_errmsg(st));
	expect_absent(st, "docs");
	cr_expect_eq(staged_notes(st), 1, "verify should note the running load");
	cr_assert_eq(vl_bulk_commit(b), VL_OK, "%s", vl_errmsg(st));
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "docs", &c), VL_OK);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_expect_eq(n, ROWS);
	ts_rng rng = { 7 };
	for (size_t i = 0; i < ROWS; i++) {
		float v[DIM];
		ts_vectors(&rng, v, 1, DIM);
		char key[32], text[256];
		snprintf(key, sizeof key, "k%zu", i);
		row_text(i, text, sizeof text);
		vl_record *r;
		cr_assert_eq(vl_get(c, key, strlen(key), &r), VL_OK, "get %s", key);
		cr_assert(r->dim == DIM && memcmp(r->vector, v, sizeof v) == 0, "%s: vector", key);
		cr_assert(r->nvalues == 1 && r->values[0].len == strlen(text) &&
		              memcmp(r->values[0].data, text, strlen(text)) == 0,
		          "%s: text", key);
		vl_free(r);
	}
	cr_expect_eq(staged_notes(st), 0);
	/* a second load under a taken name is refused before it begins */
	cr_expect_eq(vl_bulk_begin_new(st, "docs", &sc, NULL, &b), VL_EEXIST);
	vl_collection_close(c);
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
	unsetenv("VECLITE_BULK_CHUNK");
}

/* The one segment file under dir/seg (malloc'd contents). */
static uint8_t *read_segment(const char *dir, size_t *len)
{
	char cmd[1024], *path = NULL;
	snprintf(cmd, sizeof cmd, "ls %s/seg/*.vseg", dir);
	cr_assert_eq(ts_run(cmd, &path), 0, "no segment under %s/seg", dir);
	path[strcspn(path, "\n")] = 0;
	uint8_t *buf = vft_read_file(path, len);
	cr_assert(buf, "%s", path);
	free(path);
	return buf;
}

/* The segment's codes are encoded on several threads in slices and written
 * in row order: the PRIMARY and SECONDARY bytes are the same for 1 and 3
 * threads (rows enough for several rounds of slices and a partial one). */
Test(bulk, codes_same_for_any_thread_count)
{
	enum { N = 27000, D = 40 };
	const vl_seg_section *sec[2][2];
	uint8_t *file[2];
	size_t len[2];
	char *dirs[2];
	vl_seg_layout lay[2];
	float *v = malloc((size_t)N * D * sizeof *v);
	cr_assert(v);
	ts_rng rng = { 11 };
	ts_vectors(&rng, v, N, D);
	for (int t = 0; t < 2; t++) {
		dirs[t] = ts_tmpdir("bulkthreads");
		vl_store *st = ts_open(dirs[t]);
		vl_schema sc = VL_SCHEMA_INIT;
		sc.dim = D;
		sc.index = "flat";
		sc.storage = "lvq4x8";
		vl_job_opts jo = VL_JOB_OPTS_INIT;
		jo.threads = t ? 3 : 1;
		vl_bulk *b;
		cr_assert_eq(vl_bulk_begin_new(st, "docs", &sc, &jo, &b), VL_OK, "%s", vl_errmsg(st));
		for (size_t i = 0; i < N; i++) {
			char key[32];
			snprintf(key, sizeof key, "k%zu", i);
			vl_row r = { key, strlen(key), v + i * D, D, NULL, 0 };
			cr_assert_eq(vl_bulk_add(b, &r, 1), VL_OK, "%s", vl_errmsg(st));
		}
		cr_assert_eq(vl_bulk_commit(b), VL_OK, "%s", vl_errmsg(st));
		vl_close(st);
		file[t] = read_segment(dirs[t], &len[t]);
		vl_diag d = { 0 };
		cr_assert_eq(vl_seg_decode_header(file[t], len[t], len[t], &lay[t], &d), VL_OK, "%s", d.msg);
		sec[t][0] = vl_seg_find(&lay[t], VL_SEC_PRIMARY, 0);
		sec[t][1] = vl_seg_find(&lay[t], VL_SEC_SECONDARY, 0);
		cr_assert(sec[t][0] && sec[t][1], "threads %d: no PRIMARY/SECONDARY", jo.threads);
	}
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(sec[0][k]->length, sec[1][k]->length);
		cr_assert(sec[0][k]->length >= (uint64_t)N * 20);
		cr_expect(memcmp(file[0] + sec[0][k]->offset, file[1] + sec[1][k]->offset,
		                 sec[0][k]->length) == 0,
		          "%s bytes differ between 1 and 3 threads", k ? "SECONDARY" : "PRIMARY");
	}
	for (int t = 0; t < 2; t++) {
		free(file[t]);
		ts_rmtree(dirs[t]);
		free(dirs[t]);
	}
	free(v);
}

Test(bulk, abort_leaves_nothing)
{
	setenv("VECLITE_BULK_CHUNK", STEP, 1);
	char *dir = ts_tmpdir("bulkabort");
	vl_store *st = ts_open(dir);
	vl_schema sc = schema();
	vl_bulk *b;
	cr_assert_eq(vl_bulk_begin_new(st, "docs", &sc, NULL, &b), VL_OK);
	cr_assert_eq(add_rows(b, 0, ROWS), VL_OK);
	vl_bulk_abort(b);
	expect_absent(st, "docs");
	cr_expect_eq(staged_notes(st), 0, "abort left a stage record");
	/* a failing commit too: a row of the wrong dimension fails the add,
	 * and the load then commits nothing */
	cr_assert_eq(vl_bulk_begin_new(st, "docs", &sc, NULL, &b), VL_OK);
	cr_assert_eq(add_rows(b, 0, ROWS / 2), VL_OK);
	float bad[DIM + 1] = { 0 };
	vl_row r = { "bad", 3, bad, DIM + 1, NULL, 0 };
	cr_expect_eq(vl_bulk_add(b, &r, 1), VL_EDIM);
	vl_bulk_abort(b);
	expect_absent(st, "docs");
	cr_expect_eq(staged_notes(st), 0);
	/* the name is free again */
	vl_collection *c = ts_create(st, "docs", DIM, VL_METRIC_L2, "flat", "float32", "body:text", NULL);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_expect_eq(n, 0, "a new collection of the same name holds %llu old rows",
	             (unsigned long long)n);
	vl_collection_close(c);
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
	unsetenv("VECLITE_BULK_CHUNK");
}

/* Bytes of address space this process has mapped (VmSize). */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	cr_assert(f);
	char line[256];
	size_t kb = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	cr_assert(kb > 0);
	return kb * 1024;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/* Out of memory for the load's 4 MiB spill buffer, after the hidden
 * collection was made: the collection is dropped and its handle closed
 * like on any other failure (it used to stay until the next writable open). */
Test(bulk, out_of_memory_at_begin_leaves_nothing)
{
#ifdef UNDER_SANITIZER
	/* the sanitizers' allocators cannot run under an address-space limit */
	cr_skip_test("RLIMIT_AS and the sanitizers' allocators do not mix");
	return;
#endif
	char *dir = ts_tmpdir("bulkoom");
	vl_store *st = ts_open(dir);
	vl_schema sc = schema();
	vl_bulk *b = NULL;
	/* warm up: one load begun and aborted, so that what a begin needs
	 * besides the spill buffer is mapped already */
	cr_assert_eq(vl_bulk_begin_new(st, "warm", &sc, NULL, &b), VL_OK, "%s", vl_errmsg(st));
	vl_bulk_abort(b);
	struct rlimit old, lim;
	cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
	lim = old;
	lim.rlim_cur = vm_size() + (1u << 20); /* room for small allocations, not for 4 MiB */
	cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
	int rc = vl_bulk_begin_new(st, "docs", &sc, NULL, &b);
	cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
	cr_assert_eq(rc, VL_ENOMEM, "begin under a 1 MiB margin: %d (%s)", rc, vl_errmsg(st));
	expect_absent(st, "docs");
	cr_expect_eq(staged_notes(st), 0, "the failed begin left its hidden collection");
	/* and the store goes on: the same name loads and commits */
	cr_assert_eq(vl_bulk_begin_new(st, "docs", &sc, NULL, &b), VL_OK, "%s", vl_errmsg(st));
	cr_assert_eq(add_rows(b, 0, 10), VL_OK);
	cr_assert_eq(vl_bulk_commit(b), VL_OK, "%s", vl_errmsg(st));
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
}

/* A process that dies in the middle of a staged load (after many
 * intermediate commits) leaves a hidden collection; a read-only open sees a
 * note and nothing else; the next writable open removes it. */
Test(bulk, crashed_load_is_removed_at_open)
{
	char *dir = ts_tmpdir("bulkcrash");
	vl_close(ts_open(dir));
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		setenv("VECLITE_BULK_CHUNK", STEP, 1);
		vl_store *st;
		if (vl_open(dir, NULL, &st))
			_exit(2);
		vl_schema sc = schema();
		vl_bulk *b;
		if (vl_bulk_begin_new(st, "docs", &sc, NULL, &b) || add_rows(b, 0, ROWS))
			_exit(3);
		_exit(0); /* no commit, no abort: as if killed */
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	vl_open_opts ro = VL_OPEN_OPTS_INIT;
	ro.flags = VL_OPEN_RDONLY;
	vl_store *st;
	cr_assert_eq(vl_open(dir, &ro, &st), VL_OK, "%s", vl_errmsg(NULL));
	expect_absent(st, "docs");
	cr_expect_eq(staged_notes(st), 1, "the crashed load should be noted");
	vl_close(st);
	cr_assert_eq(vl_open(dir, NULL, &st), VL_OK);
	expect_absent(st, "docs");
	cr_expect_eq(staged_notes(st), 0, "the writable open kept the crashed load");
	/* its rows went too: a load of half the rows under the same name holds
	 * exactly those */
	setenv("VECLITE_BULK_CHUNK", STEP, 1);
	vl_schema sc = schema();
	vl_bulk *b;
	cr_assert_eq(vl_bulk_begin_new(st, "docs", &sc, NULL, &b), VL_OK);
	cr_assert_eq(add_rows(b, ROWS / 2, ROWS), VL_OK);
	cr_assert_eq(vl_bulk_commit(b), VL_OK, "%s", vl_errmsg(st));
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "docs", &c), VL_OK);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_expect_eq(n, ROWS - ROWS / 2);
	vl_record *r;
	cr_expect_eq(vl_get(c, "k0", 2, &r), VL_ENOTFOUND, "a crashed load's row is visible");
	cr_expect_eq(vl_verify(st, NULL, NULL), VL_OK, "%s", vl_errmsg(st));
	vl_collection_close(c);
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
	unsetenv("VECLITE_BULK_CHUNK");
}
