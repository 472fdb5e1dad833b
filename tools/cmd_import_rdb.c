/* cmd_import_rdb.c - veclite import-rdb: a Redis dump file into a collection. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdb/rdb_inspect.h"
#include "rdbimport.h"

static void help(void)
{
	printf("usage: veclite import-rdb DUMP.rdb STORE [-c NAME] [options]   (DUMP - = stdin)\n"
	       "       veclite import-rdb --inspect DUMP.rdb [--json] [--ignore-checksum]\n\n"
	       "Import the vectors of a Redis dump file (RDB 1-12; no Redis needed) into a\n"
	       "collection, in one atomic bulk load: hashes whose field holds a vector blob\n"
	       "(Redis, RedisVL, LangChain, LlamaIndex layouts) or strings holding vector bytes.\n"
	       "The Redis key becomes the veclite key; the hash's other fields become attributes.\n"
	       "With no options the vector field, dtype, dim and field types are detected from\n"
	       "a sample of the dump. The collection is created unless it exists (then its dim\n"
	       "and metric must match; missing fields are added).\n\n"
	       "  -c, --collection NAME    collection (default: default)\n"
	       "      --inspect            describe the dump (versions, keys by db/type/prefix,\n"
	       "                           hash fields, vector candidates, modules); writes nothing\n"
	       "      --db N|all           database to import (default: the one holding the vectors)\n"
	       "      --prefix P           only keys starting with P (repeatable: any of them)\n"
	       "      --match GLOB         only keys matching the Redis pattern (*, ?, [a-z], \\x)\n"
	       "      --vector-field NAME  the hash field holding the vectors (default: detected)\n"
	       "      --dtype T            float32, float64, float16, bfloat16: the stored element\n"
	       "                           type (default: detected); converted to float32\n"
	       "      --dim D              vector dimension (default: value length / dtype size)\n"
	       "      --metric M           l2 (default), ip, cosine\n"
	       "      --field NAME:TYPE    attribute type: tag, text, numeric, or skip (leave the\n"
	       "                           field out); other fields' types are detected\n"
	       "      --strings            also import string keys holding raw vector bytes (they\n"
	       "                           are imported by default only when no hash has vectors)\n"
	       "      --index KIND         index of a new collection (flat, vamana, ...)\n"
	       "      --storage TYPE       storage type of a new collection\n"
	       "      --set PARAM=VALUE    parameter of a new collection (repeatable)\n"
	       "      --threads N          threads for the index build (default: all cores)\n"
	       "      --sample N           keys read by the detection pass (default %u)\n"
	       "      --strict             fail on a wrong-length or NaN vector, a hash without the\n"
	       "                           vector, a bad key or a field value that cannot be kept,\n"
	       "                           instead of counting and skipping it\n"
	       "      --ignore-checksum    accept a dump whose CRC-64 trailer does not match\n"
	       "      --json               print the summary (or the --inspect report) as JSON\n"
	       "      --quiet              no progress bar\n\n"
	       "DUMP may be a pipe or - (standard input): the detection pass then keeps what it\n"
	       "reads (at most 64 MiB) and the import replays it.\n"
	       "Keys whose expire time has passed are skipped (Redis would drop them too).\n"
	       "A failed or interrupted import leaves the store as it was.\n",
	       RI_SAMPLE_KEYS);
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second signal kills at once (still atomic) */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int parse_field(const char *spec, ri_fieldspec *f)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec)
		return cli_usage_error("--field '%s': expected NAME:tag|text|numeric|skip", spec);
	const char *t = colon + 1;
	if (!strcmp(t, "tag"))
		f->type = VL_FIELD_TAG;
	else if (!strcmp(t, "text"))
		f->type = VL_FIELD_TEXT;
	else if (!strcmp(t, "numeric") || !strcmp(t, "num"))
		f->type = VL_FIELD_NUMERIC;
	else if (!strcmp(t, "skip"))
		f->type = RI_FIELD_SKIP;
	else
		return cli_usage_error("--field '%s': type '%s' is not tag, text, numeric or skip", spec, t);
	if ((size_t)(colon - spec) > RI_FIELD_NAME_MAX)
		return cli_usage_error("--field '%s': names are at most %u bytes", spec, RI_FIELD_NAME_MAX);
	if (!(f->name = strndup(spec, (size_t)(colon - spec))))
		return cli_error("out of memory");
	return CLI_OK;
}

