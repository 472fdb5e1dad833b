/*
 * zctx.c - per-thread zstd contexts (see zctx.h). Each thread's contexts
 * are freed when it exits (pthread key destructors); the main thread's
 * stay until the process ends.
 */
#include <pthread.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "zctx.h"

static pthread_key_t cctx_key, dctx_key;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;
static int keys_ok;

static void free_cctx(void *p) { ZSTD_freeCCtx(p); }
static void free_dctx(void *p) { ZSTD_freeDCtx(p); }

static void make_keys(void)
{
	if (pthread_key_create(&cctx_key, free_cctx) != 0)
		return;
	if (pthread_key_create(&dctx_key, free_dctx) != 0) {
		pthread_key_delete(cctx_key);
		return;
	}
	keys_ok = 1;
}

static size_t alloc_error(void) { return (size_t)-(int)ZSTD_error_memory_allocation; }

size_t vl_zstd_compress(void *dst, size_t cap, const void *src, size_t len, int level)
{
	pthread_once(&keys_once, make_keys);
	if (!keys_ok)
		return ZSTD_compress(dst, cap, src, len, level);
	ZSTD_CCtx *c = pthread_getspecific(cctx_key);
	if (!c) {
		if (!(c = ZSTD_createCCtx()))
			return alloc_error();
		if (pthread_setspecific(cctx_key, c) != 0) {
			ZSTD_freeCCtx(c);
			return alloc_error();
		}
	}
	return ZSTD_compressCCtx(c, dst, cap, src, len, level);
}

size_t vl_zstd_decompress(void *dst, size_t cap, const void *src, size_t len)
{
	pthread_once(&keys_once, make_keys);
	if (!keys_ok)
		return ZSTD_decompress(dst, cap, src, len);
	ZSTD_DCtx *c = pthread_getspecific(dctx_key);
	if (!c) {
		if (!(c = ZSTD_createDCtx()))
			return alloc_error();
		if (pthread_setspecific(dctx_key, c) != 0) {
			ZSTD_freeDCtx(c);
			return alloc_error();
		}
	}
	return ZSTD_decompressDCtx(c, dst, cap, src, len);
}
