#!/bin/sh
# quickstart.sh - veclite end to end on a generated example (run by `make quickstart`).
#
# 10,000 clustered, normalized 768-d vectors (stand-ins for text embeddings)
# go into a new store with one bulk load; then searches, the store's
# description, a cold-start search in a fresh process, and a full verify.
set -eu
V=${VECLITE:-build/veclite}
GEN=${GEN_SYNTH:-build/bench/gen_synth}
OUT=${1:-build/quickstart}
N=${QUICKSTART_ROWS:-10000}

rm -rf "$OUT"
mkdir -p "$OUT"
echo "== generating $N vectors of 768 dims + 5 held-out queries"
"$GEN" "$OUT/data" "$N" 5 -d 768 >/dev/null

echo "== creating a store and bulk-loading it"
"$V" create "$OUT/kb" --dim 768 --metric cosine
"$V" load "$OUT/kb" "$OUT/data/base.fvecs" --bulk

echo "== 3 nearest neighbours of each query"
"$V" search "$OUT/kb" --queries "$OUT/data/query.fvecs" -k 3

echo "== insert one row, read another back (JSON Lines, as export writes it)"
"$V" put "$OUT/kb" note:1 --vector "$(awk 'BEGIN{printf "["; for(i=0;i<768;i++) printf "%s%s", (i?",":""), (i%7)/7.0; printf "]"}')"
"$V" get "$OUT/kb" 42 --json | cut -c1-120
echo "..."

echo "== what is on disk"
"$V" info "$OUT/kb"

echo "== cold start: a fresh process opens the store and answers one query"
start=$(date +%s%N)
"$V" search "$OUT/kb" --queries "$OUT/data/query.fvecs" -k 1 --json | head -n 1
end=$(date +%s%N)
echo "   (whole process: $(( (end - start) / 1000000 )) ms)"

echo "== verify: every checksum and cross-reference"
"$V" verify "$OUT/kb"
echo "quickstart done: the store is in $OUT/kb"
