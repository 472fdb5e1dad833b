/* cli.c - shared helpers of the veclite CLI (see cli.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

const char *cli_cmd = "";

int cli_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "veclite %s: ", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_ERR;
}

int cli_fail(const vl_store *st, int rc, const char *what)
{
	const char *detail = vl_errmsg(st);
	if (detail && *detail)
		return cli_error("%s: %s (%s)", what, detail, vl_strerror(rc));
	return cli_error("%s: %s", what, vl_strerror(rc));
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "veclite %s: ", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'veclite %s --help'.\n", cli_cmd);
	return CLI_USAGE;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	static int started;
	if (!started) {
		optind = 0; /* glibc: full re-initialisation */
		started = 1;
	}
	opterr = 0;
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == -1)
		started = 0;
	if (c == '?' || c == ':') {
		if (optopt && strchr(shortopts, optopt) && c != '?')
			cli_usage_error("option -%c needs a value", optopt);
		else if (optopt)
			cli_usage_error("unknown option -%c (or it needs a value)", optopt);
		else
			cli_usage_error("unknown option or missing value: %s", argv[optind - 1]);
		started = 0;
		return '?';
	}
	return c;
}

vl_store *cli_open_store(const char *path, uint32_t flags)
{
	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = flags;
	int rc = vl_open(path, &o, &st);
	if (rc) {
		cli_error("cannot open store %s: %s (%s)", path, vl_errmsg(NULL), vl_strerror(rc));
		return NULL;
	}
	return st;
}

vl_collection *cli_open_coll(vl_store *st, const char *name)
{
	vl_collection *c;
	int rc = vl_collection_open(st, name, &c);
	if (rc) {
		cli_fail(st, rc, "cannot open collection");
		return NULL;
	}
	return c;
}

int cli_parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < min || v > max)
		return cli_usage_error("%s: '%s' is not an integer in %" PRIu64 "..%" PRIu64, opt, s, min, max);
	*out = v;
	return CLI_OK;
}

int cli_parse_f64(const char *opt, const char *s, double *out)
{
	char *end;
	double v = vl_strtod_c(s, &end);
	if (!*s || *end || !isfinite(v))
		return cli_usage_error("%s: '%s' is not a number", opt, s);
	*out = v;
	return CLI_OK;
}

int cli_parse_metric(const char *s, vl_metric *out)
{
	if (!strcmp(s, "l2"))
		*out = VL_METRIC_L2;
	else if (!strcmp(s, "ip"))
		*out = VL_METRIC_IP;
	else if (!strcmp(s, "cosine"))
		*out = VL_METRIC_COSINE;
	else
		return cli_usage_error("--metric: '%s' is not one of l2, ip, cosine", s);
	return CLI_OK;
}

const char *cli_metric_name(vl_metric m)
{
	return m == VL_METRIC_IP ? "ip" : m == VL_METRIC_COSINE ? "cosine" : "l2";
}

const char *cli_field_type_name(vl_field_type t)
{
	return t == VL_FIELD_TAG ? "tag" : t == VL_FIELD_NUMERIC ? "numeric" : "text";
}

int cli_parse_vector(const char *json, float **out, uint32_t *dim)
{
	vl_json_doc *doc = vl_json_doc_new();
	vl_diag d;
	vl_diag_clear(&d);
	*out = NULL;
	if (!doc)
		return cli_error("out of memory");
	const vl_json *root;
	int rc = vl_json_parse(doc, json, strlen(json), 0, 1, &root, &d);
	if (rc) {
		vl_json_doc_free(doc);
		return cli_usage_error("--vector: %s", d.msg);
	}
	if (root->type != VL_JSON_ARRAY || root->n == 0 || root->n > VL_DIM_MAX) {
		vl_json_doc_free(doc);
		return cli_usage_error("--vector: expected a JSON array of 1..%u numbers", VL_DIM_MAX);
	}
	float *v = malloc(root->n * sizeof *v);
	if (!v) {
		vl_json_doc_free(doc);
		return cli_error("out of memory");
	}
	for (size_t i = 0; i < root->n; i++)
		if (vl_json_f32(&root->u.items[i], &v[i])) {
			free(v);
			vl_json_doc_free(doc);
			return cli_usage_error("--vector: element %zu is not a number", i);
		}
	*dim = (uint32_t)root->n;
	*out = v;
	vl_json_doc_free(doc);
	return CLI_OK;
}

int cli_strs_push(cli_strs *l, char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **p = realloc(l->v, cap * sizeof *p);
		if (!p)
			return CLI_ERR;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return CLI_OK;
}

