/* json.c - strict RFC 8259 DOM parser and writer (see json.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- arena ---------------------------------------------------------------- */

/* Values, strings and number texts of one parse live in arena chunks. A
 * reset coalesces all chunks into one, so a reused document settles on a
 * single allocation sized for its largest input. */
typedef struct chunk {
	struct chunk *next;
	size_t cap;
	size_t used;
	_Alignas(16) unsigned char data[];
} chunk;

#define ARENA_FIRST 16384u

struct vl_json_doc {
	chunk *head;         /* chunk being filled (newest first) */
	size_t total_cap;    /* sum of chunk capacities */
	vl_json_member *stk; /* children of the containers being parsed */
	size_t stk_len, stk_cap;
	/* the current parse */
	const uint8_t *text;
	size_t len, pos;
	uint64_t base_off, base_line;
	vl_diag *d;
};

static chunk *chunk_new(size_t cap)
{
	chunk *c = malloc(sizeof *c + cap);
	if (!c)
		return NULL;
	c->next = NULL;
	c->cap = cap;
	c->used = 0;
	return c;
}

static void arena_free(vl_json_doc *doc)
{
	for (chunk *c = doc->head, *nx; c; c = nx) {
		nx = c->next;
		free(c);
	}
	doc->head = NULL;
	doc->total_cap = 0;
}

static int arena_reset(vl_json_doc *doc)
{
	if (doc->head && !doc->head->next) {
		doc->head->used = 0;
		return VL_OK;
	}
	size_t cap = doc->total_cap > ARENA_FIRST ? doc->total_cap : ARENA_FIRST;
	arena_free(doc);
	doc->head = chunk_new(cap);
	if (!doc->head)
		return VL_ENOMEM;
	doc->total_cap = cap;
	return VL_OK;
}

