/*
 * vecfile_text.c - JSON Lines and JSON array files as vector sources.
 *
 * JSON Lines: one row per line (jsonl.h), blank lines skipped, a UTF-8 BOM
 * at the start skipped. JSON: one top-level array whose elements are rows
 * (row objects or arrays of numbers), or one bare array of numbers (a
 * single vector). Both are read line by line / element by element, so
 * memory is bounded by the longest line or element (opts.line_max).
 */
#include <string.h>

#include "vecfile_int.h"

static int is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int skip_bom(vl_vecfile *vf)
{
	int rc = vf_fill(vf, 3);
	if (rc)
		return rc;
	if (vf_avail(vf) >= 3 && memcmp(vf->buf + vf->pos, "\xef\xbb\xbf", 3) == 0)
		vf->pos += 3;
	return VL_OK;
}

static int text_parsers(vl_vecfile *vf)
{
	vf->jp = vl_jsonl_parser_new();
	vf->jdoc = vl_json_doc_new();
	if (!vf->jp || !vf->jdoc)
		return vl_diag_set(&vf->diag, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	vf->info.source_type = "json";
	return VL_OK;
}

/* A row reader's result: check the dim, copy the vector out. */
static int deliver(vl_vecfile *vf, float *out)
{
	const vl_jsonl_row *r = &vf->trow;
	vf->row_error = 1; /* the row is consumed: an error here concerns it alone */
	if (r->dim != vf->info.dim)
		return vf_fail(vf, VL_EDIM, r->offset,
		               "line %llu: vector has dim %u but the first row has dim %u",
		               (unsigned long long)r->line, r->dim, vf->info.dim);
	vf->row_off = r->offset;
	vf->row_error = 0;
	if (out && out != r->vector)
		memcpy(out, r->vector, (size_t)r->dim * sizeof(float));
	return 1;
}

/* ---- JSON Lines ----------------------------------------------------------------- */

/* The next line (without '\n'): 1, or 0 at the end of the input. */
static int next_line(vl_vecfile *vf, const uint8_t **line, size_t *len, uint64_t *off)
{
	for (;;) {
		size_t avail = vf_avail(vf);
		const uint8_t *start = vf->buf + vf->pos;
		const uint8_t *nl = avail > vf->scan_at
		                  ? memchr(start + vf->scan_at, '\n', avail - vf->scan_at) : NULL;
		if (nl || (vf->eof && avail)) {
			*line = start;
			*len = nl ? (size_t)(nl - start) : avail;
			*off = vf_off(vf);
			vf->pos += nl ? *len + 1 : avail;
			vf->scan_at = 0;
			return 1;
		}
		if (vf->eof)
			return 0;
		vf->scan_at = avail;
		if (avail >= vf->line_max)
			return vf_fail(vf, VL_ELIMIT, vf_off(vf), "line %llu is longer than %zu bytes",
			               (unsigned long long)vf->line, vf->line_max);
		int rc = vf_fill(vf, avail + 1);
		if (rc)
			return rc;
	}
}

static int jsonl_next(vl_vecfile *vf)
{
	for (;;) {
		const uint8_t *line = NULL;
		size_t len = 0;
		uint64_t off = 0;
		int r = next_line(vf, &line, &len, &off);
		if (r <= 0)
			return r;
		uint64_t lineno = vf->line++;
		if (vl_jsonl_blank(line, len))
			continue;
		vl_diag sub;
		vl_diag_clear(&sub);
		int rc = vl_jsonl_parse_line(vf->jp, line, len, lineno, off, vf->row, &vf->trow, &sub);
		if (rc) {
			vf->row_error = 1; /* lines are independent: the next one can be read */
			return vf_fail_sub(vf, &sub);
		}
		return 1;
	}
}

static int jsonl_read(vl_vecfile *vf, float *out, int32_t *out_i)
{
	(void)out_i;
	if (vf->pending)
		vf->pending = 0;
	else {
		int r = jsonl_next(vf);
		if (r <= 0)
			return r;
	}
	return deliver(vf, out);
}

int vf_open_jsonl(vl_vecfile *vf)
{
	int rc = text_parsers(vf);
	if (rc || (rc = skip_bom(vf)))
		return rc;
	int r = jsonl_next(vf);
	if (r < 0)
		return r;
	if (r == 0)
		return vl_diag_set(&vf->diag, VL_EFORMAT, vf_off(vf),
		                   "no rows: the file holds only blank lines");
	vf->info.dim = vf->trow.dim;
	vf->pending = 1;
	vf->read = jsonl_read;
	return VL_OK;
}

/* ---- JSON array files ------------------------------------------------------------- */

/* Skip whitespace (counting lines), reading more as needed. */
static int skip_ws(vl_vecfile *vf)
{
	for (;;) {
		while (vf->pos < vf->end && is_ws(vf->buf[vf->pos])) {
			if (vf->buf[vf->pos] == '\n')
				vf->line++;
			vf->pos++;
		}
		if (vf->pos < vf->end || vf->eof)
			return VL_OK;
		int rc = vf_fill(vf, 1);
		if (rc)
			return rc;
	}
}

static int peek(const vl_vecfile *vf)
{
	return vf->pos < vf->end ? vf->buf[vf->pos] : -1;
}

static const char *show_char(int c, char buf[16])
{
	if (c < 0)
		return "the end of the file";
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

/* Advance the element scan over t[i..n); returns the element length once
 * its end is seen, else 0 (state kept in vf for the next call). */
static size_t scan_step(vl_vecfile *vf, const uint8_t *t, size_t n)
{
	size_t i = vf->scan_at;
	if (i == 0) {
		uint8_t c = t[0];
		vf->scan_depth = c == '[' || c == '{' ? 1 : c == '"' ? 0 : -1;
		vf->scan_in_str = c == '"';
		vf->scan_esc = 0;
		i = 1;
	}
	for (; i < n; i++) {
		uint8_t c = t[i];
		if (vf->scan_in_str) {
			if (vf->scan_esc)
				vf->scan_esc = 0;
			else if (c == '\\')
				vf->scan_esc = 1;
			else if (c == '"') {
				vf->scan_in_str = 0;
				if (vf->scan_depth == 0)
					return i + 1;
			}
		} else if (vf->scan_depth < 0) { /* a scalar ends at a delimiter */
			if (c == ',' || c == ']' || c == '}' || is_ws(c))
				return i;
		} else if (c == '"') {
			vf->scan_in_str = 1;
		} else if (c == '[' || c == '{') {
			vf->scan_depth++;
		} else if ((c == ']' || c == '}') && --vf->scan_depth == 0) {
			return i + 1;
		}
	}
	vf->scan_at = i;
	return 0;
}

/* Length of the JSON value starting at buf[pos] (its end found by bracket
 * counting; the DOM parser validates it afterwards). */
static int scan_element(vl_vecfile *vf, size_t *len)
{
	vf->scan_at = 0;
	for (;;) {
		size_t avail = vf_avail(vf);
		size_t n = scan_step(vf, vf->buf + vf->pos, avail);
		if (n || vf->eof) {
			*len = n ? n : avail;
			vf->scan_at = 0;
			return VL_OK;
		}
		if (avail >= vf->line_max)
			return vf_fail(vf, VL_ELIMIT, vf_off(vf),
			               "line %llu: array element is longer than %zu bytes",
			               (unsigned long long)vf->line, vf->line_max);
		int rc = vf_fill(vf, avail + 1);
		if (rc)
			return rc;
	}
}

static int parse_element(vl_vecfile *vf)
{
	size_t len = 0;
	int rc = scan_element(vf, &len);
	if (rc)
		return rc;
	const uint8_t *t = vf->buf + vf->pos;
	uint64_t line = vf->line;
	vl_diag sub;
	vl_diag_clear(&sub);
	const vl_json *root;
	rc = vl_json_parse(vf->jdoc, t, len, vf_off(vf), line, &root, &sub);
	if (rc) /* malformed JSON: the array's structure is lost */
		return vf_fail_sub(vf, &sub);
	for (size_t i = 0; i < len; i++)
		vf->line += t[i] == '\n';
	vf->pos += len;
	vf->js_state = vf->js_single ? JS_END : JS_NEXT;
	rc = vl_jsonl_row_from_json(vf->jp, root, line, vf->row, &vf->trow, &sub);
	if (rc) { /* a well-formed element that is not a valid row: skippable */
		vf->row_error = 1;
		return vf_fail_sub(vf, &sub);
	}
	return 1;
}

/* After the closing ']' only whitespace may follow. */
static int json_end(vl_vecfile *vf)
{
	int rc = skip_ws(vf);
	if (rc)
		return rc;
	if (peek(vf) >= 0) {
		char cb[16];
		return vf_fail(vf, VL_EFORMAT, vf_off(vf), "line %llu: unexpected %s after the JSON array",
		               (unsigned long long)vf->line, show_char(peek(vf), cb));
	}
	vf->js_state = JS_DONE;
	return 0;
}

static int json_next(vl_vecfile *vf)
{
	char cb[16];
	int rc;
	if (vf->js_state == JS_DONE)
		return 0;
	if (vf->js_state == JS_END)
		return json_end(vf);
	if ((rc = skip_ws(vf)))
		return rc;
	int c = peek(vf);
	if (c == ']') {
		vf->pos++;
		return json_end(vf);
	}
	if (c < 0)
		return vf_fail(vf, VL_EFORMAT, vf_off(vf), "line %llu: the array is not closed",
		               (unsigned long long)vf->line);
	if (vf->js_state == JS_NEXT) {
		if (c != ',')
			return vf_fail(vf, VL_EFORMAT, vf_off(vf),
			               "line %llu: expected ',' or ']' after a row but found %s",
			               (unsigned long long)vf->line, show_char(c, cb));
		vf->pos++;
		if ((rc = skip_ws(vf)))
			return rc;
		c = peek(vf);
		if (c == ']')
			return vf_fail(vf, VL_EFORMAT, vf_off(vf), "line %llu: trailing ',' before ']'",
			               (unsigned long long)vf->line);
	}
	if (c < 0)
		return vf_fail(vf, VL_EFORMAT, vf_off(vf), "line %llu: the array is not closed",
		               (unsigned long long)vf->line);
	return parse_element(vf);
}

static int json_read(vl_vecfile *vf, float *out, int32_t *out_i)
{
	(void)out_i;
	if (vf->pending)
		vf->pending = 0;
	else {
		int r = json_next(vf);
		if (r <= 0)
			return r;
	}
	return deliver(vf, out);
}

/* Is the top-level array one bare vector? Looks past '[' and whitespace
 * without consuming anything. */
static int first_is_number(vl_vecfile *vf, int *yes)
{
	size_t i = 1;
	for (;;) {
		while (vf->pos + i < vf->end && is_ws(vf->buf[vf->pos + i]))
			i++;
		if (vf->pos + i < vf->end || vf->eof)
			break;
		if (i >= vf->line_max)
			return vf_fail(vf, VL_ELIMIT, vf_off(vf), "more than %zu bytes of whitespace",
			               vf->line_max);
		int rc = vf_fill(vf, i + 1);
		if (rc)
			return rc;
	}
	int c = vf->pos + i < vf->end ? vf->buf[vf->pos + i] : -1;
	*yes = c == '-' || (c >= '0' && c <= '9');
	return VL_OK;
}

int vf_open_json(vl_vecfile *vf)
{
	int rc = text_parsers(vf);
	if (rc || (rc = skip_bom(vf)) || (rc = skip_ws(vf)))
		return rc;
	char cb[16];
	int c = peek(vf);
	if (c != '[')
		return vl_diag_set(&vf->diag, VL_EFORMAT, vf_off(vf),
		                   "line %llu: a JSON vector file holds one array (of vectors or row "
		                   "objects) but starts with %s", (unsigned long long)vf->line,
		                   show_char(c, cb));
	if ((rc = first_is_number(vf, &vf->js_single)))
		return rc;
	if (!vf->js_single)
		vf->pos++; /* rows follow the '[' */
	vf->js_state = JS_FIRST;
	int r = vf->js_single ? parse_element(vf) : json_next(vf);
	if (r < 0)
		return r;
	if (r == 0)
		return vl_diag_set(&vf->diag, VL_EFORMAT, vf_off(vf), "no rows: the array is empty");
	vf->info.dim = vf->trow.dim;
	vf->pending = 1;
	vf->read = json_read;
	return VL_OK;
}
