/*
 * vl_diag.h - error detail for the pure codecs in format/.
 *
 * Codecs know nothing of stores or threads: they return a negative VL_E*
 * code (veclite.h) and, when given a vl_diag, fill in what went wrong and
 * where (byte offset in the input). The engine copies the text into the
 * caller's vl_errmsg().
 */
#ifndef VL_DIAG_H
#define VL_DIAG_H

#include <stdint.h>
#include "veclite.h"

#define VL_DIAG_MSG 512

typedef struct vl_diag {
	int code;               /* last VL_E* code set, 0 if none */
	uint64_t offset;        /* byte offset in the input, UINT64_MAX if not meaningful */
	char msg[VL_DIAG_MSG];  /* human-readable detail, includes the offset when known */
} vl_diag;

#define VL_NO_OFFSET UINT64_MAX

/* Record an error (d may be NULL) and return code, so callers can write
 * `return vl_diag_set(d, VL_EFORMAT, off, "bad magic %02x", b);` */
int vl_diag_set(vl_diag *d, int code, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the existing message with context ("seg/3.vseg: ..."). */
void vl_diag_prefix(vl_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void vl_diag_clear(vl_diag *d)
{
	if (d) {
		d->code = 0;
		d->offset = VL_NO_OFFSET;
		d->msg[0] = 0;
	}
}

#endif
