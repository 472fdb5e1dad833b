/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every veclite section.
 *
 * Chosen over CRC-32 because x86-64 computes it in hardware (SSE4.2
 * crc32 instruction), so `verify` runs at memory speed; a table-driven
 * version serves other CPUs and is the reference the tests compare against.
 */
#ifndef VL_CRC32C_H
#define VL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc = vl_crc32c(0, a, n); crc = vl_crc32c(crc, b, m); */
uint32_t vl_crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable implementation (reference for tests). */
uint32_t vl_crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* Hardware implementation; only call when vl_crc32c_hw_available(). */
uint32_t vl_crc32c_hw(uint32_t crc, const void *buf, size_t len);
int vl_crc32c_hw_available(void);

#endif
