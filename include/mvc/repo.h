#ifndef MVC_REPO_H
#define MVC_REPO_H
/*
 * An mvc repository: a bare git repository in `.mvc/` beside the model
 * files it tracks (the working directory).
 */
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mvc_repo mvc_repo;

/* Name of the store directory inside a working directory. */
#define MVC_DIRNAME ".mvc"

/*
 * Create `dir`/.mvc (and `dir` if needed).  MVC_EEXISTS if a store is
 * already there.
 */
int mvc_repo_init(mvc_repo **out, const char *dir);

/*
 * Open the repository that holds `start` (a directory): the MVC_DIR
 * environment variable names the store directly (its parent is the working
 * directory unless MVC_WORK_TREE says otherwise); else GIT_DIR, when it
 * names a bare repository (mvc run from a git hook: git's environment is
 * honoured, GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES
 * included, so objects in pre-receive's quarantine are seen); otherwise
 * `.mvc` is looked for in `start` and each parent.  MVC_ENOTFOUND when
 * there is none.
 */
int mvc_repo_open(mvc_repo **out, const char *start);

void mvc_repo_free(mvc_repo *repo);

/* Absolute path of the working directory, without a trailing slash. */
const char *mvc_repo_workdir(const mvc_repo *repo);

/* Absolute path of the store (the bare git repository). */
const char *mvc_repo_path(const mvc_repo *repo);

/*
 * Turn a path given by the user (relative to the current directory, or
 * absolute) into a path relative to the working directory, with '/'
 * separators and no "." or ".." components.  MVC_EINVALID when the path
 * lies outside the working directory or inside the store.
 */
int mvc_repo_relpath(char **out, const mvc_repo *repo, const char *user_path);

/*
 * The current branch's short name (NULL if HEAD is detached) and whether
 * it has any version yet.  *branch is the caller's to free().
 */
int mvc_repo_head(char **branch, int *unborn, mvc_repo *repo);

/* Chunk size from the config key mvc.chunkSize (default 1 MiB). */
int mvc_repo_chunk_size(uint64_t *out, mvc_repo *repo);

#ifdef __cplusplus
}
#endif
#endif
