/* textenc.c - base64, UTF-8 validation, shortest round-trip number
 * formatting and the output sink (see textenc.h). */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "textenc.h"

/* ---- base64 ------------------------------------------------------------ */

static const char b64_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t vl_b64_encode(const void *src, size_t n, char *dst)
{
	const uint8_t *s = src;
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[o++] = b64_alphabet[v >> 18];
		dst[o++] = b64_alphabet[(v >> 12) & 63];
		dst[o++] = b64_alphabet[(v >> 6) & 63];
		dst[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		dst[o++] = b64_alphabet[v >> 18];
		dst[o++] = b64_alphabet[(v >> 12) & 63];
		dst[o++] = '=';
		dst[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		dst[o++] = b64_alphabet[v >> 18];
		dst[o++] = b64_alphabet[(v >> 12) & 63];
		dst[o++] = b64_alphabet[(v >> 6) & 63];
		dst[o++] = '=';
	}
	return o;
}

/* Value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int b64_bad_char(const char *src, size_t i, uint64_t base, vl_diag *d)
{
	unsigned char c = (unsigned char)src[i];
	if (c == '=')
		return vl_diag_set(d, VL_EFORMAT, base + i,
		                   "base64: '=' padding before the end of the text");
	if (c >= 0x20 && c < 0x7f)
		return vl_diag_set(d, VL_EFORMAT, base + i, "base64: invalid character '%c'", c);
	return vl_diag_set(d, VL_EFORMAT, base + i, "base64: invalid byte 0x%02x", c);
}

/* Decode one group of 4 characters at src[i]; pad = '=' count allowed here. */
static int b64_group(const char *src, size_t i, int last, uint8_t *dst, size_t *o,
                     uint64_t base, vl_diag *d)
{
	int npad = 0;
	if (last) {
		if (src[i + 3] == '=')
			npad = src[i + 2] == '=' ? 2 : 1;
	}
	uint32_t v = 0;
	for (int j = 0; j < 4; j++) {
		int x = j >= 4 - npad ? 0 : b64_value((unsigned char)src[i + j]);
		if (x < 0)
			return b64_bad_char(src, i + j, base, d);
		v = v << 6 | (uint32_t)x;
	}
	/* The bits below the last byte must be zero (canonical encoding). */
	if ((npad == 2 && (v & 0xffff)) || (npad == 1 && (v & 0xff)))
		return vl_diag_set(d, VL_EFORMAT, base + i + 3 - npad,
		                   "base64: non-zero bits before the '=' padding");
	dst[(*o)++] = (uint8_t)(v >> 16);
	if (npad < 2)
		dst[(*o)++] = (uint8_t)(v >> 8);
	if (npad < 1)
		dst[(*o)++] = (uint8_t)v;
	return VL_OK;
}

int vl_b64_decode(const char *src, size_t n, uint8_t *dst, size_t *out_len,
                  uint64_t base, vl_diag *d)
{
	*out_len = 0;
	if (n % 4)
		return vl_diag_set(d, VL_EFORMAT, base + n,
		                   "base64: length %zu is not a multiple of 4", n);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int rc = b64_group(src, i, i + 4 == n, dst, &o, base, d);
		if (rc)
			return rc;
	}
	*out_len = o;
	return VL_OK;
}

/* ---- UTF-8 -------------------------------------------------------------- */

static int is_cont(uint8_t b) { return (b & 0xc0) == 0x80; }

size_t vl_utf8_seq_len(const uint8_t *s, size_t n)
{
	if (n == 0)
		return 0;
	uint8_t b = s[0];
	if (b < 0x80)
		return 1;
	if (b < 0xc2) /* continuation byte, or overlong 2-byte lead C0/C1 */
		return 0;
	if (b < 0xe0)
		return n >= 2 && is_cont(s[1]) ? 2 : 0;
	if (b < 0xf0) {
		if (n < 3 || !is_cont(s[1]) || !is_cont(s[2]))
			return 0;
		if (b == 0xe0 && s[1] < 0xa0) /* overlong */
			return 0;
		if (b == 0xed && s[1] >= 0xa0) /* surrogate */
			return 0;
		return 3;
	}
	if (b < 0xf5) {
		if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3]))
			return 0;
		if (b == 0xf0 && s[1] < 0x90) /* overlong */
			return 0;
		if (b == 0xf4 && s[1] >= 0x90) /* above U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

int vl_utf8_valid(const void *s, size_t n, size_t *bad_off)
{
	const uint8_t *p = s;
	size_t i = 0;
	while (i < n) {
		/* ASCII fast path, 8 bytes at a time */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		size_t l = vl_utf8_seq_len(p + i, n - i);
		if (!l) {
			if (bad_off)
				*bad_off = i;
			return 0;
		}
		i += l;
	}
	return 1;
}

