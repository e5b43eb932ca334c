/*
 * MANIFEST text (lib/manifest.c): what is written parses back equal, the
 * output is deterministic and line-oriented, the digests follow the
 * documented scheme, and a parser of untrusted bytes refuses every
 * inconsistency.
 */
#include <jansson.h>
#include <sodium.h>
#include "unit.h"
#include "mvc.h"

static const char *names[] = {
	"plain.weight",
	"with \"quotes\"",
	"back\\slash\\",
	"a/b/c",
	"../../etc/passwd",
	"..",
	"ns:layer:0",
	" spaces  around ",
	"tab\there\nnewline",
	"caf\xc3\xa9 \xe2\x9c\x93 \xe6\xa8\xa1\xe5\x9e\x8b \xf0\x9f\xa4\x96",
	NULL, /* 200 bytes, filled in */
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static char long_name[201];

/*
 * A manifest of F32 [rows, 4] tensors (16-byte rows) cut into 32-byte
 * chunks, with a 40-byte header before them and 8 bytes of padding after
 * each: the non-tensor bytes need not be contiguous.
 */
static mvc_manifest *make(const char *const *tn, size_t n, uint64_t seed)
{
	mvc_manifest *m = calloc(1, sizeof(*m));
	uint64_t pos = 40, s = seed;

	assert_non_null(m);
	m->version = MVC_FORMAT_VERSION;
	m->format = MVC_FORMAT_SAFETENSORS;
	m->tensors = calloc(n + 1, sizeof(*m->tensors));
	m->ntensors = n;
	m->header_size = 40;
	rnd_fill(m->header_digest, MVC_DIGEST_SIZE, rnd_next(&s));
	for (size_t i = 0; i < n; i++) {
		mvc_manifest_tensor *mt = &m->tensors[i];
		uint64_t rows = 1 + i % 5;

		mt->t.name = strdup(tn[i]);
		mt->t.dtype = MVC_DTYPE_F32;
		mt->t.ndim = 2;
		mt->t.shape[0] = rows;
		mt->t.shape[1] = 4;
		mt->t.offset = pos;
		mt->t.size = rows * 16;
		mt->chunk_size = 32;
		mt->nchunks = (mt->t.size + 31) / 32;
		mt->chunk_digests = malloc(mt->nchunks * MVC_DIGEST_SIZE);
		rnd_fill(mt->chunk_digests, mt->nchunks * MVC_DIGEST_SIZE, rnd_next(&s));
		pos += mt->t.size + 8;
		m->header_size += 8;
	}
	m->file_size = pos;
	mvc_manifest_seal(m);
	return m;
}

static mvc_manifest *make_all(void)
{
	memset(long_name, 'x', 200);
	memcpy(long_name, "long/", 5);
	long_name[200] = '\0';
	names[NNAMES - 1] = long_name;
	return make(names, NNAMES, 42);
}

static void assert_same(const mvc_manifest *a, const mvc_manifest *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->format, b->format);
	assert_int_equal(a->file_size, b->file_size);
	assert_memory_equal(a->digest, b->digest, MVC_DIGEST_SIZE);
	assert_int_equal(a->header_size, b->header_size);
	assert_memory_equal(a->header_digest, b->header_digest, MVC_DIGEST_SIZE);
	assert_int_equal(a->ntensors, b->ntensors);
	for (size_t i = 0; i < a->ntensors; i++) {
		const mvc_manifest_tensor *x = &a->tensors[i], *y = &b->tensors[i];

		assert_string_equal(x->t.name, y->t.name);
		assert_int_equal(x->t.dtype, y->t.dtype);
		assert_int_equal(x->t.ndim, y->t.ndim);
		for (unsigned d = 0; d < x->t.ndim; d++)
			assert_int_equal(x->t.shape[d], y->t.shape[d]);
		assert_int_equal(x->t.offset, y->t.offset);
		assert_int_equal(x->t.size, y->t.size);
		assert_int_equal(x->chunk_size, y->chunk_size);
		assert_int_equal(x->nchunks, y->nchunks);
		assert_memory_equal(x->digest, y->digest, MVC_DIGEST_SIZE);
		if (x->nchunks)
			assert_memory_equal(x->chunk_digests, y->chunk_digests,
			    x->nchunks * MVC_DIGEST_SIZE);
	}
}

