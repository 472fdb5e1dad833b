/* rdb_value.c - the value of each RDB object type, read or skipped. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "intset.h"
#include "listpack.h"
#include "rdb_int.h"
#include "vl_bytes.h"
#include "ziplist.h"
#include "zipmap.h"

/* Object types (RDB_TYPE_* numbers are fixed forever). */
enum {
	T_STRING = 0, T_LIST = 1, T_SET = 2, T_ZSET = 3, T_HASH = 4, T_ZSET_2 = 5,
	T_MODULE_PRE_GA = 6, T_MODULE_2 = 7, T_HASH_ZIPMAP = 9, T_LIST_ZIPLIST = 10,
	T_SET_INTSET = 11, T_ZSET_ZIPLIST = 12, T_HASH_ZIPLIST = 13, T_LIST_QUICKLIST = 14,
	T_STREAM_LISTPACKS = 15, T_HASH_LISTPACK = 16, T_ZSET_LISTPACK = 17,
	T_LIST_QUICKLIST_2 = 18, T_STREAM_LISTPACKS_2 = 19, T_SET_LISTPACK = 20,
	T_STREAM_LISTPACKS_3 = 21, T_HASH_METADATA_PRE_GA = 22, T_HASH_LISTPACK_EX_PRE_GA = 23,
	T_HASH_METADATA = 24, T_HASH_LISTPACK_EX = 25, T_COUNT = 26
};

static const struct {
	int8_t kind;            /* -1 = not a type */
	const char *encoding;
} types[T_COUNT] = {
	[T_STRING] = { VL_RDB_KIND_STRING, "string" },
	[T_LIST] = { VL_RDB_KIND_LIST, "linkedlist" },
	[T_SET] = { VL_RDB_KIND_SET, "hashtable" },
	[T_ZSET] = { VL_RDB_KIND_ZSET, "skiplist-text-scores" },
	[T_HASH] = { VL_RDB_KIND_HASH, "hashtable" },
	[T_ZSET_2] = { VL_RDB_KIND_ZSET, "skiplist" },
	[T_MODULE_PRE_GA] = { VL_RDB_KIND_MODULE, "module-pre-ga" },
	[T_MODULE_2] = { VL_RDB_KIND_MODULE, "module" },
	[8] = { -1, NULL },
	[T_HASH_ZIPMAP] = { VL_RDB_KIND_HASH, "zipmap" },
	[T_LIST_ZIPLIST] = { VL_RDB_KIND_LIST, "ziplist" },
	[T_SET_INTSET] = { VL_RDB_KIND_SET, "intset" },
	[T_ZSET_ZIPLIST] = { VL_RDB_KIND_ZSET, "ziplist" },
	[T_HASH_ZIPLIST] = { VL_RDB_KIND_HASH, "ziplist" },
	[T_LIST_QUICKLIST] = { VL_RDB_KIND_LIST, "quicklist" },
	[T_STREAM_LISTPACKS] = { VL_RDB_KIND_STREAM, "listpacks" },
	[T_HASH_LISTPACK] = { VL_RDB_KIND_HASH, "listpack" },
	[T_ZSET_LISTPACK] = { VL_RDB_KIND_ZSET, "listpack" },
	[T_LIST_QUICKLIST_2] = { VL_RDB_KIND_LIST, "quicklist2" },
	[T_STREAM_LISTPACKS_2] = { VL_RDB_KIND_STREAM, "listpacks2" },
	[T_SET_LISTPACK] = { VL_RDB_KIND_SET, "listpack" },
	[T_STREAM_LISTPACKS_3] = { VL_RDB_KIND_STREAM, "listpacks3" },
	[T_HASH_METADATA_PRE_GA] = { VL_RDB_KIND_HASH, "hashtable-ttl-pre-ga" },
	[T_HASH_LISTPACK_EX_PRE_GA] = { VL_RDB_KIND_HASH, "listpack-ttl-pre-ga" },
	[T_HASH_METADATA] = { VL_RDB_KIND_HASH, "hashtable-ttl" },
	[T_HASH_LISTPACK_EX] = { VL_RDB_KIND_HASH, "listpack-ttl" },
};

