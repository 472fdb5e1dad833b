#!/usr/bin/python3
"""Seed corpus for fuzz/fuzz_faiss.c: one tiny file per FAISS index type,
written by the real FAISS (python3-faiss).

    /usr/bin/python3 fuzz/faiss_corpus.py fuzz/corpus/fuzz_faiss

Tiny on purpose (d 4..8, a few dozen vectors): the fuzzer mutates structure,
not bulk float data.
"""
import os
import sys

import numpy as np
import faiss


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    faiss.omp_set_num_threads(1)
    rs = np.random.RandomState(0)
    d = 8
    x = rs.randn(256, d).astype('float32')
    small = x[:12]
    SQ = faiss.ScalarQuantizer

    def w(name, index, add=small, train=x, ids=None):
        if not index.is_trained:
            for ix in [index, getattr(index, 'index', None)]:
                if ix is not None and hasattr(faiss.downcast_index(ix), 'do_polysemous_training'):
                    faiss.downcast_index(ix).do_polysemous_training = False
            index.train(train)
        if ids is not None:
            index.add_with_ids(add, ids)
        elif len(add):
            index.add(add)
        faiss.write_index(index, os.path.join(out, name))

    w('flat_l2', faiss.IndexFlatL2(d))
    w('flat_ip', faiss.IndexFlatIP(d))
    w('ivf_flat', faiss.index_factory(d, 'IVF4,Flat'))
    w('ivf_flat_sparse', faiss.index_factory(d, 'IVF16,Flat'), add=x[:2])
    iv = faiss.index_factory(d, 'IVF4,Flat')
    iv.train(x)
    iv.set_direct_map_type(faiss.DirectMap.Hashtable)
    w('ivf_hash', iv, ids=np.arange(12, dtype='int64') * 1000 + (1 << 40))
    w('hnsw_flat', faiss.IndexHNSWFlat(d, 4))
    w('idmap2', faiss.IndexIDMap2(faiss.IndexFlatL2(d)),
      ids=np.array([(1 << 63) - 1 - i for i in range(12)], dtype='int64'))
    w('idmap', faiss.IndexIDMap(faiss.IndexFlatIP(d)), ids=np.arange(12, dtype='int64') * 7)
    for name, qt in [('sq8', SQ.QT_8bit), ('sq4', SQ.QT_4bit), ('sq6', SQ.QT_6bit),
                     ('sqfp16', SQ.QT_fp16), ('sq8u', SQ.QT_8bit_uniform),
                     ('sq4u', SQ.QT_4bit_uniform), ('sq8d', SQ.QT_8bit_direct)]:
        w(name, faiss.IndexScalarQuantizer(d, qt))
    w('pq', faiss.IndexPQ(d, 4, 4))
    w('pq_nbits6', faiss.IndexPQ(d, 2, 6))
    w('ivfpq', faiss.index_factory(d, 'IVF4,PQ4x4'))
    w('ivfsq', faiss.index_factory(d, 'IVF4,SQ8'))
    w('opq_hnsw', faiss.index_factory(d, 'OPQ2_4,HNSW4'))
    w('pca_flat', faiss.index_factory(d, 'PCA4,Flat'))
    w('rr_flat', faiss.index_factory(d, 'RR8,Flat'))
    w('l2norm', faiss.index_factory(d, 'L2norm,Flat'))
    w('itq', faiss.index_factory(d, 'ITQ8,Flat'))
    w('pad', faiss.index_factory(d, 'Pad12,Flat'))
    w('center', faiss.IndexPreTransform(faiss.CenteringTransform(d), faiss.IndexFlatL2(d)))
    w('hnsw_sq', faiss.index_factory(d, 'HNSW4_SQ8'))
    w('hnsw_pq', faiss.IndexHNSWPQ(d, 4, 4))
    w('ivf_hnswq', faiss.index_factory(d, 'IVF4_HNSW4,PQ4'))
    w('empty_hnsw', faiss.IndexHNSWFlat(d, 4), add=small[:0])

    # on-disk lists: the index names its data file ("ondisk.ivfdata", relative)
    import tempfile
    from faiss.contrib.ondisk import merge_ondisk
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        tr = faiss.index_factory(d, 'IVF4,Flat')
        tr.train(x)
        faiss.write_index(tr, 'trained')
        sh = faiss.read_index('trained')
        sh.add(small)
        faiss.write_index(sh, 'shard')
        od = faiss.read_index('trained')
        merge_ondisk(od, ['shard'], 'ondisk.ivfdata')
        os.chdir(here)
        faiss.write_index(od, os.path.join(out, 'ondisk'))


if __name__ == '__main__':
    main()
