#ifndef MVC_UPKEEP_H
#define MVC_UPKEEP_H
/* Shared by lib/gc.c, lib/prune.c and the readers of pruned stores. */
#include "packidx.h"

/* The name of the partial-clone "remote" a pruned store promises from.
 * No such remote exists: it names why objects are missing. */
#define MVC_PRUNE_REMOTE "mvc-pruned"

/*
 * Run git on the store: `git --git-dir=<store> args...`, with git's
 * repository variables (GIT_DIR, GIT_OBJECT_DIRECTORY, ...) removed from
 * its environment and stdin from /dev/null.  Its stdout goes into `out`
 * (when not NULL; at most 1 MiB kept); its stderr, at most the last
 * 4 KiB, into the error message when it fails.  MVC_ENOTFOUND when git
 * cannot be run, MVC_ERROR when it fails.
 */
int mvc__run_git(mvc_buf *out, mvc_repo *repo, const char *const *args, const char *what);

/*
 * Give the repository a new object database handle, guarded as
 * lib/repo.c guards it, after packs were removed (gc, prune).  libgit2
 * 1.5.1 never forgets a pack it loaded, and reads a removed one through
 * its open file: without this, a commit in the same process would take a
 * dropped chunk for stored and not write it.  Left alone inside git's
 * quarantine (a hook), whose objects the plain handle would not see.
 */
void mvc__odb_reset(mvc_repo *repo);

/*
 * Take the store's maintenance lock (an flock on .mvc/mvc-gc.lock) that
 * serialises gc and prune; MVC_ECONFLICT when another process holds it.
 * Release with mvc__maintenance_unlock().
 */
int mvc__maintenance_lock(int *fd, mvc_repo *repo);
void mvc__maintenance_unlock(int fd);

/*
 * The objects pruned stores promise (the trees of the promise commits in
 * .promisor packs, see lib/prune.c): for fsck and du, a missing object
 * in this set was dropped on purpose.  *out is NULL when the store has
 * no promise; free with mvc__promised_free().
 */
typedef struct mvc_promised {
	mvc_oidmap blobs;         /* dropped blobs */
	mvc_oidmap versions;      /* pruned versions: {time, 0} */
} mvc_promised;
int mvc__promised_load(mvc_promised **out, git_repository *git, const char *store);
void mvc__promised_free(mvc_promised *p);

/*
 * For readers that failed on a missing chunk (`error` MVC_ECORRUPT, the
 * missing object's id in the message): when `version`'s data was pruned
 * and that object is one the prune dropped, MVC_ENOTFOUND with a message
 * saying so, when, and how to get it back; else `error` and its message
 * unchanged.
 */
int mvc__prune_explain(int error, git_repository *git, const char *store, const git_oid *version);
/* The same for revision `rev`. */
int mvc__prune_explain_rev(int error, mvc_repo *repo, const char *rev);

#endif
