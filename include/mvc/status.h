#ifndef MVC_STATUS_H
#define MVC_STATUS_H
/*
 * The state of the working files against the current version.
 */
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mvc_file_state {
	MVC_FILE_CLEAN = 0,      /* equal to the current version */
	MVC_FILE_MODIFIED,       /* differs, and no version checked out matches */
	MVC_FILE_OTHER_VERSION,  /* equal to another version (from checkout) */
	MVC_FILE_MISSING,        /* tracked, not in the working directory */
	MVC_FILE_UNTRACKED,      /* a model file mvc does not track */
	MVC_FILE_INVALID         /* tracked, but no longer parses */
} mvc_file_state;

const char *mvc_file_state_name(mvc_file_state s);

typedef struct mvc_status_entry {
	char *path;              /* relative to the working directory */
	mvc_file_state state;
	mvc_oid version;         /* for MVC_FILE_OTHER_VERSION */
} mvc_status_entry;

typedef struct mvc_status_list {
	char *branch;            /* NULL when HEAD is detached */
	int unborn;              /* no version committed yet */
	size_t count;
	mvc_status_entry *entries; /* tracked files by path, then untracked */
} mvc_status_list;

/* `rehash`: hash every file even when size, mtime and inode match. */
int mvc_status(mvc_status_list **out, mvc_repo *repo, int rehash);
void mvc_status_free(mvc_status_list *list);

#ifdef __cplusplus
}
#endif
#endif
