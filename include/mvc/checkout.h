#ifndef MVC_CHECKOUT_H
#define MVC_CHECKOUT_H
/*
 * Writing a stored version back as files, bit for bit.
 *
 * Every chunk is decoded and checked against its BLAKE2b digest while it
 * streams into a temporary file beside the target; the file is fsynced
 * and renamed into place only when everything verified, so a failure
 * leaves the old file untouched.  HEAD never moves.
 */
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mvc_checkout_options {
	unsigned version;
	int force;       /* overwrite tracked files with uncommitted changes */
	mvc_progress_cb progress;   /* bytes written, of all the files written */
	void *progress_payload;
	/*
	 * mvc_checkout_to() only, to export part of a version: with patterns
	 * in `tensors` or a `dtype`, write a safetensors file (whatever the
	 * stored format) holding only the tensors whose names match one of
	 * the fnmatch(3) patterns (none: every tensor), in file order, with
	 * float tensors converted to `dtype` (MVC_DTYPE_F32, F16 or BF16,
	 * rounding to nearest, ties to even; MVC_DTYPE_UNKNOWN: as stored).
	 * Only the chunks of those tensors are read, each checked against
	 * its digest.  GGUF shapes are written row-major, big-endian NumPy
	 * arrays little-endian; a ggml block type (Q4_0 ...) is refused.
	 */
	const char *const *tensors;
	size_t ntensors;
	mvc_dtype dtype;
} mvc_checkout_options;

#define MVC_CHECKOUT_OPTIONS_VERSION 1
#define MVC_CHECKOUT_OPTIONS_INIT { MVC_CHECKOUT_OPTIONS_VERSION, 0, NULL, NULL }

/*
 * Write the file `path` of version `rev` to `out_path` (any location).
 * `path` may be NULL when the version tracks exactly one file.
 */
int mvc_checkout_to(mvc_repo *repo, const char *rev, const char *path,
                    const char *out_path, const mvc_checkout_options *opts);

/*
 * Restore tracked files of version `rev` into the working directory:
 * `paths` (relative to the working directory), or all of them when
 * npaths is 0.  MVC_EDIRTY, before anything is written, if a file to be
 * replaced has changes that no stored version holds and force is not set.
 */
int mvc_checkout_paths(mvc_repo *repo, const char *rev, const char *const *paths,
                       size_t npaths, const mvc_checkout_options *opts);

/*
 * Write the files `paths` of version `rev` (every file when npaths is 0)
 * at their tracked paths below directory `dir`, which is replaced as a
 * whole in one step, so that a server loading a sharded model never sees
 * shards of two versions: the files go into a new directory beside
 * `dir`, then that directory takes its place by one rename(2) (when `dir`
 * does not exist), by swapping the two with renameat2(RENAME_EXCHANGE)
 * and removing the old contents (when `dir` is a directory), or by
 * renaming a new symlink over it (when `dir` is a symlink; the new
 * directory is "<dir>.<12 hex digits of the version>-XXXXXX" and the old
 * target is left for the caller to remove).  Nothing is written into
 * the working directory and HEAD does not move.
 */
int mvc_checkout_dir(mvc_repo *repo, const char *rev, const char *const *paths, size_t npaths,
                     const char *dir, const mvc_checkout_options *opts);

#ifdef __cplusplus
}
#endif
#endif
