/* reindex_report.c - measurement and printing for `veclite reindex --report`. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "reindex_report.h"
#include "vecfile.h"

/* ---- queries ----------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int rx_sample_queries(vl_collection *c, size_t n, uint64_t seed, rx_queries *q)
{
	memset(q, 0, sizeof *q);
	q->source = "sample";
	vl_cursor *cur;
	int rc = vl_cursor_open(c, &cur);
	if (rc)
		return rc;
	uint64_t seen = 0, rng = seed;
	const vl_record *rec;
	while ((rc = vl_cursor_next(cur, &rec)) == VL_OK && rec) {
		if (!q->vec) {
			q->dim = rec->dim;
			q->vec = malloc((n ? n : 1) * (size_t)q->dim * sizeof *q->vec);
			if (!q->vec) {
				rc = VL_ENOMEM;
				break;
			}
		}
		/* reservoir sampling: every row equally likely */
		uint64_t slot = seen < n ? seen : rng_next(&rng) % (seen + 1);
		if (slot < n)
			memcpy(q->vec + slot * q->dim, rec->vector, (size_t)q->dim * sizeof *q->vec);
		seen++;
	}
	vl_cursor_close(cur);
	q->n = seen < n ? (size_t)seen : n;
	return rc;
}

int rx_file_queries(const char *path, size_t max, uint32_t dim, rx_queries *q)
{
	memset(q, 0, sizeof *q);
	q->source = path;
	vl_vecfile *vf;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_vecfile_open(path, NULL, &vf, &d))
		return cli_error("%s", d.msg), VL_EFORMAT;
	if (vl_vecfile_info_get(vf)->dim != dim) {
		cli_error("%s: queries have %u dimensions, the collection %u", path,
		          vl_vecfile_info_get(vf)->dim, dim);
		vl_vecfile_close(vf);
		return VL_EDIM;
	}
	q->dim = dim;
	size_t cap = 0;
	int rc = VL_OK;
	for (;;) {
		if (q->n == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			float *p = realloc(q->vec, nc * dim * sizeof *p);
			if (!p) {
				rc = VL_ENOMEM;
				break;
			}
			q->vec = p;
			cap = nc;
		}
		size_t want = cap - q->n, got;
		if (max && want > max - q->n)
			want = max - q->n;
		vl_diag_clear(&d);
		if (vl_vecfile_next(vf, q->vec + q->n * dim, want, &got, &d)) {
			cli_error("%s", d.msg);
			rc = VL_EFORMAT;
			break;
		}
		q->n += got;
		if (got == 0 || (max && q->n >= max))
			break;
	}
	vl_vecfile_close(vf);
	if (rc == VL_OK && q->n == 0) {
		cli_error("%s holds no query vectors", path);
		rc = VL_EFORMAT;
	}
	return rc;
}

int rx_exact(vl_collection *c, rx_queries *q, unsigned threads, vl_store *st)
{
	vl_results **res = calloc(q->n ? q->n : 1, sizeof *res);
	q->keys = calloc((q->n ? q->n : 1) * RX_K, sizeof *q->keys);
	q->key_lens = calloc((q->n ? q->n : 1) * RX_K, sizeof *q->key_lens);
	q->nexact = calloc(q->n ? q->n : 1, sizeof *q->nexact);
	if (!res || !q->keys || !q->key_lens || !q->nexact) {
		free(res);
		return VL_ENOMEM;
	}
	vl_search_opts o = VL_SEARCH_OPTS_INIT;
	o.k = RX_K;
	o.flags = VL_SEARCH_EXACT;
	o.threads = threads;
	int rc = vl_search_batch(c, q->vec, q->n, q->dim, &o, res);
	for (size_t i = 0; rc == VL_OK && i < q->n; i++) {
		q->nexact[i] = (uint32_t)res[i]->n;
		for (size_t j = 0; j < res[i]->n; j++) {
			char *k = malloc(res[i]->hits[j].key_len + 1);
			if (!k) {
				rc = VL_ENOMEM;
				break;
			}
			memcpy(k, res[i]->hits[j].key, res[i]->hits[j].key_len);
			q->keys[i * RX_K + j] = k;
			q->key_lens[i * RX_K + j] = res[i]->hits[j].key_len;
		}
	}
	for (size_t i = 0; i < q->n; i++)
		vl_results_free(res[i]);
	free(res);
	return rc;
}