static void *arena_alloc(vl_json_doc *doc, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	chunk *c = doc->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? c->cap * 2 : ARENA_FIRST;
		if (cap < n)
			cap = n;
		chunk *nc = chunk_new(cap);
		if (!nc)
			return NULL;
		nc->next = c;
		doc->head = c = nc;
		doc->total_cap += cap;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

/* Give back the tail of the most recent allocation p, keeping `keep` bytes. */
static void arena_trim(vl_json_doc *doc, void *p, size_t keep)
{
	chunk *c = doc->head;
	c->used = (size_t)((unsigned char *)p - c->data) + ((keep + 15) & ~(size_t)15);
}

vl_json_doc *vl_json_doc_new(void)
{
	vl_json_doc *doc = calloc(1, sizeof *doc);
	return doc;
}

void vl_json_doc_free(vl_json_doc *doc)
{
	if (!doc)
		return;
	arena_free(doc);
	free(doc->stk);
	free(doc);
}

/* ---- errors --------------------------------------------------------------- */

static void line_col(const vl_json_doc *doc, size_t pos, uint64_t *line, uint64_t *col)
{
	uint64_t l = doc->base_line;
	size_t ls = 0;
	for (size_t i = 0; i < pos && i < doc->len; i++)
		if (doc->text[i] == '\n') {
			l++;
			ls = i + 1;
		}
	*line = l;
	*col = pos - ls + 1;
}

__attribute__((format(printf, 4, 5)))
static int fail(vl_json_doc *doc, int code, size_t pos, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	uint64_t line, col;
	line_col(doc, pos, &line, &col);
	return vl_diag_set(doc->d, code, doc->base_off + pos, "line %llu, column %llu: %s",
	                   (unsigned long long)line, (unsigned long long)col, msg);
}

/* What is at pos, for messages: "'x'", "byte 0x01" or "end of input". */
static const char *found(const vl_json_doc *doc, size_t pos, char buf[16])
{
	if (pos >= doc->len)
		return "end of input";
	uint8_t c = doc->text[pos];
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

/* ---- scanning -------------------------------------------------------------- */

static void skip_ws(vl_json_doc *doc)
{
	while (doc->pos < doc->len) {
		uint8_t c = doc->text[doc->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		doc->pos++;
	}
}

static int peek(const vl_json_doc *doc)
{
	return doc->pos < doc->len ? doc->text[doc->pos] : -1;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static size_t digits_at(const uint8_t *t, size_t len, size_t p)
{
	size_t s = p;
	while (p < len && is_digit(t[p]))
		p++;
	return p - s;
}

/*
 * Length of the RFC 8259 number at t[p..len), or 0 with *why set to the
 * problem and *bad to its offset.
 */
static size_t number_len(const uint8_t *t, size_t len, size_t p, const char **why, size_t *bad)
{
	size_t s = p;
	if (p < len && t[p] == '-')
		p++;
	size_t nd = digits_at(t, len, p);
	if (nd == 0) {
		*why = "expected a digit after '-'";
		*bad = p;
		return 0;
	}
	if (t[p] == '0' && nd > 1) {
		*why = "leading zeros are not allowed in numbers";
		*bad = p;
		return 0;
	}
	p += nd;
	if (p < len && t[p] == '.') {
		nd = digits_at(t, len, ++p);
		if (nd == 0) {
			*why = "expected a digit after '.'";
			*bad = p;
			return 0;
		}
		p += nd;
	}
	if (p < len && (t[p] == 'e' || t[p] == 'E')) {
		p++;
		if (p < len && (t[p] == '+' || t[p] == '-'))
			p++;
		nd = digits_at(t, len, p);
		if (nd == 0) {
			*why = "expected a digit in the exponent";
			*bad = p;
			return 0;
		}
		p += nd;
	}
	return p - s;
}

int vl_json_number_valid(const char *text, size_t n)
{
	const char *why;
	size_t bad;
	return n > 0 && number_len((const uint8_t *)text, n, 0, &why, &bad) == n;
}

static int parse_number(vl_json_doc *doc, vl_json *out)
{
	const char *why = NULL;
	size_t bad = 0, start = doc->pos;
	size_t n = number_len(doc->text, doc->len, start, &why, &bad);
	if (!n)
		return fail(doc, VL_EFORMAT, bad, "invalid number: %s", why);
	char *txt = arena_alloc(doc, n + 1);
	if (!txt)
		return VL_ENOMEM;
	memcpy(txt, doc->text + start, n);
	txt[n] = 0;
	out->type = VL_JSON_NUMBER;
	out->n = n;
	out->u.str = txt;
	doc->pos = start + n;
	return VL_OK;
}

static int hex4(const uint8_t *p, uint32_t *v)
{
	uint32_t x = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];
		int h = c >= '0' && c <= '9' ? c - '0'
		      : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (h < 0)
			return -1;
		x = x << 4 | (uint32_t)h;
	}
	*v = x;
	return 0;
}

/* Decode the \u escape at t[p] ('\\' at p); on success *cp and *used. */
static int unicode_escape(vl_json_doc *doc, size_t p, size_t end, uint32_t *cp, size_t *used)
{
	const uint8_t *t = doc->text;
	uint32_t hi, lo;
	if (end - p < 6 || hex4(t + p + 2, &hi))
		return fail(doc, VL_EFORMAT, p, "invalid \\u escape: expected 4 hex digits");
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(doc, VL_EFORMAT, p, "lone low surrogate \\u%04X in string", hi);
	if (hi < 0xd800 || hi > 0xdbff) {
		*cp = hi;
		*used = 6;
		return VL_OK;
	}
	if (end - p < 12 || t[p + 6] != '\\' || t[p + 7] != 'u' || hex4(t + p + 8, &lo) ||
	    lo < 0xdc00 || lo > 0xdfff)
		return fail(doc, VL_EFORMAT, p,
		            "high surrogate \\u%04X is not followed by a low surrogate escape", hi);
	*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	*used = 12;
	return VL_OK;
}

static int simple_escape(uint8_t c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return -1;
	}
}

/* Decode the string body t[p..end) (between the quotes) into dst. */
static int decode_string(vl_json_doc *doc, size_t p, size_t end, uint8_t *dst, size_t *out_n)
{
	const uint8_t *t = doc->text;
	size_t o = 0;
	while (p < end) {
		uint8_t c = t[p];
		if (c == '\\') {
			int e = simple_escape(t[p + 1]);
			if (e >= 0) {
				dst[o++] = (uint8_t)e;
				p += 2;
				continue;
			}
			if (t[p + 1] != 'u') {
				char fb[16];
				return fail(doc, VL_EFORMAT, p, "invalid escape '\\' followed by %s",
				            found(doc, p + 1, fb));
			}
			uint32_t cp = 0;
			size_t used = 0;
			int rc = unicode_escape(doc, p, end, &cp, &used);
			if (rc)
				return rc;
			o += vl_utf8_put(dst + o, cp);
			p += used;
		} else if (c < 0x20) {
			return fail(doc, VL_EFORMAT, p,
			            "control character 0x%02x in string (must be escaped)", c);
		} else if (c < 0x80) {
			dst[o++] = c;
			p++;
		} else {
			size_t l = vl_utf8_seq_len(t + p, end - p);
			if (!l)
				return fail(doc, VL_EFORMAT, p, "invalid UTF-8 in string");
			memcpy(dst + o, t + p, l);
			o += l;
			p += l;
		}
	}
	*out_n = o;
	return VL_OK;
}

/* Parse the string at pos ('"'); *str gets decoded bytes + NUL in the arena. */
static int parse_string(vl_json_doc *doc, const char **str, size_t *n)
{
	const uint8_t *t = doc->text;
	size_t start = doc->pos, p = start + 1;
	/* Find the closing quote first: escapes never make the text longer,
	 * so the raw length bounds the decoded one. */
	while (p < doc->len && t[p] != '"')
		p += t[p] == '\\' ? 2 : 1;
	if (p >= doc->len)
		return fail(doc, VL_EFORMAT, start, "unterminated string");
	size_t end = p;
	uint8_t *dst = arena_alloc(doc, end - start);
	if (!dst)
		return VL_ENOMEM;
	size_t o = 0;
	int rc = decode_string(doc, start + 1, end, dst, &o);
	if (rc)
		return rc;
	dst[o] = 0;
	arena_trim(doc, dst, o + 1);
	*str = (const char *)dst;
	*n = o;
	doc->pos = end + 1;
	return VL_OK;
}

/* ---- values ---------------------------------------------------------------- */

static int parse_value(vl_json_doc *doc, vl_json *out, int depth);

static int stk_push(vl_json_doc *doc, const vl_json_member *m)
{
	if (doc->stk_len == doc->stk_cap) {
		size_t cap = doc->stk_cap ? doc->stk_cap * 2 : 64;
		vl_json_member *ns = realloc(doc->stk, cap * sizeof *ns);
		if (!ns)
			return VL_ENOMEM;
		doc->stk = ns;
		doc->stk_cap = cap;
	}
	doc->stk[doc->stk_len++] = *m;
	return VL_OK;
}

/* Move the children pushed since `base` into the arena. */
static int close_array(vl_json_doc *doc, size_t base, vl_json *out)
{
	size_t n = doc->stk_len - base;
	vl_json *items = NULL;
	if (n) {
		items = arena_alloc(doc, n * sizeof *items);
		if (!items)
			return VL_ENOMEM;
		for (size_t i = 0; i < n; i++)
			items[i] = doc->stk[base + i].value;
	}
	doc->stk_len = base;
	out->type = VL_JSON_ARRAY;
	out->n = n;
	out->u.items = items;
	return VL_OK;
}

static int close_object(vl_json_doc *doc, size_t base, vl_json *out)
{
	size_t n = doc->stk_len - base;
	vl_json_member *m = NULL;
	if (n) {
		m = arena_alloc(doc, n * sizeof *m);
		if (!m)
			return VL_ENOMEM;
		memcpy(m, doc->stk + base, n * sizeof *m);
	}
	doc->stk_len = base;
	out->type = VL_JSON_OBJECT;
	out->n = n;
	out->u.members = m;
	return VL_OK;
}

/* After an element: ',' (more follow) -> 1, close -> 0, else an error. */
static int after_element(vl_json_doc *doc, char close)
{
	skip_ws(doc);
	int c = peek(doc);
	if (c == ',') {
		doc->pos++;
		skip_ws(doc);
		if (peek(doc) == close)
			return fail(doc, VL_EFORMAT, doc->pos, "trailing ',' before '%c'", close);
		return 1;
	}
	if (c == close) {
		doc->pos++;
		return 0;
	}
	char fb[16];
	return fail(doc, VL_EFORMAT, doc->pos, "expected ',' or '%c' but found %s", close,
	            found(doc, doc->pos, fb));
}

static int parse_array(vl_json_doc *doc, vl_json *out, int depth)
{
	size_t base = doc->stk_len;
	doc->pos++;
	skip_ws(doc);
	if (peek(doc) == ']') {
		doc->pos++;
		return close_array(doc, base, out);
	}
	for (;;) {
		vl_json_member m = { NULL, 0, { 0 } };
		int rc = parse_value(doc, &m.value, depth + 1);
		if (rc || (rc = stk_push(doc, &m)))
			return rc;
		rc = after_element(doc, ']');
		if (rc < 0)
			return rc;
		if (rc == 0)
			return close_array(doc, base, out);
	}
}

static int parse_member(vl_json_doc *doc, vl_json_member *m, int depth)
{
	char fb[16];
	if (peek(doc) != '"')
		return fail(doc, VL_EFORMAT, doc->pos, "expected a string key but found %s",
		            found(doc, doc->pos, fb));
	int rc = parse_string(doc, &m->key, &m->key_len);
	if (rc)
		return rc;
	skip_ws(doc);
	if (peek(doc) != ':')
		return fail(doc, VL_EFORMAT, doc->pos, "expected ':' after object key but found %s",
		            found(doc, doc->pos, fb));
	doc->pos++;
	return parse_value(doc, &m->value, depth + 1);
}

static int parse_object(vl_json_doc *doc, vl_json *out, int depth)
{
	size_t base = doc->stk_len;
	doc->pos++;
	skip_ws(doc);
	if (peek(doc) == '}') {
		doc->pos++;
		return close_object(doc, base, out);
	}
	for (;;) {
		vl_json_member m;
		int rc = parse_member(doc, &m, depth);
		if (rc || (rc = stk_push(doc, &m)))
			return rc;
		rc = after_element(doc, '}');
		if (rc < 0)
			return rc;
		if (rc == 0)
			return close_object(doc, base, out);
		skip_ws(doc);
	}
}

static int parse_literal(vl_json_doc *doc, vl_json *out)
{
	static const struct { const char *word; vl_json_type type; } lits[] = {
		{ "true", VL_JSON_TRUE }, { "false", VL_JSON_FALSE }, { "null", VL_JSON_NULL }
	};
	const uint8_t *t = doc->text + doc->pos;
	size_t left = doc->len - doc->pos;
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(lits[i].word);
		if (left >= l && memcmp(t, lits[i].word, l) == 0) {
			out->type = lits[i].type;
			doc->pos += l;
			return VL_OK;
		}
	}
	if ((left >= 3 && (memcmp(t, "NaN", 3) == 0 || memcmp(t, "nan", 3) == 0)) ||
	    (left >= 3 && (memcmp(t, "Inf", 3) == 0 || memcmp(t, "inf", 3) == 0)))
		return fail(doc, VL_EFORMAT, doc->pos, "NaN and Infinity are not valid JSON numbers");
	char fb[16];
	return fail(doc, VL_EFORMAT, doc->pos, "expected a JSON value but found %s",
	            found(doc, doc->pos, fb));
}

