/*
 * lzf.h - LZF decompression, as used by RDB strings (encoding 0xC3).
 *
 * Pure function over buffers. The output must come out exactly `out_len`
 * bytes long; anything else (truncated input, a back-reference before the
 * start, output overflow, trailing input) is VL_EFORMAT with the offset of
 * the bad control byte.
 *
 * Format: a control byte c. c < 32: a literal run of c+1 bytes follows.
 * Otherwise a back-reference: length n = c >> 5 (7 means 7 + the next byte),
 * copy n + 2 bytes from distance ((c & 31) << 8 | next byte) + 1 back in
 * the output (the copy may overlap what it writes: it repeats a pattern).
 */
#ifndef VL_RDB_LZF_H
#define VL_RDB_LZF_H

#include <stddef.h>
#include <stdint.h>

#include "vl_diag.h"

/* Largest expansion LZF allows: a 3-byte back-reference yields 264 bytes.
 * Callers check ulen <= clen * VL_LZF_MAX_RATIO before allocating. */
#define VL_LZF_MAX_RATIO 88u

/* Bytes past out_len that vl_lzf_decompress_fast may scribble on. */
#define VL_LZF_SLACK 64u

/* Decompress in[0..in_len) into out[0..out_len). `base` is the file offset
 * of in[0], used in error messages. Returns 0 or VL_EFORMAT. */
int vl_lzf_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                      uint64_t base, vl_diag *d);

/* The same result (output bytes, error code, offset and message), faster:
 * copies go in 8/16/32-byte words, so `out` must have room for
 * out_len + VL_LZF_SLACK bytes; bytes past out_len are left unspecified. */
int vl_lzf_decompress_fast(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                           uint64_t base, vl_diag *d);

#endif
