/*
 * MANIFEST: the text record of one stored file.  JSON, a first line with
 * the file's fields and then one tensor object per line, so that `git
 * diff` of two manifests reads well.  Parsing treats the bytes as
 * untrusted: a manifest that is internally inconsistent is corrupt.
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>
#include "internal.h"

#define MAX_MANIFEST ((size_t)1 << 30)

void mvc_manifest_free(mvc_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ntensors; i++) {
		free(m->tensors[i].t.name);
		free(m->tensors[i].chunk_digests);
		free(m->tensors[i].chunk_offsets);
	}
	free(m->tensors);
	free(m);
}

uint64_t mvc_manifest_chunk_offset(const mvc_manifest_tensor *mt, uint64_t c)
{
	return mt->chunk_offsets ? mt->chunk_offsets[c] : c * mt->chunk_size;
}

uint64_t mvc_manifest_chunk_len(const mvc_manifest_tensor *mt, uint64_t c)
{
	uint64_t off;

	if (mt->chunk_offsets)
		return mt->chunk_offsets[c + 1] - mt->chunk_offsets[c];
	off = c * mt->chunk_size;
	return mt->t.size - off < mt->chunk_size ? mt->t.size - off : mt->chunk_size;
}

uint64_t mvc_manifest_chunk_at(const mvc_manifest_tensor *mt, uint64_t off)
{
	uint64_t lo = 0, hi;

	if (!mt->chunk_offsets)
		return off / mt->chunk_size;
	/* the last chunk whose start is at most off */
	hi = mt->nchunks;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (mt->chunk_offsets[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

long mvc_manifest_find(const mvc_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->ntensors; i++)
		if (!strcmp(m->tensors[i].t.name, name))
			return (long)i;
	return -1;
}

static void tensor_digest(unsigned char out[MVC_DIGEST_SIZE], const mvc_manifest_tensor *t)
{
	mvc_blake2b(out, t->chunk_digests, (size_t)t->nchunks * MVC_DIGEST_SIZE);
}

static void file_digest(unsigned char out[MVC_DIGEST_SIZE], const mvc_manifest *m)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, MVC_DIGEST_SIZE);
	crypto_generichash_update(&st, m->header_digest, MVC_DIGEST_SIZE);
	for (size_t i = 0; i < m->ntensors; i++)
		crypto_generichash_update(&st, m->tensors[i].digest, MVC_DIGEST_SIZE);
	crypto_generichash_final(&st, out, MVC_DIGEST_SIZE);
}

void mvc_manifest_seal(mvc_manifest *m)
{
	for (size_t i = 0; i < m->ntensors; i++)
		tensor_digest(m->tensors[i].digest, &m->tensors[i]);
	file_digest(m->digest, m);
}

static json_t *hex_json(const unsigned char *d)
{
	char hex[MVC_DIGEST_HEXSZ + 1];

	mvc_digest_hex(hex, d);
	return json_string(hex);
}

static int dump_line(mvc_buf *b, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	int error;

	if (!s)
		return mvc__err(MVC_ENOMEM, "cannot serialise the manifest");
	error = mvc_buf_puts(b, s);
	free(s);
	return error;
}

int mvc_manifest_write(char **out, size_t *outlen, const mvc_manifest *m)
{
	mvc_buf b = MVC_BUF_INIT;
	json_t *head = NULL, *t = NULL;
	int error = MVC_ENOMEM;

	head = json_pack("{s:i, s:s, s:I, s:o, s:{s:I, s:o}}",
	    "mvc", (int)m->version, "format", mvc_format_name(m->format),
	    "size", (json_int_t)m->file_size, "digest", hex_json(m->digest),
	    "header", "size", (json_int_t)m->header_size, "digest", hex_json(m->header_digest));
	if (!head)
		goto done;
	/* {head..., "tensors": [\n t,\n t\n]} with one tensor per line */
	if ((error = dump_line(&b, head)) < 0)
		goto done;
	b.len--; /* drop the closing brace */
	if ((error = mvc_buf_puts(&b, ",\"tensors\":[")) < 0)
		goto done;
	for (size_t i = 0; i < m->ntensors; i++) {
		const mvc_manifest_tensor *mt = &m->tensors[i];
		json_t *shape = json_array(), *chunks = json_array();

		for (unsigned d = 0; shape && d < mt->t.ndim; d++)
			json_array_append_new(shape, json_integer((json_int_t)mt->t.shape[d]));
		for (uint64_t c = 0; chunks && c < mt->nchunks; c++)
			json_array_append_new(chunks, hex_json(mt->chunk_digests + c * MVC_DIGEST_SIZE));
		if (mt->chunk_offsets) {
			json_t *lens = json_array();

			for (uint64_t c = 0; lens && c < mt->nchunks; c++)
				json_array_append_new(lens, json_integer((json_int_t)mvc_manifest_chunk_len(mt, c)));
			t = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:o}",
			    "name", mt->t.name, "dtype", mvc_dtype_name(mt->t.dtype), "shape", shape,
			    "offset", (json_int_t)mt->t.offset, "size", (json_int_t)mt->t.size,
			    "chunk_size", (json_int_t)mt->chunk_size, "chunk_lengths", lens,
			    "digest", hex_json(mt->digest), "chunks", chunks);
		} else {
			t = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o}",
			    "name", mt->t.name, "dtype", mvc_dtype_name(mt->t.dtype), "shape", shape,
			    "offset", (json_int_t)mt->t.offset, "size", (json_int_t)mt->t.size,
			    "chunk_size", (json_int_t)mt->chunk_size, "digest", hex_json(mt->digest),
			    "chunks", chunks);
		}
		if (!t) {
			error = mvc__err(MVC_ENOMEM, "cannot serialise tensor %zu", i);
			goto done;
		}
		if ((error = mvc_buf_puts(&b, i ? ",\n" : "\n")) < 0 ||
		    (error = dump_line(&b, t)) < 0)
			goto done;
		json_decref(t);
		t = NULL;
	}
	if ((error = mvc_buf_puts(&b, "\n]}\n")) < 0)
		goto done;
	*outlen = b.len;
	*out = mvc_buf_detach(&b);
	error = 0;
