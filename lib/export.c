/*
 * Part of a stored file as a safetensors file (mvc checkout --tensor,
 * --dtype): the tensors whose names match, in file order, float tensors
 * converted if asked.  Only their chunks are read, each checked against
 * its digest (the manifest's tensor digests are Merkle hashes over them,
 * so the tensors are verified without the rest of the file).  Whatever
 * the source format, the output is safetensors: GGUF shapes are already
 * row-major in the manifest, big-endian NumPy arrays are written
 * little-endian, and ggml block types, which safetensors cannot hold, are
 * refused by name.  The file appears only once complete: a temporary file
 * beside it, fsynced, renamed.
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "export.h"
#include "tensorio.h"
#include "float.h"

typedef struct sel {
	const mvc_manifest_tensor *mt;
	size_t index;              /* in the manifest */
	mvc_dtype out;             /* the dtype written */
	unsigned win, wout;        /* element bytes in and out (1 for sub-byte types) */
	uint64_t size;             /* bytes written */
} sel;

static bool is_float(mvc_dtype dt)
{
	switch (mvc_dtype_little(dt)) {
	case MVC_DTYPE_F16: case MVC_DTYPE_BF16: case MVC_DTYPE_F32: case MVC_DTYPE_F64:
		return true;
	default:
		return false;
	}
}

static double get_elem(const unsigned char *p, mvc_dtype dt)
{
	unsigned char le[8];
	unsigned w = mvc_dtype_bits(dt) / 8;

	if (dt != mvc_dtype_little(dt)) {
		for (unsigned k = 0; k < w; k++)
			le[k] = p[w - 1 - k];
		p = le;
		dt = mvc_dtype_little(dt);
	}
	switch (dt) {
	case MVC_DTYPE_F16:
		return mvc__f16_table()[p[0] | p[1] << 8];
	case MVC_DTYPE_BF16:
		return mvc_bf16_to_float((uint16_t)(p[0] | p[1] << 8));
	case MVC_DTYPE_F32: {
		float f;

		memcpy(&f, p, 4);
		return f;
	}
	default: {
		double d;

		memcpy(&d, p, 8);
		return d;
	}
	}
}

static void put_elem(unsigned char *p, mvc_dtype dt, double x)
{
	uint16_t h;

	switch (dt) {
	case MVC_DTYPE_F16:
		h = mvc__f16_from_double(x);
		p[0] = (unsigned char)h;
		p[1] = (unsigned char)(h >> 8);
		break;
	case MVC_DTYPE_BF16:
		h = mvc__bf16_from_double(x);
		p[0] = (unsigned char)h;
		p[1] = (unsigned char)(h >> 8);
		break;
	case MVC_DTYPE_F32: {
		float f = (float)x;  /* round to nearest, ties to even */

		memcpy(p, &f, 4);
		break;
	}
	default:
		memcpy(p, &x, 8);
		break;
	}
}

/* `n` whole elements of s from `in` to `out`. */
static void convert(const sel *s, unsigned char *out, const unsigned char *in, size_t n)
{
	mvc_dtype src = s->mt->t.dtype;

	if (src == s->out) {
		memcpy(out, in, n * s->win);
	} else if (is_float(src)) {
		for (size_t i = 0; i < n; i++)
			put_elem(out + i * s->wout, s->out, get_elem(in + i * s->win, src));
	} else {
		/* big-endian integers (and C64 components) to little-endian */
		unsigned w = mvc_dtype_plane_width(src);

		for (size_t i = 0; i < n * s->win; i += w)
			for (unsigned k = 0; k < w; k++)
				out[i + k] = in[i + w - 1 - k];
	}
}

typedef struct out {
	int fd;
	const char *what;
	mvc_buf buf;
	uint64_t written;
} out;

static int put(out *o, const void *p, size_t n)
{
	int error;

	if ((error = mvc_buf_put(&o->buf, p, n)) < 0)
		return error;
	o->written += n;
	if (o->buf.len >= (4u << 20)) {
		error = mvc_write_all(o->fd, o->buf.ptr, o->buf.len, o->what);
		o->buf.len = 0;
	}
	return error;
}

/* The __metadata__ of a stored safetensors file's header, if any. */
static json_t *st_metadata(git_repository *git, const git_tree *ft, const mvc_manifest *m)
{
	const git_tree_entry *e = git_tree_entry_byname(ft, "header");
	git_blob *b = NULL;
	json_t *root = NULL, *meta = NULL;
	const unsigned char *p;
	uint64_t hlen = 0;

	if (m->format != MVC_FORMAT_SAFETENSORS || !e ||
	    git_blob_lookup(&b, git, git_tree_entry_id(e)) < 0)
		goto done;
	p = git_blob_rawcontent(b);
	if (git_blob_rawsize(b) < 8)
		goto done;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | p[i];
	if (hlen > (uint64_t)git_blob_rawsize(b) - 8)
		goto done;
	root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, NULL);
	meta = json_object_get(root, "__metadata__");
	if (json_is_object(meta))
		json_incref(meta);
	else
		meta = NULL;