static int parse_value(vl_json_doc *doc, vl_json *out, int depth)
{
	skip_ws(doc);
	memset(out, 0, sizeof *out);
	out->offset = doc->base_off + doc->pos;
	int c = peek(doc);
	if (c < 0)
		return fail(doc, VL_EFORMAT, doc->pos, "unexpected end of input (expected a value)");
	if ((c == '[' || c == '{') && depth >= VL_JSON_MAX_DEPTH)
		return fail(doc, VL_ELIMIT, doc->pos, "arrays and objects nested deeper than %d levels",
		            VL_JSON_MAX_DEPTH);
	switch (c) {
	case '[':
		return parse_array(doc, out, depth);
	case '{':
		return parse_object(doc, out, depth);
	case '"':
		out->type = VL_JSON_STRING;
		return parse_string(doc, &out->u.str, &out->n);
	case '-':
		if (doc->pos + 1 < doc->len && (doc->text[doc->pos + 1] == 'I' ||
		                                doc->text[doc->pos + 1] == 'i'))
			return fail(doc, VL_EFORMAT, doc->pos,
			            "NaN and Infinity are not valid JSON numbers");
		return parse_number(doc, out);
	default:
		if (is_digit(c))
			return parse_number(doc, out);
		return parse_literal(doc, out);
	}
}

