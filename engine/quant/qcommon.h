/*
 * qcommon.h - small helpers shared by the storage types (internal).
 */
#ifndef VL_QCOMMON_H
#define VL_QCOMMON_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"

/* The VALUE of the last "NAME=VALUE" in params, or NULL. */
const char *vl_qparam(const char *const *params, size_t n, const char *name);

/* Parse a decimal in [min, max]; VL_EINVAL with a message naming `name`. */
int vl_qparam_parse_u32(const char *name, const char *value, uint32_t min, uint32_t max,
                        uint32_t *out, vl_diag *d);

/* out = x with non-finite components replaced by 0 (the engine rejects them
 * at insert; encoders must still stay defined), scaled by 1/|x| (in double)
 * when `normalize` (a zero vector stays zero). Returns the norm. Same bytes
 * at every kernel level (out may be x). */
double vl_qclean(const float *x, uint32_t dim, int normalize, float *out);

static inline size_t vl_qalign(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* A 64-byte aligned malloc'd buffer (free with free()). */
void *vl_qalloc(size_t bytes);

#endif
