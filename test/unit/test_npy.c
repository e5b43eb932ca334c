/*
 * NumPy parsing (lib/npy.c): .npy files of every version, byte order and
 * memory order, .npz archives as numpy.savez writes them (stored members
 * with ZIP64 extra fields), and every way either can be truncated or
 * lie about its contents.  Fixtures are written byte by byte here.
 */
#include "unit.h"
#include "mvc.h"

#define WHAT "a.npy"

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

/* An .npy file: version, the dict padded as numpy pads it, then `dlen`
 * data bytes. */
static bytes npy(unsigned major, const char *dict, size_t dlen)
{
	bytes b = { 0 };
	size_t n = strlen(dict), pre = major == 1 ? 10 : 12, total = n + 1;

	while ((pre + total) % 64)
		total++;
	put(&b, "\x93NUMPY", 6);
	le(&b, major, 1);
	le(&b, 0, 1);
	le(&b, total, major == 1 ? 2 : 4);
	put(&b, dict, n);
	for (size_t i = n; i + 1 < total; i++)
		le(&b, ' ', 1);
	le(&b, '\n', 1);
	for (size_t i = 0; i < dlen; i++)
		le(&b, i * 7 + 1, 1);
	return b;
}

static int parse_npy(mvc_layout **l, const bytes *b)
{
	return mvc_npy_parse(l, b->p, b->len, b->len, WHAT);
}

static void test_valid(void **state)
{
	static const struct {
		unsigned major;
		const char *dict;
		size_t dlen;
		mvc_dtype dt;
		unsigned ndim;
		uint64_t shape[3];
	} cases[] = {
		{ 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 48,
		  MVC_DTYPE_F32, 2, { 3, 4 } },
		{ 2, "{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }", 10, MVC_DTYPE_F16, 1,
		  { 5 } },
		{ 3, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 1, 2), }", 32,
		  MVC_DTYPE_F64_BE, 3, { 2, 1, 2 } },
		/* Fortran order: the shape as the bytes lie, reversed */
		{ 1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", 24, MVC_DTYPE_I32,
		  2, { 3, 2 } },
		{ 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", 1, MVC_DTYPE_BOOL, 0,
		  { 0 } },
		{ 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 4), }", 0, MVC_DTYPE_U8,
		  2, { 0, 4 } },
		{ 1, "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }", 3, MVC_DTYPE_I8, 1,
		  { 3 } },
		{ 1, "{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }", 6, MVC_DTYPE_I16_BE,
		  1, { 3 } },
		{ 1, "{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }", 6, MVC_DTYPE_U16, 1,
		  { 3 } },
		{ 1, "{'descr': '>u4', 'fortran_order': False, 'shape': (1,), }", 4, MVC_DTYPE_U32_BE,
		  1, { 1 } },
		{ 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", 8, MVC_DTYPE_I64, 1,
		  { 1 } },
		{ 1, "{'descr': '>u8', 'fortran_order': False, 'shape': (1,), }", 8, MVC_DTYPE_U64_BE,
		  1, { 1 } },
		{ 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, MVC_DTYPE_C64, 1,
		  { 2 } },
		{ 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, MVC_DTYPE_F32_BE,
		  1, { 2 } },
		{ 1, "{'descr': '>f2', 'fortran_order': False, 'shape': (2,), }", 4, MVC_DTYPE_F16_BE,
		  1, { 2 } },
		/* Python 2 longs, double quotes, odd spacing, no trailing comma */
		{ 1, "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2L,3L)}", 24, MVC_DTYPE_F32,
		  2, { 2, 3 } },
		{ 1, "{ 'shape' : ( 2 , ) , 'fortran_order' : False , 'descr' : '<f4' }", 8,
		  MVC_DTYPE_F32, 1, { 2 } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bytes b = npy(cases[i].major, cases[i].dict, cases[i].dlen);
		mvc_layout *l = NULL;

		if (parse_npy(&l, &b) != 0)
			fail_msg("case %zu: %s", i, mvc_error_last());
		assert_int_equal(l->format, MVC_FORMAT_NPY);
		assert_int_equal(l->ntensors, 1);
		assert_string_equal(l->tensors[0].name, MVC_NPY_TENSOR);
		assert_int_equal(l->tensors[0].dtype, cases[i].dt);
		assert_int_equal(l->tensors[0].ndim, cases[i].ndim);
		for (unsigned d = 0; d < cases[i].ndim; d++)
			assert_int_equal(l->tensors[0].shape[d], cases[i].shape[d]);
		assert_int_equal(l->tensors[0].size, cases[i].dlen);
		assert_int_equal(l->tensors[0].offset, b.len - cases[i].dlen);
		assert_int_equal(l->tensors[0].offset % 64, 0);
		mvc_layout_free(l);
		free(b.p);
	}
	assert_int_equal(mvc_dtype_little(MVC_DTYPE_F32_BE), MVC_DTYPE_F32);
	assert_int_equal(mvc_dtype_little(MVC_DTYPE_C64_BE), MVC_DTYPE_C64);
	assert_int_equal(mvc_dtype_little(MVC_DTYPE_F16), MVC_DTYPE_F16);
	assert_string_equal(mvc_dtype_name(MVC_DTYPE_F32_BE), "F32_BE");
	assert_int_equal(mvc_dtype_from_name("U16_BE"), MVC_DTYPE_U16_BE);
}

