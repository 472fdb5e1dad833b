/*
 * rdb_scan.c - throughput and memory of the RDB reader on a dump file.
 *
 *   rdb_scan DUMP.rdb [--inspect | --decode] [--report]
 *
 * --inspect  the `import-rdb --inspect` pass (field statistics, detection)
 * --decode   what the importer's read side does: every hash wanted, its
 *            vector field converted to float32, other fields touched
 * Prints one line: mode, bytes, keys, seconds, MB/s, peak RSS (MiB).
 * Built by bench/rdb_seed.py against format/rdb/*.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdb/rdb.h"
#include "rdb/rdb_detect.h"
#include "rdb/rdb_inspect.h"

typedef struct decode_state {
	uint64_t hashes, vectors, bad;
	double sum;
	float vec[65536];
} decode_state;

static int d_key(void *ud, const vl_rdb_key *k)
{
	decode_state *s = ud;
	if (k->kind != VL_RDB_KIND_HASH)
		return VL_RDB_SKIP;
	s->hashes++;
	return VL_RDB_WANT;
}

static int d_elem(void *ud, const vl_rdb_key *k, const vl_rdb_elem *e)
{
	decode_state *s = ud;
	(void)k;
	if (e->a_len == 9 && memcmp(e->a, "embedding", 9) == 0 && e->b_len % 4 == 0 &&
	    e->b_len / 4 <= 65536) {
		s->bad += vl_rdb_dtype_to_f32(VL_RDB_DT_F32, e->b, e->b_len / 4, s->vec);
		s->sum += s->vec[0];
		s->vectors++;
	} else if (e->b_len) {
		s->sum += e->b[0];
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rdb_scan DUMP.rdb [--inspect|--decode] [--report]\n");
		return 2;
	}
	const int decode = argc > 2 && strcmp(argv[2], "--decode") == 0;
	const int report = argc > 3 && strcmp(argv[3], "--report") == 0;
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	vl_diag d;
	vl_rdb_result res;
	double t0 = now();
	int rc;
	uint64_t keys;
	if (decode) {
		static decode_state s;
		static const vl_rdb_handlers h = { .key = d_key, .elem = d_elem };
		rc = vl_rdb_parse(vl_rdb_read_fd, &fd, NULL, &h, &s, &res, &d);
		keys = res.keys;
		if (rc == 0 && s.bad)
			fprintf(stderr, "%llu non-finite components\n", (unsigned long long)s.bad);
		fprintf(stderr, "hashes %llu vectors %llu (checksum %g)\n", (unsigned long long)s.hashes,
		        (unsigned long long)s.vectors, s.sum);
	} else {
		vl_rdb_inspect *in = vl_rdb_inspect_new();
		rc = vl_rdb_inspect_run(in, vl_rdb_read_fd, &fd, NULL, &d);
		res = in->res;
		keys = in->keys;
		if (report)
			vl_rdb_inspect_print(in, stdout, 0);
		vl_rdb_inspect_free(in);
	}
	const double secs = now() - t0;
	close(fd);
	if (rc) {
		fprintf(stderr, "rdb_scan: %s\n", d.msg);
		return 1;
	}
	/* VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec. */
	double hwm = 0;
	FILE *st = fopen("/proc/self/status", "r");
	char line[256];
	while (st && fgets(line, sizeof line, st))
		if (strncmp(line, "VmHWM:", 6) == 0)
			hwm = atof(line + 6) / 1024.0;
	if (st)
		fclose(st);
	printf("mode=%s bytes=%llu keys=%llu seconds=%.2f MB/s=%.0f peak_rss_mib=%.1f checksum=%s\n",
	       decode ? "decode" : "inspect", (unsigned long long)res.bytes, (unsigned long long)keys,
	       secs, (double)res.bytes / 1e6 / secs, hwm,
	       vl_rdb_checksum_name(res.checksum));
	return 0;
}
