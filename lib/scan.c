/* Chunk planning and hashing of model files. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "scan.h"
#include "pool.h"
#include "cdc.h"

static uint64_t plan_chunk(const mvc_tensor *t, uint64_t target)
{
	uint64_t elem = mvc_dtype_bits(t->dtype) / 8, row = t->size;
	uint64_t plane = mvc_dtype_plane_width(t->dtype);
	unsigned belems, bbytes;

	if (elem == 0)
		elem = 1; /* sub-byte types: cut at byte boundaries */
	mvc_dtype_unit(t->dtype, &belems, &bbytes);
	if (mvc_dtype_is_block(t->dtype))
		elem = bbytes; /* ggml block types: whole blocks */
	if (t->ndim >= 1 && t->shape[0] > 0)
		row = t->size / t->shape[0];
	if (row == 0)
		return target;
	if (row <= target)
		return row * (target / row);
	/* a row larger than a chunk: whole elements (and planes) per chunk */
	if (elem < plane)
		elem = plane;
	return target >= elem ? target - target % elem : elem;
}

/* Content-defined chunks of an opaque file's tensor (see cdc.h): the
 * largest chunk is the parent's, so that its cuts fall where they did. */
static int plan_cdc(mvc_manifest_tensor *mt, const mvc_manifest_tensor *parent,
                    uint64_t chunk_size, int fd, const char *what)
{
	if (fd < 0)
		return mvc__err(MVC_EINVALID, "'%s': content-defined chunks need the file", what);
	mt->chunk_size = parent && parent->chunk_offsets ? parent->chunk_size
	                                                 : mvc__cdc_max(chunk_size);
	return mvc__cdc_cut_fd(&mt->chunk_offsets, &mt->nchunks, fd, mt->t.offset, mt->t.size,
	    mt->chunk_size, what);
}

int mvc__scan_plan(mvc_manifest **out, const mvc_layout *l, const mvc_manifest *ref,
                   uint64_t chunk_size, int fd, const char *what)
{
	mvc_manifest *m;
	uint64_t covered = 0;

	*out = NULL;
	if (!(m = mvc__calloc(1, sizeof(*m))) ||
	    !(m->tensors = mvc__calloc(l->ntensors + 1, sizeof(*m->tensors)))) {
		free(m);
		return MVC_ENOMEM;
	}
	m->version = MVC_FORMAT_VERSION;
	m->format = l->format;
	m->file_size = l->file_size;
	for (size_t i = 0; i < l->ntensors; i++) {
		mvc_manifest_tensor *mt = &m->tensors[i];
		long r = ref ? mvc_manifest_find(ref, l->tensors[i].name) : -1;

		m->ntensors = i + 1;
		mt->t = l->tensors[i];
		if (!(mt->t.name = mvc__strdup(l->tensors[i].name))) {
			mvc_manifest_free(m);
			return MVC_ENOMEM;
		}
		if (l->format == MVC_FORMAT_OPAQUE) {
			int error = plan_cdc(mt, r >= 0 ? &ref->tensors[r] : NULL, chunk_size, fd, what);

			if (error < 0) {
				mvc_manifest_free(m);
				return error;
			}
		} else {
			if (r >= 0 && ref->tensors[r].t.dtype == mt->t.dtype &&
			    ref->tensors[r].t.size == mt->t.size && !ref->tensors[r].chunk_offsets)
				mt->chunk_size = ref->tensors[r].chunk_size;
			else
				mt->chunk_size = plan_chunk(&mt->t, chunk_size);
			mt->nchunks = mt->t.size / mt->chunk_size + (mt->t.size % mt->chunk_size != 0);
		}
		if (!(mt->chunk_digests = mvc__calloc((size_t)mt->nchunks + 1, MVC_DIGEST_SIZE))) {
			mvc_manifest_free(m);
			return MVC_ENOMEM;
		}
		covered += mt->t.size;
	}
	m->header_size = l->file_size - covered;
	*out = m;
	return 0;
}

