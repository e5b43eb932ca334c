#ifndef MVC_COMMIT_H
#define MVC_COMMIT_H
/*
 * Recording a new version of tracked model files.
 */
#include "repo.h"
#include "sign.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mvc_commit_options {
	unsigned version;
	const char *message;        /* required, non-empty */
	const char *const *meta;    /* "key=value" strings, become trailers */
	size_t nmeta;
	int allow_empty;            /* commit even when nothing changed */
	int rehash;                 /* ignore the stat cache */
	/*
	 * Where to read each of `paths` from, in the same order (NULL: all
	 * from the working directory): aggregate writes its result elsewhere
	 * and commits it as the tracked file.  Such files are not recorded
	 * in the working-file cache.
	 */
	const char *const *sources;
	/* Parents after the current version (aggregate's inputs). */
	const mvc_oid *extra_parents;
	size_t nextra_parents;
	mvc_progress_cb progress;   /* bytes read, of all the files read */
	void *progress_payload;
	/*
	 * Sign the version with this key (include/mvc/sign.h): the message
	 * gets an Mvc-File-Digest trailer per file and the commit an mvcsig
	 * header.  NULL: unsigned.
	 */
	const mvc_key *signing_key;
	/*
	 * Called once the version's objects are all written and before the
	 * branch moves, with the id of the candidate version (readable by
	 * any process through the store: `mvc check <id>` works).  A
	 * negative return (an MVC_E* code, with its message set, for
	 * example MVC_EREFUSED) is returned by mvc_commit() and the branch
	 * stays where it was.  The library runs no processes: mvc(1) runs
	 * the store's pre-commit hook from here.
	 */
	int (*before_ref_update)(const mvc_oid *candidate, void *payload);
	void *before_ref_update_payload;
	/*
	 * The version the work was based on: when set, the branch must still
	 * point there, or the commit fails with MVC_ECONFLICT (aggregate
	 * computes its result from HEAD before committing it).
	 */
	const mvc_oid *expected_parent;
	/*
	 * Read the files as this format (mvc commit --format); unset
	 * (MVC_FORMAT_UNKNOWN): a tracked file as it was stored, unless it
	 * became a model file of another format, a new one by its content.
	 * MVC_FORMAT_OPAQUE stores any file as bytes.
	 */
	mvc_format format;
} mvc_commit_options;

#define MVC_COMMIT_OPTIONS_VERSION 1
#define MVC_COMMIT_OPTIONS_INIT { MVC_COMMIT_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, NULL, NULL, 0, \
                                  NULL, NULL, NULL, NULL, NULL, NULL }

typedef struct mvc_commit_stats {
	size_t files;
	size_t tensors;
	size_t tensors_reused;      /* unchanged: the parent's subtree reused */
	uint64_t chunks;
	uint64_t chunks_written;    /* chunks encoded and stored */
	uint64_t bytes_raw;         /* bytes of the files committed */
	uint64_t bytes_stored;      /* encoded bytes of the chunks written */
} mvc_commit_stats;

/*
 * Commit the files at `paths` (relative to the working directory, as
 * mvc_repo_relpath() gives them) together with every other file the
 * current version tracks.  With no paths, every tracked file is committed
 * again.  The branch moves only if nobody moved it meanwhile
 * (MVC_ECONFLICT otherwise: nothing changed, and calling mvc_commit()
 * again commits on top of the new HEAD, as `mvc commit --retry` does).
 * MVC_EUNCHANGED when the new version would equal its parent and
 * allow_empty is not set.
 */
int mvc_commit(mvc_oid *out, mvc_commit_stats *stats, mvc_repo *repo,
               const char *const *paths, size_t npaths,
               const mvc_commit_options *opts);

#ifdef __cplusplus
}
#endif
#endif
