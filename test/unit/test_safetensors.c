/*
 * safetensors parsing (lib/safetensors.c) and the dtype and format helpers
 * with format detection (lib/model.c).  Every fixture is written byte by
 * byte here: 8-byte little-endian header length, JSON header, data.
 */
#include "unit.h"
#include "mvc.h"

#define WHAT "m.safetensors"

/* Parse `header` followed by `dlen` data bytes, the file being all of it. */
static int parse(mvc_layout **l, const char *header, size_t dlen)
{
	size_t len;
	unsigned char *p = st_make(&len, header, dlen);
	int rc = mvc_safetensors_parse(l, p, len, len, WHAT);

	free(p);
	return rc;
}

/* The parse must fail with MVC_EFORMAT, a message naming the file and
 * containing `frag`, and no layout. */
static void bad(const char *header, size_t dlen, const char *frag)
{
	mvc_layout *l = (mvc_layout *)&l;

	assert_err(parse(&l, header, dlen), MVC_EFORMAT, frag);
	assert_null(l);
	if (!strstr(mvc_error_last(), "'" WHAT "'"))
		fail_msg("message '%s' does not name the file", mvc_error_last());
}

static const struct {
	const char *name;
	mvc_dtype dt;
	unsigned bits, plane;
} dtypes[] = {
	{ "BOOL", MVC_DTYPE_BOOL, 8, 1 },       { "U8", MVC_DTYPE_U8, 8, 1 },
	{ "I8", MVC_DTYPE_I8, 8, 1 },           { "F8_E5M2", MVC_DTYPE_F8_E5M2, 8, 1 },
	{ "F8_E4M3", MVC_DTYPE_F8_E4M3, 8, 1 }, { "F8_E8M0", MVC_DTYPE_F8_E8M0, 8, 1 },
	{ "I16", MVC_DTYPE_I16, 16, 2 },        { "U16", MVC_DTYPE_U16, 16, 2 },
	{ "F16", MVC_DTYPE_F16, 16, 2 },        { "BF16", MVC_DTYPE_BF16, 16, 2 },
	{ "I32", MVC_DTYPE_I32, 32, 4 },        { "U32", MVC_DTYPE_U32, 32, 4 },
	{ "F32", MVC_DTYPE_F32, 32, 4 },        { "F64", MVC_DTYPE_F64, 64, 8 },
	{ "I64", MVC_DTYPE_I64, 64, 8 },        { "U64", MVC_DTYPE_U64, 64, 8 },
	{ "C64", MVC_DTYPE_C64, 64, 4 },        { "F4", MVC_DTYPE_F4, 4, 1 },
	{ "F6_E2M3", MVC_DTYPE_F6_E2M3, 6, 1 }, { "F6_E3M2", MVC_DTYPE_F6_E3M2, 6, 1 },
};

static void test_dtype_table(void **state)
{
	(void)state;
	/* every dtype of the specification, and nothing missing (the ggml
	 * and big-endian types after them are tested in test_gguf and test_npy) */
	assert_int_equal(sizeof(dtypes) / sizeof(dtypes[0]), MVC_DTYPE_SAFETENSORS_LAST);
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++) {
		assert_int_equal(mvc_dtype_from_name(dtypes[i].name), dtypes[i].dt);
		assert_string_equal(mvc_dtype_name(dtypes[i].dt), dtypes[i].name);
		assert_int_equal(mvc_dtype_bits(dtypes[i].dt), dtypes[i].bits);
		assert_int_equal(mvc_dtype_plane_width(dtypes[i].dt), dtypes[i].plane);
	}
	/* names are case-sensitive, as in the specification */
	assert_int_equal(mvc_dtype_from_name("f32"), MVC_DTYPE_UNKNOWN);
	assert_int_equal(mvc_dtype_from_name("F128"), MVC_DTYPE_UNKNOWN);
	assert_int_equal(mvc_dtype_from_name(""), MVC_DTYPE_UNKNOWN);
	assert_int_equal(mvc_dtype_from_name("?"), MVC_DTYPE_UNKNOWN);
	assert_string_equal(mvc_dtype_name(MVC_DTYPE_UNKNOWN), "?");
	assert_string_equal(mvc_dtype_name((mvc_dtype)999), "?");
	assert_int_equal(mvc_dtype_bits(MVC_DTYPE_UNKNOWN), 0);
	assert_int_equal(mvc_dtype_bits((mvc_dtype)999), 0);
	assert_int_equal(mvc_dtype_plane_width((mvc_dtype)999), 1);
}