/* Hash (and keep) the non-tensor bytes in [from, to). */
static int gap(crypto_generichash_state *st, mvc_buf *header, unsigned char *buf,
               size_t bufsz, int fd, uint64_t from, uint64_t to, const char *what)
{
	int error;

	while (from < to) {
		size_t n = to - from < bufsz ? (size_t)(to - from) : bufsz;

		if ((error = mvc_read_at(fd, buf, n, from, what)) < 0)
			return error;
		crypto_generichash_update(st, buf, n);
		if (header && (error = mvc_buf_put(header, buf, n)) < 0)
			return error;
		from += n;
	}
	return 0;
}

int mvc__chunk_list(mvc_chunk_ref **out, size_t *count, const mvc_manifest *m)
{
	size_t n = 0, k = 0;
	mvc_chunk_ref *refs;

	for (size_t i = 0; i < m->ntensors; i++)
		n += (size_t)m->tensors[i].nchunks;
	if (!(refs = mvc__calloc(n + 1, sizeof(*refs))))
		return MVC_ENOMEM;
	for (size_t i = 0; i < m->ntensors; i++) {
		const mvc_manifest_tensor *mt = &m->tensors[i];

		for (uint64_t c = 0; c < mt->nchunks; c++, k++) {
			refs[k].tensor = i;
			refs[k].chunk = c;
			refs[k].offset = mt->t.offset + mvc_manifest_chunk_offset(mt, c);
			refs[k].len = (size_t)mvc_manifest_chunk_len(mt, c);
		}
	}
	*out = refs;
	*count = n;
	return 0;
}

typedef struct hash_ctx {
	mvc_manifest *m;
	mvc_chunk_ref *refs;
	int fd;
	const char *what;
	unsigned char **bufs;   /* one per thread */
} hash_ctx;

static int hash_work(void *p, size_t item, unsigned thread)
{
	hash_ctx *h = p;
	const mvc_chunk_ref *r = &h->refs[item];
	int error;

	if ((error = mvc_read_at(h->fd, h->bufs[thread], r->len, r->offset, h->what)) < 0)
		return error;
	mvc_blake2b(h->m->tensors[r->tensor].chunk_digests + r->chunk * MVC_DIGEST_SIZE,
	    h->bufs[thread], r->len);
	return 0;
}

static int hash_done(void *p, size_t item)
{
	(void)p;
	(void)item;
	return 0;
}

int mvc__scan_gaps(mvc_manifest *m, int fd, const char *what, mvc_buf *header)
{
	crypto_generichash_state hst;
	unsigned char *buf;
	uint64_t pos = 0;
	int error = 0;

	if (!(buf = mvc__malloc(1 << 20)))
		return MVC_ENOMEM;
	crypto_generichash_init(&hst, NULL, 0, MVC_DIGEST_SIZE);
	for (size_t i = 0; i < m->ntensors && !error; i++) {
		const mvc_manifest_tensor *mt = &m->tensors[i];

		error = gap(&hst, header, buf, 1 << 20, fd, pos, mt->t.offset, what);
		pos = mt->t.offset + mt->t.size;
	}
	if (!error)
		error = gap(&hst, header, buf, 1 << 20, fd, pos, m->file_size, what);
	crypto_generichash_final(&hst, m->header_digest, MVC_DIGEST_SIZE);
	free(buf);
	return error;
}

