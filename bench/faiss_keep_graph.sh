#!/bin/sh
# bench/faiss_keep_graph.sh - `veclite import-faiss --keep-graph` of a FAISS
# IndexHNSWFlat (100K x 768, M=32 by default: bench/faiss_gen.py) against
# faiss.read_index of the same file: wall time and peak RSS of each, then the
# imported store searched (recall@10 against exact search, next to FAISS's
# own search of the same graph with the same efSearch).
#
#   sh bench/faiss_keep_graph.sh            (REBUILD=1 also times the import
#                                            that builds the graph instead)
#
# Env: FILE (the index; generated into bench/cache/ when missing, which takes
# ~20 minutes on 2 cores), WORK (scratch folder, default a mktemp -d removed
# at the end), EF (EF_RUNTIME / efSearch of the searches, default 64),
# NQ (queries, default 200). Output: RESULT lines (bench_util.h convention).
# Caches are warm on both sides (the file is read once first).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
VL="$ROOT/build/veclite"
EF=${EF:-64}
NQ=${NQ:-200}
FILE=${FILE:-$ROOT/bench/cache/faiss_hnsw_100k_768.index}
if [ ! -f "$FILE" ] && [ -f "$ROOT/bench/data/faiss_hnsw_100k_768.index" ]; then
	FILE="$ROOT/bench/data/faiss_hnsw_100k_768.index"
fi
if [ ! -f "$FILE" ]; then
	mkdir -p "$(dirname "$FILE")"
	"$PY" "$ROOT/bench/faiss_gen.py" "$FILE"
fi
[ -x "$VL" ] || make -C "$ROOT" cli >/dev/null
OWNWORK=0
if [ -z "${WORK:-}" ]; then
	WORK=$(mktemp -d)
	OWNWORK=1
fi
cleanup() { [ "$OWNWORK" = 1 ] && rm -rf "$WORK"; return 0; }
trap cleanup EXIT

cat "$FILE" > /dev/null   # warm page cache for both readers

# queries from the generator's distribution (same cluster centres, other noise)
D=$("$PY" -c "import faiss; print(faiss.read_index('$FILE').d)")
"$PY" - "$WORK/q.fvecs" "$D" "$NQ" <<'EOF'
import sys
import numpy as np
out, d, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rs = np.random.RandomState(123)
centers = rs.randn(100, d).astype('float32') * 2
rq = np.random.RandomState(99)
q = (centers[rq.randint(0, 100, nq)] + rq.randn(nq, d)).astype('<f4')
with open(out, 'wb') as f:
    for row in q:
        np.array([d], '<i4').tofile(f)
        row.tofile(f)
EOF

timed() { # LABEL CMD...: writes "LABEL wall_s peak_rss_kb" to $WORK/time.LABEL
	label=$1
	shift
	/usr/bin/time -f "$label %e %M" -o "$WORK/time.$label" "$@"
}

# veclite: import with the graph kept (float32 storage: nothing to encode)
timed keep "$VL" import-faiss "$FILE" "$WORK/s" --keep-graph --quiet --storage float32 --json \
	> "$WORK/import.json"
set -- $(cat "$WORK/time.keep")
echo "RESULT tool=veclite what=import-faiss-keep-graph wall_s=$2 peak_rss_mb=$(($3 / 1024))"
"$PY" -c "import json; j = json.load(open('$WORK/import.json')); print('RESULT tool=veclite what=import-summary rows=%d commit_s=%.2f graph_kept=%s' % (j['imported'], j['commit_seconds'], j['graph_kept']))"
du -sk "$WORK/s" | awk '{printf "RESULT tool=veclite what=store disk_mb=%d\n", $1 / 1024}'

# FAISS: read_index (+ reconstruct_n of every vector, as the script does)
timed faiss "$PY" "$ROOT/bench/faiss_read_index.py" "$FILE" > "$WORK/faiss.out"
cat "$WORK/faiss.out"
set -- $(cat "$WORK/time.faiss")
echo "RESULT tool=faiss what=read_index+reconstruct_n process_wall_s=$2 process_peak_rss_mb=$(($3 / 1024))"

# searchable right away: the kept graph against exact search, and FAISS's
# own search of the same graph at the same efSearch
timed search "$VL" search "$WORK/s" --queries "$WORK/q.fvecs" -k 10 --set "EF_RUNTIME=$EF" \
	--threads 1 --json > "$WORK/vl.jsonl"
"$VL" search "$WORK/s" --queries "$WORK/q.fvecs" -k 10 --exact --json > "$WORK/gt.jsonl"
"$PY" - "$FILE" "$WORK" "$EF" <<'EOF'
import json
import sys
import numpy as np
import faiss
path, work, ef = sys.argv[1], sys.argv[2], int(sys.argv[3])
def keys(p):
    return [[int(h['key']) for h in json.loads(l)['results']] for l in open(p)]
vl, gt = keys(work + '/vl.jsonl'), keys(work + '/gt.jsonl')
raw = np.fromfile(work + '/q.fvecs', dtype='<f4')
d = int(raw[:1].view('<i4')[0])
q = raw.reshape(-1, d + 1)[:, 1:].copy()
faiss.omp_set_num_threads(1)
ix = faiss.read_index(path)
ix.hnsw.efSearch = ef
_, I = ix.search(q, 10)
def recall(res):
    return sum(len(set(a) & set(b)) for a, b in zip(res, gt)) / (10.0 * len(gt))
same = sum(len(set(a) & set(b)) for a, b in zip(vl, I.tolist())) / (10.0 * len(gt))
print('RESULT what=search ef=%d queries=%d recall10_veclite_kept_graph=%.4f '
      'recall10_faiss_same_graph=%.4f neighbour_agreement=%.4f' % (ef, len(gt), recall(vl),
                                                                 recall(I.tolist()), same))
EOF
set -- $(cat "$WORK/time.search")
echo "RESULT tool=veclite what=first-searches wall_s=$2 (process: open store, $NQ queries, 1 thread)"

if [ "${REBUILD:-0}" = 1 ]; then
	M=$("$PY" -c "import faiss; ix = faiss.read_index('$FILE'); h = ix.hnsw; c = faiss.vector_to_array(h.cum_nneighbor_per_level); print(int(c[2] - c[1]), h.efConstruction)")
	set -- $M
	timed rebuild "$VL" import-faiss "$FILE" "$WORK/r" --quiet --storage float32 --index hnsw \
		--set "M=$1" --set "EF_CONSTRUCTION=$2" > /dev/null
	set -- $(cat "$WORK/time.rebuild")
	echo "RESULT tool=veclite what=import-faiss-rebuild wall_s=$2 peak_rss_mb=$(($3 / 1024))"
fi
