/* rdb_module.c - module type ids and the module opcode walker. */
#include <inttypes.h>
#include <string.h>

#include "rdb_int.h"
#include "vl_bytes.h"

static const char charset[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void vl_rdb_module_name(uint64_t id, char name[10], unsigned *encver)
{
	if (encver)
		*encver = (unsigned)(id & 1023);
	uint64_t v = id >> 10;
	for (int i = 8; i >= 0; i--) {
		name[i] = charset[v & 63];
		v >>= 6;
	}
	name[9] = 0;
}

int vl_rdb_module_id(const char *name, unsigned encver, uint64_t *id)
{
	if (strlen(name) != 9 || encver > 1023)
		return VL_EINVAL;
	uint64_t v = 0;
	for (int i = 0; i < 9; i++) {
		const char *c = name[i] ? strchr(charset, name[i]) : NULL;
		if (!c)
			return VL_EINVAL;
		v = v << 6 | (uint64_t)(c - charset);
	}
	*id = v << 10 | encver;
	return 0;
}

/* Module opcodes inside module values and MODULE_AUX payloads. */
enum { MOP_EOF = 0, MOP_SINT = 1, MOP_UINT = 2, MOP_FLOAT = 3, MOP_DOUBLE = 4, MOP_STRING = 5 };

static int deliver(rdb_parser *p, vl_rdb_module_aux *aux, const vl_rdb_elem *e)
{
	if (!aux)
		return rdb_emit(p, e);
	if (!p->h->module_aux_item)
		return 0;
	int rc = p->h->module_aux_item(p->ud, aux, e);
	return rc < 0 ? rdb_consumer_error(p, rc, "module_aux_item") : 0;
}

int rdb_module_items(rdb_parser *p, int want, vl_rdb_module_aux *aux, uint64_t *items)
{
	uint64_t n = 0;
	for (;;) {
		const uint64_t at = src_off(&p->src);
		uint64_t op, u;
		int rc = rdb_plain_len(p, &op, "module opcode");
		if (rc < 0)
			return rc;
		if (op == MOP_EOF)
			break;
		vl_rdb_elem e;
		memset(&e, 0, sizeof e);
		e.expire_ms = VL_RDB_NO_EXPIRE;
		e.index = n;
		e.module_op = (int)op;
		switch (op) {
		case MOP_SINT:
		case MOP_UINT:
			rc = rdb_plain_len(p, &u, "module integer");
			e.ival = (int64_t)u;
			break;
		case MOP_FLOAT:
			if ((rc = src_need(&p->src, 4, "module float", p->d)) == 0) {
				e.score = vl_ldf32(p->src.win + p->src.pos);
				p->src.pos += 4;
			}
			break;
		case MOP_DOUBLE:
			if ((rc = rdb_u64le(p, &u, "module double")) == 0)
				memcpy(&e.score, &u, 8);
			break;
		case MOP_STRING:
			if (!want) {
				rc = rdb_skip_string(p, "module string");
				break;
			}
			if ((rc = rdb_string(p, &p->a, "module string")) == 0) {
				e.a = p->a.p;
				e.a_len = p->a.len;
			}
			break;
		default:
			return vl_diag_set(p->d, VL_EFORMAT, at, "unknown module opcode %" PRIu64, op);
		}
		if (rc < 0)
			return rc;
		n++;
		if (want && (rc = deliver(p, aux, &e)) < 0)
			return rc;
	}
	if (items)
		*items = n;
	return 0;
}
