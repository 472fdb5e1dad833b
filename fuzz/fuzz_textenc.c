/*
 * fuzz_textenc.c - base64, UTF-8 validation and the shortest float
 * formatters (format/textenc.c).
 *  - a base64 text that decodes must re-encode to exactly itself (the
 *    decoder accepts only the canonical encoding);
 *  - UTF-8 validity must agree with a slow reference decoder;
 *  - every 4/8-byte group as float32/float64: the shortest text must read
 *    back bit for bit and be no longer than %.9g / %.17g.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textenc.h"

/* Reference: decode code points and check the ranges explicitly. */
static int utf8_ref(const uint8_t *s, size_t n, size_t *bad)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = s[i];
		uint32_t cp, min;
		size_t len;
		if (b < 0x80) { i++; continue; }
		else if ((b & 0xe0) == 0xc0) { len = 2; cp = b & 0x1f; min = 0x80; }
		else if ((b & 0xf0) == 0xe0) { len = 3; cp = b & 0x0f; min = 0x800; }
		else if ((b & 0xf8) == 0xf0) { len = 4; cp = b & 0x07; min = 0x10000; }
		else { *bad = i; return 0; }
		if (i + len > n) { *bad = i; return 0; }
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80) { *bad = i; return 0; }
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) { *bad = i; return 0; }
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *dec = malloc(vl_b64_decoded_max(size) + 1);
	size_t dn;
	if (vl_b64_decode((const char *)data, size, dec, &dn, 0, NULL) == VL_OK) {
		char *enc = malloc(vl_b64_encoded_len(dn) + 1);
		size_t en = vl_b64_encode(dec, dn, enc);
		if (en != size || memcmp(enc, data, size))
			abort();
		free(enc);
	}
	free(dec);

	size_t bad1 = 0, bad2 = 0;
	int v1 = vl_utf8_valid(data, size, &bad1), v2 = utf8_ref(data, size, &bad2);
	if (v1 != v2 || (!v1 && bad1 != bad2))
		abort();

	char buf[VL_FMT_F64_MAX], ref[64];
	for (size_t i = 0; i + 4 <= size; i += 4) {
		float f;
		memcpy(&f, data + i, 4);
		if (!isfinite(f))
			continue;
		int n = vl_fmt_f32(f, buf);
		float back = strtof(buf, NULL);
		/* -0 is written "-0.0" on purpose (2 bytes longer than %g's "-0") */
		int extra = f == 0 && signbit(f) ? 2 : 0;
		if (memcmp(&back, &f, 4) || n > snprintf(ref, sizeof ref, "%.9g", f) + extra)
			abort();
	}
	for (size_t i = 0; i + 8 <= size; i += 8) {
		double x;
		memcpy(&x, data + i, 8);
		if (!isfinite(x))
			continue;
		int n = vl_fmt_f64(x, buf);
		double back = strtod(buf, NULL);
		int extra = x == 0 && signbit(x) ? 2 : 0;
		if (memcmp(&back, &x, 8) || n > snprintf(ref, sizeof ref, "%.17g", x) + extra)
			abort();
	}
	return 0;
}
