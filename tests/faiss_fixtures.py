#!/usr/bin/python3
"""Write FAISS index fixtures with the real FAISS library (Debian's
python3-faiss, 1.7.3 on Debian 12) for tests/test_faiss*.c.

    /usr/bin/python3 tests/faiss_fixtures.py OUTDIR

For each fixture NAME, OUTDIR gets:
  NAME.index          the index, written by faiss.write_index
  NAME.info           "key value" lines: chain of fourccs, d, n, metric, what
                      veclite's reader should report (space, dim, exactness)
  NAME.ids            n int64: the id of each reference vector
  NAME.recons         n x d float32: FAISS's reconstruct() for those ids
                      (IVF: after make_direct_map / a hashtable direct map)
                      present when FAISS can reconstruct in the input space
  NAME.stored         n x stored_dim float32: the inner index's reconstruct()
                      (IndexPreTransform only: the transformed space)
  NAME.queries        nq x auto_dim float32 queries in the space veclite's
                      reader picks by default (auto_space)
  NAME.gt             nq x 10 int64: exact top-10 ids for those queries by
                      brute force (IndexFlat, same metric) over the
                      reconstructed vectors in that space
plus fp16_table.f32 (the float32 value of every binary16 bit pattern) and
MANIFEST (fixture names, one a line; written last, so its presence means the
set is complete).
"""
import os
import sys
import time

import numpy as np
import faiss

NQ = 20
K = 10


def data(n, d, seed):
    """Gaussian clusters: IVF and PQ training behave like on real data."""
    rs = np.random.RandomState(seed)
    centers = rs.randn(20, d).astype('float32') * 3
    x = centers[rs.randint(0, 20, n)] + rs.randn(n, d).astype('float32')
    return x.astype('float32')


def no_polysemous(index):
    """index_factory turns on polysemous training for PQ codes: a slow
    annealing that only permutes the centroids. Not needed for a fixture."""
    idx = index
    while idx is not None:
        idx = faiss.downcast_index(idx)
        if hasattr(idx, 'do_polysemous_training'):
            idx.do_polysemous_training = False
        if isinstance(idx, faiss.IndexPreTransform):
            for i in range(idx.chain.size()):
                vt = faiss.downcast_VectorTransform(idx.chain.at(i))
                if isinstance(vt, faiss.OPQMatrix):
                    vt.niter = 10   # default 50: slow, and quality is not under test
        idx = getattr(idx, 'index', None) or getattr(idx, 'storage', None)


def fourcc_chain(index):
    """Fourccs of the chain as veclite's inspect walks it."""
    chain = []
    idx = index
    while idx is not None:
        idx = faiss.downcast_index(idx)
        name = type(idx).__name__
        if isinstance(idx, faiss.IndexIDMap2):
            chain.append('IxM2'); idx = idx.index
        elif isinstance(idx, faiss.IndexIDMap):
            chain.append('IxMp'); idx = idx.index
        elif isinstance(idx, faiss.IndexPreTransform):
            chain.append('IxPT'); idx = idx.index
        elif isinstance(idx, faiss.IndexHNSW):
            chain.append({'IndexHNSWFlat': 'IHNf', 'IndexHNSWSQ': 'IHNs',
                          'IndexHNSWPQ': 'IHNp'}[name])
            idx = idx.storage
        elif isinstance(idx, faiss.IndexIVF):
            chain.append({'IndexIVFFlat': 'IwFl', 'IndexIVFScalarQuantizer': 'IwSq',
                          'IndexIVFPQ': 'IwPQ'}[name])
            idx = idx.quantizer
        elif isinstance(idx, faiss.IndexFlat):
            chain.append('IxF2' if idx.metric_type == faiss.METRIC_L2 else 'IxFI')
            idx = None
        elif isinstance(idx, faiss.IndexScalarQuantizer):
            chain.append('IxSQ'); idx = None
        elif isinstance(idx, faiss.IndexPQ):
            chain.append('IxPq'); idx = None
        else:
            raise RuntimeError('chain: ' + name)
    return ','.join(chain)


def find_hnsw(index):
    idx = index
    while idx is not None:
        idx = faiss.downcast_index(idx)
        if isinstance(idx, faiss.IndexHNSW):
            return idx
        idx = getattr(idx, 'index', None)
    return None


