#!/usr/bin/python3
"""peer_faiss.py - FAISS (Debian python3-faiss 1.7.3) as a benchmark peer.

    peer_faiss.py build  BASE.fvecs INDEX --type flat|hnsw|ivf [--M 16] [--efc 200]
                         [--nlist N] [--threads T] [--n rows] [--metric l2|ip]
    peer_faiss.py search INDEX QUERY.fvecs GT.ivecs [--sweep 1,2,4] [--threads 1,2]
                         [--k 10] [--q rows] [--min-time s]
    peer_faiss.py cold   INDEX QUERY.fvecs

Prints RESULT lines like the C drivers (see bench_util.h). Each mode runs in
its own process so VmHWM is the peak of that phase alone.

QPS is measured the way FAISS is used: one search() call over the whole query
batch on T OpenMP threads. Latency percentiles come from a second pass of
one-query calls on the same thread count, so they include the Python call
overhead (a few microseconds). Debian builds FAISS with its generic
(non-AVX2) kernels; every RESULT line says so in simd=.
"""
import argparse
import os
import sys
import time

import numpy as np

T_IMPORT0 = time.monotonic()
import faiss  # noqa: E402  (timed: part of the cold start of a FAISS process)
T_IMPORT = time.monotonic() - T_IMPORT0

SIMD = faiss.get_compile_options().replace(" ", "+") if hasattr(
    faiss, "get_compile_options") else "unknown"


def read_vecs(path, dtype, limit=0):
    raw = np.fromfile(path, dtype=np.int32, count=1)
    if raw.size == 0 or raw[0] <= 0:
        sys.exit(f"{path}: bad dimension at offset 0")
    dim = int(raw[0])
    count = -1 if not limit else limit * (dim + 1)
    a = np.fromfile(path, dtype=np.int32, count=count)
    if a.size % (dim + 1):
        sys.exit(f"{path}: size is not a multiple of the row size")
    a = a.reshape(-1, dim + 1)
    if not (a[:, 0] == dim).all():
        sys.exit(f"{path}: rows of another dimension")
    return np.ascontiguousarray(a[:, 1:]).view(dtype)


def proc_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def result(**kv):
    print("RESULT " + " ".join(f"{k}={v}" for k, v in kv.items()), flush=True)


def metric_of(name):
    return faiss.METRIC_INNER_PRODUCT if name == "ip" else faiss.METRIC_L2


def index_kind(index):
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def do_build(a):
    base = read_vecs(a.base, np.float32, a.n)
    n, d = base.shape
    faiss.omp_set_num_threads(a.threads)
    metric = metric_of(a.metric)
    t0 = time.monotonic()
    if a.type == "flat":
        index = faiss.IndexFlat(d, metric)
        config = "Flat"
    elif a.type == "hnsw":
        index = faiss.IndexHNSWFlat(d, a.M, metric)
        index.hnsw.efConstruction = a.efc
        config = f"HNSW{a.M}-efc{a.efc}"
    else:
        nlist = a.nlist or max(1, int(4 * np.sqrt(n)))
        quantizer = faiss.IndexFlat(d, metric)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, metric)
        # k-means on a sample, as FAISS recommends (39..256 points per list).
        rng = np.random.default_rng(1)
        sample = base if n <= 64 * nlist else base[rng.choice(n, 64 * nlist, replace=False)]
        index.train(sample)
        config = f"IVF{nlist}"
    index.add(base)
    build_s = time.monotonic() - t0
    faiss.write_index(index, a.index)
    size = os.path.getsize(a.index)
    result(kind="build", engine="faiss", index=a.type, config=config, n=n, dim=d,
           threads=a.threads, build_s=f"{build_s:.3f}", vps=f"{n / build_s:.1f}",
           index_bytes=size, bytes_per_vec=f"{size / n:.1f}", peak_rss_kb=proc_kb("VmHWM"),
           simd=SIMD)


def set_sweep(index, kind, value):
    if kind == "hnsw":
        index.hnsw.efSearch = value
        return f"efSearch={value}"
    if kind == "ivf":
        index.nprobe = value
        return f"nprobe={value}"
    return "exact"


