#ifndef MVC_REFS_H
#define MVC_REFS_H
/*
 * Branches and tags: the names of versions, created, listed and deleted
 * without raw git, and switching the current branch.
 *
 * Branch, tag and channel names share one space as far as revisions are
 * concerned (see mvc_channel_set()), so a branch or tag cannot be created
 * under the name of an existing channel.
 */
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One named version: a branch, tag or channel. */
typedef struct mvc_ref_entry {
	char *name;          /* short name: "main", "v1", "production" */
	mvc_oid target;      /* the version it names */
	int current;         /* branches: HEAD is this branch */
	char *message;       /* annotated tags: the tag's message; else NULL */
} mvc_ref_entry;

typedef struct mvc_ref_list {
	size_t count;
	mvc_ref_entry *entries;  /* sorted by name */
} mvc_ref_list;

void mvc_ref_list_free(mvc_ref_list *list);

/* Every branch, sorted by name; the current one has `current` set. */
int mvc_branch_list(mvc_ref_list **out, mvc_repo *repo);

/*
 * Create branch `name` at version `rev` (NULL: HEAD).  MVC_EEXISTS when a
 * branch or channel of that name exists, MVC_EINVALID for a name git
 * refuses or one that starts with '-'.  `out` (may be NULL) receives the
 * version.
 */
int mvc_branch_create(mvc_oid *out, mvc_repo *repo, const char *name, const char *rev);

/*
 * Delete branch `name`.  Refused (MVC_EINVALID) for the current branch,
 * and, unless `force`, for a branch holding versions that no other
 * branch, tag or channel keeps: deleting it would let `git gc` drop them.
 */
int mvc_branch_delete(mvc_repo *repo, const char *name, int force);

typedef struct mvc_switch_options {
	unsigned version;
	int create;          /* create the branch first (at `start`) */
	const char *start;   /* with create: where the branch starts (NULL: HEAD) */
	int force;           /* overwrite working files with uncommitted changes */
} mvc_switch_options;

#define MVC_SWITCH_OPTIONS_VERSION 1
#define MVC_SWITCH_OPTIONS_INIT { MVC_SWITCH_OPTIONS_VERSION, 0, NULL, 0 }

/*
 * Make branch `name` the current branch and write the files of its
 * version into the working directory, with the protection of
 * mvc_checkout_paths(): MVC_EDIRTY, before anything is written or moved,
 * when a file to be replaced has changes that no version holds.  Files
 * that only the old branch tracks are left alone.  Switching to the
 * current branch changes nothing.
 */
int mvc_switch(mvc_repo *repo, const char *name, const mvc_switch_options *opts);

/* Every tag, sorted by name, with the message of annotated ones. */
int mvc_tag_list(mvc_ref_list **out, mvc_repo *repo);

/*
 * Tag version `rev` (NULL: HEAD) as `name`: lightweight when `message` is
 * NULL, annotated (with the tagger from git config) otherwise.
 * MVC_EEXISTS when a tag or channel of that name exists.
 */
int mvc_tag_create(mvc_oid *out, mvc_repo *repo, const char *name, const char *rev,
                   const char *message);

/* Delete tag `name`; MVC_ENOTFOUND if there is none. */
int mvc_tag_delete(mvc_repo *repo, const char *name);

#ifdef __cplusplus
}
#endif
#endif