static void bad(unsigned major, const char *dict, size_t dlen, int code, const char *frag)
{
	bytes b = npy(major, dict, dlen);
	mvc_layout *l = (mvc_layout *)&l;

	assert_err(parse_npy(&l, &b), code, frag);
	assert_null(l);
	if (!strstr(mvc_error_last(), "'" WHAT "'"))
		fail_msg("message '%s' does not name the file", mvc_error_last());
	free(b.p);
}

static void test_bad_header(void **state)
{
	(void)state;
	bad(1, "['descr', '<f4']", 0, MVC_EFORMAT, "not a dict");
	bad(1, "{'descr': '<f4', 'fortran_order': False}", 0, MVC_EFORMAT, "missing");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, MVC_EFORMAT,
	    "unknown or repeated key");
	bad(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
	    MVC_EFORMAT, "unknown or repeated key");
	bad(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4, MVC_EFORMAT,
	    "fortran_order");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", 4, MVC_EFORMAT,
	    "non-negative integers");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", 4, MVC_EFORMAT,
	    "shape");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 4,
	    MVC_EFORMAT, "non-negative integers");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 4,
	    MVC_EFORMAT, "overflows");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,)}", 4,
	    MVC_EFORMAT, "overflows");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4, MVC_EFORMAT,
	    "not closed");
	bad(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4, MVC_EFORMAT, "npy");
	bad(1, "{'descr': '<\\f4', 'fortran_order': False, 'shape': (1,)}", 4, MVC_EFORMAT,
	    "descr is not a string");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4, MVC_EFORMAT,
	    "bytes after the dict");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
	    "1, 1, 1, 1, 1, 1, 1)}", 4, MVC_EUNSUPPORTED, "dimensions");
	/* valid .npy files of types mvc has none for: unsupported, not malformed */
	bad(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4,
	    MVC_EUNSUPPORTED, "structured");
	bad(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", 8, MVC_EUNSUPPORTED,
	    "dtype '|O'");
	bad(1, "{'descr': '<U5', 'fortran_order': False, 'shape': (1,)}", 20, MVC_EUNSUPPORTED,
	    "dtype '<U5'");
	bad(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", 4, MVC_EUNSUPPORTED,
	    "dtype");
	bad(1, "{'descr': '<f16', 'fortran_order': False, 'shape': (1,)}", 16, MVC_EUNSUPPORTED,
	    "dtype");
	/* sizes */
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 8, MVC_EFORMAT,
	    "truncated .npy file: the array needs 12 bytes, 8 are there");
	bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 8, MVC_EUNSUPPORTED,
	    "4 bytes follow the .npy array");
	bad(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (\xc3\xa9,)}", 4, MVC_EFORMAT,
	    "shape");
}

