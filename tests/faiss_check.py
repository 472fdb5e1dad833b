#!/usr/bin/python3
"""Load an index file with the real FAISS and report what it sees, for the
writer tests (tests/test_faiss_write.c).

    faiss_check.py search INDEX QUERIES.f32 K OUT.i64 [EF]
        top-K ids (nq x K int64) by index.search(); nq from the file size;
        EF sets the efSearch of the HNSW index in the chain
    faiss_check.py reconstruct INDEX IDS.i64 OUT.f32
        index.reconstruct(id) for each id (IndexIDMap2 keeps a reverse map)
    faiss_check.py describe INDEX
        prints "<class> d ntotal metric" of the top-level index
    faiss_check.py hnsw INDEX QUERIES.f32 K EF OUT
        an IndexIDMap2 over IndexHNSWFlat (export --format faiss of an hnsw
        collection): search with efSearch = EF into OUT.search (nq x K
        int64), the graph as FAISS holds it into OUT.levels (int32),
        OUT.offsets (uint64), OUT.neighbors (int32), the ids into OUT.ids
        and reconstruct(id) of every id into OUT.recons; prints
        "<outer> <inner> ntotal entry_point max_level efConstruction M efSearch"
        (efSearch as stored in the file, before EF replaces it)
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
        if len(sys.argv) > 6:
            idx = index
            while idx is not None and not isinstance(faiss.downcast_index(idx), faiss.IndexHNSW):
                idx = getattr(faiss.downcast_index(idx), 'index', None)
            faiss.downcast_index(idx).hnsw.efSearch = int(sys.argv[6])
        q = np.fromfile(sys.argv[3], dtype='<f4').reshape(-1, index.d)
        _, ids = index.search(q, k)
        ids.astype('<i8').tofile(sys.argv[5])
    elif cmd == 'reconstruct':
        ids = np.fromfile(sys.argv[3], dtype='<i8')
        out = np.vstack([index.reconstruct(int(i)) for i in ids])
        out.astype('<f4').tofile(sys.argv[4])
    elif cmd == 'hnsw':
        k, ef, out = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        outer = faiss.downcast_index(index)
        inner = faiss.downcast_index(outer.index)
        g = inner.hnsw
        ef_file = g.efSearch
        g.efSearch = ef
        q = np.fromfile(sys.argv[3], dtype='<f4').reshape(-1, index.d)
        _, ids = index.search(q, k)
        ids.astype('<i8').tofile(out + '.search')
        faiss.vector_to_array(g.levels).astype('<i4').tofile(out + '.levels')
        faiss.vector_to_array(g.offsets).astype('<u8').tofile(out + '.offsets')
        faiss.vector_to_array(g.neighbors).astype('<i4').tofile(out + '.neighbors')
        idmap = faiss.vector_to_array(outer.id_map).astype('<i8')
        idmap.tofile(out + '.ids')
        rec = np.vstack([index.reconstruct(int(i)) for i in idmap]) if len(idmap) else \
            np.zeros((0, index.d), dtype='float32')
        rec.astype('<f4').tofile(out + '.recons')
        cum = faiss.vector_to_array(g.cum_nneighbor_per_level)
        print(type(outer).__name__, type(inner).__name__, index.ntotal, g.entry_point,
              g.max_level, g.efConstruction, int(cum[2] - cum[1]) if len(cum) > 2 else 0,
              ef_file)
    elif cmd == 'describe':
        top = faiss.downcast_index(index)
        print(type(top).__name__, index.d, index.ntotal, index.metric_type)
    else:
        sys.exit('unknown command ' + cmd)


if __name__ == '__main__':
    main()
