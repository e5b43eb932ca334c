/*
 * Content-defined chunking (lib/cdc.c) and what the manifest records of
 * it (chunk_lengths in lib/manifest.c): bounds, determinism, resistance
 * to insertions, the descriptor path against the memory one, and
 * manifests whose chunk lengths lie.
 */
#include "unit.h"
#include "mvc.h"
#include "cdc.h"
#include <jansson.h>

static void check_bounds(const uint64_t *v, size_t n, size_t len, uint64_t max)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		assert_true(v[i] >= 1 && v[i] <= max);
		if (i + 1 < n)
			assert_true(v[i] >= max / 16);
		sum += v[i];
	}
	assert_int_equal(sum, len);
}

static void test_bounds(void **state)
{
	size_t len = 3 << 20, n;
	unsigned char *d = malloc(len);
	uint64_t *v = NULL, max = mvc__cdc_max(64 << 10), sum = 0;

	(void)state;
	assert_int_equal(mvc__cdc_max(1 << 20), 4 << 20);
	assert_int_equal(mvc__cdc_max(64), 256);
	assert_int_equal(mvc__cdc_max((uint64_t)256 << 20), (uint64_t)1 << 30);
	rnd_fill(d, len, 7);
	assert_ok(mvc__cdc_cut_mem(&v, &n, d, len, max));
	check_bounds(v, n, len, max);
	/* about max / 4 on average */
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	assert_true(sum / n > max / 8 && sum / n < max / 2);
	free(v);
	/* all zeros: no cut ever fires, every chunk is the largest */
	memset(d, 0, len);
	assert_ok(mvc__cdc_cut_mem(&v, &n, d, len, max));
	check_bounds(v, n, len, max);
	assert_int_equal(v[0], max);
	free(v);
	/* small inputs: one chunk, or none */
	assert_ok(mvc__cdc_cut_mem(&v, &n, d, 10, max));
	assert_int_equal(n, 1);
	assert_int_equal(v[0], 10);
	free(v);
	assert_ok(mvc__cdc_cut_mem(&v, &n, d, 0, max));
	assert_int_equal(n, 0);
	free(v);
	free(d);
}

/* An insertion in the middle moves only the cuts near it. */
static void test_insertion(void **state)
{
	size_t len = 4 << 20, na, nb, shared = 0, pa = 0;
	unsigned char *a = malloc(len), *b = malloc(len + 100);
	uint64_t *va, *vb, max = mvc__cdc_max(64 << 10);

	(void)state;
	rnd_fill(a, len, 11);
	memcpy(b, a, len / 2);
	rnd_fill(b + len / 2, 100, 12);
	memcpy(b + len / 2 + 100, a + len / 2, len - len / 2);
	assert_ok(mvc__cdc_cut_mem(&va, &na, a, len, max));
	assert_ok(mvc__cdc_cut_mem(&vb, &nb, b, len + 100, max));
	/* count the chunks of b that a has (same bytes) */
	for (size_t i = 0, pb = 0; i < nb; pb += vb[i++]) {
		pa = 0;
		for (size_t j = 0; j < na; pa += va[j++])
			if (va[j] == vb[i] && !memcmp(a + pa, b + pb, vb[i])) {
				shared++;
				break;
			}
	}
	assert_true(shared + 3 >= nb);
	assert_true(nb > 20);
	free(va);
	free(vb);
	free(a);
	free(b);
}