def reference(index):
    """(ids, input-space vectors or None, stored-space vectors or None)."""
    idx = faiss.downcast_index(index)
    n = idx.ntotal
    idmap = None
    if isinstance(idx, faiss.IndexIDMap):
        idmap = faiss.vector_to_array(idx.id_map).astype('int64')
        idx = faiss.downcast_index(idx.index)
    pt = None
    if isinstance(idx, faiss.IndexPreTransform):
        pt = idx
        idx = faiss.downcast_index(idx.index)
    ivf = idx if isinstance(idx, faiss.IndexIVF) else None

    if ivf is not None:
        # ids as stored in the lists
        ids = []
        for l in range(ivf.nlist):
            sz = ivf.invlists.list_size(l)
            if sz:
                p = ivf.invlists.get_ids(l)
                ids.extend(faiss.rev_swig_ptr(p, sz).tolist())
                ivf.invlists.release_ids(l, p)
        inner_ids = np.array(sorted(ids), dtype='int64')
        if ivf.direct_map.type == faiss.DirectMap.NoMap:
            ivf.make_direct_map()
    else:
        inner_ids = np.arange(n, dtype='int64')

    def recon(ix):
        return np.vstack([ix.reconstruct(int(i)) for i in inner_ids]) if n else \
            np.zeros((0, ix.d), dtype='float32')

    stored = recon(idx)
    recons = None
    if pt is not None:
        try:
            recons = recon(pt)
        except RuntimeError:
            recons = None
    else:
        recons = stored
        stored = None
    ids = idmap[inner_ids] if idmap is not None else inner_ids
    return ids, recons, stored


def write_fixture(out, name, index, expect, queries_in, manifest):
    path = os.path.join(out, name)
    faiss.write_index(index, path + '.index')
    ids, recons, stored = reference(index)
    ids.astype('<i8').tofile(path + '.ids')
    if recons is not None:
        recons.astype('<f4').tofile(path + '.recons')
    if stored is not None:
        stored.astype('<f4').tofile(path + '.stored')
    # queries and ground truth in the space the reader picks by default
    if expect['auto_space'] == 'input':
        vecs, q = recons, queries_in
    else:
        vecs = stored
        pt = faiss.downcast_index(index)
        if isinstance(pt, faiss.IndexIDMap):
            pt = faiss.downcast_index(pt.index)
        q = queries_in
        for i in range(pt.chain.size()):
            q = faiss.downcast_VectorTransform(pt.chain.at(i)).apply(q)
    metric = index.metric_type
    q = np.ascontiguousarray(q, dtype='float32')
    q.astype('<f4').tofile(path + '.queries')
    if len(vecs):
        flat = faiss.IndexFlat(vecs.shape[1], metric)
        flat.add(np.ascontiguousarray(vecs))
        _, I = flat.search(q, K)
        gt = np.where(I >= 0, ids[np.maximum(I, 0)], -1)
    else:
        gt = np.full((len(q), K), -1, dtype='int64')
    gt.astype('<i8').tofile(path + '.gt')
    info = {}
    h = find_hnsw(index)
    if h is not None:
        # the graph as FAISS holds it, to check the reader's accessors against
        g = h.hnsw
        faiss.vector_to_array(g.levels).astype('<i4').tofile(path + '.hnsw_levels')
        faiss.vector_to_array(g.offsets).astype('<u8').tofile(path + '.hnsw_offsets')
        faiss.vector_to_array(g.neighbors).astype('<i4').tofile(path + '.hnsw_neighbors')
        info.update({'entry_point': g.entry_point, 'max_level': g.max_level,
                     'efConstruction': g.efConstruction, 'efSearch': g.efSearch})
    info.update({
        'chain': fourcc_chain(index),
        'd': index.d,
        'n': index.ntotal,
        'metric': metric,
        'nq': len(q),
        'stored_dim': stored.shape[1] if stored is not None else index.d,
        'input_ok': int(recons is not None),
    })
    info.update(expect)
    with open(path + '.info', 'w') as f:
        for k, v in info.items():
            f.write('%s %s\n' % (k, v))
    manifest.append(name)