static void test_format_names(void **state)
{
	(void)state;
	assert_string_equal(mvc_format_name(MVC_FORMAT_SAFETENSORS), "safetensors");
	assert_string_equal(mvc_format_name(MVC_FORMAT_UNKNOWN), "unknown");
	assert_int_equal(mvc_format_from_name("safetensors"), MVC_FORMAT_SAFETENSORS);
	assert_int_equal(mvc_format_from_name("gguf"), MVC_FORMAT_GGUF);
	assert_int_equal(mvc_format_from_name("npy"), MVC_FORMAT_NPY);
	assert_int_equal(mvc_format_from_name("npz"), MVC_FORMAT_NPZ);
	assert_int_equal(mvc_format_from_name("opaque"), MVC_FORMAT_OPAQUE);
	assert_string_equal(mvc_format_name(MVC_FORMAT_OPAQUE), "opaque");
	assert_string_equal(mvc_format_name((mvc_format)99), "unknown");
	assert_int_equal(mvc_format_from_name("onnx"), MVC_FORMAT_UNKNOWN);
	assert_int_equal(mvc_format_from_name("unknown"), MVC_FORMAT_UNKNOWN);
}

/* A [2, 4] tensor of every dtype: 8 elements, 8 * bits / 8 bytes. */
static void test_every_dtype(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++) {
		size_t bytes = dtypes[i].bits, hlen;
		char hdr[256];
		mvc_layout *l = NULL;

		hlen = (size_t)snprintf(hdr, sizeof(hdr),
		    "{\"w\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[0,%zu]}}",
		    dtypes[i].name, bytes);
		assert_ok(parse(&l, hdr, bytes));
		assert_non_null(l);
		assert_int_equal(l->format, MVC_FORMAT_SAFETENSORS);
		assert_int_equal(l->file_size, 8 + hlen + bytes);
		assert_int_equal(l->ntensors, 1);
		assert_string_equal(l->tensors[0].name, "w");
		assert_int_equal(l->tensors[0].dtype, dtypes[i].dt);
		assert_int_equal(l->tensors[0].ndim, 2);
		assert_int_equal(l->tensors[0].shape[0], 2);
		assert_int_equal(l->tensors[0].shape[1], 4);
		assert_int_equal(l->tensors[0].offset, 8 + hlen);
		assert_int_equal(l->tensors[0].size, bytes);
		assert_int_equal(mvc_tensor_nelem(&l->tensors[0]), 8);
		mvc_layout_free(l);
	}
}

/* Sub-byte types pack elements across bytes: four F6 make three bytes. */
static void test_subbyte_whole_bytes(void **state)
{
	mvc_layout *l = NULL;

	(void)state;
	assert_ok(parse(&l, "{\"a\":{\"dtype\":\"F6_E3M2\",\"shape\":[4],\"data_offsets\":[0,3]},"
	                    "\"b\":{\"dtype\":\"F4\",\"shape\":[3,2],\"data_offsets\":[3,6]}}", 6));
	assert_int_equal(l->ntensors, 2);
	assert_int_equal(l->tensors[0].size, 3);
	assert_int_equal(l->tensors[1].size, 3);
	mvc_layout_free(l);
}

