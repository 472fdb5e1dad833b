/*
 * faiss_load.c - time the FAISS reader on one index file: map it, parse it,
 * decode every vector with its id and walk the whole HNSW graph (what
 * `import-faiss --keep-graph` reads), and report wall time and peak RSS.
 * Compare with bench/faiss_read_index.py (faiss.read_index of the same file).
 *
 *   cc -O2 -Iformat -Iengine -I. bench/faiss_load.c build/libveclite.a -lm -o faiss_load
 *   faiss_load FILE.index [--inspect] [--space auto|input|stored]
 *
 * Output: RESULT lines (bench_util.h convention) on stdout.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "faiss/vl_faiss.h"

#define BATCH 4096

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE.index [--inspect] [--space auto|input|stored]\n", argv[0]);
		return 2;
	}
	int inspect = 0;
	vl_faiss_space space = VL_FAISS_SPACE_AUTO;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--inspect"))
			inspect = 1;
		else if (!strcmp(argv[i], "--space") && i + 1 < argc) {
			const char *s = argv[++i];
			space = !strcmp(s, "input") ? VL_FAISS_SPACE_INPUT
			      : !strcmp(s, "stored") ? VL_FAISS_SPACE_STORED : VL_FAISS_SPACE_AUTO;
		}
	}
	double t0 = bench_now();
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	size_t len = (size_t)st.st_size;
	void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (len && map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	vl_faiss_index *ix;
	vl_diag d;
	int rc = vl_faiss_open(map, len, &ix, &d);
	if (rc) {
		fprintf(stderr, "%s: %s\n", argv[1], d.msg);
		return 1;
	}
	double t_open = bench_now();
	if (inspect)
		vl_faiss_inspect(ix, stderr, VL_FAISS_INSPECT_TEXT);
	vl_faiss_vecinfo vi;
	if ((rc = vl_faiss_vectors(ix, space, &vi, &d))) {
		fprintf(stderr, "%s: %s\n", argv[1], d.msg);
		return 1;
	}
	float *rows = malloc((size_t)BATCH * vi.dim * sizeof *rows);
	int64_t *ids = malloc(BATCH * sizeof *ids);
	double checksum = 0;
	for (uint64_t r = 0; r < vi.count; r += BATCH) {
		uint64_t n = vi.count - r < BATCH ? vi.count - r : BATCH;
		if ((rc = vl_faiss_read(ix, &vi, r, n, rows, ids, &d))) {
			fprintf(stderr, "%s: %s\n", argv[1], d.msg);
			return 1;
		}
		checksum += rows[0];
	}
	double t_vec = bench_now();
	uint64_t edges = 0;
	if (vi.hnsw) {
		const vl_faiss_hnsw *h = &vi.hnsw->hnsw;
		int32_t nb[1024];
		for (uint64_t i = 0; i < h->ntotal; i++)
			for (int l = 0; l < vl_faiss_hnsw_levels(h, i); l++)
				edges += vl_faiss_hnsw_neighbors(h, i, l, nb, 1024);
	}
	double t_graph = bench_now();
	/* peak RSS counts the mapped file pages the pass touched; RssAnon is
	 * the process's own memory */
	printf("RESULT tool=veclite file_bytes=%zu rows=%llu dim=%u open_s=%.3f vectors_s=%.3f "
	       "graph_s=%.3f total_s=%.3f edges=%llu peak_rss_mb=%.1f anon_rss_mb=%.1f "
	       "checksum=%g\n",
	       len, (unsigned long long)vi.count, vi.dim, t_open - t0, t_vec - t_open,
	       t_graph - t_vec, t_graph - t0, (unsigned long long)edges,
	       (double)bench_hwm_kb() / 1024.0, (double)bench_proc_kb("RssAnon") / 1024.0, checksum);
	free(rows);
	free(ids);
	vl_faiss_close(ix);
	if (map)
		munmap(map, len);
	close(fd);
	return 0;
}
