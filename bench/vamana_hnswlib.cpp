/*
 * vamana_hnswlib.cpp - hnswlib measured the way vamana_bench measures the
 * Vamana index, for side-by-side curves on a shared machine: besides wall
 * time it reports CPU time (getrusage of the searching thread, and of the
 * process for builds), which other processes' load does not inflate.
 * (bench/peer_hnswlib.cpp is the harness's peer; this one only adds the CPU
 * clock and runs build + sweep in one process.)
 *
 *   vamana_hnswlib BASE.fvecs QUERY.fvecs GT.ivecs [-M 16] [-efc 200] [-t threads]
 *                  [-n rows] [-q rows] [-ef 10,20,...] [-k 10] [-min-time s] [-save PATH]
 *
 * Build: g++ -std=c++17 -O3 -march=native -pthread -Ibench \
 *          -o build/bench/vamana_hnswlib bench/vamana_hnswlib.cpp
 */
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>

#include <hnswlib/hnswlib.h>

#include "bench_util.h"

static double cpu_of(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec * 1e-6;
}

static std::vector<size_t> list_of(const char *s)
{
	std::vector<size_t> v;
	for (const char *p = s; *p;) {
		char *end;
		v.push_back(strtoull(p, &end, 10));
		p = *end ? end + 1 : end;
	}
	return v;
}

static void search_sweep(hnswlib::HierarchicalNSW<float> *index, const bench_mat &qs,
                         const bench_mat &gt, const std::vector<size_t> &efs, size_t k,
                         double min_time, size_t M, size_t efc)
{
	const float *Q = static_cast<const float *>(qs.data);
	const int32_t *G = static_cast<const int32_t *>(gt.data);
	std::vector<double> lat(qs.n);
	std::vector<int64_t> ids(k);
	for (size_t ef : efs) {
		index->setEf(ef);
		double rec = 0, secs = 0, cs = cpu_of(RUSAGE_THREAD);
		size_t passes = 0;
		do {
			double p0 = bench_now();
			for (size_t i = 0; i < qs.n; i++) {
				double t1 = bench_now();
				auto res = index->searchKnn(Q + i * qs.dim, k);
				if (passes)
					continue;
				lat[i] = (bench_now() - t1) * 1e6;
				size_t m = res.size();
				std::fill(ids.begin(), ids.end(), -1);
				while (!res.empty()) {
					ids[--m] = (int64_t)res.top().second;
					res.pop();
				}
				rec += bench_recall(ids.data(), k, G + i * gt.dim, k);
			}
			secs += bench_now() - p0;
			passes++;
		} while (secs < min_time);
		double cpu = cpu_of(RUSAGE_THREAD) - cs;
		printf("RESULT kind=search engine=hnswlib config=M%zu-efc%zu threads=1 sparam=ef=%zu k=%zu "
		       "nq=%zu recall=%.4f qps=%.1f cpu_qps=%.1f p50_us=%.1f passes=%zu\n",
		       M, efc, ef, k, qs.n, rec / qs.n, passes * qs.n / secs, passes * qs.n / cpu,
		       bench_percentile(lat.data(), qs.n, 50), passes);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return fprintf(stderr, "usage: vamana_hnswlib BASE QUERY GT [options]\n"), 2;
	size_t M = 16, efc = 200, threads = 1, n = 0, q = 0, k = 10;
	double min_time = 0.5;
	std::vector<size_t> efs{10, 15, 20, 30, 40, 60, 80, 120, 160};
	std::string save, load;
	for (int i = 4; i + 1 < argc; i += 2) {
		std::string o = argv[i];
		const char *v = argv[i + 1];
		if (o == "-M") M = strtoull(v, nullptr, 10);
		else if (o == "-efc") efc = strtoull(v, nullptr, 10);
		else if (o == "-t") threads = strtoull(v, nullptr, 10);
		else if (o == "-n") n = strtoull(v, nullptr, 10);
		else if (o == "-q") q = strtoull(v, nullptr, 10);
		else if (o == "-k") k = strtoull(v, nullptr, 10);
		else if (o == "-ef") efs = list_of(v);
		else if (o == "-min-time") min_time = atof(v);
		else if (o == "-save") save = v;
		else if (o == "-load") load = v;
	}
	bench_mat base, qs, gt;
	if (bench_read_vecs(argv[1], n, &base) || bench_read_vecs(argv[2], q, &qs) ||
	    bench_read_vecs(argv[3], q, &gt))
		return 1;
	hnswlib::L2Space space(base.dim);
	const float *X = static_cast<const float *>(base.data);
	if (!load.empty()) {
		auto *index = new hnswlib::HierarchicalNSW<float>(&space, load);
		search_sweep(index, qs, gt, efs, k, min_time, M, efc);
		delete index;
		return 0;
	}
	double t0 = bench_now(), c0 = cpu_of(RUSAGE_SELF);
	auto *index = new hnswlib::HierarchicalNSW<float>(&space, base.n, M, efc, 100);
	index->addPoint(X, 0);
	std::atomic<size_t> next{1};
	std::vector<std::thread> pool;
	for (size_t t = 0; t < threads; t++)
		pool.emplace_back([&] {
			for (size_t i; (i = next.fetch_add(1)) < base.n;)
				index->addPoint(X + i * base.dim, i);
		});
	for (auto &th : pool)
		th.join();
	double build_s = bench_now() - t0, build_cpu = cpu_of(RUSAGE_SELF) - c0;
	/* index bytes: what saveIndex writes (vectors + level-0 links + upper levels) */
	std::string path = save.empty() ? "/tmp/vamana_hnswlib.idx" : save;
	index->saveIndex(path);
	struct stat st;
	uint64_t bytes = stat(path.c_str(), &st) == 0 ? (uint64_t)st.st_size : 0;
	if (save.empty())
		remove(path.c_str());
	printf("RESULT kind=build engine=hnswlib config=M%zu-efc%zu n=%zu dim=%zu threads=%zu "
	       "build_s=%.3f build_cpu_s=%.3f index_bytes=%llu bytes_per_vec=%.1f\n",
	       M, efc, base.n, base.dim, threads, build_s, build_cpu, (unsigned long long)bytes,
	       (double)bytes / base.n);
	fflush(stdout);
	search_sweep(index, qs, gt, efs, k, min_time, M, efc);
	delete index;
	return 0;
}
