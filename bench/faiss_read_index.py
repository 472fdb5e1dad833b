#!/usr/bin/python3
"""The FAISS side of the import benchmark: faiss.read_index of one file, then
reconstruct_n of every vector (what getting the vectors out costs in FAISS),
with wall times and peak RSS.

    /usr/bin/python3 bench/faiss_read_index.py FILE.index
"""
import resource
import sys
import time

import faiss


def main():
    path = sys.argv[1]
    t0 = time.time()
    index = faiss.read_index(path)
    t1 = time.time()
    rss_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    n = index.ntotal
    chk = 0.0
    for start in range(0, n, 4096):
        k = min(4096, n - start)
        x = index.reconstruct_n(start, k)
        chk += float(x[0, 0])
    t2 = time.time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print('RESULT tool=faiss rows=%d dim=%d read_index_s=%.3f reconstruct_s=%.3f total_s=%.3f '
          'peak_rss_after_read_mb=%.1f peak_rss_mb=%.1f checksum=%g'
          % (n, index.d, t1 - t0, t2 - t1, t2 - t0, rss_read, rss, chk))


if __name__ == '__main__':
    main()