int mvc__scan_read(mvc_manifest *m, int fd, const char *what, mvc_buf *header)
{
	uint64_t maxchunk = 1 << 16;
	unsigned nthreads = mvc__pool_threads();
	hash_ctx h;
	size_t nrefs = 0;
	int error = 0;

	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < m->ntensors; i++)
		if (m->tensors[i].chunk_size > maxchunk && m->tensors[i].nchunks)
			maxchunk = m->tensors[i].chunk_size;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((error = mvc__chunk_list(&h.refs, &nrefs, m)) < 0)
		return error;
	if (nrefs < nthreads)
		nthreads = nrefs ? (unsigned)nrefs : 1;
	if (!(h.bufs = mvc__calloc(nthreads, sizeof(*h.bufs)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (unsigned t = 0; t < nthreads; t++)
		if (!(h.bufs[t] = mvc__malloc((size_t)maxchunk))) {
			error = MVC_ENOMEM;
			goto done;
		}
	if ((error = mvc__scan_gaps(m, fd, what, header)) < 0)
		goto done;
	h.m = m;
	h.fd = fd;
	h.what = what;
	if ((error = mvc__pool_run(nrefs, nthreads, 4 * (size_t)nthreads, hash_work, hash_done,
	         &h)) < 0)
		goto done;
	mvc_manifest_seal(m);
done:
	for (unsigned t = 0; h.bufs && t < nthreads; t++)
		free(h.bufs[t]);
	free(h.bufs);
	free(h.refs);
	return error;
}

int mvc__layout_read_for(mvc_layout **out, int fd, uint64_t size, const char *what,
                         mvc_format forced, mvc_format stored)
{
	int error;

	*out = NULL;
	if (forced != MVC_FORMAT_UNKNOWN)
		return mvc_layout_read_as(out, fd, size, what, forced);
	if ((error = mvc_layout_read_as(out, fd, size, what, MVC_FORMAT_UNKNOWN)) < 0) {
		/* stored as opaque (--format opaque, most likely because of
		 * this very error): it stays opaque */
		if (stored != MVC_FORMAT_OPAQUE || error == MVC_ENOMEM || error == MVC_EIO)
			return error;
		mvc_error_clear();
		return mvc_layout_read_as(out, fd, size, what, MVC_FORMAT_OPAQUE);
	}
	if ((*out)->format == MVC_FORMAT_OPAQUE && stored != MVC_FORMAT_UNKNOWN &&
	    stored != MVC_FORMAT_OPAQUE) {
		/* a model file that became something mvc does not parse: most
		 * likely damaged, so say so rather than store it as bytes */
		mvc_layout_free(*out);
		*out = NULL;
		return mvc__err(MVC_EUNSUPPORTED,
		    "'%s' is not a model file mvc can read as %s, as it was stored "
		    "(--format opaque stores it as any other file)", what, mvc_format_name(stored));
	}
	return 0;
}

int mvc__scan_file(mvc_manifest **out, const char *fspath, const char *what,
                   const mvc_manifest *ref, uint64_t chunk_size)
{
	return mvc__scan_file_as(out, fspath, what, ref, chunk_size, MVC_FORMAT_UNKNOWN);
}

int mvc__scan_file_as(mvc_manifest **out, const char *fspath, const char *what,
                      const mvc_manifest *ref, uint64_t chunk_size, mvc_format forced)
{
	mvc_layout *l = NULL;
	mvc_manifest *m = NULL;
	struct stat st;
	int fd, error;

	*out = NULL;
	if ((fd = open(fspath, O_RDONLY | O_CLOEXEC)) < 0)
		return mvc__err_sys("cannot open '%s'", what);
	if (fstat(fd, &st) < 0) {
		error = mvc__err_sys("cannot stat '%s'", what);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = mvc__err(MVC_EINVALID, "'%s' is not a regular file", what);
		goto done;
	}
	if ((error = mvc__layout_read_for(&l, fd, (uint64_t)st.st_size, what, forced,
	         ref ? ref->format : MVC_FORMAT_UNKNOWN)) < 0 ||
	    (error = mvc__scan_plan(&m, l, ref, chunk_size, fd, what)) < 0 ||
	    (error = mvc__scan_read(m, fd, what, NULL)) < 0)
		goto done;
	*out = m;
	m = NULL;
done:
	mvc_manifest_free(m);
	mvc_layout_free(l);
	close(fd);
	return error;
}
