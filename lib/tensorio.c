/*
 * Reading one stored tensor back by name (see tensorio.h).  Rows are read
 * a chunk per work item: the worker that owns chunk c handles every row
 * that starts in it, reading on into the next chunks for a row that does
 * not end there, so each chunk is decoded once when rows are aligned to
 * chunks (mvc's chunk plan cuts whole rows) and correctly when they are
 * not.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tensorio.h"
#include "pool.h"
#include "float.h"

int mvc__chunk_oids(git_oid **out, git_repository *git, const git_tree *ttree,
                    const mvc_manifest_tensor *mt, size_t index, const char *what)
{
	const git_tree_entry *e;
	git_tree *tt = NULL;
	git_oid *oids;
	char name[24], q[MVC_QUOTE_MAX];
	int error = 0;

	*out = NULL;
	if (!(oids = mvc__calloc((size_t)mt->nchunks + 1, sizeof(*oids))))
		return MVC_ENOMEM;
	if (!mt->nchunks)
		goto ok;
	mvc__index_name(name, index);
	mvc_quote(q, sizeof(q), mt->t.name);
	if (!ttree || !(e = git_tree_entry_byname(ttree, name)) ||
	    git_tree_lookup(&tt, git, git_tree_entry_id(e)) < 0) {
		error = mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': its chunk table is missing", what, q);
		goto done;
	}
	for (uint64_t c = 0; c < mt->nchunks; c++) {
		mvc__index_name(name, c);
		if (!(e = git_tree_entry_byname(tt, name)) || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
			error = mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': chunk %llu is missing", what, q,
			    (unsigned long long)c);
			goto done;
		}
		oids[c] = *git_tree_entry_id(e);
	}
ok:
	*out = oids;
	oids = NULL;
done:
	git_tree_free(tt);
	free(oids);
	return error;
}

void mvc__tsrc_close(mvc__tsrc *s)
{
	if (!s)
		return;
	free(s->oids);
	free(s->path);
	free(s->what);
	free(s->name);
	mvc_manifest_free(s->m);
	git_odb_free(s->odb);
	memset(s, 0, sizeof(*s));
}

/* The manifest of file `path` and, if it has tensor `name`, its index. */
static int lookup(mvc_manifest **m, git_tree **ft, long *idx, git_repository *git,
                  const git_tree *root, const char *path, const char *name)
{
	int error;

	*m = NULL;
	*ft = NULL;
	if ((error = mvc__file_tree(ft, git, root, path)) < 0 ||
	    (error = mvc__tree_manifest(m, git, *ft, path)) < 0) {
		/* the caller keeps nothing of a failed lookup */
		git_tree_free(*ft);
		*ft = NULL;
		return error;
	}
	*idx = mvc_manifest_find(*m, name);
	return 0;
}