void rx_queries_free(rx_queries *q)
{
	if (q->keys)
		for (size_t i = 0; i < q->n * RX_K; i++)
			free(q->keys[i]);
	free(q->keys);
	free(q->key_lens);
	free(q->nexact);
	free(q->vec);
	memset(q, 0, sizeof *q);
}

/* ---- one side ---------------------------------------------------------------- */

int rx_side_info(vl_collection *c, rx_side *s, vl_store *st)
{
	vl_info *inf;
	int rc = vl_collection_info(c, &inf);
	if (rc)
		return rc;
	snprintf(s->index, sizeof s->index, "%s", inf->index);
	snprintf(s->storage, sizeof s->storage, "%s", inf->storage);
	s->rows = inf->rows;
	s->disk_bytes = inf->disk_bytes;
	s->params = calloc(inf->nparams + 1, sizeof *s->params);
	s->sections = calloc(inf->nsections + 1, sizeof *s->sections);
	if (!s->params || !s->sections) {
		vl_info_free(inf);
		return VL_ENOMEM;
	}
	for (size_t i = 0; i < inf->nparams; i++)
		if ((s->params[s->nparams] = strdup(inf->params[i])))
			s->nparams++;
	const char *primary = strcmp(inf->storage, "float32") == 0 ? "vectors" : "primary";
	s->memory_bytes = s->resident_bytes = 0;
	for (size_t i = 0; i < inf->nsections; i++) {
		const vl_section_stats *x = &inf->sections[i];
		s->sections[s->nsections++] = (rx_section){ x->name, x->bytes, x->resident };
		s->resident_bytes += x->resident;
		if (!strcmp(x->name, primary) || !strcmp(x->name, "quant") || !strcmp(x->name, inf->index))
			s->memory_bytes += x->bytes;
	}
	vl_info_free(inf);
	return VL_OK;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)ceil(p * (double)n) - 1;
	return sorted[i < n ? i : n - 1];
}

/* |first r results ∩ first r exact keys| / min(r, exact count). */
static double recall_at(const rx_queries *q, size_t qi, const vl_results *res, uint32_t r)
{
	uint32_t ne = q->nexact[qi] < r ? q->nexact[qi] : r;
	if (!ne)
		return 1.0;
	uint32_t hit = 0;
	for (size_t i = 0; i < res->n && i < r; i++)
		for (uint32_t j = 0; j < ne; j++)
			if (res->hits[i].key_len == q->key_lens[qi * RX_K + j] &&
			    memcmp(res->hits[i].key, q->keys[qi * RX_K + j], res->hits[i].key_len) == 0) {
				hit++;
				break;
			}
	return (double)hit / ne;
}

