/* fuzz_rdb_intset.c - intset validation and iteration over arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "rdb/intset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	for (size_t i = 0; i < size; i++)
		buf[i] = data[i];
	vl_diag d;
	vl_is_iter it;
	vl_rdb_item x;
	uint64_t n = 0, m = 0;
	const int ok = vl_is_validate(buf, size, 0, &n, &d) == 0;
	if (vl_is_open(&it, buf, size, 0, &d) == 0)
		while (vl_is_next(&it, &x) > 0)
			m++;
	if (ok && m != n)
		abort();
	free(buf);
	return 0;
}
