/*
 * rdbimport_plan.c - key selection and pass 1 of `veclite import-rdb`.
 *
 * Pass 1 reads the first RI_SAMPLE_KEYS selected hashes and strings twice
 * (a sample, not the dump: it stops there with VL_ECANCELED):
 *   1a: value statistics per (db, hash field) and per db for string values
 *       decide the vector field, its dtype and dim, and the database;
 *   1b: attribute statistics, only over the hashes holding that vector
 *       field, decide the attribute fields and their types.
 * Options given on the command line override each decision.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdbimport.h"

const char *ri_skip_name(int reason)
{
	static const char *const names[RI_SKIP_COUNT] = { "wrong_length", "non_finite", "no_vector",
		                                          "bad_key", "expired" };
	return reason >= 0 && reason < RI_SKIP_COUNT ? names[reason] : "?";
}

const char *ri_drop_name(int reason)
{
	static const char *const names[RI_DROP_COUNT] = { "unknown_field", "not_numeric",
		                                          "bad_field_name", "expired_field" };
	return reason >= 0 && reason < RI_DROP_COUNT ? names[reason] : "?";
}

/* ---- selection ------------------------------------------------------------- */

/* One pattern element against byte c; *used = pattern bytes it took. */
static int glob_one(const char *p, size_t pl, uint8_t c, size_t *used)
{
	if (p[0] == '?') {
		*used = 1;
		return 1;
	}
	if (p[0] == '\\' && pl > 1) {
		*used = 2;
		return (uint8_t)p[1] == c;
	}
	if (p[0] != '[') {
		*used = 1;
		return (uint8_t)p[0] == c;
	}
	size_t i = 1;
	int neg = 0, hit = 0;
	if (i < pl && p[i] == '^') {
		neg = 1;
		i++;
	}
	for (; i < pl && p[i] != ']'; i++) {
		if (p[i] == '\\' && i + 1 < pl) {
			i++;
			hit |= (uint8_t)p[i] == c;
		} else if (i + 2 < pl && p[i + 1] == '-' && p[i + 2] != ']') {
			uint8_t lo = (uint8_t)p[i], hi = (uint8_t)p[i + 2];
			if (lo > hi) {
				uint8_t t = lo;
				lo = hi;
				hi = t;
			}
			hit |= c >= lo && c <= hi;
			i += 2;
		} else {
			hit |= (uint8_t)p[i] == c;
		}
	}
	*used = i < pl ? i + 1 : i; /* an unterminated class runs to the end */
	return neg ? !hit : hit;
}

