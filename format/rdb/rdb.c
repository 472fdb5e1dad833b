/* rdb.c - RDB header, opcodes, lengths and strings; the record loop. */
#include <inttypes.h>
#include <string.h>

#include "lzf.h"
#include "rdb_int.h"
#include "vl_bytes.h"

/* Opcodes (one byte where an object type is expected). */
enum {
	OP_KEY_META = 0xf3,     /* RDB 13 */
	OP_SLOT_INFO = 0xf4,
	OP_FUNCTION2 = 0xf5,
	OP_FUNCTION_PRE_GA = 0xf6,
	OP_MODULE_AUX = 0xf7,
	OP_IDLE = 0xf8,
	OP_FREQ = 0xf9,
	OP_AUX = 0xfa,
	OP_RESIZEDB = 0xfb,
	OP_EXPIRETIME_MS = 0xfc,
	OP_EXPIRETIME = 0xfd,
	OP_SELECTDB = 0xfe,
	OP_EOF = 0xff
};

/* Special string encodings (low 6 bits of a 11xxxxxx length byte). */
enum { ENC_INT8 = 0, ENC_INT16 = 1, ENC_INT32 = 2, ENC_LZF = 3 };

#define DEFAULT_WINDOW (1u << 20)
#define MIN_WINDOW 4096u
#define DEFAULT_MAX_VALUE ((size_t)512 << 20)

const char *vl_rdb_kind_name(vl_rdb_kind k)
{
	static const char *const names[VL_RDB_KIND_COUNT] = { "string", "list", "set", "zset",
		                                              "hash", "stream", "module" };
	return (unsigned)k < VL_RDB_KIND_COUNT ? names[k] : "?";
}

const char *vl_rdb_checksum_name(vl_rdb_checksum c)
{
	switch (c) {
	case VL_RDB_CRC_NONE:
		return "absent (RDB version < 5)";
	case VL_RDB_CRC_DISABLED:
		return "disabled (zero trailer)";
	case VL_RDB_CRC_OK:
		return "verified";
	case VL_RDB_CRC_MISMATCH:
		return "MISMATCH (ignored)";
	}
	return "?";
}

int rdb_len(rdb_parser *p, uint64_t *out, int *encoded, const char *what)
{
	rdb_src *s = &p->src;
	const uint64_t at = src_off(s);
	uint8_t b;
	int rc = src_u8(s, &b, what, p->d);
	if (rc < 0)
		return rc;
	*encoded = 0;
	switch (b >> 6) {
	case 0:
		*out = b & 0x3f;
		return 0;
	case 1:
		if ((rc = src_need(s, 1, what, p->d)) < 0)
			return rc;
		*out = ((uint64_t)(b & 0x3f) << 8) | s->win[s->pos++];
		return 0;
	case 2:
		/* Before RDB 8 every 10xxxxxx byte meant a 32-bit length. */
		if (b == 0x80 || p->version < 8) {
			if ((rc = src_need(s, 4, what, p->d)) < 0)
				return rc;
			*out = vl_ld32be(s->win + s->pos);
			s->pos += 4;
			return 0;
		}
		if (b == 0x81) {
			if ((rc = src_need(s, 8, what, p->d)) < 0)
				return rc;
			*out = vl_ld64be(s->win + s->pos);
			s->pos += 8;
			return 0;
		}
		return vl_diag_set(p->d, VL_EFORMAT, at, "invalid length byte 0x%02x in %s", b, what);
	default:
		*encoded = RDB_LEN_ENCODED;
		*out = b & 0x3f;
		return 0;
	}
}

int rdb_plain_len(rdb_parser *p, uint64_t *out, const char *what)
{
	const uint64_t at = src_off(&p->src);
	int enc;
	int rc = rdb_len(p, out, &enc, what);
	if (rc == 0 && enc)
		return vl_diag_set(p->d, VL_EFORMAT, at,
		                   "string encoding byte where %s (a length) is expected", what);
	return rc;
}

