/* tags.c - splitting tag values (see tags.h). */
#include "tags.h"

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int vl_tag_next(const uint8_t *s, size_t len, size_t *pos, const uint8_t **tag, size_t *tlen)
{
	while (*pos < len) {
		size_t a = *pos, b = a;
		while (b < len && s[b] != VL_TAG_SEP)
			b++;
		*pos = b < len ? b + 1 : b;
		while (a < b && is_space(s[a]))
			a++;
		size_t e = b;
		while (e > a && is_space(s[e - 1]))
			e--;
		if (e > a) {
			*tag = s + a;
			*tlen = e - a;
			return 1;
		}
	}
	return 0;
}
