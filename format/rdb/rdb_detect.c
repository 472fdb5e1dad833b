/* rdb_detect.c - vector field and attribute type detection (rules in rdb_detect.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rdb_detect.h"
#include "vl_bytes.h"

static const char *const dt_names[VL_RDB_DT_COUNT] = { "none", "float32", "float64", "float16",
	                                               "bfloat16" };
static const size_t dt_size[VL_RDB_DT_COUNT] = { 0, 4, 8, 2, 2 };

const char *vl_rdb_dtype_name(vl_rdb_dtype t)
{
	return (unsigned)t < VL_RDB_DT_COUNT ? dt_names[t] : "?";
}

size_t vl_rdb_dtype_size(vl_rdb_dtype t)
{
	return (unsigned)t < VL_RDB_DT_COUNT ? dt_size[t] : 0;
}

vl_rdb_dtype vl_rdb_dtype_parse(const char *name)
{
	for (int t = 1; t < VL_RDB_DT_COUNT; t++)
		if (strcmp(name, dt_names[t]) == 0)
			return (vl_rdb_dtype)t;
	return VL_RDB_DT_NONE;
}

static double half_to_double(uint16_t h)
{
	const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;
	if (e == 0)
		v = ldexp(m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexp(m + 1024, e - 25);
	return (h & 0x8000) ? -v : v;
}

double vl_rdb_dtype_load(vl_rdb_dtype t, const uint8_t *blob, size_t i)
{
	switch (t) {
	case VL_RDB_DT_F32:
		return vl_ldf32(blob + 4 * i);
	case VL_RDB_DT_F64:
		return vl_ldf64(blob + 8 * i);
	case VL_RDB_DT_F16:
		return half_to_double(vl_ld16(blob + 2 * i));
	case VL_RDB_DT_BF16: {
		uint32_t u = (uint32_t)vl_ld16(blob + 2 * i) << 16;
		float f;
		memcpy(&f, &u, 4);
		return f;
	}
	default:
		return 0;
	}
}

size_t vl_rdb_dtype_to_f32(vl_rdb_dtype t, const uint8_t *blob, size_t dim, float *out)
{
	size_t bad = 0;
	if (t == VL_RDB_DT_F32) { /* the common case: a copy (little-endian host) */
		memcpy(out, blob, dim * 4);
		/* non-finite = exponent bits all ones; blocks of 8 let the
		 * compiler check them with vector instructions */
		size_t i = 0;
		for (; i + 8 <= dim; i += 8) {
			uint32_t u[8];
			memcpy(u, out + i, sizeof u);
			uint32_t n = 0;
			for (int j = 0; j < 8; j++)
				n += (u[j] & 0x7f800000u) == 0x7f800000u;
			bad += n;
		}
		for (; i < dim; i++)
			bad += !isfinite(out[i]);
		return bad;
	}
	for (size_t i = 0; i < dim; i++) {
		const float f = (float)vl_rdb_dtype_load(t, blob, i);
		bad += !isfinite(f);
		out[i] = f;
	}
	return bad;
}

