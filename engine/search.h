/* search.h - search internals shared with re-ranking and verification. */
#ifndef VL_SEARCH_H
#define VL_SEARCH_H

#include <stdint.h>

#include "veclite.h"

/* Full-precision distance in metric m (qnorm/xnorm used by cosine only). */
float vl_exact_dist(vl_metric m, const float *q, float qnorm, const float *x, float xnorm, uint32_t dim);

#endif
