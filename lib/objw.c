/*
 * Writing objects into the store.  This first version goes through the
 * object database (loose objects); the interface lets a pack writer take
 * its place without touching the callers.
 */
#include <stdlib.h>
#include "scan.h"

struct mvc_objw {
	git_odb *odb;
};

int mvc__objw_new(mvc_objw **out, git_repository *git)
{
	mvc_objw *w = mvc__calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return MVC_ENOMEM;
	if (git_repository_odb(&w->odb, git) < 0) {
		free(w);
		return mvc__err_git(MVC_ERROR, "cannot open the object database");
	}
	*out = w;
	return 0;
}

int mvc__objw_blob(mvc_objw *w, git_oid *out, const void *data, size_t len)
{
	if (git_odb_write(out, w->odb, data, len, GIT_OBJECT_BLOB) < 0)
		return mvc__err_git(MVC_EIO, "cannot write an object");
	return 0;
}

int mvc__objw_finish(mvc_objw *w)
{
	(void)w;
	return 0;
}

void mvc__objw_free(mvc_objw *w)
{
	if (!w)
		return;
	git_odb_free(w->odb);
	free(w);
}
