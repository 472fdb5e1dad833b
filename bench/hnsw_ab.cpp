/*
 * hnsw_ab.cpp - veclite's hnsw index against hnswlib, interleaved in one
 * process so both see the same machine load (the bench machine is shared:
 * sequential sweeps of one engine then the other measured load changes, not
 * the engines).
 *
 *   hnsw_ab HNSWLIB.idx VECLITE_STORE QUERY.fvecs GT.ivecs
 *           [-ef 10,20,40,80,120,200,400] [-block 500] [-rounds 10] [-k 10]
 *
 * HNSWLIB.idx is written by `peer_hnswlib build` (M, efC as wanted);
 * VECLITE_STORE holds collection "default" with index hnsw and the same M
 * and EF_CONSTRUCTION, rows keyed by their 0-based row number (`veclite
 * load` of the same base file). One thread. For each ef: `rounds` rounds;
 * each round runs the same block of queries on both engines, alternating
 * which goes first; QPS of each block, the per-round ratio, and the
 * median over rounds. Recall@k of each engine over all queries against the
 * ground truth (one untimed pass). veclite answers through the public API
 * (vl_search with keys, as an application would).
 *
 * Build: g++ -O3 -march=native -std=c++17 -Iengine -Ibench bench/hnsw_ab.cpp \
 *        build/libveclite.a -llmdb -lzstd -luring -lpthread -o build/bench/hnsw_ab
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <hnswlib/hnswlib.h>

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

struct Veclite {
	vl_collection *c;
	size_t dim;
	size_t k;
	std::string ef;
	int64_t search(const float *q, int64_t *ids) const
	{
		vl_search_opts o = VL_SEARCH_OPTS_INIT;
		o.k = (uint32_t)k;
		const char *p[1] = { ef.c_str() };
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
};

} // namespace

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: hnsw_ab HNSWLIB.idx STORE QUERY.fvecs GT.ivecs [-ef L] [-block N] "
		                "[-rounds N] [-k K]\n");
		return 2;
	}
	std::vector<size_t> efs{ 10, 20, 40, 80, 120, 200, 400 };
	size_t block = 500, rounds = 10, k = 10;
	for (int i = 5; i + 1 < argc; i += 2) {
		std::string o = argv[i];
		if (o == "-ef") efs = parse_list(argv[i + 1]);
		else if (o == "-block") block = strtoull(argv[i + 1], nullptr, 10);
		else if (o == "-rounds") rounds = strtoull(argv[i + 1], nullptr, 10);
		else if (o == "-k") k = strtoull(argv[i + 1], nullptr, 10);
	}
	bench_mat qs, gt;
	if (bench_read_vecs(argv[3], 0, &qs) || bench_read_vecs(argv[4], 0, &gt))
		return 1;
	const float *Q = (const float *)qs.data;
	const int32_t *G = (const int32_t *)gt.data;
	hnswlib::L2Space space(qs.dim);
	auto *h = new hnswlib::HierarchicalNSW<float>(&space, argv[1]);
	vl_store *st;
	Veclite v;
	if (vl_open(argv[2], nullptr, &st) || vl_collection_open(st, "default", &v.c)) {
		fprintf(stderr, "hnsw_ab: %s: %s\n", argv[2], vl_errmsg(nullptr));
		return 1;
	}
	v.dim = qs.dim;
	v.k = k;
	if (block > qs.n)
		block = qs.n;
	std::vector<int64_t> ids(k);
	printf("# interleaved, 1 thread, %zu queries per block, %zu rounds; k=%zu\n", block, rounds, k);
	printf("%-5s %-14s %-14s %-12s %-12s %-10s %-10s %-10s %s\n", "ef", "recall_hnswlib",
	       "recall_veclite", "qps_hnswlib", "qps_veclite", "ratio", "p50_hl_us", "p50_vl_us",
	       "ratio_min..max");
	for (size_t ef : efs) {
		h->setEf(ef);
		v.ef = "EF_RUNTIME=" + std::to_string(ef);
		double rh = 0, rv = 0;
		for (size_t i = 0; i < qs.n; i++) {
			auto res = h->searchKnn(Q + i * qs.dim, k);
			std::vector<int64_t> hid;
			while (!res.empty()) {
				hid.push_back((int64_t)res.top().second);
				res.pop();
			}
			rh += bench_recall(hid.data(), hid.size(), G + i * gt.dim, k);
			int64_t n = v.search(Q + i * qs.dim, ids.data());
			rv += bench_recall(ids.data(), (size_t)n, G + i * gt.dim, k);
		}
		std::vector<double> qh, qv, ratio, lh, lv;
		for (size_t r = 0; r < rounds; r++) {
			size_t first = (r * block) % (qs.n - block + 1);
			double t[2];
			for (int side = 0; side < 2; side++) {
				int hl = (side == 0) == (r % 2 == 0);
				double t0 = bench_now();
				for (size_t i = first; i < first + block; i++) {
					double a = bench_now();
					if (hl) {
						auto res = h->searchKnn(Q + i * qs.dim, k);
						(void)res;
					} else {
						v.search(Q + i * qs.dim, ids.data());
					}
					(hl ? lh : lv).push_back((bench_now() - a) * 1e6);
				}
				t[hl ? 0 : 1] = bench_now() - t0;
			}
			qh.push_back(block / t[0]);
			qv.push_back(block / t[1]);
			ratio.push_back(t[0] / t[1]);
		}
		auto mm = std::minmax_element(ratio.begin(), ratio.end());
		printf("%-5zu %-14.4f %-14.4f %-12.0f %-12.0f %-10.2f %-10.1f %-10.1f %.2f..%.2f\n", ef,
		       rh / qs.n, rv / qs.n, median(qh), median(qv), median(ratio), median(lh), median(lv),
		       *mm.first, *mm.second);
		fflush(stdout);
	}
	vl_collection_close(v.c);
	vl_close(st);
	delete h;
	return 0;
}
