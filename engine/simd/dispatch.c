/* dispatch.c - choose the kernel level once per process (cpuid + VECLITE_SIMD). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

static const vl_kernels *_Atomic chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
#include <cpuid.h>

/* XCR0 says which register states the OS saves on context switch: a CPU
 * with AVX-512 is useless if the kernel does not save zmm registers. */
static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

vl_simd_level vl_simd_cpu_level(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return VL_SIMD_SCALAR;
	int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
	if (!osxsave || !avx || !fma || !f16c)
		return VL_SIMD_SCALAR;
	uint64_t xcr0 = xgetbv0();
	if ((xcr0 & 0x6) != 0x6) /* xmm + ymm state */
		return VL_SIMD_SCALAR;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return VL_SIMD_SCALAR;
	int avx2 = (b >> 5) & 1;
	int avx512 = ((b >> 16) & 1) /* F */ && ((b >> 17) & 1) /* DQ */ &&
	             ((b >> 30) & 1) /* BW */ && ((b >> 31) & 1) /* VL */;
	int vnni = (c >> 11) & 1; /* AVX512_VNNI */
	if (avx2 && avx512 && (xcr0 & 0xe6) == 0xe6) /* + opmask, zmm hi256, hi16 zmm */
		return vnni ? VL_SIMD_AVX512VNNI : VL_SIMD_AVX512;
	return avx2 ? VL_SIMD_AVX2 : VL_SIMD_SCALAR;
}
#else
vl_simd_level vl_simd_cpu_level(void)
{
	return VL_SIMD_SCALAR;
}
#endif

const char *vl_simd_level_name(vl_simd_level level)
{
	switch (level) {
	case VL_SIMD_AVX512VNNI: return "avx512vnni";
	case VL_SIMD_AVX512: return "avx512";
	case VL_SIMD_AVX2: return "avx2";
	default: return "scalar";
	}
}

int vl_simd_parse_level(const char *s)
{
	if (!strcmp(s, "scalar"))
		return VL_SIMD_SCALAR;
	if (!strcmp(s, "avx2"))
		return VL_SIMD_AVX2;
	if (!strcmp(s, "avx512"))
		return VL_SIMD_AVX512;
	if (!strcmp(s, "avx512vnni"))
		return VL_SIMD_AVX512VNNI;
	return -1;
}

const vl_kernels *vl_kernels_at(vl_simd_level level)
{
	if (level > vl_simd_cpu_level())
		return NULL;
	switch (level) {
	case VL_SIMD_AVX512VNNI: return &vl_kernels_avx512vnni;
	case VL_SIMD_AVX512: return &vl_kernels_avx512;
	case VL_SIMD_AVX2: return &vl_kernels_avx2;
	default: return &vl_kernels_scalar;
	}
}

static void choose(void)
{
	vl_simd_level level = vl_simd_cpu_level();
	const char *env = getenv("VECLITE_SIMD");
	if (env && *env) {
		int want = vl_simd_parse_level(env);
		/* An unknown or unsupported request falls back to what the CPU has:
		 * forcing a level can only lower it. */
		if (want >= 0 && (vl_simd_level)want < level)
			level = (vl_simd_level)want;
	}
	chosen = vl_kernels_at(level);
}

const vl_kernels *vl_kern(void)
{
	pthread_once(&chosen_once, choose);
	return chosen;
}

int vl_simd_force(vl_simd_level level)
{
	const vl_kernels *k = vl_kernels_at(level);
	if (!k)
		return -1;
	pthread_once(&chosen_once, choose);
	chosen = k;
	return 0;
}
