/*
 * peer_hnswlib.cpp - hnswlib (Debian libhnswlib-dev headers) as a benchmark peer.
 * Built by bench/run with g++ -O3 -march=native.
 *
 *   peer_hnswlib build  BASE.fvecs INDEX [-M 16] [-efc 200] [-t threads] [-n rows] [-m l2|ip]
 *   peer_hnswlib search INDEX QUERY.fvecs GT.ivecs [-ef 10,20,..] [-t 1,2] [-k 10]
 *                       [-q rows] [-min-time s] [-m l2|ip]
 *   peer_hnswlib cold   INDEX QUERY.fvecs [-m l2|ip]
 *
 * Prints RESULT lines (see bench_util.h). Each mode runs in its own process
 * so VmHWM is the peak of that phase alone.
 */
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include <hnswlib/hnswlib.h>

#include "bench_util.h"

namespace {

struct Args {
	std::vector<std::string> pos;
	size_t M = 16, efc = 200, n = 0, q = 0, k = 10;
	std::vector<size_t> ef{10, 20, 40, 80, 160, 320};
	std::vector<size_t> threads{1};
	double min_time = 0.5;
	bool ip = false;
};

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

size_t all_threads() { return std::thread::hardware_concurrency(); }

Args parse(int argc, char **argv)
{
	Args a;
	for (int i = 2; i < argc; i++) {
		std::string o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		if (o == "-M") a.M = strtoull(v, nullptr, 10), i++;
		else if (o == "-efc") a.efc = strtoull(v, nullptr, 10), i++;
		else if (o == "-n") a.n = strtoull(v, nullptr, 10), i++;
		else if (o == "-q") a.q = strtoull(v, nullptr, 10), i++;
		else if (o == "-k") a.k = strtoull(v, nullptr, 10), i++;
		else if (o == "-ef") a.ef = parse_list(v), i++;
		else if (o == "-t") a.threads = parse_list(v), i++;
		else if (o == "-min-time") a.min_time = atof(v), i++;
		else if (o == "-m") a.ip = std::string(v) == "ip", i++;
		else a.pos.push_back(o);
	}
	for (auto &t : a.threads)
		if (t == 0)
			t = all_threads();
	return a;
}

hnswlib::SpaceInterface<float> *make_space(bool ip, size_t dim)
{
	if (ip)
		return new hnswlib::InnerProductSpace(dim);
	return new hnswlib::L2Space(dim);
}

uint64_t file_bytes(const std::string &path)
{
	struct stat st;
	return stat(path.c_str(), &st) == 0 ? (uint64_t)st.st_size : 0;
}

int do_build(const Args &a)
{
	if (a.pos.size() != 2)
		return fprintf(stderr, "build: need BASE.fvecs INDEX\n"), 2;
	bench_mat base;
	if (bench_read_vecs(a.pos[0].c_str(), a.n, &base))
		return 1;
	size_t threads = a.threads.empty() ? 1 : a.threads[0];
	auto *space = make_space(a.ip, base.dim);
	const float *X = static_cast<const float *>(base.data);
	double t0 = bench_now();
	auto *index = new hnswlib::HierarchicalNSW<float>(space, base.n, a.M, a.efc, 100);
	// The first point alone, then all threads pull rows (hnswlib's own recipe).
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
	double build_s = bench_now() - t0;
	index->saveIndex(a.pos[1]);
	uint64_t bytes = file_bytes(a.pos[1]);
	printf("RESULT kind=build engine=hnswlib index=hnsw config=M%zu-efc%zu n=%zu dim=%zu "
	       "threads=%zu build_s=%.3f vps=%.1f index_bytes=%llu bytes_per_vec=%.1f "
	       "peak_rss_kb=%llu\n",
	       a.M, a.efc, base.n, base.dim, threads, build_s, base.n / build_s,
	       (unsigned long long)bytes, (double)bytes / base.n,
	       (unsigned long long)bench_hwm_kb());
	delete index;
	delete space;
	free(base.data);
	return 0;
}

struct Pass {
	double seconds = 0;
	double recall = 0;
	std::vector<double> lat_us;
};

// One pass over the queries on `threads` threads; recall@k of every query.
Pass run_pass(hnswlib::HierarchicalNSW<float> *index, const bench_mat &qs, const bench_mat &gt,
              size_t k, size_t threads)
{
	Pass p;
	p.lat_us.resize(qs.n);
	std::vector<double> rec(qs.n);
	const float *Q = static_cast<const float *>(qs.data);
	const int32_t *G = static_cast<const int32_t *>(gt.data);
	std::atomic<size_t> next{0};
	auto work = [&] {
		std::vector<int64_t> ids(k);
		for (size_t i; (i = next.fetch_add(1)) < qs.n;) {
			double t0 = bench_now();
			auto res = index->searchKnn(Q + i * qs.dim, k);
			p.lat_us[i] = (bench_now() - t0) * 1e6;
			size_t m = res.size();
			std::fill(ids.begin(), ids.end(), -1);
			while (!res.empty()) {
				ids[--m] = (int64_t)res.top().second;
				res.pop();
			}
			rec[i] = bench_recall(ids.data(), k, G + i * gt.dim, k);
		}
	};
	double t0 = bench_now();
	if (threads <= 1) {
		work();
	} else {
		std::vector<std::thread> pool;
		for (size_t t = 0; t < threads; t++)
			pool.emplace_back(work);
		for (auto &th : pool)
			th.join();
	}
	p.seconds = bench_now() - t0;
	for (double r : rec)
		p.recall += r;
	p.recall /= qs.n;
	return p;
}

int do_search(const Args &a)
{
	if (a.pos.size() != 3)
		return fprintf(stderr, "search: need INDEX QUERY.fvecs GT.ivecs\n"), 2;
	bench_mat qs, gt;
	if (bench_read_vecs(a.pos[1].c_str(), a.q, &qs) || bench_read_vecs(a.pos[2].c_str(), a.q, &gt))
		return 1;
	if (gt.n < qs.n || gt.dim < a.k)
		return fprintf(stderr, "search: ground truth has too few rows or columns\n"), 1;
	auto *space = make_space(a.ip, qs.dim);
	auto *index = new hnswlib::HierarchicalNSW<float>(space, a.pos[0]);
	for (size_t threads : a.threads) {
		for (size_t ef : a.ef) {
			index->setEf(ef);
			Pass first = run_pass(index, qs, gt, a.k, threads);
			// Repeat whole passes until min_time so short runs are not timer noise.
			double secs = first.seconds;
			size_t passes = 1;
			while (secs < a.min_time) {
				secs += run_pass(index, qs, gt, a.k, threads).seconds;
				passes++;
			}
			std::vector<double> &lat = first.lat_us;
			double p50 = bench_percentile(lat.data(), lat.size(), 50);
			double p95 = bench_percentile(lat.data(), lat.size(), 95);
			double p99 = bench_percentile(lat.data(), lat.size(), 99);
			printf("RESULT kind=search engine=hnswlib index=hnsw threads=%zu sparam=ef=%zu "
			       "k=%zu nq=%zu recall=%.4f qps=%.1f p50_us=%.1f p95_us=%.1f p99_us=%.1f "
			       "passes=%zu\n",
			       threads, ef, a.k, qs.n, first.recall, passes * qs.n / secs, p50, p95, p99,
			       passes);
			fflush(stdout);
		}
	}
	delete index;
	delete space;
	return 0;
}

int do_cold(const Args &a)
{
	if (a.pos.size() != 2)
		return fprintf(stderr, "cold: need INDEX QUERY.fvecs\n"), 2;
	bench_mat qs;
	if (bench_read_vecs(a.pos[1].c_str(), 1, &qs))
		return 1;
	uint64_t rss0 = bench_rss_kb();
	double t0 = bench_now();
	auto *space = make_space(a.ip, qs.dim);
	auto *index = new hnswlib::HierarchicalNSW<float>(space, a.pos[0]);
	double t_open = bench_now() - t0;
	index->setEf(64);
	auto res = index->searchKnn(static_cast<const float *>(qs.data), 10);
	double t_total = bench_now() - t0;
	printf("RESULT kind=cold engine=hnswlib index=hnsw open_ms=%.2f first_query_ms=%.3f "
	       "total_ms=%.2f rss_kb=%llu rss_anon_kb=%llu rss_file_kb=%llu hwm_kb=%llu "
	       "base_rss_kb=%llu hits=%zu\n",
	       t_open * 1e3, (t_total - t_open) * 1e3, t_total * 1e3,
	       (unsigned long long)bench_rss_kb(), (unsigned long long)bench_anon_kb(),
	       (unsigned long long)bench_file_kb(), (unsigned long long)bench_hwm_kb(),
	       (unsigned long long)rss0, res.size());
	delete index;
	delete space;
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: peer_hnswlib build|search|cold ...\n"), 2;
	Args a = parse(argc, argv);
	std::string mode = argv[1];
	try {
		if (mode == "build") return do_build(a);
		if (mode == "search") return do_search(a);
		if (mode == "cold") return do_cold(a);
	} catch (const std::exception &e) {
		fprintf(stderr, "peer_hnswlib: %s\n", e.what());
		return 1;
	}
	return fprintf(stderr, "unknown mode %s\n", mode.c_str()), 2;
}