int vl_json_parse(vl_json_doc *doc, const void *text, size_t len, uint64_t base_offset,
                  uint64_t base_line, const vl_json **root, vl_diag *d)
{
	*root = NULL;
	int rc = arena_reset(doc);
	if (rc)
		return vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory");
	doc->text = text;
	doc->len = len;
	doc->pos = 0;
	doc->base_off = base_offset;
	doc->base_line = base_line;
	doc->d = d;
	doc->stk_len = 0;
	skip_ws(doc);
	if (doc->pos == len)
		return fail(doc, VL_EFORMAT, doc->pos, "empty input (expected a JSON value)");
	vl_json *top = arena_alloc(doc, sizeof *top);
	if (!top)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	rc = parse_value(doc, top, 0);
	if (rc == VL_ENOMEM)
		return vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory");
	if (rc)
		return rc;
	skip_ws(doc);
	if (doc->pos != len) {
		char fb[16];
		return fail(doc, VL_EFORMAT, doc->pos, "unexpected %s after the JSON value",
		            found(doc, doc->pos, fb));
	}
	*root = top;
	return VL_OK;
}

/* ---- access -------------------------------------------------------------- */

const vl_json *vl_json_getn(const vl_json *v, const void *key, size_t key_len)
{
	if (!v || v->type != VL_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->n; i++) {
		const vl_json_member *m = &v->u.members[i];
		if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
			return &m->value;
	}
	return NULL;
}

