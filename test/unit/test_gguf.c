/*
 * GGUF parsing (lib/gguf.c): files built byte by byte here, valid ones of
 * both versions and every metadata type, then every way a hostile or
 * truncated file can break the rules.
 */
#include "unit.h"
#include "mvc.h"

#define WHAT "m.gguf"

/* A growable byte string for building files. */
typedef struct bytes {
	unsigned char *p;
	size_t len, cap;
} bytes;

static void put(bytes *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

/* n little-endian bytes of v (zeros past the eighth: runs of padding) */
static void le(bytes *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++) {
		unsigned char c = i < 8 ? (unsigned char)(v >> (8 * i)) : 0;
		put(b, &c, 1);
	}
}

static void str(bytes *b, const char *s)
{
	le(b, strlen(s), 8);
	put(b, s, strlen(s));
}

static void pad(bytes *b, size_t align)
{
	while (b->len % align)
		le(b, 0, 1);
}

/* GGUF value types */
enum { U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 };

/* One tensor info. */
static void info(bytes *b, const char *name, unsigned ndim, const uint64_t *ne, unsigned type,
                 uint64_t off)
{
	str(b, name);
	le(b, ndim, 4);
	for (unsigned d = 0; d < ndim; d++)
		le(b, ne[d], 8);
	le(b, type, 4);
	le(b, off, 8);
}

/* The header of a valid file: magic, version, counts. */
static void head(bytes *b, unsigned version, uint64_t ntensors, uint64_t nkv)
{
	put(b, "GGUF", 4);
	le(b, version, 4);
	le(b, ntensors, 8);
	le(b, nkv, 8);
}

/*
 * A valid file of every metadata value type and three tensors:
 *   w  F32  ne (8, 2)      -> shape [2, 8], 64 bytes
 *   q  Q8_0 ne (64, 3)     -> shape [3, 64], 3 * 2 * 34 = 204 bytes
 *   e  I32  ne (0)         -> empty
 * with general.alignment 64.
 */
static bytes good(unsigned version)
{
	bytes b = { 0 };
	uint64_t ne_w[] = { 8, 2 }, ne_q[] = { 64, 3 }, ne_e[] = { 0 };

	head(&b, version, 3, 14);
	str(&b, "general.architecture"); le(&b, STRING, 4); str(&b, "test");
	str(&b, "k.u8"); le(&b, U8, 4); le(&b, 1, 1);
	str(&b, "k.i8"); le(&b, I8, 4); le(&b, 0xff, 1);
	str(&b, "k.u16"); le(&b, U16, 4); le(&b, 2, 2);
	str(&b, "k.i16"); le(&b, I16, 4); le(&b, 3, 2);
	str(&b, "k.u32"); le(&b, U32, 4); le(&b, 4, 4);
	str(&b, "k.i32"); le(&b, I32, 4); le(&b, 5, 4);
	str(&b, "k.f32"); le(&b, F32, 4); le(&b, 0x3f800000, 4);
	str(&b, "k.bool"); le(&b, BOOL, 4); le(&b, 1, 1);
	str(&b, "k.u64"); le(&b, U64, 4); le(&b, 6, 8);
	str(&b, "k.i64"); le(&b, I64, 4); le(&b, 7, 8);
	str(&b, "k.f64"); le(&b, F64, 4); le(&b, 0x3ff0000000000000ull, 8);
	/* [[ "a", "bc" ], [ ]] : an array of arrays of strings */
	str(&b, "k.nested"); le(&b, ARRAY, 4); le(&b, ARRAY, 4); le(&b, 2, 8);
	le(&b, STRING, 4); le(&b, 2, 8); str(&b, "a"); str(&b, "bc");
	le(&b, U16, 4); le(&b, 0, 8);
	str(&b, "general.alignment"); le(&b, U32, 4); le(&b, 64, 4);
	info(&b, "w", 2, ne_w, 0, 0);
	info(&b, "q", 2, ne_q, 8, 64);
	info(&b, "e", 1, ne_e, 26, 320);
	pad(&b, 64);
	for (int i = 0; i < 64; i++)
		le(&b, (uint64_t)i, 1);            /* w */
	pad(&b, 64);
	for (int i = 0; i < 204; i++)
		le(&b, (uint64_t)(i * 3), 1);      /* q */
	pad(&b, 64);
	return b;
}

static int parse_bytes(mvc_layout **l, const bytes *b)
{
	return mvc_gguf_parse(l, b->p, b->len, b->len, WHAT);
}

