/* rdb_inspect.c - collect and print the --inspect report (see rdb_inspect.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rdb_inspect.h"

vl_rdb_inspect *vl_rdb_inspect_new(void)
{
	return calloc(1, sizeof(vl_rdb_inspect));
}

void vl_rdb_inspect_free(vl_rdb_inspect *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->ndbs; i++)
		free(in->dbs[i].prefixes);
	for (size_t i = 0; i < in->ngroups; i++)
		free(in->groups[i].fields);
	free(in);
}

size_t vl_rdb_key_prefix_len(const uint8_t *key, size_t len)
{
	for (size_t i = len; i > 0; i--)
		if (key[i - 1] == ':')
			return i;
	return 0;
}

static size_t clip(size_t n)
{
	return n < VL_RDB_INSPECT_NAME ? n : VL_RDB_INSPECT_NAME;
}

/* An empty key or field name may come with a NULL pointer: memcmp/memcpy
 * must not see it, even for 0 bytes. */
static const uint8_t *nonnull(const uint8_t *p) { return p ? p : (const uint8_t *)""; }

static vl_rdb_ins_db *find_db(vl_rdb_inspect *in, uint64_t db)
{
	for (size_t i = 0; i < in->ndbs; i++)
		if (in->dbs[i].db == db)
			return &in->dbs[i];
	if (in->ndbs == VL_RDB_INSPECT_DBS)
		return NULL;
	vl_rdb_ins_db *d = &in->dbs[in->ndbs];
	d->prefixes = calloc(VL_RDB_INSPECT_PREFIXES, sizeof *d->prefixes);
	if (!d->prefixes)
		return NULL;
	d->db = db;
	in->ndbs++;
	return d;
}

static void count_prefix(vl_rdb_ins_db *d, const uint8_t *p, size_t n, vl_rdb_kind kind)
{
	n = clip(n);
	p = nonnull(p);
	vl_rdb_ins_prefix *x = NULL;
	for (size_t i = 0; i < d->nprefixes && !x; i++)
		if (d->prefixes[i].name_len == n && memcmp(d->prefixes[i].name, p, n) == 0)
			x = &d->prefixes[i];
	if (!x && d->nprefixes < VL_RDB_INSPECT_PREFIXES) {
		x = &d->prefixes[d->nprefixes++];
		memcpy(x->name, p, n);
		x->name_len = n;
	}
	if (!x) {
		d->other_prefix_keys++;
		return;
	}
	x->keys++;
	x->by_kind[kind]++;
}

static vl_rdb_ins_group *find_group(vl_rdb_inspect *in, uint64_t db, const uint8_t *p, size_t n)
{
	n = clip(n);
	p = nonnull(p);
	for (size_t i = 0; i < in->ngroups; i++) {
		vl_rdb_ins_group *g = &in->groups[i];
		if (g->db == db && g->prefix_len == n && memcmp(g->prefix, p, n) == 0)
			return g;
	}
	if (in->ngroups == VL_RDB_INSPECT_GROUPS)
		return NULL;
	vl_rdb_ins_group *g = &in->groups[in->ngroups];
	g->fields = calloc(VL_RDB_INSPECT_FIELDS, sizeof *g->fields);
	if (!g->fields)
		return NULL;
	g->db = db;
	memcpy(g->prefix, p, n);
	g->prefix_len = n;
	memcpy(g->value.name, "(value)", 7);
	g->value.name_len = 7;
	in->ngroups++;
	return g;
}

static void field_add(vl_rdb_ins_field *f, const uint8_t *v, size_t len)
{
	if (f->count == 0 || len < f->min_len)
		f->min_len = len;
	if (len > f->max_len)
		f->max_len = len;
	f->sum_len += len;
	f->count++;
	vl_rdb_vecstat_add(&f->vec, v, len);
	if (f->attr.values < VL_RDB_SAMPLE_VALUES * 10)
		vl_rdb_attrstat_add(&f->attr, v, len);
}

static vl_rdb_ins_field *find_field(vl_rdb_ins_group *g, const uint8_t *name, size_t n)
{
	n = clip(n);
	name = nonnull(name);
	for (size_t i = 0; i < g->nfields; i++)
		if (g->fields[i].name_len == n && memcmp(g->fields[i].name, name, n) == 0)
			return &g->fields[i];
	if (g->nfields == VL_RDB_INSPECT_FIELDS)
		return NULL;
	vl_rdb_ins_field *f = &g->fields[g->nfields++];
	memcpy(f->name, name, n);
	f->name_len = n;
	return f;
}