static void test_roundtrip(void **state)
{
	mvc_manifest *m = make_all(), *back = NULL;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	assert_ok(mvc_manifest_write(&text, &len, m));
	assert_int_equal(strlen(text), len);
	assert_ok(mvc_manifest_parse(&back, text, len));
	assert_non_null(back);
	assert_same(m, back);
	for (size_t i = 0; i < NNAMES; i++)
		assert_string_equal(back->tensors[i].t.name, names[i]);
	assert_int_equal(strlen(back->tensors[NNAMES - 1].t.name), 200);
	mvc_manifest_free(back);
	mvc_manifest_free(m);
	free(text);
}

/* Same content, same bytes: two writes, and a write of what was parsed. */
static void test_deterministic(void **state)
{
	mvc_manifest *m = make_all(), *back = NULL;
	char *a = NULL, *b = NULL, *c = NULL;
	size_t la, lb, lc;

	(void)state;
	assert_ok(mvc_manifest_write(&a, &la, m));
	assert_ok(mvc_manifest_write(&b, &lb, m));
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	assert_ok(mvc_manifest_parse(&back, a, la));
	assert_ok(mvc_manifest_write(&c, &lc, back));
	assert_int_equal(la, lc);
	assert_memory_equal(a, c, la);
	mvc_manifest_free(back);
	mvc_manifest_free(m);
	free(a);
	free(b);
	free(c);
}

/* A first line with the file's fields, one line per tensor, a last line
 * that closes: `git diff` of two manifests shows the tensors that changed. */
static void test_one_tensor_per_line(void **state)
{
	mvc_manifest *m = make_all();
	char *text = NULL, *line, *save = NULL;
	size_t len, nl = 0, i = 0;

	(void)state;
	assert_ok(mvc_manifest_write(&text, &len, m));
	for (size_t k = 0; k < len; k++)
		nl += text[k] == '\n';
	assert_int_equal(nl, NNAMES + 2);
	assert_int_equal(text[len - 1], '\n');
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		size_t ll = strlen(line);

		if (i == 0) {
			assert_true(!strncmp(line, "{\"mvc\":1,", 9));
			assert_string_equal(line + ll - 11, "\"tensors\":[");
			assert_null(strstr(line, "\"chunks\""));
		} else if (i == NNAMES + 1) {
			assert_string_equal(line, "]}");
		} else {
			json_t *o;
			json_error_t je;

			if (line[ll - 1] == ',')
				line[--ll] = '\0';
			else
				assert_int_equal(i, NNAMES); /* only the last has no comma */
			o = json_loads(line, 0, &je);
			assert_non_null(o);
			assert_string_equal(json_string_value(json_object_get(o, "name")),
			    names[i - 1]);
			assert_int_equal(json_array_size(json_object_get(o, "chunks")),
			    m->tensors[i - 1].nchunks);
			json_decref(o);
		}
	}
	assert_int_equal(i, NNAMES + 2);
	mvc_manifest_free(m);
	free(text);
}

static void test_no_tensors(void **state)
{
	mvc_manifest *m = make(NULL, 0, 1), *back = NULL;
	char *text = NULL;
	size_t len;

	(void)state;
	assert_int_equal(m->file_size, 40);
	assert_ok(mvc_manifest_write(&text, &len, m));
	assert_non_null(strstr(text, "\"tensors\":[\n]}\n"));
	assert_ok(mvc_manifest_parse(&back, text, len));
	assert_same(m, back);
	mvc_manifest_free(back);
	mvc_manifest_free(m);
	free(text);
}

