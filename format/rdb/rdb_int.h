/*
 * rdb_int.h - internals shared by the RDB reader's files (source.c, rdb.c,
 * rdb_value.c, rdb_module.c). Not for consumers: use rdb.h.
 */
#ifndef VL_RDB_INT_H
#define VL_RDB_INT_H

#include "rdb.h"

/* A growable byte buffer owned by the parser. */
typedef struct rdb_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
} rdb_buf;

/* The byte source: a window over the read function. Bytes win[pos..end) are
 * buffered; the CRC covers every file byte before win[crc_from]. */
typedef struct rdb_src {
	vl_rdb_read_fn read;
	void *ud;
	uint8_t *win;
	size_t cap;
	size_t pos, end;
	size_t crc_from;
	uint64_t win_off;       /* file offset of win[0] */
	uint64_t crc;
	int eof;
} rdb_src;

/* Parser state shared by the value readers. */
typedef struct rdb_parser {
	rdb_src src;
	const vl_rdb_handlers *h;
	void *ud;
	vl_diag *d;
	size_t max_value;
	int version;
	uint32_t flags;
	uint64_t db;
	uint64_t lzf_strings;
	vl_rdb_key key;         /* the key being read */
	vl_rdb_value_info info;
	rdb_buf keybuf, a, b, blob, lzf;
} rdb_parser;

static inline uint64_t src_off(const rdb_src *s)
{
	return s->win_off + s->pos;
}

int rdb_buf_reserve(rdb_buf *b, size_t n, vl_diag *d);
void rdb_buf_free(rdb_buf *b);

int src_init(rdb_src *s, vl_rdb_read_fn rd, void *ud, size_t cap, vl_diag *d);
void src_free(rdb_src *s);
/* Make n (<= cap) bytes available at win[pos]; VL_EFORMAT if the file ends first. */
int src_need(rdb_src *s, size_t n, const char *what, vl_diag *d);
/* Pass over n bytes (any n), feeding the CRC. */
int src_skip(rdb_src *s, uint64_t n, const char *what, vl_diag *d);
/* Copy n bytes (any n) to dst. */
int src_copy(rdb_src *s, uint8_t *dst, size_t n, const char *what, vl_diag *d);
/* Fold bytes consumed so far into the CRC and return it. */
uint64_t src_crc(rdb_src *s);
/* 1 if at least one more byte exists after the current position. */
int src_more(rdb_src *s, vl_diag *d);

static inline int src_u8(rdb_src *s, uint8_t *out, const char *what, vl_diag *d)
{
	if (s->pos == s->end) {
		int rc = src_need(s, 1, what, d);
		if (rc < 0)
			return rc;
	}
	*out = s->win[s->pos++];
	return 0;
}

/* Encoded-string flag returned by rdb_len(). */
#define RDB_LEN_ENCODED 1

int rdb_len(rdb_parser *p, uint64_t *out, int *encoded, const char *what);
/* A length that must not carry the "special encoding" flag. */
int rdb_plain_len(rdb_parser *p, uint64_t *out, const char *what);
/* Read an RDB string into buf (int encodings as decimal text, LZF inflated).
 * Fails with VL_ELIMIT beyond p->max_value. */
int rdb_string(rdb_parser *p, rdb_buf *buf, const char *what);
/* Skip an RDB string without decoding it. */
int rdb_skip_string(rdb_parser *p, const char *what);
int rdb_u64le(rdb_parser *p, uint64_t *out, const char *what);

/* Values (rdb_value.c). */
int rdb_read_value(rdb_parser *p, int want);
int rdb_type_known(int type, vl_rdb_kind *kind, const char **encoding);

/* Modules (rdb_module.c): walk opcode items until EOF; deliver them through
 * the elem handler (key != NULL) or module_aux_item (aux != NULL) if want. */
int rdb_module_items(rdb_parser *p, int want, vl_rdb_module_aux *aux, uint64_t *items);

int rdb_emit(rdb_parser *p, const vl_rdb_elem *e);
int rdb_consumer_error(rdb_parser *p, int rc, const char *event);

#endif
