/*
 * zlib-compatible Adler-32 and CRC-32, with AVX2 and PCLMULQDQ paths
 * chosen at run time.  Every pack entry needs both (the zlib stream's
 * Adler-32, the index's CRC-32): zlib's portable loops cost about as much
 * as BLAKE2b on a model.
 */
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include <immintrin.h>
#include "internal.h"

#define ADLER_MOD 65521u
#define ADLER_NMAX 5552u

__attribute__((target("avx2")))
static uint32_t adler32_avx2(uint32_t adler, const unsigned char *p, size_t len)
{
	uint32_t a = adler & 0xffff, b = adler >> 16;
	const __m256i zero = _mm256_setzero_si256(), ones = _mm256_set1_epi16(1);
	const __m256i weights = _mm256_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21,
	    20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);

	while (len >= 32) {
		/* a block small enough that no 32-bit lane overflows before the modulo */
		size_t n = len < ADLER_NMAX ? len : ADLER_NMAX;
		size_t steps = n / 32;
		__m256i vs1 = zero, vps = zero, vs2 = zero;

		n = steps * 32;
		b += a * (uint32_t)n;
		for (size_t k = 0; k < steps; k++) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(p + 32 * k));

			vps = _mm256_add_epi32(vps, vs1);
			vs1 = _mm256_add_epi32(vs1, _mm256_sad_epu8(v, zero));
			vs2 = _mm256_add_epi32(vs2, _mm256_madd_epi16(_mm256_maddubs_epi16(v, weights), ones));
		}
		vs2 = _mm256_add_epi32(vs2, _mm256_slli_epi32(vps, 5));
		{
			uint32_t t1[8], t2[8];
			uint64_t s1 = 0, s2 = 0;

			_mm256_storeu_si256((__m256i *)t1, vs1);
			_mm256_storeu_si256((__m256i *)t2, vs2);
			for (int i = 0; i < 8; i++) {
				s1 += t1[i];
				s2 += t2[i];
			}
			a = (uint32_t)((a + s1) % ADLER_MOD);
			b = (uint32_t)((b + s2) % ADLER_MOD);
		}
		p += n;
		len -= n;
	}
	return (uint32_t)adler32((b << 16) | a, p, (uInt)len);
}

__attribute__((target("pclmul,sse4.1")))
static uint32_t crc32_pclmul(uint32_t crc, const unsigned char *p, size_t len)
{
	/* fold 4x128 bits by x^(512+-32) and 1x128 by x^(128+-32), mod P (reflected) */
	const __m128i k4 = _mm_set_epi64x(0x00000001c6e41596LL, 0x0000000154442bd4LL);
	const __m128i k1 = _mm_set_epi64x(0x00000000ccaa009eLL, 0x00000001751997d0LL);
	__m128i x0, x1, x2, x3;
	unsigned char last[16];

	if (len < 64)
		return (uint32_t)crc32(crc, p, (uInt)len);
	x0 = _mm_loadu_si128((const __m128i *)p);
	x1 = _mm_loadu_si128((const __m128i *)(p + 16));
	x2 = _mm_loadu_si128((const __m128i *)(p + 32));
	x3 = _mm_loadu_si128((const __m128i *)(p + 48));
	x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
	p += 64;
	len -= 64;
#define FOLD(x, k, next) \
	x = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), \
	                                _mm_clmulepi64_si128(x, k, 0x11)), next)
	while (len >= 64) {
		FOLD(x0, k4, _mm_loadu_si128((const __m128i *)p));
		FOLD(x1, k4, _mm_loadu_si128((const __m128i *)(p + 16)));
		FOLD(x2, k4, _mm_loadu_si128((const __m128i *)(p + 32)));
		FOLD(x3, k4, _mm_loadu_si128((const __m128i *)(p + 48)));
		p += 64;
		len -= 64;
	}
	FOLD(x0, k1, x1);
	FOLD(x0, k1, x2);
	FOLD(x0, k1, x3);
	while (len >= 16) {
		FOLD(x0, k1, _mm_loadu_si128((const __m128i *)p));
		p += 16;
		len -= 16;
	}
#undef FOLD
	/* what is left has the message's residue: finish it with the table */
	/* x0 now has the residue of everything so far: finishing it from a
	 * zero register (zlib's ~0) gives the CRC, and the tail follows */
	_mm_storeu_si128((__m128i *)last, x0);
	crc = (uint32_t)crc32(0xffffffffu, last, 16);
	return (uint32_t)crc32(crc, p, (uInt)len);
}

uint32_t mvc__adler32(uint32_t adler, const void *buf, size_t len)
{
	static int avx2 = -1;

	if (avx2 < 0)
		avx2 = __builtin_cpu_supports("avx2");
	return avx2 ? adler32_avx2(adler, buf, len) : (uint32_t)adler32(adler, buf, (uInt)len);
}

uint32_t mvc__crc32(uint32_t crc, const void *buf, size_t len)
{
	static int clmul = -1;

	if (clmul < 0)
		clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	return clmul ? crc32_pclmul(crc, buf, len) : (uint32_t)crc32(crc, buf, (uInt)len);
}