static vl_rdb_ins_module *find_module(vl_rdb_inspect *in, const char *name, unsigned encver)
{
	for (size_t i = 0; i < in->nmodules; i++)
		if (strcmp(in->modules[i].name, name) == 0 && in->modules[i].encver == encver)
			return &in->modules[i];
	if (in->nmodules == VL_RDB_INSPECT_MODULES)
		return NULL;
	vl_rdb_ins_module *m = &in->modules[in->nmodules++];
	memcpy(m->name, name, 10);
	m->encver = encver;
	return m;
}

/* ---------------------------------------------------------------- */
/* Handlers                                                           */
/* ---------------------------------------------------------------- */

static int h_aux(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	vl_rdb_inspect *in = ud;
	if (kl == 9 && memcmp(k, "redis-ver", 9) == 0)
		snprintf(in->redis_ver, sizeof in->redis_ver, "%.*s", (int)vl, (const char *)v);
	if (in->naux < 32) {
		snprintf(in->aux[in->naux][0], 96, "%.*s", (int)(kl > 95 ? 95 : kl), (const char *)k);
		snprintf(in->aux[in->naux][1], 96, "%.*s", (int)(vl > 95 ? 95 : vl), (const char *)v);
		in->naux++;
	}
	return 0;
}

static int h_key(void *ud, const vl_rdb_key *k)
{
	vl_rdb_inspect *in = ud;
	in->cur = NULL;
	in->cur_mod = NULL;
	in->keys++;
	vl_rdb_ins_db *d = find_db(in, k->db);
	if (!d) {
		in->other_db_keys++;
		return VL_RDB_SKIP;
	}
	d->keys++;
	d->by_kind[k->kind]++;
	d->expires += k->expire_ms != VL_RDB_NO_EXPIRE;
	const size_t pl = vl_rdb_key_prefix_len(k->key, k->key_len);
	count_prefix(d, k->key, pl, k->kind);
	if (k->kind != VL_RDB_KIND_HASH && k->kind != VL_RDB_KIND_STRING)
		return VL_RDB_SKIP;
	vl_rdb_ins_group *g = find_group(in, k->db, k->key, pl);
	if (!g) {
		in->other_group_hashes++;
		return VL_RDB_SKIP;
	}
	if (k->kind == VL_RDB_KIND_HASH)
		g->hashes++;
	else
		g->strings++;
	in->cur = g;
	return VL_RDB_WANT;
}

static int h_elem(void *ud, const vl_rdb_key *k, const vl_rdb_elem *e)
{
	vl_rdb_inspect *in = ud;
	vl_rdb_ins_group *g = in->cur;
	if (!g)
		return 0;
	if (k->kind == VL_RDB_KIND_STRING) {
		field_add(&g->value, e->a, e->a_len);
		return 0;
	}
	vl_rdb_ins_field *f = find_field(g, e->a, e->a_len);
	if (!f) {
		g->other_fields++;
		return 0;
	}
	field_add(f, e->b, e->b_len);
	return 0;
}

static int h_key_end(void *ud, const vl_rdb_key *k, const vl_rdb_value_info *info)
{
	vl_rdb_inspect *in = ud;
	if (k->kind == VL_RDB_KIND_MODULE) {
		vl_rdb_ins_module *m = find_module(in, info->module_name, info->module_encver);
		if (m)
			m->values++;
	}
	in->cur = NULL;
	return 0;
}

static int h_mod_begin(void *ud, const vl_rdb_module_aux *a)
{
	vl_rdb_inspect *in = ud;
	in->cur_mod = find_module(in, a->module_name, a->module_encver);
	if (!in->cur_mod)
		return VL_RDB_SKIP;
	in->cur_mod->aux_records++;
	return VL_RDB_WANT;
}

/* Keep the short printable strings of module aux data: for RediSearch these
 * are index names, field names, key prefixes and vector parameters. */
static int h_mod_item(void *ud, const vl_rdb_module_aux *a, const vl_rdb_elem *e)
{
	vl_rdb_inspect *in = ud;
	vl_rdb_ins_module *m = in->cur_mod;
	(void)a;
	if (!m)
		return 0;
	m->aux_items++;
	if (e->module_op != 5 || e->a_len == 0 || e->a_len > 64)
		return 0;
	size_t n = e->a_len;
	if (e->a[n - 1] == 0)
		n--; /* RediSearch saves names with their NUL */
	if (n == 0 || !vl_rdb_is_text(e->a, n))
		return 0;
	size_t used = strlen(m->strings);
	if (used + n + 3 < sizeof m->strings) {
		if (used)
			memcpy(m->strings + used, ", ", 2), used += 2;
		memcpy(m->strings + used, e->a, n);
		m->strings[used + n] = 0;
	}
	return 0;
}

