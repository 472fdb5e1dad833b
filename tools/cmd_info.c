/* cmd_info.c - veclite info / list: describe a store and its collections. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help_info(void)
{
	printf("usage: veclite info STORE [-c NAME] [--json]\n\n"
	       "Describe one collection (-c) or every collection of STORE: schema, parameters,\n"
	       "row counts, and per section the bytes on disk, bytes per vector and bytes\n"
	       "resident in the page cache.\n");
}

static void info_text(const vl_info *inf)
{
	printf("collection %s\n", inf->name);
	printf("  dim %u, metric %s, storage %s, index %s\n", inf->dim, cli_metric_name(inf->metric),
	       inf->storage, inf->index);
	printf("  rows %" PRIu64 " (write buffer %" PRIu64 ", segments %u holding %" PRIu64 " rows, %" PRIu64
	       " of them deleted)\n",
	       inf->rows, inf->buffer_rows, inf->segments, inf->segment_rows, inf->dead_rows);
	if (inf->flush_failures)
		printf("  automatic flush failed %u time(s) since the last good one\n", inf->flush_failures);
	if (inf->nparams) {
		printf("  params");
		for (size_t i = 0; i < inf->nparams; i++)
			printf(" %s", inf->params[i]);
		printf("\n");
	}
	if (inf->nfields) {
		printf("  fields");
		for (size_t i = 0; i < inf->nfields; i++)
			printf(" %s:%s", inf->fields[i].name, cli_field_type_name(inf->fields[i].type));
		printf("\n");
	}
	printf("  %-14s %14s %12s %14s\n", "section", "bytes", "per vector", "resident");
	uint64_t per = inf->segment_rows ? inf->segment_rows : 1;
	for (size_t i = 0; i < inf->nsections; i++) {
		const vl_section_stats *s = &inf->sections[i];
		uint64_t rows = !strcmp(s->name, "write-buffer") ? (inf->buffer_rows ? inf->buffer_rows : 1) : per;
		printf("  %-14s %14" PRIu64 " %12.1f %14" PRIu64 "\n", s->name, s->bytes, (double)s->bytes / (double)rows,
		       s->resident);
	}
	printf("  segment files  %" PRIu64 " bytes\n", inf->disk_bytes);
}

static void info_json(vl_sink *s, const vl_info *inf)
{
	vl_sink_puts(s, "{");
	cli_json_key(s, "name"), cli_json_str(s, inf->name), vl_sink_puts(s, ", ");
	cli_json_key(s, "dim"), cli_json_u64(s, inf->dim), vl_sink_puts(s, ", ");
	cli_json_key(s, "metric"), cli_json_str(s, cli_metric_name(inf->metric)), vl_sink_puts(s, ", ");
	cli_json_key(s, "storage"), cli_json_str(s, inf->storage), vl_sink_puts(s, ", ");
	cli_json_key(s, "index"), cli_json_str(s, inf->index), vl_sink_puts(s, ", ");
	cli_json_key(s, "params"), vl_sink_puts(s, "{");
	for (size_t i = 0; i < inf->nparams; i++) {
		const char *eq = strchr(inf->params[i], '=');
		if (i)
			vl_sink_puts(s, ", ");
		cli_json_bytes(s, inf->params[i], (size_t)(eq - inf->params[i]));
		vl_sink_puts(s, ": ");
		cli_json_str(s, eq + 1);
	}
	vl_sink_puts(s, "}, ");
	cli_json_key(s, "fields"), vl_sink_puts(s, "{");
	for (size_t i = 0; i < inf->nfields; i++) {
		if (i)
			vl_sink_puts(s, ", ");
		cli_json_key(s, inf->fields[i].name);
		cli_json_str(s, cli_field_type_name(inf->fields[i].type));
	}
	vl_sink_puts(s, "}, ");
	cli_json_key(s, "rows"), cli_json_u64(s, inf->rows), vl_sink_puts(s, ", ");
	cli_json_key(s, "buffer_rows"), cli_json_u64(s, inf->buffer_rows), vl_sink_puts(s, ", ");
	cli_json_key(s, "segments"), cli_json_u64(s, inf->segments), vl_sink_puts(s, ", ");
	cli_json_key(s, "segment_rows"), cli_json_u64(s, inf->segment_rows), vl_sink_puts(s, ", ");
	cli_json_key(s, "dead_rows"), cli_json_u64(s, inf->dead_rows), vl_sink_puts(s, ", ");
	cli_json_key(s, "flush_failures"), cli_json_u64(s, inf->flush_failures), vl_sink_puts(s, ", ");
	cli_json_key(s, "disk_bytes"), cli_json_u64(s, inf->disk_bytes), vl_sink_puts(s, ", ");
	cli_json_key(s, "sections"), vl_sink_puts(s, "{");
	uint64_t per = inf->segment_rows ? inf->segment_rows : 1;
	for (size_t i = 0; i < inf->nsections; i++) {
		const vl_section_stats *x = &inf->sections[i];
		uint64_t rows = !strcmp(x->name, "write-buffer") ? (inf->buffer_rows ? inf->buffer_rows : 1) : per;
		if (i)
			vl_sink_puts(s, ", ");
		cli_json_key(s, x->name);
		vl_sink_puts(s, "{");
		cli_json_key(s, "bytes"), cli_json_u64(s, x->bytes), vl_sink_puts(s, ", ");
		cli_json_key(s, "bytes_per_vector"), cli_json_f64(s, (double)x->bytes / (double)rows), vl_sink_puts(s, ", ");
		cli_json_key(s, "mapped"), cli_json_u64(s, x->mapped), vl_sink_puts(s, ", ");
		cli_json_key(s, "resident"), cli_json_u64(s, x->resident);
		vl_sink_puts(s, "}");
	}
	vl_sink_puts(s, "}}");
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "collection", required_argument, 0, 'c' }, { "json", no_argument, 0, 'J' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	const char *coll = NULL;
	int json = 0, c;
	while ((c = cli_getopt(argc, argv, "c:h", opts)) != -1) {
		switch (c) {
		case 'c': coll = optarg; break;
		case 'J': json = 1; break;
		case 'h': help_info(); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("expected STORE");
	vl_store *st = cli_open_store(argv[optind], VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	char **names = NULL;
	size_t n = 0;
	int rc = CLI_OK, vr;
	const char *one[1] = { coll };
	if (!coll && (vr = vl_collection_list(st, &names, &n))) {
		vl_close(st);
		return cli_fail(st, vr, "list");
	}
	const char *const *list = coll ? one : (const char *const *)names;
	size_t count = coll ? 1 : n;
	vl_sink s;
	cli_json_begin(&s);
	if (json) {
		vl_sink_puts(&s, "{");
		cli_json_key(&s, "store");
		cli_json_str(&s, argv[optind]);
		vl_sink_puts(&s, ", ");
		cli_json_key(&s, "collections");
		vl_sink_puts(&s, "[");
	} else {
		printf("store %s: %zu collection(s)\n", argv[optind], count);
	}
	for (size_t i = 0; i < count && rc == CLI_OK; i++) {
		vl_collection *col = cli_open_coll(st, list[i]);
		vl_info *inf;
		if (!col) {
			rc = CLI_ERR;
			break;
		}
		if ((vr = vl_collection_info(col, &inf))) {
			rc = cli_fail(st, vr, "info");
		} else {
			if (json) {
				if (i)
					vl_sink_puts(&s, ", ");
				info_json(&s, inf);
			} else {
				info_text(inf);
			}
			vl_info_free(inf);
		}
		vl_collection_close(col);
	}
	if (json)
		vl_sink_puts(&s, "]}\n");
	if (cli_json_end(&s) && rc == CLI_OK)
		rc = CLI_ERR;
	vl_free(names);
	vl_close(st);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'J' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int json = 0, c;
	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'J': json = 1; break;
		case 'h': printf("usage: veclite list STORE [--json]\n\nList the collections of STORE.\n"); return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("expected STORE");
	vl_store *st = cli_open_store(argv[optind], VL_OPEN_RDONLY);
	if (!st)
		return CLI_ERR;
	char **names;
	size_t n;
	int vr = vl_collection_list(st, &names, &n);
	if (vr) {
		int rc = cli_fail(st, vr, "list");
		vl_close(st);
		return rc;
	}
	vl_sink s;
	cli_json_begin(&s);
	if (json)
		vl_sink_puts(&s, "[");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			if (i)
				vl_sink_puts(&s, ", ");
			cli_json_str(&s, names[i]);
		} else {
			vl_sink_puts(&s, names[i]);
			vl_sink_putc(&s, '\n');
		}
	}
	if (json)
		vl_sink_puts(&s, "]\n");
	vl_free(names);
	vl_close(st);
	return cli_json_end(&s);
}
