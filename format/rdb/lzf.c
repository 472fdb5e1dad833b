/* lzf.c - LZF decompression with full bounds checks (format: see lzf.h). */
#include <string.h>

#include "lzf.h"

int vl_lzf_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                      uint64_t base, vl_diag *d)
{
	size_t ip = 0, op = 0;
	while (ip < in_len) {
		const size_t at = ip;
		const unsigned ctrl = in[ip++];
		if (ctrl < 32) { /* literal run of ctrl+1 bytes */
			const size_t n = ctrl + 1u;
			if (n > in_len - ip)
				return vl_diag_set(d, VL_EFORMAT, base + at,
				                   "LZF literal run of %zu bytes passes the end of input", n);
			if (n > out_len - op)
				return vl_diag_set(d, VL_EFORMAT, base + at,
				                   "LZF output exceeds the declared %zu bytes", out_len);
			memcpy(out + op, in + ip, n);
			ip += n;
			op += n;
			continue;
		}
		size_t n = ctrl >> 5;
		if (n == 7) {
			if (ip >= in_len)
				return vl_diag_set(d, VL_EFORMAT, base + at, "LZF back-reference truncated");
			n += in[ip++];
		}
		n += 2;
		if (ip >= in_len)
			return vl_diag_set(d, VL_EFORMAT, base + at, "LZF back-reference truncated");
		const size_t back = (((size_t)ctrl & 0x1f) << 8) + in[ip++] + 1;
		if (back > op)
			return vl_diag_set(d, VL_EFORMAT, base + at,
			                   "LZF back-reference %zu bytes before the start of output", back);
		if (n > out_len - op)
			return vl_diag_set(d, VL_EFORMAT, base + at,
			                   "LZF output exceeds the declared %zu bytes", out_len);
		if (back >= n) {
			memcpy(out + op, out + op - back, n);
		} else {
			/* Overlapping: byte-wise forward copy repeats the last `back` bytes. */
			for (size_t i = 0; i < n; i++)
				out[op + i] = out[op - back + i];
		}
		op += n;
	}
	if (op != out_len)
		return vl_diag_set(d, VL_EFORMAT, base + in_len,
		                   "LZF data decompresses to %zu bytes, %zu declared", op, out_len);
	return 0;
}

/* Word-sized copies: the compiler turns fixed-size memcpy into one move. */
static inline void copy8(uint8_t *dst, const uint8_t *src)
{
	memcpy(dst, src, 8);
}

static inline void copy16(uint8_t *dst, const uint8_t *src)
{
	memcpy(dst, src, 16);
}

int vl_lzf_decompress_fast(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                           uint64_t base, vl_diag *d)
{
	size_t ip = 0, op = 0;
	while (ip < in_len) {
		const size_t at = ip;
		const unsigned ctrl = in[ip++];
		if (ctrl < 32) {
			const size_t n = ctrl + 1u;
			if (n > in_len - ip)
				return vl_diag_set(d, VL_EFORMAT, base + at,
				                   "LZF literal run of %zu bytes passes the end of input", n);
			if (n > out_len - op)
				return vl_diag_set(d, VL_EFORMAT, base + at,
				                   "LZF output exceeds the declared %zu bytes", out_len);
			/* n <= 32 and op + n <= out_len: 32 bytes fit in the slack */
			if (in_len - ip >= 32) {
				copy16(out + op, in + ip);
				copy16(out + op + 16, in + ip + 16);
			} else {
				memcpy(out + op, in + ip, n);
			}
			ip += n;
			op += n;
			continue;
		}
		size_t n = ctrl >> 5;
		if (n == 7) {
			if (ip >= in_len)
				return vl_diag_set(d, VL_EFORMAT, base + at, "LZF back-reference truncated");
			n += in[ip++];
		}
		n += 2;
		if (ip >= in_len)
			return vl_diag_set(d, VL_EFORMAT, base + at, "LZF back-reference truncated");
		const size_t back = (((size_t)ctrl & 0x1f) << 8) + in[ip++] + 1;
		if (back > op)
			return vl_diag_set(d, VL_EFORMAT, base + at,
			                   "LZF back-reference %zu bytes before the start of output", back);
		if (n > out_len - op)
			return vl_diag_set(d, VL_EFORMAT, base + at,
			                   "LZF output exceeds the declared %zu bytes", out_len);
		uint8_t *dst = out + op;
		const uint8_t *src = dst - back;
		/* A word read at src + i ends at or before dst + i when back >= the
		 * word size: it only sees bytes already final. Overshoot past
		 * dst + n stays below out_len + 16 (the slack). */
		if (back >= 16) {
			for (size_t i = 0; i < n; i += 16)
				copy16(dst + i, src + i);
		} else if (back >= 8) {
			for (size_t i = 0; i < n; i += 8)
				copy8(dst + i, src + i);
		} else {
			for (size_t i = 0; i < n; i++)
				dst[i] = src[i];
		}
		op += n;
	}
	if (op != out_len)
		return vl_diag_set(d, VL_EFORMAT, base + in_len,
		                   "LZF data decompresses to %zu bytes, %zu declared", op, out_len);
	return 0;
}