done:
	json_decref(head);
	json_decref(t);
	mvc_buf_free(&b);
	return error;
}

static int get_u64(uint64_t *out, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_digest(unsigned char *out, json_t *v)
{
	return json_is_string(v) ? mvc_hex_to_digest(out, json_string_value(v)) : -1;
}

#define BAD(...) do { error = mvc__err(MVC_ECORRUPT, "corrupt manifest: " __VA_ARGS__); goto done; } while (0)

static int parse_tensor(mvc_manifest_tensor *mt, json_t *o, size_t idx)
{
	json_t *shape, *chunks, *lens, *v;
	uint64_t nelem = 1, bytes, want;
	size_t i;
	int error = 0;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "name")) ||
	    !json_is_string(json_object_get(o, "dtype")))
		BAD("tensor %zu lacks a name or dtype", idx);
	if (!(mt->t.name = mvc__strdup(json_string_value(json_object_get(o, "name")))))
		return MVC_ENOMEM;
	mt->t.dtype = mvc_dtype_from_name(json_string_value(json_object_get(o, "dtype")));
	if (mt->t.dtype == MVC_DTYPE_UNKNOWN)
		BAD("tensor %zu has an unknown dtype", idx);
	shape = json_object_get(o, "shape");
	if (!json_is_array(shape) || json_array_size(shape) > MVC_MAX_DIMS)
		BAD("tensor %zu has a bad shape", idx);
	mt->t.ndim = (unsigned)json_array_size(shape);
	json_array_foreach(shape, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			BAD("tensor %zu has a bad shape", idx);
		mt->t.shape[i] = (uint64_t)json_integer_value(v);
		if (!mvc_mul_u64(&nelem, nelem, mt->t.shape[i]))
			BAD("tensor %zu shape overflows", idx);
	}
	if (get_u64(&mt->t.offset, o, "offset") < 0 || get_u64(&mt->t.size, o, "size") < 0 ||
	    get_u64(&mt->chunk_size, o, "chunk_size") < 0)
		BAD("tensor %zu lacks offset, size or chunk_size", idx);
	if (!mvc_dtype_size(&bytes, mt->t.dtype, nelem) || bytes != mt->t.size)
		BAD("tensor %zu size does not match its shape", idx);
	if (mt->chunk_size == 0 || mt->chunk_size > MVC_CHUNK_MAX)
		BAD("tensor %zu has a bad chunk size", idx);
	want = mt->t.size / mt->chunk_size + (mt->t.size % mt->chunk_size != 0);
	if ((lens = json_object_get(o, "chunk_lengths"))) {
		/* content-defined chunks: each 1 to chunk_size bytes, tiling the tensor */
		uint64_t pos = 0;

		if (!json_is_array(lens) || json_array_size(lens) > mt->t.size)
			BAD("tensor %zu has bad chunk lengths", idx);
		want = json_array_size(lens);
		if (!(mt->chunk_offsets = mvc__malloc(((size_t)want + 1) * sizeof(uint64_t))))
			return MVC_ENOMEM;
		mt->chunk_offsets[0] = 0;
		json_array_foreach(lens, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    (uint64_t)json_integer_value(v) > mt->chunk_size ||
			    (uint64_t)json_integer_value(v) > mt->t.size - pos)
				BAD("tensor %zu has bad chunk lengths", idx);
			pos += (uint64_t)json_integer_value(v);
			mt->chunk_offsets[i + 1] = pos;
		}
		if (pos != mt->t.size)
			BAD("tensor %zu chunk lengths do not add up to its size", idx);
	}
	chunks = json_object_get(o, "chunks");
	if (!json_is_array(chunks) || json_array_size(chunks) != want)
		BAD("tensor %zu has %zu chunk digests, %llu expected", idx,
		    json_is_array(chunks) ? json_array_size(chunks) : 0, (unsigned long long)want);
	mt->nchunks = want;
	if (!(mt->chunk_digests = mvc__malloc((size_t)want * MVC_DIGEST_SIZE + 1)))
		return MVC_ENOMEM;
	json_array_foreach(chunks, i, v)
		if (get_digest(mt->chunk_digests + i * MVC_DIGEST_SIZE, v) < 0)
			BAD("tensor %zu chunk %zu has a bad digest", idx, i);
	if (get_digest(mt->digest, json_object_get(o, "digest")) < 0)
		BAD("tensor %zu has a bad digest", idx);
