/* cmd_create.c - veclite create: a collection (and the store, if absent). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
	printf("usage: veclite create STORE [-c NAME] --dim D [--metric l2|ip|cosine]\n"
	       "                      [--index KIND] [--storage TYPE] [--field NAME:tag|text|numeric]...\n"
	       "                      [--set PARAM=VALUE]... [--json]\n\n"
	       "Create collection NAME (default \"default\") in STORE, creating the store\n"
	       "directory if it does not exist.\n\n"
	       "  -c, --collection NAME   collection name (default: default)\n"
	       "      --dim D             vector dimension, 1..65535 (required)\n"
	       "      --metric M          l2 (squared Euclidean, default), ip (inner product), cosine\n"
	       "      --index KIND        flat, vamana, hnsw, ivf (default: the build's default)\n"
	       "      --storage TYPE      float32, float16, lvq8, lvq4, lvq4x4, lvq4x8, lvq8x8,\n"
	       "                          leanvec4x8, leanvec8x8 (default: recommended for the dim)\n"
	       "      --field NAME:TYPE   an attribute field: tag (filterable strings), numeric\n"
	       "                          (filterable numbers) or text (stored, zstd-compressed)\n"
	       "      --set PARAM=VALUE   index/storage/collection parameter, e.g. GRAPH_MAX_DEGREE=32,\n"
	       "                          FLUSH_BYTES=67108864; unknown names are rejected\n"
	       "      --json              print the created collection as JSON\n");
}

static int parse_field(const char *spec, vl_field *f)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec)
		return cli_usage_error("--field '%s': expected NAME:tag|text|numeric", spec);
	const char *t = colon + 1;
	if (!strcmp(t, "tag"))
		f->type = VL_FIELD_TAG;
	else if (!strcmp(t, "text"))
		f->type = VL_FIELD_TEXT;
	else if (!strcmp(t, "numeric") || !strcmp(t, "num"))
		f->type = VL_FIELD_NUMERIC;
	else
		return cli_usage_error("--field '%s': type '%s' is not tag, text or numeric", spec, t);
	char *name = strndup(spec, (size_t)(colon - spec));
	if (!name)
		return cli_error("out of memory");
	f->name = name;
	return CLI_OK;
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "dim", required_argument, 0, 'd' },
		{ "metric", required_argument, 0, 'm' },     { "index", required_argument, 0, 'i' },
		{ "storage", required_argument, 0, 's' },    { "field", required_argument, 0, 'f' },
		{ "set", required_argument, 0, 'S' },        { "json", no_argument, 0, 'J' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	const char *coll = CLI_DEFAULT_COLLECTION;
	vl_schema sc = VL_SCHEMA_INIT;
	cli_strs params = { 0 };
	vl_field *fields = NULL;
	size_t nfields = 0;
	int json = 0, c, rc = CLI_OK;
	uint64_t dim = 0;
	while ((c = cli_getopt(argc, argv, "c:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'd': rc = cli_parse_u64("--dim", optarg, 1, VL_DIM_MAX, &dim); break;
		case 'm': rc = cli_parse_metric(optarg, &sc.metric); break;
		case 'i': sc.index = optarg; break;
		case 's': sc.storage = optarg; break;
		case 'S': rc = cli_strs_push(&params, optarg); break;
		case 'J': json = 1; break;
		case 'f': {
			vl_field *p = realloc(fields, (nfields + 1) * sizeof *p);
			if (!p) {
				rc = cli_error("out of memory");
				break;
			}
			fields = p;
			rc = parse_field(optarg, &fields[nfields]);
			if (rc == CLI_OK)
				nfields++;
			break;
		}
		case 'h': help(); goto out;
		default: rc = CLI_USAGE;
		}
		if (rc)
			goto out;
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error("expected exactly one STORE argument");
		goto out;
	}
	if (!dim) {
		rc = cli_usage_error("--dim is required");
		goto out;
	}
	sc.dim = (uint32_t)dim;
	sc.params = (const char *const *)params.v;
	sc.nparams = params.n;
	sc.fields = fields;
	sc.nfields = nfields;
	vl_store *st = cli_open_store(argv[optind], VL_OPEN_CREATE);
	if (!st) {
		rc = CLI_ERR;
		goto out;
	}
	vl_collection *col;
	int vr = vl_collection_create(st, coll, &sc, &col);
	if (vr) {
		rc = cli_fail(st, vr, "create");
	} else {
		vl_info *inf;
		if ((vr = vl_collection_info(col, &inf)) == 0) {
			if (json) {
				vl_sink s;
				cli_json_begin(&s);
				vl_sink_puts(&s, "{");
				cli_json_key(&s, "collection");
				cli_json_str(&s, coll);
				vl_sink_puts(&s, ", ");
				cli_json_key(&s, "dim");
				cli_json_u64(&s, inf->dim);
				vl_sink_puts(&s, ", ");
				cli_json_key(&s, "metric");
				cli_json_str(&s, cli_metric_name(inf->metric));
				vl_sink_puts(&s, ", ");
				cli_json_key(&s, "storage");
				cli_json_str(&s, inf->storage);
				vl_sink_puts(&s, ", ");
				cli_json_key(&s, "index");
				cli_json_str(&s, inf->index);
				vl_sink_puts(&s, "}\n");
				rc = cli_json_end(&s);
			} else {
				printf("created collection '%s' in %s: dim %u, metric %s, storage %s, index %s\n", coll,
				       argv[optind], inf->dim, cli_metric_name(inf->metric), inf->storage, inf->index);
			}
			vl_info_free(inf);
		}
		vl_collection_close(col);
	}
	vl_close(st);
out:
	for (size_t i = 0; i < nfields; i++)
		free((char *)fields[i].name);
	free(fields);
	cli_strs_free(&params);
	return rc;
}