static int h_mod_end(void *ud, const vl_rdb_module_aux *a)
{
	vl_rdb_inspect *in = ud;
	(void)a;
	in->cur_mod = NULL;
	return 0;
}

static int h_function(void *ud, const uint8_t *code, size_t len)
{
	vl_rdb_inspect *in = ud;
	(void)code;
	(void)len;
	in->functions++;
	return 0;
}

static int h_slot(void *ud, uint64_t slot, uint64_t keys, uint64_t expires)
{
	vl_rdb_inspect *in = ud;
	(void)slot;
	(void)keys;
	(void)expires;
	in->slots++;
	return 0;
}

static const vl_rdb_handlers handlers = {
	.aux = h_aux, .key = h_key, .elem = h_elem, .key_end = h_key_end,
	.module_aux_begin = h_mod_begin, .module_aux_item = h_mod_item, .module_aux_end = h_mod_end,
	.function = h_function, .slot = h_slot,
};

const vl_rdb_handlers *vl_rdb_inspect_handlers(void)
{
	return &handlers;
}

int vl_rdb_inspect_run(vl_rdb_inspect *in, vl_rdb_read_fn rd, void *rd_ud,
                       const vl_rdb_opts *opts, vl_diag *d)
{
	vl_diag local;
	if (!d)
		d = &local;
	in->rc = vl_rdb_parse(rd, rd_ud, opts, &handlers, in, &in->res, d);
	in->version = in->res.version;
	snprintf(in->error, sizeof in->error, "%s", in->rc ? d->msg : "");
	return in->rc;
}

/* ---------------------------------------------------------------- */
/* Printing                                                           */
/* ---------------------------------------------------------------- */

/* Text: printable ASCII as is, other bytes as \xNN. */
static void put_text(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

/* JSON string: bytes outside printable ASCII become \u00XX (a Latin-1
 * reading of binary names; always valid JSON). */
static void put_json(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		const unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, f);
		else
			fprintf(f, "\\u%04x", c);
	}
	fputc('"', f);
}

static void put_json_z(FILE *f, const char *s)
{
	put_json(f, s, strlen(s));
}

static void kinds_text(FILE *f, const uint64_t *by_kind)
{
	int first = 1;
	for (int k = 0; k < VL_RDB_KIND_COUNT; k++) {
		if (!by_kind[k])
			continue;
		fprintf(f, "%s%s %" PRIu64, first ? "" : ", ", vl_rdb_kind_name((vl_rdb_kind)k), by_kind[k]);
		first = 0;
	}
}

static void kinds_json(FILE *f, const uint64_t *by_kind)
{
	fputc('{', f);
	int first = 1;
	for (int k = 0; k < VL_RDB_KIND_COUNT; k++) {
		if (!by_kind[k])
			continue;
		fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", vl_rdb_kind_name((vl_rdb_kind)k),
		        by_kind[k]);
		first = 0;
	}
	fputc('}', f);
}

/* What a field looks like: vector dtype/dim, or attribute type. */
static const char *field_role(const vl_rdb_ins_field *fl, vl_rdb_dtype *dt, uint32_t *dim)
{
	if (vl_rdb_vecstat_guess(&fl->vec, dt, dim))
		return "vector";
	*dt = VL_RDB_DT_NONE;
	*dim = 0;
	return vl_rdb_attr_name(vl_rdb_attr_guess(&fl->attr));
}

static void print_field_text(FILE *f, const vl_rdb_ins_field *fl)
{
	vl_rdb_dtype dt;
	uint32_t dim;
	const char *role = field_role(fl, &dt, &dim);
	fprintf(f, "    ");
	put_text(f, fl->name, fl->name_len);
	fprintf(f, "%*s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %10.1f  ",
	        fl->name_len < 20 ? (int)(20 - fl->name_len) : 0, "", fl->count, fl->min_len,
	        fl->max_len, fl->count ? (double)fl->sum_len / (double)fl->count : 0.0);
	if (dt != VL_RDB_DT_NONE)
		fprintf(f, "vector %s dim %u\n", vl_rdb_dtype_name(dt), dim);
	else
		fprintf(f, "%s%s\n", role, fl->attr.binary ? " (binary)" : "");
}