static int inspect(const ri_opts *o)
{
	ri_input input;
	if (ri_input_open(&input, o->dump, NULL))
		return CLI_ERR;
	vl_rdb_inspect *in = vl_rdb_inspect_new();
	if (!in) {
		ri_input_close(&input);
		return cli_error("out of memory");
	}
	vl_rdb_opts ro = VL_RDB_OPTS_INIT;
	ro.flags = ri_rdb_flags(o);
	vl_diag d;
	int rc = vl_rdb_inspect_run(in, ri_input_read, &input, &ro, &d);
	ri_input_close(&input);
	int pr = vl_rdb_inspect_print(in, stdout, o->json);
	vl_rdb_inspect_free(in);
	if (fflush(stdout) != 0 || pr)
		return cli_error("writing the report failed");
	if (rc)
		return cli_error("%s: %s (%s)", o->dump, d.msg, vl_strerror(rc));
	return CLI_OK;
}

/* ---- the collection -------------------------------------------------------------------- */

static const char *type_name(const ri_attr *a)
{
	return a->skip ? "skip" : cli_field_type_name(a->type);
}

static int given_type(const ri_opts *o, const char *name, int *type)
{
	for (size_t i = 0; i < o->nfields; i++)
		if (!strcmp(o->fields[i].name, name)) {
			*type = o->fields[i].type;
			return 1;
		}
	return 0;
}

/* Check an existing collection against the plan; add the fields it lacks. */
static int fit_existing(const ri_opts *o, ri_plan *pl, vl_store *st, vl_collection *c,
                        size_t *added)
{
	if (o->index || o->storage || o->params.n)
		return cli_usage_error("collection '%s' exists: --index, --storage and --set apply only "
		                       "to a collection import-rdb creates",
		                       o->coll);
	vl_info *inf;
	int vr = vl_collection_info(c, &inf);
	if (vr)
		return cli_fail(st, vr, "info");
	int rc = CLI_OK;
	if (inf->dim != pl->dim) {
		rc = cli_error("collection '%s' has dim %u but the dump's vectors have %u components (%s); "
		               "import into another collection (-c)",
		               o->coll, inf->dim, pl->dim, vl_rdb_dtype_name(pl->dtype));
		goto out;
	}
	if (o->metric_given && o->metric != inf->metric) {
		rc = cli_error("collection '%s' uses metric %s, not --metric %s", o->coll,
		               cli_metric_name(inf->metric), cli_metric_name(o->metric));
		goto out;
	}
	for (size_t i = 0; i < pl->nattrs && rc == CLI_OK; i++) {
		ri_attr *a = &pl->attrs[i];
		if (a->skip)
			continue;
		int found = 0, gt;
		for (size_t j = 0; j < inf->nfields && !found; j++) {
			if (strcmp(inf->fields[j].name, a->name) != 0)
				continue;
			found = 1;
			if (inf->fields[j].type != a->type && given_type(o, a->name, &gt))
				rc = cli_error("field '%s' is %s in collection '%s', not --field %s:%s", a->name,
				               cli_field_type_name(inf->fields[j].type), o->coll, a->name,
				               cli_field_type_name(a->type));
			a->type = inf->fields[j].type; /* the collection decides */
		}
		if (found || rc)
			continue;
		vl_field f = { a->name, a->type };
		if ((vr = vl_collection_add_field(st, o->coll, &f)) && vr != VL_EEXIST) {
			rc = cli_fail(st, vr, "adding a field");
			break;
		}
		(*added)++;
	}
out:
	vl_info_free(inf);
	return rc;
}

