/* Half precision and bfloat16 to float and back (see float.h). */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include "internal.h"
#include "float.h"

float mvc_f16_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
	float f;

	if (exp == 0x1f) {
		u = sign | 0x7f800000 | man << 13;       /* infinity, NaN (payload kept) */
	} else if (exp == 0) {
		f = ldexpf((float)man, -24);             /* zero, subnormal: exact */
		return sign ? -f : f;
	} else {
		u = sign | (exp + 112) << 23 | man << 13;  /* rebias 15 -> 127 */
	}
	memcpy(&f, &u, sizeof(f));
	return f;
}

float mvc_bf16_to_float(uint16_t b)
{
	uint32_t u = (uint32_t)b << 16;
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static float f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;

static void f16_init(void)
{
	for (uint32_t i = 0; i < 65536; i++)
		f16_table[i] = mvc_f16_to_float((uint16_t)i);
}

const float *mvc__f16_table(void)
{
	pthread_once(&f16_once, f16_init);
	return f16_table;
}

/*
 * Round a double to a binary format of `ebits` exponent and `mbits`
 * mantissa bits (at most 15 of exponent, 51 of mantissa), to nearest,
 * ties to even.  The mantissa with its leading bit is shifted right; the
 * bits shifted out decide, and a carry out of the mantissa rolls into the
 * exponent, which is exactly what rounding up to the next binade (or from
 * the largest subnormal to the smallest normal, or from the largest
 * finite value to infinity) needs.
 */
static uint64_t round_to(double x, unsigned ebits, unsigned mbits)
{
	uint64_t u, sign, man, q, rem, half, r;
	int e, bias = (1 << (ebits - 1)) - 1, emin = 1 - bias, shift;
	uint64_t expmax = ((uint64_t)1 << ebits) - 1;

	memcpy(&u, &x, 8);
	sign = (u >> 63) << (ebits + mbits);
	e = (int)((u >> 52) & 0x7ff);
	man = u & 0xfffffffffffffull;
	if (e == 0x7ff)   /* infinity, or a quiet NaN */
		return sign | expmax << mbits | (man ? (uint64_t)1 << (mbits - 1) : 0);
	if (e == 0)       /* a double subnormal: far below any target's range */
		return sign;
	man |= (uint64_t)1 << 52;
	e -= 1023;
	if (e > bias)     /* beyond the largest binade */
		return sign | expmax << mbits;
	if (e >= emin) {
		shift = 52 - (int)mbits;
		r = (uint64_t)(e + bias) << mbits | ((man >> shift) & (((uint64_t)1 << mbits) - 1));
	} else {
		shift = 52 - (int)mbits + (emin - e);
		if (shift > 60)
			return sign;  /* below half the smallest subnormal */
		r = man >> shift;
	}
	q = r;
	rem = man & (((uint64_t)1 << shift) - 1);
	half = (uint64_t)1 << (shift - 1);
	if (rem > half || (rem == half && (q & 1)))
		r++;
	return sign | r;
}

uint16_t mvc__f16_from_double(double x)
{
	return (uint16_t)round_to(x, 5, 10);
}

uint16_t mvc__bf16_from_double(double x)
{
	return (uint16_t)round_to(x, 8, 7);
}
