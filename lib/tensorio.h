#ifndef MVC_TENSORIO_H
#define MVC_TENSORIO_H
/*
 * One stored tensor, read back by name: its chunk blobs, bytes read with
 * every chunk checked against its BLAKE2b digest, and rows converted to
 * float on all cores.  Shared by diff, aggregate and the evaluators of
 * mvc score.
 */
#include "scan.h"

/*
 * The chunk blobs of tensor `index` of manifest `mt` (its entry), found
 * in the file's "t" tree `ttree` (NULL when the file has none): an array
 * of mt->nchunks ids (at least one slot), the caller's to free().  `what`
 * names the file in messages ("rev:path").
 */
int mvc__chunk_oids(git_oid **out, git_repository *git, const git_tree *ttree,
                    const mvc_manifest_tensor *mt, size_t index, const char *what);

/* A tensor of a stored version, ready to read. */
typedef struct mvc__tsrc {
	git_repository *git;
	git_odb *odb;
	mvc_manifest *m;                /* the manifest of the file that holds it */
	const mvc_manifest_tensor *mt;  /* the tensor, in m */
	git_oid *oids;                  /* its chunk blobs */
	char *path;                     /* that file */
	char *what;                     /* "rev:path", for messages */
	char *name;                     /* the tensor's name, quoted for messages */
} mvc__tsrc;

/*
 * Find tensor `name` in the version whose tree is `root` (`rev` names it
 * in messages): in the tracked file `path`, or, when path is NULL, in
 * whichever tracked file holds a tensor of that name.  MVC_ENOTFOUND when
 * none does; MVC_EINVALID when several do (name one).  Close it with
 * mvc__tsrc_close() even on failure.
 */
int mvc__tsrc_open(mvc__tsrc *s, git_repository *git, const git_tree *root, const char *rev,
                   const char *path, const char *name);
void mvc__tsrc_close(mvc__tsrc *s);

/*
 * Bytes [off, off + len) of the tensor into dst, each chunk decoded and
 * checked against its digest.  `scratch` holds a chunk (mt->chunk_size
 * bytes) for reads that start or end inside one.
 */
int mvc__tsrc_read(const mvc__tsrc *s, mvc_codec *codec, uint64_t off, size_t len,
                   unsigned char *dst, unsigned char *scratch);

/* Is `dt` one of the float dtypes the evaluators convert (F32, F64, F16,
 * BF16)?  Otherwise MVC_EUNSUPPORTED naming the tensor and its dtype. */
int mvc__tsrc_float_check(const mvc__tsrc *s);

/* `n` elements of dtype `dt` (a float dtype) as float. */
void mvc__to_float(float *dst, mvc_dtype dt, const unsigned char *src, size_t n);

/*
 * Rows of the tensor (the first dimension; a row holds the product of the
 * others), converted to float and handed to `sink` on worker threads in
 * any order: rows[0..nrows) when rows is not NULL (ascending, distinct:
 * only the chunks that hold them are read), else every row.  `k` is the
 * row's position in `rows` (its index when rows is NULL).  A non-finite
 * value (or an F64 beyond float's range) is refused with MVC_EINVALID
 * naming the tensor and row.  The first error of a sink stops the run.
 */
typedef int (*mvc__row_sink)(void *ctx, size_t k, uint64_t row, const float *v);
int mvc__tsrc_rows(const mvc__tsrc *s, const uint64_t *rows, size_t nrows, unsigned nthreads,
                   mvc__row_sink sink, void *ctx);

/* Every element of the tensor as float (a new array, the caller's to
 * free()), non-finite values refused as above. */
int mvc__tsrc_floats(float **out, const mvc__tsrc *s);

/* Number of rows and the length of a row (elements) of the tensor. */
uint64_t mvc__tsrc_nrows(const mvc__tsrc *s);
uint64_t mvc__tsrc_rowlen(const mvc__tsrc *s);

#endif