int rdb_u64le(rdb_parser *p, uint64_t *out, const char *what)
{
	int rc = src_need(&p->src, 8, what, p->d);
	if (rc < 0)
		return rc;
	*out = vl_ld64(p->src.win + p->src.pos);
	p->src.pos += 8;
	return 0;
}

static int too_big(rdb_parser *p, uint64_t at, uint64_t n, const char *what)
{
	return vl_diag_set(p->d, VL_ELIMIT, at,
	                   "%s of %" PRIu64 " bytes exceeds the reader's limit of %zu bytes (max_value)",
	                   what, n, p->max_value);
}

/* Copy n bytes from the file into buf, growing it only as bytes arrive so a
 * lying length in a truncated file never causes a large allocation. */
static int read_grow(rdb_parser *p, rdb_buf *buf, size_t n, const char *what)
{
	buf->len = 0;
	if (n <= p->src.cap) {
		int rc = src_need(&p->src, n, what, p->d);
		if (rc == 0)
			rc = rdb_buf_reserve(buf, n, p->d);
		if (rc < 0)
			return rc;
		if (n)
			memcpy(buf->p, p->src.win + p->src.pos, n);
		p->src.pos += n;
		buf->len = n;
		return 0;
	}
	while (buf->len < n) {
		size_t step = buf->len > p->src.cap ? buf->len : p->src.cap;
		if (step > n - buf->len)
			step = n - buf->len;
		int rc = rdb_buf_reserve(buf, buf->len + step, p->d);
		if (rc == 0)
			rc = src_copy(&p->src, buf->p + buf->len, step, what, p->d);
		if (rc < 0)
			return rc;
		buf->len += step;
	}
	return 0;
}

static int int_string(rdb_parser *p, rdb_buf *buf, unsigned width, const char *what)
{
	int rc = src_need(&p->src, width, what, p->d);
	if (rc == 0)
		rc = rdb_buf_reserve(buf, 24, p->d);
	if (rc < 0)
		return rc;
	const uint8_t *q = p->src.win + p->src.pos;
	int64_t v = width == 1 ? (int8_t)q[0] : width == 2 ? (int16_t)vl_ld16(q) : (int32_t)vl_ld32(q);
	p->src.pos += width;
	buf->len = (size_t)snprintf((char *)buf->p, 24, "%" PRId64, v);
	return 0;
}

static int lzf_string(rdb_parser *p, rdb_buf *buf, uint64_t at, const char *what)
{
	uint64_t clen, ulen;
	int rc = rdb_plain_len(p, &clen, what);
	if (rc == 0)
		rc = rdb_plain_len(p, &ulen, what);
	if (rc < 0)
		return rc;
	if (ulen > p->max_value)
		return too_big(p, at, ulen, what);
	if (clen > p->max_value)
		return too_big(p, at, clen, what);
	if (clen == 0 || ulen > clen * VL_LZF_MAX_RATIO)
		return vl_diag_set(p->d, VL_EFORMAT, at,
		                   "LZF %s claims %" PRIu64 " bytes from %" PRIu64
		                   " compressed bytes, which LZF cannot produce",
		                   what, ulen, clen);
	const uint64_t data_at = src_off(&p->src);
	const uint8_t *in;
	if (clen <= p->src.cap) {
		if ((rc = src_need(&p->src, (size_t)clen, what, p->d)) < 0)
			return rc;
		in = p->src.win + p->src.pos;
		p->src.pos += (size_t)clen;
	} else {
		if ((rc = read_grow(p, &p->lzf, (size_t)clen, what)) < 0)
			return rc;
		in = p->lzf.p;
	}
	if ((rc = rdb_buf_reserve(buf, (size_t)ulen + VL_LZF_SLACK, p->d)) < 0)
		return rc;
	if ((rc = vl_lzf_decompress_fast(in, (size_t)clen, buf->p, (size_t)ulen, data_at, p->d)) < 0) {
		vl_diag_prefix(p->d, "%s", what);
		return rc;
	}
	buf->len = (size_t)ulen;
	p->lzf_strings++;
	return 0;
}

