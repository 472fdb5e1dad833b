#!/bin/sh
# make_golden.sh VECLITE OUTDIR - write the golden store of the current
# format version (tests/golden/v<N>/store), once per format version; the
# committed copies are never regenerated. tests/test_golden.c recomputes
# every expected value from the same formulas (keep them in step):
#   row i: key "k<i>", vector[j] = ((i*31 + j*17) % 97 - 48) / 8 (exact in
#   float32), genre tag "abc"[i%3], year numeric 1900+i, body text
#   "row <i> " repeated 40 times.
# Each collection (dim 32): rows 0..299 bulk-loaded (segment 1), rows
# 300..319 put and flushed (segment 2), rows 0,10,..,90 deleted
# (tombstones), rows 320..324 put and left in the write buffer.
set -eu
V=$1
OUT=$2
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
gen() { # gen FROM TO: JSON Lines rows
	awk -v a="$1" -v b="$2" 'BEGIN {
		split("a b c", g, " ");
		for (i = a; i < b; i++) {
			v = "";
			for (j = 0; j < 32; j++)
				v = v (j ? ", " : "") ((i * 31 + j * 17) % 97 - 48) / 8;
			body = "";
			for (r = 0; r < 40; r++)
				body = body "row " i " ";
			printf("{\"key\": \"k%d\", \"vector\": [%s], \"fields\": {\"genre\": \"%s\", \"year\": %d, \"body\": \"%s\"}}\n",
			       i, v, g[i % 3 + 1], 1900 + i, body);
		}
	}'
}
T=$(mktemp -d)
gen 0 300 > "$T/bulk.jsonl"
gen 300 320 > "$T/more.jsonl"
gen 320 325 > "$T/buffered.jsonl"
F="--field genre:tag --field year:numeric --field body:text"
# name metric index storage params
while read -r name metric index storage params; do
	set -- $params
	sets=""
	for p in "$@"; do sets="$sets --set $p"; done
	"$V" create "$OUT" -c "$name" --dim 32 --metric "$metric" --index "$index" --storage "$storage" $F $sets >/dev/null
	"$V" load "$OUT" -c "$name" "$T/bulk.jsonl" --bulk --quiet >/dev/null
	"$V" load "$OUT" -c "$name" "$T/more.jsonl" --quiet >/dev/null
	"$V" flush "$OUT" -c "$name" >/dev/null
	"$V" delete "$OUT" -c "$name" k0 k10 k20 k30 k40 k50 k60 k70 k80 k90 >/dev/null
	"$V" load "$OUT" -c "$name" "$T/buffered.jsonl" --quiet >/dev/null
done <<'LIST'
flat_f32 l2 flat float32
vamana_lvq4x8 cosine vamana lvq4x8
hnsw_f16 ip hnsw float16
ivf_lvq8 l2 ivf lvq8 NLIST=8
vamana_leanvec l2 vamana leanvec4x8 REDUCE=16
hnsw_lvq4 l2 hnsw lvq4
LIST
"$V" verify "$OUT" >/dev/null
rm -rf "$T" "$OUT/lock.mdb" "$OUT/tmp"
