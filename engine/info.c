/* info.c - vl_collection_info: schema, counts, bytes per section, residency. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"
#include "internal.h"
#include "quant/quant.h"
#include "segmap.h"

/* Bytes of [p, p+len) resident in this process's page cache view (mincore). */
static uint64_t resident_bytes(const uint8_t *p, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!len || page <= 0)
		return 0;
	uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1);
	uint64_t span = (uint64_t)((uintptr_t)p - start) + len;
	size_t npages = (size_t)((span + (uint64_t)page - 1) / (uint64_t)page);
	unsigned char *vec = malloc(npages);
	if (!vec)
		return 0;
	uint64_t res = 0;
	if (mincore((void *)start, (size_t)span, vec) == 0)
		for (size_t i = 0; i < npages; i++)
			res += (vec[i] & 1) ? (uint64_t)page : 0;
	free(vec);
	return res > len ? len : res;
}

typedef struct acc {
	vl_section_stats *s;
	size_t n, cap;
} acc;

static vl_section_stats *slot(acc *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->s[i].name, name) == 0)
			return &a->s[i];
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		vl_section_stats *p = realloc(a->s, cap * sizeof *p);
		if (!p)
			return NULL;
		a->s = p;
		a->cap = cap;
	}
	memset(&a->s[a->n], 0, sizeof *a->s);
	a->s[a->n].name = name; /* static strings */
	return &a->s[a->n++];
}

static int fill_sections(const vl_snap *s, acc *a, uint64_t *disk)
{
	for (uint32_t i = 0; i < s->set->n; i++) {
		const vl_segmap *sm = s->set->segs[i];
		*disk += sm->size;
		vl_section_stats *h = slot(a, "header");
		if (!h)
			return VL_ENOMEM;
		h->bytes += VL_SEG_ALIGN;
		h->mapped += VL_SEG_ALIGN;
		h->resident += resident_bytes(sm->base, VL_SEG_ALIGN);
		for (uint32_t k = 0; k < sm->lay.h.nsections; k++) {
			const vl_seg_section *sec = &sm->lay.sec[k];
			vl_section_stats *x = slot(a, vl_seg_section_name(sec->kind));
			if (!x)
				return VL_ENOMEM;
			x->bytes += sec->length;
			x->mapped += sec->length;
			x->resident += resident_bytes(sm->base + sec->offset, sec->length);
		}
	}
	return VL_OK;
}

int vl_collection_info(vl_collection *c, vl_info **out)
{
	if (!c || !out)
		return VL_EINVAL;
	vl_clear_err(c->st);
	vl_snap s;
	int rc = vl_snap_begin(c, &s);
	if (rc)
		return rc;
	vl_info *inf = calloc(1, sizeof *inf);
	acc a = { 0 };
	if (!inf)
		goto oom;
	inf->name = strdup(c->name);
	const vl_quant_ops *qo = vl_quant_by_id(s.schema.storage);
	const vl_index_ops *io = vl_index_by_id(s.schema.index);
	inf->storage = strdup(qo ? qo->name : "unknown");
	inf->index = strdup(io ? io->name : "unknown");
	inf->dim = s.schema.dim;
	inf->metric = (vl_metric)s.schema.metric;
	inf->params = calloc(s.schema.nparams + 1, sizeof *inf->params);
	inf->fields = calloc(s.schema.nfields + 1, sizeof *inf->fields);
	if (!inf->name || !inf->storage || !inf->index || !inf->params || !inf->fields)
		goto oom;
	for (uint32_t i = 0; i < s.schema.nparams; i++, inf->nparams++)
		if (!(inf->params[i] = strdup(s.schema.params[i])))
			goto oom;
	for (uint32_t i = 0; i < s.schema.nfields; i++, inf->nfields++) {
		inf->fields[i].type = (vl_field_type)s.schema.fields[i].type;
		if (!(inf->fields[i].name = strdup(s.schema.fields[i].name)))
			goto oom;
	}
	inf->rows = s.cs.live_rows;
	inf->buffer_rows = s.cs.buffer_rows;
	inf->segment_rows = s.cs.segment_rows;
	inf->dead_rows = s.cs.dead_rows;
	inf->segments = s.set->n;
	inf->flush_failures = s.cs.flush_failures;
	if (fill_sections(&s, &a, &inf->disk_bytes))
		goto oom;
	vl_section_stats *buf = slot(&a, "write-buffer");
	if (!buf)
		goto oom;
	buf->bytes = s.cs.buffer_bytes;
	inf->sections = a.s;
	inf->nsections = a.n;
	vl_snap_end(&s);
	*out = inf;
	return VL_OK;
oom:
	free(a.s);
	vl_info_free(inf);
	vl_snap_end(&s);
	return vl_fail(c->st, VL_ENOMEM, "out of memory");
}

void vl_info_free(vl_info *inf)
{
	if (!inf)
		return;
	free(inf->name);
	free(inf->storage);
	free(inf->index);
	for (size_t i = 0; i < inf->nparams; i++)
		free(inf->params[i]);
	free(inf->params);
	for (size_t i = 0; i < inf->nfields; i++)
		free((char *)inf->fields[i].name);
	free(inf->fields);
	free(inf->sections);
	free(inf);
}