/* The schema of the collection the import creates (*fields: caller frees). */
static int new_schema(const ri_opts *o, const ri_plan *pl, vl_schema *sc, vl_field **fields)
{
	*sc = (vl_schema)VL_SCHEMA_INIT;
	sc->dim = pl->dim;
	sc->metric = o->metric_given ? o->metric : VL_METRIC_L2;
	sc->index = o->index;
	sc->storage = o->storage;
	sc->params = (const char *const *)o->params.v;
	sc->nparams = o->params.n;
	vl_field *f = calloc(pl->nattrs + 1, sizeof *f);
	if (!f)
		return cli_error("out of memory");
	for (size_t i = 0; i < pl->nattrs; i++)
		if (!pl->attrs[i].skip)
			f[sc->nfields++] = (vl_field){ pl->attrs[i].name, pl->attrs[i].type };
	sc->fields = f;
	*fields = f;
	return CLI_OK;
}

/* ---- summary ----------------------------------------------------------------------------- */

static void show_bytes(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
	}
	out[o] = 0;
}

static uint64_t sum(const uint64_t *v, int n)
{
	uint64_t s = 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

static const char *source_name(const ri_plan *pl)
{
	return pl->hashes && pl->strings ? "hash+string" : pl->hashes ? "hash" : "string";
}

static void summary_text(const ri_opts *o, const ri_plan *pl, const ri_stats *s, const vl_info *inf,
                         int created, size_t added)
{
	char vf[300];
	show_bytes(vf, sizeof vf, pl->vfield ? pl->vfield : (const uint8_t *)"", pl->vfield_len);
	const double mbs = s->seconds > 0 ? (double)s->res.bytes / 1e6 / s->seconds : 0;
	printf("imported %" PRIu64 " keys into collection '%s'%s in %.2f s (%.1f MB/s; read %.2f s, "
	       "commit %.2f s)\n",
	       s->imported, o->coll, created ? " (created)" : "", s->seconds, mbs, s->read_seconds,
	       s->commit_seconds);
	printf("  dump: RDB %d, redis %s, %" PRIu64 " bytes, %" PRIu64 " keys, checksum %s\n",
	       s->res.version, pl->redis_ver[0] ? pl->redis_ver : "(unknown)", s->res.bytes, s->keys,
	       vl_rdb_checksum_name(s->res.checksum));
	if (pl->hashes)
		printf("  vectors: hash field \"%s\"%s", vf, pl->strings ? " and string values" : "");
	else
		printf("  vectors: string values");
	printf(", %s dim %u%s -> float32; metric %s, index %s, storage %s\n",
	       vl_rdb_dtype_name(pl->dtype), pl->dim, pl->db_all ? ", all dbs" : "",
	       inf ? cli_metric_name(inf->metric) : "?", inf ? inf->index : "?",
	       inf ? inf->storage : "?");
	if (!pl->db_all)
		printf("  database: %" PRIu64 "\n", pl->db);
	if (pl->nattrs) {
		printf("  fields:");
		for (size_t i = 0; i < pl->nattrs; i++)
			printf("%s %s (%s)", i ? "," : "", pl->attrs[i].name, type_name(&pl->attrs[i]));
		printf("%s\n", added ? " [missing ones added to the collection]" : "");
	}
	const uint64_t nskip = sum(s->skipped, RI_SKIP_COUNT);
	if (nskip) {
		printf("  skipped: %" PRIu64 " keys (", nskip);
		for (int i = 0, first = 1; i < RI_SKIP_COUNT; i++)
			if (s->skipped[i])
				printf("%s%s %" PRIu64, first ? "" : ", ", ri_skip_name(i), s->skipped[i]), first = 0;
		printf("); first: %s\n", s->first_skip);
	}
	const uint64_t nother = sum(s->other_type, VL_RDB_KIND_COUNT);
	if (nother) {
		printf("  other-type keys (not imported): %" PRIu64 " (", nother);
		for (int i = 0, first = 1; i < VL_RDB_KIND_COUNT; i++)
			if (s->other_type[i])
				printf("%s%s %" PRIu64, first ? "" : ", ", vl_rdb_kind_name((vl_rdb_kind)i),
				       s->other_type[i]),
				    first = 0;
		printf(")\n");
	}
	if (s->not_selected)
		printf("  not selected (--db/--prefix/--match): %" PRIu64 " keys\n", s->not_selected);
	const uint64_t ndrop = sum(s->dropped, RI_DROP_COUNT);
	if (ndrop) {
		printf("  field values left out: %" PRIu64 " (", ndrop);
		for (int i = 0, first = 1; i < RI_DROP_COUNT; i++)
			if (s->dropped[i])
				printf("%s%s %" PRIu64, first ? "" : ", ", ri_drop_name(i), s->dropped[i]), first = 0;
		printf("); first: %s\n", s->first_drop);
	}
	if (s->with_expire)
		printf("  note: %" PRIu64 " imported keys had an expire time (veclite keeps no TTL)\n",
		       s->with_expire);
	if (pl->other_vector_strings)
		printf("  note: string keys holding vectors were found too; add --strings to import them\n");
}

static void kv_u64(vl_sink *j, const char *k, uint64_t v, int comma)
{
	if (comma)
		vl_sink_puts(j, ", ");
	cli_json_key(j, k);
	cli_json_u64(j, v);
}

static void summary_json(const ri_opts *o, const ri_plan *pl, const ri_stats *s, const vl_info *inf,
                         int created)
{
	vl_sink j;
	cli_json_begin(&j);
	vl_sink_puts(&j, "{");
	cli_json_key(&j, "collection");
	cli_json_str(&j, o->coll);
	vl_sink_puts(&j, ", \"created\": ");
	vl_sink_puts(&j, created ? "true" : "false");
	kv_u64(&j, "imported", s->imported, 1);
	kv_u64(&j, "imported_hashes", s->imported_hashes, 1);
	kv_u64(&j, "imported_strings", s->imported_strings, 1);
	vl_sink_puts(&j, ", \"skipped\": {");
	for (int i = 0; i < RI_SKIP_COUNT; i++)
		kv_u64(&j, ri_skip_name(i), s->skipped[i], i > 0);
	vl_sink_puts(&j, "}, \"other_type\": {");
	for (int i = 0; i < VL_RDB_KIND_COUNT; i++)
		kv_u64(&j, vl_rdb_kind_name((vl_rdb_kind)i), s->other_type[i], i > 0);
	vl_sink_puts(&j, "}");
	kv_u64(&j, "not_selected", s->not_selected, 1);
	vl_sink_puts(&j, ", \"values_dropped\": {");
	for (int i = 0; i < RI_DROP_COUNT; i++)
		kv_u64(&j, ri_drop_name(i), s->dropped[i], i > 0);
	vl_sink_puts(&j, "}");
	kv_u64(&j, "with_expire", s->with_expire, 1);
	kv_u64(&j, "keys", s->keys, 1);
	kv_u64(&j, "bytes", s->res.bytes, 1);
	kv_u64(&j, "rdb_version", (uint64_t)s->res.version, 1);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "redis_ver");
	cli_json_str(&j, pl->redis_ver);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "checksum");
	cli_json_str(&j, s->res.checksum == VL_RDB_CRC_OK         ? "verified"
	                 : s->res.checksum == VL_RDB_CRC_DISABLED ? "disabled"
	                 : s->res.checksum == VL_RDB_CRC_MISMATCH ? "mismatch"
	                                                          : "absent");
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "source");
	cli_json_str(&j, source_name(pl));
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "vector_field");
	if (pl->hashes)
		cli_json_bytes(&j, pl->vfield, pl->vfield_len);
	else
		vl_sink_puts(&j, "null");
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "dtype");
	cli_json_str(&j, vl_rdb_dtype_name(pl->dtype));
	kv_u64(&j, "dim", pl->dim, 1);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "db");
	if (pl->db_all)
		cli_json_str(&j, "all");
	else
		cli_json_u64(&j, pl->db);
	if (inf) {
		vl_sink_puts(&j, ", ");
		cli_json_key(&j, "metric");
		cli_json_str(&j, cli_metric_name(inf->metric));
		vl_sink_puts(&j, ", ");
		cli_json_key(&j, "index");
		cli_json_str(&j, inf->index);
		vl_sink_puts(&j, ", ");
		cli_json_key(&j, "storage");
		cli_json_str(&j, inf->storage);
	}
	vl_sink_puts(&j, ", \"fields\": [");
	for (size_t i = 0; i < pl->nattrs; i++) {
		vl_sink_puts(&j, i ? ", {" : "{");
		cli_json_key(&j, "name");
		cli_json_str(&j, pl->attrs[i].name);
		vl_sink_puts(&j, ", ");
		cli_json_key(&j, "type");
		cli_json_str(&j, type_name(&pl->attrs[i]));
		vl_sink_puts(&j, "}");
	}
	vl_sink_puts(&j, "], ");
	cli_json_key(&j, "seconds");
	cli_json_f64(&j, s->seconds);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "read_seconds");
	cli_json_f64(&j, s->read_seconds);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "commit_seconds");
	cli_json_f64(&j, s->commit_seconds);
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "first_skipped");
	if (s->first_skip[0])
		cli_json_str(&j, s->first_skip);
	else
		vl_sink_puts(&j, "null");
	vl_sink_puts(&j, ", ");
	cli_json_key(&j, "first_dropped");
	if (s->first_drop[0])
		cli_json_str(&j, s->first_drop);
	else
		vl_sink_puts(&j, "null");
	vl_sink_puts(&j, "}\n");
	cli_json_end(&j);
}

