/*
 * vl_bytes.h - little-endian loads/stores and bounded byte readers.
 *
 * Every on-disk integer in veclite and in the foreign formats it reads is
 * accessed through these helpers: no casts of buffer pointers to wider
 * types (unaligned and aliasing-unsafe), no host-order assumptions.
 */
#ifndef VL_BYTES_H
#define VL_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t vl_ld16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (uint16_t)b[1] << 8);
}
static inline uint32_t vl_ld32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t vl_ld64(const void *p)
{
	return (uint64_t)vl_ld32(p) | (uint64_t)vl_ld32((const uint8_t *)p + 4) << 32;
}
static inline uint32_t vl_ld32be(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t vl_ld64be(const void *p)
{
	return (uint64_t)vl_ld32be(p) << 32 | vl_ld32be((const uint8_t *)p + 4);
}
static inline float vl_ldf32(const void *p)
{
	uint32_t u = vl_ld32(p);
	float f;
	memcpy(&f, &u, 4);
	return f;
}
static inline double vl_ldf64(const void *p)
{
	uint64_t u = vl_ld64(p);
	double d;
	memcpy(&d, &u, 8);
	return d;
}
static inline void vl_st16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}
static inline void vl_st32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}
static inline void vl_st64(void *p, uint64_t v)
{
	vl_st32(p, (uint32_t)v);
	vl_st32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}
static inline void vl_st32be(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}
static inline void vl_st64be(void *p, uint64_t v)
{
	vl_st32be(p, (uint32_t)(v >> 32));
	vl_st32be((uint8_t *)p + 4, (uint32_t)v);
}
static inline void vl_stf32(void *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	vl_st32(p, u);
}
static inline void vl_stf64(void *p, double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	vl_st64(p, u);
}

/* The host must be little-endian for the zero-copy float views of mapped
 * sections (vectors are stored as little-endian IEEE-754). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "veclite maps little-endian float arrays directly; big-endian hosts are not supported"
#endif

/*
 * A bounded forward reader over a byte buffer. Reads past the end set
 * `bad` and return zeros, so a parser checks once after a group of reads
 * instead of before each one. `base` is the absolute offset of buf[0] in
 * the enclosing file, for error messages.
 */
typedef struct vl_rd {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	uint64_t base;
	int bad;
} vl_rd;

static inline vl_rd vl_rd_make(const void *buf, size_t len, uint64_t base)
{
	vl_rd r = { (const uint8_t *)buf, len, 0, base, 0 };
	return r;
}
static inline size_t vl_rd_left(const vl_rd *r) { return r->bad ? 0 : r->len - r->pos; }
static inline uint64_t vl_rd_off(const vl_rd *r) { return r->base + r->pos; }
static inline const uint8_t *vl_rd_take(vl_rd *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}
static inline uint8_t vl_rd_u8(vl_rd *r)
{
	const uint8_t *p = vl_rd_take(r, 1);
	return p ? p[0] : 0;
}
static inline uint16_t vl_rd_u16(vl_rd *r)
{
	const uint8_t *p = vl_rd_take(r, 2);
	return p ? vl_ld16(p) : 0;
}
static inline uint32_t vl_rd_u32(vl_rd *r)
{
	const uint8_t *p = vl_rd_take(r, 4);
	return p ? vl_ld32(p) : 0;
}
static inline uint64_t vl_rd_u64(vl_rd *r)
{
	const uint8_t *p = vl_rd_take(r, 8);
	return p ? vl_ld64(p) : 0;
}
static inline double vl_rd_f64(vl_rd *r)
{
	const uint8_t *p = vl_rd_take(r, 8);
	return p ? vl_ldf64(p) : 0.0;
}

#endif