/* Scalars, zero-size tensors (no chunks) and a last chunk that is short. */
static void test_shapes(void **state)
{
	const char *tn[] = { "scalar", "empty", "ragged" };
	mvc_manifest *m = make(tn, 3, 5), *back = NULL;
	char *text = NULL;
	size_t len;

	(void)state;
	m->tensors[0].t.ndim = 0;
	m->tensors[0].t.size = 4;
	m->tensors[0].nchunks = 1;
	m->tensors[1].t.shape[0] = 0;
	m->tensors[1].t.size = 0;
	m->tensors[1].nchunks = 0;
	m->tensors[2].t.dtype = MVC_DTYPE_F6_E2M3;
	m->tensors[2].t.ndim = 1;
	m->tensors[2].t.shape[0] = 40; /* 30 bytes: chunks of 32? no, of 8 */
	m->tensors[2].t.size = 30;
	m->tensors[2].chunk_size = 8;
	m->tensors[2].nchunks = 4;
	free(m->tensors[2].chunk_digests);
	m->tensors[2].chunk_digests = malloc(4 * MVC_DIGEST_SIZE);
	rnd_fill(m->tensors[2].chunk_digests, 4 * MVC_DIGEST_SIZE, 77);
	/* lay the tensors out again */
	m->tensors[0].t.offset = 40;
	m->tensors[1].t.offset = 44;
	m->tensors[2].t.offset = 44;
	m->file_size = 74;
	m->header_size = 40;
	mvc_manifest_seal(m);
	assert_ok(mvc_manifest_write(&text, &len, m));
	assert_ok(mvc_manifest_parse(&back, text, len));
	assert_same(m, back);
	assert_non_null(strstr(text, "\"shape\":[]"));
	assert_non_null(strstr(text, "\"chunks\":[]"));
	mvc_manifest_free(back);
	mvc_manifest_free(m);
	free(text);
}

/* The documented digest scheme, recomputed independently. */
static void test_seal(void **state)
{
	const char *tn[] = { "a", "b" };
	mvc_manifest *m = make(tn, 2, 9);
	unsigned char d[MVC_DIGEST_SIZE];
	crypto_generichash_state st;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		crypto_generichash(d, sizeof(d), m->tensors[i].chunk_digests,
		    m->tensors[i].nchunks * MVC_DIGEST_SIZE, NULL, 0);
		assert_memory_equal(d, m->tensors[i].digest, MVC_DIGEST_SIZE);
	}
	crypto_generichash_init(&st, NULL, 0, MVC_DIGEST_SIZE);
	crypto_generichash_update(&st, m->header_digest, MVC_DIGEST_SIZE);
	crypto_generichash_update(&st, m->tensors[0].digest, MVC_DIGEST_SIZE);
	crypto_generichash_update(&st, m->tensors[1].digest, MVC_DIGEST_SIZE);
	crypto_generichash_final(&st, d, MVC_DIGEST_SIZE);
	assert_memory_equal(d, m->digest, MVC_DIGEST_SIZE);
	/* one chunk digest changes the tensor's and the file's digests */
	memcpy(d, m->digest, MVC_DIGEST_SIZE);
	m->tensors[1].chunk_digests[0] ^= 1;
	mvc_manifest_seal(m);
	assert_memory_not_equal(d, m->digest, MVC_DIGEST_SIZE);
	mvc_manifest_free(m);
}

static void test_digest_hex(void **state)
{
	unsigned char d[MVC_DIGEST_SIZE];
	char hex[MVC_DIGEST_HEXSZ + 1];

	(void)state;
	for (int i = 0; i < MVC_DIGEST_SIZE; i++)
		d[i] = (unsigned char)(i * 8 + 0x0a);
	mvc_digest_hex(hex, d);
	assert_string_equal(hex,
	    "0a121a222a323a424a525a626a727a828a929aa2aab2bac2cad2dae2eaf2fa02");
}

static void test_find(void **state)
{
	mvc_manifest *m = make_all();

	(void)state;
	for (size_t i = 0; i < NNAMES; i++)
		assert_int_equal(mvc_manifest_find(m, names[i]), (long)i);
	assert_int_equal(mvc_manifest_find(m, "missing"), -1);
	assert_int_equal(mvc_manifest_find(m, ""), -1);
	assert_int_equal(mvc_manifest_find(m, "plain"), -1); /* no prefix match */
	mvc_manifest_free(m);
	mvc_manifest_free(NULL);
}

/*
 * Tampering: take a good manifest as JSON, change one thing, parse.
 */
typedef void (*edit_fn)(json_t *root);

static json_t *tensor(json_t *root, size_t i)
{
	return json_array_get(json_object_get(root, "tensors"), i);
}