int mvc__tsrc_open(mvc__tsrc *s, git_repository *git, const git_tree *root, const char *rev,
                   const char *path, const char *name)
{
	char **files = NULL, q[MVC_QUOTE_MAX], rq[MVC_QUOTE_MAX], p1[MVC_QUOTE_MAX],
	    p2[MVC_QUOTE_MAX];
	size_t nfiles = 0;
	git_tree *ft = NULL, *tt = NULL;
	mvc_manifest *m = NULL;
	mvc_buf what = MVC_BUF_INIT;
	const git_tree_entry *e;
	long idx = -1;
	int error;

	memset(s, 0, sizeof(*s));
	s->git = git;
	mvc_quote(q, sizeof(q), name);
	mvc_quote(rq, sizeof(rq), rev);
	if (path) {
		if ((error = lookup(&m, &ft, &idx, git, root, path, name)) < 0) {
			if (error == MVC_ENOTFOUND)
				error = mvc__err(MVC_ENOTFOUND, "'%s' is not tracked in '%s'",
				    mvc_quote(p1, sizeof(p1), path), rq);
			goto done;
		}
		if (idx < 0) {
			error = mvc__err(MVC_ENOTFOUND, "'%s:%s' has no tensor '%s'", rq,
			    mvc_quote(p1, sizeof(p1), path), q);
			goto done;
		}
		if (!(s->path = mvc__strdup(path))) {
			error = MVC_ENOMEM;
			goto done;
		}
	} else {
		if ((error = mvc__tree_files(&files, &nfiles, git, root)) < 0)
			goto done;
		for (size_t i = 0; i < nfiles; i++) {
			mvc_manifest *mi;
			git_tree *fi;
			long k;

			if ((error = lookup(&mi, &fi, &k, git, root, files[i], name)) < 0)
				goto done;
			if (k < 0) {
				mvc_manifest_free(mi);
				git_tree_free(fi);
				continue;
			}
			if (m) {
				error = mvc__err(MVC_EINVALID,
				    "tensor '%s' is in both '%s' and '%s' of '%s': name the file to use",
				    q, mvc_quote(p1, sizeof(p1), s->path), mvc_quote(p2, sizeof(p2), files[i]),
				    rq);
				mvc_manifest_free(mi);
				git_tree_free(fi);
				goto done;
			}
			m = mi;
			ft = fi;
			idx = k;
			if (!(s->path = mvc__strdup(files[i]))) {
				error = MVC_ENOMEM;
				goto done;
			}
		}
		if (!m) {
			error = mvc__err(MVC_ENOTFOUND, "no file of '%s' has a tensor '%s'", rq, q);
			goto done;
		}
	}
	if ((error = mvc_buf_printf(&what, "%s:%s", rq, mvc_quote(p1, sizeof(p1), s->path))) < 0)
		goto done;
	s->what = mvc_buf_detach(&what);
	if (!(s->name = mvc__strdup(q))) {
		error = MVC_ENOMEM;
		goto done;
	}
	s->m = m;
	m = NULL;
	s->mt = &s->m->tensors[idx];
	if ((e = git_tree_entry_byname(ft, "t")) && git_tree_lookup(&tt, git, git_tree_entry_id(e)) < 0) {
		error = mvc__err_git(MVC_ECORRUPT, "'%s': cannot read the tensor table", s->what);
		goto done;
	}
	if ((error = mvc__chunk_oids(&s->oids, git, tt, s->mt, (size_t)idx, s->what)) < 0)
		goto done;
	if (git_repository_odb(&s->odb, git) < 0)
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
done:
	mvc_buf_free(&what);
	mvc_strings_free(files, nfiles);
	mvc_manifest_free(m);
	git_tree_free(ft);
	git_tree_free(tt);
	return error;
}

static uint64_t chunk_len(const mvc_manifest_tensor *mt, uint64_t c)
{
	uint64_t off = c * mt->chunk_size;

	return mt->t.size - off < mt->chunk_size ? mt->t.size - off : mt->chunk_size;
}

/* Chunk c, whole, into buf, checked against its digest. */
static int load_chunk(const mvc__tsrc *s, mvc_codec *codec, uint64_t c, unsigned char *buf)
{
	size_t len = (size_t)chunk_len(s->mt, c);
	unsigned char d[MVC_DIGEST_SIZE];
	char why[512];
	int error;

	if ((error = mvc__chunk_load(s->odb, codec, &s->oids[c], buf, len, NULL, NULL, NULL)) == 0) {
		mvc_blake2b(d, buf, len);
		if (!memcmp(d, s->mt->chunk_digests + c * MVC_DIGEST_SIZE, MVC_DIGEST_SIZE))
			return 0;
		error = mvc__err(MVC_ECORRUPT, "fails its BLAKE2b digest (corrupt object)");
	}
	snprintf(why, sizeof(why), "%s", mvc_error_last());
	return mvc__err(error, "'%s': tensor '%s': chunk %llu: %s", s->what, s->name,
	    (unsigned long long)c, why);
}

int mvc__tsrc_read(const mvc__tsrc *s, mvc_codec *codec, uint64_t off, size_t len,
                   unsigned char *dst, unsigned char *scratch)
{
	const mvc_manifest_tensor *mt = s->mt;
	int error;

	if (off > mt->t.size || len > mt->t.size - off)
		return mvc__err(MVC_EINVALID, "'%s': tensor '%s': read past its end", s->what, s->name);
	while (len) {
		uint64_t c = off / mt->chunk_size, coff = off % mt->chunk_size;
		size_t clen = (size_t)chunk_len(mt, c);
		size_t k = clen - coff < len ? (size_t)(clen - coff) : len;
		unsigned char *buf = coff == 0 && k == clen ? dst : scratch;

		if ((error = load_chunk(s, codec, c, buf)) < 0)
			return error;
		if (buf != dst)
			memcpy(dst, buf + coff, k);
		dst += k;
		off += k;
		len -= k;
	}
	return 0;
}

int mvc__tsrc_float_check(const mvc__tsrc *s)
{
	switch (s->mt->t.dtype) {
	case MVC_DTYPE_F32: case MVC_DTYPE_F64: case MVC_DTYPE_F16: case MVC_DTYPE_BF16:
		return 0;
	default:
		return mvc__err(MVC_EUNSUPPORTED,
		    "'%s': tensor '%s' is %s; only F32, F64, F16 and BF16 tensors can be evaluated",
		    s->what, s->name, mvc_dtype_name(s->mt->t.dtype));
	}
}

