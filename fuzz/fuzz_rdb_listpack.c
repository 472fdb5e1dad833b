/* fuzz_rdb_listpack.c - listpack validation and iteration over arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "rdb/listpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy so ASan catches any read past the blob */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	for (size_t i = 0; i < size; i++)
		buf[i] = data[i];
	vl_diag d;
	uint64_t n = 0, m = 0;
	const int ok = vl_lp_validate(buf, size, 0, &n, &d) == 0;
	vl_lp_iter it;
	vl_rdb_item x;
	volatile uint8_t sink = 0;
	if (vl_lp_open(&it, buf, size, 0, &d) == 0) {
		int rc;
		while ((rc = vl_lp_next(&it, &x, &d)) > 0) {
			const uint8_t *p = vl_rdb_item_ptr(&x);
			for (size_t i = 0; i < x.len; i++)
				sink ^= p[i];
			m++;
		}
		if ((rc == 0) != ok || (ok && m != n))
			abort(); /* validation and iteration disagree */
	} else if (ok) {
		abort();
	}
	free(buf);
	return 0;
}