done:
	return error;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_duplicate_names(const mvc_manifest *m)
{
	char **names = malloc((m->ntensors + 1) * sizeof(char *));
	bool dup = false;

	if (!names)
		return false;
	for (size_t i = 0; i < m->ntensors; i++)
		names[i] = m->tensors[i].t.name;
	qsort(names, m->ntensors, sizeof(char *), cmp_name);
	for (size_t i = 1; i < m->ntensors && !dup; i++)
		dup = !strcmp(names[i], names[i - 1]);
	free(names);
	return dup;
}

int mvc_manifest_parse(mvc_manifest **out, const char *data, size_t len)
{
	mvc_manifest *m = NULL;
	json_t *root = NULL, *tensors, *hdr;
	json_error_t jerr;
	json_int_t ver;
	uint64_t pos = 0, covered = 0;
	unsigned char d[MVC_DIGEST_SIZE];
	int error = 0;

	*out = NULL;
	if (len > MAX_MANIFEST)
		return mvc__err(MVC_ECORRUPT, "manifest of %zu bytes is too large", len);
	if (!(root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)))
		BAD("%s (byte %d)", jerr.text, jerr.position);
	if (!json_is_object(root) || !json_is_integer(json_object_get(root, "mvc")))
		BAD("no format version");
	ver = json_integer_value(json_object_get(root, "mvc"));
	if (ver < 1)
		BAD("bad format version");
	if (ver > MVC_FORMAT_VERSION) {
		error = mvc__err(MVC_EUNSUPPORTED,
		    "stored with mvc format %lld; this mvc (%s) reads up to %d: upgrade mvc",
		    (long long)ver, MVC_VERSION, MVC_FORMAT_VERSION);
		goto done;
	}
	if (!(m = mvc__calloc(1, sizeof(*m)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	m->version = (unsigned)ver;
	if (!json_is_string(json_object_get(root, "format")) ||
	    (m->format = mvc_format_from_name(json_string_value(json_object_get(root, "format"))))
	        == MVC_FORMAT_UNKNOWN) {
		error = mvc__err(MVC_EUNSUPPORTED, "stored file format is not known to this mvc");
		goto done;
	}
	hdr = json_object_get(root, "header");
	if (get_u64(&m->file_size, root, "size") < 0 ||
	    get_digest(m->digest, json_object_get(root, "digest")) < 0 ||
	    !json_is_object(hdr) || get_u64(&m->header_size, hdr, "size") < 0 ||
	    get_digest(m->header_digest, json_object_get(hdr, "digest")) < 0)
		BAD("bad file fields");
	tensors = json_object_get(root, "tensors");
	if (!json_is_array(tensors))
		BAD("no tensor table");
	if (!(m->tensors = mvc__calloc(json_array_size(tensors) + 1, sizeof(*m->tensors)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < json_array_size(tensors); i++) {
		mvc_manifest_tensor *mt = &m->tensors[i];
		uint64_t end;

		m->ntensors = i + 1;
		if ((error = parse_tensor(mt, json_array_get(tensors, i), i)) < 0)
			goto done;
		if (mt->t.offset < pos || !mvc_add_u64(&end, mt->t.offset, mt->t.size) ||
		    end > m->file_size)
			BAD("tensor %zu lies outside the file or overlaps", i);
		pos = end;
		covered += mt->t.size;
		tensor_digest(d, mt);
		if (memcmp(d, mt->digest, MVC_DIGEST_SIZE) != 0)
			BAD("tensor %zu digest does not match its chunks", i);
	}
	if (covered + m->header_size != m->file_size)
		BAD("sizes do not add up");
	if (has_duplicate_names(m))
		BAD("two tensors have the same name");
	file_digest(d, m);
	if (memcmp(d, m->digest, MVC_DIGEST_SIZE) != 0)
		BAD("file digest does not match its tensors");
	*out = m;
	m = NULL;
done:
	json_decref(root);
	mvc_manifest_free(m);
	return error;
}