static void expect_refused(edit_fn edit, int code, const char *frag)
{
	const char *tn[] = { "a", "b", "c" };
	mvc_manifest *m = make(tn, 3, 3), *back = (mvc_manifest *)&back;
	char *text = NULL, *edited;
	size_t len;
	json_t *root;
	json_error_t je;

	assert_ok(mvc_manifest_write(&text, &len, m));
	/* the unedited text parses: the edit is what is refused */
	assert_ok(mvc_manifest_parse(&back, text, len));
	mvc_manifest_free(back);
	root = json_loadb(text, len, 0, &je);
	assert_non_null(root);
	edit(root);
	edited = json_dumps(root, JSON_COMPACT);
	assert_non_null(edited);
	assert_err(mvc_manifest_parse(&back, edited, strlen(edited)), code, frag);
	assert_null(back);
	if (code == MVC_ECORRUPT)
		assert_non_null(strstr(mvc_error_last(), "corrupt manifest"));
	free(edited);
	json_decref(root);
	free(text);
	mvc_manifest_free(m);
}

static void set_hex(json_t *o, const char *key, int flip)
{
	char hex[MVC_DIGEST_HEXSZ + 1];

	snprintf(hex, sizeof(hex), "%s", json_string_value(json_object_get(o, key)));
	hex[flip] = hex[flip] == '0' ? '1' : '0';
	json_object_set_new(o, key, json_string(hex));
}

static void e_chunk_digest(json_t *r)
{
	json_t *chunks = json_object_get(tensor(r, 1), "chunks");
	char hex[MVC_DIGEST_HEXSZ + 1];

	snprintf(hex, sizeof(hex), "%s", json_string_value(json_array_get(chunks, 0)));
	hex[63] = hex[63] == 'f' ? 'e' : 'f';
	json_array_set_new(chunks, 0, json_string(hex));
}
static void e_tensor_digest(json_t *r) { set_hex(tensor(r, 2), "digest", 10); }
static void e_file_digest(json_t *r) { set_hex(r, "digest", 0); }
static void e_header_digest(json_t *r) { set_hex(json_object_get(r, "header"), "digest", 5); }
static void e_header_size(json_t *r)
{
	json_t *h = json_object_get(r, "header");

	json_object_set_new(h, "size", json_integer(json_integer_value(json_object_get(h, "size")) + 1));
}
static void e_file_size(json_t *r)
{
	json_object_set_new(r, "size", json_integer(json_integer_value(json_object_get(r, "size")) - 1));
}
static void e_overlap(json_t *r)
{
	json_object_set(tensor(r, 1), "offset", json_object_get(tensor(r, 0), "offset"));
}
static void e_past_end(json_t *r)
{
	json_object_set(tensor(r, 2), "offset", json_object_get(r, "size"));
}
static void e_offset_overflow(json_t *r)
{
	json_object_set_new(tensor(r, 2), "offset", json_integer(INT64_MAX));
}
static void e_order(json_t *r)
{
	/* the same tensors, out of file order */
	json_t *ts = json_object_get(r, "tensors"), *first = json_incref(json_array_get(ts, 0));

	json_array_remove(ts, 0);
	json_array_append_new(ts, first);
}
static void e_fewer_chunks(json_t *r)
{
	json_array_remove(json_object_get(tensor(r, 1), "chunks"), 0);
}
static void e_more_chunks(json_t *r)
{
	json_t *c = json_object_get(tensor(r, 0), "chunks");

	json_array_append(c, json_array_get(c, 0));
}
static void e_chunk_size(json_t *r) { json_object_set_new(tensor(r, 1), "chunk_size", json_integer(16)); }
static void e_chunk_size_zero(json_t *r) { json_object_set_new(tensor(r, 0), "chunk_size", json_integer(0)); }
static void e_chunk_size_huge(json_t *r)
{
	json_object_set_new(tensor(r, 0), "chunk_size", json_integer((json_int_t)MVC_CHUNK_MAX + 1));
}
static void e_version_new(json_t *r) { json_object_set_new(r, "mvc", json_integer(MVC_FORMAT_VERSION + 1)); }
static void e_version_zero(json_t *r) { json_object_set_new(r, "mvc", json_integer(0)); }
static void e_version_string(json_t *r) { json_object_set_new(r, "mvc", json_string("1")); }
static void e_version_missing(json_t *r) { json_object_del(r, "mvc"); }
static void e_format(json_t *r) { json_object_set_new(r, "format", json_string("onnx")); }
static void e_format_missing(json_t *r) { json_object_del(r, "format"); }
static void e_digest_short(json_t *r)
{
	json_object_set_new(r, "digest", json_string("abcdef"));
}
static void e_digest_nonhex(json_t *r)
{
	char hex[MVC_DIGEST_HEXSZ + 1];

	memset(hex, 'g', MVC_DIGEST_HEXSZ);
	hex[MVC_DIGEST_HEXSZ] = '\0';
	json_object_set_new(json_object_get(r, "header"), "digest", json_string(hex));
}
static void e_no_header(json_t *r) { json_object_del(r, "header"); }
static void e_no_tensors(json_t *r) { json_object_del(r, "tensors"); }
static void e_tensors_object(json_t *r) { json_object_set_new(r, "tensors", json_object()); }
static void e_no_name(json_t *r) { json_object_del(tensor(r, 0), "name"); }
static void e_tensor_not_object(json_t *r)
{
	json_array_set_new(json_object_get(r, "tensors"), 1, json_string("b"));
}
static void e_dtype(json_t *r) { json_object_set_new(tensor(r, 0), "dtype", json_string("F128")); }
static void e_shape_negative(json_t *r)
{
	json_array_set_new(json_object_get(tensor(r, 0), "shape"), 0, json_integer(-1));
}
static void e_shape_string(json_t *r) { json_object_set_new(tensor(r, 0), "shape", json_string("1x4")); }
static void e_shape_dims(json_t *r)
{
	json_t *s = json_array();

	for (int i = 0; i < MVC_MAX_DIMS + 1; i++)
		json_array_append_new(s, json_integer(1));
	json_object_set_new(tensor(r, 0), "shape", s);
}
static void e_shape_overflow(json_t *r)
{
	json_t *s = json_pack("[I,I,I]", (json_int_t)1 << 32, (json_int_t)1 << 32, (json_int_t)1 << 32);

	json_object_set_new(tensor(r, 0), "shape", s);
}
static void e_size_shape(json_t *r)
{
	json_array_set_new(json_object_get(tensor(r, 0), "shape"), 1, json_integer(5));
}
static void e_size_negative(json_t *r) { json_object_set_new(tensor(r, 0), "size", json_integer(-16)); }
static void e_no_offset(json_t *r) { json_object_del(tensor(r, 0), "offset"); }
static void e_bad_chunk_hex(json_t *r)
{
	json_array_set_new(json_object_get(tensor(r, 2), "chunks"), 0, json_string("zz"));
}
static void e_no_tensor_digest(json_t *r) { json_object_del(tensor(r, 1), "digest"); }
static void e_dup_name(json_t *r) { json_object_set_new(tensor(r, 2), "name", json_string("a")); }