int rdb_string(rdb_parser *p, rdb_buf *buf, const char *what)
{
	const uint64_t at = src_off(&p->src);
	uint64_t n;
	int enc;
	int rc = rdb_len(p, &n, &enc, what);
	if (rc < 0)
		return rc;
	if (!enc) {
		if (n > p->max_value)
			return too_big(p, at, n, what);
		return read_grow(p, buf, (size_t)n, what);
	}
	switch (n) {
	case ENC_INT8:
		return int_string(p, buf, 1, what);
	case ENC_INT16:
		return int_string(p, buf, 2, what);
	case ENC_INT32:
		return int_string(p, buf, 4, what);
	case ENC_LZF:
		return lzf_string(p, buf, at, what);
	default:
		return vl_diag_set(p->d, VL_EFORMAT, at, "unknown string encoding %" PRIu64 " in %s", n,
		                   what);
	}
}

int rdb_skip_string(rdb_parser *p, const char *what)
{
	const uint64_t at = src_off(&p->src);
	uint64_t n, clen, ulen;
	int enc;
	int rc = rdb_len(p, &n, &enc, what);
	if (rc < 0)
		return rc;
	if (!enc)
		return src_skip(&p->src, n, what, p->d);
	switch (n) {
	case ENC_INT8:
		return src_skip(&p->src, 1, what, p->d);
	case ENC_INT16:
		return src_skip(&p->src, 2, what, p->d);
	case ENC_INT32:
		return src_skip(&p->src, 4, what, p->d);
	case ENC_LZF:
		if ((rc = rdb_plain_len(p, &clen, what)) < 0 || (rc = rdb_plain_len(p, &ulen, what)) < 0)
			return rc;
		return src_skip(&p->src, clen, what, p->d);
	default:
		return vl_diag_set(p->d, VL_EFORMAT, at, "unknown string encoding %" PRIu64 " in %s", n,
		                   what);
	}
}

int rdb_consumer_error(rdb_parser *p, int rc, const char *event)
{
	if (p->d && p->d->code == rc)
		return rc; /* the consumer explained itself */
	return vl_diag_set(p->d, rc, src_off(&p->src), "stopped by the consumer (code %d) in its %s handler",
	                   rc, event);
}

/* ---------------------------------------------------------------- */
/* Record loop                                                        */
/* ---------------------------------------------------------------- */

static int parse_header(rdb_parser *p)
{
	rdb_src *s = &p->src;
	int rc = src_need(s, 9, "the RDB header", p->d);
	if (rc < 0) {
		if (rc == VL_EFORMAT)
			return vl_diag_set(p->d, VL_EFORMAT, 0,
			                   "not an RDB file: %llu bytes is shorter than the 9-byte header",
			                   (unsigned long long)(s->end));
		return rc;
	}
	const uint8_t *h = s->win;
	if (memcmp(h, "REDIS", 5) != 0)
		return vl_diag_set(p->d, VL_EFORMAT, 0,
		                   "not an RDB file: bad magic %02x %02x %02x %02x %02x (want \"REDIS\")",
		                   h[0], h[1], h[2], h[3], h[4]);
	int v = 0;
	for (int i = 5; i < 9; i++) {
		if (h[i] < '0' || h[i] > '9')
			return vl_diag_set(p->d, VL_EFORMAT, (uint64_t)i,
			                   "not an RDB file: version digit 0x%02x is not 0-9", h[i]);
		v = v * 10 + (h[i] - '0');
	}
	s->pos = 9;
	p->version = v;
	if (v < 1)
		return vl_diag_set(p->d, VL_EVERSION, 5, "RDB version %d is not valid", v);
	if (v > VL_RDB_VERSION_MAX && (p->flags & VL_RDB_STRICT_VERSION))
		return vl_diag_set(p->d, VL_EVERSION, 5,
		                   "RDB version %d is newer than this reader's %d (strict mode)", v,
		                   VL_RDB_VERSION_MAX);
	return 0;
}