int vl_rdb_is_text(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len;) {
		const uint8_t c = v[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return 0;
			if (c == 0x7f)
				return 0;
			i++;
			continue;
		}
		size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || c == 0xc0 || c == 0xc1 || c > 0xf4 || n > len - i)
			return 0;
		for (size_t k = 1; k < n; k++)
			if ((v[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
	}
	return 1;
}

int vl_rdb_is_number(const uint8_t *v, size_t len, double *out)
{
	char tmp[65];
	if (len == 0 || len > 64)
		return 0;
	memcpy(tmp, v, len);
	tmp[len] = 0;
	/* strtod also takes "inf", "nan", hex and leading spaces: not numbers here. */
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789+-.eE", tmp[i]))
			return 0;
	char *end;
	double d = strtod(tmp, &end);
	if (end != tmp + len || !isfinite(d))
		return 0;
	if (out)
		*out = d;
	return 1;
}

/* ---------------------------------------------------------------- */

static int plausible(double x)
{
	const double a = fabs(x);
	return a == 0 || (a >= 0x1p-40 && a <= 0x1p40);
}

static void count_len(vl_rdb_vecstat *s, uint64_t len)
{
	for (int i = 0; i < VL_RDB_VEC_LENS; i++) {
		if (s->len_count[i] && s->lens[i] == len) {
			s->len_count[i]++;
			return;
		}
		if (!s->len_count[i]) {
			s->lens[i] = len;
			s->len_count[i] = 1;
			return;
		}
	}
	s->other_lens++;
}

uint64_t vl_rdb_vecstat_modal_len(const vl_rdb_vecstat *s, uint64_t *count)
{
	uint64_t best = 0, n = 0;
	for (int i = 0; i < VL_RDB_VEC_LENS; i++)
		if (s->len_count[i] > n) {
			n = s->len_count[i];
			best = s->lens[i];
		}
	if (count)
		*count = n;
	return best;
}

void vl_rdb_vecstat_add(vl_rdb_vecstat *s, const uint8_t *v, size_t len)
{
	if (s->values == 0 || len < s->min_len)
		s->min_len = len;
	if (len > s->max_len)
		s->max_len = len;
	s->values++;
	count_len(s, len);
	if (s->sampled >= VL_RDB_SAMPLE_VALUES)
		return;
	s->sampled++;
	if (vl_rdb_is_text(v, len))
		s->text_values++;
	for (int t = 1; t < VL_RDB_DT_COUNT; t++) {
		const size_t sz = dt_size[t];
		if (len % sz || len == 0)
			continue;
		uint64_t bad = 0;
		for (size_t i = 0; i < len / sz; i++) {
			const double x = vl_rdb_dtype_load((vl_rdb_dtype)t, v, i);
			s->elems[t]++;
			if (!isfinite(x))
				bad++;
			else if (plausible(x))
				s->good[t]++;
		}
		s->tested[t]++;
		s->nonfinite[t] += bad;
		s->bad_values[t] += bad != 0;
	}
	if (len % 8 == 0 && len > 0) {
		int zero = 1;
		for (size_t i = 0; i < len && zero; i += 8)
			zero = vl_ld32(v + i) == 0;
		s->f32_low_words_zero += (uint64_t)zero;
	}	if (len % 4 == 0 && len > 0) {
		int zero = 1;
		for (size_t i = 0; i < len && zero; i += 4)
			zero = vl_ld16(v + i) == 0;
		s->bf16_pairs_zero += (uint64_t)zero;
	}
}

int vl_rdb_vecstat_fits(const vl_rdb_vecstat *s, vl_rdb_dtype t)
{
	if (t <= VL_RDB_DT_NONE || t >= VL_RDB_DT_COUNT || s->values == 0)
		return 0;
	uint64_t n;
	const uint64_t len = vl_rdb_vecstat_modal_len(s, &n);
	if (len == 0 || len % dt_size[t] || n * 100 < s->values * VL_RDB_VEC_MODAL_PCT)
		return 0;
	if (s->tested[t] == 0 || s->bad_values[t] * 100 > s->tested[t] * VL_RDB_VEC_BAD_PCT)
		return 0;
	const uint64_t finite = s->elems[t] - s->nonfinite[t];
	return finite > 0 && s->good[t] * 100 >= finite * 99;
}

int vl_rdb_vecstat_guess(const vl_rdb_vecstat *s, vl_rdb_dtype *dt, uint32_t *dim)
{
	const uint64_t len = vl_rdb_vecstat_modal_len(s, NULL);
	if (s->values == 0 || len < 4)
		return 0;
	if (s->text_values == s->sampled)
		return 0; /* every sampled value is printable text: not a blob */
	const int f32 = vl_rdb_vecstat_fits(s, VL_RDB_DT_F32), f64 = vl_rdb_vecstat_fits(s, VL_RDB_DT_F64),
	          f16 = vl_rdb_vecstat_fits(s, VL_RDB_DT_F16),
	          bf16 = vl_rdb_vecstat_fits(s, VL_RDB_DT_BF16);
	vl_rdb_dtype t = VL_RDB_DT_NONE;
	if (f64 && s->f32_low_words_zero * 100 >= s->tested[VL_RDB_DT_F64] * 99)
		t = VL_RDB_DT_F64;
	else if (f32 && bf16)
		t = s->bf16_pairs_zero * 100 >= s->tested[VL_RDB_DT_F32] * 99 ? VL_RDB_DT_F32
		                                                                : VL_RDB_DT_BF16;
	else if (f32)
		t = VL_RDB_DT_F32;
	else if (f64)
		t = VL_RDB_DT_F64;
	else if (bf16)
		t = VL_RDB_DT_BF16;
	else if (f16)
		t = VL_RDB_DT_F16;
	if (t == VL_RDB_DT_NONE)
		return 0;
	const uint64_t d = len / dt_size[t];
	if (d > 65535)
		return 0;
	*dt = t;
	*dim = (uint32_t)d;
	return 1;
}

/* ---------------------------------------------------------------- */

static uint64_t fnv1a(const uint8_t *v, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ v[i]) * 0x100000001b3ull;
	return h;
}

static int tagish(const uint8_t *v, size_t len)
{
	if (len == 0 || len > VL_RDB_TAG_MAX_LEN || !vl_rdb_is_text(v, len))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r')
			return 0;
	return 1;
}

void vl_rdb_attrstat_add(vl_rdb_attrstat *s, const uint8_t *v, size_t len)
{
	s->values++;
	if (vl_rdb_is_number(v, len, NULL))
		s->numeric++;
	if (!vl_rdb_is_text(v, len))
		s->binary++;
	if (!tagish(v, len))
		return;
	s->tagish++;
	if (s->distinct_overflow)
		return;
	const uint64_t h = fnv1a(v, len);
	for (uint32_t i = 0; i < s->ndistinct; i++)
		if (s->distinct_hash[i] == h)
			return;
	if (s->ndistinct == VL_RDB_TAG_MAX_DISTINCT)
		s->distinct_overflow = 1;
	else
		s->distinct_hash[s->ndistinct++] = h;
}

vl_rdb_attr vl_rdb_attr_guess(const vl_rdb_attrstat *s)
{
	if (s->values > 0 && s->numeric == s->values)
		return VL_RDB_ATTR_NUMERIC;
	if (s->values > 0 && s->tagish == s->values && !s->distinct_overflow &&
	    (s->ndistinct <= 16 || (uint64_t)s->ndistinct * 4 <= s->values))
		return VL_RDB_ATTR_TAG;
	return VL_RDB_ATTR_TEXT;
}

const char *vl_rdb_attr_name(vl_rdb_attr a)
{
	return a == VL_RDB_ATTR_TAG ? "tag" : a == VL_RDB_ATTR_NUMERIC ? "numeric" : "text";
}
