/* test_crc32c.c - CRC-32C: published check value, hardware == table-driven. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "crc32c.h"
#include "util/tstore.h"

Test(crc32c, check_values)
{
	/* RFC 3720 / the Castagnoli check value for "123456789" */
	cr_assert_eq(vl_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	cr_assert_eq(vl_crc32c(0, "123456789", 9), 0xE3069283u);
	uint8_t zeros[32] = { 0 };
	cr_assert_eq(vl_crc32c_sw(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4: 32 bytes of zeros */
	uint8_t ones[32];
	for (int i = 0; i < 32; i++)
		ones[i] = 0xff;
	cr_assert_eq(vl_crc32c_sw(0, ones, 32), 0x62A8AB43u);
	uint8_t inc[32];
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	cr_assert_eq(vl_crc32c_sw(0, inc, 32), 0x46DD794Eu);
}

Test(crc32c, hardware_matches_reference_and_chains)
{
	if (!vl_crc32c_hw_available())
		cr_skip_test("no SSE4.2 on this CPU");
	ts_rng r = { 9 };
	uint8_t *buf = malloc(70000);
	for (size_t i = 0; i < 70000; i++)
		buf[i] = (uint8_t)ts_next(&r);
	for (size_t len = 0; len < 200; len++)
		for (size_t off = 0; off < 9; off++)
			cr_assert_eq(vl_crc32c_hw(0, buf + off, len), vl_crc32c_sw(0, buf + off, len), "len %zu off %zu", len, off);
	uint32_t whole = vl_crc32c_hw(0, buf, 70000);
	cr_assert_eq(whole, vl_crc32c_sw(0, buf, 70000));
	uint32_t part = vl_crc32c(0, buf, 12345);
	part = vl_crc32c(part, buf + 12345, 70000 - 12345);
	cr_assert_eq(part, whole, "CRCs must chain across calls");
	free(buf);
}
