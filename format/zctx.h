/*
 * zctx.h - zstd contexts cached per thread. ZSTD_compress() and
 * ZSTD_decompress() create and free a context on every call (about 1 MiB
 * of tables at level 3), which dominated the cost of compressing a few KB
 * of text per row; the codecs here reuse one context per thread instead.
 */
#ifndef VL_ZCTX_H
#define VL_ZCTX_H

#include <stddef.h>

/* As ZSTD_compress / ZSTD_decompress (same return conventions: check
 * with ZSTD_isError), through the calling thread's cached context. A
 * context that cannot be allocated gives a zstd "memory allocation" error. */
size_t vl_zstd_compress(void *dst, size_t cap, const void *src, size_t len, int level);
size_t vl_zstd_decompress(void *dst, size_t cap, const void *src, size_t len);

#endif