static void test_bad_file(void **state)
{
	bytes b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8);
	mvc_layout *l = NULL;

	(void)state;
	/* every cut fails cleanly */
	for (size_t n = 0; n < b.len; n++) {
		int rc = mvc_npy_parse(&l, b.p, n, n, WHAT);

		if (rc != MVC_EFORMAT)
			fail_msg("cut to %zu bytes: %d %s", n, rc, mvc_error_last());
		assert_null(l);
	}
	/* magic, versions, lengths */
	b.p[1] = 'X';
	assert_err(parse_npy(&l, &b), MVC_EFORMAT, "not a .npy file");
	b.p[1] = 'N';
	b.p[6] = 4;
	assert_err(parse_npy(&l, &b), MVC_EUNSUPPORTED, "version 4.0 is not supported");
	b.p[6] = 1;
	b.p[7] = 1;
	assert_err(parse_npy(&l, &b), MVC_EUNSUPPORTED, "version 1.1");
	b.p[7] = 0;
	b.p[8] = 0xff;
	b.p[9] = 0xff;
	assert_err(parse_npy(&l, &b), MVC_EFORMAT, "its header ends beyond it");
	free(b.p);
	b = npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8);
	b.p[8] = 0;
	b.p[9] = 0;
	b.p[10] = 0x20;  /* 2 MiB */
	assert_err(parse_npy(&l, &b), MVC_EFORMAT, "over the 1048576-byte limit");
	free(b.p);
	/* NUL in a 1.0 header, bad UTF-8 in a 3.0 one */
	b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8);
	b.p[20] = 0;
	assert_err(parse_npy(&l, &b), MVC_EFORMAT, "NUL");
	free(b.p);
	b = npy(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': '\xff'}", 8);
	assert_err(parse_npy(&l, &b), MVC_EFORMAT, "not UTF-8");
	free(b.p);
}

/* ---- .npz ---- */

static uint32_t crc32_(const unsigned char *p, size_t n)
{
	uint32_t crc = ~0u;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

typedef struct member {
	const char *name;
	bytes data;
	unsigned method;
	int zip64_local;         /* numpy.savez: all-ones sizes, ZIP64 extra */
} member;

/*
 * A zip of `n` members; `zip64_end`: a ZIP64 end record and locator,
 * the plain end record's fields all ones (as a zip of 65535+ members
 * has).  Returns the archive; member offsets into offs when not NULL.
 */
static bytes zip(member *m, size_t n, int zip64_end, const char *comment)
{
	bytes b = { 0 };
	uint64_t offs[16], cd, cdsize;

	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(m[i].name);

		offs[i] = b.len;
		le(&b, 0x04034b50, 4); le(&b, 45, 2); le(&b, 0, 2); le(&b, m[i].method, 2);
		le(&b, 0, 2); le(&b, 0x21, 2);
		le(&b, crc32_(m[i].data.p, m[i].data.len), 4);
		if (m[i].zip64_local) {
			le(&b, 0xffffffffu, 4); le(&b, 0xffffffffu, 4);
		} else {
			le(&b, m[i].data.len, 4); le(&b, m[i].data.len, 4);
		}
		le(&b, nl, 2); le(&b, m[i].zip64_local ? 20 : 0, 2);
		put(&b, m[i].name, nl);
		if (m[i].zip64_local) {
			le(&b, 1, 2); le(&b, 16, 2); le(&b, m[i].data.len, 8); le(&b, m[i].data.len, 8);
		}
		put(&b, m[i].data.p, m[i].data.len);
	}
	cd = b.len;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(m[i].name);

		le(&b, 0x02014b50, 4); le(&b, 45, 2); le(&b, 45, 2); le(&b, 0, 2);
		le(&b, m[i].method, 2); le(&b, 0, 2); le(&b, 0x21, 2);
		le(&b, crc32_(m[i].data.p, m[i].data.len), 4);
		le(&b, m[i].data.len, 4); le(&b, m[i].data.len, 4);
		le(&b, nl, 2); le(&b, 0, 2); le(&b, 0, 2); le(&b, 0, 2); le(&b, 0, 2);
		le(&b, 0, 4); le(&b, offs[i], 4);
		put(&b, m[i].name, nl);
	}
	cdsize = b.len - cd;
	if (zip64_end) {
		uint64_t z = b.len;

		le(&b, 0x06064b50, 4); le(&b, 44, 8); le(&b, 45, 2); le(&b, 45, 2);
		le(&b, 0, 4); le(&b, 0, 4); le(&b, n, 8); le(&b, n, 8); le(&b, cdsize, 8);
		le(&b, cd, 8);
		le(&b, 0x07064b50, 4); le(&b, 0, 4); le(&b, z, 8); le(&b, 1, 4);
	}
	le(&b, 0x06054b50, 4); le(&b, 0, 2); le(&b, 0, 2);
	le(&b, zip64_end ? 0xffff : n, 2); le(&b, zip64_end ? 0xffff : n, 2);
	le(&b, zip64_end ? 0xffffffffu : cdsize, 4); le(&b, zip64_end ? 0xffffffffu : cd, 4);
	le(&b, comment ? strlen(comment) : 0, 2);
	if (comment)
		put(&b, comment, strlen(comment));
	return b;
}