static void print_text(const vl_rdb_inspect *in, FILE *f)
{
	fprintf(f, "RDB version %d, redis-ver %s, %" PRIu64 " bytes, %" PRIu64 " keys, checksum %s\n",
	        in->version, in->redis_ver[0] ? in->redis_ver : "(none)", in->res.bytes, in->keys,
	        vl_rdb_checksum_name(in->res.checksum));
	if (in->naux) {
		fprintf(f, "aux:");
		for (size_t i = 0; i < in->naux; i++)
			fprintf(f, " %s=%s", in->aux[i][0], in->aux[i][1]);
		fputc('\n', f);
	}
	for (size_t i = 0; i < in->ndbs; i++) {
		const vl_rdb_ins_db *d = &in->dbs[i];
		fprintf(f, "\ndb %" PRIu64 ": %" PRIu64 " keys (", d->db, d->keys);
		kinds_text(f, d->by_kind);
		fprintf(f, "), %" PRIu64 " with an expire time\n", d->expires);
		for (size_t j = 0; j < d->nprefixes; j++) {
			const vl_rdb_ins_prefix *p = &d->prefixes[j];
			fprintf(f, "  prefix \"");
			put_text(f, p->name, p->name_len);
			fprintf(f, "\": %" PRIu64 " keys (", p->keys);
			kinds_text(f, p->by_kind);
			fprintf(f, ")\n");
		}
		if (d->other_prefix_keys)
			fprintf(f, "  (other prefixes): %" PRIu64 " keys\n", d->other_prefix_keys);
	}
	if (in->other_db_keys)
		fprintf(f, "(other dbs): %" PRIu64 " keys\n", in->other_db_keys);
	for (size_t i = 0; i < in->ngroups; i++) {
		const vl_rdb_ins_group *g = &in->groups[i];
		fprintf(f, "\ndb %" PRIu64 " prefix \"", g->db);
		put_text(f, g->prefix, g->prefix_len);
		fprintf(f, "\": %" PRIu64 " hashes, %" PRIu64 " strings\n", g->hashes, g->strings);
		fprintf(f, "    %-20s %8s %8s %8s %10s  %s\n", "field", "count", "min", "max", "avg",
		        "looks like");
		for (size_t j = 0; j < g->nfields; j++)
			print_field_text(f, &g->fields[j]);
		if (g->strings)
			print_field_text(f, &g->value);
		if (g->other_fields)
			fprintf(f, "    (other fields): %" PRIu64 " values\n", g->other_fields);
	}
	fprintf(f, "\ncandidate vector fields:\n");
	int any = 0;
	for (size_t i = 0; i < in->ngroups; i++) {
		const vl_rdb_ins_group *g = &in->groups[i];
		for (size_t j = 0; j <= g->nfields; j++) {
			const vl_rdb_ins_field *fl = j < g->nfields ? &g->fields[j] : &g->value;
			vl_rdb_dtype dt;
			uint32_t dim;
			if (!fl->count || !vl_rdb_vecstat_guess(&fl->vec, &dt, &dim))
				continue;
			fprintf(f, "  db %" PRIu64 " prefix \"", g->db);
			put_text(f, g->prefix, g->prefix_len);
			fprintf(f, "\" field \"");
			put_text(f, fl->name, fl->name_len);
			fprintf(f, "\": %s dim %u (%" PRIu64 " of %" PRIu64 " keys)\n", vl_rdb_dtype_name(dt),
			        dim, fl->count, j < g->nfields ? g->hashes : g->strings);
			any = 1;
		}
	}
	if (!any)
		fprintf(f, "  (none)\n");
	fprintf(f, "\nmodules:%s\n", in->nmodules ? "" : " (none)");
	for (size_t i = 0; i < in->nmodules; i++) {
		const vl_rdb_ins_module *m = &in->modules[i];
		fprintf(f, "  %s encver %u: %" PRIu64 " values, %" PRIu64 " aux records (%" PRIu64
		           " items)%s%s\n",
		        m->name, m->encver, m->values, m->aux_records, m->aux_items,
		        strcmp(m->name, "ft_index0") == 0 ? " [RediSearch index definitions]" : "",
		        strcmp(m->name, "ReJSON-RL") == 0 ? " [RedisJSON documents]" : "");
		if (m->strings[0])
			fprintf(f, "    strings: %s\n", m->strings);
	}
	if (in->functions || in->slots)
		fprintf(f, "functions: %" PRIu64 ", slot records: %" PRIu64 "\n", in->functions, in->slots);
	if (in->rc)
		fprintf(f, "\nERROR: %s\n", in->error);
}

