/* crc32c.c - portable CRC-32C and run-time choice of the hardware path. */
#include <pthread.h>

#include "crc32c.h"

#define POLY 0x82F63B78u /* Castagnoli, reflected */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (POLY & (0u - (c & 1)));
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

/* Slicing-by-8: eight table lookups per 8 input bytes. */
uint32_t vl_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&table_once, table_init);
	const uint8_t *p = buf;
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		                     (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		              (uint32_t)p[7] << 24;
		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
		      table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		      table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

int vl_crc32c_hw_available(void)
{
#if defined(__x86_64__)
	static int avail = -1;
	if (avail < 0) {
		__builtin_cpu_init();
		avail = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	}
	return avail;
#else
	return 0;
#endif
}

uint32_t vl_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (vl_crc32c_hw_available())
		return vl_crc32c_hw(crc, buf, len);
	return vl_crc32c_sw(crc, buf, len);
}