int rx_side_measure(vl_collection *c, const rx_queries *q, rx_side *s, vl_store *st)
{
	double *lat = malloc((q->n ? q->n : 1) * sizeof *lat);
	if (!lat)
		return VL_ENOMEM;
	vl_search_opts o = VL_SEARCH_OPTS_INIT;
	o.k = RX_K;
	int rc = VL_OK;
	/* warm-up: map the segments and fault in what the queries touch */
	for (size_t i = 0; i < q->n && i < 100 && rc == VL_OK; i++) {
		vl_results *r;
		if ((rc = vl_search(c, q->vec + i * q->dim, q->dim, &o, &r)) == VL_OK)
			vl_results_free(r);
	}
	double sum[3] = { 0 }, total = 0, evals = 0;
	static const uint32_t at[3] = { 1, 5, 10 };
	for (size_t i = 0; i < q->n && rc == VL_OK; i++) {
		vl_results *r;
		double t0 = now_s();
		rc = vl_search(c, q->vec + i * q->dim, q->dim, &o, &r);
		double t1 = now_s();
		if (rc)
			break;
		lat[i] = (t1 - t0) * 1e6;
		total += t1 - t0;
		evals += (double)r->distance_evals;
		for (int j = 0; j < 3; j++)
			sum[j] += recall_at(q, i, r, at[j]);
		vl_results_free(r);
	}
	if (rc == VL_OK && q->n) {
		for (int j = 0; j < 3; j++)
			s->recall[j] = sum[j] / (double)q->n;
		qsort(lat, q->n, sizeof *lat, cmp_dbl);
		s->p50_us = pct(lat, q->n, 0.50);
		s->p95_us = pct(lat, q->n, 0.95);
		s->p99_us = pct(lat, q->n, 0.99);
		s->qps = total > 0 ? (double)q->n / total : 0;
		s->evals = evals / (double)q->n;
		s->measured = 1;
	}
	free(lat);
	/* residency after the workload */
	if (rc == VL_OK) {
		char **params = s->params;
		size_t np = s->nparams;
		rx_section *secs = s->sections;
		s->params = NULL;
		s->sections = NULL;
		s->nparams = s->nsections = 0;
		rc = rx_side_info(c, s, st);
		for (size_t i = 0; i < np; i++)
			free(params[i]);
		free(params);
		free(secs);
	}
	return rc;
}

void rx_side_free(rx_side *s)
{
	for (size_t i = 0; i < s->nparams; i++)
		free(s->params[i]);
	free(s->params);
	free(s->sections);
	s->params = NULL;
	s->sections = NULL;
	s->nparams = s->nsections = 0;
}

/* ---- verdict ------------------------------------------------------------------- */

void rx_decide(rx_report *r)
{
	const rx_side *b = &r->before, *a = &r->after;
	r->savings_pct = b->memory_bytes ? 100.0 * ((double)b->memory_bytes - (double)a->memory_bytes) /
	                                       (double)b->memory_bytes
	                                 : 0;
	r->disk_savings_pct = b->disk_bytes ? 100.0 * ((double)b->disk_bytes - (double)a->disk_bytes) /
	                                          (double)b->disk_bytes
	                                    : 0;
	r->recall_ok = a->measured && a->recall[2] >= r->min_recall;
	r->savings_ok = r->savings_pct >= r->min_savings;
	if (r->recall_ok && r->savings_ok) {
		r->verdict = "RECOMMENDED";
		r->reason = "the new index saves enough memory and keeps search quality";
	} else if (r->savings_ok) {
		r->verdict = "CONDITIONAL";
		r->reason = "good memory savings, but recall@10 is below the threshold: "
		            "migrate only if the application tolerates it (or raise the search window)";
	} else if (r->recall_ok) {
		r->verdict = "LIMITED BENEFIT";
		r->reason = "search quality is kept, but the memory savings are below the threshold";
	} else {
		r->verdict = "NOT RECOMMENDED";
		r->reason = "neither the memory savings nor recall@10 reach their thresholds";
	}
}

/* ---- printing ------------------------------------------------------------------- */

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	double x = (double)b;
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;
	while (x >= 1024 && i < 4) {
		x /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", x, u[i]);
}

static double change_pct(double before, double after)
{
	return before > 0 ? 100.0 * (after - before) / before : 0;
}

static const char *mode_name(rx_mode m)
{
	return m == RX_GATED ? "gated" : m == RX_DRY_RUN ? "dry-run" : "direct";
}