int ri_glob(const char *pat, const uint8_t *s, size_t n)
{
	const size_t pl = strlen(pat);
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
	while (si < n) {
		if (pi < pl) {
			if (pat[pi] == '*') {
				star_p = ++pi;
				star_s = si;
				continue;
			}
			size_t used;
			if (glob_one(pat + pi, pl - pi, s[si], &used)) {
				pi += used;
				si++;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return 0;
		pi = star_p; /* let the last '*' take one more byte */
		si = ++star_s;
	}
	while (pi < pl && pat[pi] == '*')
		pi++;
	return pi == pl;
}

int ri_key_selected(const ri_opts *o, const ri_plan *pl, int check_db, const vl_rdb_key *k)
{
	if (check_db && !pl->db_all && k->db != pl->db)
		return 0;
	if (o->prefixes.n) {
		int ok = 0;
		for (size_t i = 0; i < o->prefixes.n && !ok; i++) {
			const size_t n = strlen(o->prefixes.v[i]);
			ok = k->key_len >= n && memcmp(k->key, o->prefixes.v[i], n) == 0;
		}
		if (!ok)
			return 0;
	}
	return !o->match || ri_glob(o->match, k->key, k->key_len);
}

int64_t ri_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t ri_rdb_flags(const ri_opts *o)
{
	return o->ignore_checksum ? VL_RDB_IGNORE_CHECKSUM : 0;
}

/* ---- pass 1 statistics --------------------------------------------------------- */

#define MAX_DBS 16

typedef struct fstat {
	uint64_t db;
	uint8_t *name;
	size_t len;
	uint64_t count;
	vl_rdb_vecstat vec;
} fstat;

typedef struct astat {
	uint8_t *name;
	size_t len;
	vl_rdb_attrstat attr;
} astat;

/* Stats keyed by (db, name): vector candidates (1a), or by name (1b). */
typedef struct ftable {
	fstat *f;
	astat *a;
	size_t n;
	uint32_t slots[2 * RI_MAX_FIELDS];
	uint64_t overflow;
} ftable;

typedef struct sampler {
	const ri_opts *o;
	ri_plan *pl;
	ri_input *in;
	int stage;              /* 1 = vectors (1a), 2 = attributes (1b) */
	uint64_t budget, keys;
	int budget_hit;
	ftable t;
	/* strings per db (1a) */
	uint64_t sdb[MAX_DBS];
	vl_rdb_vecstat svec[MAX_DBS];
	size_t nsdb;
	/* the current hash's fields (1b): kept until we know it has the vector */
	struct {
		size_t name_off, name_len, val_off, val_len;
	} *pairs;
	size_t npairs, pcap;
	uint8_t *buf;
	size_t blen, bcap;
	int cur_has_vec, cur_want;
	int64_t now_ms;
} sampler;

static uint64_t hash_name(uint64_t db, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ db;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Find or add (db, name). NULL when the table is full. */
static size_t table_find(ftable *t, int attrs, uint64_t db, const uint8_t *name, size_t len)
{
	const size_t mask = 2 * RI_MAX_FIELDS - 1;
	for (size_t i = hash_name(db, name, len) & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];
		if (s == 0) {
			if (t->n == RI_MAX_FIELDS)
				return SIZE_MAX;
			uint8_t *copy = malloc(len ? len : 1);
			if (!copy)
				return SIZE_MAX;
			memcpy(copy, name, len);
			size_t k = t->n++;
			if (attrs) {
				t->a[k].name = copy;
				t->a[k].len = len;
			} else {
				t->f[k].db = db;
				t->f[k].name = copy;
				t->f[k].len = len;
			}
			t->slots[i] = (uint32_t)k + 1;
			return k;
		}
		const size_t k = s - 1;
		if (attrs ? (t->a[k].len == len && memcmp(t->a[k].name, name, len) == 0)
		          : (t->f[k].db == db && t->f[k].len == len && memcmp(t->f[k].name, name, len) == 0))
			return k;
	}
}

static int buf_put(sampler *s, const uint8_t *p, size_t n, size_t *off)
{
	if (s->blen + n > s->bcap) {
		size_t cap = s->bcap ? s->bcap : 65536;
		while (cap < s->blen + n)
			cap *= 2;
		uint8_t *q = realloc(s->buf, cap);
		if (!q)
			return VL_ENOMEM;
		s->buf = q;
		s->bcap = cap;
	}
	memcpy(s->buf + s->blen, p, n);
	*off = s->blen;
	s->blen += n;
	return 0;
}

static int s_key(void *ud, const vl_rdb_key *k)
{
	sampler *s = ud;
	s->cur_want = 0;
	if (!ri_key_selected(s->o, s->pl, s->stage == 2 || s->o->db_given || s->o->db_all, k))
		return VL_RDB_SKIP;
	if (k->kind != VL_RDB_KIND_HASH && k->kind != VL_RDB_KIND_STRING)
		return VL_RDB_SKIP;
	if (s->stage == 2 && (k->kind != VL_RDB_KIND_HASH || !s->pl->hashes))
		return VL_RDB_SKIP;
	if (s->keys >= s->budget) {
		s->budget_hit = 1;
		return VL_ECANCELED;
	}
	s->keys++;
	if (s->stage == 1) {
		if (k->kind == VL_RDB_KIND_HASH)
			s->pl->sampled_hashes++;
		else
			s->pl->sampled_strings++;
	}
	s->npairs = 0;
	s->blen = 0;
	s->cur_has_vec = 0;
	s->cur_want = 1;
	return VL_RDB_WANT;
}

static int stage1_elem(sampler *s, const vl_rdb_key *k, const vl_rdb_elem *e)
{
	if (k->kind == VL_RDB_KIND_STRING) {
		size_t i = 0;
		while (i < s->nsdb && s->sdb[i] != k->db)
			i++;
		if (i == s->nsdb) {
			if (s->nsdb == MAX_DBS)
				return 0;
			s->sdb[s->nsdb++] = k->db;
		}
		vl_rdb_vecstat_add(&s->svec[i], e->a, e->a_len);
		return 0;
	}
	size_t i = table_find(&s->t, 0, k->db, e->a, e->a_len);
	if (i == SIZE_MAX) {
		s->t.overflow++;
		return 0;
	}
	s->t.f[i].count++;
	vl_rdb_vecstat_add(&s->t.f[i].vec, e->b, e->b_len);
	return 0;
}

static int s_elem(void *ud, const vl_rdb_key *k, const vl_rdb_elem *e)
{
	sampler *s = ud;
	if (!s->cur_want)
		return 0;
	if (s->stage == 1)
		return stage1_elem(s, k, e);
	if (e->expire_ms != VL_RDB_NO_EXPIRE && e->expire_ms <= s->now_ms)
		return 0;
	const ri_plan *pl = s->pl;
	if (e->a_len == pl->vfield_len && memcmp(e->a, pl->vfield, e->a_len) == 0) {
		s->cur_has_vec = 1;
		return 0;
	}
	if (s->npairs == s->pcap) {
		size_t cap = s->pcap ? s->pcap * 2 : 64;
		void *q = realloc(s->pairs, cap * sizeof *s->pairs);
		if (!q)
			return VL_ENOMEM;
		s->pairs = q;
		s->pcap = cap;
	}
	int rc = buf_put(s, e->a, e->a_len, &s->pairs[s->npairs].name_off);
	if (rc == 0)
		rc = buf_put(s, e->b, e->b_len, &s->pairs[s->npairs].val_off);
	if (rc)
		return rc;
	s->pairs[s->npairs].name_len = e->a_len;
	s->pairs[s->npairs].val_len = e->b_len;
	s->npairs++;
	return 0;
}

static int s_key_end(void *ud, const vl_rdb_key *k, const vl_rdb_value_info *info)
{
	sampler *s = ud;
	(void)k;
	(void)info;
	if (s->stage != 2 || !s->cur_want || !s->cur_has_vec)
		return 0;
	for (size_t i = 0; i < s->npairs; i++) {
		const uint8_t *name = s->buf + s->pairs[i].name_off;
		size_t j = table_find(&s->t, 1, 0, name, s->pairs[i].name_len);
		if (j == SIZE_MAX) {
			s->t.overflow++;
			continue;
		}
		vl_rdb_attrstat_add(&s->t.a[j].attr, s->buf + s->pairs[i].val_off, s->pairs[i].val_len);
	}
	return 0;
}

static int s_aux(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	sampler *s = ud;
	if (kl == 9 && memcmp(k, "redis-ver", 9) == 0)
		snprintf(s->pl->redis_ver, sizeof s->pl->redis_ver, "%.*s", (int)vl, (const char *)v);
	return 0;
}

/* Run one sampling parse. CLI_OK when it stopped at the budget or read the
 * whole dump; an error of the dump itself is printed. */
static int sample_run(sampler *s)
{
	static const vl_rdb_handlers h = { .aux = s_aux, .key = s_key, .elem = s_elem,
		                           .key_end = s_key_end };
	if (ri_input_rewind(s->in, 1))
		return CLI_ERR;
	vl_rdb_opts ro = VL_RDB_OPTS_INIT;
	ro.flags = ri_rdb_flags(s->o);
	vl_rdb_result res;
	vl_diag d;
	s->keys = 0;
	s->budget_hit = 0;
	int rc = vl_rdb_parse(ri_input_read, s->in, &ro, &h, s, &res, &d);
	s->pl->rdb_version = res.version;
	if ((rc == VL_ECANCELED && s->budget_hit) || (rc == VL_ELIMIT && s->in->full))
		return CLI_OK; /* a sample: the budget, or a pipe's kept prefix, is used up */
	if (rc)
		return cli_error("%s: %s (%s)", s->o->dump, d.msg, vl_strerror(rc));
	s->pl->sample_complete = 1;
	return CLI_OK;
}

/* ---- decisions ------------------------------------------------------------------ */

/* Field name for messages: printable ASCII as is, other bytes as \xNN. */
static void show_name(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
	}
	out[o] = 0;
}

static int valid_field_name(const uint8_t *p, size_t n)
{
	return n >= 1 && n <= RI_FIELD_NAME_MAX && memchr(p, 0, n) == NULL;
}

/* dtype and dim of a candidate, honouring --dtype/--dim. 0 or an error message. */
static int shape_of(const ri_opts *o, const vl_rdb_vecstat *v, const char *what, vl_rdb_dtype *dt,
                    uint32_t *dim)
{
	vl_rdb_dtype g = VL_RDB_DT_NONE;
	uint32_t gdim = 0;
	const int guessed = vl_rdb_vecstat_guess(v, &g, &gdim);
	const uint64_t len = vl_rdb_vecstat_modal_len(v, NULL);
	vl_rdb_dtype t = o->dtype;
	if (t == VL_RDB_DT_NONE && o->dim && len % o->dim == 0) {
		/* --dim alone: the element size it implies, if it names one type */
		const uint64_t sz = len / o->dim;
		if (guessed && vl_rdb_dtype_size(g) == sz)
			t = g;
		else if (sz == 4)
			t = VL_RDB_DT_F32;
		else if (sz == 8)
			t = VL_RDB_DT_F64;
	}
	if (t == VL_RDB_DT_NONE)
		t = guessed ? g : VL_RDB_DT_F32;
	const size_t sz = vl_rdb_dtype_size(t);
	if (len == 0 || len % sz)
		return cli_error("%s: its values are %" PRIu64 " bytes long, not a multiple of %s's %zu "
		                 "bytes (use --dtype)",
		                 what, len, vl_rdb_dtype_name(t), sz);
	if (o->dim && len / sz != o->dim)
		return cli_error("%s: its values are %" PRIu64 " bytes long: %" PRIu64 " %s components, "
		                 "not --dim %u",
		                 what, len, len / sz, vl_rdb_dtype_name(t), o->dim);
	if (len / sz > VL_DIM_MAX)
		return cli_error("%s: %" PRIu64 " components exceed veclite's %u", what, len / sz,
		                 VL_DIM_MAX);
	*dt = t;
	*dim = (uint32_t)(len / sz);
	return CLI_OK;
}

static int candidate_ok(const ri_opts *o, const vl_rdb_vecstat *v)
{
	vl_rdb_dtype t;
	uint32_t dim;
	if (!vl_rdb_vecstat_guess(v, &t, &dim))
		return 0;
	if (o->dtype != VL_RDB_DT_NONE) {
		const uint64_t len = vl_rdb_vecstat_modal_len(v, NULL);
		if (len % vl_rdb_dtype_size(o->dtype))
			return 0;
		dim = (uint32_t)(len / vl_rdb_dtype_size(o->dtype));
	}
	return !o->dim || dim == o->dim || vl_rdb_vecstat_modal_len(v, NULL) % o->dim == 0;
}

/* Pick the database among those where the vector source was seen. */
static int pick_db(const ri_opts *o, ri_plan *pl, const uint64_t *dbs, size_t n, const char *what)
{
	if (o->db_all) {
		pl->db_all = 1;
		return CLI_OK;
	}
	if (o->db_given) {
		pl->db = o->db;
		return CLI_OK;
	}
	if (n > 1) {
		char list[256];
		size_t k = 0;
		for (size_t i = 0; i < n && k + 24 < sizeof list; i++)
			k += (size_t)snprintf(list + k, sizeof list - k, "%s%" PRIu64, i ? ", " : "", dbs[i]);
		return cli_error("%s found in databases %s: choose one with --db N (or --db all; keys "
		                 "present in several databases then keep the last one read)",
		                 what, list);
	}
	pl->db = n ? dbs[0] : 0;
	return CLI_OK;
}

static void list_fields(const sampler *s, char *out, size_t cap)
{
	size_t k = 0;
	out[0] = 0;
	for (size_t i = 0; i < s->t.n && k + 80 < cap; i++) {
		char nm[64];
		show_name(nm, sizeof nm, s->t.f[i].name, s->t.f[i].len > 40 ? 40 : s->t.f[i].len);
		uint64_t ml = vl_rdb_vecstat_modal_len(&s->t.f[i].vec, NULL);
		k += (size_t)snprintf(out + k, cap - k, "%s\"%s\" (%" PRIu64 "x, %" PRIu64 " bytes)",
		                      k ? ", " : "", nm, s->t.f[i].count, ml);
	}
}

/* Stage 1a decisions: vector source, dtype, dim, db. */
static int decide_vectors(sampler *s)
{
	const ri_opts *o = s->o;
	ri_plan *pl = s->pl;
	uint64_t dbs[MAX_DBS];
	size_t ndbs = 0;
	const fstat *first = NULL;
	char what[320], nm[200];
	/* hash candidates */
	for (size_t i = 0; i < s->t.n; i++) {
		const fstat *f = &s->t.f[i];
		int match;
		if (o->vector_field)
			match = f->len == strlen(o->vector_field) && memcmp(f->name, o->vector_field, f->len) == 0;
		else
			match = candidate_ok(o, &f->vec);
		if (!match)
			continue;
		if (first && (first->len != f->len || memcmp(first->name, f->name, f->len) != 0)) {
			char a[64], b[64];
			show_name(a, sizeof a, first->name, first->len);
			show_name(b, sizeof b, f->name, f->len);
			return cli_error("several hash fields look like vectors (\"%s\", \"%s\"): name one "
			                 "with --vector-field (or narrow the keys with --prefix/--match)",
			                 a, b);
		}
		if (!first)
			first = f;
		size_t j = 0;
		while (j < ndbs && dbs[j] != f->db)
			j++;
		if (j == ndbs && ndbs < MAX_DBS)
			dbs[ndbs++] = f->db;
	}
	if (first) {
		show_name(nm, sizeof nm, first->name, first->len);
		snprintf(what, sizeof what, "hash field \"%s\"", nm);
		/* with --db all the first db's statistics decide; keys of another
		 * shape in other dbs are then skipped as wrong_length */
		int rc = shape_of(o, &first->vec, what, &pl->dtype, &pl->dim);
		if (rc == CLI_OK)
			rc = pick_db(o, pl, dbs, ndbs, what);
		if (rc)
			return rc;
		pl->hashes = 1;
		pl->vfield = malloc(first->len ? first->len : 1);
		if (!pl->vfield)
			return cli_error("out of memory");
		memcpy(pl->vfield, first->name, first->len);
		pl->vfield_len = first->len;
		for (size_t i = 0; i < s->nsdb; i++) {
			vl_rdb_dtype t;
			uint32_t d;
			if (vl_rdb_vecstat_guess(&s->svec[i], &t, &d))
				pl->other_vector_strings = 1;
		}
		if (o->strings) {
			pl->strings = 1;
			pl->other_vector_strings = 0;
		}
		return CLI_OK;
	}
	if (o->vector_field) {
		char fl[1024];
		list_fields(s, fl, sizeof fl);
		return cli_error("no selected hash has a field \"%s\" (sampled %" PRIu64 " hashes%s%s)",
		                 o->vector_field, pl->sampled_hashes, fl[0] ? "; fields: " : "", fl);
	}
	/* string keys holding vectors */
	const vl_rdb_vecstat *sv = NULL;
	for (size_t i = 0; i < s->nsdb; i++) {
		if (!o->strings && !candidate_ok(o, &s->svec[i]))
			continue;
		if (!sv)
			sv = &s->svec[i];
		if (!o->db_given || s->sdb[i] == o->db)
			dbs[ndbs++] = s->sdb[i];
		if (o->db_given && s->sdb[i] == o->db)
			sv = &s->svec[i];
	}
	if (sv) {
		int rc = shape_of(o, sv, "string values", &pl->dtype, &pl->dim);
		if (rc == CLI_OK)
			rc = pick_db(o, pl, dbs, ndbs, "string keys holding vectors");
		if (rc)
			return rc;
		pl->strings = 1;
		return CLI_OK;
	}
	char fl[1024];
	list_fields(s, fl, sizeof fl);
	return cli_error("no vector field found in %" PRIu64 " sampled hashes and %" PRIu64
	                 " strings%s%s; name it with --vector-field (and --dtype/--dim)",
	                 pl->sampled_hashes, pl->sampled_strings, fl[0] ? " (hash fields: " : "",
	                 fl[0] ? fl : "");
}

static const ri_fieldspec *given_field(const ri_opts *o, const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < o->nfields; i++)
		if (strlen(o->fields[i].name) == len && memcmp(o->fields[i].name, name, len) == 0)
			return &o->fields[i];
	return NULL;
}

