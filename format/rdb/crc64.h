/*
 * crc64.h - CRC-64/Jones, the checksum of the Redis RDB trailer.
 *
 * Parameters: reflected polynomial 0x95ac9329ac4bc9b5 (0xad93d23594c935a9
 * unreflected), initial value 0, no final xor. Redis stores the CRC of every
 * byte from "REDIS" through the EOF opcode as 8 bytes little-endian.
 * check("123456789") = 0xe9c6d914c4b8d9ca.
 *
 * vl_crc64() picks, once per process, carry-less multiply folding
 * (PCLMULQDQ, about 10x the table's speed) when the CPU has it, else the
 * slicing-by-8 table. VECLITE_SIMD=scalar forces the table (tests run both
 * and compare them with the bit-at-a-time reference).
 */
#ifndef VL_RDB_CRC64_H
#define VL_RDB_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: c = vl_crc64(0, a, n); c = vl_crc64(c, b, m); */
uint64_t vl_crc64(uint64_t crc, const void *buf, size_t len);
/* Bit-at-a-time reference, for tests. */
uint64_t vl_crc64_bitwise(uint64_t crc, const void *buf, size_t len);
/* Slicing-by-8 table version (the portable path). */
uint64_t vl_crc64_table(uint64_t crc, const void *buf, size_t len);
/* 1 if the CPU can run vl_crc64_clmul (PCLMULQDQ + SSE4.1). */
int vl_crc64_clmul_available(void);
/* Folding version; only call it when vl_crc64_clmul_available(). */
uint64_t vl_crc64_clmul(uint64_t crc, const void *buf, size_t len);
/* "clmul" or "table": the version vl_crc64 uses. */
const char *vl_crc64_impl(void);

#endif