static void two_members(member m[2])
{
	m[0].name = "weights.npy";
	m[0].data = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", 32);
	m[0].method = 0;
	m[0].zip64_local = 1;
	m[1].name = "ids.npy";
	m[1].data = npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 24);
	m[1].method = 0;
	m[1].zip64_local = 1;
}

static void free_members(member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].data.p);
}

static int parse_npz(mvc_layout **l, const bytes *b)
{
	return mvc_npz_parse(l, b->p, b->len, b->len, "m.npz");
}

static void test_npz(void **state)
{
	member m[2];

	(void)state;
	two_members(m);
	for (int z64 = 0; z64 <= 1; z64++) {
		bytes b = zip(m, 2, z64, z64 ? "a comment" : NULL);
		mvc_layout *l = NULL;
		uint64_t covered = 0;

		assert_ok(parse_npz(&l, &b));
		assert_int_equal(l->format, MVC_FORMAT_NPZ);
		assert_int_equal(l->ntensors, 2);
		assert_string_equal(l->tensors[0].name, "weights");
		assert_int_equal(l->tensors[0].dtype, MVC_DTYPE_F32);
		assert_int_equal(l->tensors[0].shape[0], 4);
		assert_int_equal(l->tensors[0].size, 32);
		assert_int_equal(l->tensors[0].offset, 30 + 11 + 20 + m[0].data.len - 32);
		assert_memory_equal(b.p + l->tensors[0].offset, m[0].data.p + m[0].data.len - 32, 32);
		assert_string_equal(l->tensors[1].name, "ids");
		assert_int_equal(l->tensors[1].dtype, MVC_DTYPE_I64);
		assert_memory_equal(b.p + l->tensors[1].offset, m[1].data.p + m[1].data.len - 24, 24);
		for (size_t i = 0; i < l->ntensors; i++)
			covered += l->tensors[i].size;
		assert_int_equal(covered, 56);
		mvc_layout_free(l);
		/* every cut fails cleanly */
		for (size_t n = 0; n < b.len; n++) {
			int rc = mvc_npz_parse(&l, b.p, n, n, "m.npz");

			if (rc != MVC_EFORMAT && rc != MVC_EUNSUPPORTED)
				fail_msg("cut to %zu bytes: %d %s", n, rc, mvc_error_last());
			assert_null(l);
		}
		free(b.p);
	}
	/* plain local headers (no ZIP64) read the same */
	m[0].zip64_local = m[1].zip64_local = 0;
	{
		bytes b = zip(m, 2, 0, NULL);
		mvc_layout *l = NULL;

		assert_ok(parse_npz(&l, &b));
		assert_int_equal(l->ntensors, 2);
		mvc_layout_free(l);
		free(b.p);
	}
	/* an empty archive */
	{
		bytes b = zip(m, 0, 0, NULL);
		mvc_layout *l = NULL;

		assert_ok(parse_npz(&l, &b));
		assert_int_equal(l->ntensors, 0);
		mvc_layout_free(l);
		free(b.p);
	}
	free_members(m, 2);
}

