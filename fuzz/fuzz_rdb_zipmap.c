/* fuzz_rdb_zipmap.c - zipmap validation and iteration over arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "rdb/zipmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	for (size_t i = 0; i < size; i++)
		buf[i] = data[i];
	vl_diag d;
	uint64_t n = 0;
	vl_zm_validate(buf, size, 0, &n, &d);
	vl_zm_iter it;
	vl_rdb_item f, v;
	volatile uint8_t sink = 0;
	if (vl_zm_open(&it, buf, size, 0, &d) == 0)
		while (vl_zm_next(&it, &f, &v, &d) > 0) {
			for (size_t i = 0; i < f.len; i++)
				sink ^= f.s[i];
			for (size_t i = 0; i < v.len; i++)
				sink ^= v.s[i];
		}
	free(buf);
	return 0;
}