def recall_at(ids, gt, k):
    hits = 0
    for row, truth in zip(ids, gt):
        hits += len(set(row[:k].tolist()) & set(truth[:k].tolist()))
    return hits / (k * len(gt))


def do_search(a):
    index = faiss.read_index(a.index)
    q = read_vecs(a.queries, np.float32, a.q)
    gt = read_vecs(a.gt, np.int32, a.q)[:len(q)]
    kind = index_kind(index)
    sweep = [int(x) for x in a.sweep.split(",")] if kind != "flat" else [0]
    for threads in [int(t) for t in a.threads.split(",")]:
        threads = threads or os.cpu_count()
        faiss.omp_set_num_threads(threads)
        for value in sweep:
            sparam = set_sweep(index, kind, value)
            t0 = time.monotonic()
            _, ids = index.search(q, a.k)
            secs, passes = time.monotonic() - t0, 1
            while secs < a.min_time:
                t0 = time.monotonic()
                index.search(q, a.k)
                secs += time.monotonic() - t0
                passes += 1
            rec = recall_at(ids, gt, a.k)
            lat = np.empty(min(len(q), a.lat_queries))
            for i in range(len(lat)):
                t0 = time.monotonic()
                index.search(q[i:i + 1], a.k)
                lat[i] = (time.monotonic() - t0) * 1e6
            p50, p95, p99 = np.percentile(lat, [50, 95, 99], method="inverted_cdf")
            result(kind="search", engine="faiss", index=kind, threads=threads,
                   sparam=sparam, k=a.k, nq=len(q), recall=f"{rec:.4f}",
                   qps=f"{passes * len(q) / secs:.1f}", p50_us=f"{p50:.1f}",
                   p95_us=f"{p95:.1f}", p99_us=f"{p99:.1f}", passes=passes, simd=SIMD)


def do_cold(a):
    rss0 = proc_kb("VmRSS")
    q = read_vecs(a.queries, np.float32, 1)
    t0 = time.monotonic()
    index = faiss.read_index(a.index)
    t_open = time.monotonic() - t0
    kind = index_kind(index)
    set_sweep(index, kind, 64 if kind == "hnsw" else 8)
    faiss.omp_set_num_threads(1)
    _, ids = index.search(q, 10)
    total = time.monotonic() - t0
    result(kind="cold", engine="faiss", index=kind, open_ms=f"{t_open * 1e3:.2f}",
           first_query_ms=f"{(total - t_open) * 1e3:.3f}", total_ms=f"{total * 1e3:.2f}",
           import_ms=f"{T_IMPORT * 1e3:.1f}", rss_kb=proc_kb("VmRSS"),
           rss_anon_kb=proc_kb("RssAnon"), rss_file_kb=proc_kb("RssFile"),
           hwm_kb=proc_kb("VmHWM"), base_rss_kb=rss0, hits=int((ids[0] >= 0).sum()),
           simd=SIMD)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("build")
    b.add_argument("base")
    b.add_argument("index")
    b.add_argument("--type", choices=["flat", "hnsw", "ivf"], required=True)
    b.add_argument("--M", type=int, default=16)
    b.add_argument("--efc", type=int, default=200)
    b.add_argument("--nlist", type=int, default=0)
    b.add_argument("--threads", type=int, default=os.cpu_count())
    b.add_argument("--n", type=int, default=0)
    b.add_argument("--metric", default="l2")
    s = sub.add_parser("search")
    s.add_argument("index")
    s.add_argument("queries")
    s.add_argument("gt")
    s.add_argument("--sweep", default="16,32,64,128,256")
    s.add_argument("--threads", default="1")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--q", type=int, default=0)
    s.add_argument("--min-time", type=float, default=0.5)
    s.add_argument("--lat-queries", type=int, default=1000)
    c = sub.add_parser("cold")
    c.add_argument("index")
    c.add_argument("queries")
    a = p.parse_args()
    {"build": do_build, "search": do_search, "cold": do_cold}[a.mode](a)


if __name__ == "__main__":
    main()
