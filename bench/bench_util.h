/*
 * bench_util.h - helpers shared by the benchmark programs in bench/ (C and C++).
 *
 * Header-only (static inline) so each driver is one translation unit built
 * with its own flags: vl_bench.c with the project's warnings, the peers with
 * -O3 -march=native. Nothing here is part of libveclite.
 *
 * Output convention: every measurement is one line
 *     RESULT key=value key=value ...
 * on stdout (values contain no spaces); bench/run parses those lines and
 * ignores everything else, so drivers may print notes freely on stderr.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Time and memory                                                      */
/* ------------------------------------------------------------------ */
static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A "VmXXX:" line of /proc/self/status in KiB, or 0 when unavailable. */
static inline uint64_t bench_proc_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	char line[256];
	size_t fl = strlen(field);
	uint64_t kb = 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kb = strtoull(line + fl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static inline uint64_t bench_rss_kb(void) { return bench_proc_kb("VmRSS"); }
static inline uint64_t bench_hwm_kb(void) { return bench_proc_kb("VmHWM"); }
/* Of VmRSS: private heap/stack (anonymous) and mapped file pages (page cache). */
static inline uint64_t bench_anon_kb(void) { return bench_proc_kb("RssAnon"); }
static inline uint64_t bench_file_kb(void) { return bench_proc_kb("RssFile"); }

/* ------------------------------------------------------------------ */
/* .fvecs / .ivecs: each row is int32 dim (little-endian) + dim values  */
/* ------------------------------------------------------------------ */
typedef struct bench_mat {
	size_t n, dim;
	void *data;             /* n * dim floats or int32s, row after row */
} bench_mat;

/*
 * Read rows [0, limit) of a .fvecs/.ivecs file (limit 0 = all). Every row
 * must carry the same dim. Returns 0, or -1 with a message on stderr.
 */
static inline int bench_read_vecs(const char *path, size_t limit, bench_mat *out)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	int32_t d32;
	if (fread(&d32, 4, 1, f) != 1 || d32 <= 0 || d32 > 1 << 20) {
		fprintf(stderr, "%s: bad first dimension at offset 0\n", path);
		fclose(f);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	size_t dim = (size_t)d32, rowb = 4 + dim * 4;
	if (size < 0 || (size_t)size % rowb) {
		fprintf(stderr, "%s: size %ld is not a multiple of the row size %zu\n", path, size,
		        rowb);
		fclose(f);
		return -1;
	}
	size_t n = (size_t)size / rowb;
	if (limit && limit < n)
		n = limit;
	char *data = (char *)malloc(n * dim * 4 + 1);
	if (!data) {
		fprintf(stderr, "%s: out of memory for %zu rows\n", path, n);
		fclose(f);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (fread(&d32, 4, 1, f) != 1 || (size_t)d32 != dim ||
		    fread(data + i * dim * 4, 4, dim, f) != dim) {
			fprintf(stderr, "%s: row %zu is truncated or has another dimension (offset %zu)\n",
			        path, i, i * rowb);
			free(data);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	out->n = n;
	out->dim = dim;
	out->data = data;
	return 0;
}

/* Write n rows of dim 4-byte values. Returns 0 or -1 (message on stderr). */
static inline int bench_write_vecs(FILE *f, const void *rows, size_t n, size_t dim)
{
	int32_t d32 = (int32_t)dim;
	const char *p = (const char *)rows;
	for (size_t i = 0; i < n; i++) {
		if (fwrite(&d32, 4, 1, f) != 1 || fwrite(p + i * dim * 4, 4, dim, f) != dim) {
			fprintf(stderr, "write failed: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Quality and latency                                                  */
/* ------------------------------------------------------------------ */
/*
 * recall@k of one query: |found ∩ truth[0..k)| / k. found holds ids (-1 for
 * an empty slot); truth is a ground-truth row of at least k ids.
 */
static inline double bench_recall(const int64_t *found, size_t nfound, const int32_t *truth,
                                  size_t k)
{
	size_t hit = 0;
	for (size_t i = 0; i < nfound && i < k; i++)
		for (size_t j = 0; j < k; j++)
			if (found[i] == (int64_t)truth[j]) {
				hit++;
				break;
			}
	return (double)hit / (double)k;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Percentile p (0..100) of v[0..n), nearest-rank; sorts v in place. */
static inline double bench_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof *v, bench_cmp_double);
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* ------------------------------------------------------------------ */
/* Deterministic pseudo-random numbers (splitmix64)                     */
/* ------------------------------------------------------------------ */
static inline uint64_t bench_mix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ */
/* LlamaIndex-like text attributes for the cold-start comparison        */
/* ------------------------------------------------------------------ */
/*
 * The seed's Redis store held, next to each 768-d float32 embedding, about
 * 2.4 KB of LlamaIndex node fields. bench_row_fields() makes the same shape
 * deterministically from the row number, so the Redis loader (gen_resp.c)
 * and the veclite loader (vl_bench.c) store byte-identical attributes.
 */
#define BENCH_NFIELDS 7
#define BENCH_TEXT_BYTES 900      /* "text" */
#define BENCH_NODE_BYTES 1400     /* "_node_content" JSON */
#define BENCH_ROW_CAP 4096        /* bytes of buf needed by bench_row_fields */

typedef struct bench_field {
	const char *name;
	const char *value;
	size_t len;
} bench_field;

static const char *const bench_words[] = {
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on",
	"be", "by", "this", "are", "from", "at", "or", "an", "which", "system", "data",
	"server", "memory", "vector", "index", "search", "query", "result", "model",
	"service", "request", "response", "config", "cache", "node", "document", "user",
	"agent", "knowledge", "base", "network", "file", "process", "error", "value",
	"update", "status", "time", "load", "start", "store", "embedding", "chunk", "text",
	"metadata", "version", "backend", "frontend", "task", "worker", "queue", "redis",
	"python", "function", "module", "install", "deploy", "linux", "command", "output",
	"input", "table", "column", "record", "field", "support", "feature", "issue", "fix",
	"report", "performance", "latency", "throughput", "cluster", "replica", "backup",
	"security", "access", "token", "session", "policy", "rule", "event", "log", "metric",
	"alert", "monitor", "health", "check", "test", "build", "release", "package",
};
#define BENCH_NWORDS (sizeof bench_words / sizeof bench_words[0])

/* Append words to buf[*pos..] until about `bytes` were written. */
static inline void bench_words_fill(uint64_t *rng, char *buf, size_t *pos, size_t bytes)
{
	size_t end = *pos + bytes;
	while (*pos < end) {
		const char *w = bench_words[bench_mix64(rng) % BENCH_NWORDS];
		size_t wl = strlen(w);
		if (*pos + wl + 1 > end)
			break;
		memcpy(buf + *pos, w, wl);
		*pos += wl;
		buf[(*pos)++] = ' ';
	}
}

static inline void bench_uuid(uint64_t *rng, char out[37])
{
	uint64_t a = bench_mix64(rng), b = bench_mix64(rng);
	snprintf(out, 37, "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(a >> 32),
	         (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff, (unsigned)(b >> 52) & 0xfff,
	         (unsigned long long)(b & 0xffffffffffffull));
}

/*
 * Fill out[BENCH_NFIELDS] with the attributes of row `row`; values point into
 * buf (at least BENCH_ROW_CAP bytes). Returns the total value bytes.
 */
static inline size_t bench_row_fields(uint64_t row, bench_field *out, char *buf)
{
	uint64_t rng = row * 0x2545F4914F6CDD1Dull + 12345;
	char node_id[37], doc_id[37];
	bench_uuid(&rng, node_id);
	bench_uuid(&rng, doc_id);
	size_t pos = 0, total = 0;

	size_t text_at = pos;
	bench_words_fill(&rng, buf, &pos, BENCH_TEXT_BYTES);
	size_t text_len = pos - text_at;

	size_t node_at = pos;
	pos += (size_t)snprintf(buf + pos, BENCH_ROW_CAP - pos,
	                        "{\"id_\": \"%s\", \"embedding\": null, \"metadata\": {\"file_path\": "
	                        "\"/data/kb/docs/%llu.md\", \"file_name\": \"%llu.md\", "
	                        "\"file_type\": \"text/markdown\", \"file_size\": %llu}, "
	                        "\"excluded_embed_metadata_keys\": [], \"relationships\": {\"1\": "
	                        "{\"node_id\": \"%s\", \"node_type\": \"4\"}}, \"text\": \"\", "
	                        "\"start_char_idx\": %llu, \"end_char_idx\": %llu, "
	                        "\"text_template\": \"{metadata_str}\\n\\n{content}\", "
	                        "\"summary\": \"",
	                        node_id, (unsigned long long)(row / 40), (unsigned long long)(row / 40),
	                        (unsigned long long)(20000 + row % 9000), doc_id,
	                        (unsigned long long)(row % 40) * 900,
	                        (unsigned long long)(row % 40) * 900 + text_len);
	size_t json_room = BENCH_NODE_BYTES > pos - node_at + 3 ? BENCH_NODE_BYTES - (pos - node_at) - 3 : 0;
	bench_words_fill(&rng, buf, &pos, json_room);
	memcpy(buf + pos, "\"}", 2);
	pos += 2;
	size_t node_len = pos - node_at;

	size_t ids_at = pos;
	memcpy(buf + pos, node_id, 36);
	memcpy(buf + pos + 36, doc_id, 36);
	pos += 72;

	bench_field f[BENCH_NFIELDS] = {
		{"text", buf + text_at, text_len},
		{"_node_content", buf + node_at, node_len},
		{"_node_type", "TextNode", 8},
		{"id", buf + ids_at, 36},
		{"doc_id", buf + ids_at + 36, 36},
		{"ref_doc_id", buf + ids_at + 36, 36},
		{"document_id", buf + ids_at + 36, 36},
	};
	for (size_t i = 0; i < BENCH_NFIELDS; i++) {
		out[i] = f[i];
		total += f[i].len;
	}
	return total;
}

#endif