void mvc__to_float(float *dst, mvc_dtype dt, const unsigned char *src, size_t n)
{
	const float *f16;

	switch (dt) {
	case MVC_DTYPE_F32:
		memcpy(dst, src, n * 4);
		break;
	case MVC_DTYPE_F64:
		for (size_t i = 0; i < n; i++) {
			double x;

			memcpy(&x, src + 8 * i, 8);
			dst[i] = (float)x;
		}
		break;
	case MVC_DTYPE_F16:
		f16 = mvc__f16_table();
		for (size_t i = 0; i < n; i++) {
			uint16_t h;

			memcpy(&h, src + 2 * i, 2);
			dst[i] = f16[h];
		}
		break;
	case MVC_DTYPE_BF16:
		for (size_t i = 0; i < n; i++) {
			uint16_t h;

			memcpy(&h, src + 2 * i, 2);
			dst[i] = mvc_bf16_to_float(h);
		}
		break;
	default:
		memset(dst, 0, n * sizeof(float));
	}
}

uint64_t mvc__tsrc_nrows(const mvc__tsrc *s)
{
	return s->mt->t.ndim ? s->mt->t.shape[0] : 1;
}

uint64_t mvc__tsrc_rowlen(const mvc__tsrc *s)
{
	uint64_t n = 1;

	for (unsigned d = 1; d < s->mt->t.ndim; d++)
		n *= s->mt->t.shape[d];
	return n;
}

static int finite_check(const mvc__tsrc *s, const float *v, size_t n, uint64_t row)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return mvc__err(MVC_EINVALID,
			    "'%s': tensor '%s' has a %s value in row %llu; scores need finite values",
			    s->what, s->name, isnan(v[i]) ? "NaN" : "infinite", (unsigned long long)row);
	return 0;
}

/* ---- rows on all cores ---- */

typedef struct rctx {
	mvc_codec *codec;
	unsigned char *chunk, *scratch, *row;
	float *f;
} rctx;

typedef struct rrun {
	const mvc__tsrc *s;
	const uint64_t *rows;
	size_t nrows;
	uint64_t *items;        /* the chunks to read */
	uint64_t rowbytes, rowlen, width;
	mvc__row_sink sink;
	void *ctx;
	rctx *t;
} rrun;

/* The first row that starts at or after byte `off`. */
static uint64_t row_at(const rrun *r, uint64_t off)
{
	return off / r->rowbytes + (off % r->rowbytes != 0);
}