static void test_valid(void **state)
{
	(void)state;
	for (unsigned v = 2; v <= 3; v++) {
		bytes b = good(v);
		mvc_layout *l = NULL;
		size_t data;

		assert_ok(parse_bytes(&l, &b));
		assert_int_equal(l->format, MVC_FORMAT_GGUF);
		assert_int_equal(l->file_size, b.len);
		assert_int_equal(l->ntensors, 3);
		data = b.len - 320;  /* the data section: w (64), q (204, padded to 256), e */
		assert_string_equal(l->tensors[0].name, "w");
		assert_int_equal(l->tensors[0].dtype, MVC_DTYPE_F32);
		assert_int_equal(l->tensors[0].ndim, 2);
		assert_int_equal(l->tensors[0].shape[0], 2);
		assert_int_equal(l->tensors[0].shape[1], 8);
		assert_int_equal(l->tensors[0].offset, data);
		assert_int_equal(l->tensors[0].size, 64);
		assert_string_equal(l->tensors[1].name, "q");
		assert_int_equal(l->tensors[1].dtype, MVC_DTYPE_Q8_0);
		assert_int_equal(l->tensors[1].shape[0], 3);
		assert_int_equal(l->tensors[1].shape[1], 64);
		assert_int_equal(l->tensors[1].offset, data + 64);
		assert_int_equal(l->tensors[1].size, 204);
		assert_string_equal(l->tensors[2].name, "e");
		assert_int_equal(l->tensors[2].size, 0);
		assert_int_equal(l->tensors[2].offset, data + 320);
		mvc_layout_free(l);
		free(b.p);
	}
}

