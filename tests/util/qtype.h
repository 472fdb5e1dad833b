/*
 * qtype.h - build a storage view over malloc'd codes (tests of engine/quant).
 *
 * Trains the type on the first ntrain rows, opens it, encodes all rows into
 * PRIMARY/SECONDARY arrays and points the view at them, the way the engine
 * does for a segment (minus the file).
 */
#ifndef QTYPE_H
#define QTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quant.h"

typedef struct qt_store {
	vl_qview v;
	uint8_t *state;
	size_t state_len;
	uint8_t *primary, *secondary;
	float *norms;
} qt_store;

/* Returns VL_OK or the error of train/open (message in d). */
int qt_store_build(qt_store *s, const char *type, vl_metric metric, const float *rows, size_t n,
                   uint32_t dim, size_t ntrain, const char *const *params, size_t nparams,
                   vl_diag *d);
void qt_store_free(qt_store *s);

#endif