/* Position of the first of r->rows at or after `row`. */
static size_t lower(const rrun *r, uint64_t row)
{
	size_t lo = 0, hi = r->nrows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->rows[mid] < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int row_one(rrun *r, rctx *t, size_t k, uint64_t row, uint64_t c)
{
	const mvc_manifest_tensor *mt = r->s->mt;
	uint64_t off = row * r->rowbytes, coff = c * mt->chunk_size;
	const unsigned char *src;
	int error;

	if (off + r->rowbytes <= coff + chunk_len(mt, c)) {
		src = t->chunk + (off - coff);
	} else {
		/* the row runs on into the next chunks */
		if ((error = mvc__tsrc_read(r->s, t->codec, off, (size_t)r->rowbytes, t->row,
		         t->scratch)) < 0)
			return error;
		src = t->row;
	}
	mvc__to_float(t->f, mt->t.dtype, src, (size_t)r->rowlen);
	if ((error = finite_check(r->s, t->f, (size_t)r->rowlen, row)) < 0)
		return error;
	return r->sink(r->ctx, k, row, t->f);
}

static int rows_work(void *p, size_t item, unsigned thread)
{
	rrun *r = p;
	rctx *t = &r->t[thread];
	const mvc_manifest_tensor *mt = r->s->mt;
	uint64_t c = r->items[item], off = c * mt->chunk_size;
	uint64_t first = row_at(r, off), end = row_at(r, off + chunk_len(mt, c));
	int error;

	if (first >= end)
		return 0;
	if ((error = load_chunk(r->s, t->codec, c, t->chunk)) < 0)
		return error;
	if (!r->rows) {
		for (uint64_t row = first; row < end; row++)
			if ((error = row_one(r, t, (size_t)row, row, c)) < 0)
				return error;
		return 0;
	}
	for (size_t k = lower(r, first); k < r->nrows && r->rows[k] < end; k++)
		if ((error = row_one(r, t, k, r->rows[k], c)) < 0)
			return error;
	return 0;
}

static int rows_done(void *p, size_t item)
{
	(void)p;
	(void)item;
	return 0;
}

int mvc__tsrc_rows(const mvc__tsrc *s, const uint64_t *rows, size_t nrows, unsigned nthreads,
                   mvc__row_sink sink, void *ctx)
{
	const mvc_manifest_tensor *mt = s->mt;
	uint64_t nr = mvc__tsrc_nrows(s);
	size_t nitems = 0;
	rrun r;
	int error;

	if ((error = mvc__tsrc_float_check(s)) < 0)
		return error;
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.rows = rows;
	r.nrows = nrows;
	r.sink = sink;
	r.ctx = ctx;
	r.width = mvc_dtype_bits(mt->t.dtype) / 8;
	r.rowlen = mvc__tsrc_rowlen(s);
	r.rowbytes = r.rowlen * r.width;
	if (nr == 0 || r.rowlen == 0 || (rows && nrows == 0))
		return 0;
	if (mt->chunk_size == 0 || r.rowbytes * nr != mt->t.size)
		return mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': its size does not match its shape",
		    s->what, s->name);
	for (size_t k = 0; rows && k < nrows; k++)
		if (rows[k] >= nr || (k && rows[k] <= rows[k - 1]))
			return mvc__err(MVC_EINVALID, "'%s': tensor '%s': bad row list", s->what, s->name);
	/* the chunks in which a wanted row starts */
	if (!(r.items = mvc__calloc((size_t)mt->nchunks + 1, sizeof(*r.items))))
		return MVC_ENOMEM;
	if (!rows) {
		for (uint64_t c = 0; c < mt->nchunks; c++)
			r.items[nitems++] = c;
	} else {
		for (size_t k = 0; k < nrows; k++) {
			uint64_t c = rows[k] * r.rowbytes / mt->chunk_size;

			if (!nitems || r.items[nitems - 1] != c)
				r.items[nitems++] = c;
		}
	}
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > nitems)
		nthreads = (unsigned)nitems;
	if (!(r.t = mvc__calloc(nthreads, sizeof(*r.t)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		rctx *t = &r.t[i];

		if ((error = mvc_codec_new(&t->codec)) < 0)
			goto done;
		if (!(t->chunk = mvc__malloc((size_t)mt->chunk_size)) ||
		    !(t->scratch = mvc__malloc((size_t)mt->chunk_size)) ||
		    !(t->row = mvc__malloc((size_t)r.rowbytes)) ||
		    !(t->f = mvc__malloc((size_t)r.rowlen * sizeof(float)))) {
			error = MVC_ENOMEM;
			goto done;
		}
	}
	error = mvc__pool_run(nitems, nthreads, 2 * (size_t)nthreads + 2, rows_work, rows_done, &r);
done:
	for (unsigned i = 0; r.t && i < nthreads; i++) {
		mvc_codec_free(r.t[i].codec);
		free(r.t[i].chunk);
		free(r.t[i].scratch);
		free(r.t[i].row);
		free(r.t[i].f);
	}
	free(r.t);
	free(r.items);
	return error;
}

int mvc__tsrc_floats(float **out, const mvc__tsrc *s)
{
	const mvc_manifest_tensor *mt = s->mt;
	uint64_t n = mvc_tensor_nelem(&mt->t), w;
	unsigned char *raw = NULL, *scratch = NULL;
	mvc_codec *codec = NULL;
	float *f = NULL;
	int error;

	*out = NULL;
	if ((error = mvc__tsrc_float_check(s)) < 0)
		return error;
	w = mvc_dtype_bits(mt->t.dtype) / 8;
	if (n * w != mt->t.size)
		return mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': its size does not match its shape",
		    s->what, s->name);
	if (!(f = mvc__malloc((size_t)n * sizeof(float) + 1)) ||
	    !(raw = mvc__malloc((size_t)mt->t.size + 1)) ||
	    (mt->chunk_size && !(scratch = mvc__malloc((size_t)mt->chunk_size)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if ((error = mvc_codec_new(&codec)) < 0 ||
	    (error = mvc__tsrc_read(s, codec, 0, (size_t)mt->t.size, raw, scratch)) < 0)
		goto done;
	mvc__to_float(f, mt->t.dtype, raw, (size_t)n);
	for (uint64_t i = 0; i < n; i++)
		if (!isfinite(f[i])) {
			uint64_t rl = mvc__tsrc_rowlen(s);

			error = finite_check(s, f + i, 1, rl ? i / rl : 0);
			goto done;
		}
	*out = f;
	f = NULL;
done:
	mvc_codec_free(codec);
	free(raw);
	free(scratch);
	free(f);
	return error;
}
