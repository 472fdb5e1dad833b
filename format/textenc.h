/*
 * textenc.h - text encodings shared by the JSON, JSON Lines and export code:
 * base64 (RFC 4648 standard alphabet, padded), UTF-8 validation, shortest
 * round-trip decimal formatting of float32/float64, and an output sink that
 * writes either to a FILE * or to a growable memory buffer.
 *
 * Pure functions with no engine state; the decoders treat their input as
 * untrusted and report the byte offset of the first problem.
 */
#ifndef VL_TEXTENC_H
#define VL_TEXTENC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vl_diag.h"

/* ---- base64 ------------------------------------------------------------ */

/* Characters needed to encode n bytes (padding included, no NUL). */
static inline size_t vl_b64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }
/* Upper bound of the bytes decoded from n characters. */
static inline size_t vl_b64_decoded_max(size_t n) { return n / 4 * 3; }

/* Encode n bytes of src into dst (vl_b64_encoded_len(n) chars, no NUL
 * written). Returns the number of characters written. */
size_t vl_b64_encode(const void *src, size_t n, char *dst);

/*
 * Decode n characters of src into dst (room for vl_b64_decoded_max(n)
 * bytes). Strict: the length must be a multiple of 4, only A-Z a-z 0-9 + /
 * are allowed, '=' only as the last one or two characters, and the unused
 * bits before padding must be zero (one canonical encoding per byte string).
 * No whitespace. *out_len receives the decoded length.
 * Errors: VL_EFORMAT with the offset of the offending character (relative
 * to src, plus `base`).
 */
int vl_b64_decode(const char *src, size_t n, uint8_t *dst, size_t *out_len,
                  uint64_t base, vl_diag *d);

/* ---- UTF-8 -------------------------------------------------------------- */

/*
 * Is s[0..n) well-formed UTF-8 (RFC 3629)? Rejects overlong forms,
 * surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray
 * continuation bytes and truncated sequences. Returns 1 when valid; else 0
 * and, if bad_off is not NULL, the offset of the first byte of the first
 * ill-formed sequence.
 */
int vl_utf8_valid(const void *s, size_t n, size_t *bad_off);

/* Length (1..4) of the well-formed sequence starting at s[0] within n bytes,
 * or 0 if it is ill-formed or truncated. */
size_t vl_utf8_seq_len(const uint8_t *s, size_t n);

/* Append code point cp (<= 0x10FFFF, not a surrogate) as UTF-8; returns bytes written. */
size_t vl_utf8_put(uint8_t *dst, uint32_t cp);

/* ---- shortest round-trip number formatting ------------------------------ */

/* Room for any output of vl_fmt_f32 / vl_fmt_f64 (with the NUL). */
#define VL_FMT_F32_MAX 20
#define VL_FMT_F64_MAX 32

/*
 * Write the shortest decimal text that strtof() reads back as exactly x
 * (bit for bit, ±0 included), NUL-terminated, and return its length.
 * The digits are the fewest that identify x (closest to x among those);
 * the layout is whichever of plain ("0.001", "123", "1.5") or exponent
 * ("1e-05" style without '+' or zero padding: "1e-5", "1.5e30") is shorter,
 * plain on a tie. The text is a valid JSON number and never longer than
 * printf("%.9g", x), except -0, written "-0.0" because JSON readers that
 * parse "-0" as the integer 0 (Python's json) would lose the sign.
 * Non-finite x gives "nan", "inf" or "-inf" (not JSON).
 */
int vl_fmt_f32(float x, char buf[VL_FMT_F32_MAX]);

/* The same by the slow bignum algorithm alone (reference for tests). */
int vl_fmt_f32_ref(float x, char buf[VL_FMT_F32_MAX]);

/* The same for float64 (strtod() reads it back exactly). */
int vl_fmt_f64(double x, char buf[VL_FMT_F64_MAX]);

/* strtof/strtod in the "C" locale whatever setlocale() the program made
 * (a locale with a decimal comma must not change how files parse). */
float vl_strtof_c(const char *s, char **end);
double vl_strtod_c(const char *s, char **end);

/* ---- output sink --------------------------------------------------------- */

/*
 * Where writers put their bytes: a FILE * (borrowed, stdio-buffered) or a
 * growable memory buffer owned by the sink. The first failure is sticky:
 * later writes do nothing and return the same code (VL_EIO, VL_ENOMEM).
 */
typedef struct vl_sink {
	FILE *fp;      /* NULL: memory sink */
	char *buf;     /* memory sink: bytes written so far (not NUL-terminated) */
	size_t len;
	size_t cap;
	int err;       /* first error, 0 if none */
} vl_sink;

void vl_sink_init_mem(vl_sink *s);
void vl_sink_init_file(vl_sink *s, FILE *fp);
/* Release a memory sink's buffer (the FILE of a file sink is left open). */
void vl_sink_free(vl_sink *s);
/* Forget the bytes of a memory sink, keeping its buffer for reuse. */
static inline void vl_sink_reset(vl_sink *s) { s->len = 0; s->err = 0; }

int vl_sink_write(vl_sink *s, const void *p, size_t n);
int vl_sink_putc(vl_sink *s, char c);
int vl_sink_puts(vl_sink *s, const char *str);
/* Write the base64 encoding of n bytes. */
int vl_sink_b64(vl_sink *s, const void *p, size_t n);

#endif
