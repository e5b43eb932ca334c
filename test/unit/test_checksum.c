/*
 * The SIMD checksums (lib/checksum.c) against zlib's, which define them:
 * every length around the vector widths and blocks, unaligned starts,
 * arbitrary initial values, and inputs that stress the Adler sums.
 */
#include <zlib.h>
#include "unit.h"
#include "internal.h"

static void test_adler32(void **state)
{
	size_t n = 3 << 20;
	unsigned char *b = malloc(n + 64);
	uint64_t s = 7;

	(void)state;
	assert_non_null(b);
	rnd_fill(b, n + 64, 11);
	for (size_t len = 0; len < 200; len++)
		for (size_t off = 0; off < 3; off++)
			assert_int_equal(mvc__adler32(1, b + off, len), (uint32_t)adler32(1, b + off, (uInt)len));
	for (int i = 0; i < 200; i++) {
		uint32_t r = (uint32_t)rnd_next(&s);
		uint32_t a0 = ((r % 65521) << 16) | ((r >> 16) % 65521);
		size_t off = rnd_next(&s) % 64, len = rnd_next(&s) % n;

		assert_int_equal(mvc__adler32(a0, b + off, len), (uint32_t)adler32(a0, b + off, (uInt)len));
	}
	/* all 0xff: the largest sums, across the 5552-byte blocks */
	memset(b, 0xff, n);
	for (size_t len = 5500; len < 5600; len++)
		assert_int_equal(mvc__adler32(0xfff0fff0u % 65521, b, len),
		    (uint32_t)adler32(0xfff0fff0u % 65521, b, (uInt)len));
	assert_int_equal(mvc__adler32(1, b, n), (uint32_t)adler32(1, b, (uInt)n));
	free(b);
}

static void test_crc32(void **state)
{
	size_t n = 3 << 20;
	unsigned char *b = malloc(n + 64);
	uint64_t s = 9;

	(void)state;
	assert_non_null(b);
	rnd_fill(b, n + 64, 13);
	for (size_t len = 0; len < 300; len++)
		for (size_t off = 0; off < 3; off++)
			assert_int_equal(mvc__crc32(0, b + off, len), (uint32_t)crc32(0, b + off, (uInt)len));
	for (int i = 0; i < 200; i++) {
		uint32_t c0 = (uint32_t)rnd_next(&s);
		size_t off = rnd_next(&s) % 64, len = rnd_next(&s) % n;

		assert_int_equal(mvc__crc32(c0, b + off, len), (uint32_t)crc32(c0, b + off, (uInt)len));
	}
	memset(b, 0, n);
	assert_int_equal(mvc__crc32(0, b, n), (uint32_t)crc32(0, b, (uInt)n));
	memset(b, 0xff, n);
	assert_int_equal(mvc__crc32(0x12345678, b, n), (uint32_t)crc32(0x12345678, b, (uInt)n));
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adler32),
		cmocka_unit_test(test_crc32),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