static int add_attr(ri_plan *pl, const uint8_t *name, size_t len, int type, uint64_t seen)
{
	ri_attr *a = realloc(pl->attrs, (pl->nattrs + 1) * sizeof *a);
	if (!a)
		return cli_error("out of memory");
	pl->attrs = a;
	a = &pl->attrs[pl->nattrs];
	memset(a, 0, sizeof *a);
	if (!(a->name = malloc(len + 1)))
		return cli_error("out of memory");
	memcpy(a->name, name, len);
	a->name[len] = 0;
	a->len = len;
	a->skip = type == RI_FIELD_SKIP;
	a->type = a->skip ? VL_FIELD_TEXT : (vl_field_type)type;
	a->seen = seen;
	pl->nattrs++;
	return CLI_OK;
}

static int index_attrs(ri_plan *pl)
{
	pl->nslots = 16;
	while (pl->nslots < 2 * pl->nattrs)
		pl->nslots *= 2;
	pl->slots = calloc(pl->nslots, sizeof *pl->slots);
	if (!pl->slots)
		return cli_error("out of memory");
	for (size_t i = 0; i < pl->nattrs; i++) {
		size_t j = hash_name(0, (const uint8_t *)pl->attrs[i].name, pl->attrs[i].len) & (pl->nslots - 1);
		while (pl->slots[j])
			j = (j + 1) & (pl->nslots - 1);
		pl->slots[j] = (uint32_t)i + 1;
	}
	return CLI_OK;
}

