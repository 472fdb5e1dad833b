#!/usr/bin/python3
"""Write a FAISS IndexHNSWFlat for the import benchmark (bench/faiss_load.c).

    /usr/bin/python3 bench/faiss_gen.py OUT.index [N=100000] [D=768] [M=32]

Vectors: Gaussian clusters (seeded), float32. Prints the build time.
"""
import sys
import time

import numpy as np
import faiss


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    d = int(sys.argv[3]) if len(sys.argv) > 3 else 768
    m = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    rs = np.random.RandomState(123)
    centers = rs.randn(100, d).astype('float32') * 2
    index = faiss.IndexHNSWFlat(d, m)
    t0 = time.time()
    for start in range(0, n, 10000):
        k = min(10000, n - start)
        x = centers[rs.randint(0, 100, k)] + rs.randn(k, d).astype('float32')
        index.add(x)
        sys.stderr.write('\r%d/%d %.0fs' % (start + k, n, time.time() - t0))
    sys.stderr.write('\n')
    faiss.write_index(index, out)
    print('built %d x %d HNSW%d in %.1f s' % (n, d, m, time.time() - t0))


if __name__ == '__main__':
    main()