size_t vl_utf8_put(uint8_t *dst, uint32_t cp)
{
	if (cp < 0x80) {
		dst[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (uint8_t)(0xc0 | cp >> 6);
		dst[1] = (uint8_t)(0x80 | (cp & 63));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (uint8_t)(0xe0 | cp >> 12);
		dst[1] = (uint8_t)(0x80 | ((cp >> 6) & 63));
		dst[2] = (uint8_t)(0x80 | (cp & 63));
		return 3;
	}
	dst[0] = (uint8_t)(0xf0 | cp >> 18);
	dst[1] = (uint8_t)(0x80 | ((cp >> 12) & 63));
	dst[2] = (uint8_t)(0x80 | ((cp >> 6) & 63));
	dst[3] = (uint8_t)(0x80 | (cp & 63));
	return 4;
}

/* ---- shortest round-trip formatting ------------------------------------- */
/*
 * Free-format digit generation (Steele & White 1990, Burger & Dybvig 1996)
 * with exact big-integer arithmetic. With x = r / s, every decimal strictly
 * between (r - mm) / s and (r + mp) / s reads back as x (the boundaries too
 * when x's mantissa is even, since strtof/strtod round ties to even). Digits
 * are generated until the remainder falls within that interval, so the digit
 * string is the shortest that identifies x, and its last digit is rounded
 * to the nearer candidate. 40 words hold the largest intermediate value
 * (about 2^1140, for float64 subnormals).
 */
#define BN_WORDS 40

typedef struct bn {
	uint32_t w[BN_WORDS];
	int n; /* words in use; w[n-1] != 0 unless n == 0 */
} bn;

static void bn_set(bn *a, uint64_t v)
{
	a->w[0] = (uint32_t)v;
	a->w[1] = (uint32_t)(v >> 32);
	a->n = v >> 32 ? 2 : v ? 1 : 0;
}

static void bn_mul_small(bn *a, uint32_t m)
{
	uint64_t c = 0;
	for (int i = 0; i < a->n; i++) {
		c += (uint64_t)a->w[i] * m;
		a->w[i] = (uint32_t)c;
		c >>= 32;
	}
	if (c)
		a->w[a->n++] = (uint32_t)c;
}

static void bn_mul_pow10(bn *a, int k)
{
	static const uint32_t p10[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000,
	                                 10000000, 100000000 };
	for (; k >= 9; k -= 9)
		bn_mul_small(a, 1000000000u);
	if (k)
		bn_mul_small(a, p10[k]);
}

static void bn_shl(bn *a, unsigned bits)
{
	if (!a->n)
		return;
	unsigned ws = bits / 32, b = bits % 32;
	int n = a->n;
	a->w[n + ws] = 0;
	for (int i = n - 1; i >= 0; i--) {
		uint32_t v = a->w[i];
		if (b) {
			a->w[i + ws + 1] |= v >> (32 - b);
			a->w[i + ws] = v << b;
		} else {
			a->w[i + ws] = v;
		}
	}
	for (unsigned i = 0; i < ws; i++)
		a->w[i] = 0;
	a->n = n + (int)ws + 1;
	while (a->n > 0 && a->w[a->n - 1] == 0)
		a->n--;
}

static void bn_pow2(bn *a, unsigned e)
{
	bn_set(a, 1);
	bn_shl(a, e);
}

static int bn_cmp(const bn *a, const bn *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (int i = a->n - 1; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

static void bn_add(bn *c, const bn *a, const bn *b)
{
	int n = a->n > b->n ? a->n : b->n;
	uint64_t carry = 0;
	for (int i = 0; i < n; i++) {
		carry += (uint64_t)(i < a->n ? a->w[i] : 0) + (i < b->n ? b->w[i] : 0);
		c->w[i] = (uint32_t)carry;
		carry >>= 32;
	}
	c->n = n;
	if (carry)
		c->w[c->n++] = (uint32_t)carry;
}

/* a -= b, requires a >= b */
static void bn_sub(bn *a, const bn *b)
{
	int64_t borrow = 0;
	for (int i = 0; i < a->n; i++) {
		int64_t v = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
		borrow = v < 0;
		a->w[i] = (uint32_t)(v + (borrow ? ((int64_t)1 << 32) : 0));
	}
	while (a->n > 0 && a->w[a->n - 1] == 0)
		a->n--;
}

/* Does r + mp reach s (the upper end of the rounding interval)? */
static int reaches_high(const bn *r, const bn *mp, const bn *s, int even)
{
	bn t;
	bn_add(&t, r, mp);
	int c = bn_cmp(&t, s);
	return even ? c >= 0 : c > 0;
}

/* Round a digit string up by one unit in its last place (a '9' carry). */
static void digits_carry(char *dg, int *n, int *k)
{
	int i = *n - 1;
	while (i >= 0 && dg[i] == '9' + 1) {
		dg[i] = '0';
		if (i == 0) {
			dg[0] = '1';
			*n = 1;
			(*k)++;
			return;
		}
		dg[--i]++;
	}
	while (*n > 1 && dg[*n - 1] == '0') /* trailing zeros add nothing */
		(*n)--;
}

/*
 * Shortest digits of x = f * 2^e (f > 0): writes dg[0..n) and returns n;
 * x ~= 0.dg * 10^k. even: boundaries of the interval round to x;
 * asym: x is a power of two whose lower neighbour is half as far as the upper.
 */
static int shortest_digits(uint64_t f, int e, int even, int asym, char *dg, int cap, int *k_out)
{
	bn r, s, mp, mm, t;
	if (e >= 0) {
		bn_set(&r, f);
		bn_shl(&r, (unsigned)(e + 1 + asym));
		bn_set(&s, 2u << asym);
		bn_pow2(&mp, (unsigned)(e + asym));
		bn_pow2(&mm, (unsigned)e);
	} else {
		bn_set(&r, f << (1 + asym));
		bn_pow2(&s, (unsigned)(1 - e + asym));
		bn_set(&mp, 1u << asym);
		bn_set(&mm, 1);
	}
	/* Estimate k = ceil(log10 x), then correct it exactly. */
	int k = (int)ceil(log10((double)f) + e * 0.30102999566398119521 - 1e-10);
	if (k >= 0) {
		bn_mul_pow10(&s, k);
	} else {
		bn_mul_pow10(&r, -k);
		bn_mul_pow10(&mp, -k);
		bn_mul_pow10(&mm, -k);
	}
	while (reaches_high(&r, &mp, &s, even)) {
		bn_mul_small(&s, 10);
		k++;
	}
	for (;;) {
		bn r10 = r, mp10 = mp;
		bn_mul_small(&r10, 10);
		bn_mul_small(&mp10, 10);
		if (reaches_high(&r10, &mp10, &s, even))
			break;
		r = r10;
		mp = mp10;
		bn_mul_small(&mm, 10);
		k--;
	}
	int n = 0;
	for (;;) {
		bn_mul_small(&r, 10);
		bn_mul_small(&mp, 10);
		bn_mul_small(&mm, 10);
		int dgt = 0;
		while (bn_cmp(&r, &s) >= 0) {
			bn_sub(&r, &s);
			dgt++;
		}
		int c = bn_cmp(&r, &mm);
		int lo = even ? c <= 0 : c < 0;
		int hi = reaches_high(&r, &mp, &s, even);
		if (!lo && !hi && n + 1 < cap) {
			dg[n++] = (char)('0' + dgt);
			continue;
		}
		if (lo && hi) {
			t = r;
			bn_shl(&t, 1);
			c = bn_cmp(&t, &s);
			if (c > 0 || (c == 0 && (dgt & 1)))
				dgt++;
		} else if (hi) {
			dgt++;
		}
		dg[n++] = (char)('0' + dgt);
		break;
	}
	if (dg[n - 1] > '9')
		digits_carry(dg, &n, &k);
	*k_out = k;
	return n;
}

static int dec_len(int v)
{
	int l = 1;
	while (v >= 10) {
		v /= 10;
		l++;
	}
	return l;
}

/* Lay out digits dg[0..n) with x = 0.dg * 10^k, after an optional '-'. */
static int layout(char *out, int neg, const char *dg, int n, int k)
{
	char *p = out;
	if (neg)
		*p++ = '-';
	int exp = k - 1;
	int plain_len = k <= 0 ? 2 - k + n : k < n ? n + 1 : k;
	int exp_len = n + (n > 1) + 1 + dec_len(exp < 0 ? -exp : exp) + (exp < 0);
	if (plain_len <= exp_len) {
		if (k <= 0) {
			*p++ = '0';
			*p++ = '.';
			for (int i = 0; i < -k; i++)
				*p++ = '0';
			memcpy(p, dg, (size_t)n);
			p += n;
		} else if (k < n) {
			memcpy(p, dg, (size_t)k);
			p += k;
			*p++ = '.';
			memcpy(p, dg + k, (size_t)(n - k));
			p += n - k;
		} else {
			memcpy(p, dg, (size_t)n);
			p += n;
			for (int i = n; i < k; i++)
				*p++ = '0';
		}
	} else {
		*p++ = dg[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, dg + 1, (size_t)(n - 1));
			p += n - 1;
		}
		p += sprintf(p, "e%d", exp);
	}
	*p = 0;
	return (int)(p - out);
}

static int fmt_special(char *buf, int neg, int is_nan)
{
	const char *t = is_nan ? "nan" : neg ? "-inf" : "inf";
	strcpy(buf, t);
	return (int)strlen(t);
}

/*
 * Fast exact path for float32 with 128-bit integers (the idea of Giulietti's
 * Schubfach, computed exactly instead of with rounded tables). The values
 * that read back as x form an interval of width w = 2^q (3 * 2^(q-2) just
 * above a power of two). With k = floor(log10 w), at most one multiple of
 * 10^(k+1) and at least one multiple of 10^k lie in it: the shortest
 * decimal is that multiple of 10^(k+1) if there is one, else the nearer
 * of floor(x / 10^k) and the next integer. Returns 0 (caller uses the
 * bignum path) when an intermediate does not fit or a check fails.
 */
typedef unsigned __int128 u128;

typedef struct ratio {
	u128 q, r, d;      /* value = q + r / d, 0 <= r < d */
} ratio;

static int bits128(u128 v)
{
	uint64_t hi = (uint64_t)(v >> 64), lo = (uint64_t)v;
	return hi ? 128 - __builtin_clzll(hi) : lo ? 64 - __builtin_clzll(lo) : 0;
}

static u128 pow5_128(int k)
{
	u128 p = 1;
	while (k-- > 0)
		p *= 5;
	return p;
}

/* v * 2^e2 / 10^k exactly, as quotient and remainder. */
static int scale_exact(uint64_t v, int e2, int k, ratio *o)
{
	if (k > 54 || k < -54)
		return 0;
	u128 p5 = pow5_128(k < 0 ? -k : k), num, den;
	int sh = e2 - k; /* v * 2^e2 / (2^k * 5^k) or v * 5^-k * 2^(e2 - k) */
	if (k >= 0) {
		num = v;
		den = p5;
	} else {
		if (bits128(v) + bits128(p5) > 127)
			return 0;
		num = (u128)v * p5;
		den = 1;
	}
	if (sh >= 0) {
		if (bits128(num) + sh > 127)
			return 0;
		num <<= sh;
	} else {
		if (bits128(den) - sh > 127)
			return 0;
		den <<= -sh;
	}
	if (den == 1) {
		o->q = num;
		o->r = 0;
	} else if ((den & (den - 1)) == 0) { /* a power of two: no division */
		o->q = num >> (bits128(den) - 1);
		o->r = num & (den - 1);
	} else {
		o->q = num / den;
		o->r = num % den;
	}
	o->d = den;
	return 1;
}

static int fast_f32(uint64_t c, int q, int asym, char *dg, int *k_out)
{
	int even = !(c & 1);
	/* k = floor(log10 w); never close to an integer for these q, so the
	 * double estimate is exact (the tests check every exponent). */
	double lw = q * 0.30102999566398119521 + (asym ? -0.12493873660829995313 : 0.0);
	int k = (int)floor(lw);
	ratio l, b, r;
	if (!scale_exact(4 * c - (asym ? 1 : 2), q - 2, k, &l) || !scale_exact(4 * c, q - 2, k, &b) ||
	    !scale_exact(4 * c + 2, q - 2, k, &r))
		return 0;
	/* D > low end / D < high end, the ends included when c is even */
	#define IN_LO(D) ((D) > l.q || (even && l.r == 0 && (D) == l.q))
	#define IN_HI(D) ((r.r ? (D) <= r.q : (D) < r.q) || (even && r.r == 0 && (D) == r.q))
	u128 s = b.q, t = s + 1, u = s / 10 * 10, w = u + 10, dsel;
	int u_in = IN_LO(u), w_in = IN_HI(w);
	if (u_in && w_in)
		return 0;
	if (u_in || w_in) {
		dsel = u_in ? u : w;
	} else {
		int s_in = IN_LO(s), t_in = IN_HI(t);
		if (s_in && t_in) {
			u128 twice = b.r << 1;
			dsel = twice < b.d ? s : twice > b.d ? t : (s & 1) ? t : s;
		} else if (s_in || t_in) {
			dsel = s_in ? s : t;
		} else {
			return 0;
		}
	}
	#undef IN_LO
	#undef IN_HI
	if (dsel == 0 || dsel >= (u128)10000000000ull)
		return 0;
	uint64_t dv = (uint64_t)dsel;
	while (dv % 10 == 0) {
		dv /= 10;
		k++;
	}
	char tmp[24];
	int n = 0;
	while (dv) {
		tmp[n++] = (char)('0' + dv % 10);
		dv /= 10;
	}
	for (int i = 0; i < n; i++)
		dg[i] = tmp[n - 1 - i];
	*k_out = k + n; /* x ~= 0.dg * 10^(k + n) */
	return n;
}

int vl_fmt_f32_ref(float x, char buf[VL_FMT_F32_MAX])
{
	uint32_t bits;
	memcpy(&bits, &x, 4);
	int neg = (int)(bits >> 31);
	uint32_t be = (bits >> 23) & 0xff, frac = bits & 0x7fffff;
	if (be == 0xff)
		return fmt_special(buf, neg, frac != 0);
	if (be == 0 && frac == 0) {
		/* "-0.0", not "-0": JSON readers such as Python's json module
		 * turn "-0" into the integer 0 and lose the sign */
		strcpy(buf, neg ? "-0.0" : "0");
		return neg ? 4 : 1;
	}
	uint64_t f = be ? frac | 0x800000u : frac;
	int e = be ? (int)be - 150 : -149;
	char dg[12];
	int k;
	int n = shortest_digits(f, e, !(f & 1), frac == 0 && be > 1, dg, (int)sizeof dg, &k);
	return layout(buf, neg, dg, n, k);
}

int vl_fmt_f32(float x, char buf[VL_FMT_F32_MAX])
{
	uint32_t bits;
	memcpy(&bits, &x, 4);
	int neg = (int)(bits >> 31);
	uint32_t be = (bits >> 23) & 0xff, frac = bits & 0x7fffff;
	if (be == 0xff)
		return fmt_special(buf, neg, frac != 0);
	if (be == 0 && frac == 0) {
		/* "-0.0", not "-0": JSON readers such as Python's json module
		 * turn "-0" into the integer 0 and lose the sign */
		strcpy(buf, neg ? "-0.0" : "0");
		return neg ? 4 : 1;
	}
	uint64_t f = be ? frac | 0x800000u : frac;
	int e = be ? (int)be - 150 : -149;
	char dg[12];
	int k;
	int n = fast_f32(f, e, frac == 0 && be > 1, dg, &k);
	if (!n)
		n = shortest_digits(f, e, !(f & 1), frac == 0 && be > 1, dg, (int)sizeof dg, &k);
	return layout(buf, neg, dg, n, k);
}

int vl_fmt_f64(double x, char buf[VL_FMT_F64_MAX])
{
	uint64_t bits;
	memcpy(&bits, &x, 8);
	int neg = (int)(bits >> 63);
	uint32_t be = (uint32_t)(bits >> 52) & 0x7ff;
	uint64_t frac = bits & 0xfffffffffffffull;
	if (be == 0x7ff)
		return fmt_special(buf, neg, frac != 0);
	if (be == 0 && frac == 0) {
		/* "-0.0", not "-0": JSON readers such as Python's json module
		 * turn "-0" into the integer 0 and lose the sign */
		strcpy(buf, neg ? "-0.0" : "0");
		return neg ? 4 : 1;
	}
	uint64_t f = be ? frac | (1ull << 52) : frac;
	int e = be ? (int)be - 1075 : -1074;
	char dg[20];
	int k;
	int n = shortest_digits(f, e, !(f & 1), frac == 0 && be > 1, dg, (int)sizeof dg, &k);
	return layout(buf, neg, dg, n, k);
}

/* ---- locale-independent number parsing ---------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The "C" locale object, or 0 if it could not be created (then the plain
 * functions are used, which is right unless the program changed LC_NUMERIC). */
static locale_t get_c_locale(void)
{
	pthread_once(&c_locale_once, c_locale_init);
	return c_locale;
}

float vl_strtof_c(const char *s, char **end)
{
	locale_t l = get_c_locale();
	return l ? strtof_l(s, end, l) : strtof(s, end);
}

double vl_strtod_c(const char *s, char **end)
{
	locale_t l = get_c_locale();
	return l ? strtod_l(s, end, l) : strtod(s, end);
}

/* ---- output sink --------------------------------------------------------- */

void vl_sink_init_mem(vl_sink *s)
{
	memset(s, 0, sizeof *s);
}

void vl_sink_init_file(vl_sink *s, FILE *fp)
{
	memset(s, 0, sizeof *s);
	s->fp = fp;
}

void vl_sink_free(vl_sink *s)
{
	if (!s)
		return;
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

static int sink_grow(vl_sink *s, size_t need)
{
	size_t cap = s->cap ? s->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return s->err = VL_ENOMEM;
		cap *= 2;
	}
	char *nb = realloc(s->buf, cap);
	if (!nb)
		return s->err = VL_ENOMEM;
	s->buf = nb;
	s->cap = cap;
	return VL_OK;
}

int vl_sink_write(vl_sink *s, const void *p, size_t n)
{
	if (s->err)
		return s->err;
	if (n == 0)
		return VL_OK;
	if (s->fp) {
		if (fwrite(p, 1, n, s->fp) != n)
			return s->err = VL_EIO;
		return VL_OK;
	}
	if (n > SIZE_MAX - s->len)
		return s->err = VL_ENOMEM;
	if (s->len + n > s->cap && sink_grow(s, s->len + n))
		return s->err;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return VL_OK;
}

int vl_sink_putc(vl_sink *s, char c)
{
	return vl_sink_write(s, &c, 1);
}

int vl_sink_puts(vl_sink *s, const char *str)
{
	return vl_sink_write(s, str, strlen(str));
}

int vl_sink_b64(vl_sink *s, const void *p, size_t n)
{
	/* Encode in pieces of 3*256 input bytes so no allocation is needed. */
	char tmp[1024];
	const uint8_t *b = p;
	while (n > 0) {
		size_t take = n > 768 ? 768 : n;
		size_t k = vl_b64_encode(b, take, tmp);
		int rc = vl_sink_write(s, tmp, k);
		if (rc)
			return rc;
		b += take;
		n -= take;
	}
	return s->err;
}
