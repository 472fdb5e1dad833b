/* filter.c - parse, bind and evaluate filter expressions (see filter.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "segmap.h"
#include "tags.h"

enum { N_AND, N_OR, N_NOT, N_TAG, N_NUM };

typedef struct fnode {
	uint8_t op;
	uint32_t a, b;            /* children (AND/OR: a, b; NOT: a) */
	/* leaves */
	uint32_t field;           /* offset of the field name in the pool */
	uint16_t field_id;
	uint32_t first, count;    /* strings/numbers of a leaf: in strs[] or nums[] */
	double lo, hi;            /* N_NUM range (when count == 0) */
	uint8_t lo_incl, hi_incl;
} fnode;

typedef struct fstr {
	uint32_t off, len;        /* in pool */
} fstr;

struct vl_filter {
	fnode *n;
	uint32_t nn, cap;
	fstr *strs;
	uint32_t nstrs, scap;
	double *nums;
	uint32_t nnums, ncap;
	char *pool;
	size_t plen, pcap;
	uint32_t root;
	int bound;
};

/* ---- construction helpers ----------------------------------------------- */
static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	uint32_t c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, (size_t)c * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int new_node(vl_filter *f, uint8_t op, uint32_t *id)
{
	if (grow((void **)&f->n, &f->cap, f->nn + 1, sizeof *f->n))
		return VL_ENOMEM;
	memset(&f->n[f->nn], 0, sizeof *f->n);
	f->n[f->nn].op = op;
	*id = f->nn++;
	return VL_OK;
}

static int pool_add(vl_filter *f, const char *s, size_t len, uint32_t *off)
{
	if (f->plen + len + 1 > f->pcap) {
		size_t c = f->pcap ? f->pcap * 2 : 256;
		while (c < f->plen + len + 1)
			c *= 2;
		char *p = realloc(f->pool, c);
		if (!p)
			return VL_ENOMEM;
		f->pool = p;
		f->pcap = c;
	}
	memcpy(f->pool + f->plen, s, len);
	f->pool[f->plen + len] = 0;
	*off = (uint32_t)f->plen;
	f->plen += len + 1;
	return VL_OK;
}

/* ---- lexer ------------------------------------------------------------------- */
enum { T_END, T_IDENT, T_STR, T_NUM, T_LP, T_RP, T_COMMA, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
       T_AND, T_OR, T_NOT, T_IN, T_BETWEEN };

typedef struct lexer {
	const char *s;
	size_t pos, len;
	int tok;
	size_t tok_at;
	char *text;               /* decoded identifier / string */
	size_t tlen, tcap;
	double num;
	vl_diag *d;
	int depth;
} lexer;

static int lerr(lexer *lx, size_t at, const char *what)
{
	return vl_diag_set(lx->d, VL_EFILTER, at, "filter: %s", what);
}