const ri_attr *ri_plan_attr(const ri_plan *pl, const uint8_t *name, size_t len)
{
	if (!pl->nslots)
		return NULL;
	for (size_t j = hash_name(0, name, len) & (pl->nslots - 1);; j = (j + 1) & (pl->nslots - 1)) {
		uint32_t s = pl->slots[j];
		if (!s)
			return NULL;
		const ri_attr *a = &pl->attrs[s - 1];
		if (a->len == len && memcmp(a->name, name, len) == 0)
			return a;
	}
}

static const ri_attr *ri_plan_attr_linear(const ri_plan *pl, const char *name, size_t len)
{
	for (size_t i = 0; i < pl->nattrs; i++)
		if (pl->attrs[i].len == len && memcmp(pl->attrs[i].name, name, len) == 0)
			return &pl->attrs[i];
	return NULL;
}

/* Stage 1b decisions: attribute fields (sampled ones, then --field ones). */
static int decide_attrs(sampler *s)
{
	const ri_opts *o = s->o;
	ri_plan *pl = s->pl;
	int rc;
	for (size_t i = 0; i < s->t.n; i++) {
		const astat *a = &s->t.a[i];
		if (!valid_field_name(a->name, a->len))
			continue; /* its values are dropped (bad_field_name) */
		const ri_fieldspec *g = given_field(o, a->name, a->len);
		int type = g ? g->type : (int)vl_rdb_attr_guess(&a->attr);
		if ((rc = add_attr(pl, a->name, a->len, type, a->attr.values)))
			return rc;
	}
	for (size_t i = 0; i < o->nfields; i++) {
		const size_t len = strlen(o->fields[i].name);
		if (ri_plan_attr_linear(pl, o->fields[i].name, len))
			continue;
		if (pl->vfield && len == pl->vfield_len && memcmp(o->fields[i].name, pl->vfield, len) == 0)
			return cli_usage_error("--field %s: that is the vector field", o->fields[i].name);
		if ((rc = add_attr(pl, (const uint8_t *)o->fields[i].name, len, o->fields[i].type, 0)))
			return rc;
	}
	return index_attrs(pl);
}

