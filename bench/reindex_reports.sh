#!/bin/sh
# reindex_reports.sh - the two migration reports of issue 8, on Fashion-MNIST
# (60,000 x 784 train images, Debian's dataset-fashion-mnist via `make data`):
#
#   1. a FLAT collection (float32) migrated to Vamana with LVQ4
#      (the seed notebook redis-flat-to-svs-vamana-migration);
#   2. an HNSW collection (float32, M=16, EF_CONSTRUCTION=200) migrated to
#      Vamana with LVQ4x8 (redis-hnsw-to-svs-vamana-migration).
#
# Each report: `veclite reindex --report` with 1,000 queries drawn from the
# data, exact ground truth, one-thread latency/QPS, memory/disk per side and
# the verdict against the seed's thresholds (recall@10 >= 0.85, savings >= 5%).
#
#   bench/reindex_reports.sh [OUTDIR]      (default bench/results/<date>-reindex)
#   VECLITE=path/to/veclite  VECLITE_DATA=folder  THREADS=N  JSON=1 (JSON reports)
set -eu
V=${VECLITE:-build/veclite}
DATA=${VECLITE_DATA:-build/data}/fmnist-train-images
OUT=${1:-bench/results/$(date +%Y%m%d-%H%M)-reindex}
THREADS=${THREADS:-0}
[ -x "$V" ] || { echo "reindex_reports.sh: $V missing: run 'make cli'" >&2; exit 1; }
[ -f "$DATA" ] || { echo "reindex_reports.sh: $DATA missing: run 'make data'" >&2; exit 1; }
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vl-reindex-XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
T=""
[ "$THREADS" != 0 ] && T="--threads $THREADS"
FMT=""
EXT=txt
[ "${JSON:-0}" = 1 ] && FMT="--json" && EXT=json

report() { # name source-index source-params... -- reindex-args...
	name=$1
	shift
	store="$WORK/$name"
	create="$V create $store --dim 784 --index"
	while [ "$1" != "--" ]; do
		create="$create $1"
		shift
	done
	shift
	echo "== $name: $create" >&2
	$create >/dev/null
	start=$(date +%s.%N)
	$V load "$store" "$DATA" --bulk >/dev/null
	end=$(date +%s.%N)
	echo "   source collection built in $(awk "BEGIN{printf \"%.1f\", $end - $start}") s" >&2
	# shellcheck disable=SC2086
	$V reindex "$store" "$@" --report --quiet $T $FMT | tee "$OUT/$name.$EXT"
	$V verify "$store" >/dev/null
	echo >&2
}

report flat-to-vamana-lvq4 flat --storage float32 -- --index vamana --storage lvq4
report hnsw-to-vamana-lvq4x8 hnsw --storage float32 --set M=16 --set EF_CONSTRUCTION=200 -- \
	--index vamana --storage lvq4x8
echo "reports in $OUT" >&2