static void test_scalar(void **state)
{
	mvc_layout *l = NULL;
	const char *h = "{\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}";

	(void)state;
	assert_ok(parse(&l, h, 8));
	assert_int_equal(l->ntensors, 1);
	assert_int_equal(l->tensors[0].ndim, 0);
	assert_int_equal(mvc_tensor_nelem(&l->tensors[0]), 1);
	assert_int_equal(l->tensors[0].size, 8);
	assert_int_equal(l->tensors[0].offset, 8 + strlen(h));
	mvc_layout_free(l);
}

/* Zero-size tensors may share an offset with each other and with the
 * tensor that follows, or sit at the very end. */
static void test_zero_size(void **state)
{
	mvc_layout *l = NULL;
	const char *h =
	    "{\"z2\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
	    "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
	    "\"z1\":{\"dtype\":\"I64\",\"shape\":[5,0],\"data_offsets\":[0,0]},"
	    "\"end\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[4,4]}}";
	size_t base = 8 + strlen(h);

	(void)state;
	assert_ok(parse(&l, h, 4));
	assert_int_equal(l->ntensors, 4);
	/* by offset, then size, then name: a stable order */
	assert_string_equal(l->tensors[0].name, "z1");
	assert_string_equal(l->tensors[1].name, "z2");
	assert_string_equal(l->tensors[2].name, "a");
	assert_string_equal(l->tensors[3].name, "end");
	assert_int_equal(l->tensors[0].size, 0);
	assert_int_equal(l->tensors[0].offset, base);
	assert_int_equal(mvc_tensor_nelem(&l->tensors[0]), 0);
	assert_int_equal(l->tensors[2].offset, base);
	assert_int_equal(l->tensors[3].offset, base + 4);
	mvc_layout_free(l);
}

static void test_no_tensors(void **state)
{
	mvc_layout *l = NULL;

	(void)state;
	assert_ok(parse(&l, "{}", 0));
	assert_int_equal(l->ntensors, 0);
	assert_int_equal(l->file_size, 10);
	mvc_layout_free(l);
	assert_ok(parse(&l, "{\"__metadata__\":{\"format\":\"pt\"}}", 0));
	assert_int_equal(l->ntensors, 0);
	mvc_layout_free(l);
}

static void test_metadata(void **state)
{
	mvc_layout *l = NULL;

	(void)state;
	assert_ok(parse(&l, "{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
	                    "\"__metadata__\":{\"format\":\"pt\",\"note\":\"\\u00e9 \\\"q\\\"\"}}", 2));
	assert_int_equal(l->ntensors, 1);
	assert_string_equal(l->tensors[0].name, "a");
	mvc_layout_free(l);
	assert_ok(parse(&l, "{\"__metadata__\":{},\"a\":{\"dtype\":\"I8\",\"shape\":[2],"
	                    "\"data_offsets\":[0,2]}}", 2));
	assert_int_equal(l->ntensors, 1);
	mvc_layout_free(l);
}

