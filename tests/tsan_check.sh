#!/bin/sh
# tsan_check.sh - the ThreadSanitizer part of `make check SANITIZE=thread`.
#
# Criterion cannot run under TSan (its boxfort arena wants a fixed mapping
# inside TSan's reserved range: Snaipe/Criterion issue #274, "Could not
# initialize inheritable arena"), so the threaded code runs through programs
# built with -fsanitize=thread instead:
#   - the concurrency soak with the writer as a thread (writer and reader
#     threads in one process, sharing handles), then as a process;
#   - the crash soak (worker processes, automatic flush/compaction threads);
#   - the CLI: multi-threaded index builds (vamana, hnsw, ivf), bulk loads,
#     batch search on several threads, compaction, reindex, verify.
# Any TSan report fails (halt_on_error).
#
#   tests/tsan_check.sh BUILD_DIR GEN_SYNTH
set -eu
B=$1
GEN=$2
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
V=$B/veclite
W=$(mktemp -d "${TMPDIR:-/tmp}/vl-tsan-XXXXXX")
trap 'rm -rf "$W"' EXIT

echo "== tsan: concurrency soak, writer thread"
"$B/tests/concsoak" --seconds 8 --min-writes 60 --writer-thread --threads 2 --procs 1 --dir "$W/conc1"
echo "== tsan: concurrency soak, writer process, reader processes killed mid-read"
"$B/tests/concsoak" --seconds 8 --min-writes 60 --threads 2 --procs 2 --kill-readers --dir "$W/conc2"
echo "== tsan: crash soak"
VECLITE_CLI=$V "$B/tests/crashsoak" --rounds 8 --seed 11 --dir "$W/crash/store" --cli "$V"

echo "== tsan: CLI, threaded builds and searches"
"$GEN" "$W/data" 3000 50 -d 48 -c 64 >/dev/null
for kind in vamana hnsw ivf; do
	"$V" create "$W/kb" -c "$kind" --dim 48 --index "$kind" --field g:tag >/dev/null
	"$V" load "$W/kb" -c "$kind" "$W/data/base.fvecs" --bulk --quiet >/dev/null
	"$V" load "$W/kb" -c "$kind" "$W/data/base.fvecs" --batch 700 --quiet >/dev/null
	"$V" flush "$W/kb" -c "$kind" --threads 2 >/dev/null
	"$V" search "$W/kb" -c "$kind" --queries "$W/data/query.fvecs" -k 10 --threads 2 >/dev/null
	"$V" search "$W/kb" -c "$kind" --queries "$W/data/query.fvecs" -k 10 --threads 2 --exact >/dev/null
	"$V" compact "$W/kb" -c "$kind" --threads 2 >/dev/null
done
"$V" reindex "$W/kb" -c vamana --index vamana --storage lvq8 --threads 2 --quiet >/dev/null
"$V" verify "$W/kb"
echo "tsan check: no data race reported"
