/*
 * ivf_ab.cpp - veclite's ivf index against FAISS IndexIVFFlat (Debian's
 * libfaiss-dev, built without AVX2), interleaved in one process so both see
 * the same machine load.
 *
 *   ivf_ab FAISS.idx VECLITE_STORE QUERY.fvecs GT.ivecs
 *          [-nprobe 1,2,4,8,16,32,64] [-block 500] [-rounds 10] [-k 10]
 *   ivf_ab same-centroids VECLITE_STORE QUERY.fvecs GT.ivecs -base BASE.fvecs ...
 *
 * FAISS.idx is written by `peer_faiss.py build --type ivf --nlist N`;
 * `same-centroids` instead builds FAISS's IndexIVFFlat in this process from
 * the centroids veclite trained (read from the store's one segment file,
 * SPEC 10.4 IVF_CENTROIDS) and adds BASE.fvecs to it: both engines then hold
 * the same lists (each row in its nearest centroid's), so the comparison is
 * of the search alone, not of the two k-means trainings;
 * VECLITE_STORE holds collection "default" with index ivf and NLIST=N, rows
 * keyed by their 0-based row number. One thread (omp_set_num_threads(1)).
 * For each nprobe: `rounds` rounds over the same blocks of queries,
 * alternating which engine goes first:
 *   - FAISS one query per search() call (as veclite is called), and
 *   - FAISS one search() call per block (its batch use: the centroid
 *     distances become one BLAS matrix product);
 * veclite one vl_search per query (keys returned). Median QPS per mode and
 * the median per-round ratio; recall@k of each over all queries.
 *
 * Build: g++ -O3 -march=native -std=c++17 -fopenmp -Iengine -Ibench bench/ivf_ab.cpp \
 *        build/libveclite.a -lfaiss -lblas -llapack -llmdb -lzstd -luring -lpthread \
 *        -o build/bench/ivf_ab
 * (run with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread for
 * OpenBLAS, as bench/run does for FAISS).
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>
#include <omp.h>

#include "bench_util.h"
#include "veclite.h"

namespace {

std::vector<size_t> parse_list(const char *s)
{
	std::vector<size_t> v;
	for (const char *p = s; *p;) {
		char *end;
		v.push_back(strtoull(p, &end, 10));
		p = *end ? end + 1 : end;
	}
	return v;
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v.empty() ? 0 : v[v.size() / 2];
}

int64_t vl_query(vl_collection *c, const float *q, size_t dim, size_t k, const std::string &np,
                 int64_t *ids)
{
	vl_search_opts o = VL_SEARCH_OPTS_INIT;
	o.k = (uint32_t)k;
	const char *p[1] = { np.c_str() };
	o.params = p;
	o.nparams = 1;
	vl_results *r;
	if (vl_search(c, q, (uint32_t)dim, &o, &r)) {
		fprintf(stderr, "vl_search failed\n");
		exit(1);
	}
	size_t n = r->n;
	for (size_t i = 0; i < n; i++) {
		char key[32];
		size_t kl = r->hits[i].key_len < 31 ? r->hits[i].key_len : 31;
		memcpy(key, r->hits[i].key, kl);
		key[kl] = 0;
		ids[i] = strtoll(key, nullptr, 10);
	}
	vl_results_free(r);
	return (int64_t)n;
}

/* The IVF centroids of the store's one segment file (SPEC 2: 128-byte
 * header, then 48-byte section entries {kind u32, param u32, offset u64,
 * length u64, ...}; IVF_CENTROIDS is kind 0x0301, nlist x dim f32). */