/* Writers pad the header with spaces so the data is aligned. */
static void test_header_padding(void **state)
{
	mvc_layout *l = NULL;
	char hdr[128];
	size_t n;

	(void)state;
	n = (size_t)snprintf(hdr, sizeof(hdr),
	    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
	while (n % 8 != 0 || n < 64)
		hdr[n++] = ' ';
	hdr[n] = '\0';
	assert_ok(parse(&l, hdr, 4));
	assert_int_equal(l->tensors[0].offset, 8 + n);
	assert_int_equal(l->tensors[0].offset % 8, 0);
	mvc_layout_free(l);
}

/* Data laid out in another order than the JSON lists the tensors. */
static void test_data_order(void **state)
{
	mvc_layout *l = NULL;
	const char *h =
	    "{\"first\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]},"
	    "\"second\":{\"dtype\":\"I16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
	    "\"third\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[12,20]},"
	    "\"fourth\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
	size_t base = 8 + strlen(h);

	(void)state;
	assert_ok(parse(&l, h, 28));
	assert_int_equal(l->ntensors, 4);
	assert_string_equal(l->tensors[0].name, "second");
	assert_int_equal(l->tensors[0].offset, base);
	assert_string_equal(l->tensors[1].name, "fourth");
	assert_int_equal(l->tensors[1].offset, base + 8);
	assert_string_equal(l->tensors[2].name, "third");
	assert_int_equal(l->tensors[2].offset, base + 12);
	assert_string_equal(l->tensors[3].name, "first");
	assert_int_equal(l->tensors[3].offset, base + 20);
	assert_int_equal(l->tensors[3].size, 8);
	mvc_layout_free(l);
}

static void test_max_dims(void **state)
{
	mvc_layout *l = NULL;

	(void)state;
	assert_ok(parse(&l, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2],"
	                    "\"data_offsets\":[0,2]}}", 2));
	assert_int_equal(l->tensors[0].ndim, MVC_MAX_DIMS);
	assert_int_equal(l->tensors[0].shape[15], 2);
	mvc_layout_free(l);
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2],"
	    "\"data_offsets\":[0,2]}}", 2, "17 dimensions (at most 16)");
}

/* Names are bytes of UTF-8, kept as in the file. */
static void test_names(void **state)
{
	mvc_layout *l = NULL;

	(void)state;
	assert_ok(parse(&l, "{\"../x/..\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
	                    "\"caf\\u00e9 \\\"q\\\" \\\\\":{\"dtype\":\"U8\",\"shape\":[1],"
	                    "\"data_offsets\":[1,2]}}", 2));
	assert_string_equal(l->tensors[0].name, "../x/..");
	assert_string_equal(l->tensors[1].name, "caf\xc3\xa9 \"q\" \\");
	mvc_layout_free(l);
}

static void test_truncated(void **state)
{
	unsigned char p[16] = { 2, 0, 0, 0, 0, 0, 0, 0, '{', '}' };
	mvc_layout *l = NULL;

	(void)state;
	for (size_t n = 0; n < 8; n++)
		assert_err(mvc_safetensors_parse(&l, p, n, n, WHAT), MVC_EFORMAT, "truncated");
	/* the buffer holds a header, but the file is said to be shorter */
	assert_err(mvc_safetensors_parse(&l, p, 10, 7, WHAT), MVC_EFORMAT, "truncated");
	assert_err(mvc_safetensors_parse(&l, p, 9, 9, WHAT), MVC_EFORMAT, "beyond the end");
	assert_ok(mvc_safetensors_parse(&l, p, 10, 10, WHAT));
	mvc_layout_free(l);
}

static void test_header_beyond_file(void **state)
{
	const char *h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
	size_t len;
	unsigned char *p = st_make(&len, h, 1);
	mvc_layout *l = NULL;

	(void)state;
	/* claim one byte more than there is */
	p[0]++;
	assert_err(mvc_safetensors_parse(&l, p, len - 1, len - 1, WHAT), MVC_EFORMAT,
	    "beyond the end");
	p[0]--;
	/* the whole header is in memory but the file size says otherwise */
	assert_err(mvc_safetensors_parse(&l, p, len, 8 + strlen(h) - 1, WHAT), MVC_EFORMAT,
	    "beyond the end");
	/* a length whose high byte is set */
	p[7] = 0x80;
	assert_err(mvc_safetensors_parse(&l, p, len, len, WHAT), MVC_EFORMAT, "over the limit");
	assert_null(l);
	free(p);
}

/* The limit is checked before anything is allocated, so a fake file size
 * stands in for a huge file. */
