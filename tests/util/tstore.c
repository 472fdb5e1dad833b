/* tstore.c - engine test helpers (see tstore.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tstore.h"

char *ts_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/vltest-%s-XXXXXX", base && *base ? base : "/tmp", tag);
	char *d = mkdtemp(tmpl);
	cr_assert(d, "mkdtemp: %s", strerror(errno));
	return strdup(d);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

void ts_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

vl_store *ts_open(const char *dir)
{
	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	/* tests that need durability (crash tests) open their stores themselves */
	o.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC;
	int rc = vl_open(dir, &o, &st);
	cr_assert_eq(rc, VL_OK, "vl_open(%s): %s", dir, vl_errmsg(NULL));
	return st;
}

vl_collection *ts_create(vl_store *st, const char *name, uint32_t dim, vl_metric metric,
                         const char *index, const char *storage, const char *fields,
                         const char *const *params)
{
	vl_field f[32];
	char names[32][64];
	size_t nf = 0;
	if (fields) {
		char buf[1024];
		snprintf(buf, sizeof buf, "%s", fields);
		for (char *tok = strtok(buf, ","); tok && nf < 32; tok = strtok(NULL, ",")) {
			char *colon = strchr(tok, ':');
			cr_assert(colon);
			*colon = 0;
			snprintf(names[nf], sizeof names[nf], "%s", tok);
			f[nf].name = names[nf];
			f[nf].type = !strcmp(colon + 1, "tag") ? VL_FIELD_TAG
			             : !strcmp(colon + 1, "numeric") ? VL_FIELD_NUMERIC : VL_FIELD_TEXT;
			nf++;
		}
	}
	size_t np = 0;
	while (params && params[np])
		np++;
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = dim;
	s.metric = metric;
	s.index = index;
	s.storage = storage;
	s.fields = f;
	s.nfields = nf;
	s.params = params;
	s.nparams = np;
	vl_collection *c;
	int rc = vl_collection_create(st, name, &s, &c);
	cr_assert_eq(rc, VL_OK, "create %s: %s", name, vl_errmsg(st));
	return c;
}

void ts_vectors(ts_rng *r, float *out, size_t n, uint32_t dim)
{
	for (size_t i = 0; i < n * dim; i++)
		out[i] = ts_unit(r);
}

double ts_dist(vl_metric m, const float *q, const float *x, uint32_t dim)
{
	double dot = 0, l2 = 0, nq = 0, nx = 0;
	for (uint32_t i = 0; i < dim; i++) {
		double d = (double)q[i] - (double)x[i];
		l2 += d * d;
		dot += (double)q[i] * (double)x[i];
		nq += (double)q[i] * (double)q[i];
		nx += (double)x[i] * (double)x[i];
	}
	if (m == VL_METRIC_IP)
		return -dot;
	if (m == VL_METRIC_COSINE)
		return (nq > 0 && nx > 0) ? 1.0 - dot / (sqrt(nq) * sqrt(nx)) : 1.0;
	return l2;
}

typedef struct pair { double d; size_t i; } pair;
static int cmp_pair(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

size_t ts_topk(vl_metric m, const float *q, const float *rows, size_t n, uint32_t dim,
               const uint8_t *alive, size_t k, size_t *out)
{
	pair *p = malloc((n ? n : 1) * sizeof *p);
	cr_assert(p);
	size_t m2 = 0;
	for (size_t i = 0; i < n; i++)
		if (!alive || alive[i])
			p[m2++] = (pair){ ts_dist(m, q, rows + i * dim, dim), i };
	qsort(p, m2, sizeof *p, cmp_pair);
	size_t r = m2 < k ? m2 : k;
	for (size_t i = 0; i < r; i++)
		out[i] = p[i].i;
	free(p);
	return r;
}

int ts_put_rows(vl_store *st, vl_collection *c, const char *prefix, const float *vecs, size_t first,
                size_t n, uint32_t dim, ts_values_fn fn)
{
	vl_txn *t;
	int rc = vl_txn_begin(st, &t);
	if (rc)
		return rc;
	for (size_t i = first; i < first + n; i++) {
		char key[64], buf[512];
		vl_value vals[16];
		size_t nv = fn ? fn(i, vals, buf, sizeof buf) : 0;
		snprintf(key, sizeof key, "%s%zu", prefix, i);
		vl_row row = { key, strlen(key), vecs + (i - first) * dim, dim, vals, nv };
		if ((rc = vl_upsert(t, c, &row, 1))) {
			vl_txn_abort(t);
			return rc;
		}
	}
	return vl_txn_commit(t);
}

const char *ts_cli(void)
{
	const char *p = getenv("VECLITE_CLI");
	return p && *p ? p : "build/veclite";
}

int ts_run(const char *cmd, char **out)
{
	FILE *fp = popen(cmd, "r");
	if (!fp)
		return -1;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	cr_assert(buf);
	size_t got;
	while ((got = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
		len += got;
		if (cap - len < 1024) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
	}
	buf[len] = 0;
	int st = pclose(fp);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

float *ts_fmnist(int test, size_t first, size_t n, uint32_t *dim)
{
	const char *dir = getenv("VECLITE_DATA");
	char path[1024];
	snprintf(path, sizeof path, "%s/fmnist-%s-images", dir && *dir ? dir : "build/data", test ? "test" : "train");
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	uint8_t hdr[16];
	if (fread(hdr, 1, 16, fp) != 16) {
		fclose(fp);
		return NULL;
	}
	uint32_t rows = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
	uint32_t d = 28 * 28;
	if (first + n > rows) {
		fclose(fp);
		return NULL;
	}
	uint8_t *raw = malloc(n * d);
	float *out = malloc(n * d * sizeof *out);
	cr_assert(raw && out);
	fseek(fp, (long)(16 + first * d), SEEK_SET);
	size_t got = fread(raw, 1, n * d, fp);
	fclose(fp);
	cr_assert_eq(got, n * d);
	for (size_t i = 0; i < n * d; i++)
		out[i] = raw[i];
	free(raw);
	*dim = d;
	return out;
}