std::vector<float> veclite_centroids(const char *store, size_t dim, size_t *nlist)
{
	std::string dir = std::string(store) + "/seg", file;
	DIR *dp = opendir(dir.c_str());
	for (struct dirent *e; dp && (e = readdir(dp));)
		if (strstr(e->d_name, ".vseg")) {
			if (!file.empty()) {
				fprintf(stderr, "ivf_ab: %s holds more than one segment\n", dir.c_str());
				exit(1);
			}
			file = dir + "/" + e->d_name;
		}
	if (dp)
		closedir(dp);
	int fd = file.empty() ? -1 : open(file.c_str(), O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "ivf_ab: no segment file under %s\n", dir.c_str());
		exit(1);
	}
	const uint8_t *b = (const uint8_t *)mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (b == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (size_t at = 128; at + 48 <= 4096; at += 48) {
		uint32_t kind;
		uint64_t off, len;
		memcpy(&kind, b + at, 4);
		memcpy(&off, b + at + 8, 8);
		memcpy(&len, b + at + 16, 8);
		if (kind == 0x0301 && off + len <= (uint64_t)st.st_size && len % (dim * 4) == 0) {
			*nlist = len / (dim * 4);
			std::vector<float> c(len / 4);
			memcpy(c.data(), b + off, len);
			munmap((void *)b, st.st_size);
			close(fd);
			return c;
		}
	}
	fprintf(stderr, "ivf_ab: %s has no ivf centroids section\n", file.c_str());
	exit(1);
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: ivf_ab FAISS.idx STORE QUERY.fvecs GT.ivecs [-nprobe L] [-block N] "
		                "[-rounds N] [-k K]\n");
		return 2;
	}
	std::vector<size_t> nps{ 1, 2, 4, 8, 16, 32, 64 };
	size_t block = 500, rounds = 10, k = 10;
	const char *base = nullptr;
	for (int i = 5; i + 1 < argc; i += 2) {
		std::string o = argv[i];
		if (o == "-nprobe") nps = parse_list(argv[i + 1]);
		else if (o == "-base") base = argv[i + 1];
		else if (o == "-block") block = strtoull(argv[i + 1], nullptr, 10);
		else if (o == "-rounds") rounds = strtoull(argv[i + 1], nullptr, 10);
		else if (o == "-k") k = strtoull(argv[i + 1], nullptr, 10);
	}
	omp_set_num_threads(1);
	bench_mat qs, gt;
	if (bench_read_vecs(argv[3], 0, &qs) || bench_read_vecs(argv[4], 0, &gt))
		return 1;
	const float *Q = (const float *)qs.data;
	const int32_t *G = (const int32_t *)gt.data;
	faiss::Index *fi;
	if (!strcmp(argv[1], "same-centroids")) {
		bench_mat bm;
		if (!base || bench_read_vecs(base, 0, &bm)) {
			fprintf(stderr, "ivf_ab: same-centroids needs -base BASE.fvecs\n");
			return 2;
		}
		size_t nlist = 0;
		std::vector<float> cent = veclite_centroids(argv[2], bm.dim, &nlist);
		auto *quant = new faiss::IndexFlatL2((faiss::Index::idx_t)bm.dim);
		quant->add((faiss::Index::idx_t)nlist, cent.data());
		auto *fivf = new faiss::IndexIVFFlat(quant, bm.dim, nlist);
		fivf->own_fields = true;
		fivf->is_trained = true;
		fivf->add((faiss::Index::idx_t)bm.n, (const float *)bm.data);
		fi = fivf;
		printf("# FAISS IndexIVFFlat built here on veclite's %zu centroids\n", nlist);
	} else {
		fi = faiss::read_index(argv[1]);
	}
	auto *ivf = dynamic_cast<faiss::IndexIVF *>(fi);
	if (!ivf) {
		fprintf(stderr, "ivf_ab: %s is not an IVF index\n", argv[1]);
		return 1;
	}
	vl_store *st;
	vl_collection *c;
	if (vl_open(argv[2], nullptr, &st) || vl_collection_open(st, "default", &c)) {
		fprintf(stderr, "ivf_ab: %s: %s\n", argv[2], vl_errmsg(nullptr));
		return 1;
	}
	if (block > qs.n)
		block = qs.n;
	std::vector<int64_t> ids(k), fl(block * k);
	std::vector<float> fd(block * k);
	printf("# interleaved, 1 thread, %zu queries per block, %zu rounds; k=%zu; nlist=%zu\n", block,
	       rounds, k, (size_t)ivf->nlist);
	printf("%-6s %-12s %-14s %-12s %-13s %-12s %-13s %-13s %-10s %s\n", "nprobe", "recall_faiss",
	       "recall_veclite", "qps_faiss1", "qps_faissbat", "qps_veclite", "ratio_vs_1q",
	       "ratio_vs_bat", "p50_f_us", "p50_vl_us");
	for (size_t np : nps) {
		ivf->nprobe = np;
		std::string vp = "NPROBE=" + std::to_string(np);
		double rf = 0, rv = 0;
		for (size_t i = 0; i < qs.n; i++) {
			fi->search(1, Q + i * qs.dim, (faiss::Index::idx_t)k, fd.data(), fl.data());
			rf += bench_recall(fl.data(), k, G + i * gt.dim, k);
			int64_t n = vl_query(c, Q + i * qs.dim, qs.dim, k, vp, ids.data());
			rv += bench_recall(ids.data(), (size_t)n, G + i * gt.dim, k);
		}
		std::vector<double> q1, qb, qv, r1, rb, lf, lv;
		for (size_t r = 0; r < rounds; r++) {
			size_t first = (r * block) % (qs.n - block + 1);
			double t[3];
			for (int s = 0; s < 3; s++) {
				int side = (s + (int)r) % 3;
				double t0 = bench_now();
				if (side == 0) {
					for (size_t i = first; i < first + block; i++) {
						double a = bench_now();
						fi->search(1, Q + i * qs.dim, (faiss::Index::idx_t)k, fd.data(), fl.data());
						lf.push_back((bench_now() - a) * 1e6);
					}
				} else if (side == 1) {
					fi->search((faiss::Index::idx_t)block, Q + first * qs.dim, (faiss::Index::idx_t)k, fd.data(),
					           fl.data());
				} else {
					for (size_t i = first; i < first + block; i++) {
						double a = bench_now();
						vl_query(c, Q + i * qs.dim, qs.dim, k, vp, ids.data());
						lv.push_back((bench_now() - a) * 1e6);
					}
				}
				t[side] = bench_now() - t0;
			}
			q1.push_back(block / t[0]);
			qb.push_back(block / t[1]);
			qv.push_back(block / t[2]);
			r1.push_back(t[0] / t[2]);
			rb.push_back(t[1] / t[2]);
		}
		printf("%-6zu %-12.4f %-14.4f %-12.0f %-13.0f %-12.0f %-13.2f %-13.2f %-10.1f %.1f\n", np,
		       rf / qs.n, rv / qs.n, median(q1), median(qb), median(qv), median(r1), median(rb),
		       median(lf), median(lv));
		fflush(stdout);
	}
	vl_collection_close(c);
	vl_close(st);
	delete fi;
	return 0;
}