/* ---- the command ------------------------------------------------------------------------- */

static int import(ri_opts *o)
{
	ri_plan pl;
	ri_input in;
	catch_signals(); /* from here on a signal ends the import cleanly */
	if (ri_input_open(&in, o->dump, &g_stop))
		return CLI_ERR;
	int rc = ri_plan_build(o, &in, &pl);
	if (rc) {
		ri_plan_free(&pl);
		ri_input_close(&in);
		return rc;
	}
	vl_store *st = cli_open_store(o->store, VL_OPEN_CREATE);
	if (!st) {
		ri_plan_free(&pl);
		ri_input_close(&in);
		return CLI_ERR;
	}
	vl_collection *c = NULL;
	vl_schema sc;
	vl_field *fields = NULL;
	int created = 0;
	size_t added = 0;
	int vr = vl_collection_open(st, o->coll, &c);
	if (vr == VL_ENOTFOUND) {
		/* created by the bulk load itself, named by its last commit: a
		 * failed or killed import leaves no collection behind */
		if ((rc = new_schema(o, &pl, &sc, &fields)) == CLI_OK)
			created = 1;
	} else if (vr) {
		rc = cli_fail(st, vr, "cannot open collection");
	} else {
		rc = fit_existing(o, &pl, st, c, &added);
	}
	ri_stats stats;
	memset(&stats, 0, sizeof stats);
	if (rc == CLI_OK)
		rc = ri_load(o, &pl, &in, st, c, created ? &sc : NULL, &stats, &g_stop);
	free(fields);
	if (rc == CLI_OK && created && (vr = vl_collection_open(st, o->coll, &c)))
		rc = cli_fail(st, vr, "cannot open the imported collection");
	vl_info *inf = NULL;
	if (rc == CLI_OK && (vr = vl_collection_info(c, &inf)))
		inf = NULL;
	vl_collection_close(c);
	if (rc == CLI_OK) {
		if (o->json)
			summary_json(o, &pl, &stats, inf, created);
		else
			summary_text(o, &pl, &stats, inf, created, added);
		if (fflush(stdout) != 0)
			rc = cli_error("writing the summary failed");
	}
	vl_info_free(inf);
	vl_close(st);
	ri_plan_free(&pl);
	ri_input_close(&in);
	return rc;
}