/* Every ggml type mvc knows maps to a dtype of the right block size. */
static void test_types(void **state)
{
	static const struct { unsigned id; const char *name; unsigned elems, bytes; } types[] = {
		{ 0, "F32", 1, 4 }, { 1, "F16", 1, 2 }, { 2, "Q4_0", 32, 18 }, { 3, "Q4_1", 32, 20 },
		{ 6, "Q5_0", 32, 22 }, { 7, "Q5_1", 32, 24 }, { 8, "Q8_0", 32, 34 },
		{ 9, "Q8_1", 32, 36 }, { 10, "Q2_K", 256, 84 }, { 11, "Q3_K", 256, 110 },
		{ 12, "Q4_K", 256, 144 }, { 13, "Q5_K", 256, 176 }, { 14, "Q6_K", 256, 210 },
		{ 15, "Q8_K", 256, 292 }, { 16, "IQ2_XXS", 256, 66 }, { 17, "IQ2_XS", 256, 74 },
		{ 18, "IQ3_XXS", 256, 98 }, { 19, "IQ1_S", 256, 50 }, { 20, "IQ4_NL", 32, 18 },
		{ 21, "IQ3_S", 256, 110 }, { 22, "IQ2_S", 256, 82 }, { 23, "IQ4_XS", 256, 136 },
		{ 24, "I8", 1, 1 }, { 25, "I16", 1, 2 }, { 26, "I32", 1, 4 }, { 27, "I64", 1, 8 },
		{ 28, "F64", 1, 8 }, { 29, "IQ1_M", 256, 56 }, { 30, "BF16", 1, 2 },
		{ 34, "TQ1_0", 256, 54 }, { 35, "TQ2_0", 256, 66 }, { 39, "MXFP4", 32, 17 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		bytes b = { 0 };
		uint64_t ne[] = { types[i].elems * 2, 3 };
		mvc_layout *l = NULL;
		unsigned e, by;
		uint64_t size = 6 * types[i].bytes;

		head(&b, 3, 1, 0);
		info(&b, "t", 2, ne, types[i].id, 0);
		pad(&b, 32);
		for (uint64_t k = 0; k < (size + 31) / 32 * 32; k++)
			le(&b, k, 1);
		assert_ok(parse_bytes(&l, &b));
		assert_string_equal(mvc_dtype_name(l->tensors[0].dtype), types[i].name);
		assert_int_equal(mvc_dtype_from_name(types[i].name), l->tensors[0].dtype);
		assert_int_equal(l->tensors[0].size, size);
		mvc_dtype_unit(l->tensors[0].dtype, &e, &by);
		assert_int_equal(e, types[i].elems);
		assert_int_equal(by, types[i].bytes);
		assert_int_equal(mvc_dtype_is_block(l->tensors[0].dtype), types[i].elems > 1);
		mvc_layout_free(l);
		free(b.p);
	}
}

/* Parse must fail with `code`, a message naming the file and holding frag. */
static void bad_bytes(const bytes *b, int code, const char *frag)
{
	mvc_layout *l = (mvc_layout *)&l;

	assert_err(parse_bytes(&l, b), code, frag);
	assert_null(l);
	if (!strstr(mvc_error_last(), "'" WHAT "'"))
		fail_msg("message '%s' does not name the file", mvc_error_last());
}

/* A file whose header is `b` then one F32 [4] tensor at offset 0. */
static void one_tensor_tail(bytes *b, const char *name, uint64_t off)
{
	uint64_t ne[] = { 4 };

	info(b, name, 1, ne, 0, off);
	pad(b, 32);
	for (int i = 0; i < 32; i++)
		le(b, 0, 1);
}

static void test_versions(void **state)
{
	bytes b = { 0 };

	(void)state;
	head(&b, 1, 0, 0);
	bad_bytes(&b, MVC_EUNSUPPORTED, "GGUF version 1 is not supported");
	b.len = 0;
	head(&b, 4, 0, 0);
	bad_bytes(&b, MVC_EUNSUPPORTED, "GGUF version 4 is not supported");
	b.len = 0;
	put(&b, "GGUF\0\0\0\3", 8);   /* version 3, big-endian */
	le(&b, 0, 16);
	bad_bytes(&b, MVC_EUNSUPPORTED, "big-endian");
	b.len = 0;
	put(&b, "GGUX\3\0\0\0", 8);
	bad_bytes(&b, MVC_EFORMAT, "not a GGUF file");
	free(b.p);
}

/* Cut anywhere before the end, a file fails cleanly. */
static void test_truncated(void **state)
{
	bytes b = good(3);

	(void)state;
	for (size_t n = 0; n < b.len - 64; n++) {
		mvc_layout *l = (mvc_layout *)&l;
		int rc = mvc_gguf_parse(&l, b.p, n, n, WHAT);

		if (rc != MVC_EFORMAT)
			fail_msg("a file cut to %zu bytes gave %d: %s", n, rc, mvc_error_last());
		assert_null(l);
	}
	/* the data may be missing from the buffer, not from the file */
	{
		mvc_layout *l = NULL;

		assert_ok(mvc_gguf_parse(&l, b.p, b.len - 320, b.len, WHAT));
		mvc_layout_free(l);
		assert_err(mvc_gguf_parse(&l, b.p, 100, b.len, WHAT), MVC_EFORMAT, "truncated");
	}
	free(b.p);
}

static void test_counts(void **state)
{
	bytes b = { 0 };

	(void)state;
	head(&b, 3, (uint64_t)1 << 40, 0);
	bad_bytes(&b, MVC_EFORMAT, "tensor count");
	b.len = 0;
	head(&b, 3, 0, (uint64_t)-1);
	bad_bytes(&b, MVC_EFORMAT, "metadata count");
	b.len = 0;
	head(&b, 3, 2, 0);  /* more tensors than the bytes that follow can hold */
	le(&b, 0, 40);
	bad_bytes(&b, MVC_EFORMAT, "tensor count");
	free(b.p);
}

static void test_metadata(void **state)
{
	bytes b = { 0 };

	(void)state;
	/* a key longer than what is left */
	head(&b, 3, 0, 1);
	le(&b, 1000, 8);
	put(&b, "abc", 3);
	le(&b, 0, 16);
	bad_bytes(&b, MVC_EFORMAT, "truncated");
	/* a string over the limit */
	b.len = 0;
	head(&b, 3, 0, 1);
	str(&b, "k"); le(&b, STRING, 4); le(&b, (uint64_t)MVC_GGUF_MAX_STRING + 1, 8);
	bad_bytes(&b, MVC_EFORMAT, "over the");
	/* an unknown value type */
	b.len = 0;
	head(&b, 3, 0, 1);
	str(&b, "k"); le(&b, 13, 4); le(&b, 0, 8);
	bad_bytes(&b, MVC_EFORMAT, "unknown value type 13");
	/* an unknown array element type */
	b.len = 0;
	head(&b, 3, 0, 1);
	str(&b, "k"); le(&b, ARRAY, 4); le(&b, 99, 4); le(&b, 0, 8);
	bad_bytes(&b, MVC_EFORMAT, "unknown array element type 99");
	/* an array whose elements overflow a size */
	b.len = 0;
	head(&b, 3, 0, 1);
	str(&b, "k"); le(&b, ARRAY, 4); le(&b, U64, 4); le(&b, (uint64_t)1 << 62, 8);
	bad_bytes(&b, MVC_EFORMAT, "GGUF");
	/* an array of more strings than bytes */
	b.len = 0;
	head(&b, 3, 0, 1);
	str(&b, "k"); le(&b, ARRAY, 4); le(&b, STRING, 4); le(&b, 1000000, 8);
	le(&b, 0, 64);
	bad_bytes(&b, MVC_EFORMAT, "GGUF");
	/* arrays nested too deep */
	b.len = 0;
	head(&b, 3, 0, 1);
	str(&b, "k"); le(&b, ARRAY, 4);
	for (int d = 0; d < MVC_GGUF_MAX_DEPTH + 1; d++) {
		le(&b, ARRAY, 4);
		le(&b, 1, 8);
	}
	le(&b, 0, 64);
	bad_bytes(&b, MVC_EFORMAT, "nested");
	free(b.p);
}

static void test_alignment(void **state)
{
	static const struct { unsigned type; uint64_t v; const char *frag; } cases[] = {
		{ U32, 0, "not a power of two" }, { U32, 48, "not a power of two" },
		{ U32, (uint64_t)1 << 30, "not a power of two" }, { U64, 32, "not a u32" },
	};
	bytes b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b.len = 0;
		head(&b, 3, 0, 1);
		str(&b, "general.alignment");
		le(&b, cases[i].type, 4);
		le(&b, cases[i].v, cases[i].type == U32 ? 4 : 8);
		bad_bytes(&b, MVC_EFORMAT, cases[i].frag);
	}
	b.len = 0;
	head(&b, 3, 0, 2);
	str(&b, "general.alignment"); le(&b, U32, 4); le(&b, 32, 4);
	str(&b, "general.alignment"); le(&b, U32, 4); le(&b, 32, 4);
	bad_bytes(&b, MVC_EFORMAT, "given twice");
	free(b.p);
}