int ri_plan_build(const ri_opts *o, ri_input *in, ri_plan *pl)
{
	memset(pl, 0, sizeof *pl);
	sampler *s = calloc(1, sizeof *s);
	if (!s)
		return cli_error("out of memory");
	int rc = CLI_ERR;
	s->o = o;
	s->pl = pl;
	s->in = in;
	s->budget = o->sample ? o->sample : RI_SAMPLE_KEYS;
	s->now_ms = ri_now_ms();
	pl->db = o->db;
	pl->db_all = o->db_all;
	s->t.f = calloc(RI_MAX_FIELDS, sizeof *s->t.f);
	if (!s->t.f) {
		rc = cli_error("out of memory");
		goto out;
	}
	s->stage = 1;
	if ((rc = sample_run(s)) || (rc = decide_vectors(s)))
		goto out;
	for (size_t i = 0; i < s->t.n; i++)
		free(s->t.f[i].name);
	free(s->t.f);
	s->t.f = NULL;
	memset(&s->t, 0, sizeof s->t);
	if (pl->hashes) {
		s->t.a = calloc(RI_MAX_FIELDS, sizeof *s->t.a);
		if (!s->t.a) {
			rc = cli_error("out of memory");
			goto out;
		}
		s->stage = 2;
		if ((rc = sample_run(s)))
			goto out;
	}
	rc = decide_attrs(s);
out:
	if (s->t.f)
		for (size_t i = 0; i < s->t.n; i++)
			free(s->t.f[i].name);
	if (s->t.a)
		for (size_t i = 0; i < s->t.n; i++)
			free(s->t.a[i].name);
	free(s->t.f);
	free(s->t.a);
	free(s->pairs);
	free(s->buf);
	free(s);
	return rc;
}

void ri_plan_free(ri_plan *pl)
{
	for (size_t i = 0; i < pl->nattrs; i++)
		free(pl->attrs[i].name);
	free(pl->attrs);
	free(pl->slots);
	free(pl->vfield);
	memset(pl, 0, sizeof *pl);
}