static int op_aux(rdb_parser *p)
{
	int rc = rdb_string(p, &p->a, "AUX field name");
	if (rc == 0)
		rc = rdb_string(p, &p->b, "AUX field value");
	if (rc < 0)
		return rc;
	if (p->h->aux && (rc = p->h->aux(p->ud, p->a.p, p->a.len, p->b.p, p->b.len)) < 0)
		return rdb_consumer_error(p, rc, "aux");
	return 0;
}

static int op_selectdb(rdb_parser *p)
{
	int rc = rdb_plain_len(p, &p->db, "SELECTDB number");
	if (rc < 0)
		return rc;
	if (p->h->db && (rc = p->h->db(p->ud, p->db)) < 0)
		return rdb_consumer_error(p, rc, "db");
	return 0;
}

static int op_lens(rdb_parser *p, uint64_t *v, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		int rc = rdb_plain_len(p, &v[i], what);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int op_module_aux(rdb_parser *p, uint64_t at)
{
	vl_rdb_module_aux m;
	memset(&m, 0, sizeof m);
	m.offset = at;
	uint64_t when_op;
	int rc = rdb_plain_len(p, &m.module_id, "MODULE_AUX module id");
	if (rc == 0)
		rc = rdb_plain_len(p, &when_op, "MODULE_AUX when-opcode");
	if (rc == 0)
		rc = rdb_plain_len(p, &m.when, "MODULE_AUX when");
	if (rc < 0)
		return rc;
	vl_rdb_module_name(m.module_id, m.module_name, &m.module_encver);
	if (when_op != 2)
		return vl_diag_set(p->d, VL_EFORMAT, at,
		                   "MODULE_AUX of module '%s' has when-opcode %" PRIu64 " (want 2, UINT)",
		                   m.module_name, when_op);
	int want = VL_RDB_SKIP;
	if (p->h->module_aux_begin && (want = p->h->module_aux_begin(p->ud, &m)) < 0)
		return rdb_consumer_error(p, want, "module_aux_begin");
	if ((rc = rdb_module_items(p, want > 0, &m, &m.items)) < 0) {
		vl_diag_prefix(p->d, "MODULE_AUX of module '%s'", m.module_name);
		return rc;
	}
	if (p->h->module_aux_end && (rc = p->h->module_aux_end(p->ud, &m)) < 0)
		return rdb_consumer_error(p, rc, "module_aux_end");
	return 0;
}

/* KEY_META (RDB 13): per class a 4-byte class spec and an opcode-annotated
 * value. Layout per the format notes (unverified against Redis 8.6): skipped. */
static int op_key_meta(rdb_parser *p)
{
	uint64_t n;
	int rc = rdb_plain_len(p, &n, "KEY_META class count");
	for (uint64_t i = 0; rc == 0 && i < n; i++) {
		rc = src_skip(&p->src, 4, "KEY_META class spec", p->d);
		if (rc == 0)
			rc = rdb_module_items(p, 0, NULL, NULL);
	}
	return rc;
}

/* The key for error messages: first 48 bytes, non-printable ones as \xNN. */
static void key_for_msg(const rdb_parser *p, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < p->key.key_len && i < 48 && n + 5 < cap; i++) {
		const uint8_t c = p->key.key[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
	}
	if (p->key.key_len > 48 && n + 4 < cap)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = 0;
}

static int read_key(rdb_parser *p, uint8_t type, uint64_t at, uint64_t ordinal)
{
	vl_rdb_kind kind;
	const char *enc;
	if (!rdb_type_known(type, &kind, &enc)) {
		if (p->version > VL_RDB_VERSION_MAX)
			return vl_diag_set(p->d, VL_EVERSION, at,
			                   "unknown object type %u in an RDB version %d file (this reader "
			                   "knows RDB up to %d)",
			                   type, p->version, VL_RDB_VERSION_MAX);
		if (type >= 26 && type < 0xf0)
			return vl_diag_set(p->d, VL_EVERSION, at,
			                   "object type %u belongs to a newer RDB version than the file's %d",
			                   type, p->version);
		return vl_diag_set(p->d, VL_EFORMAT, at, "unknown object type byte %u", type);
	}
	if (type == 6)
		return vl_diag_set(p->d, VL_EUNSUPPORTED, at,
		                   "module value of the Redis 4.0 release-candidate format (type 6) "
		                   "cannot be skipped");
	int rc = rdb_string(p, &p->keybuf, "key");
	if (rc < 0)
		return rc;
	p->key.db = p->db;
	p->key.key = p->keybuf.p;
	p->key.key_len = p->keybuf.len;
	p->key.type = type;
	p->key.kind = kind;
	p->key.encoding = enc;
	p->key.offset = at;
	p->key.ordinal = ordinal;
	memset(&p->info, 0, sizeof p->info);
	int want = VL_RDB_SKIP;
	if (p->h->key && (want = p->h->key(p->ud, &p->key)) < 0)
		return rdb_consumer_error(p, want, "key");
	const uint64_t start = src_off(&p->src);
	if ((rc = rdb_read_value(p, want > 0)) < 0) {
		char name[256];
		key_for_msg(p, name, sizeof name);
		vl_diag_prefix(p->d, "key '%s' (%s, type %u at offset %" PRIu64 ")", name,
		               vl_rdb_kind_name(kind), type, at);
		return rc;
	}
	p->info.file_bytes = src_off(&p->src) - start;
	if (p->h->key_end && (rc = p->h->key_end(p->ud, &p->key, &p->info)) < 0)
		return rdb_consumer_error(p, rc, "key_end");
	return 0;
}

static void reset_prefix(rdb_parser *p)
{
	p->key.expire_ms = VL_RDB_NO_EXPIRE;
	p->key.idle_s = -1;
	p->key.freq = -1;
}

/* One opcode other than EOF or a key; 1 = it was not an opcode. */
static int read_opcode(rdb_parser *p, uint8_t op, uint64_t at)
{
	rdb_src *s = &p->src;
	uint64_t v[3];
	int rc;
	switch (op) {
	case OP_SELECTDB:
		return op_selectdb(p);
	case OP_EXPIRETIME:
		if ((rc = src_need(s, 4, "EXPIRETIME", p->d)) < 0)
			return rc;
		p->key.expire_ms = (int64_t)(int32_t)vl_ld32(s->win + s->pos) * 1000;
		s->pos += 4;
		return 0;
	case OP_EXPIRETIME_MS:
		if ((rc = rdb_u64le(p, &v[0], "EXPIRETIME_MS")) < 0)
			return rc;
		p->key.expire_ms = (int64_t)v[0];
		return 0;
	case OP_RESIZEDB:
		if ((rc = op_lens(p, v, 2, "RESIZEDB sizes")) < 0)
			return rc;
		if (p->h->resize && (rc = p->h->resize(p->ud, p->db, v[0], v[1])) < 0)
			return rdb_consumer_error(p, rc, "resize");
		return 0;
	case OP_AUX:
		return op_aux(p);
	case OP_FREQ: {
		uint8_t f;
		if ((rc = src_u8(s, &f, "FREQ", p->d)) < 0)
			return rc;
		p->key.freq = f;
		return 0;
	}
	case OP_IDLE:
		if ((rc = rdb_plain_len(p, &v[0], "IDLE")) < 0)
			return rc;
		p->key.idle_s = (int64_t)(v[0] > INT64_MAX ? INT64_MAX : v[0]);
		return 0;
	case OP_MODULE_AUX:
		return op_module_aux(p, at);
	case OP_FUNCTION_PRE_GA:
		return vl_diag_set(p->d, VL_EUNSUPPORTED, at,
		                   "function library in the Redis 7.0 release-candidate format (opcode "
		                   "0xF6), which Redis itself refuses");
	case OP_FUNCTION2:
		if ((rc = rdb_string(p, &p->a, "FUNCTION2 library")) < 0)
			return rc;
		if (p->h->function && (rc = p->h->function(p->ud, p->a.p, p->a.len)) < 0)
			return rdb_consumer_error(p, rc, "function");
		return 0;
	case OP_SLOT_INFO:
		if ((rc = op_lens(p, v, 3, "SLOT_INFO")) < 0)
			return rc;
		if (p->h->slot && (rc = p->h->slot(p->ud, v[0], v[1], v[2])) < 0)
			return rdb_consumer_error(p, rc, "slot");
		return 0;
	case OP_KEY_META:
		if (p->version >= 13)
			return op_key_meta(p);
		return 1;
	default:
		return 1;
	}
}

static int read_trailer(rdb_parser *p, vl_rdb_result *res)
{
	rdb_src *s = &p->src;
	res->crc_computed = src_crc(s);
	if (p->version < 5) {
		res->checksum = VL_RDB_CRC_NONE;
		res->bytes = src_off(s);
	} else {
		const uint64_t at = src_off(s);
		int rc = rdb_u64le(p, &res->crc_stored, "the CRC64 trailer");
		if (rc < 0)
			return rc;
		res->bytes = src_off(s);
		if (res->crc_stored == 0) {
			res->checksum = VL_RDB_CRC_DISABLED;
		} else if (res->crc_stored == res->crc_computed) {
			res->checksum = VL_RDB_CRC_OK;
		} else {
			res->checksum = VL_RDB_CRC_MISMATCH;
			if (!(p->flags & VL_RDB_IGNORE_CHECKSUM))
				return vl_diag_set(p->d, VL_ECHECKSUM, at,
				                   "CRC64 mismatch: the trailer holds %016" PRIx64
				                   " but bytes 0..%" PRIu64 " give %016" PRIx64,
				                   res->crc_stored, at - 1, res->crc_computed);
		}
	}
	int more = src_more(s, p->d);
	if (more < 0)
		return more;
	res->trailing = (uint64_t)more;
	return 0;
}

static int parse_body(rdb_parser *p, vl_rdb_result *res)
{
	int rc = parse_header(p);
	if (rc < 0)
		return rc;
	res->version = p->version;
	reset_prefix(p);
	for (;;) {
		const uint64_t at = src_off(&p->src);
		uint8_t op;
		if ((rc = src_u8(&p->src, &op, "the next record", p->d)) < 0)
			return rc;
		if (op == OP_EOF)
			return read_trailer(p, res);
		rc = read_opcode(p, op, at);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		if ((rc = read_key(p, op, at, res->keys)) < 0)
			return rc;
		res->keys++;
		reset_prefix(p);
	}
}

int vl_rdb_parse(vl_rdb_read_fn rd, void *rd_ud, const vl_rdb_opts *opts,
                 const vl_rdb_handlers *h, void *ud, vl_rdb_result *res, vl_diag *d)
{
	static const vl_rdb_handlers none;
	vl_rdb_opts o = VL_RDB_OPTS_INIT;
	if (opts)
		memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
	vl_rdb_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof *res);
	vl_diag_clear(d);
	size_t window = o.window ? o.window : DEFAULT_WINDOW;
	if (window < MIN_WINDOW)
		window = MIN_WINDOW;
	rdb_parser p;
	memset(&p, 0, sizeof p);
	p.h = h ? h : &none;
	p.ud = ud;
	p.d = d;
	p.flags = o.flags;
	p.max_value = o.max_value ? o.max_value : DEFAULT_MAX_VALUE;
	int rc = src_init(&p.src, rd, rd_ud, window, d);
	if (rc == 0)
		rc = parse_body(&p, res);
	if (res->bytes == 0)
		res->bytes = src_off(&p.src);
	res->lzf_strings = p.lzf_strings;
	src_free(&p.src);
	rdb_buf_free(&p.keybuf);
	rdb_buf_free(&p.a);
	rdb_buf_free(&p.b);
	rdb_buf_free(&p.blob);
	rdb_buf_free(&p.lzf);
	return rc;
}
