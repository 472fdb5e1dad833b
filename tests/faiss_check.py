#!/usr/bin/python3
"""Load an index file with the real FAISS and report what it sees, for the
writer tests (tests/test_faiss_write.c).

    faiss_check.py search INDEX QUERIES.f32 K OUT.i64
        top-K ids (nq x K int64) by index.search(); nq from the file size
    faiss_check.py reconstruct INDEX IDS.i64 OUT.f32
        index.reconstruct(id) for each id (IndexIDMap2 keeps a reverse map)
    faiss_check.py describe INDEX
        prints "<class> d ntotal metric" of the top-level index
"""
import sys

import numpy as np
import faiss


def main():
    faiss.omp_set_num_threads(1)
    cmd, path = sys.argv[1], sys.argv[2]
    index = faiss.read_index(path)
    if cmd == 'search':
        k = int(sys.argv[4])
        q = np.fromfile(sys.argv[3], dtype='<f4').reshape(-1, index.d)
        _, ids = index.search(q, k)
        ids.astype('<i8').tofile(sys.argv[5])
    elif cmd == 'reconstruct':
        ids = np.fromfile(sys.argv[3], dtype='<i8')
        out = np.vstack([index.reconstruct(int(i)) for i in ids])
        out.astype('<f4').tofile(sys.argv[4])
    elif cmd == 'describe':
        top = faiss.downcast_index(index)
        print(type(top).__name__, index.d, index.ntotal, index.metric_type)
    else:
        sys.exit('unknown command ' + cmd)


if __name__ == '__main__':
    main()