int rdb_type_known(int type, vl_rdb_kind *kind, const char **encoding)
{
	if (type < 0 || type >= T_COUNT || types[type].encoding == NULL)
		return 0;
	*kind = (vl_rdb_kind)types[type].kind;
	*encoding = types[type].encoding;
	return 1;
}

int rdb_emit(rdb_parser *p, const vl_rdb_elem *e)
{
	size_t m = e->a_len > e->b_len ? e->a_len : e->b_len;
	if (m > p->info.max_elem_len)
		p->info.max_elem_len = m;
	if (!p->h->elem)
		return 0;
	int rc = p->h->elem(p->ud, &p->key, e);
	return rc < 0 ? rdb_consumer_error(p, rc, "elem") : 0;
}

static void elem_init(vl_rdb_elem *e, uint64_t index)
{
	memset(e, 0, sizeof *e);
	e->expire_ms = VL_RDB_NO_EXPIRE;
	e->index = index;
}

/* ---------------------------------------------------------------- */
/* Values made of separate RDB strings                                */
/* ---------------------------------------------------------------- */

static int value_string(rdb_parser *p, int want)
{
	p->info.elems = 1;
	if (!want)
		return rdb_skip_string(p, "string value");
	int rc = rdb_string(p, &p->a, "string value");
	if (rc < 0)
		return rc;
	vl_rdb_elem e;
	elem_init(&e, 0);
	e.a = p->a.p;
	e.a_len = p->a.len;
	return rdb_emit(p, &e);
}

/* Lists and sets of type 1/2: a count, then that many strings. */
static int value_members(rdb_parser *p, int want)
{
	uint64_t n;
	int rc = rdb_plain_len(p, &n, "element count");
	if (rc < 0)
		return rc;
	p->info.elems = n;
	for (uint64_t i = 0; i < n; i++) {
		if (!want) {
			if ((rc = rdb_skip_string(p, "member")) < 0)
				return rc;
			continue;
		}
		if ((rc = rdb_string(p, &p->a, "member")) < 0)
			return rc;
		vl_rdb_elem e;
		elem_init(&e, i);
		e.a = p->a.p;
		e.a_len = p->a.len;
		if ((rc = rdb_emit(p, &e)) < 0)
			return rc;
	}
	return 0;
}

/* Parse a score given as text (zset type 3, ziplist/listpack zsets). */
static int parse_score(rdb_parser *p, const uint8_t *s, size_t n, double *out, uint64_t at)
{
	char tmp[128];
	if (n == 0 || n >= sizeof tmp)
		return vl_diag_set(p->d, VL_EFORMAT, at, "zset score of %zu characters is not a number", n);
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *end;
	*out = strtod(tmp, &end);
	if (end != tmp + n)
		return vl_diag_set(p->d, VL_EFORMAT, at, "zset score \"%s\" is not a number", tmp);
	return 0;
}

/* Type 3 score: 1 byte n, then n ASCII bytes; 253/254/255 = nan/+inf/-inf. */
static int text_score(rdb_parser *p, double *out, int want)
{
	rdb_src *s = &p->src;
	const uint64_t at = src_off(s);
	uint8_t n;
	int rc = src_u8(s, &n, "zset score", p->d);
	if (rc < 0)
		return rc;
	if (n >= 253) {
		*out = n == 253 ? NAN : n == 254 ? INFINITY : -INFINITY;
		return 0;
	}
	if ((rc = src_need(s, n, "zset score", p->d)) < 0)
		return rc;
	const uint8_t *q = s->win + s->pos;
	s->pos += n;
	return want ? parse_score(p, q, n, out, at) : 0;
}