static void test_header_limit(void **state)
{
	unsigned char p[8];
	uint64_t big = (uint64_t)MVC_SAFETENSORS_MAX_HEADER + 1;
	mvc_layout *l = NULL;

	(void)state;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(big >> (8 * i));
	assert_err(mvc_safetensors_parse(&l, p, 8, big + 1000, WHAT), MVC_EFORMAT,
	    "header of 100000001 bytes is over the limit");
	/* exactly at the limit is allowed: what stops it here is the buffer */
	big--;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(big >> (8 * i));
	assert_err(mvc_safetensors_parse(&l, p, 8, big + 1000, WHAT), MVC_EFORMAT,
	    "beyond the end");
	assert_null(l);
}

static void test_not_object(void **state)
{
	(void)state;
	bad("[1,2,3]", 0, "not a JSON object");
	bad("\"str\"", 0, "not a JSON object");
	bad(" {}", 0, "not a JSON object");
	bad("", 0, "not a JSON object");
	bad("{\"a\":[1]}", 0, "tensor 'a' is not a JSON object");
	bad("{\"a\":\"F32\"}", 0, "tensor 'a' is not a JSON object");
}

static void test_invalid_json(void **state)
{
	(void)state;
	bad("{\"a\":", 0, "bad safetensors header JSON");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}} x", 1,
	    "bad safetensors header JSON");
	bad("{'a':1}", 0, "bad safetensors header JSON");
	/* not UTF-8 */
	bad("{\"\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	    "bad safetensors header JSON");
	/* an integer beyond 64 bits */
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,1]}}", 1,
	    "bad safetensors header JSON");
}

/* A NUL inside the header: the length, not the NUL, ends it. */
static void test_nul_in_header(void **state)
{
	const char h[] = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}  \0 ";
	size_t len;
	unsigned char *p = st_build(&len, h, sizeof(h) - 1, NULL, 1);
	mvc_layout *l = NULL;

	(void)state;
	assert_err(mvc_safetensors_parse(&l, p, len, len, WHAT), MVC_EFORMAT,
	    "bad safetensors header JSON");
	free(p);
}

static void test_duplicate_names(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
	    "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, "duplicate");
	bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate");
}

static void test_bad_dtype(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16,
	    "tensor 'a' has unknown dtype 'F128'");
	bad("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
	    "unknown dtype 'f32'");
	bad("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype string");
	/* mvc's own dtypes of other formats are not safetensors dtypes */
	bad("{\"a\":{\"dtype\":\"Q8_0\",\"shape\":[32],\"data_offsets\":[0,34]}}", 34,
	    "unknown dtype 'Q8_0'");
	bad("{\"a\":{\"dtype\":\"F32_BE\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
	    "unknown dtype 'F32_BE'");
	bad("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype string");
	/* a quote in a name is escaped in the message */
	bad("{\"it's\":{\"dtype\":\"X\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	    "tensor 'it\\x27s' has unknown dtype 'X'");
}

static void test_bad_shape(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0,
	    "shape must be non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[2.5],\"data_offsets\":[0,2]}}", 2,
	    "shape must be non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[2.0],\"data_offsets\":[0,2]}}", 2,
	    "shape must be non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[\"2\"],\"data_offsets\":[0,2]}}", 2,
	    "shape must be non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[null],\"data_offsets\":[0,2]}}", 2,
	    "shape must be non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":2,\"data_offsets\":[0,2]}}", 2, "no shape array");
	bad("{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,2]}}", 2, "no shape array");
	/* 2^32 cubed does not fit in 64 bits */
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],"
	    "\"data_offsets\":[0,2]}}", 2, "shape product overflows");
	/* the elements fit, their bits do not */
	bad("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}", 8,
	    "size overflows");
	/* the bytes fit in 64 bits but not in the file */
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[65536,65536],\"data_offsets\":[0,2]}}", 2,
	    "shape and dtype give 4294967296 bytes but data_offsets give 2");
}