static void test_tampered_digests(void **state)
{
	(void)state;
	expect_refused(e_chunk_digest, MVC_ECORRUPT, "tensor 1 digest does not match its chunks");
	expect_refused(e_tensor_digest, MVC_ECORRUPT, "tensor 2 digest does not match its chunks");
	expect_refused(e_file_digest, MVC_ECORRUPT, "file digest does not match its tensors");
	expect_refused(e_header_digest, MVC_ECORRUPT, "file digest does not match");
}

static void test_sizes(void **state)
{
	(void)state;
	expect_refused(e_header_size, MVC_ECORRUPT, "sizes do not add up");
	expect_refused(e_file_size, MVC_ECORRUPT, "sizes do not add up");
	expect_refused(e_size_shape, MVC_ECORRUPT, "tensor 0 size does not match its shape");
	expect_refused(e_size_negative, MVC_ECORRUPT, "tensor 0 lacks offset, size or chunk_size");
	expect_refused(e_no_offset, MVC_ECORRUPT, "tensor 0 lacks offset");
}

static void test_layout(void **state)
{
	(void)state;
	expect_refused(e_overlap, MVC_ECORRUPT, "tensor 1 lies outside the file or overlaps");
	expect_refused(e_past_end, MVC_ECORRUPT, "tensor 2 lies outside the file");
	expect_refused(e_offset_overflow, MVC_ECORRUPT, "tensor 2 lies outside the file");
	expect_refused(e_order, MVC_ECORRUPT, "overlaps");
	expect_refused(e_dup_name, MVC_ECORRUPT, "two tensors have the same name");
}

