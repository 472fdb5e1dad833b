/* quant.c - the registry of storage types. */
#include <string.h>

#include "advise.h"
#include "quant.h"

/* Adding a storage type: implement vl_quant_ops in its own file and list it here. */
static const vl_quant_ops *const registry[] = {
	&vl_quant_float32,
	&vl_quant_float16,
	&vl_quant_lvq8,
	&vl_quant_lvq4,
	&vl_quant_lvq4x4,
	&vl_quant_lvq4x8,
	&vl_quant_lvq8x8,
	&vl_quant_leanvec4x8,
	&vl_quant_leanvec8x8,
};

#define NTYPES (sizeof registry / sizeof registry[0])

const vl_quant_ops *vl_quant_find(const char *name)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

const vl_quant_ops *vl_quant_by_id(int id)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (registry[i]->id == id)
			return registry[i];
	return NULL;
}

/* Uncompressed unless asked: exact results and no training step (Redis'
 * vector indexes default to no compression too). `veclite advise` (advise.c)
 * recommends a compressed type from the dim or from measurements. */
/* What `veclite advise --priority balanced` recommends for the dim (LVQ
 * below 1024 dims, LeanVec from 1024: RedisVL's rules, section 9). */
const char *vl_quant_default(uint32_t dim)
{
	vl_advice a;
	vl_advise_rules(dim, VL_ADVISE_BALANCED, &a);
	const vl_quant_ops *q = vl_quant_find(a.storage);
	return q ? q->name : "float32";
}