static void test_bad_offsets(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,9]}}", 8,
	    "data_offsets [0, 9] out of bounds (data is 8 bytes)");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,4]}}", 8,
	    "data_offsets [8, 4] out of bounds");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1,
	    "data_offsets must be two non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 2,
	    "data_offsets must be two non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1,
	    "data_offsets must be two non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1.0]}}", 1,
	    "data_offsets must be two non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1,
	    "data_offsets must be two non-negative integers");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":\"0,1\"}}", 1,
	    "data_offsets must be two non-negative integers");
}

static void test_overlap(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
	    "tensor 'b' overlaps the tensor before it");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlaps");
	/* an empty tensor inside another one */
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	    "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
	    "tensor 'e' overlaps");
}

static void test_gaps(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
	    "bytes 4 to 8 of the data belong to no tensor");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
	    "bytes 0 to 4 of the data belong to no tensor");
	/* trailing bytes after the last tensor */
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8,
	    "data_offsets cover 4 of the 8 data bytes");
	bad("{}", 3, "data_offsets cover 0 of the 3 data bytes");
}

static void test_size_mismatch(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
	    "shape and dtype give 12 bytes but data_offsets give 8");
	bad("{\"a\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
	    "give 2 bytes but data_offsets give 4");
	bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,4]}}", 4,
	    "give 0 bytes but data_offsets give 4");
}

static void test_subbyte_partial(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2,
	    "3 elements of F4 do not fill whole bytes");
	bad("{\"a\":{\"dtype\":\"F6_E2M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
	    "2 elements of F6_E2M3 do not fill whole bytes");
	bad("{\"a\":{\"dtype\":\"F6_E3M2\",\"shape\":[1,5],\"data_offsets\":[0,4]}}", 4,
	    "5 elements of F6_E3M2 do not fill whole bytes");
}

static void test_bad_metadata(void **state)
{
	(void)state;
	bad("{\"__metadata__\":{\"epoch\":3}}", 0, "__metadata__ value 'epoch' is not a string");
	bad("{\"__metadata__\":{\"a\":\"b\",\"n\":null}}", 0, "value 'n' is not a string");
	bad("{\"__metadata__\":{\"o\":{\"x\":\"y\"}}}", 0, "value 'o' is not a string");
	bad("{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not a JSON object");
	bad("{\"__metadata__\":\"a\"}", 0, "__metadata__ is not a JSON object");
}

static void test_empty_name(void **state)
{
	(void)state;
	bad("{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "empty name");
}

/* A failure after some tensors were read frees them (run under ASan). */
static void test_failure_frees(void **state)
{
	(void)state;
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
	    "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
	    "\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,9]}}", 3, "out of bounds");
}

/* mvc_layout_read: the same parser behind a file descriptor. */
typedef struct {
	char *dir;
	char *file;
} fx;

static int fx_setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	f->dir = tmpdir_new("st");
	f->file = path_join(f->dir, "m.safetensors");
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx *f = *state;

	rm_rf(f->dir);
	free(f->dir);
	free(f->file);
	free(f);
	return 0;
}

static int read_file_layout(mvc_layout **l, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY), rc;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	rc = mvc_layout_read(l, fd, (uint64_t)st.st_size, WHAT);
	close(fd);
	return rc;
}

static void test_layout_read(void **state)
{
	fx *f = *state;
	const char *h = "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]},"
	                "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
	size_t len;
	unsigned char *p = st_make(&len, h, 8);
	mvc_layout *l = NULL;

	write_bytes(f->file, p, len);
	assert_ok(read_file_layout(&l, f->file));
	assert_int_equal(l->format, MVC_FORMAT_SAFETENSORS);
	assert_int_equal(l->file_size, len);
	assert_int_equal(l->ntensors, 2);
	assert_string_equal(l->tensors[0].name, "a");
	assert_int_equal(l->tensors[0].offset, 8 + strlen(h));
	assert_string_equal(l->tensors[1].name, "b");
	assert_int_equal(l->tensors[1].offset, 8 + strlen(h) + 4);
	mvc_layout_free(l);
	l = NULL;

	/* cut inside the data: the offsets no longer fit */
	write_bytes(f->file, p, len - 1);
	assert_err(read_file_layout(&l, f->file), MVC_EFORMAT, "out of bounds");
	/* cut inside the header */
	write_bytes(f->file, p, 20);
	assert_err(read_file_layout(&l, f->file), MVC_EFORMAT, "beyond the end");
	assert_null(l);
	free(p);
}