static void test_chunk_counts(void **state)
{
	(void)state;
	expect_refused(e_fewer_chunks, MVC_ECORRUPT, "tensor 1 has 0 chunk digests, 1 expected");
	expect_refused(e_more_chunks, MVC_ECORRUPT, "tensor 0 has 2 chunk digests, 1 expected");
	expect_refused(e_chunk_size, MVC_ECORRUPT, "tensor 1 has 1 chunk digests, 2 expected");
	expect_refused(e_chunk_size_zero, MVC_ECORRUPT, "tensor 0 has a bad chunk size");
	expect_refused(e_chunk_size_huge, MVC_ECORRUPT, "tensor 0 has a bad chunk size");
}

static void test_versions(void **state)
{
	(void)state;
	expect_refused(e_version_new, MVC_EUNSUPPORTED, "stored with mvc format 2");
	expect_refused(e_version_new, MVC_EUNSUPPORTED, "upgrade mvc");
	expect_refused(e_version_zero, MVC_ECORRUPT, "bad format version");
	expect_refused(e_version_string, MVC_ECORRUPT, "no format version");
	expect_refused(e_version_missing, MVC_ECORRUPT, "no format version");
	expect_refused(e_format, MVC_EUNSUPPORTED, "stored file format is not known");
	expect_refused(e_format_missing, MVC_EUNSUPPORTED, "format is not known");
}

static void test_bad_fields(void **state)
{
	(void)state;
	expect_refused(e_digest_short, MVC_ECORRUPT, "bad file fields");
	expect_refused(e_digest_nonhex, MVC_ECORRUPT, "bad file fields");
	expect_refused(e_no_header, MVC_ECORRUPT, "bad file fields");
	expect_refused(e_no_tensors, MVC_ECORRUPT, "no tensor table");
	expect_refused(e_tensors_object, MVC_ECORRUPT, "no tensor table");
	expect_refused(e_no_name, MVC_ECORRUPT, "tensor 0 lacks a name or dtype");
	expect_refused(e_tensor_not_object, MVC_ECORRUPT, "tensor 1 lacks a name or dtype");
	expect_refused(e_dtype, MVC_ECORRUPT, "tensor 0 has an unknown dtype");
	expect_refused(e_shape_negative, MVC_ECORRUPT, "tensor 0 has a bad shape");
	expect_refused(e_shape_string, MVC_ECORRUPT, "tensor 0 has a bad shape");
	expect_refused(e_shape_dims, MVC_ECORRUPT, "tensor 0 has a bad shape");
	expect_refused(e_shape_overflow, MVC_ECORRUPT, "tensor 0 shape overflows");
	expect_refused(e_bad_chunk_hex, MVC_ECORRUPT, "tensor 2 chunk 0 has a bad digest");
	expect_refused(e_no_tensor_digest, MVC_ECORRUPT, "tensor 1 has a bad digest");
}

static void test_garbage(void **state)
{
	static const char *bad[] = {
		"", "hello", "{", "[]", "null", "42", "{\"mvc\":1", "\xff\xfe",
		"{\"mvc\":1,\"mvc\":1}",
	};
	mvc_manifest *m = NULL;
	char *text = NULL;
	size_t len;
	mvc_manifest *good = make_all();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_err(mvc_manifest_parse(&m, bad[i], strlen(bad[i])), MVC_ECORRUPT,
		    "corrupt manifest");
		assert_null(m);
	}
	assert_err(mvc_manifest_parse(&m, bad[8], strlen(bad[8])), MVC_ECORRUPT, "duplicate");
	/* every proper prefix of a good manifest is refused */
	assert_ok(mvc_manifest_write(&text, &len, good));
	for (size_t cut = 0; cut < len - 1; cut += 7) {
		assert_err(mvc_manifest_parse(&m, text, cut), MVC_ECORRUPT, "corrupt manifest");
		assert_null(m);
	}
	/* trailing garbage */
	text[len - 1] = 'x';
	assert_err(mvc_manifest_parse(&m, text, len), MVC_ECORRUPT, "corrupt manifest");
	/* the size limit is checked before the bytes are looked at */
	assert_err(mvc_manifest_parse(&m, text, ((size_t)1 << 30) + 1), MVC_ECORRUPT,
	    "too large");
	free(text);
	mvc_manifest_free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_one_tensor_per_line),
		cmocka_unit_test(test_no_tensors),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_digest_hex),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_tampered_digests),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_chunk_counts),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