int cmd_import_rdb(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "inspect", no_argument, 0, 'I' },
		{ "db", required_argument, 0, 'D' },         { "prefix", required_argument, 0, 'P' },
		{ "match", required_argument, 0, 'M' },      { "vector-field", required_argument, 0, 'V' },
		{ "dtype", required_argument, 0, 'T' },      { "dim", required_argument, 0, 'd' },
		{ "metric", required_argument, 0, 'm' },     { "field", required_argument, 0, 'f' },
		{ "strings", no_argument, 0, 'S' },          { "index", required_argument, 0, 'i' },
		{ "storage", required_argument, 0, 's' },    { "set", required_argument, 0, 'p' },
		{ "threads", required_argument, 0, 't' },    { "sample", required_argument, 0, 'n' },
		{ "strict", no_argument, 0, 'X' },           { "ignore-checksum", no_argument, 0, 'C' },
		{ "json", no_argument, 0, 'J' },             { "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	ri_opts o;
	memset(&o, 0, sizeof o);
	o.coll = CLI_DEFAULT_COLLECTION;
	o.sample = RI_SAMPLE_KEYS;
	int insp = 0, c, rc = CLI_OK;
	uint64_t v;
	while ((c = cli_getopt(argc, argv, "c:hq", opts)) != -1) {
		switch (c) {
		case 'c': o.coll = optarg; break;
		case 'I': insp = 1; break;
		case 'D':
			if (!strcmp(optarg, "all")) {
				o.db_all = 1;
			} else if ((rc = cli_parse_u64("--db", optarg, 0, UINT32_MAX, &v)) == CLI_OK) {
				o.db = v;
				o.db_given = 1;
			}
			break;
		case 'P': rc = cli_strs_push(&o.prefixes, optarg); break;
		case 'M': o.match = optarg; break;
		case 'V': o.vector_field = optarg; break;
		case 'T':
			if ((o.dtype = vl_rdb_dtype_parse(optarg)) == VL_RDB_DT_NONE)
				rc = cli_usage_error("--dtype: '%s' is not float32, float64, float16 or bfloat16",
				                     optarg);
			break;
		case 'd':
			if ((rc = cli_parse_u64("--dim", optarg, 1, VL_DIM_MAX, &v)) == CLI_OK)
				o.dim = (uint32_t)v;
			break;
		case 'm':
			if ((rc = cli_parse_metric(optarg, &o.metric)) == CLI_OK)
				o.metric_given = 1;
			break;
		case 'f': {
			ri_fieldspec *p = realloc(o.fields, (o.nfields + 1) * sizeof *p);
			if (!p) {
				rc = cli_error("out of memory");
				break;
			}
			o.fields = p;
			if ((rc = parse_field(optarg, &o.fields[o.nfields])) == CLI_OK)
				o.nfields++;
			break;
		}
		case 'S': o.strings = 1; break;
		case 'i': o.index = optarg; break;
		case 's': o.storage = optarg; break;
		case 'p': rc = cli_strs_push(&o.params, optarg); break;
		case 't': rc = cli_parse_u64("--threads", optarg, 0, 1024, &o.threads); break;
		case 'n': rc = cli_parse_u64("--sample", optarg, 1, UINT64_MAX, &o.sample); break;
		case 'X': o.strict = 1; break;
		case 'C': o.ignore_checksum = 1; break;
		case 'J': o.json = 1; break;
		case 'q': o.quiet = 1; break;
		case 'h': help(); goto out;
		default: rc = CLI_USAGE;
		}
		if (rc)
			goto out;
	}
	if (o.vector_field && (!*o.vector_field || strlen(o.vector_field) > RI_FIELD_NAME_MAX)) {
		rc = cli_usage_error("--vector-field: expected 1..%u bytes", RI_FIELD_NAME_MAX);
		goto out;
	}
	if (insp) {
		if (optind + 1 != argc) {
			rc = cli_usage_error("--inspect takes exactly one DUMP.rdb");
			goto out;
		}
		o.dump = argv[optind];
		rc = inspect(&o);
		goto out;
	}
	if (optind + 2 != argc) {
		rc = cli_usage_error("expected DUMP.rdb and STORE");
		goto out;
	}
	o.dump = argv[optind];
	o.store = argv[optind + 1];
	rc = import(&o);
out:
	for (size_t i = 0; i < o.nfields; i++)
		free(o.fields[i].name);
	free(o.fields);
	cli_strs_free(&o.prefixes);
	cli_strs_free(&o.params);
	return rc;
}