static int text_put(lexer *lx, char c)
{
	if (lx->tlen + 1 >= lx->tcap) {
		size_t cap = lx->tcap ? lx->tcap * 2 : 64;
		char *p = realloc(lx->text, cap);
		if (!p)
			return VL_ENOMEM;
		lx->text = p;
		lx->tcap = cap;
	}
	lx->text[lx->tlen++] = c;
	lx->text[lx->tlen] = 0;
	return VL_OK;
}

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident(int c) { return isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-'; }

static int kw(lexer *lx)
{
	static const struct { const char *w; int t; } k[] = {
		{ "AND", T_AND }, { "OR", T_OR }, { "NOT", T_NOT }, { "IN", T_IN }, { "BETWEEN", T_BETWEEN },
	};
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
		if (strcasecmp(lx->text, k[i].w) == 0)
			return k[i].t;
	return T_IDENT;
}

static int lex_quoted(lexer *lx, char q)
{
	lx->pos++;
	while (lx->pos < lx->len && lx->s[lx->pos] != q) {
		char c = lx->s[lx->pos++];
		if (c == '\\' && q != '`') {
			if (lx->pos >= lx->len)
				break;
			c = lx->s[lx->pos++];
		}
		if (text_put(lx, c))
			return VL_ENOMEM;
	}
	if (lx->pos >= lx->len)
		return lerr(lx, lx->tok_at, "unterminated quote");
	lx->pos++;
	return VL_OK;
}

static int lex_number(lexer *lx)
{
	const char *start = lx->s + lx->pos;
	char *end;
	errno = 0;
	lx->num = strtod(start, &end);
	if (end == start || errno == ERANGE || !isfinite(lx->num))
		return lerr(lx, lx->pos, "bad number");
	lx->pos += (size_t)(end - start);
	if (lx->pos < lx->len && is_ident(lx->s[lx->pos]))
		return lerr(lx, lx->pos, "bad number");
	lx->tok = T_NUM;
	return VL_OK;
}

static int lex(lexer *lx)
{
	while (lx->pos < lx->len && isspace((unsigned char)lx->s[lx->pos]))
		lx->pos++;
	lx->tok_at = lx->pos;
	lx->tlen = 0;
	if (lx->pos >= lx->len) {
		lx->tok = T_END;
		return VL_OK;
	}
	char c = lx->s[lx->pos], n = lx->pos + 1 < lx->len ? lx->s[lx->pos + 1] : 0;
	if (c == '(' || c == ')' || c == ',') {
		lx->tok = c == '(' ? T_LP : c == ')' ? T_RP : T_COMMA;
		lx->pos++;
		return VL_OK;
	}
	if ((c == '=' && n == '=') || (c == '!' && n == '=') || (c == '<' && n == '=') ||
	    (c == '>' && n == '=') || (c == '&' && n == '&') || (c == '|' && n == '|')) {
		lx->tok = c == '=' ? T_EQ : c == '!' ? T_NE : c == '<' ? T_LE : c == '>' ? T_GE : c == '&' ? T_AND : T_OR;
		lx->pos += 2;
		return VL_OK;
	}
	if (c == '=' || c == '<' || c == '>' || c == '!') {
		lx->tok = c == '=' ? T_EQ : c == '<' ? T_LT : c == '>' ? T_GT : T_NOT;
		lx->pos++;
		return VL_OK;
	}
	if (c == '"' || c == '\'') {
		lx->tok = T_STR;
		return lex_quoted(lx, c);
	}
	if (c == '`') {
		lx->tok = T_IDENT;
		int rc = lex_quoted(lx, '`');
		if (rc == VL_OK && lx->tlen == 0)
			return lerr(lx, lx->tok_at, "empty field name");
		return rc;
	}
	if (isdigit((unsigned char)c) || ((c == '-' || c == '+' || c == '.') && (isdigit((unsigned char)n) || n == '.')))
		return lex_number(lx);
	if (is_ident_start((unsigned char)c)) {
		while (lx->pos < lx->len && is_ident((unsigned char)lx->s[lx->pos]))
			if (text_put(lx, lx->s[lx->pos++]))
				return VL_ENOMEM;
		lx->tok = kw(lx);
		return VL_OK;
	}
	return lerr(lx, lx->pos, "unexpected character");
}

/* ---- parser ---------------------------------------------------------------- */
static int parse_or(vl_filter *f, lexer *lx, uint32_t *out);

static int add_str(vl_filter *f, lexer *lx)
{
	uint32_t off;
	if (grow((void **)&f->strs, &f->scap, f->nstrs + 1, sizeof *f->strs) ||
	    pool_add(f, lx->text ? lx->text : "", lx->tlen, &off))
		return VL_ENOMEM;
	f->strs[f->nstrs++] = (fstr){ off, (uint32_t)lx->tlen };
	return VL_OK;
}

static int add_num(vl_filter *f, double x)
{
	if (grow((void **)&f->nums, &f->ncap, f->nnums + 1, sizeof *f->nums))
		return VL_ENOMEM;
	f->nums[f->nnums++] = x;
	return VL_OK;
}

/* value list after IN: ( v, v, ... ) all strings or all numbers */
static int parse_in(vl_filter *f, lexer *lx, fnode *leaf)
{
	int rc;
	if ((rc = lex(lx)))
		return rc;
	if (lx->tok != T_LP)
		return lerr(lx, lx->tok_at, "expected '(' after IN");
	int kind = -1;
	for (;;) {
		if ((rc = lex(lx)))
			return rc;
		if (lx->tok != T_STR && lx->tok != T_NUM)
			return lerr(lx, lx->tok_at, "expected a string or number in the IN list");
		int k = lx->tok == T_STR;
		if (kind >= 0 && k != kind)
			return lerr(lx, lx->tok_at, "IN list mixes strings and numbers");
		kind = k;
		if (k) {
			if (leaf->count == 0)
				leaf->first = f->nstrs;
			if ((rc = add_str(f, lx)))
				return rc;
		} else {
			if (leaf->count == 0)
				leaf->first = f->nnums;
			if ((rc = add_num(f, lx->num)))
				return rc;
		}
		leaf->count++;
		if ((rc = lex(lx)))
			return rc;
		if (lx->tok == T_RP)
			break;
		if (lx->tok != T_COMMA)
			return lerr(lx, lx->tok_at, "expected ',' or ')' in the IN list");
	}
	leaf->op = kind ? N_TAG : N_NUM;
	return lex(lx);
}

static int parse_pred(vl_filter *f, lexer *lx, uint32_t *out)
{
	if (lx->tok != T_IDENT)
		return lerr(lx, lx->tok_at, "expected a field name");
	uint32_t id, name;
	int rc;
	if ((rc = pool_add(f, lx->text, lx->tlen, &name)) || (rc = new_node(f, N_NUM, &id)))
		return rc;
	f->n[id].field = name;
	if ((rc = lex(lx)))
		return rc;
	int op = lx->tok;
	size_t op_at = lx->tok_at;
	fnode *leaf = &f->n[id];
	if (op == T_IN) {
		if ((rc = parse_in(f, lx, &f->n[id])))
			return rc;
		*out = id;
		return VL_OK;
	}
	if (op == T_BETWEEN) {
		double lo, hi;
		if ((rc = lex(lx)))
			return rc;
		if (lx->tok != T_NUM)
			return lerr(lx, lx->tok_at, "expected a number after BETWEEN");
		lo = lx->num;
		if ((rc = lex(lx)))
			return rc;
		if (lx->tok != T_AND)
			return lerr(lx, lx->tok_at, "expected AND in BETWEEN ... AND ...");
		if ((rc = lex(lx)))
			return rc;
		if (lx->tok != T_NUM)
			return lerr(lx, lx->tok_at, "expected a number after AND");
		hi = lx->num;
		leaf = &f->n[id];
		*leaf = (fnode){ .op = N_NUM, .field = name, .lo = lo, .hi = hi, .lo_incl = 1, .hi_incl = 1 };
		*out = id;
		return lex(lx);
	}
	if (op != T_EQ && op != T_NE && op != T_LT && op != T_LE && op != T_GT && op != T_GE)
		return lerr(lx, op_at, "expected a comparison (==, !=, <, <=, >, >=, IN, BETWEEN)");
	if ((rc = lex(lx)))
		return rc;
	leaf = &f->n[id];
	if (lx->tok == T_STR) {
		if (op != T_EQ && op != T_NE)
			return lerr(lx, op_at, "strings compare only with == or !=");
		leaf->op = N_TAG;
		leaf->first = f->nstrs;
		leaf->count = 1;
		if ((rc = add_str(f, lx)))
			return rc;
	} else if (lx->tok == T_NUM) {
		double x = lx->num;
		leaf->op = N_NUM;
		leaf->lo = -INFINITY;
		leaf->hi = INFINITY;
		leaf->lo_incl = leaf->hi_incl = 1;
		if (op == T_EQ || op == T_NE)
			leaf->lo = leaf->hi = x;
		else if (op == T_LT || op == T_LE) {
			leaf->hi = x;
			leaf->hi_incl = op == T_LE;
		} else {
			leaf->lo = x;
			leaf->lo_incl = op == T_GE;
		}
	} else {
		return lerr(lx, lx->tok_at, "expected a string or a number");
	}
	if ((rc = lex(lx)))
		return rc;
	if (op == T_NE) {
		uint32_t neg;
		if ((rc = new_node(f, N_NOT, &neg)))
			return rc;
		f->n[neg].a = id;
		id = neg;
	}
	*out = id;
	return VL_OK;
}

static int parse_unary(vl_filter *f, lexer *lx, uint32_t *out)
{
	int rc;
	if (++lx->depth > VL_FILTER_MAX_DEPTH)
		return lerr(lx, lx->tok_at, "expression nests too deeply");
	if (lx->tok == T_NOT) {
		uint32_t id, a;
		if ((rc = lex(lx)) || (rc = parse_unary(f, lx, &a)) || (rc = new_node(f, N_NOT, &id)))
			return rc;
		f->n[id].a = a;
		*out = id;
	} else if (lx->tok == T_LP) {
		if ((rc = lex(lx)) || (rc = parse_or(f, lx, out)))
			return rc;
		if (lx->tok != T_RP)
			return lerr(lx, lx->tok_at, "expected ')'");
		if ((rc = lex(lx)))
			return rc;
	} else if ((rc = parse_pred(f, lx, out))) {
		return rc;
	}
	lx->depth--;
	return VL_OK;
}

static int parse_bin(vl_filter *f, lexer *lx, uint32_t *out, int tok, uint8_t op,
                     int (*sub)(vl_filter *, lexer *, uint32_t *))
{
	/* A chain a OP b OP c becomes the right-deep a OP (b OP c): evaluation
	 * walks the right spine in a loop (operands left to right), so a chain
	 * of thousands of terms (65536 bytes allow ~5000) needs no deep stack. */
	int rc = sub(f, lx, out);
	uint32_t tail = UINT32_MAX; /* the chain's last OP node */
	while (rc == VL_OK && lx->tok == tok) {
		uint32_t b, id;
		if ((rc = lex(lx)) || (rc = sub(f, lx, &b)) || (rc = new_node(f, op, &id)))
			return rc;
		if (tail == UINT32_MAX) {
			f->n[id].a = *out;
			*out = id;
		} else {
			f->n[id].a = f->n[tail].b;
			f->n[tail].b = id;
		}
		f->n[id].b = b;
		tail = id;
	}
	return rc;
}

static int parse_and(vl_filter *f, lexer *lx, uint32_t *out)
{
	return parse_bin(f, lx, out, T_AND, N_AND, parse_unary);
}

static int parse_or(vl_filter *f, lexer *lx, uint32_t *out)
{
	return parse_bin(f, lx, out, T_OR, N_OR, parse_and);
}

int vl_filter_parse(const char *expr, vl_filter **out, vl_diag *d)
{
	*out = NULL;
	if (!expr)
		return vl_diag_set(d, VL_EFILTER, VL_NO_OFFSET, "filter: no expression");
	size_t len = strlen(expr);
	if (len > VL_FILTER_MAX_LEN)
		return vl_diag_set(d, VL_EFILTER, VL_NO_OFFSET, "filter: longer than %u bytes", VL_FILTER_MAX_LEN);
	vl_filter *f = calloc(1, sizeof *f);
	if (!f)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	lexer lx = { .s = expr, .len = len, .d = d };
	int rc = lex(&lx);
	if (rc == VL_OK && lx.tok == T_END)
		rc = lerr(&lx, 0, "empty expression");
	if (rc == VL_OK)
		rc = parse_or(f, &lx, &f->root);
	if (rc == VL_OK && lx.tok != T_END)
		rc = lerr(&lx, lx.tok_at, "unexpected text after the expression");
	free(lx.text);
	if (rc) {
		if (rc == VL_ENOMEM && d && !d->code)
			vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
		vl_filter_free(f);
		return rc;
	}
	*out = f;
	return VL_OK;
}

void vl_filter_free(vl_filter *f)
{
	if (!f)
		return;
	free(f->n);
	free(f->strs);
	free(f->nums);
	free(f->pool);
	free(f);
}

int vl_filter_bind(vl_filter *f, const vl_schema_rec *s, vl_diag *d)
{
	for (uint32_t i = 0; i < f->nn; i++) {
		fnode *n = &f->n[i];
		if (n->op != N_TAG && n->op != N_NUM)
			continue;
		const char *name = f->pool + n->field;
		const vl_schema_field *fl = vl_schema_field_find(s, name);
		if (!fl)
			return vl_diag_set(d, VL_ESCHEMA, VL_NO_OFFSET, "filter: unknown field '%s'", name);
		if (fl->type == VL_FIELD_TEXT)
			return vl_diag_set(d, VL_ESCHEMA, VL_NO_OFFSET,
			                   "filter: field '%s' is a text field; only tag and numeric fields can be filtered",
			                   name);
		if (fl->type == VL_FIELD_TAG && n->op != N_TAG)
			return vl_diag_set(d, VL_ESCHEMA, VL_NO_OFFSET,
			                   "filter: field '%s' is a tag field; compare it with strings", name);
		if (fl->type == VL_FIELD_NUMERIC && n->op != N_NUM)
			return vl_diag_set(d, VL_ESCHEMA, VL_NO_OFFSET,
			                   "filter: field '%s' is numeric; compare it with numbers", name);
		n->field_id = fl->id;
	}
	f->bound = 1;
	return VL_OK;
}

/* ---- evaluation ------------------------------------------------------------- */
static int num_ok(const fnode *n, const double *nums, double x)
{
	if (isnan(x))
		return 0;
	if (n->count) {
		for (uint32_t i = 0; i < n->count; i++)
			if (nums[n->first + i] == x)
				return 1;
		return 0;
	}
	if (x < n->lo || (x == n->lo && !n->lo_incl))
		return 0;
	if (x > n->hi || (x == n->hi && !n->hi_incl))
		return 0;
	return 1;
}

static const vl_rowval *rec_val(const vl_rowrec *r, uint16_t fid)
{
	for (uint32_t i = 0; i < r->nvalues; i++)
		if (r->values[i].field_id == fid)
			return &r->values[i];
	return NULL;
}

static int tag_ok_rec(const vl_filter *f, const fnode *n, const vl_rowval *v)
{
	if (!v || !v->data)
		return 0;
	size_t pos = 0, tl;
	const uint8_t *tag;
	while (vl_tag_next(v->data, v->len, &pos, &tag, &tl))
		for (uint32_t i = 0; i < n->count; i++) {
			const fstr *s = &f->strs[n->first + i];
			if (s->len == tl && memcmp(f->pool + s->off, tag, tl) == 0)
				return 1;
		}
	return 0;
}

static int eval_rec(const vl_filter *f, uint32_t id, const vl_rowrec *r)
{
	const fnode *n = &f->n[id];
	switch (n->op) {
	case N_AND:
	case N_OR: {
		/* a right-deep chain (parse_bin): loop along it, recurse only into
		 * its operands; AND stops at the first false, OR at the first true */
		const uint8_t op = n->op;
		const int stop = op == N_OR;
		for (; n->op == op; n = &f->n[n->b])
			if (eval_rec(f, n->a, r) == stop)
				return stop;
		return eval_rec(f, (uint32_t)(n - f->n), r);
	}
	case N_NOT: return !eval_rec(f, n->a, r);
	case N_TAG: return tag_ok_rec(f, n, rec_val(r, n->field_id));
	default: {
		const vl_rowval *v = rec_val(r, n->field_id);
		return v && (v->kind == VL_VAL_NUM || v->kind == VL_VAL_NUMTEXT) && num_ok(n, f->nums, v->num);
	}
	}
}

int vl_filter_match_rec(const vl_filter *f, const vl_rowrec *r)
{
	return eval_rec(f, f->root, r);
}

/* Per-segment: each leaf gets its column and (tags) the resolved tag ids. */
typedef struct fleaf {
	const vl_attrcol *col;
	uint32_t *ids;
	uint32_t nids;
} fleaf;

struct vl_fseg {
	const vl_filter *f;
	const vl_segmap *s;
	fleaf *leaf;               /* indexed by node id */
	uint32_t *idpool;
};

int vl_fseg_new(const vl_filter *f, const vl_segmap *s, vl_fseg **out)
{
	vl_fseg *fs = calloc(1, sizeof *fs);
	uint32_t total = 0;
	for (uint32_t i = 0; i < f->nn; i++)
		if (f->n[i].op == N_TAG)
			total += f->n[i].count;
	if (!fs || !(fs->leaf = calloc(f->nn ? f->nn : 1, sizeof *fs->leaf)) ||
	    !(fs->idpool = malloc((total ? total : 1) * sizeof *fs->idpool))) {
		vl_fseg_free(fs);
		return VL_ENOMEM;
	}
	fs->f = f;
	fs->s = s;
	uint32_t used = 0;
	for (uint32_t i = 0; i < f->nn; i++) {
		const fnode *n = &f->n[i];
		if (n->op != N_TAG && n->op != N_NUM)
			continue;
		fleaf *l = &fs->leaf[i];
		l->col = vl_segmap_col(s, n->field_id);
		if (n->op != N_TAG || !l->col || l->col->type != VL_FIELD_TAG)
			continue;
		l->ids = fs->idpool + used;
		for (uint32_t k = 0; k < n->count; k++) {
			const fstr *str = &f->strs[n->first + k];
			int64_t tid = vl_tagcol_find(&l->col->tag, f->pool + str->off, str->len);
			if (tid >= 0)
				l->ids[l->nids++] = (uint32_t)tid;
		}
		used += l->nids;
	}
	*out = fs;
	return VL_OK;
}

void vl_fseg_free(vl_fseg *fs)
{
	if (!fs)
		return;
	free(fs->leaf);
	free(fs->idpool);
	free(fs);
}

static int eval_seg(const vl_fseg *fs, uint32_t id, uint32_t row)
{
	const fnode *n = &fs->f->n[id];
	const fleaf *l = &fs->leaf[id];
	switch (n->op) {
	case N_AND:
	case N_OR: {
		/* as eval_rec: loop along the right-deep chain */
		const uint8_t op = n->op;
		const int stop = op == N_OR;
		for (; n->op == op; id = n->b, n = &fs->f->n[id])
			if (eval_seg(fs, n->a, row) == stop)
				return stop;
		return eval_seg(fs, id, row);
	}
	case N_NOT: return !eval_seg(fs, n->a, row);
	case N_TAG:
		if (!l->col || l->col->type != VL_FIELD_TAG)
			return 0;
		for (uint32_t i = 0; i < l->nids; i++)
			if (vl_tagcol_row_has(&l->col->tag, fs->s->nrows, row, l->ids[i]))
				return 1;
		return 0;
	default:
		if (!l->col || l->col->type != VL_FIELD_NUMERIC || row >= fs->s->nrows)
			return 0;
		return num_ok(n, fs->f->nums, l->col->num[row]);
	}
}

int vl_fseg_match(const vl_fseg *fs, uint32_t row)
{
	return eval_seg(fs, fs->f->root, row);
}

double vl_fseg_estimate(const vl_fseg *fs, uint64_t nrows, uint32_t sample)
{
	if (nrows == 0)
		return 0;
	uint64_t n = nrows < sample ? nrows : sample, hit = 0;
	for (uint64_t i = 0; i < n; i++)
		hit += (uint64_t)vl_fseg_match(fs, (uint32_t)(i * nrows / n));
	return (double)hit / (double)n;
}
