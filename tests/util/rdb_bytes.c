/* rdb_bytes.c - hand-built RDB byte sequences for tests (see rdb_bytes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/crc64.h"
#include "rdb/rdb.h"
#include "rdb_bytes.h"

void rb_free(rb *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

void rb_raw(rb *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void rb_u8(rb *b, uint8_t v)
{
	rb_raw(b, &v, 1);
}

void rb_u32le(rb *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	rb_raw(b, x, 4);
}

void rb_u64le(rb *b, uint64_t v)
{
	rb_u32le(b, (uint32_t)v);
	rb_u32le(b, (uint32_t)(v >> 32));
}

void rb_len(rb *b, uint64_t v)
{
	if (v < 64) {
		rb_u8(b, (uint8_t)v);
	} else if (v < 16384) {
		rb_u8(b, (uint8_t)(0x40 | (v >> 8)));
		rb_u8(b, (uint8_t)v);
	} else if (v <= UINT32_MAX) {
		uint8_t x[5] = { 0x80, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
		rb_raw(b, x, 5);
	} else {
		rb_u8(b, 0x81);
		for (int i = 7; i >= 0; i--)
			rb_u8(b, (uint8_t)(v >> (8 * i)));
	}
}

void rb_str(rb *b, const void *p, size_t n)
{
	rb_len(b, n);
	rb_raw(b, p, n);
}

void rb_cstr(rb *b, const char *s)
{
	rb_str(b, s, strlen(s));
}

void rb_header(rb *b, int version)
{
	char h[16];
	snprintf(h, sizeof h, "REDIS%04d", version);
	rb_raw(b, h, 9);
}

void rb_finish(rb *b, int version, int crc)
{
	rb_u8(b, 0xff);
	if (version >= 5)
		rb_u64le(b, crc ? vl_crc64(0, b->p, b->len) : 0);
}

/* ---- listpack ---- */

static size_t lp_backlen(uint8_t *out, size_t l)
{
	if (l <= 127) {
		out[0] = (uint8_t)l;
		return 1;
	}
	if (l < 16383) {
		out[0] = (uint8_t)(l >> 7);
		out[1] = (uint8_t)((l & 127) | 128);
		return 2;
	}
	out[0] = (uint8_t)(l >> 14);
	out[1] = (uint8_t)(((l >> 7) & 127) | 128);
	out[2] = (uint8_t)((l & 127) | 128);
	return 3;
}

static void lp_entry(rb *b, const rb_item *it)
{
	uint8_t e[16];
	size_t l;
	if (it->s) {
		if (it->len < 64) {
			e[0] = (uint8_t)(0x80 | it->len);
			l = 1;
		} else if (it->len < 4096) {
			e[0] = (uint8_t)(0xe0 | (it->len >> 8));
			e[1] = (uint8_t)it->len;
			l = 2;
		} else {
			e[0] = 0xf0;
			for (int i = 0; i < 4; i++)
				e[1 + i] = (uint8_t)(it->len >> (8 * i));
			l = 5;
		}
		rb_raw(b, e, l);
		rb_raw(b, it->s, it->len);
		l += it->len;
	} else {
		const int64_t v = it->v;
		int bytes;
		if (v >= 0 && v <= 127) {
			e[0] = (uint8_t)v;
			l = 1;
			bytes = 0;
		} else if (v >= -4096 && v <= 4095) {
			uint16_t u = (uint16_t)(v & 0x1fff);
			e[0] = (uint8_t)(0xc0 | (u >> 8));
			e[1] = (uint8_t)u;
			l = 2;
			bytes = 0;
		} else if (v >= INT16_MIN && v <= INT16_MAX) {
			e[0] = 0xf1, bytes = 2;
		} else if (v >= -(1 << 23) && v < (1 << 23)) {
			e[0] = 0xf2, bytes = 3;
		} else if (v >= INT32_MIN && v <= INT32_MAX) {
			e[0] = 0xf3, bytes = 4;
		} else {
			e[0] = 0xf4, bytes = 8;
		}
		if (bytes) {
			for (int i = 0; i < bytes; i++)
				e[1 + i] = (uint8_t)((uint64_t)v >> (8 * i));
			l = 1 + (size_t)bytes;
		}
		rb_raw(b, e, l);
	}
	uint8_t bl[5];
	rb_raw(b, bl, lp_backlen(bl, l));
}