/* The descriptor path cuts exactly where the memory path does. */
static void test_fd(void **state)
{
	char *dir = tmpdir_new("cdc"), *file = path_join(dir, "f");
	size_t len = (5 << 20) + 12345, n;
	unsigned char *d = malloc(len);
	uint64_t *v, *offs, count, max = mvc__cdc_max(16 << 10);
	int fd;

	(void)state;
	rnd_fill(d, len, 3);
	memset(d + 1000000, 0, 300000);  /* a run of zeros: maximal chunks */
	write_bytes(file, d, len);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	assert_ok(mvc__cdc_cut_mem(&v, &n, d + 100, len - 100, max));
	assert_ok(mvc__cdc_cut_fd(&offs, &count, fd, 100, len - 100, max, "f"));
	assert_int_equal(count, n);
	assert_int_equal(offs[0], 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(offs[i + 1] - offs[i], v[i]);
	free(v);
	free(offs);
	assert_ok(mvc__cdc_cut_fd(&offs, &count, fd, 0, 0, max, "f"));
	assert_int_equal(count, 0);
	free(offs);
	assert_err(mvc__cdc_cut_fd(&offs, &count, fd, 0, len, 0, "f"), MVC_EINVALID, "chunk size");
	/* a file shorter than it should be */
	assert_err(mvc__cdc_cut_fd(&offs, &count, fd, 0, len + 10, max, "f"), MVC_EFORMAT, "truncated");
	close(fd);
	free(d);
	rm_rf(dir);
	free(dir);
	free(file);
}

/* ---- chunk_lengths in the manifest ---- */

/* A manifest of one opaque tensor of `size` bytes in chunks of `lens`. */
static mvc_manifest *cdc_manifest(const uint64_t *lens, size_t n, uint64_t max)
{
	mvc_manifest *m = calloc(1, sizeof(*m));
	mvc_manifest_tensor *mt;
	uint64_t size = 0;

	for (size_t i = 0; i < n; i++)
		size += lens[i];
	m->version = 1;
	m->format = MVC_FORMAT_OPAQUE;
	m->file_size = size;
	m->ntensors = 1;
	m->tensors = calloc(1, sizeof(*m->tensors));
	mt = &m->tensors[0];
	mt->t.name = strdup(MVC_OPAQUE_TENSOR);
	mt->t.dtype = MVC_DTYPE_U8;
	mt->t.ndim = 1;
	mt->t.shape[0] = size;
	mt->t.size = size;
	mt->chunk_size = max;
	mt->nchunks = n;
	mt->chunk_offsets = calloc(n + 1, sizeof(uint64_t));
	mt->chunk_digests = calloc(n + 1, MVC_DIGEST_SIZE);
	for (size_t i = 0; i < n; i++) {
		mt->chunk_offsets[i + 1] = mt->chunk_offsets[i] + lens[i];
		mt->chunk_digests[i * MVC_DIGEST_SIZE] = (unsigned char)i;
	}
	mvc_manifest_seal(m);
	return m;
}

static void test_manifest(void **state)
{
	uint64_t lens[] = { 100, 37, 250, 1 };
	mvc_manifest *m = cdc_manifest(lens, 4, 256), *back = NULL;
	const mvc_manifest_tensor *t;
	char *text = NULL;
	size_t len;

	(void)state;
	assert_ok(mvc_manifest_write(&text, &len, m));
	assert_non_null(strstr(text, "\"chunk_size\":256,\"chunk_lengths\":[100,37,250,1]"));
	assert_ok(mvc_manifest_parse(&back, text, len));
	t = &back->tensors[0];
	assert_int_equal(back->format, MVC_FORMAT_OPAQUE);
	assert_int_equal(t->nchunks, 4);
	assert_non_null(t->chunk_offsets);
	assert_int_equal(mvc_manifest_chunk_offset(t, 2), 137);
	assert_int_equal(mvc_manifest_chunk_len(t, 2), 250);
	assert_int_equal(mvc_manifest_chunk_len(t, 3), 1);
	assert_int_equal(mvc_manifest_chunk_at(t, 0), 0);
	assert_int_equal(mvc_manifest_chunk_at(t, 99), 0);
	assert_int_equal(mvc_manifest_chunk_at(t, 100), 1);
	assert_int_equal(mvc_manifest_chunk_at(t, 136), 1);
	assert_int_equal(mvc_manifest_chunk_at(t, 137), 2);
	assert_int_equal(mvc_manifest_chunk_at(t, 387), 3);
	assert_memory_equal(back->digest, m->digest, MVC_DIGEST_SIZE);
	mvc_manifest_free(back);
	free(text);
	mvc_manifest_free(m);
	/* fixed chunks answer the same questions by arithmetic */
	{
		mvc_manifest_tensor f;

		memset(&f, 0, sizeof(f));
		f.t.size = 10;
		f.chunk_size = 4;
		f.nchunks = 3;
		assert_int_equal(mvc_manifest_chunk_offset(&f, 2), 8);
		assert_int_equal(mvc_manifest_chunk_len(&f, 2), 2);
		assert_int_equal(mvc_manifest_chunk_at(&f, 7), 1);
	}
}

/* Edit the lengths of a good manifest; the parse must refuse the result. */
static void refused(const char *lens_json, const char *frag)
{
	uint64_t lens[] = { 100, 37, 250, 1 };
	mvc_manifest *m = cdc_manifest(lens, 4, 256), *back = (mvc_manifest *)&back;
	char *text = NULL, *edited;
	size_t len;
	json_t *root, *t;

	assert_ok(mvc_manifest_write(&text, &len, m));
	root = json_loadb(text, len, 0, NULL);
	assert_non_null(root);
	t = json_array_get(json_object_get(root, "tensors"), 0);
	json_object_set_new(t, "chunk_lengths", json_loads(lens_json, JSON_DECODE_ANY, NULL));
	edited = json_dumps(root, JSON_COMPACT);
	assert_err(mvc_manifest_parse(&back, edited, strlen(edited)), MVC_ECORRUPT, frag);
	assert_null(back);
	free(edited);
	json_decref(root);
	free(text);
	mvc_manifest_free(m);
}

static void test_manifest_refused(void **state)
{
	(void)state;
	refused("[100,37,251]", "chunk digests");   /* a count that does not match */
	refused("[100,37,250,2]", "bad chunk lengths");
	refused("[100,37,249,1]", "do not add up");
	refused("[100,0,287,1]", "bad chunk lengths");
	refused("[100,37,257,-6]", "bad chunk lengths");
	refused("[100,37,\"250\",1]", "bad chunk lengths");
	refused("[300,87,0,1]", "bad chunk lengths");  /* over chunk_size, then 0 */
	refused("{}", "bad chunk lengths");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_insertion),
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_manifest_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
