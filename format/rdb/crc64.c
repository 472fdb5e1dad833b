/*
 * crc64.c - CRC-64/Jones (Redis RDB): bitwise reference, slicing-by-8 table,
 * and PCLMULQDQ folding chosen at run time.
 *
 * Folding (reflected CRC). A 16-byte block loaded little-endian holds the
 * stream's bits with bit j standing for x^(127-j): the low lane is the
 * block's high-degree half. With R64(v) = sum v_i x^(63-i), a carry-less
 * product of two 64-bit lanes represents x * R64(a) * R64(b) (one degree
 * higher than the plain product). So moving a block D bits further down
 * the stream, X * x^D = R64(lo) x^(64+D) + R64(hi) x^D, is congruent mod P to
 *     clmul(lo, K(63+D)) ^ clmul(hi, K(D-1)),   K(n) = R64(x^n mod P),
 * a 128-bit value that is xored into the block found D bits later. Four
 * accumulators fold 64 bytes per round (D = 512), then fold into one
 * (D = 128). The last accumulator is congruent to the message mod P, so the
 * CRC of its 16 bytes (by table, init 0) is the CRC of everything folded;
 * the tail (< 16 bytes) continues with the table. The incoming CRC is xored
 * into the first 8 bytes (the register is the message's leading 64 bits).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crc64.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_CLMUL 1
#include <immintrin.h>
#else
#define HAVE_CLMUL 0
#endif

#define POLY_REFLECTED 0x95ac9329ac4bc9b5ull

static uint64_t table[8][256];
static uint64_t k512[2], k128[2];      /* {lo-lane constant, hi-lane constant} */
static int use_clmul;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

uint64_t vl_crc64_bitwise(uint64_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (POLY_REFLECTED & (0 - (crc & 1)));
	}
	return crc;
}

static uint64_t bitrev64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

/* R64(x^n mod P): computed in the normal (unreflected) form, then reversed. */
static uint64_t xpow_mod(unsigned n)
{
	const uint64_t poly = bitrev64(POLY_REFLECTED); /* x^64 term implied */
	uint64_t r = 1;
	while (n--)
		r = (r << 1) ^ ((r >> 63) ? poly : 0);
	return bitrev64(r);
}

static int cpu_has_clmul(void)
{
#if HAVE_CLMUL
	__builtin_cpu_init();
	return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#else
	return 0;
#endif
}

static void init(void)
{
	for (uint64_t i = 0; i < 256; i++)
		table[0][i] = vl_crc64_bitwise(0, &(uint8_t){ (uint8_t)i }, 1);
	for (int i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	k512[0] = xpow_mod(64 + 512 - 1);
	k512[1] = xpow_mod(512 - 1);
	k128[0] = xpow_mod(64 + 128 - 1);
	k128[1] = xpow_mod(128 - 1);
	const char *env = getenv("VECLITE_SIMD");
	use_clmul = cpu_has_clmul() && !(env && strcmp(env, "scalar") == 0);
}

/* Eight lookups per 8 input bytes. */
uint64_t vl_crc64_table(uint64_t crc, const void *buf, size_t len)
{
	pthread_once(&init_once, init);
	const uint8_t *p = buf;
	while (len >= 8) {
		uint64_t w = crc;
		for (int i = 0; i < 8; i++)
			w ^= (uint64_t)p[i] << (8 * i);
		crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
		      table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
		      table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

int vl_crc64_clmul_available(void)
{
	pthread_once(&init_once, init);
	return cpu_has_clmul();
}

#if HAVE_CLMUL
#define FOLD(x, k, data)                                                                  \
	_mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128((x), (k), 0x00),                 \
	                            _mm_clmulepi64_si128((x), (k), 0x11)),                \
	              (data))
#define LOAD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

__attribute__((target("pclmul,sse4.1"))) uint64_t vl_crc64_clmul(uint64_t crc, const void *buf,
                                                                  size_t len)
{
	pthread_once(&init_once, init);
	const uint8_t *p = buf;
	if (len < 64)
		return vl_crc64_table(crc, buf, len);
	__m128i x0 = _mm_xor_si128(LOAD(p), _mm_cvtsi64_si128((long long)crc));
	__m128i x1 = LOAD(p + 16), x2 = LOAD(p + 32), x3 = LOAD(p + 48);
	p += 64;
	len -= 64;
	const __m128i k4 = _mm_set_epi64x((long long)k512[1], (long long)k512[0]);
	while (len >= 64) {
		x0 = FOLD(x0, k4, LOAD(p));
		x1 = FOLD(x1, k4, LOAD(p + 16));
		x2 = FOLD(x2, k4, LOAD(p + 32));
		x3 = FOLD(x3, k4, LOAD(p + 48));
		p += 64;
		len -= 64;
	}
	const __m128i k1 = _mm_set_epi64x((long long)k128[1], (long long)k128[0]);
	x1 = FOLD(x0, k1, x1);
	x2 = FOLD(x1, k1, x2);
	x3 = FOLD(x2, k1, x3);
	while (len >= 16) {
		x3 = FOLD(x3, k1, LOAD(p));
		p += 16;
		len -= 16;
	}
	uint8_t last[16];
	_mm_storeu_si128((__m128i *)(void *)last, x3);
	return vl_crc64_table(vl_crc64_table(0, last, 16), p, len);
}
#else
uint64_t vl_crc64_clmul(uint64_t crc, const void *buf, size_t len)
{
	return vl_crc64_table(crc, buf, len);
}
#endif

uint64_t vl_crc64(uint64_t crc, const void *buf, size_t len)
{
	pthread_once(&init_once, init);
	return use_clmul ? vl_crc64_clmul(crc, buf, len) : vl_crc64_table(crc, buf, len);
}

const char *vl_crc64_impl(void)
{
	pthread_once(&init_once, init);
	return use_clmul ? "clmul" : "table";
}