static void test_tensor_infos(void **state)
{
	bytes b = { 0 };
	uint64_t ne[MVC_MAX_DIMS + 1];

	(void)state;
	for (int i = 0; i <= MVC_MAX_DIMS; i++)
		ne[i] = 1;
	/* too many dimensions */
	head(&b, 3, 1, 0);
	info(&b, "t", MVC_MAX_DIMS + 1, ne, 0, 0);
	bad_bytes(&b, MVC_EFORMAT, "dimensions");
	/* a negative dimension */
	b.len = 0;
	head(&b, 3, 1, 0);
	ne[0] = (uint64_t)-4;
	info(&b, "t", 1, ne, 0, 0);
	bad_bytes(&b, MVC_EFORMAT, "negative");
	/* a shape product that overflows */
	b.len = 0;
	head(&b, 3, 1, 0);
	ne[0] = ne[1] = ne[2] = (uint64_t)1 << 30;
	info(&b, "t", 3, ne, 0, 0);
	bad_bytes(&b, MVC_EFORMAT, "overflows");
	/* a size that overflows */
	b.len = 0;
	head(&b, 3, 1, 0);
	ne[0] = (uint64_t)1 << 62;
	info(&b, "t", 1, ne, 0, 0);
	bad_bytes(&b, MVC_EFORMAT, "overflows");
	/* an unknown ggml type */
	b.len = 0;
	head(&b, 3, 1, 0);
	ne[0] = 4;
	info(&b, "t", 1, ne, 4, 0);
	bad_bytes(&b, MVC_EFORMAT, "unknown ggml type 4");
	/* a row that is not whole blocks */
	b.len = 0;
	head(&b, 3, 1, 0);
	ne[0] = 48;
	ne[1] = 2;
	info(&b, "t", 2, ne, 2, 0);
	bad_bytes(&b, MVC_EFORMAT, "not a whole number of Q4_0 blocks");
	/* names: empty, too long, not UTF-8 */
	b.len = 0;
	head(&b, 3, 1, 0);
	one_tensor_tail(&b, "", 0);
	bad_bytes(&b, MVC_EFORMAT, "a name of 0 bytes");
	b.len = 0;
	head(&b, 3, 1, 0);
	{
		char *longname = malloc(5000);

		memset(longname, 'x', 4999);
		longname[4999] = '\0';
		one_tensor_tail(&b, longname, 0);
		free(longname);
	}
	bad_bytes(&b, MVC_EFORMAT, "a name of 4999 bytes");
	b.len = 0;
	head(&b, 3, 1, 0);
	one_tensor_tail(&b, "bad\xff", 0);
	bad_bytes(&b, MVC_EFORMAT, "not UTF-8");
	b.len = 0;
	head(&b, 3, 1, 0);
	le(&b, 3, 8);
	put(&b, "a\0b", 3);
	le(&b, 1, 4); le(&b, 4, 8); le(&b, 0, 4); le(&b, 0, 8);
	pad(&b, 32);
	le(&b, 0, 32);
	bad_bytes(&b, MVC_EFORMAT, "not UTF-8");
	free(b.p);
}