const vl_json *vl_json_get(const vl_json *v, const char *key)
{
	return vl_json_getn(v, key, strlen(key));
}

const char *vl_json_type_name(vl_json_type t)
{
	switch (t) {
	case VL_JSON_NULL: return "null";
	case VL_JSON_FALSE: return "false";
	case VL_JSON_TRUE: return "true";
	case VL_JSON_NUMBER: return "number";
	case VL_JSON_STRING: return "string";
	case VL_JSON_ARRAY: return "array";
	case VL_JSON_OBJECT: return "object";
	}
	return "?";
}

/*
 * Clinger's fast path: a JSON number with at most 19 significant digits
 * w <= 2^53 and a decimal exponent within +-22 is w * 10^e or w / 10^-e,
 * one correctly rounded double operation on exact operands. Returns 0
 * when the text is outside that range (the caller uses strtod/strtof).
 */
static int fast_decimal(const char *t, size_t n, double *out)
{
	static const double p10[23] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	                                1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
	                                1e20, 1e21, 1e22 };
	size_t i = 0;
	int neg = t[0] == '-', nd = 0, frac = 0, seen_point = 0;
	uint64_t w = 0;
	i += (size_t)neg;
	for (; i < n && t[i] != 'e' && t[i] != 'E'; i++) {
		if (t[i] == '.') {
			seen_point = 1;
			continue;
		}
		if (w || t[i] != '0')
			nd++;
		if (nd > 19)
			return 0;
		w = w * 10 + (uint64_t)(t[i] - '0');
		frac += seen_point;
	}
	int e = 0, eneg = 0;
	if (i < n) { /* exponent: JSON grammar guarantees digits follow */
		i++;
		if (t[i] == '+' || t[i] == '-')
			eneg = t[i++] == '-';
		for (; i < n; i++) {
			if (e > 1000)
				return 0;
			e = e * 10 + (t[i] - '0');
		}
	}
	e = (eneg ? -e : e) - frac;
	if (w > (1ull << 53))
		return 0;
	double d = (double)w;
	if (w == 0)
		d = 0.0;
	else if (e >= 0 && e <= 22)
		d *= p10[e];
	else if (e < 0 && e >= -22)
		d /= p10[-e];
	else
		return 0;
	*out = neg ? -d : d;
	return 1;
}