done:
	json_decref(root);
	git_blob_free(b);
	mvc_error_clear();
	return meta;
}

/* The safetensors header: 8-byte length, JSON padded with spaces to a
 * multiple of 8 so that the data is aligned. */
static int write_header(out *o, sel *v, size_t n, json_t *meta)
{
	json_t *h = json_object();
	char *text = NULL;
	unsigned char len8[8];
	uint64_t off = 0;
	size_t tlen, pad;
	int error = MVC_ENOMEM;

	if (!h)
		goto done;
	if (meta && json_object_set(h, "__metadata__", meta) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const mvc_tensor *t = &v[i].mt->t;
		json_t *shape = json_array(), *info;

		for (unsigned d = 0; shape && d < t->ndim; d++)
			json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
		info = json_pack("{s:s, s:o, s:[I, I]}", "dtype", mvc_dtype_name(v[i].out),
		    "shape", shape, "data_offsets", (json_int_t)off, (json_int_t)(off + v[i].size));
		if (!info || json_object_set_new(h, t->name, info) < 0)
			goto done;
		off += v[i].size;
	}
	if (!(text = json_dumps(h, JSON_COMPACT)))
		goto done;
	tlen = strlen(text);
	pad = (8 - tlen % 8) % 8;
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)((uint64_t)(tlen + pad) >> (8 * i));
	if ((error = put(o, len8, 8)) < 0 || (error = put(o, text, tlen)) < 0 ||
	    (error = put(o, "        ", pad)) < 0)
		goto done;
	error = 0;
done:
	free(text);
	json_decref(h);
	return error;
}

/* Stream one tensor's chunks, verified, converted, into o. */
static int write_tensor(out *o, const sel *s, git_repository *git, git_odb *odb,
                        const git_tree *tt, mvc_codec *codec, unsigned char *raw,
                        unsigned char *conv, const char *path)
{
	const mvc_manifest_tensor *mt = s->mt;
	git_oid *oids = NULL;
	unsigned char carry[16], d[MVC_DIGEST_SIZE];
	size_t ncarry = 0;
	char q[MVC_QUOTE_MAX];
	int error;

	mvc_quote(q, sizeof(q), mt->t.name);
	if ((error = mvc__chunk_oids(&oids, git, tt, mt, s->index, path)) < 0)
		return error;
	for (uint64_t c = 0; c < mt->nchunks; c++) {
		size_t len = (size_t)mvc_manifest_chunk_len(mt, c), pos = 0, n;

		if ((error = mvc__chunk_load(odb, codec, &oids[c], raw, len, NULL, NULL, NULL)) < 0) {
			char why[512];

			snprintf(why, sizeof(why), "%s", mvc_error_last());
			error = mvc__err(error, "'%s': tensor '%s': chunk %llu: %s", path, q,
			    (unsigned long long)c, why);
			goto done;
		}
		mvc_blake2b(d, raw, len);
		if (memcmp(d, mt->chunk_digests + c * MVC_DIGEST_SIZE, MVC_DIGEST_SIZE)) {
			error = mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': chunk %llu fails its BLAKE2b "
			    "digest (corrupt object)", path, q, (unsigned long long)c);
			goto done;
		}
		if (s->mt->t.dtype == s->out) {
			error = put(o, raw, len);   /* as stored */
			if (error < 0)
				goto done;
			continue;
		}
		/* an element split across two chunks: finish it first */
		if (ncarry) {
			size_t k = s->win - ncarry < len ? s->win - ncarry : len;

			memcpy(carry + ncarry, raw, k);
			ncarry += k;
			pos = k;
			if (ncarry == s->win) {
				convert(s, conv, carry, 1);
				if ((error = put(o, conv, s->wout)) < 0)
					goto done;
				ncarry = 0;
			}
		}
		n = (len - pos) / s->win;
		convert(s, conv, raw + pos, n);
		if ((error = put(o, conv, n * s->wout)) < 0)
			goto done;
		pos += n * s->win;
		memcpy(carry + ncarry, raw + pos, len - pos);
		ncarry += len - pos;
	}
	error = 0;
done:
	free(oids);
	return error;
}