static void print_field_json(FILE *f, const vl_rdb_ins_field *fl)
{
	vl_rdb_dtype dt;
	uint32_t dim;
	const char *role = field_role(fl, &dt, &dim);
	fprintf(f, "{\"name\":");
	put_json(f, fl->name, fl->name_len);
	fprintf(f, ",\"count\":%" PRIu64 ",\"min_len\":%" PRIu64 ",\"max_len\":%" PRIu64
	           ",\"avg_len\":%.1f,\"binary\":%s,",
	        fl->count, fl->min_len, fl->max_len,
	        fl->count ? (double)fl->sum_len / (double)fl->count : 0.0,
	        fl->attr.binary ? "true" : "false");
	if (dt != VL_RDB_DT_NONE)
		fprintf(f, "\"type\":\"vector\",\"dtype\":\"%s\",\"dim\":%u}", vl_rdb_dtype_name(dt), dim);
	else
		fprintf(f, "\"type\":\"%s\"}", role);
}

static void print_json(const vl_rdb_inspect *in, FILE *f)
{
	fprintf(f, "{\"version\":%d,\"redis_ver\":", in->version);
	put_json_z(f, in->redis_ver);
	fprintf(f, ",\"bytes\":%" PRIu64 ",\"keys\":%" PRIu64 ",\"checksum\":\"%s\",\"aux\":{",
	        in->res.bytes, in->keys,
	        in->res.checksum == VL_RDB_CRC_OK         ? "verified"
	        : in->res.checksum == VL_RDB_CRC_DISABLED ? "disabled"
	        : in->res.checksum == VL_RDB_CRC_MISMATCH ? "mismatch"
	                                                   : "absent");
	for (size_t i = 0; i < in->naux; i++) {
		fprintf(f, "%s", i ? "," : "");
		put_json_z(f, in->aux[i][0]);
		fputc(':', f);
		put_json_z(f, in->aux[i][1]);
	}
	fprintf(f, "},\"dbs\":[");
	for (size_t i = 0; i < in->ndbs; i++) {
		const vl_rdb_ins_db *d = &in->dbs[i];
		fprintf(f, "%s{\"db\":%" PRIu64 ",\"keys\":%" PRIu64 ",\"expires\":%" PRIu64 ",\"types\":",
		        i ? "," : "", d->db, d->keys, d->expires);
		kinds_json(f, d->by_kind);
		fprintf(f, ",\"prefixes\":[");
		for (size_t j = 0; j < d->nprefixes; j++) {
			fprintf(f, "%s{\"prefix\":", j ? "," : "");
			put_json(f, d->prefixes[j].name, d->prefixes[j].name_len);
			fprintf(f, ",\"keys\":%" PRIu64 ",\"types\":", d->prefixes[j].keys);
			kinds_json(f, d->prefixes[j].by_kind);
			fputc('}', f);
		}
		fprintf(f, "],\"other_prefix_keys\":%" PRIu64 "}", d->other_prefix_keys);
	}
	fprintf(f, "],\"groups\":[");
	for (size_t i = 0; i < in->ngroups; i++) {
		const vl_rdb_ins_group *g = &in->groups[i];
		fprintf(f, "%s{\"db\":%" PRIu64 ",\"prefix\":", i ? "," : "", g->db);
		put_json(f, g->prefix, g->prefix_len);
		fprintf(f, ",\"hashes\":%" PRIu64 ",\"strings\":%" PRIu64 ",\"fields\":[", g->hashes,
		        g->strings);
		for (size_t j = 0; j < g->nfields; j++) {
			if (j)
				fputc(',', f);
			print_field_json(f, &g->fields[j]);
		}
		fprintf(f, "],\"string_values\":");
		if (g->strings)
			print_field_json(f, &g->value);
		else
			fprintf(f, "null");
		fputc('}', f);
	}
	fprintf(f, "],\"modules\":[");
	for (size_t i = 0; i < in->nmodules; i++) {
		const vl_rdb_ins_module *m = &in->modules[i];
		fprintf(f, "%s{\"name\":", i ? "," : "");
		put_json_z(f, m->name);
		fprintf(f, ",\"encver\":%u,\"values\":%" PRIu64 ",\"aux_records\":%" PRIu64
		           ",\"aux_items\":%" PRIu64 ",\"aux_strings\":",
		        m->encver, m->values, m->aux_records, m->aux_items);
		put_json_z(f, m->strings);
		fputc('}', f);
	}
	fprintf(f, "],\"functions\":%" PRIu64 ",\"error\":", in->functions);
	if (in->rc)
		put_json_z(f, in->error);
	else
		fprintf(f, "null");
	fprintf(f, "}\n");
}

int vl_rdb_inspect_print(const vl_rdb_inspect *in, FILE *out, int json)
{
	if (json)
		print_json(in, out);
	else
		print_text(in, out);
	return ferror(out) ? VL_EIO : 0;
}
