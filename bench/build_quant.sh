#!/bin/sh
# Build bench/quant_scan.c against build/libveclite.a (run `make lib` first).
# The library's own flags apply (baseline x86-64; SIMD kernels are chosen at
# run time), so the numbers are what a user of the library gets.
set -e
cd "$(dirname "$0")/.."
mkdir -p build/bench
${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iengine -Iformat -I. -Ibench -o build/bench/quant_scan bench/quant_scan.c \
	build/libveclite.a -llmdb -lzstd -luring -lm -pthread
echo "built build/bench/quant_scan"