int mvc__export(git_repository *git, const git_tree *ft, const mvc_manifest *m, const char *path,
                const char *out_path, const mvc_checkout_options *opts)
{
	sel *v = NULL;
	size_t n = 0;
	git_tree *tt = NULL;
	git_odb *odb = NULL;
	mvc_codec *codec = NULL;
	unsigned char *raw = NULL, *conv = NULL;
	uint64_t maxchunk = 1;
	json_t *meta = NULL;
	char *d1 = NULL, *d2 = NULL, q[MVC_QUOTE_MAX];
	mvc_buf tmp = MVC_BUF_INIT;
	const git_tree_entry *e;
	out o;
	int error;

	memset(&o, 0, sizeof(o));
	o.fd = -1;
	o.what = out_path;
	if (opts->dtype != MVC_DTYPE_UNKNOWN && opts->dtype != MVC_DTYPE_F32 &&
	    opts->dtype != MVC_DTYPE_F16 && opts->dtype != MVC_DTYPE_BF16)
		return mvc__err(MVC_EINVALID, "float tensors convert to F32, F16 or BF16, not %s",
		    mvc_dtype_name(opts->dtype));
	if (m->format == MVC_FORMAT_OPAQUE)
		return mvc__err(MVC_EINVALID, "'%s' is stored as an opaque file: it has no tensors to "
		    "export", path);
	if (!(v = mvc__calloc(m->ntensors + 1, sizeof(*v))))
		return MVC_ENOMEM;
	for (size_t i = 0; i < m->ntensors; i++) {
		const mvc_manifest_tensor *mt = &m->tensors[i];
		sel *s = &v[n];
		bool want = opts->ntensors == 0;
		uint64_t nelem = mvc_tensor_nelem(&mt->t);

		for (size_t k = 0; k < opts->ntensors && !want; k++)
			want = fnmatch(opts->tensors[k], mt->t.name, 0) == 0;
		if (!want)
			continue;
		mvc_quote(q, sizeof(q), mt->t.name);
		if (mvc_dtype_is_block(mt->t.dtype)) {
			error = mvc__err(MVC_EUNSUPPORTED, "'%s': tensor '%s' is %s, a ggml block type "
			    "safetensors cannot hold (leave it out with --tensor)", path, q,
			    mvc_dtype_name(mt->t.dtype));
			goto done;
		}
		if (!strcmp(mt->t.name, "__metadata__")) {
			error = mvc__err(MVC_EUNSUPPORTED, "'%s': a tensor named '__metadata__' cannot go "
			    "into a safetensors file", path);
			goto done;
		}
		s->mt = mt;
		s->index = i;
		s->out = is_float(mt->t.dtype) && opts->dtype ? opts->dtype
		                                             : mvc_dtype_little(mt->t.dtype);
		s->win = mvc_dtype_bits(mt->t.dtype) / 8;
		s->wout = mvc_dtype_bits(s->out) / 8;
		if (!s->win)
			s->win = s->wout = 1;
		if (!mvc_dtype_size(&s->size, s->out, nelem)) {
			error = mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': its size overflows", path, q);
			goto done;
		}
		if (mt->chunk_size > maxchunk)
			maxchunk = mt->chunk_size;
		n++;
	}
	if (!n) {
		error = mvc__err(MVC_ENOTFOUND, "no tensor of '%s' matches the --tensor patterns", path);
		goto done;
	}
	if ((e = git_tree_entry_byname(ft, "t")) &&
	    git_tree_lookup(&tt, git, git_tree_entry_id(e)) < 0) {
		error = mvc__err_git(MVC_ECORRUPT, "'%s': cannot read the tensor table", path);
		goto done;
	}
	if (git_repository_odb(&odb, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}
	if ((error = mvc_codec_new(&codec)) < 0)
		goto done;
	if (!(raw = mvc__malloc((size_t)maxchunk)) || !(conv = mvc__malloc((size_t)maxchunk * 4))) {
		error = MVC_ENOMEM;
		goto done;
	}
	meta = st_metadata(git, ft, m);
	if (!(d1 = mvc__strdup(out_path)) || !(d2 = mvc__strdup(out_path))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if ((error = mvc_buf_printf(&tmp, "%s/.%s.mvc-XXXXXX", dirname(d1), basename(d2))) < 0)
		goto done;
	if ((o.fd = mkostemp(tmp.ptr, O_CLOEXEC)) < 0) {
		error = mvc__err_sys("cannot create a temporary file for '%s'", out_path);
		goto done;
	}
	if ((error = write_header(&o, v, n, meta)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((error = write_tensor(&o, &v[i], git, odb, tt, codec, raw, conv, path)) < 0)
			goto fail;
	if (o.buf.len && (error = mvc_write_all(o.fd, o.buf.ptr, o.buf.len, out_path)) < 0)
		goto fail;
	{
		mode_t mask = umask(0);

		umask(mask);
		fchmod(o.fd, 0666 & ~mask);
	}
	if (fsync(o.fd) < 0 || close(o.fd) < 0) {
		o.fd = -1;
		error = mvc__err_sys("cannot write '%s'", out_path);
		goto fail;
	}
	o.fd = -1;
	if (rename(tmp.ptr, out_path) < 0) {
		error = mvc__err_sys("cannot rename into '%s'", out_path);
		goto fail;
	}
	if (opts->progress)
		opts->progress(o.written, o.written, opts->progress_payload);
	error = 0;
	goto done;
fail:
	if (o.fd >= 0)
		close(o.fd);
	o.fd = -1;
	unlink(tmp.ptr);
done:
	if (o.fd >= 0)
		close(o.fd);
	mvc_buf_free(&o.buf);
	mvc_buf_free(&tmp);
	free(d1);
	free(d2);
	json_decref(meta);
	free(raw);
	free(conv);
	mvc_codec_free(codec);
	git_odb_free(odb);
	git_tree_free(tt);
	free(v);
	return error;
}