/* float32 from a correctly rounded double d of the same decimal: equal to
 * rounding the decimal itself unless d sits exactly on a midpoint between
 * two floats (then the decimal's side of it is unknown), or the float is
 * subnormal or near overflow. Returns 0 in those cases. */
static int double_to_f32_exact(double d, float *out)
{
	double a = fabs(d);
	if (a == 0.0) {
		*out = (float)d;
		return 1;
	}
	if (a < 0x1p-125 || a >= 0x1p127)
		return 0;
	uint64_t bits;
	memcpy(&bits, &d, 8);
	if ((bits & 0x1fffffffull) == 0x10000000ull) /* the 29 bits float drops: exactly half */
		return 0;
	*out = (float)d;
	return 1;
}

int vl_json_f32(const vl_json *v, float *out)
{
	if (!v || v->type != VL_JSON_NUMBER)
		return VL_EINVAL;
	double d;
	if (!fast_decimal(v->u.str, v->n, &d) || !double_to_f32_exact(d, out))
		*out = vl_strtof_c(v->u.str, NULL);
	return isinf(*out) ? VL_ENAN : VL_OK;
}

int vl_json_f64(const vl_json *v, double *out)
{
	if (!v || v->type != VL_JSON_NUMBER)
		return VL_EINVAL;
	if (!fast_decimal(v->u.str, v->n, out))
		*out = vl_strtod_c(v->u.str, NULL);
	return isinf(*out) ? VL_ENAN : VL_OK;
}

int vl_json_is_integer(const vl_json *v)
{
	return v && v->type == VL_JSON_NUMBER && !strpbrk(v->u.str, ".eE");
}

/* ---- writing ------------------------------------------------------------- */

int vl_json_write_string(vl_sink *s, const void *bytes, size_t n)
{
	if (!vl_utf8_valid(bytes, n, NULL))
		return VL_EINVAL;
	const uint8_t *b = bytes;
	size_t run = 0; /* start of the pending run of bytes needing no escape */
	vl_sink_putc(s, '"');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		vl_sink_write(s, b + run, i - run);
		run = i + 1;
		char esc[8];
		switch (c) {
		case '"': vl_sink_write(s, "\\\"", 2); break;
		case '\\': vl_sink_write(s, "\\\\", 2); break;
		case '\n': vl_sink_write(s, "\\n", 2); break;
		case '\r': vl_sink_write(s, "\\r", 2); break;
		case '\t': vl_sink_write(s, "\\t", 2); break;
		case '\b': vl_sink_write(s, "\\b", 2); break;
		case '\f': vl_sink_write(s, "\\f", 2); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			vl_sink_write(s, esc, 6);
		}
	}
	vl_sink_write(s, b + run, n - run);
	return vl_sink_putc(s, '"');
}

int vl_json_write(vl_sink *s, const vl_json *v)
{
	int rc = VL_OK;
	switch (v->type) {
	case VL_JSON_NULL: return vl_sink_puts(s, "null");
	case VL_JSON_FALSE: return vl_sink_puts(s, "false");
	case VL_JSON_TRUE: return vl_sink_puts(s, "true");
	case VL_JSON_NUMBER: return vl_sink_write(s, v->u.str, v->n);
	case VL_JSON_STRING: return vl_json_write_string(s, v->u.str, v->n);
	case VL_JSON_ARRAY:
		vl_sink_putc(s, '[');
		for (size_t i = 0; i < v->n && !rc; i++) {
			if (i)
				vl_sink_putc(s, ',');
			rc = vl_json_write(s, &v->u.items[i]);
		}
		return rc ? rc : vl_sink_putc(s, ']');
	case VL_JSON_OBJECT:
		vl_sink_putc(s, '{');
		for (size_t i = 0; i < v->n && !rc; i++) {
			const vl_json_member *m = &v->u.members[i];
			if (i)
				vl_sink_putc(s, ',');
			rc = vl_json_write_string(s, m->key, m->key_len);
			if (!rc) {
				vl_sink_putc(s, ':');
				rc = vl_json_write(s, &m->value);
			}
		}
		return rc ? rc : vl_sink_putc(s, '}');
	}
	return VL_EINVAL;
}
