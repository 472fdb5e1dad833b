#!/bin/sh
# leak_scan.sh LOG - LeakSanitizer reports in a `make check` log that point
# at veclite's own code.
#
# Criterion ignores the exit status of a test process once its test has
# passed, so a leak in a test (or in the library under test) is printed and
# forgotten; and Criterion 2.4.1's runner leaks a few of its own objects
# (stacks wholly inside libcriterion) when tests run in parallel. `make
# check` therefore runs with LSAN_OPTIONS=exitcode=0 and this scan decides:
# it prints every leak whose allocation stack has a frame in engine/,
# format/, tools/ or tests/ and exits 1 if there is one.
set -eu
awk '
	/(Direct|Indirect) leak of/ { if (blk != "" && ours) { print blk; n++ } blk = $0; ours = 0; next }
	blk != "" && /^ *#[0-9]+ / {
		blk = blk "\n" $0
		if ($0 ~ /(engine|format|tools|tests)\/[A-Za-z0-9_\/]+\.[ch]:[0-9]+/) ours = 1
		next
	}
	blk != "" { if (ours) { print blk; n++ } blk = ""; ours = 0 }
	END {
		if (blk != "" && ours) { print blk; n++ }
		if (n) { printf "leak_scan: %d leak(s) in veclite code\n", n; exit 1 }
		print "leak_scan: no leak in veclite code"
	}
' "$1"