void rx_print_text(const rx_report *r)
{
	const rx_side *b = &r->before, *a = &r->after;
	char x[32], y[32], kb[64], ka[64];
	snprintf(kb, sizeof kb, "%s/%s", b->index, b->storage);
	snprintf(ka, sizeof ka, "%s/%s", a->index, a->storage);
	printf("reindex '%s': %s -> %s (%" PRIu64 " rows; %zu queries %s; k=%d)\n\n", r->collection, kb,
	       ka, b->rows, r->q->n,
	       strcmp(r->q->source, "sample") ? r->q->source : "sampled from the data", RX_K);
	printf("%-28s %-26s %-26s %s\n", "", "before", "after", "change");
	printf("%-28s %-26s %-26s\n", "index/storage", kb, ka);
	human_bytes(b->memory_bytes, x, sizeof x);
	human_bytes(a->memory_bytes, y, sizeof y);
	printf("%-28s %-26s %-26s %+.1f%%\n", "memory (search working set)", x, y,
	       change_pct((double)b->memory_bytes, (double)a->memory_bytes));
	human_bytes(b->resident_bytes, x, sizeof x);
	human_bytes(a->resident_bytes, y, sizeof y);
	printf("%-28s %-26s %-26s\n", "resident after the queries", x, y);
	human_bytes(b->disk_bytes, x, sizeof x);
	human_bytes(a->disk_bytes, y, sizeof y);
	printf("%-28s %-26s %-26s %+.1f%%\n", "disk (segment files)", x, y,
	       change_pct((double)b->disk_bytes, (double)a->disk_bytes));
	char rb[64], ra[64];
	snprintf(rb, sizeof rb, "%.3f / %.3f / %.3f", b->recall[0], b->recall[1], b->recall[2]);
	snprintf(ra, sizeof ra, "%.3f / %.3f / %.3f", a->recall[0], a->recall[1], a->recall[2]);
	printf("%-28s %-26s %-26s %+.3f\n", "recall@1 / @5 / @10", rb, ra, a->recall[2] - b->recall[2]);
	snprintf(rb, sizeof rb, "%.0f / %.0f / %.0f us", b->p50_us, b->p95_us, b->p99_us);
	snprintf(ra, sizeof ra, "%.0f / %.0f / %.0f us", a->p50_us, a->p95_us, a->p99_us);
	printf("%-28s %-26s %-26s %+.1f%% (p50)\n", "latency p50 / p95 / p99", rb, ra,
	       change_pct(b->p50_us, a->p50_us));
	snprintf(rb, sizeof rb, "%.0f", b->qps);
	snprintf(ra, sizeof ra, "%.0f", a->qps);
	printf("%-28s %-26s %-26s %.2fx\n", "QPS (1 thread)", rb, ra, b->qps > 0 ? a->qps / b->qps : 0);
	snprintf(rb, sizeof rb, "%.0f", b->evals);
	snprintf(ra, sizeof ra, "%.0f", a->evals);
	printf("%-28s %-26s %-26s\n", "distances per query", rb, ra);
	snprintf(ra, sizeof ra, "%.2f s", r->build_s);
	printf("%-28s %-26s %-26s\n", "build time", "-", ra);
	printf("\nverdict: %s (recall@10 %.3f %s %.3f, memory savings %.1f%% %s %.1f%%)\n", r->verdict,
	       a->recall[2], r->recall_ok ? ">=" : "<", r->min_recall, r->savings_pct,
	       r->savings_ok ? ">=" : "<", r->min_savings);
	printf("  %s\n", r->reason);
	if (r->mode == RX_DIRECT)
		printf("switched: yes (the new index serves now; thresholds were not a gate)\n");
	else if (r->mode == RX_DRY_RUN)
		printf("switched: no (dry run: measured on a shadow copy)\n");
	else if (r->switched)
		printf("switched: yes (measured on a shadow copy, then reindexed in %.2f s)\n", r->switch_s);
	else
		printf("switched: no (the old index keeps serving)\n");
}

