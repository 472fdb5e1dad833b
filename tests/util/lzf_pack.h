/*
 * lzf_pack.h - a small LZF compressor for tests, written from the format
 * (see format/rdb/lzf.h): greedy, 3-byte hash, back-references up to 8192
 * bytes away and 264 bytes long, overlapping ones included (runs). It
 * produces the streams the decoders must read, with every control form.
 */
#ifndef VL_TEST_LZF_PACK_H
#define VL_TEST_LZF_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Compress n bytes into out (room for n + n/32 + 2 bytes); returns its length. */
size_t tu_lzf_compress(const uint8_t *in, size_t n, uint8_t *out);

#endif
