/*
 * graph.c - vl_graph_*: walk the graph index of a one-segment collection in
 * row order (export of an hnsw collection as a FAISS IndexHNSWFlat).
 *
 * A vl_graph is a read snapshot (like a cursor) pinned to its segment: node
 * i is the segment's row i, its row record comes from LMDB by row id and
 * its vector from the segment's VECTORS section. The graph itself is read
 * through the index kind's optional graph ops. Only a collection that is
 * exactly one segment with no buffered and no deleted rows is accepted, so
 * every node is a live row and every live row a node.
 */
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "read.h"
#include "segmap.h"

struct vl_graph {
	vl_snap s;
	const vl_segmap *seg;      /* NULL for an empty collection */
	const vl_index_ops *io;
	uint64_t nodes;
	void *buf;                 /* the record of vl_graph_row */
	size_t cap;
	vl_rowbuf rb;
};

static int check_shape(vl_graph *g)
{
	vl_collection *c = g->s.c;
	const vl_snap *s = &g->s;
	const vl_index_ops *io = vl_index_by_id(s->schema.index);
	if (!io || !io->graph_info || !io->graph_level || !io->graph_neighbors)
		return vl_fail(c->st, VL_EUNSUPPORTED,
		               "collection '%s' uses the %s index, which has no graph to read", c->name,
		               io ? io->name : "unknown");
	g->io = io;
	if (s->set->n > 1 || s->cs.buffer_rows || s->cs.dead_rows)
		return vl_fail(c->st, VL_EINVAL,
		               "collection '%s' has %u segment(s), %llu buffered rows and %llu deleted "
		               "rows: its graph can be read only when it is one segment with no buffered "
		               "or deleted rows (flush and compact it first)",
		               c->name, s->set->n, (unsigned long long)s->cs.buffer_rows,
		               (unsigned long long)s->cs.dead_rows);
	if (s->set->n == 1) {
		g->seg = s->set->segs[0];
		if (g->seg->iops != io || !g->seg->istate)
			return vl_fail(c->st, VL_EINVAL, "collection '%s': its segment was built with "
			               "another index kind", c->name);
		g->nodes = g->seg->nrows;
	}
	return VL_OK;
}

int vl_graph_open(vl_collection *c, vl_graph **out, vl_graph_info *info)
{
	if (!c || !out || (info && info->size < sizeof(uint32_t)))
		return VL_EINVAL;
	vl_clear_err(c->st);
	*out = NULL;
	vl_graph *g = calloc(1, sizeof *g);
	if (!g)
		return vl_fail(c->st, VL_ENOMEM, "out of memory");
	int rc = vl_snap_begin(c, &g->s);
	if (rc) {
		free(g);
		return rc;
	}
	if ((rc = check_shape(g))) {
		vl_graph_close(g);
		return rc;
	}
	if (info) {
		vl_graph_info full = VL_GRAPH_INFO_INIT;
		if (g->seg)
			g->io->graph_info(g->seg->istate, &full); /* empty: all 0 */
		size_t n = info->size < sizeof full ? info->size : sizeof full;
		full.size = info->size;
		memcpy(info, &full, n);
	}
	*out = g;
	return VL_OK;
}

static int check_node(vl_graph *g, uint64_t node)
{
	if (node >= g->nodes)
		return vl_fail(g->s.c->st, VL_EINVAL, "node %llu is outside the graph's %llu nodes",
		               (unsigned long long)node, (unsigned long long)g->nodes);
	return VL_OK;
}

int vl_graph_level(vl_graph *g, uint64_t node, uint32_t *level)
{
	if (!g || !level)
		return VL_EINVAL;
	int rc = check_node(g, node);
	if (rc)
		return rc;
	*level = g->io->graph_level(g->seg->istate, (uint32_t)node);
	return VL_OK;
}

int vl_graph_neighbors(vl_graph *g, uint64_t node, uint32_t level, uint32_t *out, uint32_t cap,
                       uint32_t *count)
{
	if (!g || (!out && cap) || !count)
		return VL_EINVAL;
	int rc = check_node(g, node);
	if (rc)
		return rc;
	*count = g->io->graph_neighbors(g->seg->istate, (uint32_t)node, level, out, cap);
	return VL_OK;
}

int vl_graph_row(vl_graph *g, uint64_t node, const vl_record **rec)
{
	if (!g || !rec)
		return VL_EINVAL;
	*rec = NULL;
	int rc = check_node(g, node);
	if (rc)
		return rc;
	const vl_segmap *sm = g->seg;
	uint32_t dim = g->s.schema.dim;
	const uint8_t *r;
	size_t len;
	if ((rc = vl_snap_rowrec(&g->s, sm->rowids[node], &r, &len)) ||
	    (rc = vl_record_build(g->s.c->st, &g->s.schema, r, len, sm->vectors + node * dim,
	                          &g->rb, &g->buf, &g->cap)))
		return rc;
	*rec = g->buf;
	return VL_OK;
}

void vl_graph_close(vl_graph *g)
{
	if (!g)
		return;
	vl_snap_end(&g->s);
	free(g->buf);
	vl_rowbuf_free(&g->rb);
	free(g);
}
