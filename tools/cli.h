/*
 * cli.h - shared helpers of the veclite command-line tool.
 *
 * Every subcommand lives in tools/cmd_<name>.c as `int cmd_<name>(int argc,
 * char **argv)` (argv[0] is the subcommand name) and is listed once in the
 * table in tools/veclite.c. Conventions:
 *   - exit status: CLI_OK (0) success, CLI_ERR (1) an operation failed,
 *     CLI_USAGE (2) bad usage (unknown option, missing argument);
 *   - `--help` prints the command's usage on stdout and exits 0;
 *   - `--json` switches stdout to machine-readable JSON (one document, or
 *     one line per item where documented); errors always go to stderr as
 *     "veclite <cmd>: <message>";
 *   - long jobs show a progress bar on stderr when it is a terminal, and
 *     are silent otherwise (--quiet forces silence).
 */
#ifndef VL_CLI_H
#define VL_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "textenc.h"
#include "veclite.h"

enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2 };

#define CLI_DEFAULT_COLLECTION "default"

/* The name of the running subcommand, for messages. */
extern const char *cli_cmd;

/* Print "veclite <cmd>: <msg>" on stderr. Returns CLI_ERR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a failed library call: code name + vl_errmsg detail. Returns CLI_ERR. */
int cli_fail(const vl_store *st, int rc, const char *what);
/* Print a usage error plus "try 'veclite <cmd> --help'". Returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* getopt_long wrapper: resets state, prints errors our way. Returns the
 * option char, -1 at the end, '?' on a bad option (already reported). */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Open a store (create when `create`); on failure prints and returns NULL. */
vl_store *cli_open_store(const char *path, uint32_t flags);
vl_collection *cli_open_coll(vl_store *st, const char *name);

/* Numbers with range checks; print a usage error on failure. */
int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cli_parse_f64(const char *opt, const char *s, double *out);
int cli_parse_metric(const char *s, vl_metric *out);
const char *cli_metric_name(vl_metric m);
const char *cli_field_type_name(vl_field_type t);
/* "[1.5, 2, ...]" into a malloc'd float array; prints errors. */
int cli_parse_vector(const char *json, float **out, uint32_t *dim);

/* A growable list of strings (for repeated options). */
typedef struct cli_strs {
	char **v;
	size_t n, cap;
} cli_strs;
int cli_strs_push(cli_strs *l, char *s);
void cli_strs_free(cli_strs *l);

/* Progress on stderr when it is a terminal (vl_progress_fn compatible). */
typedef struct cli_progress {
	int enabled;
	double start, last;
	char phase[64];
} cli_progress;
void cli_progress_init(cli_progress *p, int quiet);
int cli_progress_cb(void *ud, const char *phase, uint64_t done, uint64_t total);
void cli_progress_done(cli_progress *p);
double cli_now(void);

/* JSON output on stdout through a vl_sink. */
void cli_json_begin(vl_sink *s);
int cli_json_end(vl_sink *s);               /* flush stdout; CLI_ERR on a write error */
void cli_json_str(vl_sink *s, const char *str);
void cli_json_bytes(vl_sink *s, const void *p, size_t n); /* string, or {"base64": ...} if not UTF-8 */
void cli_json_key(vl_sink *s, const char *name);           /* "name": */
void cli_json_u64(vl_sink *s, uint64_t v);
void cli_json_f64(vl_sink *s, double v);
void cli_json_f32(vl_sink *s, float v);
/* A record key as "key": "..." or "key_base64": "..." (not UTF-8). */
void cli_json_rowkey(vl_sink *s, const void *key, size_t len);
/* An attribute value: number, string or {"base64": ...}. */
void cli_json_value(vl_sink *s, const vl_value *v, vl_field_type type);

/* Subcommands. */
int cmd_create(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_drop(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_advise(int argc, char **argv);
int cmd_reindex(int argc, char **argv);
int cmd_import_rdb(int argc, char **argv);
int cmd_import_faiss(int argc, char **argv);

#endif