static void npz_bad(bytes *b, int code, const char *frag)
{
	mvc_layout *l = (mvc_layout *)&l;

	assert_err(parse_npz(&l, b), code, frag);
	assert_null(l);
	free(b->p);
}

static void test_npz_bad(void **state)
{
	member m[2];
	bytes b;
	size_t cd;

	(void)state;
	two_members(m);
	/* archives that are not .npz of stored arrays: unsupported */
	m[1].method = 8;
	b = zip(m, 2, 0, NULL);
	npz_bad(&b, MVC_EUNSUPPORTED, "is compressed (method 8)");
	m[1].method = 0;
	m[1].name = "config.json";
	b = zip(m, 2, 0, NULL);
	npz_bad(&b, MVC_EUNSUPPORTED, "not an .npy file");
	m[1].name = ".npy";
	b = zip(m, 2, 0, NULL);
	npz_bad(&b, MVC_EUNSUPPORTED, "not an .npy file");
	m[1].name = "weights.npy";
	b = zip(m, 2, 0, NULL);
	npz_bad(&b, MVC_EFORMAT, "duplicate");
	m[1].name = "ids.npy";
	/* no end record; garbage */
	b = zip(m, 2, 0, NULL);
	b.p[b.len - 22] = 'X';
	npz_bad(&b, MVC_EFORMAT, "no end of central directory record");
	/* a comment that runs past the end */
	b = zip(m, 2, 0, "abc");
	b.len--;
	npz_bad(&b, MVC_EFORMAT, "no end of central directory");
	/* a central directory outside the archive */
	b = zip(m, 2, 0, NULL);
	b.p[b.len - 6] = 0xff;
	npz_bad(&b, MVC_EFORMAT, "outside the archive");
	/* a central directory too small for its count */
	b = zip(m, 2, 0, NULL);
	b.p[b.len - 12] = 200;
	b.p[b.len - 14] = 200;
	npz_bad(&b, MVC_EFORMAT, "too small");
	/* a damaged central directory record */
	b = zip(m, 2, 0, NULL);
	cd = b.len - 22 - (46 + 11) - (46 + 7);
	b.p[cd + 46 + 11] = 'Q';
	npz_bad(&b, MVC_EFORMAT, "record 1 is damaged");
	/* a member offset that points at nothing */
	b = zip(m, 2, 0, NULL);
	b.p[cd + 42] = 5;
	npz_bad(&b, MVC_EFORMAT, "local header");
	/* a local header with another name, another size */
	b = zip(m, 2, 0, NULL);
	b.p[30] = 'W';
	npz_bad(&b, MVC_EFORMAT, "names another file");
	b = zip(m, 2, 0, NULL);
	b.p[30 + 11 + 4] = 1;  /* the ZIP64 extra's uncompressed size */
	npz_bad(&b, MVC_EFORMAT, "another size");
	/* a ZIP64 extra that is too short */
	b = zip(m, 2, 0, NULL);
	b.p[30 + 11 + 2] = 8;
	npz_bad(&b, MVC_EFORMAT, "ZIP64");
	/* members that overlap: both at offset 0 */
	b = zip(m, 2, 0, NULL);
	b.p[cd + 46 + 11 + 42] = 0;
	npz_bad(&b, MVC_EFORMAT, "overlaps");
	/* a ZIP64 end record whose locator is missing */
	b = zip(m, 2, 1, NULL);
	b.p[b.len - 22 - 20] = 'X';
	npz_bad(&b, MVC_EFORMAT, "ZIP64 end locator");
	b = zip(m, 2, 1, NULL);
	b.p[b.len - 22 - 20 + 8] += 1;
	npz_bad(&b, MVC_EFORMAT, "bad ZIP64 end record");
	/* a member count beyond the limit */
	b = zip(m, 2, 1, NULL);
	b.p[b.len - 22 - 20 - 56 + 32 + 5] = 1;
	npz_bad(&b, MVC_EFORMAT, "members");
	/* a bad .npy inside */
	free(m[1].data.p);
	m[1].data = npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (9,), }", 24);
	b = zip(m, 2, 0, NULL);
	npz_bad(&b, MVC_EFORMAT, "'m.npz:ids': truncated .npy file");
	free_members(m, 2);
}

