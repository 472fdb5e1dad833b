/* lzf_pack.c - LZF compressor for tests (see lzf_pack.h). */
#include <string.h>

#include "lzf_pack.h"

#define HBITS 14
#define MAX_OFF 8192u
#define MAX_REF 264u

static size_t flush_literals(const uint8_t *in, size_t from, size_t to, uint8_t *out, size_t o)
{
	while (from < to) {
		size_t n = to - from > 32 ? 32 : to - from;
		out[o++] = (uint8_t)(n - 1);
		memcpy(out + o, in + from, n);
		o += n;
		from += n;
	}
	return o;
}

size_t tu_lzf_compress(const uint8_t *in, size_t n, uint8_t *out)
{
	static size_t last[1u << HBITS];
	memset(last, 0xff, sizeof last);
	size_t i = 0, lit = 0, o = 0;
	while (i + 2 < n) {
		const uint32_t h = ((uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2]) * 2654435761u >> (32 - HBITS);
		const size_t cand = last[h];
		last[h] = i;
		/* a run: distance 1 beats the table when the byte repeats */
		size_t ref = (i > 0 && in[i - 1] == in[i] && in[i] == in[i + 1] && in[i + 1] == in[i + 2]) ? i - 1 : cand;
		if (ref != (size_t)-1 && ref < i && i - ref <= MAX_OFF && memcmp(in + ref, in + i, 3) == 0) {
			size_t len = 3;
			/* byte-wise compare: the source may overlap what is being matched */
			while (len < MAX_REF && i + len < n && in[ref + len] == in[i + len])
				len++;
			o = flush_literals(in, lit, i, out, o);
			const size_t off = i - ref - 1, l = len - 2;
			if (l < 7) {
				out[o++] = (uint8_t)(l << 5 | off >> 8);
			} else {
				out[o++] = (uint8_t)(7u << 5 | off >> 8);
				out[o++] = (uint8_t)(l - 7);
			}
			out[o++] = (uint8_t)(off & 0xff);
			i += len;
			lit = i;
			continue;
		}
		i++;
	}
	return flush_literals(in, lit, n, out, o);
}