static void test_offsets(void **state)
{
	bytes b = { 0 };
	uint64_t ne[] = { 4 };

	(void)state;
	/* not a multiple of the alignment */
	head(&b, 3, 1, 0);
	one_tensor_tail(&b, "t", 8);
	bad_bytes(&b, MVC_EFORMAT, "not a multiple of the alignment");
	/* beyond the end */
	b.len = 0;
	head(&b, 3, 1, 0);
	one_tensor_tail(&b, "t", 64);
	bad_bytes(&b, MVC_EFORMAT, "beyond the end");
	b.len = 0;
	head(&b, 3, 1, 0);
	one_tensor_tail(&b, "t", (uint64_t)-32);
	bad_bytes(&b, MVC_EFORMAT, "beyond the end");
	/* two tensors at the same place */
	b.len = 0;
	head(&b, 3, 2, 0);
	info(&b, "a", 1, ne, 0, 0);
	info(&b, "b", 1, ne, 0, 0);
	pad(&b, 32);
	le(&b, 0, 32);
	bad_bytes(&b, MVC_EFORMAT, "overlaps");
	/* the same name twice */
	b.len = 0;
	head(&b, 3, 2, 0);
	info(&b, "a", 1, ne, 0, 0);
	info(&b, "a", 1, ne, 0, 32);
	pad(&b, 32);
	le(&b, 0, 64);
	bad_bytes(&b, MVC_EFORMAT, "duplicate");
	/* bytes that belong to nothing: a gap, trailing data */
	b.len = 0;
	head(&b, 3, 2, 0);
	info(&b, "a", 1, ne, 0, 0);
	info(&b, "b", 1, ne, 0, 64);
	pad(&b, 32);
	le(&b, 0, 96);
	bad_bytes(&b, MVC_EFORMAT, "belong to no tensor");
	b.len = 0;
	head(&b, 3, 1, 0);
	one_tensor_tail(&b, "a", 0);
	le(&b, 0, 32);
	bad_bytes(&b, MVC_EFORMAT, "belong to no tensor");
	/* a file of only a header, with padding, is fine */
	b.len = 0;
	head(&b, 3, 0, 0);
	le(&b, 0, 7);
	{
		mvc_layout *l = NULL;

		assert_ok(parse_bytes(&l, &b));
		assert_int_equal(l->ntensors, 0);
		mvc_layout_free(l);
	}
	free(b.p);
}

/* Behind a descriptor, as commit reads it; and a header over the limit,
 * in a sparse file. */
static void test_layout_read(void **state)
{
	char *dir = tmpdir_new("gguf"), *file = path_join(dir, "m.gguf");
	bytes b = good(3);
	mvc_layout *l = NULL;
	struct stat st;
	int fd;

	(void)state;
	write_bytes(file, b.p, b.len);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_ok(mvc_layout_read(&l, fd, (uint64_t)st.st_size, WHAT));
	close(fd);
	assert_int_equal(l->format, MVC_FORMAT_GGUF);
	assert_int_equal(l->ntensors, 3);
	mvc_layout_free(l);
	/* five strings of 60 MiB: the header ends past the limit (sparse file) */
	b.len = 0;
	head(&b, 3, 0, 5);
	write_bytes(file, b.p, b.len);
	fd = open(file, O_WRONLY);
	assert_true(fd >= 0);
	for (int i = 0; i < 5; i++) {
		off_t at = 24 + (off_t)i * (21 + ((off_t)60 << 20));

		b.len = 0;
		str(&b, "k");
		le(&b, STRING, 4);
		le(&b, (uint64_t)60 << 20, 8);
		assert_int_equal(pwrite(fd, b.p, b.len, at), (ssize_t)b.len);
	}
	assert_int_equal(ftruncate(fd, (off_t)400 << 20), 0);
	close(fd);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	assert_err(mvc_layout_read(&l, fd, (uint64_t)400 << 20, WHAT), MVC_EFORMAT,
	    "GGUF header is over the 268435456-byte limit");
	close(fd);
	assert_null(l);
	free(b.p);
	rm_rf(dir);
	free(dir);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_tensor_infos),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_layout_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
