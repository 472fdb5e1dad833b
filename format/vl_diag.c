/* vl_diag.c - error detail for format/ codecs (see vl_diag.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vl_diag.h"

int vl_diag_set(vl_diag *d, int code, uint64_t offset, const char *fmt, ...)
{
	if (!d)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
	va_end(ap);
	d->code = code;
	d->offset = offset;
	if (offset != VL_NO_OFFSET) {
		size_t n = strlen(d->msg);
		if (n < sizeof d->msg)
			snprintf(d->msg + n, sizeof d->msg - n, " (at byte offset %llu)",
			         (unsigned long long)offset);
	}
	return code;
}

void vl_diag_prefix(vl_diag *d, const char *fmt, ...)
{
	if (!d)
		return;
	char pre[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(pre, sizeof pre - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t pl = strlen(pre);
	memcpy(pre + pl, ": ", 3);
	pl += 2;
	size_t ml = strnlen(d->msg, sizeof d->msg - 1);
	if (pl + ml > sizeof d->msg - 1)
		ml = sizeof d->msg - 1 - pl;
	memmove(d->msg + pl, d->msg, ml);
	memcpy(d->msg, pre, pl);
	d->msg[pl + ml] = 0;
}