def main():
    # Single-threaded: the machine is shared, and OpenMP's spinning threads
    # make FAISS's k-means crawl on a loaded box.
    faiss.omp_set_num_threads(1)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []
    d = 32
    x = data(2000, d, 1)
    xq = data(NQ, d, 2)
    base = x[:1000]

    def fx(name, index, *args, **kw):
        t0 = time.time()
        r = fx1(name, index, *args, **kw)
        if os.environ.get('FIXTURE_TIMES'):
            sys.stderr.write('%-20s %.2fs\n' % (name, time.time() - t0))
        return r

    def fx1(name, index, exactness, auto_space='input', auto_dim=None, train=None,
           add=None, ids=None, compare=None):
        if not index.is_trained:
            no_polysemous(index)
            index.train(train if train is not None else x)
        a = base if add is None else add
        if ids is None:
            index.add(a)
        else:
            index.add_with_ids(a, ids)
        expect = {'exactness': exactness, 'auto_space': auto_space,
                  'auto_dim': auto_dim if auto_dim is not None else index.d,
                  'compare': compare or 'exact'}
        qin = xq if index.d == d else data(NQ, index.d, 3)
        write_fixture(out, name, index, expect, qin, manifest)
        return index

    L2, IP = faiss.METRIC_L2, faiss.METRIC_INNER_PRODUCT
    fx('flat_l2', faiss.IndexFlatL2(d), 'exact', add=base[:500])
    fx('flat_ip', faiss.IndexFlatIP(d), 'exact', add=base[:500])
    fx('flat_empty', faiss.IndexFlatL2(d), 'exact', add=base[:0])
    fx('ivf_flat', faiss.index_factory(d, 'IVF16,Flat'), 'exact')
    fx('ivf_flat_ip', faiss.index_factory(d, 'IVF16,Flat', IP), 'exact')
    # few vectors in many lists: FAISS writes "sprs" sizes
    fx('ivf_flat_sparse', faiss.index_factory(d, 'IVF64,Flat'), 'exact', add=base[:10])
    big = (np.arange(1000, dtype='int64') * 7919 + (1 << 33))
    ivf = faiss.index_factory(d, 'IVF16,Flat')
    ivf.train(x)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    fx('ivf_ids_hash', ivf, 'exact', ids=big)
    fx('hnsw_flat', faiss.IndexHNSWFlat(d, 16), 'exact')
    fx('hnsw_ip', faiss.IndexHNSWFlat(d, 16, IP), 'exact')
    fx('hnsw_empty', faiss.IndexHNSWFlat(d, 16), 'exact', add=base[:0])
    ids2 = np.array([(1 << 32) + 5 * i for i in range(499)] + [(1 << 63) - 1], dtype='int64')
    fx('idmap2', faiss.IndexIDMap2(faiss.IndexFlatL2(d)), 'exact', add=base[:500], ids=ids2)
    rs = np.random.RandomState(7)
    ids1 = np.unique(rs.randint(0, 1 << 40, 600, dtype='int64'))[:500]
    rs.shuffle(ids1)
    fx('idmap', faiss.IndexIDMap(faiss.IndexFlatIP(d)), 'exact', add=base[:500], ids=ids1)
    fx('idmap2_hnsw', faiss.IndexIDMap2(faiss.IndexHNSWFlat(d, 16)), 'exact', ids=big)

    # scalar quantizers (bf16 and 8bit_direct_signed arrived in FAISS 1.9:
    # the C tests build those files byte by byte)
    SQ = faiss.ScalarQuantizer
    for qname, qt in [('sq8', SQ.QT_8bit), ('sq4', SQ.QT_4bit), ('sq6', SQ.QT_6bit),
                      ('sqfp16', SQ.QT_fp16), ('sq8_uniform', SQ.QT_8bit_uniform),
                      ('sq4_uniform', SQ.QT_4bit_uniform)]:
        fx(qname, faiss.IndexScalarQuantizer(d, qt, L2), 'approximate')
    ints = np.random.RandomState(5).randint(0, 256, (1000, d)).astype('float32')
    fx('sq8_direct', faiss.IndexScalarQuantizer(d, SQ.QT_8bit_direct, L2), 'approximate',
       add=ints, train=ints)

    fx('pq', faiss.IndexPQ(d, 8, 8), 'approximate')
    fx('pq_nbits6', faiss.IndexPQ(d, 8, 6), 'approximate')
    fx('pq_nbits10', faiss.IndexPQ(d, 4, 10), 'approximate')
    fx('ivfpq', faiss.index_factory(d, 'IVF16,PQ8'), 'approximate')
    nores = faiss.index_factory(d, 'IVF16,PQ8')
    nores.by_residual = False
    fx('ivfpq_nores', nores, 'approximate')
    fx('ivfpq_hnswq', faiss.index_factory(d, 'IVF16_HNSW8,PQ8'), 'approximate')
    fx('opq_ivfpq', faiss.index_factory(d, 'OPQ8,IVF16,PQ8'), 'approximate',
       compare='approx')
    fx('opq_hnsw_reduced', faiss.index_factory(d, 'OPQ8_16,HNSW16'), 'transformed',
       auto_space='stored', auto_dim=16)
    fx('pca_reduced', faiss.index_factory(d, 'PCA16,Flat'), 'transformed',
       auto_space='stored', auto_dim=16)
    fx('pca_full', faiss.index_factory(d, 'PCA32,Flat'), 'approximate', compare='approx')
    fx('pcaw', faiss.index_factory(d, 'PCAW16,Flat'), 'transformed', auto_space='stored',
       auto_dim=16)
    fx('rr', faiss.index_factory(d, 'RR32,Flat'), 'approximate', compare='approx')
    fx('l2norm', faiss.index_factory(d, 'L2norm,Flat'), 'transformed', auto_space='stored')
    fx('itq', faiss.index_factory(d, 'ITQ32,Flat'), 'transformed', auto_space='stored')
    fx('pad', faiss.index_factory(d, 'Pad48,Flat'), 'exact')
    fx('center', faiss.IndexPreTransform(faiss.CenteringTransform(d), faiss.IndexFlatL2(d)),
       'approximate')
    fx('hnsw_sq', faiss.index_factory(d, 'HNSW16_SQ8'), 'approximate')
    fx('hnsw_pq', faiss.index_factory(d, 'HNSW16_PQ8'), 'approximate')
    fx('ivf_sq', faiss.index_factory(d, 'IVF16,SQ8'), 'approximate')
    sqn = faiss.index_factory(d, 'IVF16,SQ8')
    sqn.by_residual = False
    fx('ivf_sq_nores', sqn, 'approximate')
    fx('ivf_sqfp16', faiss.index_factory(d, 'IVF16,SQfp16'), 'approximate')

    # a 768-d HNSW
    x768 = data(1000, 768, 11)
    fx('hnsw768', faiss.IndexHNSWFlat(768, 16), 'exact', add=x768)

    # on-disk inverted lists (merge_ondisk, FAISS's own tool)
    from faiss.contrib.ondisk import merge_ondisk
    trained = faiss.index_factory(d, 'IVF16,Flat')
    trained.train(x)
    tpath = os.path.join(out, 'ondisk_trained.tmp')
    faiss.write_index(trained, tpath)
    shard = faiss.read_index(tpath)
    shard.add(base)
    spath = os.path.join(out, 'ondisk_shard.tmp')
    faiss.write_index(shard, spath)
    od = faiss.read_index(tpath)
    merge_ondisk(od, [spath], os.path.join(os.path.abspath(out), 'ondisk.ivfdata'))
    expect = {'exactness': 'exact', 'auto_space': 'input', 'auto_dim': d,
              'compare': 'exact', 'ondisk': 'ondisk.ivfdata'}
    write_fixture(out, 'ondisk', od, expect, xq, manifest)
    os.unlink(tpath)
    os.unlink(spath)

    # binary16 -> float32 for every bit pattern
    np.arange(65536, dtype='<u2').view('<f2').astype('<f4').tofile(
        os.path.join(out, 'fp16_table.f32'))

    with open(os.path.join(out, 'MANIFEST'), 'w') as f:
        f.write('\n'.join(manifest) + '\n')


if __name__ == '__main__':
    main()