void cli_strs_free(cli_strs *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* ---- progress ------------------------------------------------------------------ */
double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *p, int quiet)
{
	memset(p, 0, sizeof *p);
	p->enabled = !quiet && isatty(2);
	p->start = cli_now();
}

static void human(double x, char *buf, size_t len)
{
	if (x >= 1e9)
		snprintf(buf, len, "%.1fG", x / 1e9);
	else if (x >= 1e6)
		snprintf(buf, len, "%.1fM", x / 1e6);
	else if (x >= 1e3)
		snprintf(buf, len, "%.1fk", x / 1e3);
	else
		snprintf(buf, len, "%.0f", x);
}

int cli_progress_cb(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	cli_progress *p = ud;
	if (!p || !p->enabled)
		return 0;
	double now = cli_now();
	if (strncmp(p->phase, phase, sizeof p->phase - 1) != 0) {
		if (p->phase[0])
			fputc('\n', stderr);
		snprintf(p->phase, sizeof p->phase, "%s", phase);
		p->start = now;
	} else if (now - p->last < 0.1 && done != total) {
		return 0;
	}
	p->last = now;
	double el = now - p->start, rate = el > 0 ? (double)done / el : 0;
	char d[16], t[16], r[16];
	human((double)done, d, sizeof d);
	human((double)total, t, sizeof t);
	human(rate, r, sizeof r);
	if (total) {
		int width = 30, fill = (int)((double)width * (double)done / (double)total);
		if (fill > width)
			fill = width;
		double eta = rate > 0 && total > done ? (double)(total - done) / rate : 0;
		fprintf(stderr, "\r%-18s [%.*s%*s] %3.0f%% %s/%s %s/s ETA %.0fs  ", phase, fill,
		        "##############################", width - fill, "", 100.0 * (double)done / (double)total, d,
		        t, r, eta);
	} else {
		fprintf(stderr, "\r%-18s %s %s/s  ", phase, d, r);
	}
	fflush(stderr);
	return 0;
}

void cli_progress_done(cli_progress *p)
{
	if (p->enabled && p->phase[0]) {
		fputc('\n', stderr);
		p->phase[0] = 0;
	}
}

/* ---- JSON ------------------------------------------------------------------------- */
void cli_json_begin(vl_sink *s)
{
	vl_sink_init_file(s, stdout);
}

int cli_json_end(vl_sink *s)
{
	int err = s->err;
	if (fflush(stdout) != 0 || err)
		return cli_error("writing output: %s", strerror(errno));
	return CLI_OK;
}

void cli_json_str(vl_sink *s, const char *str)
{
	vl_json_write_string(s, str, strlen(str));
}

void cli_json_bytes(vl_sink *s, const void *p, size_t n)
{
	if (vl_utf8_valid(p, n, NULL)) {
		vl_json_write_string(s, p, n);
		return;
	}
	vl_sink_puts(s, "{\"base64\": \"");
	vl_sink_b64(s, p, n);
	vl_sink_puts(s, "\"}");
}

void cli_json_key(vl_sink *s, const char *name)
{
	cli_json_str(s, name);
	vl_sink_puts(s, ": ");
}

void cli_json_u64(vl_sink *s, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof b, "%" PRIu64, v);
	vl_sink_puts(s, b);
}

void cli_json_f64(vl_sink *s, double v)
{
	char b[VL_FMT_F64_MAX];
	if (!isfinite(v)) {
		vl_sink_puts(s, "null");
		return;
	}
	vl_fmt_f64(v, b);
	vl_sink_puts(s, b);
}

void cli_json_f32(vl_sink *s, float v)
{
	char b[VL_FMT_F32_MAX];
	if (!isfinite(v)) {
		vl_sink_puts(s, "null");
		return;
	}
	vl_fmt_f32(v, b);
	vl_sink_puts(s, b);
}

void cli_json_rowkey(vl_sink *s, const void *key, size_t len)
{
	if (vl_utf8_valid(key, len, NULL)) {
		cli_json_key(s, "key");
		vl_json_write_string(s, key, len);
	} else {
		cli_json_key(s, "key_base64");
		vl_sink_putc(s, '"');
		vl_sink_b64(s, key, len);
		vl_sink_putc(s, '"');
	}
}

void cli_json_value(vl_sink *s, const vl_value *v, vl_field_type type)
{
	if (type == VL_FIELD_NUMERIC) {
		if (v->data && vl_json_number_valid(v->data, v->len))
			vl_sink_write(s, v->data, v->len);
		else
			cli_json_f64(s, v->num);
		return;
	}
	cli_json_bytes(s, v->data ? v->data : "", v->data ? v->len : 0);
}