/* Detection: a zip that is not an .npz of stored arrays is opaque, a
 * broken .npy is refused, an .npy of no mvc type is opaque. */
static void test_detect(void **state)
{
	char *dir = tmpdir_new("npy"), *file = path_join(dir, "f");
	member m[2];
	bytes b;

	(void)state;
	two_members(m);
	m[0].method = 8;
	b = zip(m, 2, 0, NULL);
	write_bytes(file, b.p, b.len);
	free(b.p);
	{
		mvc_layout *l = NULL;
		struct stat st;
		int fd = open(file, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_ok(mvc_layout_read(&l, fd, (uint64_t)st.st_size, "f"));
		assert_int_equal(l->format, MVC_FORMAT_OPAQUE);
		mvc_layout_free(l);
		l = NULL;
		assert_err(mvc_layout_read_as(&l, fd, (uint64_t)st.st_size, "f", MVC_FORMAT_NPZ),
		    MVC_EUNSUPPORTED, "compressed");
		close(fd);
	}
	m[0].method = 0;
	b = zip(m, 2, 0, NULL);
	write_bytes(file, b.p, b.len);
	free(b.p);
	{
		mvc_layout *l = NULL;
		struct stat st;
		int fd = open(file, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_ok(mvc_layout_read(&l, fd, (uint64_t)st.st_size, "f"));
		assert_int_equal(l->format, MVC_FORMAT_NPZ);
		assert_int_equal(l->ntensors, 2);
		mvc_layout_free(l);
		close(fd);
	}
	b = npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", 8);
	write_bytes(file, b.p, b.len);
	free(b.p);
	{
		mvc_layout *l = NULL;
		struct stat st;
		int fd = open(file, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_ok(mvc_layout_read(&l, fd, (uint64_t)st.st_size, "f"));
		assert_int_equal(l->format, MVC_FORMAT_OPAQUE);
		mvc_layout_free(l);
		l = NULL;
		assert_err(mvc_layout_read_as(&l, fd, (uint64_t)st.st_size, "f", MVC_FORMAT_NPY),
		    MVC_EUNSUPPORTED, "dtype '|O'");
		close(fd);
	}
	b = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", 8);
	write_bytes(file, b.p, b.len);
	free(b.p);
	{
		mvc_layout *l = NULL;
		struct stat st;
		int fd = open(file, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_err(mvc_layout_read(&l, fd, (uint64_t)st.st_size, "f"), MVC_EFORMAT,
		    "truncated .npy file");
		assert_ok(mvc_layout_read_as(&l, fd, (uint64_t)st.st_size, "f", MVC_FORMAT_OPAQUE));
		assert_int_equal(l->format, MVC_FORMAT_OPAQUE);
		mvc_layout_free(l);
		l = NULL;
		assert_err(mvc_layout_read_as(&l, fd, (uint64_t)st.st_size, "f", MVC_FORMAT_GGUF),
		    MVC_EFORMAT, "not a GGUF file");
		close(fd);
	}
	free_members(m, 2);
	rm_rf(dir);
	free(dir);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_npz),
		cmocka_unit_test(test_npz_bad),
		cmocka_unit_test(test_detect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