static int value_zset(rdb_parser *p, int want, int binary)
{
	uint64_t n;
	int rc = rdb_plain_len(p, &n, "zset size");
	if (rc < 0)
		return rc;
	p->info.elems = n;
	for (uint64_t i = 0; i < n; i++) {
		vl_rdb_elem e;
		elem_init(&e, i);
		rc = want ? rdb_string(p, &p->a, "zset member") : rdb_skip_string(p, "zset member");
		if (rc < 0)
			return rc;
		if (binary) {
			uint64_t bits;
			if ((rc = rdb_u64le(p, &bits, "zset score")) < 0)
				return rc;
			memcpy(&e.score, &bits, 8);
		} else if ((rc = text_score(p, &e.score, want)) < 0) {
			return rc;
		}
		if (!want)
			continue;
		e.a = p->a.p;
		e.a_len = p->a.len;
		if ((rc = rdb_emit(p, &e)) < 0)
			return rc;
	}
	return 0;
}

/* Hashes of type 4 (pairs) and 22/24 (TTL, pair). */
static int value_hash(rdb_parser *p, int want, int type)
{
	uint64_t n, min_expire = 0;
	int rc = 0;
	if (type == T_HASH_METADATA)
		rc = rdb_u64le(p, &min_expire, "hash minimum field expire");
	if (rc == 0)
		rc = rdb_plain_len(p, &n, "hash size");
	if (rc < 0)
		return rc;
	p->info.elems = n;
	for (uint64_t i = 0; i < n; i++) {
		vl_rdb_elem e;
		elem_init(&e, i);
		if (type != T_HASH) {
			uint64_t ttl;
			if ((rc = rdb_plain_len(p, &ttl, "hash field TTL")) < 0)
				return rc;
			/* 24: relative to minExpire, +1 so that 0 can mean "none". */
			if (ttl != 0)
				e.expire_ms = (int64_t)(type == T_HASH_METADATA ? ttl + min_expire - 1 : ttl);
		}
		if (!want) {
			if ((rc = rdb_skip_string(p, "hash field")) < 0 ||
			    (rc = rdb_skip_string(p, "hash value")) < 0)
				return rc;
			continue;
		}
		if ((rc = rdb_string(p, &p->a, "hash field")) < 0 ||
		    (rc = rdb_string(p, &p->b, "hash value")) < 0)
			return rc;
		e.a = p->a.p;
		e.a_len = p->a.len;
		e.b = p->b.p;
		e.b_len = p->b.len;
		if ((rc = rdb_emit(p, &e)) < 0)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* Values stored as one container blob (listpack, ziplist, ...)       */
/* ---------------------------------------------------------------- */

enum { BLOB_LISTPACK, BLOB_ZIPLIST, BLOB_ZIPMAP, BLOB_INTSET };

static const char *const blob_names[] = { "listpack", "ziplist", "zipmap", "intset" };

/* One iterator over any container, yielding elements in order (a zipmap
 * yields field, value, field, value, ...). */
typedef struct blob_iter {
	int kind;
	vl_lp_iter lp;
	vl_zl_iter zl;
	vl_zm_iter zm;
	vl_is_iter is;
	vl_rdb_item pending;
	int has_pending;
} blob_iter;

static int bi_open(blob_iter *bi, int kind, const uint8_t *buf, size_t len, vl_diag *d)
{
	bi->kind = kind;
	bi->has_pending = 0;
	switch (kind) {
	case BLOB_LISTPACK:
		return vl_lp_open(&bi->lp, buf, len, 0, d);
	case BLOB_ZIPLIST:
		return vl_zl_open(&bi->zl, buf, len, 0, d);
	case BLOB_ZIPMAP:
		return vl_zm_open(&bi->zm, buf, len, 0, d);
	default:
		return vl_is_open(&bi->is, buf, len, 0, d);
	}
}

static int bi_next(blob_iter *bi, vl_rdb_item *out, vl_diag *d)
{
	switch (bi->kind) {
	case BLOB_LISTPACK:
		return vl_lp_next(&bi->lp, out, d);
	case BLOB_ZIPLIST:
		return vl_zl_next(&bi->zl, out, d);
	case BLOB_ZIPMAP:
		if (bi->has_pending) {
			*out = bi->pending;
			bi->has_pending = 0;
			return 1;
		}
		{
			int rc = vl_zm_next(&bi->zm, out, &bi->pending, d);
			bi->has_pending = rc > 0;
			return rc;
		}
	default:
		return vl_is_next(&bi->is, out);
	}
}

/* Read a container blob into p->blob and validate every element; *count
 * receives the number of elements. Errors name the file offset of the blob. */
static int blob_load(rdb_parser *p, int kind, uint64_t *count, uint64_t *at)
{
	*at = src_off(&p->src);
	int rc = rdb_string(p, &p->blob, blob_names[kind]);
	if (rc < 0)
		return rc;
	blob_iter bi;
	vl_rdb_item it;
	uint64_t n = 0;
	if ((rc = bi_open(&bi, kind, p->blob.p, p->blob.len, p->d)) == 0) {
		while ((rc = bi_next(&bi, &it, p->d)) > 0)
			n++;
	}
	if (rc < 0) {
		vl_diag_prefix(p->d, "%s stored at file offset %" PRIu64 " (offsets are within the decoded %zu-byte blob)",
		               blob_names[kind], *at, p->blob.len);
		if (p->d)
			p->d->offset = *at;
		return rc;
	}
	*count = n;
	return 0;
}

static int item_score(rdb_parser *p, const vl_rdb_item *it, double *out, uint64_t at)
{
	if (it->is_int) {
		*out = (double)it->ival;
		return 0;
	}
	return parse_score(p, it->s, it->len, out, at);
}

/* Emit the elements of a validated blob in groups of `group` items:
 * 1 = member, 2 = field/value or member/score, 3 = field/value/TTL. */
static int blob_emit(rdb_parser *p, int kind, int group, vl_rdb_kind vk, uint64_t first,
                     uint64_t at)
{
	blob_iter bi;
	vl_rdb_item it[3];
	int rc = bi_open(&bi, kind, p->blob.p, p->blob.len, p->d);
	uint64_t idx = first;
	while (rc == 0) {
		int k;
		for (k = 0; k < group; k++) {
			rc = bi_next(&bi, &it[k], p->d);
			if (rc <= 0)
				break;
		}
		if (rc < 0)
			return rc;
		if (k == 0)
			return 0;
		if (k < group)
			return vl_diag_set(p->d, VL_EFORMAT, at,
			                   "%s stored at file offset %" PRIu64
			                   " has an element count that is not a multiple of %d",
			                   blob_names[kind], at, group);
		vl_rdb_elem e;
		elem_init(&e, idx++);
		e.a = vl_rdb_item_ptr(&it[0]);
		e.a_len = it[0].len;
		if (group >= 2 && vk == VL_RDB_KIND_ZSET) {
			if ((rc = item_score(p, &it[1], &e.score, at)) < 0)
				return rc;
		} else if (group >= 2) {
			e.b = vl_rdb_item_ptr(&it[1]);
			e.b_len = it[1].len;
		}
		if (group == 3) {
			if (!it[2].is_int)
				return vl_diag_set(p->d, VL_EFORMAT, at,
				                   "hash field TTL in the listpack at file offset %" PRIu64
				                   " is not an integer",
				                   at);
			if (it[2].ival != 0)
				e.expire_ms = it[2].ival;
		}
		rc = rdb_emit(p, &e);
	}
	return rc;
}

static int value_blob(rdb_parser *p, int want, int type)
{
	int kind = BLOB_LISTPACK, group = 1;
	const vl_rdb_kind vk = p->key.kind;
	switch (type) {
	case T_HASH_ZIPMAP:
		kind = BLOB_ZIPMAP;
		group = 2;
		break;
	case T_LIST_ZIPLIST:
		kind = BLOB_ZIPLIST;
		break;
	case T_SET_INTSET:
		kind = BLOB_INTSET;
		break;
	case T_ZSET_ZIPLIST:
	case T_HASH_ZIPLIST:
		kind = BLOB_ZIPLIST;
		group = 2;
		break;
	case T_HASH_LISTPACK:
	case T_ZSET_LISTPACK:
		group = 2;
		break;
	case T_HASH_LISTPACK_EX:
	case T_HASH_LISTPACK_EX_PRE_GA:
		group = 3;
		break;
	default:
		break;
	}
	int rc;
	if (type == T_HASH_LISTPACK_EX) {
		uint64_t min_expire; /* informational only */
		if ((rc = rdb_u64le(p, &min_expire, "hash minimum field expire")) < 0)
			return rc;
	}
	if (!want)
		return rdb_skip_string(p, blob_names[kind]);
	uint64_t n, at;
	if ((rc = blob_load(p, kind, &n, &at)) < 0)
		return rc;
	if (n % (uint64_t)group)
		return vl_diag_set(p->d, VL_EFORMAT, at,
		                   "%s stored at file offset %" PRIu64 " holds %" PRIu64
		                   " elements, not a multiple of %d",
		                   blob_names[kind], at, n, group);
	p->info.elems = n / (uint64_t)group;
	return blob_emit(p, kind, group, vk, 0, at);
}

/* Lists of type 14 (ziplist nodes) and 18 (PLAIN or PACKED listpack nodes). */
static int value_quicklist(rdb_parser *p, int want, int type)
{
	uint64_t nodes;
	int rc = rdb_plain_len(p, &nodes, "quicklist node count");
	if (rc < 0)
		return rc;
	for (uint64_t i = 0; i < nodes; i++) {
		uint64_t container = 2;
		const uint64_t cat = src_off(&p->src);
		if (type == T_LIST_QUICKLIST_2 &&
		    (rc = rdb_plain_len(p, &container, "quicklist node container")) < 0)
			return rc;
		if (container != 1 && container != 2)
			return vl_diag_set(p->d, VL_EFORMAT, cat,
			                   "quicklist node container %" PRIu64 " is neither 1 (plain) nor 2 (packed)",
			                   container);
		if (!want) {
			if ((rc = rdb_skip_string(p, "quicklist node")) < 0)
				return rc;
			continue;
		}
		if (container == 1) {
			if ((rc = rdb_string(p, &p->a, "quicklist plain node")) < 0)
				return rc;
			vl_rdb_elem e;
			elem_init(&e, p->info.elems++);
			e.a = p->a.p;
			e.a_len = p->a.len;
			if ((rc = rdb_emit(p, &e)) < 0)
				return rc;
			continue;
		}
		const int kind = type == T_LIST_QUICKLIST ? BLOB_ZIPLIST : BLOB_LISTPACK;
		uint64_t n, at;
		if ((rc = blob_load(p, kind, &n, &at)) < 0 ||
		    (rc = blob_emit(p, kind, 1, VL_RDB_KIND_LIST, p->info.elems, at)) < 0)
			return rc;
		p->info.elems += n;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* Streams: walked for their summary; node listpacks are skipped.     */
/* ---------------------------------------------------------------- */

static int skip_lens(rdb_parser *p, int n, const char *what)
{
	uint64_t v;
	for (int i = 0; i < n; i++) {
		int rc = rdb_plain_len(p, &v, what);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A pending-entries list: n x (16-byte ID [, 8-byte delivery ms, len count]). */
static int stream_pel(rdb_parser *p, int with_nack, uint64_t *count)
{
	uint64_t n;
	int rc = rdb_plain_len(p, &n, "stream PEL size");
	if (rc < 0)
		return rc;
	*count += n;
	for (uint64_t i = 0; i < n; i++) {
		if ((rc = src_skip(&p->src, with_nack ? 24 : 16, "stream PEL entry", p->d)) < 0)
			return rc;
		if (with_nack && (rc = skip_lens(p, 1, "stream PEL delivery count")) < 0)
			return rc;
	}
	return 0;
}

static int stream_groups(rdb_parser *p, int type)
{
	uint64_t ngroups;
	int rc = rdb_plain_len(p, &ngroups, "stream consumer group count");
	if (rc < 0)
		return rc;
	p->info.stream_groups = ngroups;
	for (uint64_t g = 0; g < ngroups; g++) {
		uint64_t ncons;
		if ((rc = rdb_skip_string(p, "consumer group name")) < 0 ||
		    (rc = skip_lens(p, type >= T_STREAM_LISTPACKS_2 ? 3 : 2, "consumer group ids")) < 0 ||
		    (rc = stream_pel(p, 1, &p->info.stream_pending)) < 0 ||
		    (rc = rdb_plain_len(p, &ncons, "stream consumer count")) < 0)
			return rc;
		p->info.stream_consumers += ncons;
		for (uint64_t c = 0; c < ncons; c++) {
			uint64_t ignored = 0;
			const int times = type >= T_STREAM_LISTPACKS_3 ? 16 : 8;
			if ((rc = rdb_skip_string(p, "consumer name")) < 0 ||
			    (rc = src_skip(&p->src, (uint64_t)times, "consumer times", p->d)) < 0 ||
			    (rc = stream_pel(p, 0, &ignored)) < 0)
				return rc;
		}
	}
	return 0;
}

static int value_stream(rdb_parser *p, int type)
{
	uint64_t nodes, length;
	int rc = rdb_plain_len(p, &nodes, "stream listpack count");
	if (rc < 0)
		return rc;
	p->info.stream_nodes = nodes;
	for (uint64_t i = 0; i < nodes; i++) {
		const uint64_t at = src_off(&p->src);
		if ((rc = rdb_string(p, &p->a, "stream node key")) < 0)
			return rc;
		if (p->a.len != 16)
			return vl_diag_set(p->d, VL_EFORMAT, at, "stream node key of %zu bytes (want 16)",
			                   p->a.len);
		if ((rc = rdb_skip_string(p, "stream node listpack")) < 0)
			return rc;
	}
	if ((rc = rdb_plain_len(p, &length, "stream length")) < 0 ||
	    (rc = skip_lens(p, type >= T_STREAM_LISTPACKS_2 ? 7 : 2, "stream ids")) < 0)
		return rc;
	p->info.elems = length;
	return stream_groups(p, type);
}

/* ---------------------------------------------------------------- */

static int value_module(rdb_parser *p, int want)
{
	int rc = rdb_plain_len(p, &p->info.module_id, "module type id");
	if (rc < 0)
		return rc;
	vl_rdb_module_name(p->info.module_id, p->info.module_name, &p->info.module_encver);
	return rdb_module_items(p, want, NULL, &p->info.elems);
}

int rdb_read_value(rdb_parser *p, int want)
{
	const int type = p->key.type;
	switch (type) {
	case T_STRING:
		return value_string(p, want);
	case T_LIST:
	case T_SET:
		return value_members(p, want);
	case T_ZSET:
	case T_ZSET_2:
		return value_zset(p, want, type == T_ZSET_2);
	case T_HASH:
	case T_HASH_METADATA_PRE_GA:
	case T_HASH_METADATA:
		return value_hash(p, want, type);
	case T_LIST_QUICKLIST:
	case T_LIST_QUICKLIST_2:
		return value_quicklist(p, want, type);
	case T_STREAM_LISTPACKS:
	case T_STREAM_LISTPACKS_2:
	case T_STREAM_LISTPACKS_3:
		return value_stream(p, type);
	case T_MODULE_2:
		return value_module(p, want);
	default:
		return value_blob(p, want, type);
	}
}
