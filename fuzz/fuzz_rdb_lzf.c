/* fuzz_rdb_lzf.c - LZF decompression: 2 bytes of output length, then data.
 * The fast decoder must agree with the reference on every input: same
 * result code, same error offset, same output bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/lzf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const size_t out_len = (size_t)data[0] << 8 | data[1];
	uint8_t *out = malloc(out_len ? out_len : 1);
	uint8_t *fast = malloc(out_len + VL_LZF_SLACK);
	if (!out || !fast) {
		free(out);
		free(fast);
		return 0;
	}
	vl_diag d, df;
	int rc = vl_lzf_decompress(data + 2, size - 2, out, out_len, 0, &d);
	if (rc != 0 && rc != VL_EFORMAT)
		abort();
	int rf = vl_lzf_decompress_fast(data + 2, size - 2, fast, out_len, 0, &df);
	if (rf != rc || (rc && (d.offset != df.offset || strcmp(d.msg, df.msg) != 0)))
		abort();
	if (rc == 0 && out_len && memcmp(out, fast, out_len) != 0)
		abort();
	free(out);
	free(fast);
	return 0;
}
