/*
 * fuzz_rdb_inspect.c - `veclite import-rdb --inspect` over untrusted dumps:
 * the RDB reader feeding the inspect collector (format/rdb/rdb_inspect.c:
 * bounded tables of databases, key prefixes, hash field groups, vector
 * detection in format/rdb/rdb_detect.c, module records), then both reports.
 *
 * Input: byte 0 is the read chunk size (0 = whole reads), the rest a dump.
 * The collector keeps what it read before an error, so the reports are
 * printed whatever the parse returned. The JSON report must be one valid
 * JSON document (format/json.c parses it); the text report must be written
 * without error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rdb/rdb_inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	vl_rdb_mem mem = { data + 1, size - 1, 0, data[0] };
	vl_rdb_inspect *in = vl_rdb_inspect_new();
	if (!in)
		return 0;
	vl_rdb_opts o = VL_RDB_OPTS_INIT;
	o.max_value = 1 << 20;
	o.flags = (data[0] & 1) ? VL_RDB_IGNORE_CHECKSUM : 0;
	vl_diag d;
	vl_diag_clear(&d);
	int rc = vl_rdb_inspect_run(in, vl_rdb_read_mem, &mem, &o, &d);
	if (rc > 0 || (rc < 0 && !d.msg[0]))
		abort(); /* failures come with a message */

	for (int json = 0; json < 2; json++) {
		char *text = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&text, &len);
		if (!fp)
			break;
		int pr = vl_rdb_inspect_print(in, fp, json);
		if (fclose(fp) != 0 || pr != 0)
			abort();
		if (json) {
			vl_json_doc *doc = vl_json_doc_new();
			const vl_json *root;
			vl_diag jd;
			if (!doc)
				abort();
			if (vl_json_parse(doc, text, len, 0, 1, &root, &jd) != VL_OK || root->type != VL_JSON_OBJECT) {
				fprintf(stderr, "inspect --json is not one JSON object: %s\n%.*s\n", jd.msg,
				        (int)(len < 2000 ? len : 2000), text);
				abort();
			}
			vl_json_doc_free(doc);
		}
		free(text);
	}
	vl_rdb_inspect_free(in);
	return 0;
}