static void json_side(vl_sink *s, const rx_side *x)
{
	vl_sink_puts(s, "{");
	cli_json_key(s, "index"), cli_json_str(s, x->index), vl_sink_puts(s, ", ");
	cli_json_key(s, "storage"), cli_json_str(s, x->storage), vl_sink_puts(s, ", ");
	cli_json_key(s, "params"), vl_sink_puts(s, "[");
	for (size_t i = 0; i < x->nparams; i++) {
		if (i)
			vl_sink_puts(s, ", ");
		cli_json_str(s, x->params[i]);
	}
	vl_sink_puts(s, "], ");
	cli_json_key(s, "rows"), cli_json_u64(s, x->rows), vl_sink_puts(s, ", ");
	cli_json_key(s, "memory_bytes"), cli_json_u64(s, x->memory_bytes), vl_sink_puts(s, ", ");
	cli_json_key(s, "resident_bytes"), cli_json_u64(s, x->resident_bytes), vl_sink_puts(s, ", ");
	cli_json_key(s, "disk_bytes"), cli_json_u64(s, x->disk_bytes), vl_sink_puts(s, ", ");
	cli_json_key(s, "sections"), vl_sink_puts(s, "{");
	for (size_t i = 0; i < x->nsections; i++) {
		if (i)
			vl_sink_puts(s, ", ");
		cli_json_key(s, x->sections[i].name);
		vl_sink_puts(s, "{");
		cli_json_key(s, "bytes"), cli_json_u64(s, x->sections[i].bytes), vl_sink_puts(s, ", ");
		cli_json_key(s, "resident"), cli_json_u64(s, x->sections[i].resident);
		vl_sink_puts(s, "}");
	}
	vl_sink_puts(s, "}, ");
	cli_json_key(s, "recall"), vl_sink_puts(s, "{");
	cli_json_key(s, "1"), cli_json_f64(s, x->recall[0]), vl_sink_puts(s, ", ");
	cli_json_key(s, "5"), cli_json_f64(s, x->recall[1]), vl_sink_puts(s, ", ");
	cli_json_key(s, "10"), cli_json_f64(s, x->recall[2]), vl_sink_puts(s, "}, ");
	cli_json_key(s, "latency_us"), vl_sink_puts(s, "{");
	cli_json_key(s, "p50"), cli_json_f64(s, x->p50_us), vl_sink_puts(s, ", ");
	cli_json_key(s, "p95"), cli_json_f64(s, x->p95_us), vl_sink_puts(s, ", ");
	cli_json_key(s, "p99"), cli_json_f64(s, x->p99_us), vl_sink_puts(s, "}, ");
	cli_json_key(s, "qps"), cli_json_f64(s, x->qps), vl_sink_puts(s, ", ");
	cli_json_key(s, "distances_per_query"), cli_json_f64(s, x->evals);
	vl_sink_puts(s, "}");
}

void rx_print_json(const rx_report *r)
{
	vl_sink s;
	cli_json_begin(&s);
	vl_sink_puts(&s, "{");
	cli_json_key(&s, "collection"), cli_json_str(&s, r->collection), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "mode"), cli_json_str(&s, mode_name(r->mode)), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "switched"), vl_sink_puts(&s, r->switched ? "true" : "false");
	vl_sink_puts(&s, ", ");
	cli_json_key(&s, "queries"), vl_sink_puts(&s, "{");
	cli_json_key(&s, "count"), cli_json_u64(&s, r->q->n), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "source"), cli_json_str(&s, r->q->source), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "k"), cli_json_u64(&s, RX_K), vl_sink_puts(&s, "}, ");
	cli_json_key(&s, "before"), json_side(&s, &r->before), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "after"), json_side(&s, &r->after), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "build_seconds"), cli_json_f64(&s, r->build_s), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "switch_seconds"), cli_json_f64(&s, r->switch_s), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "memory_savings_pct"), cli_json_f64(&s, r->savings_pct), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "disk_savings_pct"), cli_json_f64(&s, r->disk_savings_pct);
	vl_sink_puts(&s, ", ");
	cli_json_key(&s, "verdict"), vl_sink_puts(&s, "{");
	cli_json_key(&s, "result"), cli_json_str(&s, r->verdict), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "reason"), cli_json_str(&s, r->reason), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "min_recall"), cli_json_f64(&s, r->min_recall), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "min_savings_pct"), cli_json_f64(&s, r->min_savings), vl_sink_puts(&s, ", ");
	cli_json_key(&s, "recall_ok"), vl_sink_puts(&s, r->recall_ok ? "true" : "false");
	vl_sink_puts(&s, ", ");
	cli_json_key(&s, "savings_ok"), vl_sink_puts(&s, r->savings_ok ? "true" : "false");
	vl_sink_puts(&s, "}}\n");
	cli_json_end(&s);
}

/* ---- shadow cleanup ------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

int rx_rmtree(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