void rb_listpack(rb *out, const rb_item *items, size_t n)
{
	rb body = { 0 };
	for (size_t i = 0; i < n; i++)
		lp_entry(&body, &items[i]);
	rb_u32le(out, (uint32_t)(6 + body.len + 1));
	uint8_t c[2] = { (uint8_t)(n < 65535 ? n : 65535), (uint8_t)((n < 65535 ? n : 65535) >> 8) };
	rb_raw(out, c, 2);
	rb_raw(out, body.p, body.len);
	rb_u8(out, 0xff);
	rb_free(&body);
}

/* ---- ziplist ---- */

static size_t zl_body(uint8_t *e, const rb_item *it)
{
	if (it->s) {
		if (it->len < 64) {
			e[0] = (uint8_t)it->len;
			return 1;
		}
		if (it->len < 16384) {
			e[0] = (uint8_t)(0x40 | (it->len >> 8));
			e[1] = (uint8_t)it->len;
			return 2;
		}
		e[0] = 0x80;
		for (int i = 0; i < 4; i++)
			e[1 + i] = (uint8_t)(it->len >> (24 - 8 * i));
		return 5;
	}
	const int64_t v = it->v;
	int bytes;
	if (v >= 0 && v <= 12) {
		e[0] = (uint8_t)(0xf1 + v);
		return 1;
	}
	if (v >= INT8_MIN && v <= INT8_MAX)
		e[0] = 0xfe, bytes = 1;
	else if (v >= INT16_MIN && v <= INT16_MAX)
		e[0] = 0xc0, bytes = 2;
	else if (v >= -(1 << 23) && v < (1 << 23))
		e[0] = 0xf0, bytes = 3;
	else if (v >= INT32_MIN && v <= INT32_MAX)
		e[0] = 0xd0, bytes = 4;
	else
		e[0] = 0xe0, bytes = 8;
	for (int i = 0; i < bytes; i++)
		e[1 + i] = (uint8_t)((uint64_t)v >> (8 * i));
	return 1 + (size_t)bytes;
}

void rb_ziplist(rb *out, const rb_item *items, size_t n)
{
	rb body = { 0 };
	size_t prev = 0, tail = 10;
	for (size_t i = 0; i < n; i++) {
		const size_t start = body.len;
		tail = 10 + start;
		if (prev < 254) {
			rb_u8(&body, (uint8_t)prev);
		} else {
			rb_u8(&body, 0xfe);
			rb_u32le(&body, (uint32_t)prev);
		}
		uint8_t e[16];
		rb_raw(&body, e, zl_body(e, &items[i]));
		if (items[i].s)
			rb_raw(&body, items[i].s, items[i].len);
		prev = body.len - start;
	}
	rb_u32le(out, (uint32_t)(10 + body.len + 1));
	rb_u32le(out, (uint32_t)tail);
	uint8_t c[2] = { (uint8_t)(n < 65535 ? n : 65535), (uint8_t)((n < 65535 ? n : 65535) >> 8) };
	rb_raw(out, c, 2);
	rb_raw(out, body.p, body.len);
	rb_u8(out, 0xff);
	rb_free(&body);
}

/* ---- zipmap ---- */

static void zm_len(rb *b, size_t n)
{
	if (n < 254) {
		rb_u8(b, (uint8_t)n);
	} else {
		rb_u8(b, 254);
		rb_u32le(b, (uint32_t)n);
	}
}

void rb_zipmap(rb *out, const rb_item *items, size_t n)
{
	rb_u8(out, (uint8_t)(n / 2 < 254 ? n / 2 : 254));
	for (size_t i = 0; i + 1 < n; i += 2) {
		zm_len(out, items[i].len);
		rb_raw(out, items[i].s, items[i].len);
		zm_len(out, items[i + 1].len);
		const uint8_t freeb = (uint8_t)(i % 4 == 0 ? 2 : 0); /* some free space, as updates leave */
		rb_u8(out, freeb);
		rb_raw(out, items[i + 1].s, items[i + 1].len);
		for (uint8_t k = 0; k < freeb; k++)
			rb_u8(out, 0);
	}
	rb_u8(out, 0xff);
}

void rb_intset(rb *out, const int64_t *v, size_t n, unsigned width)
{
	rb_u32le(out, width);
	rb_u32le(out, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < width; k++)
			rb_u8(out, (uint8_t)((uint64_t)v[i] >> (8 * k)));
}

uint64_t rb_module_id(const char *name, unsigned encver)
{
	uint64_t id = 0;
	if (vl_rdb_module_id(name, encver, &id) != 0)
		abort();
	return id;
}