/* A file of only a header (no tensor data) is a valid safetensors file:
 * what safetensors writes for an empty dict, padded to 8 bytes. */
static void test_layout_read_header_only(void **state)
{
	fx *f = *state;
	size_t len;
	unsigned char *p = st_make(&len, "{}      ", 0);
	mvc_layout *l = NULL;

	write_bytes(f->file, p, len);
	assert_ok(read_file_layout(&l, f->file));
	assert_int_equal(l->ntensors, 0);
	assert_int_equal(l->file_size, 16);
	mvc_layout_free(l);
	free(p);
	p = st_make(&len, "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0);
	write_bytes(f->file, p, len);
	assert_ok(read_file_layout(&l, f->file));
	assert_int_equal(l->ntensors, 1);
	mvc_layout_free(l);
	free(p);
}

/* A file of no format mvc parses is opaque: one U8 pseudo-tensor. */
static void test_layout_read_unknown(void **state)
{
	fx *f = *state;
	static const struct { const char *data; size_t len; } files[] = {
		{ "hello, this is not a model\n", 27 }, { "", 0 }, { "\x02\0\0\0\0\0\0\0", 8 },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		mvc_layout *l = NULL;

		write_bytes(f->file, files[i].data, files[i].len);
		assert_ok(read_file_layout(&l, f->file));
		assert_int_equal(l->format, MVC_FORMAT_OPAQUE);
		assert_int_equal(l->ntensors, 1);
		assert_string_equal(l->tensors[0].name, MVC_OPAQUE_TENSOR);
		assert_int_equal(l->tensors[0].dtype, MVC_DTYPE_U8);
		assert_int_equal(l->tensors[0].size, files[i].len);
		assert_int_equal(l->tensors[0].offset, 0);
		mvc_layout_free(l);
	}
}

/* A header length over the limit, checked before the header is read:
 * a sparse file stands in for a real 100 MB header. */
static void test_layout_read_header_limit(void **state)
{
	fx *f = *state;
	uint64_t big = (uint64_t)MVC_SAFETENSORS_MAX_HEADER + 1;
	unsigned char head[9];
	mvc_layout *l = NULL;
	int fd;

	for (int i = 0; i < 8; i++)
		head[i] = (unsigned char)(big >> (8 * i));
	head[8] = '{';
	write_bytes(f->file, head, sizeof(head));
	fd = open(f->file, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(big + 64)), 0);
	close(fd);
	assert_err(read_file_layout(&l, f->file), MVC_EFORMAT, "over the 100000000-byte limit");
	assert_null(l);
}

static void test_layout_free_null(void **state)
{
	(void)state;
	mvc_layout_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dtype_table),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_every_dtype),
		cmocka_unit_test(test_subbyte_whole_bytes),
		cmocka_unit_test(test_scalar),
		cmocka_unit_test(test_zero_size),
		cmocka_unit_test(test_no_tensors),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_header_padding),
		cmocka_unit_test(test_data_order),
		cmocka_unit_test(test_max_dims),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_header_beyond_file),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_nul_in_header),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_bad_dtype),
		cmocka_unit_test(test_bad_shape),
		cmocka_unit_test(test_bad_offsets),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_size_mismatch),
		cmocka_unit_test(test_subbyte_partial),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_empty_name),
		cmocka_unit_test(test_failure_frees),
		cmocka_unit_test_setup_teardown(test_layout_read, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_layout_read_header_only, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_layout_read_unknown, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_layout_read_header_limit, fx_setup, fx_teardown),
		cmocka_unit_test(test_layout_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
